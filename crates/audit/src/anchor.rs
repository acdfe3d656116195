//! The anchor: a log's latest checkpoint kept in a small file outside the log (and
//! shippable elsewhere), so that cutting the log after any checkpoint is detected.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::{CHECKPOINT_LEN, Checkpoint, Error, LogId, Result, Sequence};

/// The 8 magic bytes that open an anchor file.
pub const ANCHOR_MAGIC: [u8; 8] = *b"HXANCHR\0";
/// The anchor format version this build writes and reads.
pub const ANCHOR_VERSION: u16 = 1;
/// Length of an anchor file: magic, version, a format-2 checkpoint, check.
pub const ANCHOR_LEN: usize = 8 + 2 + CHECKPOINT_LEN + 8;

const ANCHOR_DOMAIN: &[u8] = b"hexvault-audit/v2/anchor";

/// A signed format-2 checkpoint held outside the log: log id, sequence, both chain values
/// and the signature. [`crate::FileLog`] rewrites `<log>.anchor` atomically after each
/// checkpoint is durable in the log; an operator can copy it elsewhere. A verifier given
/// it ([`crate::Verifier::with_anchor`]) reports a log that ends before its sequence as
/// cut, with the number of records missing.
///
/// The anchor is only as trustworthy as its signature: it is checked against the
/// verifier's trusted public key, never against a key in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    checkpoint: Checkpoint,
}

fn check_value(body: &[u8]) -> [u8; 8] {
    let full: [u8; 32] = Sha256::new()
        .chain_update(ANCHOR_DOMAIN)
        .chain_update(body)
        .finalize()
        .into();
    let mut out = [0u8; 8];
    for (dst, src) in out.iter_mut().zip(full) {
        *dst = src;
    }
    out
}

impl Anchor {
    /// Wraps a format-2 checkpoint.
    ///
    /// # Errors
    /// [`Error::BadAnchor`] for a format-1 checkpoint (it does not cover the public chain).
    pub fn new(checkpoint: Checkpoint) -> Result<Self> {
        if checkpoint.public_chain.is_none() {
            return Err(Error::BadAnchor(
                "a format-1 checkpoint cannot be an anchor",
            ));
        }
        Ok(Self { checkpoint })
    }

    /// The signed checkpoint.
    #[must_use]
    pub const fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The log it belongs to.
    #[must_use]
    pub const fn log_id(&self) -> LogId {
        self.checkpoint.log_id
    }

    /// The last record it covers: a log with fewer records was cut.
    #[must_use]
    pub const fn sequence(&self) -> Sequence {
        self.checkpoint.sequence
    }

    /// Where a log at `log_path` keeps its anchor: the same path with `.anchor` appended.
    #[must_use]
    pub fn path_for(log_path: &Path) -> PathBuf {
        let mut s = OsString::from(log_path.as_os_str());
        s.push(".anchor");
        PathBuf::from(s)
    }

    /// The anchor file's bytes (see `docs/formats.md`, "Audit anchor file").
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(ANCHOR_LEN);
        w.raw(&ANCHOR_MAGIC);
        w.u16(ANCHOR_VERSION);
        w.raw(&self.checkpoint.encode());
        let mut v = w.into_vec();
        let check = check_value(&v);
        v.extend_from_slice(&check);
        v
    }

    /// Parses an anchor file's bytes (the signature is checked by the verifier).
    ///
    /// # Errors
    /// [`Error::BadAnchor`] if the bytes are not exactly a version-1 anchor holding a
    /// format-2 checkpoint.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad =
            |_| Error::BadAnchor("not a hexvault audit anchor file (bad magic, length or check)");
        let (body, check) = bytes
            .split_at_checked(ANCHOR_LEN.saturating_sub(8))
            .ok_or(Error::BadAnchor("anchor file too short"))?;
        if bytes.len() != ANCHOR_LEN || check_value(body) != check {
            return Err(Error::BadAnchor(
                "not a hexvault audit anchor file (bad length or check value)",
            ));
        }
        let mut r = Reader::new(body);
        if r.array::<8>().map_err(bad)? != ANCHOR_MAGIC {
            return Err(Error::BadAnchor(
                "not a hexvault audit anchor file (bad magic)",
            ));
        }
        if r.u16().map_err(bad)? != ANCHOR_VERSION {
            return Err(Error::BadAnchor(
                "unsupported anchor version; upgrade hexvault",
            ));
        }
        let cp = Checkpoint::decode(r.take(CHECKPOINT_LEN).map_err(bad)?)
            .map_err(|_| Error::BadAnchor("the anchor's checkpoint is malformed"))?;
        r.finish().map_err(bad)?;
        Self::new(cp)
    }

    /// Reads an anchor file: a regular file (a FIFO, a device or a directory in its place
    /// is refused before it is opened, so the read cannot hang or run without end), of
    /// which at most one byte past [`ANCHOR_LEN`] is read (review round 53 LOW).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::BadAnchor`] for a path that is not a regular file, and the
    /// errors of [`Anchor::decode`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        use std::io::Read as _;
        let path = path.as_ref();
        let not_a_file = Error::BadAnchor("the anchor path is not a regular file");
        if !std::fs::metadata(path)?.is_file() {
            return Err(not_a_file);
        }
        let file = std::fs::File::open(path)?;
        if !file.metadata()?.is_file() {
            return Err(not_a_file);
        }
        let mut bytes = Vec::with_capacity(ANCHOR_LEN + 1);
        file.take(ANCHOR_LEN as u64 + 1).read_to_end(&mut bytes)?;
        Self::decode(&bytes)
    }

    /// Replaces the file at `path` atomically: removes a leftover `<path>.tmp` (a file or
    /// a link, never what a link points to), creates it anew with `create_new` (`O_EXCL`:
    /// a link planted there in between is refused, never followed), writes and syncs it,
    /// renames it over `path` and syncs the directory. A crash leaves the old or the new
    /// anchor. Callers serialize it (the [`crate::FileLog`] lock).
    pub(crate) fn write_atomic(&self, path: &Path) -> Result<()> {
        let mut tmp = OsString::from(path.as_os_str());
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(e)),
        }
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&self.encode())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_parent(path)
    }
}

/// Syncs the directory that holds `path` (so a create or rename in it is durable).
pub(crate) fn sync_parent(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainMode, ChainValue, SigningKey};

    fn anchor() -> Anchor {
        let sk = SigningKey::from_bytes(&[3; 32]);
        Anchor::new(Checkpoint::sign(
            &sk,
            LogId::from_array([1; 16]),
            ChainMode::Keyed,
            Sequence::new(41),
            ChainValue::from_bytes([4; 32]),
            ChainValue::from_bytes([5; 32]),
        ))
        .unwrap()
    }

    #[test]
    fn round_trip_and_every_flip_rejected() {
        let a = anchor();
        let enc = a.encode();
        assert_eq!(enc.len(), ANCHOR_LEN);
        assert_eq!(ANCHOR_LEN, 172);
        assert_eq!(Anchor::decode(&enc).unwrap(), a);
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 1;
            assert!(Anchor::decode(&bad).is_err(), "flip at {i} accepted");
        }
        assert!(Anchor::decode(&enc[..enc.len() - 1]).is_err());
        let mut long = enc;
        long.push(0);
        assert!(Anchor::decode(&long).is_err());
    }

    #[test]
    fn v1_checkpoint_is_no_anchor_and_path_appends_suffix() {
        let mut cp = anchor().checkpoint().clone();
        cp.public_chain = None;
        assert!(Anchor::new(cp).is_err());
        assert_eq!(
            Anchor::path_for(Path::new("/var/log/a.log")),
            PathBuf::from("/var/log/a.log.anchor")
        );
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.anchor");
        anchor().write_atomic(&path).unwrap();
        assert_eq!(Anchor::read(&path).unwrap(), anchor());
        assert!(!dir.path().join("x.anchor.tmp").exists());
    }

    #[test]
    fn a_leftover_temporary_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.anchor");
        std::fs::write(dir.path().join("x.anchor.tmp"), b"left over by a crash").unwrap();
        anchor().write_atomic(&path).unwrap();
        assert_eq!(Anchor::read(&path).unwrap(), anchor());
        assert!(!dir.path().join("x.anchor.tmp").exists());
    }
}
