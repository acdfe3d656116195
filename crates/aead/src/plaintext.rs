//! `Plaintext`: an opened message, wiped at memory speed when it drops (ADR 0025).

use core::fmt;
use core::sync::atomic::{Ordering, compiler_fence};

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Zeroes every byte of `buf` with one `memset`-speed pass that the optimizer may not drop.
///
/// `fill(0)` compiles to one vectorised `memset`. A `memset` of memory that is freed right
/// after is a dead store the optimizer may delete, so the wiped slice is handed to
/// [`core::hint::black_box`]: rustc lowers it to an empty inline-asm block that receives the
/// pointer and may read any memory behind it, so every zero must be in memory before it
/// runs. The compiler fence keeps later code from being moved above the wipe. `zeroize`'s
/// slice impl writes one volatile byte at a time instead (about 6.5 GB/s here, 20x slower
/// than the `memset` on a 64 KiB buffer); ADR 0025 records the measurement and the argument.
///
/// An empty slice is left alone without calling `memset`: an empty `Vec`'s pointer is
/// dangling, and glibc's AVX-512 `memset` of zero bytes there is a masked store with an empty
/// mask, which the CPU completes only through a fault-suppression assist (about 100 ns
/// measured, more than a whole 64-byte envelope round trip).
#[inline]
pub fn wipe(buf: &mut [u8]) {
    if buf.is_empty() {
        return;
    }
    buf.fill(0);
    core::hint::black_box(&mut *buf);
    compiler_fence(Ordering::SeqCst);
}

/// Largest piece [`extend_from_slice`] hands to `memcpy` at once.
///
/// glibc (2.36, the Debian 12 machines measured) copies a block from about 2 KiB up with
/// `rep movsb`, which on AMD Zen runs about 17 times slower when the destination lies 1 to
/// 31 bytes past the source modulo 4 KiB: 24 µs instead of 1.4 µs for 64 KiB. That is where
/// a heap block allocated right after another lands, so a sealed blob copied into a new
/// buffer hit it at some sizes and not others. Pieces of 1 KiB take glibc's vector loop,
/// at full speed wherever the buffers lie (1.6 µs for the same 64 KiB; ADR 0092).
const COPY_PIECE: usize = 1024;

/// Appends `src` to `out`, reserving room once and copying in pieces of at most 1 KiB, so
/// that the copy runs at memory speed wherever the two buffers lie (see ADR 0092: a plain
/// `memcpy` of kilobytes can be many times slower for some placements). Same result as
/// [`Vec::extend_from_slice`].
pub fn extend_from_slice(out: &mut Vec<u8>, src: &[u8]) {
    out.reserve(src.len());
    for piece in src.chunks(COPY_PIECE) {
        out.extend_from_slice(piece);
    }
}

/// Copies `src` into `dst` (of the same length) in pieces of at most 1 KiB, as
/// [`extend_from_slice`] appends (memory speed wherever the buffers lie, ADR 0092).
///
/// # Errors
/// [`Error::CopyLengthMismatch`](crate::Error::CopyLengthMismatch) when the lengths differ;
/// `dst` is then left untouched (`<[u8]>::copy_from_slice` would panic).
pub fn copy_from_slice(dst: &mut [u8], src: &[u8]) -> crate::Result<()> {
    if dst.len() != src.len() {
        return Err(crate::Error::CopyLengthMismatch {
            destination: dst.len(),
            source_len: src.len(),
        });
    }
    for (to, from) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
        to.copy_from_slice(from);
    }
    Ok(())
}

/// Zeroes a vector's whole allocation (its bytes and its spare capacity) with [`wipe`],
/// then empties it. Never reallocates.
pub(crate) fn wipe_vec(v: &mut Vec<u8>) {
    wipe_allocation(v);
    v.clear();
}

/// Grows `v` over its spare capacity (no reallocation: the length becomes exactly the
/// capacity) and wipes the whole allocation in one pass; `v` is left full of zeros.
fn wipe_allocation(v: &mut Vec<u8>) {
    let cap = v.capacity();
    v.resize(cap, 0);
    wipe(v);
}

/// A decrypted message: what [`SealingKey::open`](crate::SealingKey::open),
/// [`KeyRing::open`](crate::KeyRing::open) and
/// [`EncryptedData::decrypt`](crate::EncryptedData::decrypt) return.
///
/// It owns one heap buffer and wipes all of it (plaintext and spare capacity) when it is
/// dropped or [`zeroize`](Zeroize::zeroize)d, with one [`wipe`] pass at memory speed.
/// Its bytes are reachable only through [`Plaintext::expose_secret`] (and
/// [`Plaintext::expose_secret_mut`]): it does not dereference to `[u8]`, so a copy of the
/// plaintext is always a visible call; [`Plaintext::len`] and [`Plaintext::is_empty`] need
/// no access. It compares with `==` in constant time (in its contents) against another
/// plaintext, a byte slice, a byte array or a `Vec<u8>`. It is not `Clone`, and `Debug` prints only its
/// length.
pub struct Plaintext {
    bytes: Vec<u8>,
}

impl Plaintext {
    /// Takes ownership of `bytes`; from now on they are wiped on drop. An empty vector
    /// makes an empty plaintext.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// A plaintext holding a copy of `bytes`, in an allocation of exactly their length
    /// (copied at memory speed wherever the buffers lie, ADR 0092).
    #[must_use]
    pub fn copy_of(bytes: &[u8]) -> Self {
        let mut copy = Vec::with_capacity(bytes.len());
        extend_from_slice(&mut copy, bytes);
        Self { bytes: copy }
    }

    /// The plaintext bytes: the one way to read them.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }

    /// The plaintext bytes, writable in place (for decrypting or editing without a copy
    /// that would escape the wipe).
    #[must_use]
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Its length in bytes (not secret: a ciphertext shows it).
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// `true` for an empty plaintext.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Shortens the plaintext to `len` bytes (no effect if it is not longer). The bytes
    /// cut off stay in the allocation until the drop wipes all of it.
    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
    }
}

impl Zeroize for Plaintext {
    /// Wipes the whole allocation and leaves the plaintext empty.
    fn zeroize(&mut self) {
        wipe_vec(&mut self.bytes);
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        wipe_vec(&mut self.bytes);
    }
}

impl ZeroizeOnDrop for Plaintext {}

/// Constant-time in the contents (lengths are compared first; they are not secret).
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

impl PartialEq for Plaintext {
    fn eq(&self, other: &Self) -> bool {
        bytes_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for Plaintext {}

impl PartialEq<[u8]> for Plaintext {
    fn eq(&self, other: &[u8]) -> bool {
        bytes_eq(&self.bytes, other)
    }
}

impl PartialEq<Vec<u8>> for Plaintext {
    fn eq(&self, other: &Vec<u8>) -> bool {
        bytes_eq(&self.bytes, other)
    }
}

impl PartialEq<&[u8]> for Plaintext {
    fn eq(&self, other: &&[u8]) -> bool {
        bytes_eq(&self.bytes, other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Plaintext {
    fn eq(&self, other: &[u8; N]) -> bool {
        bytes_eq(&self.bytes, other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Plaintext {
    fn eq(&self, other: &&[u8; N]) -> bool {
        bytes_eq(&self.bytes, *other)
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintext")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a type offers besides its named accessor, found by method resolution: an
    /// inherent method whose bounds hold wins over the trait's fallback, so for a concrete
    /// type each probe answers whether the impl exists.
    struct Probe<T>(core::marker::PhantomData<T>);

    trait Fallback {
        fn derefs_to_bytes(&self) -> bool {
            false
        }
        fn as_ref_bytes(&self) -> bool {
            false
        }
    }

    impl<T> Fallback for Probe<T> {}

    impl<T: core::ops::Deref<Target = [u8]>> Probe<T> {
        fn derefs_to_bytes(&self) -> bool {
            true
        }
    }

    impl<T: AsRef<[u8]>> Probe<T> {
        fn as_ref_bytes(&self) -> bool {
            true
        }
    }

    #[test]
    fn the_bytes_are_reachable_only_through_expose_secret() {
        let plaintext = Probe::<Plaintext>(core::marker::PhantomData);
        assert!(
            !plaintext.derefs_to_bytes(),
            "Plaintext dereferences to its bytes"
        );
        assert!(
            !plaintext.as_ref_bytes(),
            "Plaintext lends its bytes through AsRef"
        );
        // The probes do see the impls where they exist.
        let boxed = Probe::<Box<[u8]>>(core::marker::PhantomData);
        assert!(boxed.derefs_to_bytes() && boxed.as_ref_bytes());
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut buf = vec![0xA5u8; 65_537];
        wipe(&mut buf);
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn the_whole_allocation_is_wiped_in_place() {
        let mut v = Vec::with_capacity(4096);
        v.resize(4096, 0x5Au8);
        v.truncate(100);
        let ptr = v.as_ptr();
        wipe_allocation(&mut v);
        // Every byte of the allocation, including the 3996 bytes past the old length
        // that still held 0x5A, is now zero, in the same allocation.
        assert_eq!(v.len(), 4096);
        assert_eq!(v.as_ptr(), ptr);
        assert!(v.iter().all(|&b| b == 0));
        wipe_vec(&mut v);
        assert!(v.is_empty());
        assert_eq!((v.capacity(), v.as_ptr()), (4096, ptr));
    }

    #[test]
    fn zeroize_wipes_and_empties() {
        let mut p = Plaintext::new(vec![7u8; 1000]);
        assert_eq!(p.expose_secret(), &[7u8; 1000][..]);
        p.zeroize();
        assert!(p.is_empty());
        assert_eq!(p.bytes.capacity(), 1000);
    }

    #[test]
    fn truncate_keeps_the_prefix_and_expose_secret_sees_it() {
        let mut p = Plaintext::new(b"secret and tag".to_vec());
        p.truncate(6);
        assert_eq!(p.expose_secret(), b"secret");
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn equality_compares_contents_and_lengths() {
        let p = Plaintext::new(b"abc".to_vec());
        assert_eq!(p, b"abc".to_vec());
        assert!(p == *b"abc".as_slice());
        assert_eq!(p, b"abc".as_slice());
        assert_eq!(p, b"abc");
        assert_eq!(p, *b"abc");
        assert_eq!(p, Plaintext::new(b"abc".to_vec()));
        assert_ne!(p, b"abd".to_vec());
        assert_ne!(p, b"ab".to_vec());
        assert_ne!(p, b"abcd".to_vec());
        assert_ne!(Plaintext::new(Vec::new()), b"a".to_vec());
        assert_eq!(Plaintext::new(Vec::new()), Vec::new());
    }

    #[test]
    fn debug_shows_only_the_length() {
        let p = Plaintext::new(b"hunter2".to_vec());
        let shown = format!("{p:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("104"));
        assert_eq!(shown, "Plaintext { len: 7, .. }");
    }

    proptest::proptest! {
        /// The piecewise copy is `Vec::extend_from_slice`: same bytes after any prefix,
        /// for lengths below, at and across several pieces, and never a reallocation
        /// beyond the one reservation when room was made first.
        #[test]
        fn extend_from_slice_equals_the_std_copy(
            prefix in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            src in proptest::collection::vec(proptest::num::u8::ANY, 0..(4 * COPY_PIECE + 7)),
        ) {
            let mut ours = prefix.clone();
            extend_from_slice(&mut ours, &src);
            let mut std_copy = prefix;
            std_copy.extend_from_slice(&src);
            proptest::prop_assert_eq!(&ours, &std_copy);
            let mut reserved = Vec::with_capacity(src.len());
            let before = reserved.as_ptr();
            extend_from_slice(&mut reserved, &src);
            proptest::prop_assert_eq!(reserved.as_ptr(), before);
            proptest::prop_assert_eq!(&reserved, &src);
        }

        /// The piecewise slice copy is `<[u8]>::copy_from_slice` for equal lengths, and
        /// refuses unequal ones with the destination untouched (no panic).
        #[test]
        fn copy_from_slice_equals_the_std_copy(
            src in proptest::collection::vec(proptest::num::u8::ANY, 0..(4 * COPY_PIECE + 7)),
            shorter_by in 0usize..3,
        ) {
            let mut ours = vec![0xA5u8; src.len()];
            copy_from_slice(&mut ours, &src).unwrap();
            proptest::prop_assert_eq!(&ours, &src);
            if shorter_by > 0 && src.len() >= shorter_by {
                let mut short = vec![0xA5u8; src.len() - shorter_by];
                let refused = copy_from_slice(&mut short, &src);
                let refused_ok = matches!(
                    refused,
                    Err(crate::Error::CopyLengthMismatch { destination, source_len })
                        if destination == src.len() - shorter_by && source_len == src.len()
                );
                proptest::prop_assert!(refused_ok);
                proptest::prop_assert!(short.iter().all(|&b| b == 0xA5), "untouched");
            }
        }
    }

    #[test]
    fn copy_of_holds_exactly_the_bytes() {
        for len in [
            0,
            1,
            COPY_PIECE - 1,
            COPY_PIECE,
            COPY_PIECE + 1,
            64 * 1024 + 21,
        ] {
            let src: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let p = Plaintext::copy_of(&src);
            assert_eq!(p.expose_secret(), &src[..]);
            assert_eq!(
                p.bytes.capacity(),
                len,
                "an allocation of exactly the length"
            );
        }
    }
}
