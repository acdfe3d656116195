//! Unlock with SLIP-0039 shares handed in one at a time: progress, unlock, the seed each
//! reading gives, and the partial set wiped on error, lock, timeout and stop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ManualClock, PHRASE};
use hexvault_derivation::ed25519::ExtendedPrivateKey;
use hexvault_mnemonic::Mnemonic;
use hexvault_service::{
    CacheConfig, DerivationPath, Error, KeyType, Request, Response, ShareProgress, ShareSeed,
    SharesConfig, VaultService, VaultServiceHandle, VaultState,
};
use hexvault_shares::{GroupSpec, MasterSecret, SplitConfig, split};
use zeroize::Zeroizing;

const DEVICE: &str = "m/74'/2'/3'/0'";

fn spawn(
    seed: ShareSeed,
    timeout: Duration,
) -> (VaultService, VaultServiceHandle, Arc<ManualClock>) {
    let clock = ManualClock::new();
    let (service, vault) = VaultService::builder()
        .cache(CacheConfig::new(16, Duration::from_secs(60)))
        .clock(clock.clone())
        .shares(SharesConfig::new(seed, timeout))
        .spawn()
        .unwrap();
    (service, vault, clock)
}

/// 2-of-3 shares of `ms` under SLIP-0039 passphrase `passphrase`, as word strings.
fn shares_of(ms: &MasterSecret, passphrase: &str) -> Vec<Zeroizing<String>> {
    let groups = split(
        ms,
        passphrase,
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    groups[0].iter().map(|s| s.to_words()).collect()
}

fn device_key(vault: &VaultServiceHandle) -> Vec<u8> {
    let path: DerivationPath = DEVICE.parse().unwrap();
    vault
        .derive(KeyType::Ed25519, &path)
        .unwrap()
        .expose_secret()
        .to_vec()
}

fn progress(have: u8, need: u8, unlocked: bool, p: &ShareProgress) {
    assert_eq!(
        (p.have, p.need, p.unlocked),
        (have, need, unlocked),
        "{p:?}"
    );
}

#[test]
fn two_of_three_unlocks_with_the_master_secret_as_seed() {
    let (_service, vault, _clock) = spawn(ShareSeed::Slip39, Duration::from_secs(60));
    let ms = MasterSecret::from_bytes(&[0x42; 16]).unwrap();
    let shares = shares_of(&ms, "TREZOR");
    let p = vault
        .submit_share_with_passphrase(&shares[2], "TREZOR")
        .unwrap();
    progress(1, 2, false, &p);
    assert_eq!(p.to_string(), "1 of 2");
    assert_eq!(vault.status().unwrap().state, VaultState::Locked);
    assert_eq!(
        vault
            .derive(KeyType::Ed25519, &DEVICE.parse().unwrap())
            .unwrap_err(),
        Error::Locked
    );
    let p = vault
        .submit_share_with_passphrase(&shares[0], "TREZOR")
        .unwrap();
    progress(2, 2, true, &p);
    assert_eq!(vault.status().unwrap().state, VaultState::Unlocked);
    // The seed is the master secret (SLIP-0039): the device key is SLIP-0010 of it.
    let expected =
        ExtendedPrivateKey::derive_from_seed(&[0x42; 16], &DEVICE.parse().unwrap()).unwrap();
    assert_eq!(device_key(&vault), expected.expose_secret().to_vec());
    // Unlocked: another share is refused.
    assert_eq!(
        vault.submit_share(&shares[1]).unwrap_err(),
        Error::AlreadyUnlocked
    );
}

#[test]
fn shares_of_a_phrase_unlock_as_the_phrase_does() {
    // The reference: unlocked with the phrase and a BIP-39 passphrase.
    let (_s1, by_phrase) =
        VaultService::spawn(CacheConfig::new(16, Duration::from_secs(60))).unwrap();
    by_phrase.unlock(PHRASE, "extra").unwrap();
    let (_s2, vault, _clock) = spawn(ShareSeed::Bip39Entropy, Duration::from_secs(60));
    let ms = MasterSecret::from_mnemonic(&Mnemonic::parse(PHRASE).unwrap()).unwrap();
    let shares = shares_of(&ms, "");
    vault.submit_share(&shares[1]).unwrap();
    let p = vault
        .submit_share_with_passphrase(&shares[2], "extra")
        .unwrap();
    assert!(p.unlocked);
    assert_eq!(device_key(&vault), device_key(&by_phrase));
}

#[test]
fn groups_report_per_group() {
    let (_service, vault, _clock) = spawn(ShareSeed::Slip39, Duration::from_secs(60));
    let ms = MasterSecret::from_bytes(&[9; 32]).unwrap();
    let cfg = SplitConfig::groups(
        2,
        vec![
            GroupSpec {
                threshold: 2,
                count: 3,
            },
            GroupSpec {
                threshold: 1,
                count: 1,
            },
            GroupSpec {
                threshold: 3,
                count: 5,
            },
        ],
    )
    .iteration_exponent(0);
    let groups = split(&ms, "", &cfg).unwrap();
    let p = vault.submit_share(&groups[2][4].to_words()).unwrap();
    assert_eq!(p.to_string(), "group 3: 1 of 3 (0 of 2 groups)");
    let p = vault.submit_share(&groups[0][1].to_words()).unwrap();
    assert_eq!(
        p.to_string(),
        "group 1: 1 of 2, group 3: 1 of 3 (0 of 2 groups)"
    );
    let p = vault.submit_share(&groups[0][0].to_words()).unwrap();
    progress(1, 2, false, &p);
    let p = vault.submit_share(&groups[1][0].to_words()).unwrap();
    progress(2, 2, true, &p);
    let expected =
        ExtendedPrivateKey::derive_from_seed(&[9; 32], &DEVICE.parse().unwrap()).unwrap();
    assert_eq!(device_key(&vault), expected.expose_secret().to_vec());
}

#[test]
fn an_error_discards_the_partial_set() {
    let (_service, vault, _clock) = spawn(ShareSeed::Slip39, Duration::from_secs(60));
    let ms = MasterSecret::from_bytes(&[1; 16]).unwrap();
    let shares = shares_of(&ms, "");
    let other = shares_of(&MasterSecret::from_bytes(&[2; 16]).unwrap(), "");
    progress(1, 2, false, &vault.submit_share(&shares[0]).unwrap());
    // A typo: refused, with the word's position and without any word of the share.
    let mut words: Vec<&str> = shares[1].split(' ').collect();
    words[3] = "notaword";
    let err = vault.submit_share(&words.join(" ")).unwrap_err();
    let Error::InvalidShare { reason } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("word 4"), "{reason}");
    assert!(!err.to_string().contains("notaword"));
    assert!(!err.to_string().contains("did you mean"));
    // The first share was discarded: the next one starts a new set.
    progress(1, 2, false, &vault.submit_share(&shares[1]).unwrap());
    // A share of another backup: refused, and the set discarded again.
    assert!(matches!(
        vault.submit_share(&other[0]).unwrap_err(),
        Error::InvalidShare { .. }
    ));
    progress(1, 2, false, &vault.submit_share(&shares[2]).unwrap());
    // A duplicate: refused too.
    assert!(matches!(
        vault.submit_share(&shares[2]).unwrap_err(),
        Error::InvalidShare { .. }
    ));
    assert_eq!(vault.status().unwrap().state, VaultState::Locked);
}

#[test]
fn lock_and_timeout_discard_the_partial_set() {
    let (_service, vault, clock) = spawn(ShareSeed::Slip39, Duration::from_secs(30));
    let ms = MasterSecret::from_bytes(&[3; 16]).unwrap();
    let shares = shares_of(&ms, "");
    progress(1, 2, false, &vault.submit_share(&shares[0]).unwrap());
    vault.lock().unwrap();
    progress(1, 2, false, &vault.submit_share(&shares[1]).unwrap());
    // 29 s later the set is still held ...
    clock.advance(Duration::from_secs(29));
    vault.status().unwrap();
    // ... at 30 s it is gone: the next share starts again.
    clock.advance(Duration::from_secs(1));
    progress(1, 2, false, &vault.submit_share(&shares[2]).unwrap());
    // Within the timeout, the set completes.
    clock.advance(Duration::from_secs(10));
    progress(2, 2, true, &vault.submit_share(&shares[0]).unwrap());
}

#[test]
fn a_service_without_shares_refuses_them() {
    let (_service, vault) =
        VaultService::spawn(CacheConfig::new(16, Duration::from_secs(60))).unwrap();
    let ms = MasterSecret::from_bytes(&[3; 16]).unwrap();
    let shares = shares_of(&ms, "");
    assert_eq!(
        vault.submit_share(&shares[0]).unwrap_err(),
        Error::SharesNotEnabled
    );
}

#[test]
fn submit_share_frames_round_trip_and_print_no_secret() {
    let request = Request::SubmitShare {
        share: Zeroizing::new("academic acid".into()),
        passphrase: Zeroizing::new("pw".into()),
    };
    let debug = format!("{request:?}");
    assert_eq!(debug, "SubmitShare { .. }");
    let frame = request.to_bytes().unwrap();
    let back = Request::from_bytes(&frame).unwrap();
    assert_eq!(back.name(), "submit_share");
    let Request::SubmitShare { share, passphrase } = back else {
        panic!()
    };
    assert_eq!(
        (share.as_str(), passphrase.as_str()),
        ("academic acid", "pw")
    );
    // The tags of the earlier variants are unchanged: Shutdown is still 8.
    assert_eq!(&Request::Shutdown.to_bytes().unwrap()[..], &[1, 8]);
    assert_eq!(
        &Request::from_bytes(&frame).unwrap().to_bytes().unwrap()[1..2],
        &[9]
    );
    // The documented ShareProgress frame (docs/formats.md).
    let documented = [0x01, 0x0a, 0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x00];
    let Response::ShareProgress(p) = Response::from_bytes(&documented).unwrap() else {
        panic!()
    };
    progress(1, 2, false, &p);
    assert_eq!(
        (p.groups[0].group, p.groups[0].have, p.groups[0].need),
        (1, 1, 2)
    );
    assert_eq!(
        &Response::ShareProgress(p).to_bytes().unwrap()[..],
        &documented
    );
    let (_service, vault, _clock) = spawn(ShareSeed::Slip39, Duration::from_secs(60));
    let ms = MasterSecret::from_bytes(&[5; 16]).unwrap();
    let shares = shares_of(&ms, "");
    let frame = Request::SubmitShare {
        share: shares[0].clone(),
        passphrase: Zeroizing::new(String::new()),
    }
    .to_bytes()
    .unwrap();
    let response = Response::from_bytes(&vault.call_frame(frame).unwrap()).unwrap();
    let Response::ShareProgress(p) = response else {
        panic!("{response:?}")
    };
    progress(1, 2, false, &p);
}
