//! Forged shares: a share whose words are edited and whose RS1024 checksum is recomputed
//! (a public code, no key). A digest share at every level of sharing whose threshold is 2 or
//! more catches the wrong secret; when both the member and the group threshold are 1 the
//! share is the (encrypted) secret itself with no digest (SLIP-0039), and such an edit
//! recovers another secret; the header (every field) is under no digest, so the same edit
//! in every share of a set recovers another secret too, and a threshold edited to 1 makes
//! one share a set: the documented scope of the integrity claim (SECURITY.md, the crate
//! docs). Review rounds 6, 8, 20 and 40.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hexvault_shares::{
    Error, GroupSpec, MasterSecret, Recovery, Share, SplitConfig, combine, split,
};

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

/// SLIP-0039 §Checksum, written from the standard: the three check words of `data`, under
/// the customization string the extendable flag (bit 4 of word 2) chooses.
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

/// `share` with `edit` applied to its word indices and the checksum recomputed.
fn edited(share: &Share, edit: impl Fn(&mut [u16])) -> Share {
    Share::parse(&edited_words(share, edit)).expect("the checksum is the standard's")
}

/// The words of `share` with `edit` applied to its word indices and the checksum
/// recomputed: passes the checksum, whatever the edit declares.
fn edited_words(share: &Share, edit: impl Fn(&mut [u16])) -> String {
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
    forged.join(" ")
}

/// A share naming a group past its own group count (no split writes one) is refused when it
/// is read, with a correct checksum: the group index is the top 4 bits of word 3, here moved
/// from group 1 of 1 to group 2 of 1.
#[test]
fn a_share_naming_a_group_past_its_count_is_refused() {
    let secret = MasterSecret::from_bytes(&[0x24; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(1, 1).iteration_exponent(0),
    )
    .unwrap();
    let share = &groups[0][0];
    assert_eq!(share.group_count(), 1);
    let text = edited_words(share, |w| w[2] ^= 1 << 6);
    assert_eq!(
        Share::parse(&text).unwrap_err(),
        Error::GroupIndexAboveCount { group: 2, count: 1 }
    );
    // The same word edited back parses: only the group index was the problem.
    assert!(Share::parse(&edited_words(share, |w| w[2] ^= 0)).is_ok());
}

/// `share` with word 9 (a word of the share value) changed and the checksum recomputed.
fn forge(share: &Share) -> Share {
    edited(share, |indices| indices[8] ^= 0x155)
}

/// The second limit, as documented (review round 20): the digest share covers the encrypted
/// master secret, not the header. The identifier (part of every Feistel round's salt when the
/// backup is not extendable) and the iteration exponent (the PBKDF2 count), edited the same
/// way in every share of a 2-of-3 set with the checksums recomputed, pass every check (the
/// set agrees, the digest is valid) and decrypt to another secret without an error, as a
/// wrong passphrase does. If this ever fails, update SECURITY.md's shares row and the crate
/// docs.
#[test]
fn the_same_header_edit_in_every_share_of_a_set_recovers_another_secret_as_documented() {
    let secret = MasterSecret::from_bytes(&[0x24; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    let genuine = [again(&groups[0][0]), again(&groups[0][1])];
    assert!(combine(&genuine, "").unwrap() == secret);
    // The identifier's top 10 bits are word 1; the iteration exponent is the low 4 bits of
    // word 2 (0 -> 1).
    for (what, edit) in [
        (
            "identifier",
            (|w: &mut [u16]| w[0] ^= 0x001) as fn(&mut [u16]),
        ),
        ("iteration exponent", |w: &mut [u16]| w[1] ^= 0x001),
    ] {
        let set = [edited(&genuine[0], edit), edited(&genuine[1], edit)];
        let recovered = combine(&set, "").expect("no check covers the header");
        assert!(recovered != secret, "{what}");
    }
}

/// The header limit reaches every field, as documented (review round 40): the thresholds
/// and the extendable flag are under no digest either. Word 3 (index 2) holds the group
/// index, group threshold − 1 (bits 5..2) and the top bits of the group count − 1; word 4
/// (index 3) ends with the member index and member threshold − 1 (bits 3..0); word 2
/// (index 1) holds the extendable flag at bit 4. (a) Both shares of one group of a
/// 2-of-2-groups backup edited to say "group threshold 1" recover another secret (the
/// group-level digest is skipped: the header says 1), through `combine` and `Recovery`;
/// (b) ONE share of a 2-of-3 backup edited to say "member threshold 1" is a complete set on
/// its own; (c) the extendable flag flipped in both shares of a 2-of-3 set drops the
/// identifier from the salt. None gives the real secret, none an error. If this ever
/// fails, update SECURITY.md's shares row and the crate docs.
#[test]
fn threshold_and_flag_edits_recover_another_secret_as_documented() {
    let secret = MasterSecret::from_bytes(&[0x42; 16]).unwrap();
    let group_threshold_2_to_1 = |w: &mut [u16]| w[2] ^= 1 << 2;
    let member_threshold_2_to_1 = |w: &mut [u16]| w[3] ^= 1;
    let extendable_flag = |w: &mut [u16]| w[1] ^= 1 << 4;

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

    let single = split(
        &secret,
        "",
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    let alone = edited(&single[0][0], member_threshold_2_to_1);
    assert_eq!(alone.member_threshold(), 1);
    let b = combine(&[alone], "");

    let flipped = [
        edited(&single[0][0], extendable_flag),
        edited(&single[0][1], extendable_flag),
    ];
    assert!(flipped[0].extendable());
    let c = combine(&flipped, "");

    for (what, result) in [
        ("(a) group threshold, combine", a),
        ("(a) group threshold, Recovery", a_one_by_one),
        ("(b) member threshold, one share", b),
        ("(c) extendable flag", c),
    ] {
        let other = result.unwrap_or_else(|e| panic!("{what}: refused ({e}): update the docs"));
        assert!(other != secret, "{what}: the real secret came out");
    }
}

#[test]
fn a_forged_share_of_a_two_of_three_split_is_caught_by_the_digest() {
    let secret = MasterSecret::from_bytes(&[7; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(2, 3).iteration_exponent(0),
    )
    .unwrap();
    let forged = forge(&groups[0][0]);
    let second = Share::parse(&groups[0][1].to_words()).unwrap();
    assert!(matches!(
        combine(&[forged, second], ""),
        Err(Error::InvalidDigest)
    ));
    // The control: the genuine pair recovers the secret.
    let first = Share::parse(&groups[0][0].to_words()).unwrap();
    let second = Share::parse(&groups[0][1].to_words()).unwrap();
    assert!(combine(&[first, second], "").unwrap() == secret);
}

/// The limit, as documented: a 1-of-1 split has no digest (SLIP-0039 §Shamir's secret
/// sharing: a threshold-1 group's share is the value itself), so the checksum-valid forgery
/// recovers another secret. If this ever fails, the docs overstate nothing any more: update
/// SECURITY.md's shares row and the crate docs.
#[test]
fn a_forged_share_of_a_one_of_one_split_recovers_another_secret_as_documented() {
    let secret = MasterSecret::from_bytes(&[7; 16]).unwrap();
    let groups = split(
        &secret,
        "",
        &SplitConfig::single(1, 1).iteration_exponent(0),
    )
    .unwrap();
    let forged = forge(&groups[0][0]);
    let recovered = combine(&[forged], "").expect("no digest to check");
    assert!(recovered != secret);
}

fn again(share: &Share) -> Share {
    Share::parse(&share.to_words()).unwrap()
}

/// Review round 8: with a group threshold of 2, the group-level digest catches a forged share
/// of a 1-of-1 group (the limit above needs both thresholds at 1).
#[test]
fn a_forged_share_of_a_one_of_one_group_is_caught_by_the_group_digest_when_two_groups_are_needed() {
    let secret = MasterSecret::from_bytes(&[7; 16]).unwrap();
    let config = SplitConfig::groups(
        2,
        vec![
            GroupSpec {
                threshold: 1,
                count: 1,
            },
            GroupSpec {
                threshold: 2,
                count: 3,
            },
        ],
    )
    .iteration_exponent(0);
    let groups = split(&secret, "", &config).unwrap();
    let forged = forge(&groups[0][0]);
    let result = combine(&[forged, again(&groups[1][0]), again(&groups[1][1])], "");
    assert!(matches!(result, Err(Error::InvalidDigest)));
}
