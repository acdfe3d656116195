//! Shared inputs for the peer benches: the same bytes go to every library in the run; and
//! the sides of the cells and edges comparison ([`cells`]).

pub mod cells;

/// Deterministic, non-secret, incompressible filler bytes (the same xorshift as
/// `hexvault-benches`). Not random and never a key.
#[must_use]
pub fn filler(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// JSON-like text (the envelope bench's input): what an envelope compresses in practice.
#[must_use]
pub fn json_like(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"user\":\"user-{}\",\"active\":{},\"roles\":[\"reader\",\"writer\"],\"score\":{}}},\n",
                i % 97,
                i % 3 == 1,
                (i * 7919) % 1000
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// `src` copied into a new vector with `extra` bytes of spare capacity, the way hexvault
/// copies (in 1 KiB pieces, `hexvault_aead::extend_from_slice`, ADR 0092). Every floor
/// copies this way, so that no side of a ratio meets glibc's slow `rep movsb` placement
/// (a destination 1 to 31 bytes past its source modulo 4 KiB, 17x slower on AMD Zen) while
/// the other side does not: a floor is the best a bare implementation can do.
#[must_use]
pub fn copy_to_vec(src: &[u8], extra: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().saturating_add(extra));
    hexvault_aead::extend_from_slice(&mut out, src);
    out
}
