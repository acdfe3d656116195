//! Audit records, their field types and their canonical length-prefixed encoding.
//!
//! The encoding is a read/write pair: [`AuditRecord::encode`] and [`AuditRecord::decode`].
//! `decode` accepts exactly the bytes `encode` produces (no trailing bytes, tags 0 or 1
//! only, known codes only), so `decode(encode(r)) == r` and `encode` is injective.

use core::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::{ChainValue, Error, Result};

/// Version byte of a record that carries a [`Binding::Sealed`] blob reference (ADR 0081):
/// the version-2 layout with the context made optional (one presence byte) and blob
/// references that say which binding they carry.
pub const RECORD_VERSION_V3: u8 = 3;
/// Version byte of a record that carries a [`Context`] (route or edge, policy, session,
/// actor) and only digest blob references.
pub const RECORD_VERSION: u8 = 2;
/// Version byte of a record without a [`Context`]: the version-1 encoding, byte for byte, so
/// every version-1 log still decodes and verifies, and a record that needs no context is
/// written exactly as before.
pub const RECORD_VERSION_V1: u8 = 1;
/// Maximum length in bytes of a [`PartitionId`] or [`CellId`].
pub const MAX_ID_LEN: usize = 256;
/// Length of the smallest record encoding (no endpoints, no blobs, success): version 1,
/// sequence 8, timestamp 8, kind 2, four absent-tags 4, outcome 3, prev chain 32.
pub const MIN_RECORD_LEN: usize = 1 + 8 + 8 + 2 + 4 + 3 + 32;

/// A record's position in its log: gapless, starting at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence(u64);

impl Sequence {
    /// The first sequence number of every log.
    pub const ZERO: Self = Self(0);

    /// Wraps a raw sequence number.
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The raw value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next sequence number, or `None` at `u64::MAX`.
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        match self.0.checked_add(1) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Wall-clock time of a record: nanoseconds since 1970-01-01T00:00:00 UTC (Unix time,
/// no leap seconds), as a `u64` (valid until the year 2554).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Reads the system clock.
    ///
    /// # Errors
    /// [`Error::Clock`] if the clock is before 1970 or past 2554.
    pub fn now() -> Result<Self> {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::Clock)?;
        u64::try_from(since.as_nanos())
            .map(Self)
            .map_err(|_| Error::Clock)
    }

    /// Wraps nanoseconds since the Unix epoch (UTC).
    #[must_use]
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the Unix epoch (UTC).
    #[must_use]
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }
}

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        ///
        /// Shared and immutable: a clone is a reference count, not a copy, so a caller that
        /// names the same id in many records builds it once.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<[u8]>);

        impl $name {
            /// Wraps an identifier of at most [`MAX_ID_LEN`] bytes.
            ///
            /// # Errors
            /// [`Error::TooLong`] if longer than [`MAX_ID_LEN`].
            pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
                let bytes = bytes.into();
                if bytes.len() > MAX_ID_LEN {
                    return Err(Error::TooLong { field: $field, len: bytes.len(), max: MAX_ID_LEN });
                }
                Ok(Self(Arc::from(bytes)))
            }

            /// The identifier's bytes.
            #[must_use]
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        /// Printable UTF-8 is shown as text, anything else as `0x` and lowercase hex.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                display_bytes(&self.0, f)
            }
        }
    };
}

fn display_bytes(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match core::str::from_utf8(bytes) {
        Ok(s) if !s.is_empty() && !s.starts_with("0x") && s.chars().all(|c| !c.is_control()) => {
            f.write_str(s)
        }
        _ => {
            f.write_str("0x")?;
            bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
}

byte_id!(
    /// Identifier of a partition, as the cells crate names it (opaque bytes, at most 256).
    PartitionId,
    "partition id"
);
byte_id!(
    /// Identifier of a cell inside a partition (opaque bytes, at most 256).
    CellId,
    "cell id"
);
byte_id!(
    /// An identifier in a record's [`Context`]: a route or edge id, a policy id, a session
    /// id or an actor (opaque bytes, at most 256).
    ContextId,
    "context id"
);

/// Who and what an event concerns beyond its endpoints (record version 2): the route or
/// edge that moved data, the policy and session whose credentials opened it, the actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Context {
    /// The route or edge id.
    pub route: Option<ContextId>,
    /// The policy id (the cells crate's access policy).
    pub policy: Option<ContextId>,
    /// The session id.
    pub session: Option<ContextId>,
    /// Who acted (a user, service or token holder, as the caller names it).
    pub actor: Option<ContextId>,
}

impl Context {
    /// An empty context (all four fields absent).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            route: None,
            policy: None,
            session: None,
            actor: None,
        }
    }

    /// Sets the route or edge id.
    #[must_use]
    pub fn route(mut self, id: ContextId) -> Self {
        self.route = Some(id);
        self
    }

    /// Sets the policy id.
    #[must_use]
    pub fn policy(mut self, id: ContextId) -> Self {
        self.policy = Some(id);
        self
    }

    /// Sets the session id.
    #[must_use]
    pub fn session(mut self, id: ContextId) -> Self {
        self.session = Some(id);
        self
    }

    /// Sets the actor.
    #[must_use]
    pub fn actor(mut self, id: ContextId) -> Self {
        self.actor = Some(id);
        self
    }

    const fn fields(&self) -> [&Option<ContextId>; 4] {
        [&self.route, &self.policy, &self.session, &self.actor]
    }
}

/// A layer number inside a cell (0 at rest, 1 access, 2 session; other values reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(pub u8);

/// A key version (the one a ciphertext header names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyVersion(pub u32);

/// One side of an event: where data came from or went to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The partition.
    pub partition: PartitionId,
    /// The cell inside the partition.
    pub cell: CellId,
    /// The layer the data was sealed or opened at.
    pub layer: Layer,
    /// The key version used at that layer.
    pub key_version: KeyVersion,
}

impl Endpoint {
    /// Builds an endpoint.
    #[must_use]
    pub const fn new(
        partition: PartitionId,
        cell: CellId,
        layer: Layer,
        key_version: KeyVersion,
    ) -> Self {
        Self {
            partition,
            cell,
            layer,
            key_version,
        }
    }
}

/// How a [`BlobRef`] binds its blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Binding {
    /// SHA-256 over the blob's header, nonce and tag, each length-prefixed
    /// ([`BlobRef::bind`], `docs/formats.md`).
    Digest([u8; 32]),
    /// The blob's top-layer AEAD nonce and tag themselves ([`BlobRef::sealed`]): no hash.
    /// The tag authenticates the blob's header and ciphertext under the layer key, so a
    /// blob that authenticates under that key with this nonce and tag is the recorded blob
    /// (unless the AEAD's authenticity fails). It binds nothing without the key: anyone can
    /// write other bytes, with another header, carrying the same nonce and tag (they do
    /// not authenticate).
    Sealed {
        /// The top layer's 12-byte nonce.
        nonce: [u8; 12],
        /// The top layer's 16-byte tag (the blob's last 16 bytes).
        tag: [u8; 16],
    },
}

/// A reference that binds one sealed blob without hashing its whole payload.
///
/// `binding` is a SHA-256 digest of the blob's header, nonce and tag ([`BlobRef::bind`]) or
/// the top layer's nonce and tag themselves ([`BlobRef::sealed`]; see [`Binding`] for what
/// each proves). `payload` is an opt-in SHA-256 of the whole sealed blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobRef {
    /// The binding of header, nonce and tag, or of nonce and tag.
    pub binding: Binding,
    /// Optional SHA-256 of the whole sealed blob.
    pub payload: Option<[u8; 32]>,
}

const BLOB_DOMAIN: &[u8] = b"hexvault-audit/v1/blob";
const PAYLOAD_DOMAIN: &[u8] = b"hexvault-audit/v1/payload";

impl BlobRef {
    /// Binds a blob by a digest of its header, nonce and tag (costs three to four SHA-256
    /// blocks for a cell blob's header).
    ///
    /// # Errors
    /// [`Error::TooLong`] if a part is longer than `u32::MAX` bytes.
    pub fn bind(header: &[u8], nonce: &[u8], tag: &[u8]) -> Result<Self> {
        let mut h = Sha256::new();
        h.update(BLOB_DOMAIN);
        for (part, name) in [
            (header, "blob header"),
            (nonce, "blob nonce"),
            (tag, "blob tag"),
        ] {
            let len = u32::try_from(part.len()).map_err(|_| Error::TooLong {
                field: name,
                len: part.len(),
                max: u32::MAX as usize,
            })?;
            h.update(len.to_be_bytes());
            h.update(part);
        }
        Ok(Self {
            binding: Binding::Digest(h.finalize().into()),
            payload: None,
        })
    }

    /// References an AEAD-sealed blob by its top layer's nonce and tag, without hashing
    /// (see [`Binding::Sealed`] for exactly what that binds). A record holding one is
    /// encoded as record version 3.
    #[must_use]
    pub const fn sealed(nonce: [u8; 12], tag: [u8; 16]) -> Self {
        Self {
            binding: Binding::Sealed { nonce, tag },
            payload: None,
        }
    }

    /// Adds a SHA-256 digest of the whole sealed blob (costs a full pass over it).
    #[must_use]
    pub fn with_payload_digest(mut self, sealed_blob: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(PAYLOAD_DOMAIN);
        h.update(sealed_blob);
        self.payload = Some(h.finalize().into());
        self
    }

    /// The binding's bytes: the 32-byte digest, or the 12-byte nonce then the 16-byte tag.
    #[must_use]
    pub fn binding_bytes(&self) -> Vec<u8> {
        match &self.binding {
            Binding::Digest(d) => d.to_vec(),
            Binding::Sealed { nonce, tag } => [&nonce[..], &tag[..]].concat(),
        }
    }

    const fn is_sealed(&self) -> bool {
        matches!(self.binding, Binding::Sealed { .. })
    }
}

/// What happened. Codes are stable: they are part of the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// Data moved across an edge (code 1).
    Traverse,
    /// Data sealed at a gated layer (code 2).
    Seal,
    /// Data opened at a gated layer (code 3).
    Open,
    /// A key was rotated or data re-encrypted under a new key version (code 4).
    Rotate,
    /// An attempt was refused (code 5).
    Denied,
    /// A layer-2 session started (code 6).
    SessionStart,
    /// A layer-2 session ended and its key was zeroized (code 7).
    SessionEnd,
    /// A partition, cell or edge of a vault's topology was declared (code 8): the
    /// command line records its vault directory's topology this way (ADR 0087).
    Declare,
}

impl EventKind {
    /// The stable wire code.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::Traverse => 1,
            Self::Seal => 2,
            Self::Open => 3,
            Self::Rotate => 4,
            Self::Denied => 5,
            Self::SessionStart => 6,
            Self::SessionEnd => 7,
            Self::Declare => 8,
        }
    }

    /// The kind for a wire code, `None` if unknown.
    #[must_use]
    pub const fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::Traverse,
            2 => Self::Seal,
            3 => Self::Open,
            4 => Self::Rotate,
            5 => Self::Denied,
            6 => Self::SessionStart,
            7 => Self::SessionEnd,
            8 => Self::Declare,
            _ => return None,
        })
    }
}

/// Class of a failed operation. Codes are stable: they are part of the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Authentication failed (code 1).
    Authentication,
    /// The blob was presented to the wrong partition, cell, layer, policy or session (code 2).
    ContextMismatch,
    /// A policy or routing rule refused the operation (code 3).
    PolicyDenied,
    /// The session had expired or ended (code 4).
    SessionExpired,
    /// The key version named by the header is not available (code 5).
    KeyUnavailable,
    /// The key reached its usage limit and must be rotated (code 6).
    RotationRequired,
    /// The input was malformed (code 7).
    Malformed,
    /// An internal or I/O failure (code 8).
    Internal,
}

impl ErrorClass {
    /// The stable wire code.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::Authentication => 1,
            Self::ContextMismatch => 2,
            Self::PolicyDenied => 3,
            Self::SessionExpired => 4,
            Self::KeyUnavailable => 5,
            Self::RotationRequired => 6,
            Self::Malformed => 7,
            Self::Internal => 8,
        }
    }

    /// The class for a wire code, `None` if unknown.
    #[must_use]
    pub const fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::Authentication,
            2 => Self::ContextMismatch,
            3 => Self::PolicyDenied,
            4 => Self::SessionExpired,
            5 => Self::KeyUnavailable,
            6 => Self::RotationRequired,
            7 => Self::Malformed,
            8 => Self::Internal,
            _ => return None,
        })
    }
}

/// How the operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It failed with this class of error.
    Failure(ErrorClass),
}

/// What a caller appends: an event without the fields the log assigns (sequence number,
/// timestamp, previous chain value).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Where the data came from.
    pub source: Option<Endpoint>,
    /// Where the data went.
    pub destination: Option<Endpoint>,
    /// The input blob.
    pub input: Option<BlobRef>,
    /// The output blob.
    pub output: Option<BlobRef>,
    /// How it ended.
    pub outcome: Outcome,
    /// Route, policy, session and actor; `Some` makes the record version 2 (or 3).
    pub context: Option<Context>,
}

impl Event {
    /// A successful event of `kind` with no endpoints or blobs yet.
    #[must_use]
    pub const fn new(kind: EventKind) -> Self {
        Self {
            kind,
            source: None,
            destination: None,
            input: None,
            output: None,
            outcome: Outcome::Success,
            context: None,
        }
    }

    /// Sets the context (the record is then encoded as version 2).
    #[must_use]
    pub fn context(mut self, context: Context) -> Self {
        self.context = Some(context);
        self
    }

    /// Sets the source endpoint.
    #[must_use]
    pub fn source(mut self, endpoint: Endpoint) -> Self {
        self.source = Some(endpoint);
        self
    }

    /// Sets the destination endpoint.
    #[must_use]
    pub fn destination(mut self, endpoint: Endpoint) -> Self {
        self.destination = Some(endpoint);
        self
    }

    /// Sets the input blob reference.
    #[must_use]
    pub const fn input(mut self, blob: BlobRef) -> Self {
        self.input = Some(blob);
        self
    }

    /// Sets the output blob reference.
    #[must_use]
    pub const fn output(mut self, blob: BlobRef) -> Self {
        self.output = Some(blob);
        self
    }

    /// Sets the outcome.
    #[must_use]
    pub const fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// One record of the chain, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Gapless position in the log, from 0.
    pub sequence: Sequence,
    /// When the log appended it.
    pub timestamp: Timestamp,
    /// The event.
    pub event: Event,
    /// Chain value of the previous record (the genesis value for record 0).
    pub prev_chain: ChainValue,
}

impl AuditRecord {
    /// Assembles a record. Test support only (feature `test-support`, not for production
    /// use): a log assigns sequence, timestamp and previous chain value itself on append.
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub const fn new(
        sequence: Sequence,
        timestamp: Timestamp,
        event: Event,
        prev_chain: ChainValue,
    ) -> Self {
        Self {
            sequence,
            timestamp,
            event,
            prev_chain,
        }
    }

    /// The canonical encoding (see `docs/formats.md`, "Audit record").
    ///
    /// # Errors
    /// [`Error::Internal`] only if an invariant of the id types failed (a bug).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.encode_into(&mut w)?;
        Ok(w.into_vec())
    }

    /// Appends the canonical encoding to `out` (on error `out` may hold a partial record).
    ///
    /// # Errors
    /// As [`AuditRecord::encode`].
    pub fn encode_to(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut w = Writer::from_vec(core::mem::take(out));
        let res = self.encode_into(&mut w);
        *out = w.into_vec();
        res
    }

    fn encoded_len(&self) -> usize {
        let ep = |e: &Option<Endpoint>| {
            1 + e
                .as_ref()
                .map_or(0, |e| 2 + e.partition.0.len() + 2 + e.cell.0.len() + 1 + 4)
        };
        let blob = |b: &Option<BlobRef>| {
            1 + b.as_ref().map_or(0, |b| {
                let binding = match b.binding {
                    Binding::Digest(_) => 32,
                    Binding::Sealed { .. } => 12 + 16,
                };
                binding + 1 + b.payload.map_or(0, |_| 32)
            })
        };
        let context = self.event.context.as_ref().map_or(0, |c| {
            c.fields()
                .iter()
                .map(|f| 1 + f.as_ref().map_or(0, |id| 2 + id.0.len()))
                .sum()
        }) + usize::from(version_of(&self.event) == RECORD_VERSION_V3);
        1 + 8
            + 8
            + 2
            + context
            + ep(&self.event.source)
            + ep(&self.event.destination)
            + blob(&self.event.input)
            + blob(&self.event.output)
            + 3
            + 32
    }

    fn encode_into(&self, w: &mut Writer) -> Result<()> {
        encode_fields(
            w,
            self.sequence,
            self.timestamp,
            &self.event,
            &self.prev_chain,
        )
    }

    /// Decodes a canonical encoding; rejects anything `encode` would not produce.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the first field that is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if !matches!(
            version,
            RECORD_VERSION_V1 | RECORD_VERSION | RECORD_VERSION_V3
        ) {
            return Err(Error::Malformed("unknown record version"));
        }
        let sequence = Sequence(r.u64()?);
        let timestamp = Timestamp(r.u64()?);
        let kind = EventKind::from_code(r.u16()?).ok_or(Error::Malformed("unknown event kind"))?;
        let mut endpoints = [None, None];
        for slot in &mut endpoints {
            if r.flag()? {
                let partition = PartitionId::new(r.bytes16()?.to_vec())
                    .map_err(|_| Error::Malformed("partition id too long"))?;
                let cell = CellId::new(r.bytes16()?.to_vec())
                    .map_err(|_| Error::Malformed("cell id too long"))?;
                let layer = Layer(r.u8()?);
                let key_version = KeyVersion(r.u32()?);
                *slot = Some(Endpoint {
                    partition,
                    cell,
                    layer,
                    key_version,
                });
            }
        }
        let mut blobs = [None, None];
        for slot in &mut blobs {
            let binding = match (r.u8()?, version) {
                (0, _) => continue,
                (1, _) => Binding::Digest(r.array::<32>()?),
                (2, RECORD_VERSION_V3) => Binding::Sealed {
                    nonce: r.array::<12>()?,
                    tag: r.array::<16>()?,
                },
                _ => return Err(Error::Malformed("bad blob reference tag")),
            };
            let payload = if r.flag()? {
                Some(r.array::<32>()?)
            } else {
                None
            };
            *slot = Some(BlobRef { binding, payload });
        }
        let has_context = match version {
            RECORD_VERSION => true,
            RECORD_VERSION_V3 => r.flag()?,
            _ => false,
        };
        let context = if has_context {
            let mut ids = [None, None, None, None];
            for slot in &mut ids {
                if r.flag()? {
                    *slot = Some(
                        ContextId::new(r.bytes16()?.to_vec())
                            .map_err(|_| Error::Malformed("context id too long"))?,
                    );
                }
            }
            let [route, policy, session, actor] = ids;
            Some(Context {
                route,
                policy,
                session,
                actor,
            })
        } else {
            None
        };
        let outcome = match (r.u8()?, r.u16()?) {
            (0, 0) => Outcome::Success,
            (1, code) => Outcome::Failure(
                ErrorClass::from_code(code).ok_or(Error::Malformed("unknown error class"))?,
            ),
            _ => return Err(Error::Malformed("bad outcome")),
        };
        let prev_chain = ChainValue::from_bytes(r.array::<32>()?);
        r.finish()?;
        let [source, destination] = endpoints;
        let [input, output] = blobs;
        // Canonical: version 3 only when a sealed reference needs it.
        if version == RECORD_VERSION_V3 && !input.iter().chain(&output).any(BlobRef::is_sealed) {
            return Err(Error::Malformed(
                "record version 3 without a sealed blob reference",
            ));
        }
        Ok(Self {
            sequence,
            timestamp,
            event: Event {
                kind,
                source,
                destination,
                input,
                output,
                outcome,
                context,
            },
            prev_chain,
        })
    }
}

/// The record version an event is encoded in: 3 if it holds a sealed blob reference, else
/// 2 with a context, else 1.
fn version_of(e: &Event) -> u8 {
    if e.input.iter().chain(&e.output).any(BlobRef::is_sealed) {
        RECORD_VERSION_V3
    } else if e.context.is_some() {
        RECORD_VERSION
    } else {
        RECORD_VERSION_V1
    }
}

/// Writes a record's canonical encoding from its parts (no `AuditRecord` needed).
pub(crate) fn encode_fields(
    w: &mut Writer,
    sequence: Sequence,
    timestamp: Timestamp,
    e: &Event,
    prev_chain: &ChainValue,
) -> Result<()> {
    let version = version_of(e);
    w.u8(version);
    w.u64(sequence.0);
    w.u64(timestamp.0);
    w.u16(e.kind.code());
    for ep in [&e.source, &e.destination] {
        match ep {
            None => w.u8(0),
            Some(ep) => {
                w.u8(1);
                w.bytes16(&ep.partition.0)?;
                w.bytes16(&ep.cell.0)?;
                w.u8(ep.layer.0);
                w.u32(ep.key_version.0);
            }
        }
    }
    for blob in [&e.input, &e.output] {
        match blob {
            None => w.u8(0),
            Some(b) => {
                match &b.binding {
                    Binding::Digest(d) => {
                        w.u8(1);
                        w.raw(d);
                    }
                    Binding::Sealed { nonce, tag } => {
                        w.u8(2);
                        w.raw(nonce);
                        w.raw(tag);
                    }
                }
                match &b.payload {
                    None => w.u8(0),
                    Some(p) => {
                        w.u8(1);
                        w.raw(p);
                    }
                }
            }
        }
    }
    if version == RECORD_VERSION_V3 {
        w.u8(u8::from(e.context.is_some()));
    }
    if let Some(context) = &e.context {
        for field in context.fields() {
            match field {
                None => w.u8(0),
                Some(id) => {
                    w.u8(1);
                    w.bytes16(&id.0)?;
                }
            }
        }
    }
    match e.outcome {
        Outcome::Success => {
            w.u8(0);
            w.u16(0);
        }
        Outcome::Failure(class) => {
            w.u8(1);
            w.u16(class.code());
        }
    }
    w.raw(prev_chain.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditRecord {
        let ep = Endpoint::new(
            PartitionId::new("p1").unwrap(),
            CellId::new(vec![0xff, 0]).unwrap(),
            Layer(1),
            KeyVersion(2),
        );
        let blob = BlobRef::bind(b"hdr", b"nonce", b"tag")
            .unwrap()
            .with_payload_digest(b"blob");
        AuditRecord::new(
            Sequence::new(5),
            Timestamp::from_unix_nanos(1_700_000_000_000_000_000),
            Event::new(EventKind::Traverse)
                .source(ep.clone())
                .destination(ep)
                .input(blob)
                .outcome(Outcome::Failure(ErrorClass::PolicyDenied)),
            ChainValue::from_bytes([9; 32]),
        )
    }

    #[test]
    fn round_trip_and_exact_length() {
        let r = sample();
        let enc = r.encode().unwrap();
        assert_eq!(enc.len(), r.encoded_len());
        assert_eq!(AuditRecord::decode(&enc).unwrap(), r);
    }

    #[test]
    fn rejects_trailing_truncated_and_bad_tags() {
        let enc = sample().encode().unwrap();
        let mut long = enc.clone();
        long.push(0);
        assert!(AuditRecord::decode(&long).is_err());
        for cut in 0..enc.len() {
            assert!(
                AuditRecord::decode(&enc[..cut]).is_err(),
                "prefix {cut} accepted"
            );
        }
        // The source endpoint tag sits after version (1), sequence (8), time (8), kind (2).
        let mut bad = enc.clone();
        bad[19] = 2;
        assert!(AuditRecord::decode(&bad).is_err());
    }

    #[test]
    fn ids_are_bounded_and_display_readably() {
        assert!(PartitionId::new(vec![0; MAX_ID_LEN]).is_ok());
        assert!(matches!(
            PartitionId::new(vec![0; MAX_ID_LEN + 1]),
            Err(Error::TooLong { .. })
        ));
        assert_eq!(CellId::new("inbox").unwrap().to_string(), "inbox");
        assert_eq!(CellId::new(vec![0, 0xab]).unwrap().to_string(), "0x00ab");
        assert_eq!(CellId::new("0x12").unwrap().to_string(), "0x30783132");
    }

    /// The smallest record is `MIN_RECORD_LEN` = 58 bytes, so a chain step input
    /// (`prev ‖ encoding`) is at least 32 + 58 bytes (docs/formats.md, "Audit chain").
    #[test]
    fn minimal_record_is_58_bytes() {
        let r = AuditRecord::new(
            Sequence::ZERO,
            Timestamp::from_unix_nanos(0),
            Event::new(EventKind::Seal),
            ChainValue::from_bytes([0; 32]),
        );
        assert_eq!(MIN_RECORD_LEN, 58);
        assert_eq!(r.encode().unwrap().len(), MIN_RECORD_LEN);
        assert!(sample().encode().unwrap().len() > MIN_RECORD_LEN);
    }

    #[test]
    fn a_record_without_context_is_version_1_and_with_context_version_2() {
        let v1 = sample();
        let enc1 = v1.encode().unwrap();
        assert_eq!(enc1[0], RECORD_VERSION_V1);
        let mut v2 = sample();
        v2.event.context = Some(
            Context::new()
                .route(ContextId::new("route-7").unwrap())
                .session(ContextId::new(vec![1u8; 16]).unwrap())
                .actor(ContextId::new("alice").unwrap()),
        );
        let enc2 = v2.encode().unwrap();
        assert_eq!(enc2[0], RECORD_VERSION);
        assert_eq!(enc2.len(), v2.encoded_len());
        assert_eq!(AuditRecord::decode(&enc2).unwrap(), v2);
        // Version 1 bytes with the version byte set to 2 lack the context: rejected.
        let mut relabelled = enc1.clone();
        relabelled[0] = RECORD_VERSION;
        assert!(AuditRecord::decode(&relabelled).is_err());
        for cut in 0..enc2.len() {
            assert!(AuditRecord::decode(&enc2[..cut]).is_err());
        }
        let mut empty = sample();
        empty.event.context = Some(Context::default());
        let enc = empty.encode().unwrap();
        assert_eq!(enc.len(), enc1.len() + 4);
        assert_eq!(AuditRecord::decode(&enc).unwrap(), empty);
    }

    /// Record version 3: sealed references (nonce and tag, no hash), an optional context,
    /// round trips, the exact length, and every non-canonical variant refused.
    #[test]
    fn a_record_with_a_sealed_reference_is_version_3() {
        let sealed = BlobRef::sealed([3; 12], [4; 16]);
        assert_eq!(
            sealed.binding_bytes(),
            [[3u8; 12].as_slice(), &[4; 16]].concat()
        );
        for context in [
            None,
            Some(Context::new().route(ContextId::new("r").unwrap())),
        ] {
            for (input, output) in [
                (Some(sealed), None),
                (None, Some(sealed.with_payload_digest(b"x"))),
                (Some(BlobRef::bind(b"h", b"n", b"t").unwrap()), Some(sealed)),
            ] {
                let mut r = sample();
                r.event.input = input;
                r.event.output = output;
                r.event.context.clone_from(&context);
                let enc = r.encode().unwrap();
                assert_eq!(enc[0], RECORD_VERSION_V3);
                assert_eq!(enc.len(), r.encoded_len());
                assert_eq!(AuditRecord::decode(&enc).unwrap(), r);
                for cut in 0..enc.len() {
                    assert!(AuditRecord::decode(&enc[..cut]).is_err());
                }
            }
        }
        // Version 3 without a sealed reference is not canonical: refused.
        let mut r = sample();
        r.event.input = None;
        r.event.output = None;
        let mut enc = r.encode().unwrap();
        assert_eq!(enc[0], RECORD_VERSION_V1);
        enc[0] = RECORD_VERSION_V3;
        // Insert the context presence byte where version 3 has it (before the outcome).
        let at = enc.len() - 32 - 3;
        enc.insert(at, 0);
        assert!(AuditRecord::decode(&enc).is_err());
        // A sealed tag (02) in a version-1 or version-2 record is refused.
        let mut r = sample();
        r.event.input = Some(sealed);
        let mut enc = r.encode().unwrap();
        // Drop the context presence byte (absent) so that only the reference tag is wrong.
        let at = enc.len() - 32 - 3 - 1;
        assert_eq!(enc.remove(at), 0);
        enc[0] = RECORD_VERSION_V1;
        assert!(matches!(
            AuditRecord::decode(&enc),
            Err(Error::Malformed("bad blob reference tag"))
        ));
    }

    /// The encoding of a traversal record with two sealed references is 7 bytes shorter
    /// than with two digest references (28 instead of 32 binding bytes each, one context
    /// presence byte added).
    #[test]
    fn sealed_references_shorten_a_traverse_record() {
        let mut digest = sample();
        digest.event.context = Some(Context::new().route(ContextId::new("a->b").unwrap()));
        digest.event.input = Some(BlobRef::bind(b"h", b"n", b"t").unwrap());
        digest.event.output = Some(BlobRef::bind(b"h", b"n", b"u").unwrap());
        let mut sealed = digest.clone();
        sealed.event.input = Some(BlobRef::sealed([1; 12], [2; 16]));
        sealed.event.output = Some(BlobRef::sealed([3; 12], [4; 16]));
        assert_eq!(
            digest.encode().unwrap().len() - sealed.encode().unwrap().len(),
            2 * 4 - 1
        );
    }

    #[test]
    fn blob_binding_separates_parts() {
        let a = BlobRef::bind(b"ab", b"c", b"").unwrap();
        let b = BlobRef::bind(b"a", b"bc", b"").unwrap();
        assert_ne!(a.binding, b.binding);
    }
}
