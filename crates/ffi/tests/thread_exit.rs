//! Calls at thread exit: a C program freeing its buffers from a pthread key destructor, or a
//! C++ `thread_local` RAII holder, after this thread's Rust storage is gone (review round 6:
//! both aborted the process).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding `libhexvault.so` of this test run (cargo puts it beside the tests).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

fn compile(name: &str) -> PathBuf {
    compile_with("cc", "-std=c11", &format!("{name}.c"), name)
}

fn compile_with(compiler: &str, standard: &str, source: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hexvault-ffi-thread-exit");
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join(name);
    let output = Command::new(compiler)
        .args([standard, "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .arg("-I")
        .arg(crate_dir().join("../../include"))
        .arg(crate_dir().join(format!("tests/c/{source}")))
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(library_dir())
        .args(["-lhexvault", "-lpthread"])
        .output()
        .expect("cc must be installed");
    assert!(
        output.status.success(),
        "{compiler} failed for {source}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

/// A C program that frees its buffers from a pthread key destructor (run by glibc after the
/// thread-local destructors) gets a status, and the process goes on. Before review round 6
/// `guard` recorded the last error with `LAST_ERROR.with`, which panics once the slot is
/// destroyed, outside `catch_unwind`: the process aborted and the buffer was never wiped.
#[test]
fn buffer_free_from_a_pthread_key_destructor_does_not_abort() {
    run_ok(&compile("thread_exit_tls_dtor"));
}

/// The same through the ordinary C++ RAII wrapper: a `thread_local` holder whose destructor
/// frees its buffer (`tests/c/thread_exit_raii.cpp`) at thread exit.
#[test]
fn a_cpp_thread_local_raii_holder_does_not_abort_at_thread_exit() {
    run_ok(&compile_with(
        "c++",
        "-std=c++17",
        "thread_exit_raii.cpp",
        "thread_exit_raii",
    ));
}

fn run_ok(binary: &std::path::Path) {
    let output = Command::new(binary)
        .env("LD_LIBRARY_PATH", library_dir())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} ({}):\n{}{}",
        binary.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok"));
}
