//! The audit log file format: a fixed header followed by checksummed, length-prefixed frames.

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::{ChainMode, Damage, Error, LogId, Result};

/// The 8 magic bytes that open every audit log file.
pub const FILE_MAGIC: [u8; 8] = *b"HXAUDIT\0";
/// The file format version this build creates: 3, one SHA-256 pass over each record (the
/// keyed chain value is a MAC of the public chain value; ADR 0080). Format-2 logs are still
/// read, verified and appended to in format 2 ([`FILE_VERSION_V2`]); format 1 is read and
/// verified ([`FILE_VERSION_V1`]).
pub const FILE_VERSION: u16 = 3;
/// The second file format: checkpoints also sign the public chain; every record is hashed
/// twice (keyed chain and public chain). Read, verified and appended to.
pub const FILE_VERSION_V2: u16 = 2;
/// The first file format: checkpoints sign only the (keyed) chain value. Read-only.
pub const FILE_VERSION_V1: u16 = 1;
/// Length of the file header.
pub const HEADER_LEN: usize = 88;
/// Bytes before a frame's payload: type, length, header check.
pub const FRAME_HEAD_LEN: usize = 9;
/// Bytes after a frame's payload: checksum.
pub const FRAME_TAIL_LEN: usize = 8;
/// Largest payload a frame may carry.
pub const MAX_FRAME_PAYLOAD: u32 = 65_536;
/// Largest complete frame: head, maximal payload, checksum. A torn tail is never longer.
pub const MAX_FRAME_LEN: usize = FRAME_HEAD_LEN + MAX_FRAME_PAYLOAD as usize + FRAME_TAIL_LEN;

/// Frame type of a record frame.
pub const FRAME_RECORD: u8 = 0x01;
/// Frame type of a checkpoint frame.
pub const FRAME_CHECKPOINT: u8 = 0x02;

const HEADER_DOMAIN: &[u8] = b"hexvault-audit/v1/header";
const FRAME_HEAD_DOMAIN: &[u8] = b"hexvault-audit/v1/frame-header";
const FRAME_DOMAIN: &[u8] = b"hexvault-audit/v1/frame";

/// The decoded file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileHeader {
    /// [`FILE_VERSION`], [`FILE_VERSION_V2`] or [`FILE_VERSION_V1`].
    pub(crate) version: u16,
    pub(crate) mode: ChainMode,
    pub(crate) log_id: LogId,
    pub(crate) key_check: [u8; 16],
    pub(crate) public_key: Option<VerifyingKey>,
    pub(crate) checkpoint_every: u32,
}

fn sha_prefix<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let full: [u8; 32] = h.finalize().into();
    let mut out = [0u8; N];
    // Callers take 4 or 8 bytes of the 32: zip copies exactly N.
    for (dst, src) in out.iter_mut().zip(full) {
        *dst = src;
    }
    out
}

impl FileHeader {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(HEADER_LEN);
        w.raw(&FILE_MAGIC);
        w.u16(self.version);
        w.u8(self.mode.code());
        w.raw(self.log_id.as_bytes());
        w.raw(&self.key_check);
        match &self.public_key {
            Some(pk) => {
                w.u8(1);
                w.raw(pk.as_bytes());
            }
            None => {
                w.u8(0);
                w.raw(&[0; 32]);
            }
        }
        w.u32(self.checkpoint_every);
        let mut v = w.into_vec();
        let check: [u8; 8] = sha_prefix(&[HEADER_DOMAIN, &v]);
        v.extend_from_slice(&check);
        v
    }

    /// Decodes the header at the start of `bytes`.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let (head, _) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(Error::NotAuditLog)?;
        let (body, check) = head
            .split_at_checked(HEADER_LEN - 8)
            .ok_or(Error::NotAuditLog)?;
        let mut r = Reader::new(body);
        if r.array::<8>()? != FILE_MAGIC {
            return Err(Error::NotAuditLog);
        }
        let version = r.u16()?;
        if sha_prefix::<8>(&[HEADER_DOMAIN, body]) != check {
            return Err(Error::NotAuditLog);
        }
        if !matches!(version, FILE_VERSION_V1 | FILE_VERSION_V2 | FILE_VERSION) {
            return Err(Error::UnsupportedVersion(version));
        }
        let mode = ChainMode::from_code(r.u8()?).ok_or(Error::Malformed("unknown chain mode"))?;
        let log_id = LogId::from_array(r.array()?);
        let key_check = r.array()?;
        let has_pk = r.flag()?;
        let pk_bytes: [u8; 32] = r.array()?;
        let public_key = if has_pk {
            Some(
                VerifyingKey::from_bytes(&pk_bytes)
                    .map_err(|_| Error::Malformed("invalid checkpoint public key"))?,
            )
        } else if pk_bytes != [0; 32] {
            return Err(Error::Malformed("public key bytes present without flag"));
        } else {
            None
        };
        let checkpoint_every = r.u32()?;
        r.finish()?;
        Ok(Self {
            version,
            mode,
            log_id,
            key_check,
            public_key,
            checkpoint_every,
        })
    }
}

/// Builds one frame of type `kind` ([`FRAME_RECORD`] or [`FRAME_CHECKPOINT`]) around
/// `payload` and appends it to `out` (see `docs/formats.md`). Test support only (feature
/// `test-support`, not for production use): logs write their own frames.
///
/// # Errors
/// [`Error::TooLong`] if the payload is longer than [`MAX_FRAME_PAYLOAD`] bytes.
#[cfg(any(test, feature = "test-support"))]
pub fn write_frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) -> Result<()> {
    write_frame_parts(out, kind, &[payload])
}

/// Appends one frame whose payload is the concatenation of `parts` (no copy).
///
/// # Errors
/// [`Error::TooLong`] if the payload is longer than [`MAX_FRAME_PAYLOAD`] bytes (records
/// and checkpoints are far smaller); `out` is then unchanged.
pub(crate) fn write_frame_parts(out: &mut Vec<u8>, kind: u8, parts: &[&[u8]]) -> Result<()> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let too_long = || Error::TooLong {
        field: "frame payload",
        len: total,
        max: MAX_FRAME_PAYLOAD as usize,
    };
    let len = u32::try_from(total).map_err(|_| too_long())?;
    if len > MAX_FRAME_PAYLOAD {
        return Err(too_long());
    }
    let [l0, l1, l2, l3] = len.to_be_bytes();
    let head = [kind, l0, l1, l2, l3];
    let head_check: [u8; 4] = sha_prefix(&[FRAME_HEAD_DOMAIN, &head]);
    let mut h = Sha256::new();
    h.update(FRAME_DOMAIN);
    h.update(head);
    out.reserve(FRAME_HEAD_LEN + total + FRAME_TAIL_LEN);
    out.extend_from_slice(&head);
    out.extend_from_slice(&head_check);
    for p in parts {
        h.update(p);
        out.extend_from_slice(p);
    }
    let sum: [u8; 32] = h.finalize().into();
    let mut tail = [0u8; FRAME_TAIL_LEN];
    for (dst, src) in tail.iter_mut().zip(sum) {
        *dst = src;
    }
    out.extend_from_slice(&tail);
    Ok(())
}

/// Whether the bytes `read_frame` called torn are damage rather than a crash's leftover:
/// the written part of a torn final frame (without the zeros of unwritten blocks after it)
/// is shorter than one maximal frame and cannot contain a complete,
/// checksummed frame that continues the log (`continues(kind, payload)`: a record of a
/// later sequence, a checkpoint of this log). A forged head claiming a long length over
/// complete records fails this (those records are still there, as valid frames of later
/// sequences). Frame-shaped bytes that continue nothing (inside a torn record's caller-chosen
/// ids, review round 28) are a crash's leftover like the rest of the torn frame.
pub(crate) fn torn_is_damage(rest: &[u8], continues: impl Fn(u8, &[u8]) -> bool) -> bool {
    // Trailing zeros are a crash's unwritten blocks whatever their length (one write of a
    // group commit or a batch spans many frames); what was written is at most one frame.
    let written = written_len(rest);
    if written >= MAX_FRAME_LEN {
        return true;
    }
    // No frame starts inside the zeros (a zero head fails its check).
    (1..written).any(|i| {
        rest.get(i..)
            .and_then(complete_frame)
            .is_some_and(|(kind, payload)| continues(kind, payload))
    })
}

/// The kind and payload of a complete, checksummed frame at the start of `r` (cheap when
/// the head check fails).
fn complete_frame(r: &[u8]) -> Option<(u8, &[u8])> {
    let head_ok = r
        .get(..FRAME_HEAD_LEN)
        .and_then(|head| head.split_at_checked(5))
        .is_some_and(|(fixed, check)| sha_prefix::<4>(&[FRAME_HEAD_DOMAIN, fixed]) == check);
    if !head_ok {
        return None;
    }
    // Only a complete frame counts: no torn-or-corrupt decision, whose scan of the zeros
    // after `r` would run once per frame-shaped head (review round 54 LOW).
    match parse_frame(r, None) {
        FrameRead::Frame { kind, payload, .. } => Some((kind, payload)),
        _ => None,
    }
}

/// What lies at an offset of the frame area.
#[derive(Debug)]
pub(crate) enum FrameRead<'a> {
    /// A complete, checksummed frame; `len` is its total length in bytes.
    Frame {
        kind: u8,
        payload: &'a [u8],
        len: usize,
    },
    /// The bytes end inside a frame (or are all zero): a torn final write.
    Torn,
    /// A complete frame (or its header) is damaged; the frame type if it is still readable.
    Corrupt(Damage, Option<u8>),
}

/// The type byte of a frame whose header check failed, if it is a valid type (a single
/// flipped bit never turns one valid type into the other).
fn kind_hint(rest: &[u8]) -> Option<u8> {
    rest.first()
        .copied()
        .filter(|k| matches!(*k, FRAME_RECORD | FRAME_CHECKPOINT))
}

/// The length of `rest` without its trailing zero bytes.
fn written_len(rest: &[u8]) -> usize {
    rest.iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1)
}

/// The granularity of a crash's unwritten data: a file system writes a file back in
/// blocks, and a device tears a write at sector boundaries, so the zero-filled blocks a
/// power loss can leave at the end of a file start at a multiple of 512 bytes of the file
/// (or where the previous write ended, a frame boundary).
pub(crate) const CRASH_ALIGN: u64 = 512;

/// Whether the frame at file offset `offset`, `extent` bytes long (or its head, when that
/// is what failed), is one a crash cut: every byte from the frame's start or from a
/// multiple of [`CRASH_ALIGN`] inside its first `extent` bytes to the end of the file is
/// zero (review round 51: a crash leaves zero-filled blocks that start at block
/// boundaries, not at frame boundaries).
fn zero_filled_within(rest: &[u8], offset: u64, extent: usize) -> bool {
    let written = written_len(rest);
    if written == 0 {
        return true;
    }
    if written >= extent {
        return false;
    }
    let (Ok(written), Ok(extent)) = (u64::try_from(written), u64::try_from(extent)) else {
        return false;
    };
    let first_zero = offset.saturating_add(written);
    first_zero
        .checked_next_multiple_of(CRASH_ALIGN)
        .is_some_and(|block| block < offset.saturating_add(extent))
}

/// Reads the frame at the start of `rest` (non-empty), which is at file offset `offset`.
pub(crate) fn read_frame(rest: &[u8], offset: u64) -> FrameRead<'_> {
    parse_frame(rest, Some(offset))
}

/// [`read_frame`]; with `offset` `None`, a damaged frame is never called torn for zeros
/// after it (only a frame cut by the end of `rest` is).
fn parse_frame(rest: &[u8], offset: Option<u64>) -> FrameRead<'_> {
    let zero_filled =
        |extent| offset.is_some_and(|offset| zero_filled_within(rest, offset, extent));
    let Some((head, after)) = rest.split_at_checked(FRAME_HEAD_LEN) else {
        return FrameRead::Torn;
    };
    let Some((fixed, check)) = head.split_at_checked(5) else {
        return FrameRead::Torn;
    };
    if sha_prefix::<4>(&[FRAME_HEAD_DOMAIN, fixed]) != check {
        // A crash can leave zero-filled blocks at the end of a file, from the frame's start
        // or from a block boundary inside its head; anything else is damage.
        return if zero_filled(FRAME_HEAD_LEN) {
            FrameRead::Torn
        } else {
            FrameRead::Corrupt(Damage::FrameHeader, kind_hint(rest))
        };
    }
    let mut r = Reader::new(fixed);
    let (Ok(kind), Ok(len)) = (r.u8(), r.u32()) else {
        return FrameRead::Corrupt(Damage::FrameHeader, None);
    };
    if !matches!(kind, FRAME_RECORD | FRAME_CHECKPOINT) || len == 0 || len > MAX_FRAME_PAYLOAD {
        return FrameRead::Corrupt(Damage::FrameHeader, kind_hint(rest));
    }
    let len = len as usize;
    let Some((payload, after)) = after.split_at_checked(len) else {
        return FrameRead::Torn;
    };
    let Some((sum, _)) = after.split_at_checked(FRAME_TAIL_LEN) else {
        return FrameRead::Torn;
    };
    let frame_len = FRAME_HEAD_LEN + len + FRAME_TAIL_LEN;
    if sha_prefix::<8>(&[FRAME_DOMAIN, fixed, payload]) != sum {
        // The head was written; a crash can have left the blocks after it unwritten.
        return if zero_filled(frame_len) {
            FrameRead::Torn
        } else {
            FrameRead::Corrupt(Damage::FrameChecksum, Some(kind))
        };
    }
    FrameRead::Frame {
        kind,
        payload,
        len: frame_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_checks() {
        let h = FileHeader {
            version: FILE_VERSION,
            mode: ChainMode::Keyed,
            log_id: LogId::from_array([7; 16]),
            key_check: [8; 16],
            public_key: Some(ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key()),
            checkpoint_every: 100,
        };
        let enc = h.encode();
        assert_eq!(enc.len(), HEADER_LEN);
        assert_eq!(FileHeader::decode(&enc).unwrap(), h);
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 1;
            assert!(FileHeader::decode(&bad).is_err(), "flip at {i} accepted");
        }
        assert!(FileHeader::decode(&enc[..HEADER_LEN - 1]).is_err());
    }

    #[test]
    fn frame_round_trip_torn_and_corrupt() {
        let mut f = Vec::new();
        write_frame_parts(&mut f, FRAME_RECORD, &[b"hel", b"lo"]).unwrap();
        assert!(
            matches!(read_frame(&f, 0), FrameRead::Frame { kind: FRAME_RECORD, payload: b"hello", len } if len == f.len())
        );
        for cut in 1..f.len() {
            assert!(
                matches!(read_frame(&f[..cut], 0), FrameRead::Torn),
                "cut {cut}"
            );
        }
        for i in 0..f.len() {
            let mut bad = f.clone();
            bad[i] ^= 0x10;
            assert!(
                matches!(read_frame(&bad, 0), FrameRead::Corrupt(..)),
                "flip {i}"
            );
        }
        assert!(matches!(read_frame(&[0; 40], 0), FrameRead::Torn));
        assert!(!torn_is_damage(&[0; 40], |_, _| true));
        let too_long = vec![0u8; MAX_FRAME_PAYLOAD as usize + 1];
        let before = f.len();
        assert!(write_frame_parts(&mut f, FRAME_RECORD, &[&too_long]).is_err());
        assert_eq!(f.len(), before);
    }

    /// A head claiming a long length over a complete frame reads as torn, but is damage.
    #[test]
    fn forged_length_over_a_frame_is_damage() {
        let mut tail = Vec::new();
        write_frame_parts(&mut tail, FRAME_RECORD, &[b"complete record"]).unwrap();
        let mut forged = Vec::new();
        write_frame_parts(&mut forged, FRAME_RECORD, &[&[7u8; 1000]]).unwrap();
        forged.truncate(FRAME_HEAD_LEN + 3);
        forged.extend_from_slice(&tail);
        assert!(matches!(read_frame(&forged, 0), FrameRead::Torn));
        assert!(torn_is_damage(&forged, |_, _| true));
        // A hidden frame that continues nothing (frame-shaped bytes inside a torn record's
        // ids) is a crash's leftover.
        assert!(!torn_is_damage(&forged, |_, _| false));
        // A genuine torn frame (a prefix of one frame) is not.
        let mut genuine = Vec::new();
        write_frame_parts(&mut genuine, FRAME_RECORD, &[&[7u8; 1000]]).unwrap();
        genuine.truncate(500);
        assert!(!torn_is_damage(&genuine, |_, _| true));
        // The zeros of unwritten blocks count for nothing, however many; written bytes of
        // one maximal frame or more are damage.
        assert!(!torn_is_damage(&vec![0u8; 4 * MAX_FRAME_LEN], |_, _| false));
        let mut long = vec![7u8; MAX_FRAME_LEN];
        long.extend_from_slice(&[0; 100]);
        assert!(torn_is_damage(&long, |_, _| false));
    }

    /// A frame whose bytes are zero from a multiple of 512 bytes of the file (or from its
    /// own start) to the end of the file is torn; zeros that start anywhere else, or a
    /// frame complete before them, are damage.
    #[test]
    fn zero_filled_blocks_inside_the_last_frame_are_torn() {
        let mut frame = Vec::new();
        write_frame_parts(&mut frame, FRAME_RECORD, &[&[7u8; 1000]]).unwrap();
        let len = frame.len() as u64;
        // The frame at file offset 1000 ends at 2017: the block boundaries inside it are
        // 1024 (24 bytes in) and 1536 (536 bytes in). Zeros to the end of the file from
        // before either are torn; from after the last, damage.
        for (zero_from, torn) in [
            (24, true),
            (23, true),
            (536, true),
            (100, true),
            (537, false),
            (1000, false),
        ] {
            let mut image = frame.clone();
            image[zero_from..].fill(0);
            let read = read_frame(&image, 1000);
            assert_eq!(
                matches!(read, FrameRead::Torn),
                torn,
                "zeros from {zero_from}: {read:?}"
            );
            if !torn {
                assert!(matches!(read, FrameRead::Corrupt(Damage::FrameChecksum, _)));
            }
        }
        // Zeros after the whole frame belong to the next one: this frame is complete.
        let mut image = frame.clone();
        image.extend_from_slice(&[0; 600]);
        assert!(matches!(read_frame(&image, 1000), FrameRead::Frame { .. }));
        // A boundary inside the 9-byte head (the frame at 1020: 1024 is 4 bytes in).
        for (zero_from, torn) in [(4, true), (2, true), (5, false), (8, false)] {
            let mut image = frame.clone();
            image[zero_from..].fill(0);
            // The written part must itself end before the zeros (a written zero byte of the
            // head would move the start of the zero run).
            if image[..zero_from].last() == Some(&0) {
                continue;
            }
            let read = read_frame(&image, 1020);
            assert_eq!(
                matches!(read, FrameRead::Torn),
                torn,
                "zeros from {zero_from} of the head: {read:?}"
            );
        }
        // Zeros from the frame's own start (the end of the previous write) are torn at any
        // offset; a bad head with non-zero bytes past a boundary is damage.
        assert!(matches!(read_frame(&[0; 700], 1001), FrameRead::Torn));
        let mut bad_head = frame.clone();
        bad_head[8] ^= 1;
        assert!(matches!(
            read_frame(&bad_head, 1024),
            FrameRead::Corrupt(Damage::FrameHeader, _)
        ));
        assert_eq!(len, 1017);
    }
}
