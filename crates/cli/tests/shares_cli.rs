//! `hexvault shares split | combine` end to end: round trips, groups, files, the 45
//! SLIP-0039 vectors (Trezor, python-shamir-mnemonic, MIT), and errors that name the share.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{TREZOR_PHRASE, hexvault, json_of, stderr_of, stdout_of};
use serde_json::Value;

const LEGAL: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn split_json(args: &[&str], phrase: &str) -> Value {
    let mut all = vec!["--json", "shares", "split", "--iteration-exponent", "0"];
    all.extend_from_slice(args);
    json_of(&hexvault(&all, phrase, &[]))
}

fn shares_of(report: &Value, group: usize) -> Vec<String> {
    report["groups"][group]["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn split_then_combine_gives_the_phrase_back() {
    let report = split_json(&["--threshold", "2", "--shares", "3"], LEGAL);
    assert_eq!(report["group_threshold"], 1);
    let shares = shares_of(&report, 0);
    assert_eq!(shares.len(), 3);
    assert!(shares.iter().all(|s| s.split(' ').count() == 20));
    for pair in [[0, 1], [1, 2], [2, 0]] {
        let input = format!("{}\n{}\n", shares[pair[0]], shares[pair[1]]);
        // Checked only: nothing secret printed.
        let out = hexvault(&["shares", "combine"], &input, &[]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = stdout_of(&out);
        assert!(text.contains("valid") && !text.contains("legal"), "{text}");
        let out = hexvault(&["shares", "combine", "--show-secret"], &input, &[]);
        assert_eq!(stdout_of(&out).trim(), LEGAL);
        let report = json_of(&hexvault(
            &["--json", "shares", "combine", "--show-secret"],
            &input,
            &[],
        ));
        assert_eq!(report["mnemonic"], LEGAL);
        assert_eq!(report["valid"], true);
    }
    // One share alone is not enough, and the message says how many are missing.
    let out = hexvault(&["shares", "combine"], &shares[0], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("1 of the 2 shares"),
        "{}",
        stderr_of(&out)
    );
    // The text output prints each share on its own.
    let out = hexvault(
        &[
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--iteration-exponent",
            "0",
        ],
        TREZOR_PHRASE,
        &[],
    );
    let text = stdout_of(&out);
    assert_eq!(text.matches("share ").count(), 3, "{text}");
    assert!(text.contains("share 2 of 3 (2 needed):"), "{text}");
}

#[test]
fn groups_and_files() {
    let report = split_json(
        &["--groups", "2/3,1/1,3/5", "--group-threshold", "2"],
        TREZOR_PHRASE,
    );
    assert_eq!(report["group_threshold"], 2);
    let g1 = shares_of(&report, 0);
    let g2 = shares_of(&report, 1);
    let g3 = shares_of(&report, 2);
    assert_eq!((g1.len(), g2.len(), g3.len()), (3, 1, 5));
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, format!("{}\n\n{}\n", g3[4], g3[0])).unwrap();
    std::fs::write(&b, format!("{}\n", g2[0])).unwrap();
    // Group 3 has 2 of its 3: refused, naming the group.
    let out = hexvault(
        &[
            "shares",
            "combine",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("group 3 has 2 of the 3"),
        "{}",
        stderr_of(&out)
    );
    std::fs::write(&a, format!("{}\n{}\n{}\n", g3[4], g3[0], g3[2])).unwrap();
    let out = hexvault(
        &[
            "shares",
            "combine",
            "--show-secret",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(stdout_of(&out).trim(), TREZOR_PHRASE, "{}", stderr_of(&out));
    // --out-dir: one 0600 file per share.
    let out_dir = dir.path().join("out");
    let report = json_of(&hexvault(
        &[
            "--json",
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--iteration-exponent",
            "0",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        LEGAL,
        &[],
    ));
    assert_eq!(report.as_array().unwrap().len(), 3);
    use std::os::unix::fs::PermissionsExt;
    let first = out_dir.join("share-1-1.txt");
    assert_eq!(
        std::fs::metadata(&first).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let third = out_dir.join("share-1-3.txt");
    let out = hexvault(
        &[
            "shares",
            "combine",
            "--show-secret",
            first.to_str().unwrap(),
            third.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(stdout_of(&out).trim(), LEGAL);
}

#[test]
fn a_wrong_share_is_named_without_echoing_it() {
    let shares = shares_of(
        &split_json(&["--threshold", "2", "--shares", "3"], LEGAL),
        0,
    );
    let mut words: Vec<&str> = shares[1].split(' ').collect();
    words[6] = "zyzzyva";
    let input = format!("{}\n{}\n", shares[0], words.join(" "));
    let out = hexvault(&["--json", "shares", "combine"], &input, &[]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["share"], 2);
    assert_eq!(report["source"], "standard input, line 2");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("share 2: word 7 is not in the SLIP-0039 word list"),
        "{error}"
    );
    assert!(!error.contains("zyzzyva") && !stderr_of(&out).contains("zyzzyva"));
    // A changed word that is in the list: the checksum names its position.
    let mut words: Vec<&str> = shares[2].split(' ').collect();
    words[9] = if words[9] == "academic" {
        "acid"
    } else {
        "academic"
    };
    let input = format!("{}\n{}\n", shares[0], words.join(" "));
    let out = hexvault(&["shares", "combine"], &input, &[]);
    assert!(
        stderr_of(&out).contains("share 2: the share's checksum does not match (word 10 is wrong)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn usage_errors() {
    for args in [
        &["shares", "split"][..],
        &["shares", "split", "--threshold", "2"],
        &[
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--group-threshold",
            "2",
        ],
        &["shares", "split", "--groups", "2-3"],
    ] {
        let out = hexvault(args, LEGAL, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(!stderr_of(&out).contains("legal"));
    }
    // SLIP-0039 refuses a 1-of-N group with N > 1 (copies would differ only in one word).
    let out = hexvault(
        &["shares", "split", "--threshold", "1", "--shares", "3"],
        LEGAL,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("threshold 1 has one share"),
        "{}",
        stderr_of(&out)
    );
    let out = hexvault(&["shares", "combine"], "\n\n", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_45_published_vectors_through_the_command_line() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("data/slip39-trezor.json")).unwrap();
    assert_eq!(vectors.len(), 45);
    for vector in &vectors {
        let name = vector[0].as_str().unwrap();
        let input: String = vector[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{}\n", s.as_str().unwrap()))
            .collect();
        let secret = vector[2].as_str().unwrap();
        let out = hexvault(
            &[
                "shares",
                "combine",
                "--format",
                "hex",
                "--show-secret",
                "--passphrase-env",
                "P",
            ],
            &input,
            &[("P", "TREZOR")],
        );
        if secret.is_empty() {
            assert_eq!(out.status.code(), Some(1), "{name}");
            assert!(out.stdout.is_empty(), "{name}");
        } else {
            assert!(out.status.success(), "{name}: {}", stderr_of(&out));
            assert_eq!(stdout_of(&out).trim(), secret, "{name}");
        }
    }
}

/// Out-of-range option values of `shares split` (`--threshold 5 --shares 3`, `--threshold 1
/// --shares 3`, `--iteration-exponent 16`, `--group-threshold` above the groups) are usage
/// errors like `seal --layer 3`: exit 2, kind `usage` (README.md, docs/cli.md), refused
/// before the phrase is read.
#[test]
fn out_of_range_share_options_are_usage_errors() {
    let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                  abandon abandon about";
    for args in [
        &["--threshold", "5", "--shares", "3"][..],
        &["--threshold", "1", "--shares", "3"],
        &[
            "--threshold",
            "2",
            "--shares",
            "3",
            "--iteration-exponent",
            "16",
        ],
        &["--groups", "2/3", "--group-threshold", "3"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"))
            .args(["--json", "shares", "split"])
            .args(args)
            .env("HEXVAULT_MNEMONIC", phrase)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let error: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
        assert_eq!(
            (output.status.code(), error["kind"].as_str()),
            (Some(2), Some("usage")),
            "{args:?}: {error}"
        );
    }
}

/// Review round 11: a mistyped share word makes `shares combine` print the word it
/// suggests ("did you mean \"velvet\"?"), which is the share's real word (here a word of
/// the share value), when the shares come from a pipe or a file, whose errors end up in
/// logs. SECURITY.md (shares row):
/// "typed words echoed into logs (never in errors; the service drops even the
/// suggestion)", and the command line's own rule for the same hint of a mnemonic
/// (crates/cli/src/input.rs, `mnemonic`): "it is shown only to the person who typed the
/// phrase at the terminal prompt, never when the phrase came from a file, the environment
/// or a pipe, whose errors end up in logs". Both the text error and the `--json` report
/// carry the share word.
#[test]
fn shares_combine_from_a_pipe_does_not_print_a_share_word() {
    let split = common::hexvault(
        &["shares", "split", "--threshold", "2", "--shares", "3"],
        "",
        &[("HEXVAULT_MNEMONIC", common::TREZOR_PHRASE)],
    );
    assert!(split.status.success(), "{}", stderr_of(&split));
    let text = String::from_utf8(split.stdout).unwrap();
    let share = text
        .lines()
        .find(|line| !line.trim().is_empty() && !line.starts_with("share"))
        .unwrap()
        .trim()
        .to_owned();
    // Word 8 carries the share value (words 1 to 4 are the identifier and the indices):
    // one typo there (an extra letter), the rest of the share as written.
    let mut words: Vec<String> = share.split_whitespace().map(str::to_owned).collect();
    let first = words[7].clone();
    words[7] = format!("{first}x");
    let typo = words.join(" ");
    for json in [false, true] {
        let mut args = vec!["shares", "combine"];
        if json {
            args.push("--json");
        }
        let combined = common::hexvault(&args, &format!("{typo}\n"), &[]);
        assert_eq!(combined.status.code(), Some(1), "{}", stderr_of(&combined));
        // In JSON the error object's own key `"kind"` is a SLIP-0039 word: only the message
        // counts (the test failed once in 1,024 runs, when word 8 was "kind").
        let printed = if json {
            let error: serde_json::Value =
                serde_json::from_str(stderr_of(&combined).trim()).unwrap();
            format!(
                "{}{}",
                String::from_utf8_lossy(&combined.stdout),
                error["error"].as_str().unwrap()
            )
        } else {
            format!(
                "{}{}",
                String::from_utf8_lossy(&combined.stdout),
                stderr_of(&combined)
            )
        };
        assert!(
            !printed.contains(&format!("\"{first}\"")),
            "a word of the share (\"{first}\") was printed for piped input: {printed}"
        );
    }
}

/// A `--groups` value may hold what was typed there by mistake (a phrase): a bad group is a
/// usage error (exit 2) that names the problem and the group's position, and no part of the
/// value comes back on standard output or standard error, in text or JSON, whichever way the
/// value was given.
#[test]
fn a_bad_group_is_refused_without_repeating_the_value() {
    const MARKER: &str = "quokka";
    let cases = [
        ("quokka", "group 1 is not THRESHOLD/COUNT"),
        ("2/3,quokka", "group 2 is not THRESHOLD/COUNT"),
        ("2/3, quokka lantern ", "group 2 is not THRESHOLD/COUNT"),
        ("quokka/3", "the threshold of group 1"),
        ("2/quokka", "the count of group 1"),
        ("2/3,1/1,3/quokka", "the count of group 3"),
        ("2/3/quokka", "the count of group 1"),
        ("1/1,quokka-2/3", "the threshold of group 2"),
        ("2/3,,quokka", "group 2 is empty"),
    ];
    for (spec, problem) in cases {
        let joined = format!("--groups={spec}");
        for args in [
            vec!["shares", "split", "--groups", spec],
            vec!["shares", "split", joined.as_str()],
            vec!["--json", "shares", "split", "--groups", spec],
        ] {
            let out = hexvault(&args, LEGAL, &[]);
            let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(problem), "{args:?}: {stderr}");
            assert!(stderr.contains("--groups"), "{args:?}: {stderr}");
            for text in [&stdout, &stderr] {
                assert!(
                    !text.to_lowercase().contains(MARKER),
                    "{args:?} repeats the value: {text}"
                );
                assert!(!text.contains("legal"), "{args:?}: {text}");
            }
            if args[0] == "--json" {
                let error: Value = serde_json::from_str(&stderr).unwrap();
                assert_eq!(error["kind"], "usage", "{stderr}");
            }
        }
    }
}

/// Review round 20: `shares split` of a phrase in another word list is refused (its shares
/// would be read back as the English phrase of the same entropy, another vault), with the
/// reason, exit 1, nothing printed on standard output and no word of the phrase echoed.
#[test]
fn shares_split_refuses_a_phrase_in_another_word_list() {
    let italian = json_of(&hexvault(
        &[
            "--json",
            "mnemonic",
            "from-entropy",
            "--language",
            "italian",
        ],
        "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
        &[],
    ));
    let phrase = italian["mnemonic"].as_str().unwrap().to_owned();
    let out = hexvault(
        &["shares", "split", "--threshold", "2", "--shares", "3"],
        &phrase,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let said = stderr_of(&out);
    assert!(
        said.contains("Italian") || said.contains("italian"),
        "{said}"
    );
    assert!(said.contains("only English phrases are split"), "{said}");
    assert!(stdout_of(&out).is_empty());
    for word in phrase.split(' ') {
        assert!(
            !said.contains(word),
            "a word of the phrase was echoed: {said}"
        );
    }
}
