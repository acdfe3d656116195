//! Failure paths an operator meets (review round 41): a large object whose stream is missing
//! is refused by `traverse` and reported by `reseal`, never treated as an ordinary object; a
//! damaged large blob does not get its intact stream deleted; `--quiet` keeps warnings and
//! results; a `session start` whose report cannot be printed leaves no live session file.
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

use common::vault::Vault;
use common::{TREZOR_PHRASE, hexvault_in, stderr_of, succeeded};

/// A vault with cells `p/a`, `p/b` and the edge `p/a -> p/b` ([`Vault`]), and the paths of
/// its cells' files.
struct Fixture(Vault);

impl core::ops::Deref for Fixture {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        &self.0
    }
}

impl Fixture {
    fn new() -> Self {
        Self(Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    /// `open --cell CELL --id ID --out OUT`.
    fn open_out(&self, cell: &str, id: &str, out: &Path) -> Output {
        let out = out.to_str().unwrap();
        self.run(&["open", "--cell", cell, "--id", id, "--out", out], b"")
    }

    /// The directory of cell `p/a` (`a`) or `p/b` (anything else).
    fn cell_dir(&self, cell: &str) -> PathBuf {
        let hex = if cell == "p/a" { "61" } else { "62" };
        self.dir.join("objects").join("70").join(hex)
    }

    /// The files of a cell's directory whose names end with `suffix`.
    fn cell_files(&self, cell: &str, suffix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.cell_dir(cell))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_str().unwrap().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Seals a 1.2 MB random payload as the large object `id` of `p/a`; returns it.
    fn seal_large(&self, id: &str) -> Vec<u8> {
        let payload: Vec<u8> = (0..1_200_000_u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let input = self.file(&format!("{id}.in"));
        std::fs::write(&input, &payload).unwrap();
        self.ok(
            &[
                "seal",
                "--cell",
                "p/a",
                "--id",
                id,
                "--in",
                input.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(self.cell_files("p/a", ".stream").len(), 1);
        payload
    }
}

fn copy_into(files: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    files
        .iter()
        .map(|f| {
            let to = dir.join(f.file_name().unwrap());
            std::fs::copy(f, &to).unwrap();
            to
        })
        .collect()
}

/// docs/formats.md ("Large object"): a missing stream is refused. `traverse` of a large
/// object whose `.stream` is missing fails (exit 1) and moves nothing, `--move` deletes
/// nothing, and `open` refuses it too (review round 41: it was traversed as an ordinary
/// object, and `--move` deleted the data-key blob).
#[test]
fn traverse_refuses_a_large_object_whose_stream_is_missing() {
    let vault = Fixture::new();
    vault.seal_large("big");
    for stream in vault.cell_files("p/a", ".stream") {
        std::fs::remove_file(stream).unwrap();
    }
    let out = vault.run(
        &[
            "traverse", "--from", "p/a", "--to", "p/b", "--id", "big", "--move",
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a large object without its stream was traversed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        vault.cell_files("p/a", ".blob").len(),
        1,
        "--move deleted the source blob of an object it could not move"
    );
    assert!(vault.cell_files("p/b", ".blob").is_empty());
    assert!(
        stderr_of(&out).contains(".stream file is missing"),
        "{}",
        stderr_of(&out)
    );
    let opened = vault.file("opened");
    let open = vault.open_out("p/a", "big", &opened);
    assert_eq!(
        open.status.code(),
        Some(1),
        "open gave a large object without its stream"
    );
    assert!(!opened.exists());
}

/// The check above opens a blob whose payload has the data-key record's length (37 bytes)
/// to tell: an ordinary object of exactly that length is not mistaken for a large one, and
/// traverses, reseals and opens as before.
#[test]
fn an_ordinary_object_of_a_data_key_records_length_still_traverses_and_reseals() {
    let vault = Fixture::new();
    let payload = [0x5a_u8; 37];
    vault.ok(&["seal", "--cell", "p/a", "--id", "small"], &payload);
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let report = vault.ok(&["reseal", "--cell", "p/a", "--json"], b"");
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["resealed"], 1, "{report}");
    vault.ok(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "small"],
        b"",
    );
    let opened = vault.ok(&["open", "--cell", "p/b", "--id", "small", "--force"], b"");
    assert_eq!(opened.stdout, payload);
}

/// docs/cli.md (`reseal`'s `failed`: damaged objects stay under their old versions, exit 1):
/// a large object whose `.stream` is missing is reported in `failed` and left as it is, so
/// its stream restored from a backup opens again beside it (review round 41: its data-key
/// blob was resealed as an ordinary object's, which the restored stream no longer fits).
#[test]
fn reseal_reports_a_large_object_whose_stream_is_missing_as_failed() {
    let vault = Fixture::new();
    let payload = vault.seal_large("big");
    let backup = copy_into(&vault.cell_files("p/a", ""), &vault.file("backup"));
    for stream in vault.cell_files("p/a", ".stream") {
        std::fs::remove_file(stream).unwrap();
    }
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let out = vault.run(&["reseal", "--cell", "p/a", "--json"], b"");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["failed"].as_array().map(Vec::len),
        Some(1),
        "a large object without its stream was reported as {report}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    // The damaged object stays as it was: its stream restored from the backup opens again.
    for file in backup
        .iter()
        .filter(|f| f.to_str().unwrap().ends_with(".stream"))
    {
        std::fs::copy(file, vault.cell_dir("p/a").join(file.file_name().unwrap())).unwrap();
    }
    let opened = vault.file("opened");
    succeeded(&["open"], vault.open_out("p/a", "big", &opened));
    assert_eq!(std::fs::read(opened).unwrap(), payload);
}

/// `open` of a damaged large blob says to restore the blob from a backup; a later writer in
/// the cell keeps the intact stream the damaged blob no longer names (with a warning, also
/// under `--quiet`), so the restored blob opens with it (review round 41: the writer deleted
/// the stream as an orphan).
#[test]
fn a_damaged_large_blob_does_not_get_its_intact_stream_deleted() {
    let vault = Fixture::new();
    let payload = vault.seal_large("big");
    let blob = vault.cell_files("p/a", ".blob").pop().unwrap();
    let good = std::fs::read(&blob).unwrap();
    let mut damaged = good.clone();
    *damaged.last_mut().unwrap() ^= 1;
    std::fs::write(&blob, &damaged).unwrap();
    let opened = vault.file("opened");
    let refused = vault.open_out("p/a", "big", &opened);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr_of(&refused).contains("restore the blob from a backup"));
    // Any later writer in the cell (here: a seal of another object): it keeps the stream,
    // and says so (under --quiet too).
    let later = vault.ok(&["--quiet", "seal", "--cell", "p/a", "--id", "other"], b"x");
    assert!(
        stderr_of(&later).contains("hexvault: warning: kept the stream file"),
        "{}",
        stderr_of(&later)
    );
    // The operator follows the advice: the blob from the backup.
    std::fs::write(&blob, &good).unwrap();
    let out = vault.open_out("p/a", "big", &opened);
    assert!(
        out.status.success(),
        "the intact stream was deleted by a later seal: {}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(opened).unwrap(), payload);
}

/// README ("`--quiet` drops the notes ...; results, warnings and errors still print") and
/// docs/cli.md (`audit verify` in mode `"vault-key"` adds a warning): the warning that the
/// public key came from the unauthenticated config.toml prints under `--quiet` too (review
/// round 41: it was a note, dropped).
#[test]
fn quiet_keeps_the_warning_that_the_vault_key_is_not_authenticated() {
    let vault = Fixture::new();
    // No mnemonic in the environment: the vault's log is verified with config.toml's key.
    let verify = |args: &[&str]| succeeded(args, hexvault_in(&vault.dir, args, b"", &[]));
    let loud = verify(&["audit", "verify"]);
    assert!(
        stderr_of(&loud).contains("not authenticated"),
        "{}",
        stderr_of(&loud)
    );
    let quiet = verify(&["--quiet", "audit", "verify"]);
    assert!(
        stderr_of(&quiet).contains("not authenticated"),
        "--quiet dropped the warning; stderr: {:?}",
        stderr_of(&quiet)
    );
}

/// `reseal`'s list of the objects it could not reseal is part of its result: printed on
/// standard output under `--quiet` too, so the final error's "(listed above)" holds (review
/// round 41: it was a note, dropped).
#[test]
fn quiet_reseal_still_names_the_objects_it_could_not_reseal() {
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "good"], b"one");
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj-x7"], b"two");
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let blob = vault
        .cell_dir("p/a")
        .join(format!("{}.blob", hex_of("obj-x7")));
    let mut bytes = std::fs::read(&blob).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let out = vault.run(&["--quiet", "reseal", "--cell", "p/a"], b"");
    assert_eq!(out.status.code(), Some(1));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(
        said.contains("obj-x7"),
        "--quiet dropped the list of objects not resealed: {said:?}"
    );
}

fn hex_of(id: &str) -> String {
    id.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A `session start` whose report cannot be printed (standard output full: the file's
/// default name holds the random session id, which the operator never learns) exits 1 and
/// leaves no live session file: any file left opens nothing (review round 41: the file, the
/// layer-2 credential, stayed live in `$XDG_RUNTIME_DIR`).
#[test]
fn a_session_start_that_fails_to_report_leaves_no_live_session_file() {
    use std::process::{Command, Stdio};
    let vault = Fixture::new();
    let runtime = vault.file("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(["session", "start", "--ttl", "1h", "--json", "--dir"])
        .arg(&vault.dir)
        .env_remove("HEXVAULT_MNEMONIC")
        .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let left: Vec<PathBuf> = std::fs::read_dir(&runtime)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    for file in &left {
        // A file left behind must at least open nothing: its session ended.
        let sealed = vault.run(
            &[
                "seal",
                "--cell",
                "p/a",
                "--id",
                "probe",
                "--session",
                file.to_str().unwrap(),
            ],
            b"x",
        );
        assert!(
            !sealed.status.success(),
            "the failed `session start` left a live session file {}",
            file.display()
        );
    }
}

/// `traverse` checks that the destination object does not exist before it reads the
/// mnemonic and again under the audit log's lock: a destination written in between (here
/// while the command waits for the phrase on standard input; in use, by a traversal that
/// finished meanwhile) is refused before any record is appended, so no traverse record is
/// left without its blob (review round 41).
#[test]
fn a_destination_written_while_traverse_waits_is_refused_without_a_record() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"payload");
    let before = traverse_records(&vault);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args([
            "traverse", "--from", "p/a", "--to", "p/b", "--id", "obj", "--dir",
        ])
        .arg(&vault.dir)
        .env_remove("HEXVAULT_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The early check has passed once the command waits for its phrase.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let source = vault.cell_files("p/a", ".blob").pop().unwrap();
    std::fs::create_dir_all(vault.cell_dir("p/b")).unwrap();
    std::fs::copy(
        &source,
        vault.cell_dir("p/b").join(source.file_name().unwrap()),
    )
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{TREZOR_PHRASE}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("exists in cell p/b already"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        traverse_records(&vault),
        before,
        "a traverse record without its blob"
    );
}

/// The number of traverse records in the vault's audit log.
fn traverse_records(vault: &Fixture) -> usize {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    String::from_utf8_lossy(&shown.stdout)
        .matches("\"traverse\"")
        .count()
}

/// Any entry at the destination blob's name is refused before the record, a dangling
/// symbolic link included (planted by whoever can write the vault directory; `Path::exists`
/// took it for nothing, and only the blob's write after the record found the name taken:
/// review round 45).
#[test]
fn a_dangling_link_at_the_destination_is_refused_before_any_traverse_record() {
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"payload");
    let before = traverse_records(&vault);
    let dest = vault.cell_dir("p/b");
    std::fs::create_dir_all(&dest).unwrap();
    // hex("obj") = 6f626a
    std::os::unix::fs::symlink("/nonexistent/hexvault-review45", dest.join("6f626a.blob")).unwrap();
    let out = vault.run(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("exists in cell p/b already"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        traverse_records(&vault),
        before,
        "a traverse record without its blob (stderr: {})",
        stderr_of(&out)
    );
}

/// The destination cell's directory is made, and the blob's temporary file created in it,
/// before the edge appends the traverse record: a cell directory that is a dangling
/// symbolic link (or cannot be made or written) fails the command with no record (review
/// round 47: only the blob's name was checked, and the record came before the directory
/// failed).
#[test]
fn a_dangling_link_as_the_destination_cell_directory_leaves_no_traverse_record() {
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"payload");
    let before = traverse_records(&vault);
    let cell_b = vault.cell_dir("p/b");
    assert!(!cell_b.exists());
    std::os::unix::fs::symlink("/nonexistent/hexvault-cell", &cell_b).unwrap();
    let out = vault.run(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("creating a cell directory"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        traverse_records(&vault),
        before,
        "a traverse record without its blob"
    );
    // The source is untouched and still traverses once the directory is repaired.
    std::fs::remove_file(&cell_b).unwrap();
    vault.ok(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    assert_eq!(traverse_records(&vault), before + 1);
}

/// docs/cli.md: a `.stream` file that fails to authenticate is refused without a record of
/// its own; `traverse` reads the source stream through once before the edge records the
/// crossing (review round 58; until then the traversal of the data key was recorded first, a
/// limit review round 48 had left): the command fails (exit 1), nothing is written at the
/// destination, the source is kept, and no traverse record is appended.
#[test]
fn a_damaged_source_stream_fails_traverse_before_its_traverse_record() {
    let vault = Fixture::new();
    vault.seal_large("big");
    let stream = vault.cell_files("p/a", ".stream").pop().unwrap();
    let mut bytes = std::fs::read(&stream).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&stream, &bytes).unwrap();
    let before = traverse_records(&vault);
    let out = vault.run(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stream.exists(), "the source stream is kept");
    assert!(vault.cell_files("p/b", ".blob").is_empty());
    assert!(vault.cell_files("p/b", ".stream").is_empty());
    assert_eq!(
        traverse_records(&vault),
        before,
        "a traversal of a damaged stream was recorded"
    );
}
