//! End-to-end tests of large objects (docs/formats.md, "Large object"; ADR 0073): payloads
//! above 1 MiB sealed as a data-key blob plus a sealed stream, through `seal`, `open`,
//! `traverse` and `reseal`, with every tampering of the stream file refused and nothing
//! partial left in `--out`.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::vault::init_vault;
use common::{TREZOR_PHRASE, hexvault_bytes, hexvault_in, json_of, stderr_of, succeeded};

struct Fixture {
    temp: tempfile::TempDir,
    dir: PathBuf,
}

impl Fixture {
    /// A vault with cells `p/a`, `p/b` and the edge `p/a -> p/b`.
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("vault");
        init_vault(&dir, &["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
        Self { temp, dir }
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        hexvault_in(
            &self.dir,
            args,
            stdin,
            &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
        )
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        succeeded(args, self.run(args, stdin))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    /// The files of a cell's directory (`p/a` -> objects/70/61), sorted.
    fn cell_files(&self, cell: &str) -> Vec<PathBuf> {
        let hex = match cell {
            "p/a" => "61",
            _ => "62",
        };
        let dir = self.dir.join("objects").join("70").join(hex);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    fn stream_of(&self, cell: &str) -> PathBuf {
        let streams: Vec<PathBuf> = self
            .cell_files(cell)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "stream"))
            .collect();
        assert_eq!(streams.len(), 1, "{streams:?}");
        streams[0].clone()
    }

    fn open_bytes(&self, cell: &str, id: &str) -> Output {
        self.run(&["open", "--cell", cell, "--id", id], b"")
    }

    fn audit_ok(&self) {
        let out = self.ok(&["audit", "verify"], b"");
        assert!(out.status.success());
    }
}

/// Deterministic, incompressible-looking bytes.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u64::from(seed) | 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_large_file_round_trips_through_seal_open_traverse_and_reseal() {
    let vault = Fixture::new();
    let data = payload(3 * 1024 * 1024 + 17, 1);
    let input = vault.file("in.bin");
    write(&input, &data);
    let report = json_of(&vault.ok(
        &[
            "--json",
            "seal",
            "--cell",
            "p/a",
            "--id",
            "big",
            "--in",
            input.to_str().unwrap(),
        ],
        b"",
    ));
    assert_eq!(report["large"], true);
    assert_eq!(report["plaintext_bytes"], data.len() as u64);
    let stream = vault.stream_of("p/a");
    assert_eq!(
        std::fs::metadata(&stream).unwrap().len(),
        report["stream_bytes"].as_u64().unwrap()
    );
    // 41 header bytes + 16 per 1 MiB segment.
    let segments = data.len().div_ceil(1024 * 1024) as u64;
    assert_eq!(
        report["stream_bytes"],
        data.len() as u64 + 41 + 16 * segments
    );

    // Standard input too; standard error is not a terminal here: no progress bar, no output.
    let piped = vault.ok(&["seal", "--cell", "p/a", "--id", "piped"], &data);
    assert!(piped.stderr.is_empty(), "{}", stderr_of(&piped));
    assert_eq!(vault.open_bytes("p/a", "piped").stdout, data);

    // --out and standard output.
    let out = vault.file("out.bin");
    let opened = json_of(&vault.ok(
        &[
            "--json",
            "open",
            "--cell",
            "p/a",
            "--id",
            "big",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    ));
    assert_eq!(opened["large"], true);
    assert_eq!(opened["bytes"], data.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert_eq!(vault.open_bytes("p/a", "big").stdout, data);

    // Traverse copies, then moves.
    vault.ok(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"],
        b"",
    );
    assert_eq!(vault.open_bytes("p/b", "big").stdout, data);
    assert_eq!(vault.open_bytes("p/a", "big").stdout, data);
    vault.ok(
        &[
            "traverse", "--from", "p/a", "--to", "p/b", "--id", "piped", "--move",
        ],
        b"",
    );
    assert!(!vault.open_bytes("p/a", "piped").status.success());
    // The source's blob and stream are both gone.
    let left: Vec<PathBuf> = vault.cell_files("p/a");
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(vault.open_bytes("p/b", "piped").stdout, data);

    // Reseal after a rotation: a new blob and a new stream file, the old stream removed.
    let before = vault.cell_files("p/b");
    vault.ok(&["rotate", "--cell", "p/b"], b"");
    let resealed = json_of(&vault.ok(&["--json", "reseal", "--cell", "p/b"], b""));
    assert_eq!(resealed["resealed"], 2);
    let after = vault.cell_files("p/b");
    assert_eq!(after.len(), 4, "{after:?}");
    let streams_before: Vec<_> = before
        .iter()
        .filter(|p| p.to_str().unwrap().ends_with(".stream"))
        .collect();
    for old in streams_before {
        assert!(!after.contains(old), "the old stream file {old:?} is gone");
    }
    assert_eq!(vault.open_bytes("p/b", "big").stdout, data);
    assert_eq!(vault.open_bytes("p/b", "piped").stdout, data);
    let again = json_of(&vault.ok(&["--json", "reseal", "--cell", "p/b"], b""));
    assert_eq!(again["resealed"], 0);
    vault.audit_ok();
}

#[test]
fn a_small_payload_that_starts_like_a_data_key_is_sealed_as_a_large_object() {
    let vault = Fixture::new();
    let mut data = b"HXLO\x01".to_vec();
    data.extend_from_slice(&[7; 32]);
    let report = json_of(&vault.ok(&["--json", "seal", "--cell", "p/a", "--id", "m"], &data));
    assert_eq!(report["large"], true);
    assert_eq!(vault.open_bytes("p/a", "m").stdout, data);
    // An ordinary small payload is one blob.
    let report = json_of(&vault.ok(&["--json", "seal", "--cell", "p/a", "--id", "s"], b"hi"));
    assert_eq!(report["large"], false);
    assert_eq!(vault.open_bytes("p/a", "s").stdout, b"hi");
    // Exactly 1 MiB is small; one byte more is large.
    let edge = payload(1024 * 1024, 2);
    let report = json_of(&vault.ok(&["--json", "seal", "--cell", "p/a", "--id", "e"], &edge));
    assert_eq!(report["large"], false);
    assert_eq!(vault.open_bytes("p/a", "e").stdout, edge);
    let over = payload(1024 * 1024 + 1, 3);
    let report = json_of(&vault.ok(&["--json", "seal", "--cell", "p/a", "--id", "o"], &over));
    assert_eq!(report["large"], true);
    assert_eq!(vault.open_bytes("p/a", "o").stdout, over);
}

#[test]
fn every_tampering_of_the_stream_is_refused_and_out_is_not_written() {
    let vault = Fixture::new();
    let data = payload(2 * 1024 * 1024 + 5, 4);
    vault.ok(&["seal", "--cell", "p/a", "--id", "x"], &data);
    vault.ok(&["seal", "--cell", "p/a", "--id", "y"], &data);
    let streams: Vec<PathBuf> = vault
        .cell_files("p/a")
        .into_iter()
        .filter(|p| p.to_str().unwrap().ends_with(".stream"))
        .collect();
    // hex("x") = 78 sorts before hex("y") = 79.
    let (x_stream, y_stream) = (streams[0].clone(), streams[1].clone());
    let original = std::fs::read(&x_stream).unwrap();
    let out = vault.file("out.bin");
    let refuse = |bytes: &[u8], what: &str| {
        write(&x_stream, bytes);
        let output = vault.run(
            &[
                "open",
                "--cell",
                "p/a",
                "--id",
                "x",
                "--out",
                out.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}: {}",
            stderr_of(&output)
        );
        assert!(
            stderr_of(&output).contains("restore"),
            "{what}: {}",
            stderr_of(&output)
        );
        assert!(!out.exists(), "{what}: --out must not exist");
        // Standard output: exit 1 too.
        let piped = vault.open_bytes("p/a", "x");
        assert_eq!(piped.status.code(), Some(1), "{what}");
    };
    // A flipped bit in the header, in the first, a middle and the last segment.
    for at in [20, 41 + 3, original.len() / 2, original.len() - 1] {
        let mut bad = original.clone();
        bad[at] ^= 1;
        refuse(&bad, &format!("flip at {at}"));
    }
    // Truncated inside a segment, at a segment boundary, and extended.
    refuse(&original[..original.len() - 100], "truncated");
    refuse(
        &original[..41 + 2 * (1024 * 1024 + 16)],
        "cut at a boundary",
    );
    let mut longer = original.clone();
    longer.extend_from_slice(&[0; 16]);
    refuse(&longer, "extended");
    // Another object's stream (same data key? no: another key and another id).
    refuse(
        &std::fs::read(&y_stream).unwrap(),
        "another object's stream",
    );
    // Missing.
    std::fs::remove_file(&x_stream).unwrap();
    let output = vault.run(
        &[
            "open",
            "--cell",
            "p/a",
            "--id",
            "x",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("missing"),
        "{}",
        stderr_of(&output)
    );
    assert!(!out.exists());
    // Restored, it opens again.
    write(&x_stream, &original);
    assert_eq!(vault.open_bytes("p/a", "x").stdout, data);
}

#[test]
fn a_stream_file_no_blob_names_is_removed_by_the_next_writer() {
    let vault = Fixture::new();
    let data = payload(1024 * 1024 + 100, 5);
    vault.ok(&["seal", "--cell", "p/a", "--id", "x"], &data);
    let stream = vault.stream_of("p/a");
    let orphan = stream.with_file_name("79.0011223344556677.stream");
    std::fs::copy(&stream, &orphan).unwrap();
    let stale = stream.with_file_name("78.8899aabbccddeeff.stream");
    std::fs::copy(&stream, &stale).unwrap();
    vault.ok(&["seal", "--cell", "p/a", "--id", "z"], b"small");
    assert!(!orphan.exists());
    assert!(!stale.exists());
    assert!(stream.exists());
    assert_eq!(vault.open_bytes("p/a", "x").stdout, data);
}

#[test]
fn a_large_object_at_layer_1_needs_the_token_to_open() {
    let vault = Fixture::new();
    let tokens = vault.file("tokens.toml");
    write(
        &tokens,
        format!(
            "[[token]]\ntoken = \"t0ken\"\npolicy = \"pol\"\nsecret = \"{}\"\ncells = [\"p/a\"]\n",
            "01".repeat(32)
        )
        .as_bytes(),
    );
    let data = payload(1024 * 1024 + 9, 6);
    let tokens_arg = tokens.to_str().unwrap();
    let mut all = vec![
        "seal",
        "--cell",
        "p/a",
        "--id",
        "t",
        "--layer",
        "1",
        "--token-env",
        "TOK",
        "--tokens",
        tokens_arg,
        "--dir",
    ];
    all.push(vault.dir.to_str().unwrap());
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("TOK", "t0ken")];
    let output = hexvault_bytes(&all, &data, &env);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plain = vault.open_bytes("p/a", "t");
    assert_eq!(plain.status.code(), Some(1));
    assert!(plain.stdout.is_empty());
    let opened = hexvault_bytes(
        &[
            "open",
            "--cell",
            "p/a",
            "--id",
            "t",
            "--token-env",
            "TOK",
            "--tokens",
            tokens_arg,
            "--dir",
            vault.dir.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    assert!(opened.status.success(), "{}", stderr_of(&opened));
    assert_eq!(opened.stdout, data);
}

impl Fixture {
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"))
            .args(args)
            .args(["--dir", self.dir.to_str().unwrap()])
            .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// After an interrupted writer and one more writer in the cell: no `.tmp-*` file, every
    /// stream file is the one its blob names, every object of `ids` present opens whole.
    fn check_cell(&self, cell: &str, ids: &[(&str, &[u8])]) {
        for file in self.cell_files(cell) {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(!name.starts_with(".tmp-"), "{name}");
            if let Some(stem) = name.strip_suffix(".stream") {
                let object = stem.split('.').next().unwrap();
                assert!(
                    file.with_file_name(format!("{object}.blob")).exists(),
                    "orphan {name}"
                );
            }
        }
        let streams = self
            .cell_files(cell)
            .iter()
            .filter(|p| p.to_str().unwrap().ends_with(".stream"))
            .count();
        let mut large = 0;
        for (id, data) in ids {
            let opened = self.open_bytes(cell, id);
            if opened.status.success() {
                assert_eq!(&opened.stdout[..], *data, "{id}");
                large += 1;
            }
        }
        assert_eq!(streams, large, "one stream per large object");
        self.audit_ok();
    }
}

#[test]
fn kill_9_during_a_large_seal_or_reseal_leaves_whole_objects_and_a_reseal_that_resumes() {
    let vault = Fixture::new();
    let data = payload(8 * 1024 * 1024, 7);
    let input = vault.file("in.bin");
    write(&input, &data);
    let ids: Vec<String> = (0..8).map(|round| format!("k{round}")).collect();
    for (round, id) in ids.iter().enumerate() {
        let mut child = vault.spawn(&[
            "seal",
            "--cell",
            "p/a",
            "--id",
            id,
            "--in",
            input.to_str().unwrap(),
        ]);
        std::thread::sleep(std::time::Duration::from_millis(20 * round as u64));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The next writer in the cell removes what the killed one left.
        vault.ok(
            &["seal", "--cell", "p/a", "--id", &format!("after{round}")],
            b"x",
        );
        let present: Vec<(&str, &[u8])> = ids[..=round]
            .iter()
            .map(|id| (id.as_str(), &data[..]))
            .collect();
        vault.check_cell("p/a", &present);
    }

    // Reseal: kill it at several points, then run it to the end.
    vault.ok(
        &[
            "seal",
            "--cell",
            "p/b",
            "--id",
            "r1",
            "--in",
            input.to_str().unwrap(),
        ],
        b"",
    );
    vault.ok(
        &[
            "seal",
            "--cell",
            "p/b",
            "--id",
            "r2",
            "--in",
            input.to_str().unwrap(),
        ],
        b"",
    );
    vault.ok(&["rotate", "--cell", "p/b"], b"");
    for round in 0..6_u64 {
        let mut child = vault.spawn(&["reseal", "--cell", "p/b"]);
        std::thread::sleep(std::time::Duration::from_millis(25 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        vault.ok(
            &["seal", "--cell", "p/b", "--id", &format!("after{round}")],
            b"x",
        );
        vault.check_cell("p/b", &[("r1", &data[..]), ("r2", &data[..])]);
    }
    vault.ok(&["reseal", "--cell", "p/b"], b"");
    let again = json_of(&vault.ok(&["--json", "reseal", "--cell", "p/b"], b""));
    assert_eq!(again["resealed"], 0);
    vault.check_cell("p/b", &[("r1", &data[..]), ("r2", &data[..])]);
}
