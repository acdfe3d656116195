//! Signed checkpoints: ed25519 over (log id, chain mode, sequence, chain value and, from
//! format 2, the public chain value), domain-separated.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::SigningKey;

use crate::codec::{Reader, Writer};
use crate::{ChainMode, ChainValue, Error, LogId, Result, Sequence};

/// Version byte of the checkpoints this build writes (format 2: covers the public chain).
pub const CHECKPOINT_VERSION: u8 = 2;
/// Version byte of format-1 checkpoints (read and verified, never written).
pub const CHECKPOINT_VERSION_V1: u8 = 1;
/// Domain separation prefix of the signed message of a format-2 checkpoint (followed by
/// one 0x00 byte).
pub const CHECKPOINT_DOMAIN: &[u8] = b"hexvault-audit/v2/checkpoint";
/// Domain separation prefix of a format-1 checkpoint's signed message.
pub const CHECKPOINT_DOMAIN_V1: &[u8] = b"hexvault-audit/v1/checkpoint";
/// Length of an encoded format-2 checkpoint.
pub const CHECKPOINT_LEN: usize = 1 + 1 + 16 + 8 + 32 + 32 + 64;
/// Length of an encoded format-1 checkpoint.
pub const CHECKPOINT_LEN_V1: usize = 1 + 1 + 16 + 8 + 32 + 64;

/// A signed statement "log `log_id` had chain value `chain` (and public chain value
/// `public_chain`) after record `sequence`".
///
/// A verifier holding only the trusted public key can check it; whoever keeps the latest
/// checkpoint (or a copy elsewhere, see [`crate::Anchor`]) can later prove the log was
/// not truncated before it nor rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log it belongs to.
    pub log_id: LogId,
    /// The log's chain mode.
    pub mode: ChainMode,
    /// The last record it covers.
    pub sequence: Sequence,
    /// `chain[sequence]`.
    pub chain: ChainValue,
    /// `public[sequence]`, the public SHA-256 chain over every record encoding (format 2);
    /// `None` for a format-1 checkpoint, which does not cover it.
    pub public_chain: Option<ChainValue>,
    /// Ed25519 signature over [`Checkpoint::signed_message`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The exact bytes that are signed. Format 2 (`public_chain` present):
    /// `"hexvault-audit/v2/checkpoint" ‖ 0x00 ‖ mode ‖ log_id ‖ u64be sequence ‖ chain ‖
    /// public_chain`; format 1: `"hexvault-audit/v1/checkpoint" ‖ 0x00 ‖ mode ‖ log_id ‖
    /// u64be sequence ‖ chain`.
    #[must_use]
    pub fn signed_message(
        log_id: &LogId,
        mode: ChainMode,
        sequence: Sequence,
        chain: &ChainValue,
        public_chain: Option<&ChainValue>,
    ) -> Vec<u8> {
        let domain = match public_chain {
            Some(_) => CHECKPOINT_DOMAIN,
            None => CHECKPOINT_DOMAIN_V1,
        };
        let mut w = Writer::with_capacity(domain.len() + 1 + 1 + 16 + 8 + 32 + 32);
        w.raw(domain);
        w.u8(0);
        w.u8(mode.code());
        w.raw(log_id.as_bytes());
        w.u64(sequence.get());
        w.raw(chain.as_bytes());
        if let Some(p) = public_chain {
            w.raw(p.as_bytes());
        }
        w.into_vec()
    }

    /// Signs a format-2 checkpoint.
    #[must_use]
    pub fn sign(
        key: &SigningKey,
        log_id: LogId,
        mode: ChainMode,
        sequence: Sequence,
        chain: ChainValue,
        public_chain: ChainValue,
    ) -> Self {
        let sig = key.sign(&Self::signed_message(
            &log_id,
            mode,
            sequence,
            &chain,
            Some(&public_chain),
        ));
        Self {
            log_id,
            mode,
            sequence,
            chain,
            public_chain: Some(public_chain),
            signature: sig.to_bytes(),
        }
    }

    /// The format version of this checkpoint (1 or 2).
    #[must_use]
    pub const fn version(&self) -> u8 {
        match self.public_chain {
            Some(_) => CHECKPOINT_VERSION,
            None => CHECKPOINT_VERSION_V1,
        }
    }

    /// Checks the signature with `verify_strict` (rejects small-order keys and malleable
    /// signatures).
    ///
    /// # Errors
    /// [`Error::Damaged`] with [`crate::Damage::CheckpointSignature`] if it does not verify.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        let sig = Signature::from_bytes(&self.signature);
        key.verify_strict(
            &Self::signed_message(
                &self.log_id,
                self.mode,
                self.sequence,
                &self.chain,
                self.public_chain.as_ref(),
            ),
            &sig,
        )
        .map_err(|_| Error::Damaged {
            sequence: self.sequence,
            reason: crate::Damage::CheckpointSignature,
        })
    }

    /// The canonical encoding (see `docs/formats.md`, "Audit checkpoint").
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(CHECKPOINT_LEN);
        w.u8(self.version());
        w.u8(self.mode.code());
        w.raw(self.log_id.as_bytes());
        w.u64(self.sequence.get());
        w.raw(self.chain.as_bytes());
        if let Some(p) = &self.public_chain {
            w.raw(p.as_bytes());
        }
        w.raw(&self.signature);
        w.into_vec()
    }

    /// Decodes a canonical encoding of either format.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not exactly a checkpoint.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != CHECKPOINT_VERSION && version != CHECKPOINT_VERSION_V1 {
            return Err(Error::Malformed("unknown checkpoint version"));
        }
        let mode = ChainMode::from_code(r.u8()?).ok_or(Error::Malformed("unknown chain mode"))?;
        let log_id = LogId::from_array(r.array()?);
        let sequence = Sequence::new(r.u64()?);
        let chain = ChainValue::from_bytes(r.array()?);
        let public_chain = if version == CHECKPOINT_VERSION {
            Some(ChainValue::from_bytes(r.array()?))
        } else {
            None
        };
        let signature = r.array()?;
        r.finish()?;
        Ok(Self {
            log_id,
            mode,
            sequence,
            chain,
            public_chain,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let cp = Checkpoint::sign(
            &sk,
            LogId::from_array([1; 16]),
            ChainMode::Keyed,
            Sequence::new(9),
            ChainValue::from_bytes([4; 32]),
            ChainValue::from_bytes([6; 32]),
        );
        cp.verify(&sk.verifying_key()).unwrap();
        let enc = cp.encode();
        assert_eq!(enc.len(), CHECKPOINT_LEN);
        assert_eq!(Checkpoint::decode(&enc).unwrap(), cp);
        let mut bad = cp.clone();
        bad.sequence = Sequence::new(10);
        assert!(bad.verify(&sk.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[5; 32]);
        assert!(cp.verify(&other.verifying_key()).is_err());
        let mut bad = cp.clone();
        bad.mode = ChainMode::Unkeyed;
        assert!(bad.verify(&sk.verifying_key()).is_err());
        let mut bad = cp.clone();
        bad.public_chain = Some(ChainValue::from_bytes([7; 32]));
        assert!(bad.verify(&sk.verifying_key()).is_err());
        // Dropping the public chain (a downgrade to format 1) breaks the signature.
        let mut bad = cp;
        bad.public_chain = None;
        assert!(bad.verify(&sk.verifying_key()).is_err());
        assert_eq!(bad.encode().len(), CHECKPOINT_LEN_V1);
        assert_eq!(Checkpoint::decode(&bad.encode()).unwrap(), bad);
    }
}
