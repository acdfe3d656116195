//! Review round 40: threshold shares as an operator holding them sees them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_shares::{GroupSpec, MasterSecret, Recovery, Share, SplitConfig, combine, split};

const WORDS: &str = include_str!("../src/wordlist.txt");
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

/// SLIP-0039 §Checksum, from the standard: the three check words of `data`, under the
/// customization string chosen by the extendable flag (bit 4 of word 2).
fn rs1024_checksum(data: &[u16]) -> [u16; 3] {
    let customization: &[u8] = if (data[1] >> 4) & 1 == 1 {
        b"shamir_extendable"
    } else {
        b"shamir"
    };
    let mut chk: u32 = 1;
    let values = customization
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
    let chk = chk ^ 1;
    [
        ((chk >> 20) & 0x3FF) as u16,
        ((chk >> 10) & 0x3FF) as u16,
        (chk & 0x3FF) as u16,
    ]
}

/// `share` with `edit` applied to its word indices and the checksum recomputed (a public
/// code: anyone can do this).
fn edited(share: &Share, edit: fn(&mut [u16])) -> Share {
    let words: Vec<&str> = WORDS.lines().collect();
    let text = share.to_words();
    let mut indices: Vec<u16> = text
        .split_whitespace()
        .map(|w| u16::try_from(words.iter().position(|l| *l == w).unwrap()).unwrap())
        .collect();
    let n = indices.len();
    edit(&mut indices);
    let check = rs1024_checksum(&indices[..n - 3]);
    indices[n - 3..].copy_from_slice(&check);
    let forged: Vec<&str> = indices.iter().map(|&i| words[usize::from(i)]).collect();
    Share::parse(&forged.join(" ")).expect("the checksum is the standard's")
}

/// Word 3 (index 2) holds group index (bits 9..6), group threshold − 1 (bits 5..2) and the
/// top two bits of group count − 1; word 4 (index 3) ends with member index (bits 7..4) and
/// member threshold − 1 (bits 3..0); word 2 (index 1) holds the extendable flag at bit 4.
fn group_threshold_2_to_1(w: &mut [u16]) {
    w[2] ^= 1 << 2;
}
fn member_threshold_2_to_1(w: &mut [u16]) {
    w[3] ^= 1;
}
fn extendable_flag(w: &mut [u16]) {
    w[1] ^= 1 << 4;
}

/// The scope of the documented header limit: only the identifier and the iteration exponent
/// are named as header fields under no check.
///
/// Broken claims: SECURITY.md:19 ("identifier, flag, exponent, thresholds and member
/// indices checked across the set"; the one header limit listed: "the identifier or the
/// iteration exponent edited the same way in every share of a set ... decrypts to another
/// secret without an error"), crates/shares/src/lib.rs:31-43 ("Every level of sharing whose
/// threshold is 2 or more carries a digest share ... checked on recovery ... Only when both
/// are 1 (a 1-of-1 backup, or a 1-of-1 group in a scheme that needs one group) is the share
/// the encrypted secret itself with no digest"; "the identifier ... and the iteration
/// exponent, edited the same way in every share of a set ... pass every check"), and the
/// house rule "every tampering (... lie in a header) rejected".
///
/// What the code does: the thresholds and the extendable flag are under no digest either.
/// (a) Both shares of group 1 of a 2-of-2-groups backup, edited to say "group threshold 1",
/// recover another secret with no error (the group-level digest is skipped because the
/// header now says threshold 1). (b) ONE share of a 2-of-3 backup, edited to say "member
/// threshold 1", is a complete set on its own and recovers another secret with no error:
/// the "1-of-1 only" limit applies to every backup, one holder's sheet suffices. (c) The
/// extendable flag flipped in both shares of a 2-of-3 set (checksum recomputed under the
/// other customization string) drops the identifier from the salt: another secret. The
/// service's share unlock (crates/service/src/shares.rs, `Recovery`) takes the same sets.
#[test]
#[ignore = "review40 finding"]
fn threshold_and_flag_lies_in_the_header_are_not_silently_accepted() {
    let secret = MasterSecret::from_bytes(&[0x42; 16]).unwrap();

    // (a) group threshold 2 -> 1 in both shares of one group.
    let two_groups = SplitConfig::groups(
        2,
        vec![
            GroupSpec {
                threshold: 2,
                count: 2,
            },
            GroupSpec {
                threshold: 2,
                count: 2,
            },
        ],
    )
    .iteration_exponent(0);
    let groups = split(&secret, "", &two_groups).unwrap();
    let lied = [
        edited(&groups[0][0], group_threshold_2_to_1),
        edited(&groups[0][1], group_threshold_2_to_1),
    ];
    assert_eq!(lied[0].group_threshold(), 1);
    let a = combine(&lied, "");
    let mut recovery = Recovery::new();
    recovery
        .add(edited(&groups[0][0], group_threshold_2_to_1))
        .unwrap();
    recovery
        .add(edited(&groups[0][1], group_threshold_2_to_1))
        .unwrap();
    let a_one_by_one = recovery.recover("");

    // (b) member threshold 2 -> 1 in one share of a 2-of-3 backup.
    let single = split(
        &secret,
        "",
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    let alone = edited(&single[0][0], member_threshold_2_to_1);
    assert_eq!(alone.member_threshold(), 1);
    let b = combine(&[alone], "");

    // (c) the extendable flag in both shares of the same 2-of-3 set.
    let flipped = [
        edited(&single[0][0], extendable_flag),
        edited(&single[0][1], extendable_flag),
    ];
    assert!(flipped[0].extendable());
    let c = combine(&flipped, "");

    let mut accepted = Vec::new();
    for (what, result) in [
        ("(a) group threshold lie, combine", a),
        ("(a) group threshold lie, Recovery", a_one_by_one),
        ("(b) member threshold lie, one share", b),
        ("(c) extendable flag flipped", c),
    ] {
        if let Ok(other) = result {
            assert!(other != secret, "{what}: the genuine secret came out");
            accepted.push(what);
        }
    }
    assert!(
        accepted.is_empty(),
        "header edits the docs do not list recovered another secret without an error: {accepted:?}"
    );
}
