//! Golden envelopes committed in `tests/data/` must decode to their exact contents forever,
//! and a build without a feature must refuse, by name, exactly the ones it cannot read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use hexvault_envelope::{ByteStorage, Compression, Error, Options};

struct Golden {
    name: &'static str,
    len: usize,
    xxh3: u64,
    compressed: bool,
    checksummed: bool,
    label: Option<&'static str>,
}

const GOLDEN: &[Golden] = &[
    Golden {
        name: "empty",
        len: 0,
        xxh3: 0x2d06_8005_38d3_94c2,
        compressed: false,
        checksummed: true,
        label: None,
    },
    Golden {
        name: "hello-text",
        len: 16,
        xxh3: 0x0b01_05b6_735e_5e5a,
        compressed: false,
        checksummed: true,
        label: Some("text/plain"),
    },
    Golden {
        name: "json-lz4",
        len: 4096,
        xxh3: 0x9306_55ec_78d6_5510,
        compressed: true,
        checksummed: true,
        label: Some("application/json"),
    },
    Golden {
        name: "noise-raw",
        len: 1000,
        xxh3: 0xf471_3b9d_8a68_4ea4,
        compressed: false,
        checksummed: true,
        label: Some("application/octet-stream"),
    },
    Golden {
        name: "hello-unchecked",
        len: 16,
        xxh3: 0x0b01_05b6_735e_5e5a,
        compressed: false,
        checksummed: false,
        label: None,
    },
    Golden {
        name: "json-lz4-unchecked",
        len: 4096,
        xxh3: 0x9306_55ec_78d6_5510,
        compressed: true,
        checksummed: false,
        label: None,
    },
    Golden {
        name: "json-raw",
        len: 4096,
        xxh3: 0x9306_55ec_78d6_5510,
        compressed: false,
        checksummed: true,
        label: None,
    },
];

fn read(name: &str, ext: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.{ext}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn golden_envelopes_decode_forever() {
    // The unchecked goldens are read by a storage that accepts them; by default they are
    // refused (below).
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .accept_unchecked(true),
    );
    let strict = ByteStorage::default();
    let mut out = Vec::new();
    for g in GOLDEN {
        let content = read(g.name, "bin");
        assert_eq!(content.len(), g.len, "{}", g.name);
        assert_eq!(xxhash_rust::xxh3::xxh3_64(&content), g.xxh3, "{}", g.name);
        let envelope = read(g.name, "hxev");
        assert_eq!(&envelope[..5], b"HXEV\x01", "{}", g.name);
        if !g.checksummed
            && cfg!(feature = "checksum")
            && (cfg!(feature = "compression") || !g.compressed)
        {
            assert_eq!(
                strict.retrieve(&envelope),
                Err(Error::ChecksumMissing),
                "{}",
                g.name
            );
        }
        let result = s.retrieve_into(&envelope, &mut out);
        if g.checksummed && !cfg!(feature = "checksum") {
            assert_eq!(result, Err(Error::ChecksumUnsupported), "{}", g.name);
        } else if g.compressed && !cfg!(feature = "compression") {
            assert_eq!(result, Err(Error::CompressionUnsupported), "{}", g.name);
        } else {
            let report = result.unwrap_or_else(|e| panic!("{}: {e}", g.name));
            assert_eq!(out, content, "{}", g.name);
            assert_eq!(report.compressed, g.compressed, "{}", g.name);
            assert_eq!(
                report.checksum.map(|c| c.value()),
                g.checksummed.then_some(g.xxh3),
                "{}",
                g.name
            );
            assert_eq!(
                report.content_type.as_ref().map(|c| c.as_str()),
                g.label,
                "{}",
                g.name
            );
            assert_eq!(report.envelope_len, envelope.len() as u64);
        }
    }
}

/// What this build writes for the raw goldens is byte-identical to what was committed
/// (raw envelopes do not depend on the LZ4 encoder, so this pins the writer too).
#[cfg(feature = "checksum")]
#[test]
fn raw_writer_is_stable() {
    use hexvault_envelope::{Compression, ContentType, Options};
    let cases = [
        ("empty", None),
        ("hello-text", Some("text/plain")),
        ("noise-raw", Some("application/octet-stream")),
    ];
    for (name, label) in cases {
        let s = ByteStorage::new(
            Options::default()
                .with_compression(Compression::Auto)
                .with_compression(Compression::Never)
                .with_content_type(label.map(|l| ContentType::new(l).unwrap())),
        );
        assert_eq!(
            s.store(&read(name, "bin")).unwrap(),
            read(name, "hxev"),
            "{name}"
        );
    }
}
