//! The calls of the cells and edges comparison, shared by the `peers` criterion bench and
//! the `ratios` table: our `Cell::seal`/`open` and `Edge::traverse` beside HexVault 1.1.2's
//! `Partition::seal`/`open` and `Vault::traverse`, and the bare ring floor of a traversal
//! (open under one prebuilt key, seal under another, one copy).
//!
//! Each side is used as its README shows, with its every check on: ours appends its audit
//! records (a memory log: opens at layers 1–2 and every traversal), HexVault 1.1.2 appends
//! its in-memory SHA-256 chained record per traversal. HexVault 1.1.2 derives every layer
//! key with HKDF per call and keeps payloads in the cell's map (`store` / `retrieve`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use hexvault_audit::{AuditKey, LogOptions, MemoryLog};
use hexvault_cells::{
    AccessToken, Cell, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, Session, TokenResolver, Vault, VaultMasterKey,
};
use hexvault_edges::{Connect, Edge};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::filler;

/// The master key bytes both vaults start from.
pub const KEY: [u8; 32] = [0x42; 32];

/// Our layers, and HexVault 1.1.2's of the same number.
pub const LAYERS: [(Layer, hexvault_v1::stack::Layer); 3] = [
    (Layer::Rest, hexvault_v1::stack::Layer::AtRest),
    (Layer::Access, hexvault_v1::stack::Layer::AccessGated),
    (Layer::Session, hexvault_v1::stack::Layer::SessionBound),
];

struct OurResolver;

impl TokenResolver for OurResolver {
    fn resolve(&self, _: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        PolicyId::new("bench")
            .ok()
            .map(|p| PolicyContext::new(p, PolicySecret::from_bytes(&mut [7; 32])))
    }
}

struct TheirResolver;

impl hexvault_v1::stack::TokenResolver for TheirResolver {
    fn resolve(
        &self,
        _: &str,
    ) -> Result<hexvault_v1::stack::LayerContext, hexvault_v1::error::HexvaultError> {
        hexvault_v1::stack::LayerContext::new(
            Some("bench".to_owned()),
            Some("session-1".to_owned()),
        )
    }
}

/// Our side: a vault over a memory log, a cell, an edge to a cell of another partition,
/// a token and a live session.
pub struct Ours {
    /// The source cell.
    pub cell: Cell,
    /// The edge `tenant-a/inbox → tenant-b/archive`.
    pub edge: Edge,
    /// The object id every call uses.
    pub object: ObjectId,
    token: AccessToken,
    session: Session,
}

impl Ours {
    /// A fresh vault, log, edge and session.
    ///
    /// # Panics
    /// If the vault cannot be built (a bench bug).
    #[must_use]
    #[allow(clippy::missing_panics_doc, clippy::unwrap_used)]
    pub fn new() -> Self {
        let log =
            Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
        let vault = Vault::new(
            VaultMasterKey::from_kms_bytes(&mut KEY.clone()),
            OurResolver,
            log,
        );
        let cell = vault
            .partition(PartitionId::new("tenant-a").unwrap())
            .cell(CellId::new("inbox").unwrap());
        let to = vault
            .partition(PartitionId::new("tenant-b").unwrap())
            .cell(CellId::new("archive").unwrap());
        let edge = vault.connect(&cell, &to).unwrap();
        let session = vault.start_session(Duration::from_secs(86_400)).unwrap();
        Self {
            cell,
            edge,
            object: ObjectId::new("object-1").unwrap(),
            token: AccessToken::new(b"bench".to_vec()),
            session,
        }
    }

    /// Credentials covering every layer.
    #[must_use]
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::none()
            .token(&self.token)
            .session(&self.session)
    }
}

impl Default for Ours {
    fn default() -> Self {
        Self::new()
    }
}

/// HexVault 1.1.2's side: a vault, two partitions, a source and a destination cell.
pub struct Theirs {
    /// The vault (holds the traversal audit log).
    pub vault: hexvault_v1::Vault,
    /// The source partition.
    pub partition: hexvault_v1::partition::Partition,
    /// The destination partition.
    pub other: hexvault_v1::partition::Partition,
    /// The source cell.
    pub cell: hexvault_v1::cell::Cell,
    /// The destination cell.
    pub dest: hexvault_v1::cell::Cell,
}

impl Theirs {
    /// A fresh vault over the same master key bytes.
    ///
    /// # Panics
    /// If the vault cannot be built (a bench bug).
    #[must_use]
    #[allow(clippy::missing_panics_doc, clippy::unwrap_used)]
    pub fn new() -> Self {
        let vault = hexvault_v1::Vault::new(
            hexvault_v1::keys::MasterKey::from_bytes(KEY),
            Arc::new(TheirResolver),
        );
        let partition = vault.get_partition("tenant-a").unwrap();
        let other = vault.get_partition("tenant-b").unwrap();
        let cell = partition.create_cell("inbox".to_owned());
        let dest = other.create_cell("archive".to_owned());
        Self {
            vault,
            partition,
            other,
            cell,
            dest,
        }
    }
}

impl Default for Theirs {
    fn default() -> Self {
        Self::new()
    }
}

/// The floor of a traversal: open a copy of a sealed blob in place under one prebuilt ring
/// key and seal it in place under another (tag appended).
pub struct RingPair {
    open: LessSafeKey,
    seal: LessSafeKey,
    sealed: Vec<u8>,
    counter: u64,
}

impl RingPair {
    /// Two prebuilt keys and a blob of `size` plaintext bytes sealed under the first.
    ///
    /// # Panics
    /// If ring refuses the keys (a bench bug).
    #[must_use]
    #[allow(clippy::missing_panics_doc, clippy::unwrap_used)]
    pub fn new(size: usize) -> Self {
        let open = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
        let seal = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x24; 32]).unwrap());
        let mut sealed = filler(size);
        open.seal_in_place_append_tag(
            Nonce::assume_unique_for_key([9; 12]),
            Aad::from(b"header"),
            &mut sealed,
        )
        .unwrap();
        Self {
            open,
            seal,
            sealed,
            counter: 0,
        }
    }

    /// One open + seal; returns the new blob's length.
    ///
    /// # Panics
    /// If ring fails (a bench bug).
    #[allow(clippy::missing_panics_doc, clippy::unwrap_used)]
    pub fn run(&mut self) -> usize {
        let mut buf = crate::copy_to_vec(black_box(&self.sealed), 0);
        let len = self
            .open
            .open_in_place(
                Nonce::assume_unique_for_key([9; 12]),
                Aad::from(b"header"),
                &mut buf,
            )
            .unwrap()
            .len();
        buf.truncate(len);
        self.counter += 1;
        let mut n = [0u8; 12];
        if let Some(tail) = n.get_mut(4..) {
            tail.copy_from_slice(&self.counter.to_be_bytes());
        }
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(n),
                Aad::from(b"header"),
                &mut buf,
            )
            .unwrap();
        black_box(buf).len()
    }
}
