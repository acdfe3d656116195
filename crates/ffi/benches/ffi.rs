//! The FFI overhead: a seal + open round trip through the C entry points
//! (`hexvault_encryptor_seal` / `_open`: handle lookup, pointer checks, panic guard, copies)
//! beside the same round trip through the Rust `SealingKey`, for 1 KiB and 64 KiB, same run.
//!
//! The bench compiles the crate's source as a module (the library is a `cdylib`/`staticlib`
//! without an rlib, see Cargo.toml) and calls the exported functions through their C ABI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "../src/lib.rs"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod c_abi;

use std::hint::black_box;

use c_abi::{
    HexvaultStatus, hexvault_encryptor_new, hexvault_encryptor_open, hexvault_encryptor_seal,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use facade::aead::{Key, KeyVersion, OVERHEAD, SealingKey};

const SIZES: [usize; 2] = [1024, 64 * 1024];
const KEY: [u8; 32] = [0x42; 32];
const AAD: &[u8] = b"tenant=acme";

fn round_trip(c: &mut Criterion) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("ffi_round_trip/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        let plaintext = vec![0x5a; size];

        let rust = SealingKey::new(Key::from_bytes(KEY), KeyVersion::new(1).unwrap()).unwrap();
        group.bench_function("rust_sealing_key", |b| {
            b.iter(|| {
                let sealed = rust.seal(black_box(&plaintext), AAD).unwrap();
                let opened = rust.open(&sealed, AAD).unwrap();
                black_box(opened.expose_secret().len())
            });
        });

        let mut handle = 0;
        #[allow(unsafe_code)]
        // SAFETY: `KEY` is 32 readable bytes and `handle` a valid out pointer.
        let status = unsafe { hexvault_encryptor_new(KEY.as_ptr(), KEY.len(), 1, 0, &mut handle) };
        assert_eq!(status, HexvaultStatus::Ok);
        let mut sealed = vec![0u8; size + OVERHEAD];
        let mut opened = vec![0u8; size];
        group.bench_function("c_abi", |b| {
            b.iter(|| {
                let mut sealed_len = 0;
                let mut opened_len = 0;
                #[allow(unsafe_code)]
                // SAFETY: every pointer is valid for the length passed with it, and the
                // output buffers overlap no input.
                let statuses = unsafe {
                    (
                        hexvault_encryptor_seal(
                            handle,
                            black_box(plaintext.as_ptr()),
                            plaintext.len(),
                            AAD.as_ptr(),
                            AAD.len(),
                            sealed.as_mut_ptr(),
                            sealed.len(),
                            &mut sealed_len,
                        ),
                        hexvault_encryptor_open(
                            handle,
                            sealed.as_ptr(),
                            sealed_len,
                            AAD.as_ptr(),
                            AAD.len(),
                            opened.as_mut_ptr(),
                            opened.len(),
                            &mut opened_len,
                        ),
                    )
                };
                assert_eq!(statuses, (HexvaultStatus::Ok, HexvaultStatus::Ok));
                black_box(opened_len)
            });
        });
        c_abi::hexvault_encryptor_free(handle);
        group.finish();
    }
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
