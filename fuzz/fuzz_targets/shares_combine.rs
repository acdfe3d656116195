//! Fuzz SLIP-0039 recovery from a set of untrusted shares (review round 29): the input's lines
//! are share texts, given together to `combine_mnemonics` and one by one to a `Recovery` (the
//! path of the service's share unlock and of `hexvault shares combine`); grouping, mismatch,
//! duplicate and threshold checks and the digest check end in a value or an error, never a
//! panic. Sets whose shares declare an iteration exponent above 0 are skipped: their PBKDF2
//! work (10000 x 2^e) would only slow the fuzzer down.
#![no_main]

use hexvault_shares::{Recovery, Share, combine_mnemonics};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.lines().take(32).collect();
    let costly = lines
        .iter()
        .filter_map(|line| Share::parse(line).ok())
        .any(|share| share.iteration_exponent() > 0);
    if costly {
        return;
    }
    let together = combine_mnemonics(&lines, "");
    let mut recovery = Recovery::new();
    let mut added = true;
    for line in &lines {
        if recovery.add_text(line).is_err() {
            added = false;
            break;
        }
    }
    if added && recovery.progress().is_complete() {
        let one_by_one = recovery.recover("");
        // Both paths read the same set: when both succeed, they recover the same secret.
        if let (Ok(a), Ok(b)) = (&together, &one_by_one) {
            assert!(a == b, "combine and Recovery disagree on one set");
        }
    }
    recovery.clear();
});
