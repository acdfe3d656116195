//! Compiles the C test suite and the README's C example with `cc` against the built
//! `libhexvault` (under AddressSanitizer when `cc` supports it) and runs them; checks that
//! ciphertexts sealed in C open in Rust and the reverse; runs the Python ctypes example
//! (`#[ignore]`d: `cargo xtask test` runs it, where python3 is known to be present).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use facade::aead::{Key, KeyVersion, SealingKey};

const INTEROP_KEY: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const INTEROP_VERSION: u32 = 7;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding `libhexvault.so` built for this test run (with `test-support`):
/// cargo puts it beside the test executables.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    assert!(
        dir.join("libhexvault.so").exists() || dir.join("libhexvault.dylib").exists(),
        "libhexvault not found in {}",
        dir.display()
    );
    dir
}

fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hexvault-ffi-c");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `cc -fsanitize=address` builds and runs a program here.
fn asan_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let dir = scratch();
        let source = dir.join("probe.c");
        let binary = dir.join("probe");
        std::fs::write(&source, "int main(void) { return 0; }\n").unwrap();
        Command::new("cc")
            .args(["-fsanitize=address", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .is_ok_and(|status| status.success())
            && Command::new(&binary)
                .status()
                .is_ok_and(|status| status.success())
    })
}

/// Compiles one C file of `tests/c` against the header and the library, once per run
/// (tests run in parallel and share the binaries).
fn compile(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(binary) = built.get(name) {
        return binary.clone();
    }
    let binary = scratch().join(name);
    let mut command = Command::new("cc");
    command
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .arg("-I")
        .arg(crate_dir().join("../../include"))
        .arg(crate_dir().join(format!("tests/c/{name}.c")))
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(library_dir())
        .args(["-lhexvault", "-lpthread"]);
    if cfg!(feature = "test-support") {
        command.arg("-DHEXVAULT_TEST_SUPPORT");
    }
    if asan_supported() {
        command.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
    }
    let output = command.output().expect("cc must be installed");
    assert!(
        output.status.success(),
        "cc failed for {name}.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    built.insert(name.to_owned(), binary.clone());
    binary
}

const ASAN_OPTIONS: &str = "detect_leaks=1:abort_on_error=0";

fn run(binary: &Path, args: &[&str]) -> Output {
    run_with_asan(binary, args, ASAN_OPTIONS)
}

fn run_with_asan(binary: &Path, args: &[&str], asan_options: &str) -> Output {
    let output = Command::new(binary)
        .args(args)
        .env("LD_LIBRARY_PATH", library_dir())
        .env("DYLD_LIBRARY_PATH", library_dir())
        .env("ASAN_OPTIONS", asan_options)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\n{}{}",
        binary.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn interop_key() -> SealingKey {
    SealingKey::new(
        Key::from_bytes(INTEROP_KEY),
        KeyVersion::new(INTEROP_VERSION).unwrap(),
    )
    .unwrap()
}

#[test]
fn c_suite_passes() {
    let binary = compile("test_hexvault");
    let output = run(&binary, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("ok "), "{stdout}");
    println!("C suite: {stdout} (AddressSanitizer: {})", asan_supported());
}

/// The freed-copy sequence with the allocator reusing the freed block: AddressSanitizer's
/// quarantines (global and per thread, which keep freed blocks out of reuse) are switched
/// off for this run only, so the C test can require that `b` lands at `a`'s old address.
#[test]
fn c_freed_copy_is_refused_after_address_reuse() {
    let binary = compile("test_hexvault");
    let options = format!("{ASAN_OPTIONS}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
    let output = run_with_asan(&binary, &["reuse"], &options);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("ok "), "{stdout}");
}

#[test]
fn sealed_in_c_opens_in_rust_and_the_reverse() {
    let binary = compile("test_hexvault");
    let sealed_hex = String::from_utf8(run(&binary, &["seal"]).stdout).unwrap();
    let sealed = hex::decode(sealed_hex.trim()).unwrap();
    let opened = interop_key().open(&sealed, b"interop").unwrap();
    assert_eq!(opened.expose_secret(), b"from C");

    let from_rust = interop_key().seal(b"from Rust", b"interop").unwrap();
    let output = run(&binary, &["open", &hex::encode(&from_rust)]);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "from Rust\n");
}

#[test]
fn readme_example_is_the_compiled_one() {
    let example = std::fs::read_to_string(crate_dir().join("tests/c/example.c")).unwrap();
    let readme = std::fs::read_to_string(crate_dir().join("../../README.md")).unwrap();
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "README.md's \"From C\" example differs from crates/ffi/tests/c/example.c: copy it over"
    );
    let output = run(&compile("example"), &[]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("sealed 48 bytes"));
}

#[test]
#[ignore = "needs python3; `cargo xtask test` runs it"]
fn python_ctypes_example_runs() {
    let script = crate_dir().join("examples/python/hexvault_ctypes.py");
    let library = library_dir().join("libhexvault.so");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&library)
        .output()
        .expect("python3 must be installed");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("python: ok"));
}
