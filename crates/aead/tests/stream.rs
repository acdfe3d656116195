//! Sealed streams: round trips at every segment boundary, every tampering the STREAM
//! construction must catch (bit flips, truncation anywhere, reordered, dropped, duplicated and
//! appended segments, a lying header), and an independent decryption of the documented
//! format with ring and the hkdf crate directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_aead::{
    Error, Key, MIN_SEGMENT_LEN, STREAM_HEADER_LEN, STREAM_KEY_LABEL, StreamOpener, StreamOptions,
    StreamSealer, TAG_LEN, encode_info, stream_sealed_len,
};
use proptest::prelude::*;

const SEG: u32 = MIN_SEGMENT_LEN;
const SEG_LEN: usize = SEG as usize;
const AAD: &[u8] = b"partition/cell/object";

fn key() -> Key {
    Key::from_bytes([7; 32])
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn seal_chunked(plaintext: &[u8], chunk: usize) -> Vec<u8> {
    let mut sealer = StreamSealer::with_options(
        &key(),
        AAD,
        Vec::new(),
        StreamOptions::default().segment_len(SEG),
    )
    .unwrap();
    for part in plaintext.chunks(chunk.max(1)) {
        sealer.write_all(part).unwrap();
    }
    sealer.finish().unwrap()
}

fn seal_reader(plaintext: &[u8]) -> Vec<u8> {
    let mut sealer = StreamSealer::with_options(
        &key(),
        AAD,
        Vec::new(),
        StreamOptions::default().segment_len(SEG),
    )
    .unwrap();
    let n = sealer.copy_from(&mut &plaintext[..]).unwrap();
    assert_eq!(n, plaintext.len() as u64);
    sealer.finish().unwrap()
}

fn open(sealed: &[u8]) -> Result<Vec<u8>, Error> {
    open_with(&key(), AAD, sealed)
}

fn open_with(key: &Key, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
    let mut opener = StreamOpener::new(key, aad, sealed)?;
    let mut out = Vec::new();
    opener.copy_to(&mut out)?;
    Ok(out)
}

/// Splits a stream into its header and sealed segments.
fn segments(sealed: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (header, body) = sealed.split_at(STREAM_HEADER_LEN);
    let segs = body.chunks(SEG_LEN + TAG_LEN).map(<[u8]>::to_vec).collect();
    (header.to_vec(), segs)
}

const LENGTHS: [usize; 9] = [
    0,
    1,
    SEG_LEN - 1,
    SEG_LEN,
    SEG_LEN + 1,
    2 * SEG_LEN,
    3 * SEG_LEN - 1,
    3 * SEG_LEN,
    3 * SEG_LEN + 7,
];

/// A reader that hands out at most `step` bytes per read (as a pipe or a slow disk does).
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        let (now, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(now);
        self.data = rest;
        Ok(n)
    }
}

/// `copy_from` reuses a sealed segment's bytes as the room of the next one: whatever the
/// reads' sizes, the stream is the plaintext's (and opens to it).
#[test]
fn copy_from_with_short_reads_round_trips_at_every_segment_boundary() {
    for len in LENGTHS {
        let pt = data(len);
        for step in [1, 7, SEG_LEN - 1, SEG_LEN, SEG_LEN + 3] {
            let mut sealer = StreamSealer::with_options(
                &key(),
                AAD,
                Vec::new(),
                StreamOptions::default().segment_len(SEG),
            )
            .unwrap();
            let n = sealer.copy_from(&mut Trickle { data: &pt, step }).unwrap();
            assert_eq!(n, len as u64);
            let sealed = sealer.finish().unwrap();
            assert_eq!(
                sealed.len() as u64,
                stream_sealed_len(len as u64, SEG).unwrap()
            );
            assert_eq!(open(&sealed).unwrap(), pt, "{len} bytes, reads of {step}");
        }
    }
}

#[test]
fn round_trip_at_every_segment_boundary_both_writers() {
    for len in LENGTHS {
        let pt = data(len);
        for sealed in [
            seal_chunked(&pt, 1000),
            seal_chunked(&pt, SEG_LEN),
            seal_chunked(&pt, 7),
            seal_reader(&pt),
        ] {
            assert_eq!(
                sealed.len() as u64,
                stream_sealed_len(len as u64, SEG).unwrap(),
                "length of a {len}-byte stream"
            );
            assert_eq!(open(&sealed).unwrap(), pt, "{len} bytes");
        }
    }
}

#[test]
fn segments_are_handed_out_one_at_a_time_and_end_with_none() {
    let pt = data(2 * SEG_LEN + 5);
    let sealed = seal_chunked(&pt, 333);
    let mut opener = StreamOpener::new(&key(), AAD, &sealed[..]).unwrap();
    let mut lens = Vec::new();
    while let Some(seg) = opener.next_segment().unwrap() {
        lens.push(seg.len());
    }
    assert_eq!(lens, [SEG_LEN, SEG_LEN, 5]);
    assert!(opener.next_segment().unwrap().is_none());
}

#[test]
fn equal_plaintexts_give_unrelated_streams() {
    let pt = data(3000);
    let (a, b) = (seal_chunked(&pt, 100), seal_chunked(&pt, 100));
    assert_ne!(
        a[STREAM_HEADER_LEN - 32..STREAM_HEADER_LEN],
        b[STREAM_HEADER_LEN - 32..STREAM_HEADER_LEN]
    );
    assert_ne!(a[STREAM_HEADER_LEN..], b[STREAM_HEADER_LEN..]);
}

#[test]
fn every_bit_flip_is_rejected() {
    let sealed = seal_chunked(&data(2 * SEG_LEN + 100), 500);
    for byte in 0..sealed.len() {
        for bit in 0..8 {
            let mut t = sealed.clone();
            t[byte] ^= 1 << bit;
            assert!(
                open(&t).is_err(),
                "flip of bit {bit} of byte {byte} accepted"
            );
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    for len in [SEG_LEN, 2 * SEG_LEN + 100, 0] {
        let sealed = seal_chunked(&data(len), 500);
        for cut in 0..sealed.len() {
            assert!(
                open(&sealed[..cut]).is_err(),
                "{len}-byte stream cut to {cut} bytes accepted"
            );
        }
    }
}

#[test]
fn a_stream_cut_at_a_segment_boundary_fails_at_its_end() {
    let pt = data(3 * SEG_LEN + 10);
    let sealed = seal_chunked(&pt, 4096);
    let cut = STREAM_HEADER_LEN + 2 * (SEG_LEN + TAG_LEN);
    let mut opener = StreamOpener::new(&key(), AAD, &sealed[..cut]).unwrap();
    // The first segment is genuine and not the last: it is handed out.
    assert_eq!(opener.next_segment().unwrap().unwrap(), &pt[..SEG_LEN]);
    // The second now ends the input, but was sealed as not-last.
    assert!(matches!(opener.next_segment(), Err(Error::Authentication)));
    // Failed for good: never `Ok(None)`, which would claim the stream complete.
    assert!(matches!(
        opener.next_segment(),
        Err(Error::MalformedStream { .. })
    ));
    assert!(matches!(
        opener.next_segment(),
        Err(Error::MalformedStream { .. })
    ));
}

#[test]
fn reordered_dropped_duplicated_and_appended_segments_are_rejected() {
    let sealed = seal_chunked(&data(3 * SEG_LEN + 10), 4096);
    let (header, segs) = segments(&sealed);
    assert_eq!(segs.len(), 4);
    let build = |order: &[usize]| {
        let mut out = header.clone();
        for &i in order {
            out.extend_from_slice(&segs[i]);
        }
        out
    };
    assert_eq!(open(&build(&[0, 1, 2, 3])).unwrap(), data(3 * SEG_LEN + 10));
    for order in [
        &[1, 0, 2, 3][..],
        &[0, 2, 1, 3],
        &[0, 1, 3],
        &[0, 2, 3],
        &[0, 1, 1, 2, 3],
        &[0, 1, 2, 3, 3],
        &[3],
        &[0, 1, 2],
    ] {
        assert!(open(&build(order)).is_err(), "segments {order:?} accepted");
    }
    // A segment of another stream under the same key, at the same position.
    let other = seal_chunked(&data(3 * SEG_LEN + 10), 4096);
    let (_, other_segs) = segments(&other);
    let mut spliced = header.clone();
    for (i, seg) in segs.iter().enumerate() {
        spliced.extend_from_slice(if i == 1 { &other_segs[1] } else { seg });
    }
    assert!(matches!(open(&spliced), Err(Error::Authentication)));
    // Bytes after the final segment.
    let mut appended = sealed.clone();
    appended.push(0);
    assert!(open(&appended).is_err());
}

#[test]
fn wrong_key_and_wrong_associated_data_fail_authentication() {
    let sealed = seal_chunked(&data(1500), 500);
    assert!(matches!(
        open_with(&Key::from_bytes([8; 32]), AAD, &sealed),
        Err(Error::Authentication)
    ));
    assert!(matches!(
        open_with(&key(), b"partition/cell/other", &sealed),
        Err(Error::Authentication)
    ));
}

#[test]
fn a_lying_header_is_refused_by_name_or_by_authentication() {
    let sealed = seal_chunked(&data(5000), 500);
    let mut magic = sealed.clone();
    magic[0] = b'X';
    assert!(matches!(open(&magic), Err(Error::UnknownMagic)));
    let mut version = sealed.clone();
    version[4] = 2;
    assert!(matches!(
        open(&version),
        Err(Error::UnsupportedFormatVersion { version: 2 })
    ));
    // Another legal segment length: the segments no longer line up, and the header is
    // authenticated by every segment anyway.
    let mut len = sealed.clone();
    len[5..9].copy_from_slice(&2048_u32.to_be_bytes());
    assert!(matches!(open(&len), Err(Error::Authentication)));
    // A length that would make the opener allocate beyond the bound.
    let mut huge = sealed.clone();
    huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(open(&huge), Err(Error::MalformedStream { .. })));
    let mut tiny = sealed;
    tiny[5..9].copy_from_slice(&16_u32.to_be_bytes());
    assert!(matches!(open(&tiny), Err(Error::MalformedStream { .. })));
    assert!(matches!(
        StreamSealer::with_options(
            &key(),
            AAD,
            Vec::new(),
            StreamOptions::default().segment_len(16)
        ),
        Err(Error::MalformedStream { .. })
    ));
}

#[test]
fn an_unfinished_stream_does_not_open() {
    // Dropped without `finish`: the writer holds the header and the two full segments that
    // more data followed, but no final segment.
    let mut out = Vec::new();
    {
        let mut s = StreamSealer::with_options(
            &key(),
            AAD,
            &mut out,
            StreamOptions::default().segment_len(SEG),
        )
        .unwrap();
        s.write_all(&data(3 * SEG_LEN)).unwrap();
    }
    assert_eq!(out.len(), STREAM_HEADER_LEN + 2 * (SEG_LEN + TAG_LEN));
    assert!(open(&out).is_err());
}

/// Decrypts a stream following docs/formats.md alone, with ring and the hkdf crate used
/// directly: the documented format is the one the code writes.
fn independent_open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Vec<u8> {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let header = &sealed[..STREAM_HEADER_LEN];
    assert_eq!(&header[..4], b"HVST");
    assert_eq!(header[4], 1);
    let seg = u32::from_be_bytes(header[5..9].try_into().unwrap()) as usize;
    let salt = &header[9..41];
    let info = encode_info(STREAM_KEY_LABEL, &[salt]).unwrap();
    let mut okm = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, key)
        .expand(&info, &mut okm)
        .unwrap();
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &okm).unwrap());
    let mut full_aad = header.to_vec();
    full_aad.extend_from_slice(aad);
    let body = &sealed[STREAM_HEADER_LEN..];
    let chunks: Vec<&[u8]> = body.chunks(seg + 16).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        nonce[11] = u8::from(i + 1 == chunks.len());
        let mut buf = chunk.to_vec();
        let pt = k
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&full_aad),
                &mut buf,
            )
            .unwrap();
        out.extend_from_slice(pt);
    }
    out
}

#[test]
fn the_documented_format_decrypts_independently() {
    for len in [0, 1, SEG_LEN, 3 * SEG_LEN + 7] {
        let pt = data(len);
        let sealed = seal_chunked(&pt, 700);
        assert_eq!(independent_open(&[7; 32], AAD, &sealed), pt, "{len} bytes");
    }
}

#[cfg(feature = "rustcrypto")]
#[test]
fn ring_and_rustcrypto_streams_open_in_each_other() {
    use hexvault_aead::Backend;
    let pt = data(2 * SEG_LEN + 3);
    for (seal_be, open_be) in [
        (Backend::Ring, Backend::RustCrypto),
        (Backend::RustCrypto, Backend::Ring),
    ] {
        let mut s = StreamSealer::with_options(
            &key(),
            AAD,
            Vec::new(),
            StreamOptions::default().segment_len(SEG).backend(seal_be),
        )
        .unwrap();
        s.write_all(&pt).unwrap();
        let sealed = s.finish().unwrap();
        let mut o = StreamOpener::with_backend(&key(), AAD, &sealed[..], open_be).unwrap();
        let mut out = Vec::new();
        o.copy_to(&mut out).unwrap();
        assert_eq!(out, pt);
    }
}

#[test]
fn debug_shows_no_plaintext() {
    let mut s = StreamSealer::new(&key(), AAD, Vec::new()).unwrap();
    s.write_all(b"TOP-SECRET-PLAINTEXT").unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("TOP-SECRET"), "{shown}");
    let sealed = s.finish().unwrap();
    let mut o = StreamOpener::new(&key(), AAD, &sealed[..]).unwrap();
    o.next_segment().unwrap();
    let shown = format!("{o:?}");
    assert!(
        !shown.contains("TOP-SECRET") && !shown.contains("84, 79, 80"),
        "{shown}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_length_and_chunking_round_trips(len in 0usize..5 * SEG_LEN, chunk in 1usize..3000) {
        let pt = data(len);
        let sealed = seal_chunked(&pt, chunk);
        prop_assert_eq!(open(&sealed).unwrap(), pt);
    }

    #[test]
    fn any_byte_change_is_rejected(len in 0usize..3 * SEG_LEN, at in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let mut sealed = seal_chunked(&data(len), 512);
        let i = at.index(sealed.len());
        sealed[i] = sealed[i].wrapping_add(delta);
        prop_assert!(open(&sealed).is_err());
    }
}
