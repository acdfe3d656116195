//! Helpers shared by the integration tests: input generators and a hand-built envelope writer.
#![allow(dead_code, clippy::indexing_slicing, clippy::unwrap_used)]

/// JSON-like text, very compressible, deterministic.
pub(crate) fn json_like(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0u64;
    while out.len() < len {
        let rec = format!(
            "{{\"id\":{i},\"user\":\"user-{}\",\"active\":{},\"roles\":[\"reader\",\"writer\"],\"score\":{}}},\n",
            i % 97,
            i.is_multiple_of(3),
            (i * 7919) % 1000
        );
        out.extend_from_slice(rec.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// Incompressible bytes (xorshift64*), deterministic.
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// xxh3-64 (seed 0), computed independently of the crate's features.
pub(crate) fn xxh3(data: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(data)
}

/// Build an envelope by hand, byte by byte as `docs/formats.md` describes it.
/// `checksum: Some(c)` sets flag bit 1 and writes the header check (and, compressed, the payload check).
pub(crate) fn craft(
    compressed: bool,
    original_len: u64,
    checksum: Option<u64>,
    label: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut flags = 0u8;
    if compressed {
        flags |= 1;
    }
    if checksum.is_some() {
        flags |= 2;
    }
    let mut env = Vec::new();
    env.extend_from_slice(b"HXEV");
    env.extend_from_slice(&[1, flags, u8::try_from(label.len()).unwrap(), 0]);
    env.extend_from_slice(&original_len.to_le_bytes());
    env.extend_from_slice(&checksum.unwrap_or(0).to_le_bytes());
    env.extend_from_slice(label);
    let check = if checksum.is_some() {
        xxh3(&env) as u32
    } else {
        0
    };
    env.extend_from_slice(&check.to_le_bytes());
    let payload_check = if checksum.is_some() && compressed {
        xxh3(payload) as u32
    } else {
        0
    };
    env.extend_from_slice(&payload_check.to_le_bytes());
    env.extend_from_slice(payload);
    env
}

/// Rewrite the header check of a checksummed envelope after its header was edited.
pub(crate) fn fix_header_check(env: &mut [u8]) {
    let label_len = usize::from(env[6]);
    let end = 24 + label_len;
    let check = xxh3(&env[..end]) as u32;
    env[end..end + 4].copy_from_slice(&check.to_le_bytes());
}

/// The largest-output LZ4 block that `lz4_flex` accepts for `n >= 5` payload bytes:
/// `1F 'a' 01 00 FF.. FE 00`, decoding to `max_lz4_output(n)` bytes of `'a'`.
pub(crate) fn maximal_block(n: usize) -> Vec<u8> {
    assert!(n >= 5);
    let ext = n - 5; // bytes of match-length extension
    let mut b = vec![0x1F, b'a', 0x01, 0x00];
    if ext > 0 {
        b.extend(std::iter::repeat_n(0xFF, ext - 1));
        b.push(0xFE);
    } else {
        b[0] = 0x1E; // no extension: match length nibble 14 (4 + 14 = 18)
    }
    b.push(0x00);
    assert_eq!(b.len(), n);
    b
}

/// The largest-output block that also meets the LZ4 spec's end-of-block rules (the last
/// five bytes are literals), so the reference C decoder accepts it with an exact-size
/// buffer: `1F 'a' 01 00 FF.. FE 50 'aaaaa'`. `n >= 10`; decodes to `255 * n - 2526` bytes.
pub(crate) fn maximal_spec_block(n: usize) -> Vec<u8> {
    assert!(n >= 11);
    let ext = n - 10;
    let mut b = vec![0x1F, b'a', 0x01, 0x00];
    b.extend(std::iter::repeat_n(0xFF, ext - 1));
    b.push(0xFE);
    b.push(0x50);
    b.extend_from_slice(b"aaaaa");
    assert_eq!(b.len(), n);
    b
}
