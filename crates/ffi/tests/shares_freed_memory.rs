//! Threshold shares (`hexvault-shares`) leave no copy of a share in freed memory (review
//! round 20), checked with a probe of freed memory. The probe is a global allocator that scans every block freed while it is
//! armed, which takes `unsafe`: the workspace forbids it everywhere but in this crate
//! (`unsafe_code = "deny"` here), so the test lives here and reaches the shares crate through
//! the facade (`facade::shares`, the same crate).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod freed_memory;

use facade::shares::{Error, MasterSecret, Share, SplitConfig, split};
use freed_memory::freed_while;

const WORDS: &str = include_str!("../../shares/src/wordlist.txt");

fn index_of(word: &str) -> u16 {
    u16::try_from(WORDS.lines().position(|w| w == word).unwrap()).unwrap()
}

/// A share whose checksum fails because one word is wrong (a typo, the case the error
/// locator exists for) leaves its words, the share's secret value among them, in freed heap
/// memory: `rs1024::locate_single_error` (crates/shares/src/rs1024.rs:73) works on
/// `let mut scratch = words.to_vec()`, a plain `Vec<u16>` that is dropped unwiped (and that
/// holds the corrected, valid share while a candidate verifies).
///
/// Broken claims: crates/shares/src/lib.rs:23-25 "[`MasterSecret`], [`Share`] and
/// [`Recovery`] are zeroized on drop ... every intermediate secret buffer is a `Zeroizing`
/// one"; docs/adr/0065-slip39-shares-crate.md:35-37 "Share bytes are secret ... `Share`,
/// `MasterSecret` and `Recovery` zeroize on drop"; crates/shares/src/share.rs:38-39
/// "The value is secret (a share of the master secret): it is zeroized on drop"; the house
/// rule "zeroize on drop" (the same parse keeps its own word indices in a `Zeroizing` buffer,
/// share.rs:94, and `wordlist::suggestion` wipes a mistyped word, wordlist.rs). The service
/// parses shares handed in over its protocol with the same code (ADR 0067), so a typo leaves
/// an operator's share in the service process.
#[test]
fn a_share_with_one_wrong_word_leaves_no_unwiped_copy_of_its_words() {
    let secret = MasterSecret::from_bytes(&[0x5a; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    let words = groups[0][0].to_words();
    let mut list: Vec<&str> = words.split(' ').collect();
    assert_eq!(list.len(), 20);
    // The share value: words 5 to 17 (after the 4 header words). Look for 10 of them, as
    // the u16 values a `Vec<u16>` of word indices holds.
    let mut pattern = Vec::new();
    for word in &list[4..14] {
        pattern.extend_from_slice(&index_of(word).to_ne_bytes());
    }
    // A typo in the last (checksum) word: the value words are all intact.
    let last = index_of(list[19]);
    let other = WORDS.lines().nth(usize::from((last + 1) % 1024)).unwrap();
    list[19] = other;
    let typed = list.join(" ");

    let (result, found) = freed_while(&pattern, || Share::parse(&typed));

    assert_eq!(
        result.unwrap_err(),
        Error::InvalidChecksum { position: Some(20) }
    );
    assert!(
        !found,
        "a freed heap block still holds the share's word indices (its secret value)"
    );
}
