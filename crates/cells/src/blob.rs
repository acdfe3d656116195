//! The cell blob format (docs/formats.md, "Cell blob"): one header, then the cascaded
//! ciphertext. Every byte of the header is authenticated by every layer: the names and
//! numbers as associated data, each layer's key commitment by the constant-time comparison
//! with the key that opens it, each nonce by AES-GCM itself (ADR 0090).
//!
//! `magic "HXVC" || version 02 || top layer || flags || u32be master version ||
//! u32be cell version ||
//! id(partition) || id(cell) || id(object) || [id(policy) if top ≥ 1] ||
//! [session id (16) if top = 2] || (commitment (32) || nonce (12)) for layers 0..=top ||
//! ciphertext || tag(top)`, where `id(x) = u8 len || x` and the ciphertext of layer `i`
//! encrypts `ciphertext(i-1) || tag(i-1)`.

use crate::keys::COMMIT_LEN;
use crate::session::SESSION_ID_LEN;
use crate::{Error, Layer, MAX_ID_LEN, Result};

/// The four bytes every cell blob starts with.
pub const MAGIC: [u8; 4] = *b"HXVC";
/// The cell blob format version this build writes: its layers take as associated data the
/// header without the layer parameters (ADR 0090).
pub const FORMAT_VERSION: u8 = 2;
/// The first cell blob format, still read: its layers took the whole header as associated
/// data. Never written.
pub(crate) const FORMAT_VERSION_1: u8 = 1;
/// Every cell blob format version this build reads (it writes [`FORMAT_VERSION`] only).
pub const READ_FORMAT_VERSIONS: [u8; 2] = [FORMAT_VERSION_1, FORMAT_VERSION];
/// AES-GCM nonce length.
pub(crate) const NONCE_LEN: usize = hexvault_aead::NONCE_LEN;
/// AES-GCM tag length.
pub(crate) const TAG_LEN: usize = hexvault_aead::TAG_LEN;
/// Flag: the sealed content is a compressed envelope (`Cell::seal_compressed`).
pub(crate) const FLAG_COMPRESSED: u8 = 0x01;
/// Bytes of the fixed part: magic, version, top layer, flags, master and cell versions.
pub(crate) const FIXED_LEN: usize = 4 + 1 + 1 + 1 + 4 + 4;

/// Bytes of one layer's parameters in the header: key commitment and nonce.
pub(crate) const PARAMS_LEN: usize = COMMIT_LEN + NONCE_LEN;

/// One layer's public parameters in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct LayerParams {
    pub(crate) commitment: [u8; COMMIT_LEN],
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// A parsed header, borrowing its ids from the blob.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) top: Layer,
    pub(crate) flags: u8,
    pub(crate) master_version: u32,
    pub(crate) cell_version: u32,
    pub(crate) partition: &'a [u8],
    pub(crate) cell: &'a [u8],
    pub(crate) object: &'a [u8],
    pub(crate) policy: Option<&'a [u8]>,
    pub(crate) session: Option<[u8; SESSION_ID_LEN]>,
    pub(crate) layers: [LayerParams; 3],
    /// Length of the header in bytes.
    pub(crate) len: usize,
    /// Length of the header's first bytes that every layer takes as associated data: all
    /// but the layer parameters in format 2 ([`authenticated_len`]), the whole header in
    /// format 1.
    pub(crate) aad_len: usize,
}

/// The bytes of a format-2 header of `len` bytes with top layer `top` that every layer
/// authenticates as associated data: everything before the layer parameters. The
/// parameters are authenticated without being associated data: a layer opens only after
/// its key commitment compared equal to the key's own (a changed commitment fails there),
/// and AES-GCM authenticates its nonce (a changed nonce fails the tag).
pub(crate) fn authenticated_len(top: Layer, len: usize) -> usize {
    len.saturating_sub((usize::from(top.number()) + 1) * PARAMS_LEN)
}

/// The length of a header with these fields.
pub(crate) fn header_len(
    top: Layer,
    partition: &[u8],
    cell: &[u8],
    object: &[u8],
    policy: Option<&[u8]>,
) -> usize {
    let layers = usize::from(top.number()) + 1;
    FIXED_LEN
        + 3
        + partition.len()
        + cell.len()
        + object.len()
        + policy.map_or(0, |p| 1 + p.len())
        + if top == Layer::Session {
            SESSION_ID_LEN
        } else {
            0
        }
        + layers * PARAMS_LEN
}

fn push_id(out: &mut Vec<u8>, id: &[u8]) -> Result<()> {
    let len = u8::try_from(id.len()).map_err(|_| Error::Internal {
        what: "a validated id is longer than 255 bytes",
    })?;
    out.push(len);
    out.extend_from_slice(id);
    Ok(())
}

/// Writes the fields every header starts with: the fixed part, then the partition, cell
/// and object ids.
#[allow(clippy::too_many_arguments)]
fn write_prefix(
    out: &mut Vec<u8>,
    top: Layer,
    flags: u8,
    master_version: u32,
    cell_version: u32,
    partition: &[u8],
    cell: &[u8],
    object: &[u8],
) -> Result<()> {
    let [m0, m1, m2, m3] = master_version.to_be_bytes();
    let [c0, c1, c2, c3] = cell_version.to_be_bytes();
    let [a, b, c, d] = MAGIC;
    let fixed: [u8; FIXED_LEN] = [
        a,
        b,
        c,
        d,
        FORMAT_VERSION,
        top.number(),
        flags,
        m0,
        m1,
        m2,
        m3,
        c0,
        c1,
        c2,
        c3,
    ];
    out.extend_from_slice(&fixed);
    push_id(out, partition)?;
    push_id(out, cell)?;
    push_id(out, object)
}

/// Writes a header (as [`Header::parse`] reads it) to the end of `out`.
pub(crate) fn write_header(out: &mut Vec<u8>, h: &Header<'_>) -> Result<()> {
    write_prefix(
        out,
        h.top,
        h.flags,
        h.master_version,
        h.cell_version,
        h.partition,
        h.cell,
        h.object,
    )?;
    match (h.top, h.policy, h.session) {
        (Layer::Rest, None, None) => {}
        (Layer::Access, Some(p), None) => push_id(out, p)?,
        (Layer::Session, Some(p), Some(s)) => {
            push_id(out, p)?;
            out.extend_from_slice(&s);
        }
        _ => {
            return Err(Error::Internal {
                what: "header fields do not match its top layer",
            });
        }
    }
    for params in h.layers.iter().take(usize::from(h.top.number()) + 1) {
        out.extend_from_slice(&params.commitment);
        out.extend_from_slice(&params.nonce);
    }
    Ok(())
}

/// Writes the header of a layer-0 blob to the end of `out`: the bytes [`write_header`]
/// writes for a [`Header`] with top layer 0 and these fields, without building one (the
/// hot path of a layer-0 seal).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_rest_header(
    out: &mut Vec<u8>,
    flags: u8,
    master_version: u32,
    cell_version: u32,
    partition: &[u8],
    cell: &[u8],
    object: &[u8],
    commitment: &[u8; COMMIT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<()> {
    write_prefix(
        out,
        Layer::Rest,
        flags,
        master_version,
        cell_version,
        partition,
        cell,
        object,
    )?;
    out.extend_from_slice(commitment);
    out.extend_from_slice(nonce);
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// The error of a malformed field. Built only when a field is wrong: an error value built
/// eagerly and dropped on success costs a call to its drop glue on the hot path.
#[cold]
const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| malformed(what))?;
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| malformed(what))?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        bytes.try_into().map_err(|_| malformed(what))
    }

    fn id(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let [len] = self.array::<1>(what)?;
        let len = usize::from(len);
        if len == 0 || len > MAX_ID_LEN {
            return Err(Error::Malformed { what });
        }
        self.take(len, what)
    }
}

/// The length of the sealed payload `blob` carries: its ciphertext without the layers'
/// tags, which is the plaintext's length unless the blob is compressed. Read from the public
/// header and the blob's length; nothing is decrypted or authenticated, so a blob that lies
/// here is refused when it is opened.
///
/// # Errors
/// [`Error::Malformed`] for a blob whose header does not parse.
pub fn sealed_payload_len(blob: &[u8]) -> Result<usize> {
    let header = Header::parse(blob)?;
    let tags = (usize::from(header.top.number()) + 1) * TAG_LEN;
    blob.len()
        .checked_sub(header.len)
        .and_then(|body| body.checked_sub(tags))
        .ok_or(Error::Malformed {
            what: "ciphertext shorter than its authentication tags",
        })
}

impl<'a> Header<'a> {
    /// Parses the header of `blob` and checks that a ciphertext with every tag follows. Does
    /// not authenticate anything.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the first field that is wrong.
    pub(crate) fn parse(blob: &'a [u8]) -> Result<Self> {
        let mut r = Reader {
            bytes: blob,
            pos: 0,
        };
        if r.array::<4>("truncated magic")? != MAGIC {
            return Err(Error::Malformed {
                what: "not a cell blob (unknown magic)",
            });
        }
        let [version] = r.array::<1>("truncated version")?;
        if version != FORMAT_VERSION && version != FORMAT_VERSION_1 {
            return Err(Error::Malformed {
                what: "unsupported cell blob format version",
            });
        }
        let [top] = r.array::<1>("truncated layer")?;
        let top = Layer::from_number(top)?;
        let [flags] = r.array::<1>("truncated flags")?;
        if flags & !FLAG_COMPRESSED != 0 {
            return Err(Error::Malformed {
                what: "unknown flags in the cell blob header",
            });
        }
        let master_version = u32::from_be_bytes(r.array("truncated master version")?);
        let cell_version = u32::from_be_bytes(r.array("truncated cell version")?);
        if master_version == 0 || cell_version == 0 {
            return Err(Error::Malformed {
                what: "key version 0 is reserved",
            });
        }
        let partition = r.id("bad partition id")?;
        let cell = r.id("bad cell id")?;
        let object = r.id("bad object id")?;
        let policy = if top >= Layer::Access {
            Some(r.id("bad policy id")?)
        } else {
            None
        };
        let session = if top == Layer::Session {
            Some(r.array::<SESSION_ID_LEN>("truncated session id")?)
        } else {
            None
        };
        let mut layers = [LayerParams::default(); 3];
        for params in layers.iter_mut().take(usize::from(top.number()) + 1) {
            params.commitment = r.array("truncated key commitment")?;
            params.nonce = r.array("truncated nonce")?;
        }
        let len = r.pos;
        let aad_len = if version == FORMAT_VERSION_1 {
            len
        } else {
            authenticated_len(top, len)
        };
        let tags = (usize::from(top.number()) + 1) * TAG_LEN;
        if blob.len().saturating_sub(len) < tags {
            return Err(Error::Malformed {
                what: "ciphertext shorter than its authentication tags",
            });
        }
        Ok(Self {
            top,
            flags,
            master_version,
            cell_version,
            partition,
            cell,
            object,
            policy,
            session,
            layers,
            len,
            aad_len,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn header(top: Layer) -> Header<'static> {
        let mut layers = [LayerParams::default(); 3];
        for (i, l) in layers.iter_mut().enumerate() {
            l.commitment = [i as u8 + 1; 32];
            l.nonce = [i as u8 + 10; 12];
        }
        for l in layers.iter_mut().skip(usize::from(top.number()) + 1) {
            *l = LayerParams::default();
        }
        let len = header_len(
            top,
            b"tenant",
            b"inbox",
            b"msg-1",
            (top >= Layer::Access).then_some(&b"pol"[..]),
        );
        Header {
            top,
            flags: 0,
            master_version: 3,
            cell_version: 9,
            partition: b"tenant",
            cell: b"inbox",
            object: b"msg-1",
            policy: (top >= Layer::Access).then_some(&b"pol"[..]),
            session: (top == Layer::Session).then_some([5; 16]),
            layers,
            len,
            aad_len: authenticated_len(top, len),
        }
    }

    #[test]
    fn headers_round_trip_at_every_layer() {
        for top in [Layer::Rest, Layer::Access, Layer::Session] {
            let h = header(top);
            let mut out = Vec::new();
            write_header(&mut out, &h).unwrap();
            assert_eq!(out.len(), h.len);
            let body = vec![0u8; (usize::from(top.number()) + 1) * TAG_LEN];
            out.extend_from_slice(&body);
            assert_eq!(Header::parse(&out).unwrap(), h);
            // One byte of tag missing: rejected.
            assert!(Header::parse(&out[..out.len() - 1]).is_err());
        }
    }

    #[test]
    fn the_layer0_writer_writes_the_bytes_of_the_generic_one() {
        for flags in [0, FLAG_COMPRESSED] {
            let mut h = header(Layer::Rest);
            h.flags = flags;
            let mut generic = Vec::new();
            write_header(&mut generic, &h).unwrap();
            let mut rest = Vec::new();
            write_rest_header(
                &mut rest,
                flags,
                h.master_version,
                h.cell_version,
                h.partition,
                h.cell,
                h.object,
                &h.layers[0].commitment,
                &h.layers[0].nonce,
            )
            .unwrap();
            assert_eq!(rest, generic);
            assert_eq!(rest.len(), h.len);
        }
    }

    #[test]
    fn format_1_headers_are_read_with_the_whole_header_as_associated_data() {
        for top in [Layer::Rest, Layer::Access, Layer::Session] {
            let h = header(top);
            let mut out = Vec::new();
            write_header(&mut out, &h).unwrap();
            assert_eq!(out[4], FORMAT_VERSION);
            out.extend_from_slice(&vec![0u8; (usize::from(top.number()) + 1) * TAG_LEN]);
            assert_eq!(
                Header::parse(&out).unwrap().aad_len,
                h.len - (usize::from(top.number()) + 1) * PARAMS_LEN
            );
            out[4] = FORMAT_VERSION_1;
            let old = Header::parse(&out).unwrap();
            assert_eq!((old.len, old.aad_len), (h.len, h.len));
            for unknown in [0u8, 3, 0xff] {
                out[4] = unknown;
                assert!(matches!(
                    Header::parse(&out),
                    Err(Error::Malformed {
                        what: "unsupported cell blob format version"
                    })
                ));
            }
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Header::parse(&bytes);
        }

        #[test]
        fn parse_then_write_gives_back_the_header_bytes(
            top in 0u8..3, p in "[a-z]{1,20}", c in "[a-z]{1,20}", o in "[a-z0-9]{1,40}",
            extra in proptest::collection::vec(any::<u8>(), 48..80),
        ) {
            let top = Layer::from_number(top).unwrap();
            let mut h = header(top);
            h.partition = p.as_bytes();
            h.cell = c.as_bytes();
            h.object = o.as_bytes();
            let mut out = Vec::new();
            write_header(&mut out, &h).unwrap();
            let hl = out.len();
            out.extend_from_slice(&extra);
            let parsed = Header::parse(&out).unwrap();
            let mut again = Vec::new();
            write_header(&mut again, &parsed).unwrap();
            prop_assert_eq!(&again[..], &out[..hl]);
            prop_assert_eq!(parsed.len, hl);
            // Format 2: everything but the layer parameters is associated data.
            prop_assert_eq!(parsed.aad_len, hl - (usize::from(top.number()) + 1) * 44);
        }
    }
}
