//! The limits of share unlock (ADR 0067), review round 20: a forged 1-of-1 share cannot tie up
//! the service thread with the PBKDF2 work it declares.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::mpsc;
use std::time::Duration;

use hexvault_service::{Error, SharesConfig, VaultService};
use hexvault_shares::{MasterSecret, SplitConfig, split};

const WORDS: &str = include_str!("../../shares/src/wordlist.txt");
const GEN: [u32; 10] = [
    0x00E0_E040,
    0x01C1_C080,
    0x0383_8100,
    0x0707_0200,
    0x0E0E_0009,
    0x1C0C_2412,
    0x3808_6C24,
    0x3090_FC48,
    0x21B1_F890,
    0x03F3_F120,
];

/// SLIP-0039 §Checksum (customization "shamir"): the three check words of `data`.
fn rs1024_checksum(data: &[u16]) -> [u16; 3] {
    let mut chk: u32 = 1;
    let values = b"shamir"
        .iter()
        .map(|&b| u32::from(b))
        .chain(data.iter().map(|&w| u32::from(w)))
        .chain([0, 0, 0]);
    for v in values {
        let b = chk >> 20;
        chk = ((chk & 0x000F_FFFF) << 10) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk ^= 1;
    [
        u16::try_from((chk >> 20) & 0x3FF).unwrap(),
        u16::try_from((chk >> 10) & 0x3FF).unwrap(),
        u16::try_from(chk & 0x3FF).unwrap(),
    ]
}

/// A 1-of-1 share (no digest at either level: SLIP-0039) with iteration exponent 15, made
/// by anyone from a public code: a genuine 1-of-1 share of exponent 0 whose exponent bits are
/// set and whose checksum is recomputed.
fn forged_share_with_exponent_15() -> String {
    let secret = MasterSecret::from_bytes(&[0x42; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(1, 1).iteration_exponent(0),
    )
    .unwrap();
    let list: Vec<&str> = WORDS.lines().collect();
    let mut words: Vec<u16> = groups[0][0]
        .to_words()
        .split(' ')
        .map(|w| u16::try_from(list.iter().position(|l| *l == w).unwrap()).unwrap())
        .collect();
    words[1] |= 0xF; // iteration exponent 15 (the low 4 bits of the second word)
    let n = words.len();
    let checksum = rs1024_checksum(&words[..n - 3]);
    words[n - 3..].copy_from_slice(&checksum);
    words
        .iter()
        .map(|&i| list[usize::from(i)])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One forged share ties up the vault service for a minute or more (about 70 s estimated on the review
/// machine: exponent 8 takes 0.5 s, 2^7 times less, and answers `unlocked`): a 1-of-1 share carries no digest,
/// so the first share "completes" the set and the service thread runs 10000 × 2^15 PBKDF2
/// iterations (about 327 million) before it answers any other request. Repeated, it keeps
/// the service unavailable.
///
/// Broken claim: docs/adr/0067-service-unlock-with-shares.md:40-43 "The PBKDF2 work of the
/// set's iteration exponent runs on the service thread when the set completes ... and other
/// requests wait for it. Only a complete set whose digest checks reaches the decryption." A
/// set whose member and group thresholds are both 1 has no digest (SLIP-0039;
/// crates/shares/src/shamir.rs `recover_secret` returns the share itself for threshold 1),
/// so any checksum-valid share, written by anyone, reaches the decryption with the exponent
/// it declares. The test expects an answer within 10 s (the exponent refused, or the work
/// kept off the service thread).
#[test]
fn a_forged_one_of_one_share_does_not_block_the_service_for_minutes() {
    let share = forged_share_with_exponent_15();
    let (service, vault) = VaultService::builder()
        .shares(SharesConfig::default())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = vault.submit_share(&share).map(|p| p.unlocked);
        let _ = tx.send(outcome);
    });
    let answer = rx.recv_timeout(Duration::from_secs(10));
    // The service thread may still be deriving: do not join it on drop.
    std::mem::forget(service);
    let Ok(answer) = answer else {
        panic!(
            "no answer to one forged share after 10 s: the service thread runs the share's \
             2^15-exponent PBKDF2 work before any digest check (there is none for 1-of-1)"
        )
    };
    match answer {
        Err(Error::InvalidShare { reason }) => assert!(
            reason.contains("exponent 15") && reason.contains("up to exponent 5"),
            "{reason}"
        ),
        other => panic!("a share of exponent 15 was not refused: {other:?}"),
    }
}

/// The bound is the configuration's: a share at the bound is read (here exponent 1 with the
/// bound lowered to 1), one above it is refused when handed in, before the set completes, and
/// the refusal drops the partial set like any refused share.
#[test]
fn the_iteration_exponent_bound_is_configurable() {
    let secret = MasterSecret::from_bytes(&[0x42; 16]).unwrap();
    let config = SharesConfig::default().with_max_iteration_exponent(1);
    assert_eq!(config.max_iteration_exponent(), 1);
    assert_eq!(
        SharesConfig::default().max_iteration_exponent(),
        SharesConfig::DEFAULT_MAX_ITERATION_EXPONENT
    );
    for (exponent, accepted) in [(1, true), (2, false)] {
        let groups = split(
            &secret,
            "",
            &SplitConfig::single(2, 3).iteration_exponent(exponent),
        )
        .unwrap();
        let (_service, vault) = VaultService::builder().shares(config).spawn().unwrap();
        let first = vault.submit_share(&groups[0][0].to_words());
        if accepted {
            assert!(!first.unwrap().unlocked);
            assert!(
                vault
                    .submit_share(&groups[0][1].to_words())
                    .unwrap()
                    .unlocked
            );
        } else {
            assert!(
                matches!(&first, Err(Error::InvalidShare { reason }) if reason.contains("exponent 2")),
                "{first:?}"
            );
        }
    }
}
