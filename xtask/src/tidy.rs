//! The tidy step: rules about the shape of the code base that no compiler checks.
//!
//! - Dependency edges between hexvault crates point down the crate map of
//!   `docs/architecture.md`; an upward or sideways edge fails the build. A new crate must be
//!   added to [`ALLOWED_EDGES`] before it can build in CI, which forces the map to be updated.
//! - Every `.rs` file opens with a `//!` line saying what it is.
//! - Every workspace crate inherits the workspace lints (`[lints] workspace = true`); the FFI
//!   crate (`hexvault-ffi`, by name) alone has its own table: the workspace's lints with
//!   `unsafe_code = "deny"` instead of "forbid", checked line by line.
//! - Every ADR has a `Status:` line and an entry in `docs/adr/README.md`.
//! - Every publishable crate carries description, readme, keywords, categories, license and
//!   repository, so that `cargo package` makes a complete package of it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Every library crate below the facade, bottom up, then the facade itself (last).
const LIBRARIES_AND_FACADE: &[&str] = &[
    "hexvault-mnemonic",
    "hexvault-shares",
    "hexvault-derivation",
    "hexvault-envelope",
    "hexvault-aead",
    "hexvault-audit",
    "hexvault-audit-postgres",
    "hexvault-keys",
    "hexvault-cells",
    "hexvault-edges",
    "hexvault-service",
    "hexvault",
];

/// Every library crate below the facade.
const LIBRARY_CRATES: &[&str] = match LIBRARIES_AND_FACADE.split_last() {
    Some((_facade, libraries)) => libraries,
    None => &[],
};

/// For each workspace package, the hexvault packages it may depend on (any dependency kind
/// unless [`DEV_ONLY_EDGES`] names the edge). Everything else named `hexvault*` is
/// forbidden.
const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    ("hexvault-mnemonic", &[]),
    ("hexvault-derivation", &["hexvault-mnemonic"]),
    // Derivation is a dev-dependency only: the SLIP-0039 vectors' BIP-32 master xprv.
    (
        "hexvault-shares",
        &["hexvault-mnemonic", "hexvault-derivation"],
    ),
    ("hexvault-envelope", &[]),
    ("hexvault-aead", &[]),
    ("hexvault-audit", &[]),
    // The audit log on PostgreSQL: the audit primitive stays free of network dependencies.
    (
        "hexvault-audit-postgres",
        &["hexvault-audit", "hexvault-cells"],
    ),
    (
        "hexvault-keys",
        &[
            "hexvault-mnemonic",
            "hexvault-derivation",
            "hexvault-aead",
            "hexvault-audit",
        ],
    ),
    (
        "hexvault-cells",
        &[
            "hexvault-aead",
            "hexvault-envelope",
            "hexvault-audit",
            "hexvault-derivation",
            "hexvault-keys",
        ],
    ),
    ("hexvault-edges", &["hexvault-cells", "hexvault-audit"]),
    (
        "hexvault-service",
        &[
            "hexvault-mnemonic",
            "hexvault-shares",
            "hexvault-derivation",
            "hexvault-aead",
            "hexvault-keys",
        ],
    ),
    ("hexvault", LIBRARY_CRATES),
    ("hexvault-ffi", &["hexvault"]),
    // `hexvault audit verify|show --postgres-url-*` reads logs kept in PostgreSQL.
    ("hexvault-cli", &["hexvault", "hexvault-audit-postgres"]),
    // Benches measure every layer beside its raw primitive, so they may reach any library.
    ("hexvault-benches", LIBRARIES_AND_FACADE),
    ("xtask", &[]),
];

/// Runs every tidy rule and reports all violations at once.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    let metadata = metadata(root)?;
    check_edges(&metadata, &mut problems);
    check_lints(&metadata, &mut problems);
    check_package_metadata(&metadata, &mut problems);
    check_adrs(&root.join("docs/adr"), &mut problems);
    check_no_panic_abort(root, &mut problems);
    for dir in ["crates", "xtask", "benches", "fuzz/fuzz_targets"] {
        check_doc_lines(&root.join(dir), root, &mut problems);
    }
    if problems.is_empty() {
        println!("tidy: dependency edges, `//!` headers and workspace lints are in order");
        Ok(())
    } else {
        for problem in &problems {
            eprintln!("tidy: {problem}");
        }
        Err(format!(
            "step `tidy`: {} problem(s); fix them and rerun `cargo xtask tidy`",
            problems.len()
        ))
    }
}

fn metadata(root: &Path) -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .map_err(|error| format!("cannot run `cargo metadata`: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("`cargo metadata` printed unreadable JSON: {error}"))
}

fn workspace_packages(metadata: &Value) -> impl Iterator<Item = &Value> {
    metadata
        .get("packages")
        .and_then(Value::as_array)
        .map(|packages| packages.iter())
        .into_iter()
        .flatten()
}

/// Every ADR (`docs/adr/NNNN-*.md`) has a `Status:` line among its first lines and is listed
/// in the index, `docs/adr/README.md`, by file name.
fn check_adrs(dir: &Path, problems: &mut Vec<String>) {
    let index = fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if index.is_empty() {
        problems.push(format!(
            "{}: the ADR index README.md is missing",
            dir.display()
        ));
    }
    let Ok(entries) = fs::read_dir(dir) else {
        problems.push(format!("{}: cannot read the ADR folder", dir.display()));
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            name.len() > 5
                && name.ends_with(".md")
                && name.bytes().take(4).all(|byte| byte.is_ascii_digit())
        })
        .collect();
    names.sort();
    for name in names {
        let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
        let has_status = text.lines().take(6).any(|line| {
            line.trim_start()
                .to_ascii_lowercase()
                .starts_with("status:")
        });
        if !has_status {
            problems.push(format!(
                "docs/adr/{name}: no `Status:` line under the title (Proposed, Accepted, \
                 Amended or Superseded, with a date)"
            ));
        }
        if !index.contains(&format!("({name})")) {
            problems.push(format!("docs/adr/{name}: not listed in docs/adr/README.md"));
        }
    }
}

/// Every publishable package (not `publish = false`) carries what a registry page needs:
/// description, readme, keywords, categories, license and repository.
fn check_package_metadata(metadata: &Value, problems: &mut Vec<String>) {
    for package in workspace_packages(metadata) {
        let name = package.get("name").and_then(Value::as_str).unwrap_or("?");
        let unpublished = package
            .get("publish")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        if unpublished {
            continue;
        }
        for field in ["description", "readme", "license", "repository"] {
            let present = package
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|value| !value.trim().is_empty());
            if !present {
                problems.push(format!(
                    "{name}: publishable but its manifest has no `{field}`"
                ));
            }
        }
        for field in ["keywords", "categories"] {
            let present = package
                .get(field)
                .and_then(Value::as_array)
                .is_some_and(|values| !values.is_empty());
            if !present {
                problems.push(format!(
                    "{name}: publishable but its manifest has no `{field}`"
                ));
            }
        }
    }
}

/// Edges of [`ALLOWED_EDGES`] allowed only as dev-dependencies (for tests), never as a
/// normal or build dependency: a sideways runtime edge they must not become (review round
/// 29: the kind was not checked).
const DEV_ONLY_EDGES: &[(&str, &str)] = &[
    ("hexvault-shares", "hexvault-derivation"),
    // The tests of cells vaults sharing one PostgreSQL log (review round 61).
    ("hexvault-audit-postgres", "hexvault-cells"),
];

fn check_edges(metadata: &Value, problems: &mut Vec<String>) {
    for package in workspace_packages(metadata) {
        let name = package.get("name").and_then(Value::as_str).unwrap_or("?");
        let Some((_, allowed)) = ALLOWED_EDGES.iter().find(|(known, _)| *known == name) else {
            problems.push(format!(
                "package `{name}` is not in the crate map: add it to ALLOWED_EDGES in \
                 xtask/src/tidy.rs and to docs/architecture.md"
            ));
            continue;
        };
        let dependencies = package
            .get("dependencies")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for dependency in dependencies {
            let Some(target) = dependency.get("name").and_then(Value::as_str) else {
                continue;
            };
            // A dev-dependency of a crate on itself (to turn on its `test-support` feature
            // in its own integration tests) is not an edge between crates.
            if target == name {
                continue;
            }
            if target.starts_with("hexvault") && !allowed.contains(&target) {
                problems.push(format!(
                    "`{name}` depends on `{target}`, which the crate map forbids \
                     (crates depend only downward; see docs/architecture.md)"
                ));
            }
            // `cargo metadata` gives the kind: null for a normal dependency, "dev", "build".
            let kind = dependency.get("kind").and_then(Value::as_str);
            if DEV_ONLY_EDGES.contains(&(name, target)) && kind != Some("dev") {
                problems.push(format!(
                    "`{name}` depends on `{target}` as a {} dependency; the crate map allows \
                     it as a dev-dependency only (see docs/architecture.md)",
                    kind.unwrap_or("normal")
                ));
            }
        }
    }
}

/// The one package allowed its own lint table instead of the workspace's: the C ABI needs
/// `unsafe` on its exported functions, and Cargo does not let a member relax an inherited
/// lint. Its table must still carry every workspace lint, with `unsafe_code = "deny"`.
const OWN_LINT_TABLE: &str = "hexvault-ffi";

/// The lines the FFI crate's own lint table must contain.
const FFI_LINTS: &[&str] = &[
    "[lints.rust]",
    "missing_docs = \"warn\"",
    "unsafe_code = \"deny\"",
    "unreachable_pub = \"warn\"",
    "[lints.clippy]",
    "unwrap_used = \"deny\"",
    "expect_used = \"deny\"",
    "panic = \"deny\"",
    "indexing_slicing = \"deny\"",
    "undocumented_unsafe_blocks = \"deny\"",
];

fn check_lints(metadata: &Value, problems: &mut Vec<String>) {
    for package in workspace_packages(metadata) {
        let Some(manifest) = package.get("manifest_path").and_then(Value::as_str) else {
            continue;
        };
        let name = package.get("name").and_then(Value::as_str).unwrap_or("?");
        let text = fs::read_to_string(manifest).unwrap_or_default();
        check_manifest_lints(name, manifest, &text, problems);
    }
}

fn check_manifest_lints(name: &str, manifest: &str, text: &str, problems: &mut Vec<String>) {
    let inherits = text
        .split("[lints]")
        .nth(1)
        .is_some_and(|rest| rest.trim_start().starts_with("workspace = true"));
    if name == OWN_LINT_TABLE {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for required in FFI_LINTS {
            if !lines.contains(required) {
                problems.push(format!(
                    "{manifest}: the FFI crate's own lint table lacks `{required}` (it must \
                     carry the workspace lints, with unsafe_code = \"deny\")"
                ));
            }
        }
    } else if !inherits {
        problems.push(format!(
            "{manifest} does not inherit the workspace lints: add `[lints]\\nworkspace = true` \
             (only {OWN_LINT_TABLE} may relax `unsafe_code`)"
        ));
    }
}

/// No profile may set `panic = "abort"`: the C ABI catches every panic at its boundary with
/// `catch_unwind`, which an aborting profile would silently defeat (ADR 0054).
fn check_no_panic_abort(root: &Path, problems: &mut Vec<String>) {
    for manifest in [
        "Cargo.toml",
        "crates/ffi/Cargo.toml",
        ".cargo/config.toml",
        // The legacy name: cargo still reads it (with a deprecation warning).
        ".cargo/config",
    ] {
        let text = fs::read_to_string(root.join(manifest)).unwrap_or_default();
        if sets_panic_abort(&text) {
            problems.push(format!(
                "{manifest}: a profile sets `panic = \"abort\"`, which defeats the FFI's \
                 catch_unwind; remove it (ADR 0054)"
            ));
        }
    }
}

/// Whether a manifest or `.cargo/config.toml` makes panics abort: a `panic = "abort"` key
/// anywhere under `[profile]` (any quoting, inline tables included), or `panic=abort` in
/// rustflags. Parsed as TOML; a file that does not parse counts as setting it (fail closed:
/// cargo would refuse it anyway, and tidy cannot tell).
fn sets_panic_abort(text: &str) -> bool {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return true;
    };
    let profile_aborts = doc.get("profile").is_some_and(value_sets_panic_abort);
    let flags_abort = ["build", "target"]
        .iter()
        .filter_map(|section| doc.get(*section))
        .any(rustflags_abort);
    profile_aborts || flags_abort
}

/// A `panic` key set to "abort" at any depth of `value`.
fn value_sets_panic_abort(value: &toml::Value) -> bool {
    match value {
        toml::Value::Table(table) => table.iter().any(|(key, v)| {
            (key == "panic" && v.as_str() == Some("abort")) || value_sets_panic_abort(v)
        }),
        toml::Value::Array(items) => items.iter().any(value_sets_panic_abort),
        _ => false,
    }
}

/// `-C panic=abort` (or `-Cpanic=abort`) in any `rustflags` at any depth of `value`.
fn rustflags_abort(value: &toml::Value) -> bool {
    match value {
        toml::Value::Table(table) => table.iter().any(|(key, v)| {
            let flags = match v {
                toml::Value::String(s) => s.replace(' ', ""),
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .collect::<String>()
                    .replace(' ', ""),
                _ => String::new(),
            };
            (key == "rustflags" && flags.contains("panic=abort")) || rustflags_abort(v)
        }),
        _ => false,
    }
}

fn check_doc_lines(dir: &Path, root: &Path, problems: &mut Vec<String>) {
    for file in rust_files(dir) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        if !text.starts_with("//!") {
            let shown = file.strip_prefix(root).unwrap_or(&file).display();
            problems.push(format!(
                "{shown} must open with a `//!` line saying what the file is"
            ));
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == "corpus" || name == "artifacts" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata_with(package: &str, dependencies: &[&str]) -> Value {
        let dependencies: Vec<Value> = dependencies
            .iter()
            .map(|name| serde_json::json!({ "name": name }))
            .collect();
        serde_json::json!({ "packages": [{ "name": package, "dependencies": dependencies }] })
    }

    #[test]
    fn downward_edges_pass() {
        let mut problems = Vec::new();
        check_edges(
            &metadata_with("hexvault-derivation", &["hexvault-mnemonic", "k256"]),
            &mut problems,
        );
        check_edges(
            &metadata_with("hexvault-cli", &["hexvault", "clap"]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn upward_and_sideways_edges_fail() {
        for (package, dependency) in [
            ("hexvault-mnemonic", "hexvault-aead"),
            ("hexvault-audit", "hexvault-cells"),
            ("hexvault-aead", "hexvault"),
            ("hexvault-service", "hexvault-audit"),
        ] {
            let mut problems = Vec::new();
            check_edges(&metadata_with(package, &[dependency]), &mut problems);
            assert_eq!(problems.len(), 1, "{package} -> {dependency} passed");
            assert!(problems[0].contains(dependency));
        }
    }

    /// Review round 29: an edge the crate map allows as a dev-dependency only fails as a
    /// normal or build dependency (the kind was not checked).
    #[test]
    fn dev_only_edges_fail_as_other_kinds() {
        let with_kind = |kind: Value| {
            serde_json::json!({ "packages": [{ "name": "hexvault-shares", "dependencies": [
                { "name": "hexvault-mnemonic", "kind": null },
                { "name": "hexvault-derivation", "kind": kind },
            ]}]})
        };
        let mut problems = Vec::new();
        check_edges(&with_kind(Value::from("dev")), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        for kind in [Value::Null, Value::from("build")] {
            let mut problems = Vec::new();
            check_edges(&with_kind(kind.clone()), &mut problems);
            assert_eq!(problems.len(), 1, "{kind}: {problems:?}");
            assert!(problems[0].contains("dev-dependency only"), "{problems:?}");
        }
    }

    #[test]
    fn publishable_packages_need_their_metadata() {
        let complete = serde_json::json!({ "packages": [{
            "name": "hexvault-aead", "description": "d", "readme": "README.md",
            "license": "MIT", "repository": "https://example.invalid/r",
            "keywords": ["aes-gcm"], "categories": ["cryptography"],
        }]});
        let mut problems = Vec::new();
        check_package_metadata(&complete, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");

        let bare = serde_json::json!({ "packages": [{ "name": "hexvault-aead" }] });
        check_package_metadata(&bare, &mut problems);
        assert_eq!(problems.len(), 6, "{problems:?}");

        let unpublished = serde_json::json!({ "packages": [{ "name": "xtask", "publish": [] }] });
        let mut problems = Vec::new();
        check_package_metadata(&unpublished, &mut problems);
        assert!(problems.is_empty());
    }

    #[test]
    fn adrs_need_a_status_line_and_an_index_entry() {
        let dir = std::env::temp_dir().join(format!("xtask-adr-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("0001-listed.md"),
            "# ADR 0001: listed\n\nStatus: Accepted (2026-11-30)\n",
        )
        .unwrap();
        fs::write(dir.join("0002-bare.md"), "# ADR 0002: bare\n\nText.\n").unwrap();
        fs::write(dir.join("README.md"), "- [0001](0001-listed.md)\n").unwrap();
        let mut problems = Vec::new();
        check_adrs(&dir, &mut problems);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|problem| problem.contains("0002-bare.md"))
        );
    }

    #[test]
    fn only_the_ffi_crate_has_its_own_lint_table() {
        let own = "[lints.rust]\nunsafe_code = \"deny\"\n";
        let mut problems = Vec::new();
        check_manifest_lints("hexvault-aead", "aead", own, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let mut problems = Vec::new();
        check_manifest_lints(
            "hexvault-aead",
            "aead",
            "[lints]\nworkspace = true\n",
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let mut problems = Vec::new();
        check_manifest_lints("hexvault-ffi", "ffi", own, &mut problems);
        assert_eq!(problems.len(), FFI_LINTS.len() - 2, "{problems:?}");
        let full = FFI_LINTS.join("\n");
        let mut problems = Vec::new();
        check_manifest_lints("hexvault-ffi", "ffi", &full, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// Review round 8: cargo 1.95 still applies the legacy `.cargo/config` (with a warning),
    /// so an aborting profile there defeated the FFI's `catch_unwind` unseen by tidy.
    #[test]
    fn a_legacy_cargo_config_setting_panic_abort_is_refused() {
        let root = std::env::temp_dir().join(format!("xtask-tidy-legacy-{}", std::process::id()));
        fs::create_dir_all(root.join(".cargo")).unwrap();
        fs::write(
            root.join(".cargo/config"),
            "[profile.release]\npanic = \"abort\"\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        check_no_panic_abort(&root, &mut problems);
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(".cargo/config:"), "{problems:?}");
    }

    #[test]
    fn panic_abort_profiles_are_found() {
        assert!(sets_panic_abort("[profile.release]\npanic = \"abort\"\n"));
        assert!(sets_panic_abort("[profile.release]\npanic=\"abort\"\n"));
        assert!(!sets_panic_abort("# panic = \"abort\" is forbidden\n"));
        assert!(!sets_panic_abort("[profile.release]\npanic = \"unwind\"\n"));
        // Review round 6: single quotes got through.
        assert!(sets_panic_abort("[profile.release]\npanic = 'abort'\n"));
        assert!(sets_panic_abort(
            "[profile]\nrelease = { panic = 'abort' }\n"
        ));
        assert!(sets_panic_abort("[profile.dev]\n\"panic\" = \"abort\"\n"));
        assert!(sets_panic_abort(
            "[build]\nrustflags = [\"-C\", \"panic=abort\"]\n"
        ));
        assert!(sets_panic_abort(
            "[target.x86_64-unknown-linux-gnu]\nrustflags = \"-C panic=abort\"\n"
        ));
        assert!(!sets_panic_abort("[package]\nname = \"panic\"\n"));
        assert!(!sets_panic_abort(""));
        // Unparseable: fail closed.
        assert!(sets_panic_abort("[profile.release\npanic = \"abort\"\n"));
    }

    #[test]
    fn unknown_crates_must_join_the_map() {
        let mut problems = Vec::new();
        check_edges(&metadata_with("hexvault-newcomer", &[]), &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("ALLOWED_EDGES"));
    }

    #[test]
    fn files_without_a_doc_line_are_reported() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/good.rs"), "//! Says what it is.\n").unwrap();
        fs::write(dir.join("src/bad.rs"), "fn main() {}\n").unwrap();
        let mut problems = Vec::new();
        check_doc_lines(&dir, &dir, &mut problems);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bad.rs"));
    }
}
