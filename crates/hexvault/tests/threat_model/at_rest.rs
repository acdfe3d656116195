//! At-rest exposure: an attacker who reads (and may change) every sealed blob learns nothing
//! of the plaintext but its length, and no key but the vault's own opens a blob.

use std::time::Duration;

use hexvault::cells::{Credentials, Error, Layer};
use hexvault::mnemonic::{Language, Mnemonic, WordCount};
use hexvault::{NoAccessTokens, Vault};

use crate::common::{PASSPHRASE, PHRASE, cell, object, token_for, vault};

const LAYERS: [Layer; 3] = [Layer::Rest, Layer::Access, Layer::Session];

/// A distinctive plaintext: no 8-byte window of it may appear in a blob.
fn marker() -> Vec<u8> {
    (0u8..96).map(|i| i.wrapping_mul(37) ^ 0xa5).collect()
}

#[test]
fn no_window_of_the_plaintext_appears_in_a_blob_at_any_layer() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&token).session(&session);
    let plaintext = marker();
    for layer in LAYERS {
        let blob = inbox.seal(&object("o"), &plaintext, layer, &creds).unwrap();
        for window in plaintext.windows(8) {
            assert!(
                !blob.windows(8).any(|w| w == window),
                "layer {layer}: plaintext bytes visible in the blob"
            );
        }
    }
}

#[test]
fn blob_length_depends_only_on_the_plaintext_length() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&token).session(&session);
    for layer in LAYERS {
        let mut overhead = None;
        for len in [0usize, 1, 15, 16, 17, 100, 1000, 4096] {
            let zeros = vec![0u8; len];
            let ones = vec![0xffu8; len];
            let text: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let lens: Vec<usize> = [zeros, ones, text]
                .iter()
                .map(|p| inbox.seal(&object("o"), p, layer, &creds).unwrap().len())
                .collect();
            assert!(
                lens.iter().all(|l| *l == lens[0]),
                "layer {layer}, {len} B: {lens:?}"
            );
            let this = lens[0] - len;
            assert_eq!(
                *overhead.get_or_insert(this),
                this,
                "layer {layer}: overhead varies"
            );
        }
    }
}

#[test]
fn sealing_the_same_plaintext_twice_gives_unrelated_ciphertexts() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let plaintext = vec![0u8; 1024];
    let a = inbox
        .seal(&object("o"), &plaintext, Layer::Rest, &Credentials::none())
        .unwrap();
    let b = inbox
        .seal(&object("o"), &plaintext, Layer::Rest, &Credentials::none())
        .unwrap();
    assert_ne!(a, b);
    // The header (ids, versions) is public and shared; past the first difference (the
    // nonce), equal bytes at equal positions occur at the chance rate of 1/256.
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let equal = a[prefix..]
        .iter()
        .zip(&b[prefix..])
        .filter(|(x, y)| x == y)
        .count();
    assert!(
        equal < (a.len() - prefix) / 32,
        "{equal} equal bytes after offset {prefix}"
    );
}

#[test]
fn the_ciphertext_of_zeros_is_uniformly_distributed() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let blob = inbox
        .seal(
            &object("o"),
            &vec![0u8; 65_536],
            Layer::Rest,
            &Credentials::none(),
        )
        .unwrap();
    let body = &blob[blob.len() - 65_536..];
    let mut counts = [0u32; 256];
    for b in body {
        counts[usize::from(*b)] += 1;
    }
    // Mean 256, standard deviation 16: 9 deviations either way never happens by chance.
    assert!(counts.iter().all(|c| (112..400).contains(c)), "{counts:?}");
}

#[test]
fn another_root_opens_nothing() {
    let ours = vault();
    let inbox = cell(&ours, "tenant-a", "inbox");
    let blob = inbox
        .seal(&object("o"), b"payroll", Layer::Rest, &Credentials::none())
        .unwrap();

    let other_passphrase =
        Vault::from_mnemonic(PHRASE, "another passphrase", NoAccessTokens).unwrap();
    let other_phrase = Mnemonic::generate(WordCount::Words24, Language::English).unwrap();
    let other_phrase =
        Vault::from_mnemonic(&other_phrase.phrase(), PASSPHRASE, NoAccessTokens).unwrap();
    for other in [&other_passphrase, &other_phrase] {
        // Same partition, cell and object ids: only the key differs, and it does not open.
        let err = cell(other, "tenant-a", "inbox")
            .open(&object("o"), &blob, &Credentials::none())
            .unwrap_err();
        assert!(matches!(err, Error::Authentication), "{err:?}");
    }
    // The same root re-derives the same keys: the blob opens in a vault rebuilt from it.
    let again = vault();
    let opened = cell(&again, "tenant-a", "inbox")
        .open(&object("o"), &blob, &Credentials::none())
        .unwrap();
    assert_eq!(opened.expose_secret(), b"payroll");
}

#[test]
fn a_retired_key_version_opens_nothing() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let blob = inbox
        .seal(&object("o"), b"old", Layer::Rest, &Credentials::none())
        .unwrap();
    inbox.rotate().unwrap();
    inbox.retire_below(2).unwrap();
    let err = inbox
        .open(&object("o"), &blob, &Credentials::none())
        .unwrap_err();
    assert!(
        matches!(err, Error::KeyVersionRetired { version: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn every_bit_flip_and_every_truncation_is_rejected() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let creds = Credentials::none().token(&token);
    let blob = inbox
        .seal(&object("o"), b"iban=DE89", Layer::Access, &creds)
        .unwrap();
    for i in 0..blob.len() * 8 {
        let mut bad = blob.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert!(
            inbox.open(&object("o"), &bad, &creds).is_err(),
            "bit {i} flipped was accepted"
        );
    }
    for len in 0..blob.len() {
        assert!(
            inbox.open(&object("o"), &blob[..len], &creds).is_err(),
            "cut to {len}"
        );
    }
    assert_eq!(
        inbox
            .open(&object("o"), &blob, &creds)
            .unwrap()
            .expose_secret(),
        b"iban=DE89"
    );
}

/// "every bit flip and every truncation rejected": appending bytes is the third edit an
/// attacker makes (layer 0 only: `NoAccessTokens` serves no other layer).
#[test]
fn an_appended_byte_is_rejected() {
    let vault = Vault::from_mnemonic(PHRASE, PASSPHRASE, NoAccessTokens).unwrap();
    let inbox = cell(&vault, "p", "c");
    let blob = inbox
        .seal(&object("o"), b"secret", Layer::Rest, &Credentials::none())
        .unwrap();
    for extra in [&[0u8][..], &[0u8; 16], &blob[..]] {
        let mut longer = blob.clone();
        longer.extend_from_slice(extra);
        assert!(
            inbox
                .open(&object("o"), &longer, &Credentials::none())
                .is_err()
        );
    }
}
