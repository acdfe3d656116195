//! End-to-end tests of the `hexvault` binary: published vectors through the command line,
//! exit codes, and secrets never printed without `--show-secret`.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::*;

const TREZOR_SEED: &str = "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04";

/// `hexvault derive --curve CURVE --path PATH --seed-hex-stdin --json [--show-secret]` with
/// `seed` (hex) on standard input: the JSON report.
fn derive_from_seed(curve: &str, path: &str, seed: &str, show_secret: bool) -> Value {
    let mut args = vec![
        "derive",
        "--curve",
        curve,
        "--path",
        path,
        "--seed-hex-stdin",
        "--json",
    ];
    if show_secret {
        args.push("--show-secret");
    }
    json_of(&hexvault(&args, seed, &[]))
}

#[test]
fn from_entropy_matches_trezor_vectors_in_several_languages() {
    let vectors: Value =
        serde_json::from_str(include_str!("../../mnemonic/tests/data/bip39-trezor.json")).unwrap();
    for (key, cli_name) in [
        ("english", "english"),
        ("japanese", "japanese"),
        ("chinese_simplified", "chinese-simplified"),
        ("spanish", "spanish"),
    ] {
        for case in vectors["cases"][key].as_array().unwrap().iter().take(3) {
            let entropy = case["entropy"].as_str().unwrap();
            let output = hexvault(
                &["mnemonic", "from-entropy", "--language", cli_name, "--json"],
                entropy,
                &[],
            );
            let report = json_of(&output);
            // The Japanese vectors separate words with an ideographic space.
            let expected = case["mnemonic"].as_str().unwrap().replace('\u{3000}', " ");
            assert_eq!(
                report["mnemonic"].as_str().unwrap(),
                expected,
                "{key} {entropy}"
            );
        }
    }
}

#[test]
fn seed_needs_show_secret_and_then_matches_the_vector() {
    let refused = hexvault(&["seed"], TREZOR_PHRASE, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());

    let output = hexvault(
        &[
            "seed",
            "--passphrase-env",
            "PASS",
            "--show-secret",
            "--json",
        ],
        TREZOR_PHRASE,
        &[("PASS", "TREZOR")],
    );
    assert_eq!(json_of(&output)["seed"], TREZOR_SEED);

    // The phrase may also come from the environment or a file.
    let from_env = hexvault(
        &["seed", "--passphrase-env", "PASS", "--show-secret"],
        "",
        &[("PASS", "TREZOR"), ("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
    );
    assert_eq!(stdout_of(&from_env).trim(), TREZOR_SEED);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("phrase.txt");
    std::fs::write(&file, TREZOR_PHRASE).unwrap();
    let from_file = hexvault(
        &[
            "seed",
            "--mnemonic-file",
            file.to_str().unwrap(),
            "--passphrase-env",
            "PASS",
            "--show-secret",
        ],
        "",
        &[("PASS", "TREZOR")],
    );
    assert_eq!(stdout_of(&from_file).trim(), TREZOR_SEED);
}

#[test]
fn missing_passphrase_variable_is_a_usage_error() {
    let output = hexvault(
        &[
            "seed",
            "--passphrase-env",
            "HEXVAULT_TEST_UNSET_VAR",
            "--show-secret",
        ],
        TREZOR_PHRASE,
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn derive_ed25519_matches_slip10_vectors() {
    let vectors: Value = serde_json::from_str(include_str!(
        "../../derivation/tests/data/slip10-ed25519.json"
    ))
    .unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let path = case["path"].as_str().unwrap();
        let seed = case["seed"].as_str().unwrap();
        let report = derive_from_seed("ed25519", path, seed, false);
        assert_eq!(report["path"], path);
        assert_eq!(report["public_key"], case["public_key"]);
        for secret in ["private_key", "chain_code", "xprv", "xpub"] {
            assert!(
                report.get(secret).is_none(),
                "{secret} printed without --show-secret"
            );
        }

        let secret = derive_from_seed("ed25519", path, seed, true);
        assert_eq!(secret["private_key"], case["private_key"]);
        assert_eq!(secret["chain_code"], case["chain_code"]);
    }
}

#[test]
fn derive_secp256k1_matches_bip32_vectors() {
    let vectors: Value = serde_json::from_str(include_str!(
        "../../derivation/tests/data/bip32-secp256k1.json"
    ))
    .unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let path = case["path"].as_str().unwrap();
        let seed = case["seed"].as_str().unwrap();
        let report = derive_from_seed("secp256k1", path, seed, true);
        // Vector 4 publishes only xprv and xpub; compare every field a case has.
        assert!(case.get("xprv").is_some() && case.get("xpub").is_some());
        for field in ["public_key", "chain_code", "private_key", "xprv", "xpub"] {
            if let Some(expected) = case.get(field) {
                assert_eq!(&report[field], expected, "{field} at {path}");
            }
        }
        let report = derive_from_seed("secp256k1", path, seed, false);
        for secret in ["private_key", "chain_code", "xprv", "xpub"] {
            assert!(
                report.get(secret).is_none(),
                "{secret} printed without --show-secret (an xpub carries the chain code)"
            );
        }
        if let Some(public_key) = case.get("public_key") {
            assert_eq!(&report["public_key"], public_key);
        }
    }
}

#[test]
fn derive_from_a_phrase_uses_its_seed() {
    // Trezor english vector 0: its BIP-32 master xprv is published beside the seed.
    let output = hexvault(
        &[
            "derive",
            "--curve",
            "secp256k1",
            "--path",
            "m",
            "--passphrase-env",
            "PASS",
            "--show-secret",
            "--json",
        ],
        TREZOR_PHRASE,
        &[("PASS", "TREZOR")],
    );
    assert_eq!(
        json_of(&output)["xprv"],
        "xprv9s21ZrQH143K3h3fDYiay8mocZ3afhfULfb5GX8kCBdno77K4HiA15Tg23wpbeF1pLfs1c5SPmYHrEpTuuRhxMwvKDwqdKiGJS9XFKzUsAF"
    );
}

#[test]
fn bad_paths_and_non_hardened_ed25519_steps_are_refused() {
    let malformed = hexvault(
        &[
            "derive",
            "--curve",
            "ed25519",
            "--path",
            "m/74'/x",
            "--seed-hex-stdin",
        ],
        "000102030405060708090a0b0c0d0e0f",
        &[],
    );
    assert_eq!(malformed.status.code(), Some(2));
    let overflow = hexvault(
        &[
            "derive",
            "--curve",
            "ed25519",
            "--path",
            "m/2147483648'",
            "--seed-hex-stdin",
        ],
        "000102030405060708090a0b0c0d0e0f",
        &[],
    );
    assert_eq!(overflow.status.code(), Some(2));
    let normal_step = hexvault(
        &[
            "derive",
            "--curve",
            "ed25519",
            "--path",
            "m/0",
            "--seed-hex-stdin",
        ],
        "000102030405060708090a0b0c0d0e0f",
        &[],
    );
    assert_eq!(normal_step.status.code(), Some(1));
    assert!(normal_step.stdout.is_empty());
}

#[test]
fn mnemonic_new_generates_valid_distinct_phrases() {
    let first = json_of(&hexvault(
        &["mnemonic", "new", "--words", "12", "--json"],
        "",
        &[],
    ));
    let second = json_of(&hexvault(
        &["mnemonic", "new", "--words", "12", "--json"],
        "",
        &[],
    ));
    assert_ne!(first["mnemonic"], second["mnemonic"]);
    let phrase = first["mnemonic"].as_str().unwrap();
    assert_eq!(phrase.split(' ').count(), 12);
    let check = hexvault(&["mnemonic", "check", "--json"], phrase, &[]);
    assert_eq!(json_of(&check)["valid"], true);

    let french = json_of(&hexvault(
        &[
            "mnemonic",
            "new",
            "--words",
            "18",
            "--language",
            "french",
            "--json",
        ],
        "",
        &[],
    ));
    assert_eq!(french["language"], "french");
    assert_eq!(french["words"], 18);

    let bad_count = hexvault(&["mnemonic", "new", "--words", "13"], "", &[]);
    assert_eq!(bad_count.status.code(), Some(2));
    let bad_language = hexvault(&["mnemonic", "new", "--language", "klingon"], "", &[]);
    assert_eq!(bad_language.status.code(), Some(2));
}

#[test]
fn mnemonic_check_says_what_is_wrong() {
    let bad_checksum = hexvault(
        &["mnemonic", "check"],
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon",
        &[],
    );
    assert_eq!(bad_checksum.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad_checksum.stderr);
    assert!(stderr.contains("checksum"), "{stderr}");

    let typo = hexvault(
        &["mnemonic", "check"],
        "abandon abandon abandon abandon abandon abandn abandon abandon abandon abandon abandon about",
        &[],
    );
    assert_eq!(typo.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(stderr.contains("word 6"), "{stderr}");
    // Piped in, not typed at the prompt: the "did you mean" word (a word of the secret) is
    // not printed, since such errors end up in logs (tests/secret_echo.rs).
    assert!(
        !stderr.contains("did you mean"),
        "hint printed for a piped phrase: {stderr}"
    );
    assert!(
        !stderr.contains("abandn"),
        "the rejected word was echoed: {stderr}"
    );

    let short = hexvault(&["mnemonic", "check"], "abandon about", &[]);
    assert_eq!(short.status.code(), Some(1));
    let short_json = hexvault(&["mnemonic", "check", "--json"], "abandon about", &[]);
    assert_eq!(short_json.status.code(), Some(1));
    let verdict: Value = serde_json::from_slice(&short_json.stdout).unwrap();
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["error"]
            .as_str()
            .unwrap()
            .contains("12, 15, 18, 21 or 24")
    );
}

#[test]
fn bad_usage_exits_with_2() {
    assert_eq!(
        hexvault(&["no-such-command"], "", &[]).status.code(),
        Some(2)
    );
    assert_eq!(
        hexvault(&["mnemonic", "from-entropy", "abc"], "", &[])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        hexvault(&["derive", "--curve", "ed448", "--path", "m"], "", &[])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn encrypt_then_decrypt_round_trips_and_refuses_the_wrong_context() {
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
    let secret = "postgres://app:s3cret@db/app";
    let sealed = hexvault(&["encrypt", "--aad", "service=billing"], secret, &env);
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let credential = stdout_of(&sealed);
    let parsed: Value = serde_json::from_str(&credential).unwrap();
    assert_eq!(parsed["key_version"], 2);
    assert!(!credential.contains("s3cret"));

    let opened = hexvault(&["decrypt", "--aad", "service=billing"], &credential, &env);
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(stdout_of(&opened), secret);

    let as_json = hexvault(
        &["decrypt", "--aad", "service=billing", "--json"],
        &credential,
        &env,
    );
    assert_eq!(json_of(&as_json)["plaintext"], secret);

    // Wrong context, wrong phrase, tampered credential: exit 1 and nothing on stdout.
    let wrong_aad = hexvault(
        &["decrypt", "--aad", "service=reporting"],
        &credential,
        &env,
    );
    assert_eq!(wrong_aad.status.code(), Some(1));
    assert!(wrong_aad.stdout.is_empty());
    let other_phrase = hexvault(
        &["decrypt", "--aad", "service=billing"],
        &credential,
        &[(
            "HEXVAULT_MNEMONIC",
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
        )],
    );
    assert_eq!(other_phrase.status.code(), Some(1));
    assert!(other_phrase.stdout.is_empty());
    let mut tampered = parsed.clone();
    let data = tampered["data"].as_str().unwrap().to_owned();
    let flipped = if data.starts_with('A') { "B" } else { "A" };
    tampered["data"] = Value::String(format!("{flipped}{}", &data[1..]));
    let tampered = hexvault(
        &["decrypt", "--aad", "service=billing"],
        &tampered.to_string(),
        &env,
    );
    assert_eq!(tampered.status.code(), Some(1));
    assert!(tampered.stdout.is_empty());

    // The same phrase with a passphrase is a different key.
    let with_passphrase = hexvault(
        &[
            "decrypt",
            "--aad",
            "service=billing",
            "--passphrase-env",
            "PASS",
        ],
        &credential,
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("PASS", "TREZOR")],
    );
    assert_eq!(with_passphrase.status.code(), Some(1));
}

#[test]
fn legacy_credentials_are_refused_with_a_migration_message() {
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
    let sealed = hexvault(&["encrypt"], "x", &env);
    let mut credential: Value = serde_json::from_slice(&sealed.stdout).unwrap();
    credential["key_version"] = Value::from(1);
    let refused = hexvault(&["decrypt"], &credential.to_string(), &env);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(stderr.contains("migrat"), "{stderr}");
}

#[test]
fn encrypt_needs_a_phrase_outside_stdin_and_files_work() {
    let no_phrase = hexvault(&["encrypt"], "data", &[]);
    assert_eq!(no_phrase.status.code(), Some(2));
    assert!(no_phrase.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let phrase = dir.path().join("phrase.txt");
    let plain = dir.path().join("plain.bin");
    let sealed = dir.path().join("cred.json");
    let out = dir.path().join("out.bin");
    std::fs::write(&phrase, TREZOR_PHRASE).unwrap();
    let bytes: Vec<u8> = (0..=255_u8).cycle().take(10_000).collect();
    std::fs::write(&plain, &bytes).unwrap();
    let encrypted = hexvault(
        &[
            "encrypt",
            "--mnemonic-file",
            phrase.to_str().unwrap(),
            "--in",
            plain.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert!(
        encrypted.status.success(),
        "{}",
        String::from_utf8_lossy(&encrypted.stderr)
    );
    std::fs::write(&sealed, &encrypted.stdout).unwrap();
    let decrypted = hexvault(
        &[
            "decrypt",
            "--mnemonic-file",
            phrase.to_str().unwrap(),
            "--in",
            sealed.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        "",
        &[],
    );
    assert_eq!(json_of(&decrypted)["bytes"], 10_000);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
}

#[test]
fn envelope_pack_unpack_round_trips_and_rejects_damage() {
    let document = br#"{"user":"alice","roles":["admin","ops"],"active":true}"#.repeat(100);
    // Compression is opt-in (ADR 0034): without --compress the bytes are stored raw.
    let plain = hexvault_bytes(&["envelope", "pack"], &document, &[]);
    assert!(plain.status.success());
    assert!(plain.stdout.len() > document.len());
    let packed = hexvault_bytes(&["envelope", "pack", "--compress"], &document, &[]);
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    assert!(
        packed.stdout.len() < document.len() / 4,
        "compressible input was not compressed with --compress"
    );
    let unpacked = hexvault_bytes(&["envelope", "unpack"], &packed.stdout, &[]);
    assert!(unpacked.status.success());
    assert_eq!(unpacked.stdout, document);

    let mut damaged = packed.stdout.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    let refused = hexvault_bytes(&["envelope", "unpack"], &damaged, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());

    // --json prints statistics and needs --out for the bytes.
    assert_eq!(
        hexvault_bytes(&["envelope", "pack", "--json"], &document, &[])
            .status
            .code(),
        Some(2)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.hxev");
    let stats = hexvault_bytes(
        &[
            "envelope",
            "pack",
            "--compress",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        &document,
        &[],
    );
    let report = json_of(&stats);
    assert_eq!(report["original_len"], document.len());
    assert_eq!(report["compressed"], true);
    assert_eq!(
        report["envelope_len"],
        std::fs::metadata(&out).unwrap().len()
    );
    assert!(report["ratio"].as_f64().unwrap() > 4.0);
    assert_eq!(report["checksum"].as_str().unwrap().len(), 16);
    let back = dir.path().join("doc.json");
    let unpacked = hexvault(
        &[
            "envelope",
            "unpack",
            "--in",
            out.to_str().unwrap(),
            "--out",
            back.to_str().unwrap(),
            "--json",
        ],
        "",
        &[],
    );
    assert_eq!(json_of(&unpacked)["original_len"], document.len());
    assert_eq!(std::fs::read(&back).unwrap(), document);

    // The default (no compression), with a label kept in the header.
    let raw = dir.path().join("raw.hxev");
    let stats = hexvault_bytes(
        &[
            "envelope",
            "pack",
            "--content-type",
            "application/json",
            "--json",
            "--out",
            raw.to_str().unwrap(),
        ],
        &document,
        &[],
    );
    let report = json_of(&stats);
    assert_eq!(report["compressed"], false);
    assert_eq!(report["content_type"], "application/json");
    assert!(report["envelope_len"].as_u64().unwrap() > document.len() as u64);
    let bad_label = hexvault_bytes(&["envelope", "pack", "--content-type", ""], &document, &[]);
    assert_eq!(bad_label.status.code(), Some(2));

    // Review round 50: an envelope whose checks were stripped (flag cleared, check bytes
    // zeroed) and whose content was edited is refused, with nothing written.
    let plain = dir.path().join("plain.hxev");
    let packed = hexvault_bytes(
        &["envelope", "pack", "--out", plain.to_str().unwrap()],
        b"amount=100",
        &[],
    );
    assert!(packed.status.success());
    let mut stripped = std::fs::read(&plain).unwrap();
    stripped[5] = 0;
    stripped[16..32].fill(0);
    let last = stripped.len() - 2;
    stripped[last] ^= 0x20;
    let stripped_path = dir.path().join("stripped.hxev");
    std::fs::write(&stripped_path, &stripped).unwrap();
    let edited = dir.path().join("edited.json");
    let refused = hexvault(
        &[
            "envelope",
            "unpack",
            "--in",
            stripped_path.to_str().unwrap(),
            "--out",
            edited.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("carries no checksum"), "{stderr}");
    assert!(
        !edited.exists(),
        "an unverified envelope's content was written"
    );
}

#[test]
fn demo_runs_and_prints_no_secret() {
    let output = hexvault(&["demo", "--json"], "", &[]);
    let report = json_of(&output);
    assert_eq!(report["credential_opened"], true);
    assert_eq!(report["credential_wrong_context_refused"], true);
    assert_eq!(report["envelope_round_trip"], true);
    assert_eq!(report["keys"].as_array().unwrap().len(), 3);
    assert_eq!(report["audit_records"], 3);
    assert_eq!(report["service_device_path"], "m/74'/2'/3'/0'");
    assert_eq!(report["service_cache_hits"], 1);
    assert_eq!(report["service_seeds_zeroized"], 1);
    assert_eq!(report["audit_verified_with_public_key"], true);
    assert_eq!(report["cells_layers_opened"], 3);
    assert_eq!(report["cells_wrong_cell_refused"], true);
    assert_eq!(report["cells_ended_session_refused"], true);
    assert_eq!(report["cells_audit_records"], 6);
    assert_eq!(report["cells_blob_lens"].as_array().unwrap().len(), 3);
    // The full pipeline through the facade, its log read back from the verified file.
    assert_eq!(report["pipeline_opened_in_b"], true);
    assert_eq!(report["pipeline_undeclared_route_refused"], true);
    assert_eq!(report["pipeline_audit_verified"], true);
    assert_eq!(report["pipeline_audit_records"], 3);
    assert_eq!(report["pipeline_audit_anchor_sequence"], 2);
    let events: Vec<&str> = report["pipeline_audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert!(events[0].starts_with("#0 traverse: tenant-7/inbox@layer1:v1 -> tenant-8/archive@layer1:v1, route tenant-7-to-tenant-8, success"), "{events:?}");
    assert!(
        events[1].starts_with("#1 open: tenant-8/archive@layer1"),
        "{events:?}"
    );
    assert!(
        events[2].contains("route tenant-7-to-tenant-9, failure:policydenied"),
        "{events:?}"
    );
    let public = report["pipeline_audit_public_key"].as_str().unwrap();
    assert_eq!(public.len(), 66);
    let text = stdout_of(&output);
    assert!(
        !text.contains("mnemonic\":\""),
        "the demo printed its phrase"
    );
    let plain = hexvault(&["demo"], "", &[]);
    assert!(plain.status.success());
    assert!(stdout_of(&plain).contains("m/74'/2'/2'/0'"));
    assert!(stdout_of(&plain).contains("#2 denied: - -> -, route tenant-7-to-tenant-9"));
}

/// The golden credential of the facade's tests, sealed with `hexvault::keys`, opens through
/// the command line's service path: both derive the same key at m/74'/2'/0'/0'.
#[test]
fn decrypt_opens_the_golden_credential() {
    let output = hexvault(
        &[
            "decrypt",
            "--aad",
            "hexvault/tests/golden",
            "--passphrase-env",
            "PASS",
        ],
        include_str!("../../hexvault/tests/data/credential-v2-trezor0.json"),
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("PASS", "TREZOR")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout_of(&output),
        "hexvault golden credential: keep decrypting forever"
    );
}

#[test]
fn a_phrase_that_cannot_be_written_is_an_error() {
    // Standard output closed: Rust's stdout would silently drop the phrase.
    let closed = Command::new("sh")
        .args(["-c", "exec \"$0\" mnemonic new >&-"])
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .output()
        .unwrap();
    // (The Rust runtime reopens a closed standard output on /dev/null before main.)
    assert_eq!(closed.status.code(), Some(1), "{closed:?}");
    assert!(String::from_utf8_lossy(&closed.stderr).contains("would be lost"));
    let null = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(["mnemonic", "new"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(null.status.code(), Some(1), "{null:?}");
    // Standard output failing (no space left).
    let full = Command::new("sh")
        .args(["-c", "exec \"$0\" mnemonic new --json > /dev/full"])
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(1), "{full:?}");
}

#[test]
fn mnemonic_new_out_writes_a_private_file_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phrase.txt");
    let path_text = path.to_str().unwrap();
    let output = hexvault(&["mnemonic", "new", "--out", path_text], "", &[]);
    assert!(output.status.success(), "{output:?}");
    let phrase = std::fs::read_to_string(&path).unwrap();
    assert_eq!(phrase.split_whitespace().count(), 24);
    assert!(
        !stdout_of(&output).contains(phrase.trim()),
        "the phrase also went to standard output"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let check = hexvault(
        &["mnemonic", "check", "--mnemonic-file", path_text],
        "",
        &[],
    );
    assert!(check.status.success(), "{check:?}");
    // A second run must not replace the phrase.
    let again = hexvault(&["mnemonic", "new", "--out", path_text], "", &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), phrase);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left"
    );
}

#[test]
fn a_phrase_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phrase.txt");
    std::fs::write(&path, TREZOR_PHRASE).unwrap();
    let args = [
        "mnemonic",
        "check",
        "--mnemonic-file",
        path.to_str().unwrap(),
    ];
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let shared = hexvault(&args, "", &[]);
    assert!(shared.status.success());
    assert!(String::from_utf8_lossy(&shared.stderr).contains("chmod 600"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let private = hexvault(&args, "", &[]);
    assert!(private.status.success());
    assert!(private.stderr.is_empty(), "{private:?}");
}

#[test]
fn usage_errors_never_repeat_a_phrase_typed_as_arguments() {
    let words: Vec<&str> = TREZOR_PHRASE.split(' ').collect();
    for prefix in [
        &["mnemonic", "check"][..],
        &[][..],
        &["seed"][..],
        &["--json", "derive", "--curve", "ed25519", "--path", "m/0'"][..],
    ] {
        let mut args = prefix.to_vec();
        args.extend(&words);
        let output = hexvault(&args, "", &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for word in ["abandon", "about"] {
            assert!(!stderr.contains(word), "{args:?} echoed {word}: {stderr}");
        }
        assert!(stderr.contains("[REDACTED]"), "{stderr}");
    }
    // Entropy is the secret itself: it is no longer taken as an argument, and not echoed.
    let entropy = "00000000000000000000000000000000";
    let output = hexvault(&["mnemonic", "from-entropy", entropy], "", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&output.stderr).contains(entropy));
}

#[test]
fn errors_under_json_are_json_on_stderr_with_the_same_exit_codes() {
    let bad_phrase = hexvault(&["--json", "seed", "--show-secret"], "abandon about", &[]);
    assert_eq!(bad_phrase.status.code(), Some(1));
    assert!(bad_phrase.stdout.is_empty());
    let error: Value = serde_json::from_slice(&bad_phrase.stderr).unwrap();
    assert_eq!(error["kind"], "mnemonic");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("12, 15, 18, 21 or 24")
    );

    let usage = hexvault(
        &["derive", "--curve", "ed448", "--path", "m", "--json"],
        "",
        &[],
    );
    assert_eq!(usage.status.code(), Some(2));
    let error: Value = serde_json::from_slice(&usage.stderr).unwrap();
    assert_eq!(error["kind"], "usage");

    let missing = hexvault(
        &[
            "--json",
            "seed",
            "--show-secret",
            "--mnemonic-file",
            "/nonexistent/phrase",
        ],
        "",
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&missing.stderr).unwrap();
    assert_eq!(error["kind"], "io");
    // The path is not repeated: a phrase typed in its place must not be echoed.
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("the file given for the mnemonic"),
        "{message}"
    );
    assert!(!message.contains("/nonexistent/phrase"), "{message}");
}

#[test]
fn passphrase_prompt_without_a_terminal_says_so() {
    // setsid: a new session has no controlling terminal, as in CI or under cron.
    let output = Command::new("setsid")
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .args(["seed", "--show-secret", "--passphrase-prompt"])
        .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(stderr.contains("--passphrase-env"), "{stderr}");
}

#[test]
fn a_phrase_typed_at_a_terminal_is_not_echoed() {
    let (ok, screen) = type_at_terminal(TREZOR_PHRASE);
    assert!(ok);
    assert!(screen.contains("valid: 12-word english phrase"), "{screen}");
    assert!(
        !screen.contains("abandon"),
        "the phrase was echoed: {screen}"
    );
}

/// The person at the terminal who typed a phrase with a typo gets the "did you mean" word
/// (unlike a phrase from a file, the environment or a pipe: tests/secret_echo.rs).
#[test]
fn a_phrase_typed_at_a_terminal_gets_the_did_you_mean_word() {
    let typo = "abandon abandon abandon abandon abandon abandn abandon abandon abandon abandon abandon about";
    let (ok, screen) = type_at_terminal(typo);
    assert!(!ok);
    assert!(screen.contains("word 6"), "{screen}");
    assert!(screen.contains("did you mean \"abandon\""), "{screen}");
    assert!(
        !screen.contains("abandn"),
        "the typed word was echoed: {screen}"
    );
}

/// Runs `hexvault mnemonic check` on a real pseudo-terminal (through `script`) and types
/// `phrase` at its prompt; returns whether it succeeded and everything the terminal showed.
fn type_at_terminal(phrase: &str) -> (bool, String) {
    use std::io::{Read, Write};
    // `script` gives the command a real pseudo-terminal: what the terminal would echo comes
    // back on script's standard output.
    let mut child = Command::new("script")
        .args(["-qec"])
        .arg(format!("{} mnemonic check", env!("CARGO_BIN_EXE_hexvault")))
        .arg("/dev/null")
        .env_remove("HEXVAULT_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    // Type only once the prompt is on the screen (and a moment later, once echo is off),
    // as a person would.
    while !String::from_utf8_lossy(&seen).contains("(not echoed): ") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "no prompt: {seen:?}");
        seen.push(byte[0]);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{phrase}").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let ok = child.wait().unwrap().success();
    (ok, String::from_utf8_lossy(&seen).into_owned())
}
