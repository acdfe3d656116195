//! SLIP-0039 §Sharing a secret: Shamir's scheme over GF(256), byte by byte, with the secret
//! at x = 255 and its digest share at x = 254.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::gf256;
use crate::{Error, Result};

/// The x coordinate of the shared secret.
const SECRET_INDEX: u8 = 255;
/// The x coordinate of the digest share.
const DIGEST_INDEX: u8 = 254;
/// Bytes of HMAC-SHA256 kept as the digest.
const DIGEST_LEN: usize = 4;

/// A point of the polynomial: an x coordinate (public) and the y bytes (secret).
pub(crate) struct Point<'a> {
    pub(crate) x: u8,
    pub(crate) y: &'a [u8],
}

/// The values f(x) of the polynomial through `points` (Lagrange interpolation), byte by
/// byte. The x coordinates must be distinct (checked by the callers, and again here).
fn interpolate(points: &[Point<'_>], x: u8, len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0_u8; len]);
    for (i, point) in points.iter().enumerate() {
        if point.y.len() != len {
            return Err(Error::Mismatch {
                share: i + 1,
                first: 1,
                parameter: crate::Parameter::Length,
            });
        }
        // basis = prod_{j != i} (x - x_j) / (x_i - x_j); subtraction is xor.
        let mut numerator = 1_u8;
        let mut denominator = 1_u8;
        for (j, other) in points.iter().enumerate() {
            if i == j {
                continue;
            }
            if other.x == point.x {
                return Err(Error::InvalidScheme {
                    reason: "two shares have the same index",
                });
            }
            numerator = gf256::mul(numerator, x ^ other.x);
            denominator = gf256::mul(denominator, point.x ^ other.x);
        }
        let basis = gf256::mul(numerator, gf256::inv(denominator));
        for (o, &y) in out.iter_mut().zip(point.y) {
            *o ^= gf256::mul(y, basis);
        }
    }
    Ok(out)
}

/// The 4-byte digest of `secret` under the random part `random` of the digest share.
fn digest(random: &[u8], secret: &[u8]) -> [u8; DIGEST_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, random);
    let tag = hmac::sign(&key, secret);
    let mut out = [0_u8; DIGEST_LEN];
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

/// SplitSecret(T, N, S): `count` shares for indices 0..count, any `threshold` of which
/// recover `secret`.
pub(crate) fn split_secret(
    rng: &SystemRandom,
    threshold: u8,
    count: u8,
    secret: &[u8],
) -> Result<Vec<Zeroizing<Vec<u8>>>> {
    if threshold == 0 || threshold > count || count > 16 {
        return Err(Error::InvalidScheme {
            reason: "a threshold is 1 to the share count, and a count at most 16",
        });
    }
    let len = secret.len();
    if threshold == 1 {
        return Ok((0..count)
            .map(|_| Zeroizing::new(secret.to_vec()))
            .collect());
    }
    if len < DIGEST_LEN {
        return Err(Error::BadSecretLength { len });
    }
    let mut digest_share = Zeroizing::new(vec![0_u8; len]);
    {
        let (head, random) = digest_share.split_at_mut(DIGEST_LEN);
        rng.fill(random).map_err(|_| Error::Rng)?;
        head.copy_from_slice(&digest(random, secret));
    }
    let random_count = usize::from(threshold - 2);
    let mut shares: Vec<Zeroizing<Vec<u8>>> = Vec::with_capacity(usize::from(count));
    for _ in 0..random_count {
        let mut share = Zeroizing::new(vec![0_u8; len]);
        rng.fill(&mut share).map_err(|_| Error::Rng)?;
        shares.push(share);
    }
    let mut base: Vec<Point<'_>> = Vec::with_capacity(random_count + 2);
    for (x, share) in (0_u8..).zip(&shares) {
        base.push(Point { x, y: share });
    }
    base.push(Point {
        x: DIGEST_INDEX,
        y: &digest_share,
    });
    base.push(Point {
        x: SECRET_INDEX,
        y: secret,
    });
    let mut rest = Vec::with_capacity(usize::from(count) - random_count);
    for x in (threshold - 2)..count {
        rest.push(interpolate(&base, x, len)?);
    }
    drop(base);
    shares.extend(rest);
    Ok(shares)
}

/// RecoverSecret(T, points): the secret at x = 255, checked against the digest at x = 254
/// when `threshold` is at least 2.
pub(crate) fn recover_secret(threshold: u8, points: &[Point<'_>]) -> Result<Zeroizing<Vec<u8>>> {
    let first = points.first().ok_or(Error::NoShares)?;
    let len = first.y.len();
    if threshold == 1 {
        return Ok(Zeroizing::new(first.y.to_vec()));
    }
    let secret = interpolate(points, SECRET_INDEX, len)?;
    let digest_share = interpolate(points, DIGEST_INDEX, len)?;
    let (expected, random) = digest_share
        .split_at_checked(DIGEST_LEN)
        .ok_or(Error::BadSecretLength { len })?;
    if bool::from(digest(random, &secret).ct_eq(expected)) {
        Ok(secret)
    } else {
        Err(Error::InvalidDigest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_threshold_subset_recovers_and_a_changed_share_fails_the_digest() {
        let rng = SystemRandom::new();
        let secret: Vec<u8> = (0..16).collect();
        for (t, n) in [(1, 1), (1, 3), (2, 3), (3, 5), (16, 16)] {
            let shares = split_secret(&rng, t, n, &secret).unwrap();
            assert_eq!(shares.len(), usize::from(n));
            let points: Vec<Point<'_>> = (0_u8..n)
                .zip(&shares)
                .rev()
                .take(usize::from(t))
                .map(|(x, y)| Point { x, y })
                .collect();
            assert_eq!(&**recover_secret(t, &points).unwrap(), &secret[..]);
            if t >= 2 {
                let mut bad = shares[0].to_vec();
                bad[3] ^= 1;
                let mut points: Vec<Point<'_>> = (1_u8..)
                    .zip(&shares[1..])
                    .take(usize::from(t) - 1)
                    .map(|(x, y)| Point { x, y })
                    .collect();
                points.push(Point { x: 0, y: &bad });
                assert_eq!(
                    recover_secret(t, &points).unwrap_err(),
                    Error::InvalidDigest
                );
            }
        }
        assert!(split_secret(&rng, 0, 3, &secret).is_err());
        assert!(split_secret(&rng, 4, 3, &secret).is_err());
        assert!(split_secret(&rng, 2, 17, &secret).is_err());
    }
}
