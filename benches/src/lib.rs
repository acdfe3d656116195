//! Shared helpers for the criterion benches in `benches/benches/`.
//!
//! Every bench file measures one hexvault crate beside the raw primitive it rests on, in
//! the same run, so the ratio between the two is the figure that matters.

/// Deterministic, non-secret filler bytes for benchmark inputs.
///
/// The pattern is cheap to generate, never repeats with a short period and is
/// incompressible enough for crypto inputs; it is not random and never a key.
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
