//! Access tokens, policy secrets, the `PolicyContext` a `TokenResolver` returns, and
//! `Credentials`.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{ActorId, CellId, PartitionId, PolicyId, Result, Session};

/// A bearer access token, as the caller received it. Secret: zeroized on drop, not
/// `Clone`, `Debug` prints no byte, reachable only through [`expose_secret`](Self::expose_secret).
#[derive(ZeroizeOnDrop)]
pub struct AccessToken(Vec<u8>);

impl AccessToken {
    /// Wraps the token's bytes (moved in, so no copy stays behind).
    #[must_use]
    pub const fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The token's bytes, for a `TokenResolver` to look it up.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken").finish_non_exhaustive()
    }
}

/// The 32-byte secret of an access policy. Layer-1 keys mix it into the HKDF input key
/// material, so the vault master alone cannot open layer 1. Zeroized on drop, not `Clone`,
/// `Debug` prints no byte, equality is constant time.
#[derive(ZeroizeOnDrop)]
pub struct PolicySecret([u8; 32]);

impl PolicySecret {
    /// Takes 32 secret bytes and wipes the caller's array.
    #[must_use]
    pub fn from_bytes(bytes: &mut [u8; 32]) -> Self {
        let secret = Self(*bytes);
        bytes.zeroize();
        secret
    }

    /// A fresh random policy secret from the OS CSPRNG.
    ///
    /// # Errors
    /// [`Error::Aead`](crate::Error::Aead) if the OS random number generator fails.
    pub fn generate() -> Result<Self> {
        let key = hexvault_aead::Key::generate()?;
        Ok(Self(*key.expose_secret()))
    }

    /// The secret bytes (for storing the policy secret in the resolver's own store).
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// A copy for the key cache, which compares it on every lookup.
    pub(crate) const fn duplicate(&self) -> Self {
        Self(self.0)
    }
}

impl fmt::Debug for PolicySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySecret").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for PolicySecret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for PolicySecret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PolicySecret {}

/// What a [`TokenResolver`] grants for a token: the policy id (written in the blob header
/// and the audit record), its secret (mixed into the layer-1 key) and, optionally, who acts.
pub struct PolicyContext {
    pub(crate) policy: PolicyId,
    pub(crate) secret: PolicySecret,
    pub(crate) actor: Option<ActorId>,
}

impl PolicyContext {
    /// A policy and its secret.
    #[must_use]
    pub const fn new(policy: PolicyId, secret: PolicySecret) -> Self {
        Self {
            policy,
            secret,
            actor: None,
        }
    }

    /// Names who acts, for the audit record.
    #[must_use]
    pub fn with_actor(mut self, actor: ActorId) -> Self {
        self.actor = Some(actor);
        self
    }

    /// The policy id.
    #[must_use]
    pub const fn policy(&self) -> &PolicyId {
        &self.policy
    }
}

impl fmt::Debug for PolicyContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyContext")
            .field("policy", &self.policy)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// Turns an access token into the policy that governs a cell, or refuses it.
///
/// The vault calls it for every seal or open at layer 1 or above, with the cell concerned,
/// so a resolver can scope tokens to partitions and cells. Return `None` to refuse: the
/// vault records the refusal in its audit log and returns [`Error::Denied`](crate::Error::Denied).
pub trait TokenResolver: Send + Sync {
    /// The policy of `token` for `cell` in `partition`, or `None` to refuse.
    fn resolve(
        &self,
        token: &AccessToken,
        partition: &PartitionId,
        cell: &CellId,
    ) -> Option<PolicyContext>;
}

/// The credentials of one seal or open: nothing for layer 0, an access token for layer 1,
/// and also a live session for layer 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    pub(crate) token: Option<&'a AccessToken>,
    pub(crate) session: Option<&'a Session>,
}

impl<'a> Credentials<'a> {
    /// No credential: enough for layer 0 only.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            token: None,
            session: None,
        }
    }

    /// Adds an access token (layer 1 and above).
    #[must_use]
    pub const fn token(mut self, token: &'a AccessToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Adds a session (layer 2).
    #[must_use]
    pub const fn session(mut self, session: &'a Session) -> Self {
        self.session = Some(session);
        self
    }
}
