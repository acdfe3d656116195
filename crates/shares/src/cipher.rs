//! SLIP-0039 §Encryption of the master secret: a four-round Feistel network with
//! PBKDF2-HMAC-SHA256 as the round function, keyed by the passphrase.

use core::num::NonZeroU32;

use ring::pbkdf2;
use zeroize::Zeroizing;

use crate::rs1024::CUSTOMIZATION;
use crate::{Error, Result};

/// Feistel rounds.
const ROUNDS: u8 = 4;
/// PBKDF2 iterations of all four rounds at exponent 0 (10000 x 2^e in total).
const BASE_ITERATIONS: u32 = 10_000;

/// PBKDF2 iterations of one round at `exponent` (2500 x 2^e).
pub(crate) fn round_iterations(exponent: u8) -> Result<NonZeroU32> {
    let per_round = BASE_ITERATIONS / u32::from(ROUNDS);
    per_round
        .checked_shl(u32::from(exponent))
        .filter(|_| exponent <= crate::MAX_ITERATION_EXPONENT)
        .and_then(NonZeroU32::new)
        .ok_or(Error::BadIterationExponent { exponent })
}

/// Checks that a passphrase is printable ASCII (SLIP-0039 §Passphrase).
pub(crate) fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.bytes().all(|b| (32..=126).contains(&b)) {
        Ok(())
    } else {
        Err(Error::InvalidPassphrase)
    }
}

/// The round salt prefix: `"shamir" || id` (big-endian u16), or nothing for extendable
/// backups (so that their shares can be extended with another identifier).
fn salt_prefix(identifier: u16, extendable: bool) -> Vec<u8> {
    if extendable {
        Vec::new()
    } else {
        let mut salt = CUSTOMIZATION.to_vec();
        salt.extend_from_slice(&identifier.to_be_bytes());
        salt
    }
}

/// Runs the Feistel network over `input` with the rounds in `order`.
fn feistel(
    input: &[u8],
    passphrase: &str,
    exponent: u8,
    identifier: u16,
    extendable: bool,
    order: impl Iterator<Item = u8>,
) -> Result<Zeroizing<Vec<u8>>> {
    check_passphrase(passphrase)?;
    let len = input.len();
    if len == 0 || !len.is_multiple_of(2) {
        return Err(Error::BadSecretLength { len });
    }
    let iterations = round_iterations(exponent)?;
    let half = len / 2;
    let (l, r) = input.split_at(half);
    let mut left = Zeroizing::new(l.to_vec());
    let mut right = Zeroizing::new(r.to_vec());
    let prefix = salt_prefix(identifier, extendable);
    let mut salt = Zeroizing::new(Vec::with_capacity(prefix.len() + half));
    let mut password = Zeroizing::new(Vec::with_capacity(1 + passphrase.len()));
    let mut f = Zeroizing::new(vec![0_u8; half]);
    for round in order {
        salt.clear();
        salt.extend_from_slice(&prefix);
        salt.extend_from_slice(&right);
        password.clear();
        password.push(round);
        password.extend_from_slice(passphrase.as_bytes());
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            &password,
            &mut f,
        );
        // (L, R) = (R, L xor F(i, R))
        for (l, f) in left.iter_mut().zip(f.iter()) {
            *l ^= f;
        }
        core::mem::swap(&mut left, &mut right);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(&right);
    out.extend_from_slice(&left);
    Ok(out)
}

/// EMS = Encrypt(MS, P, e, id).
pub(crate) fn encrypt(
    master_secret: &[u8],
    passphrase: &str,
    exponent: u8,
    identifier: u16,
    extendable: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    feistel(
        master_secret,
        passphrase,
        exponent,
        identifier,
        extendable,
        0..ROUNDS,
    )
}

/// MS = Decrypt(EMS, P, e, id).
pub(crate) fn decrypt(
    encrypted: &[u8],
    passphrase: &str,
    exponent: u8,
    identifier: u16,
    extendable: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    feistel(
        encrypted,
        passphrase,
        exponent,
        identifier,
        extendable,
        (0..ROUNDS).rev(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypt_inverts_encrypt_and_the_passphrase_matters() {
        let ms: Vec<u8> = (0..16).collect();
        for extendable in [false, true] {
            let ems = encrypt(&ms, "TREZOR", 0, 7, extendable).unwrap();
            assert_ne!(&**ems, &ms[..]);
            assert_eq!(
                &**decrypt(&ems, "TREZOR", 0, 7, extendable).unwrap(),
                &ms[..]
            );
            assert_ne!(&**decrypt(&ems, "", 0, 7, extendable).unwrap(), &ms[..]);
        }
        // The identifier is in the salt only without the extendable flag.
        let a = encrypt(&ms, "", 0, 1, false).unwrap();
        let b = encrypt(&ms, "", 0, 2, false).unwrap();
        assert_ne!(&**a, &**b);
        let a = encrypt(&ms, "", 0, 1, true).unwrap();
        let b = encrypt(&ms, "", 0, 2, true).unwrap();
        assert_eq!(&**a, &**b);
        assert_eq!(
            encrypt(&ms, "é", 0, 1, false).unwrap_err(),
            Error::InvalidPassphrase
        );
        assert_eq!(
            encrypt(&ms[..15], "", 0, 1, false).unwrap_err(),
            Error::BadSecretLength { len: 15 }
        );
        assert_eq!(round_iterations(0).unwrap().get(), 2500);
        assert_eq!(round_iterations(15).unwrap().get(), 2500 << 15);
        assert!(round_iterations(16).is_err());
    }
}
