//! Review round 4: a C program against `libhexvault` checking a promise of the header that
//! fails today (`#[ignore]`d with "review4 finding" so the lead can take it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// `include/hexvault.h`, `HexvaultEncryptorStatus::rotate_soon`: "1 once half the budget or
/// 2^31 seals are used". `crates/ffi/src/raw.rs` (`Encryptor::usage`) compares the seals
/// used with `budget / 2` rounded down: an encryptor with a budget of 1 says "rotate soon"
/// before its first seal, and one with a budget of 3 after 1 seal of 3 (a third).
const PROGRAM: &str = r#"
#include <stdio.h>
#include <string.h>
#include "hexvault.h"

static int rotate_soon(uint64_t budget, int seals) {
    uint8_t key[32];
    memset(key, 7, sizeof key);
    HexvaultEncryptor handle = 0;
    if (hexvault_encryptor_new(key, sizeof key, 1, budget, &handle) != HEXVAULT_STATUS_OK) return -1;
    for (int i = 0; i < seals; i++) {
        uint8_t out[64];
        size_t len = 0;
        if (hexvault_encryptor_seal(handle, (const uint8_t *)"x", 1, NULL, 0, out, sizeof out, &len)
            != HEXVAULT_STATUS_OK) return -1;
    }
    HexvaultEncryptorStatus status;
    if (hexvault_encryptor_status(handle, &status) != HEXVAULT_STATUS_OK) return -1;
    hexvault_encryptor_free(handle);
    return status.rotate_soon;
}

int main(void) {
    int fresh = rotate_soon(1, 0);   /* 0 of 1 used: not half */
    int third = rotate_soon(3, 1);   /* 1 of 3 used: not half */
    printf("budget 1 after 0 seals: rotate_soon=%d; budget 3 after 1 seal: rotate_soon=%d\n",
           fresh, third);
    return (fresh == 0 && third == 0) ? 0 : 1;
}
"#;

fn library_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
#[ignore = "review4 finding"]
fn rotate_soon_is_not_reported_before_half_the_budget_is_used() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hexvault-ffi-review4");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("rotate_soon.c");
    let binary = dir.join("rotate_soon");
    std::fs::write(&source, PROGRAM).unwrap();
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include");
    let cc = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(library_dir())
        .args(["-lhexvault", "-lpthread"])
        .output()
        .expect("cc must be installed");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&binary)
        .env("LD_LIBRARY_PATH", library_dir())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
