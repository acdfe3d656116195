//! Writes the golden envelopes in `tests/data/` once; never overwrites an existing file.
//!
//! Run `cargo run -p hexvault-envelope --example make_golden` only to add a new golden
//! file. The files that exist are the format's memory: `tests/golden.rs` checks that they
//! decode to their `.bin` contents forever.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::path::Path;

use hexvault_envelope::{ByteStorage, Compression, ContentType, Options};

fn json_like(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"name\":\"item-{}\",\"tags\":[\"a\",\"b\"]}}\n",
                i % 13
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x0123_4567_89AB_CDEFu64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}

/// Turn a checksummed envelope into what a build without `checksum` writes.
fn strip_checksums(mut env: Vec<u8>) -> Vec<u8> {
    env[5] &= !0x02;
    let label_len = usize::from(env[6]);
    env[16..24].fill(0);
    env[24 + label_len..32 + label_len].fill(0);
    env
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    std::fs::create_dir_all(&dir).unwrap();
    let plain = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    let labelled = |label: &str| {
        ByteStorage::new(
            Options::default()
                .with_compression(Compression::Auto)
                .with_content_type(Some(ContentType::new(label).unwrap())),
        )
    };
    let hello = b"hello, hexvault\n".to_vec();
    let json = json_like(4096);
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("empty", Vec::new(), plain.store(b"").unwrap()),
        (
            "hello-text",
            hello.clone(),
            labelled("text/plain").store(&hello).unwrap(),
        ),
        (
            "json-lz4",
            json.clone(),
            labelled("application/json").store(&json).unwrap(),
        ),
        (
            "noise-raw",
            noise(1000),
            labelled("application/octet-stream")
                .store(&noise(1000))
                .unwrap(),
        ),
        (
            "hello-unchecked",
            hello.clone(),
            strip_checksums(plain.store(&hello).unwrap()),
        ),
        (
            "json-lz4-unchecked",
            json.clone(),
            strip_checksums(plain.store(&json).unwrap()),
        ),
        (
            "json-raw",
            json.clone(),
            ByteStorage::new(Options::default().with_compression(Compression::Never))
                .store(&json)
                .unwrap(),
        ),
    ];
    for (name, content, envelope) in cases {
        for (ext, bytes) in [("bin", &content), ("hxev", &envelope)] {
            let path = dir.join(format!("{name}.{ext}"));
            if path.exists() {
                println!("kept     {}", path.display());
            } else {
                std::fs::write(&path, bytes).unwrap();
                println!("written  {}", path.display());
            }
        }
        println!(
            "{name}: len {} xxh3 {:016x} envelope {} flags {:#04x}",
            content.len(),
            xxhash_rust::xxh3::xxh3_64(&content),
            envelope.len(),
            envelope[5]
        );
    }
}
