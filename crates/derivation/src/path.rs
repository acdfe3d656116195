//! `ChildNumber` and `DerivationPath`: validated indices and the `m/74'/2'/0'/0'` text form.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::error::{Error, PathErrorKind, Result};

/// The hardened bit of a BIP-32 child number (2^31).
const HARDENED_BIT: u32 = 1 << 31;

/// The deepest path BIP-32 can serialize (depth is one byte).
pub const MAX_DEPTH: usize = 255;

/// One step of a derivation path: an index below 2^31 and a hardened flag.
///
/// The wire form ([`ChildNumber::to_bits`]) is the BIP-32 `ser32(i)` value, with the
/// hardened bit set for hardened children. Constructors refuse an index of 2^31 or more,
/// so "hardened 2^31" (which would silently wrap) cannot be written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildNumber(u32);

impl ChildNumber {
    /// The largest index, hardened or not (2^31 - 1).
    pub const MAX_INDEX: u32 = HARDENED_BIT - 1;

    /// A hardened child `index'`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] if `index >= 2^31`.
    pub const fn hardened(index: u32) -> Result<Self> {
        if index > Self::MAX_INDEX {
            return Err(Error::IndexOutOfRange { index });
        }
        Ok(Self(index | HARDENED_BIT))
    }

    /// A normal (non-hardened) child `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] if `index >= 2^31`.
    pub const fn normal(index: u32) -> Result<Self> {
        if index > Self::MAX_INDEX {
            return Err(Error::IndexOutOfRange { index });
        }
        Ok(Self(index))
    }

    /// Builds a child number from its BIP-32 wire value (`ser32(i)`); every `u32` is valid.
    #[must_use]
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Hardened child from a small literal, for the crate's constant paths only.
    pub(crate) const fn hardened_const(index: u32) -> Self {
        Self((index & Self::MAX_INDEX) | HARDENED_BIT)
    }

    /// Whether this is a hardened child.
    #[must_use]
    pub const fn is_hardened(self) -> bool {
        self.0 & HARDENED_BIT != 0
    }

    /// The index without the hardened bit (`0..2^31`).
    #[must_use]
    pub const fn index(self) -> u32 {
        self.0 & Self::MAX_INDEX
    }

    /// The BIP-32 wire value: the index with the hardened bit set when hardened.
    #[must_use]
    pub const fn to_bits(self) -> u32 {
        self.0
    }

    /// The wire value as 4 big-endian bytes (`ser32(i)`).
    #[must_use]
    pub const fn to_be_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for ChildNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_hardened() {
            write!(f, "{}'", self.index())
        } else {
            write!(f, "{}", self.index())
        }
    }
}

impl fmt::Debug for ChildNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildNumber({self})")
    }
}

impl FromStr for ChildNumber {
    type Err = Error;

    /// Parses one component: `5`, `5'`, `5h` or `5H`.
    fn from_str(s: &str) -> Result<Self> {
        parse_component(s).map_err(|reason| Error::InvalidPath {
            component: 1,
            reason,
        })
    }
}

/// A BIP-32 / SLIP-0010 derivation path such as `m/74'/2'/0'/0'`.
///
/// Invariant: at most [`MAX_DEPTH`] steps, each a valid [`ChildNumber`]. Parsing accepts
/// `'`, `h` and `H` as hardened markers and prints `'`; it rejects anything else
/// (see [`PathErrorKind`]). Paths are public data: `Debug` shows them in full.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DerivationPath {
    steps: Cow<'static, [ChildNumber]>,
}

impl DerivationPath {
    /// The master key's path, `m`.
    pub const MASTER: Self = Self {
        steps: Cow::Borrowed(&[]),
    };

    /// A path over constant steps, for the crate's named paths (depth checked by tests).
    pub(crate) const fn from_static(steps: &'static [ChildNumber]) -> Self {
        Self {
            steps: Cow::Borrowed(steps),
        }
    }

    /// A path from its steps.
    ///
    /// # Errors
    /// [`Error::DepthOverflow`] with more than [`MAX_DEPTH`] steps.
    pub fn from_children(steps: Vec<ChildNumber>) -> Result<Self> {
        if steps.len() > MAX_DEPTH {
            return Err(Error::DepthOverflow);
        }
        Ok(Self {
            steps: Cow::Owned(steps),
        })
    }

    /// The steps in order, root first.
    pub fn iter(&self) -> core::iter::Copied<core::slice::Iter<'_, ChildNumber>> {
        self.steps.iter().copied()
    }

    /// The steps as a slice, root first.
    #[must_use]
    pub fn as_slice(&self) -> &[ChildNumber] {
        &self.steps
    }

    /// Number of steps (the depth of the key it names).
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether this is `m` itself.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// This path extended by one step.
    ///
    /// # Errors
    /// [`Error::DepthOverflow`] if the path already has [`MAX_DEPTH`] steps.
    pub fn child(&self, child: ChildNumber) -> Result<Self> {
        if self.steps.len() >= MAX_DEPTH {
            return Err(Error::DepthOverflow);
        }
        let mut steps = Vec::with_capacity(self.steps.len().saturating_add(1));
        steps.extend_from_slice(&self.steps);
        steps.push(child);
        Ok(Self {
            steps: Cow::Owned(steps),
        })
    }

    /// Whether every step is hardened (true for `m`): the path SLIP-0010 ed25519 accepts.
    #[must_use]
    pub fn is_fully_hardened(&self) -> bool {
        self.steps.iter().all(|c| c.is_hardened())
    }
}

impl Default for DerivationPath {
    fn default() -> Self {
        Self::MASTER
    }
}

impl<'a> IntoIterator for &'a DerivationPath {
    type Item = ChildNumber;
    type IntoIter = core::iter::Copied<core::slice::Iter<'a, ChildNumber>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl AsRef<[ChildNumber]> for DerivationPath {
    fn as_ref(&self) -> &[ChildNumber] {
        self.as_slice()
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for step in self.steps.iter() {
            write!(f, "/{step}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivationPath({self})")
    }
}

impl FromStr for DerivationPath {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = |component, reason| Error::InvalidPath { component, reason };
        if s.is_empty() {
            return Err(invalid(0, PathErrorKind::Empty));
        }
        let Some(rest) = s.strip_prefix('m') else {
            return Err(invalid(0, PathErrorKind::MissingRoot));
        };
        if rest.is_empty() {
            return Ok(Self::MASTER);
        }
        let Some(rest) = rest.strip_prefix('/') else {
            let c = rest.chars().next().unwrap_or('?');
            return Err(invalid(0, PathErrorKind::InvalidCharacter(c)));
        };
        let mut steps = Vec::new();
        for (i, component) in rest.split('/').enumerate() {
            let position = i.saturating_add(1);
            if position > MAX_DEPTH {
                return Err(invalid(position, PathErrorKind::TooDeep));
            }
            let child = parse_component(component).map_err(|reason| invalid(position, reason))?;
            steps.push(child);
        }
        Ok(Self {
            steps: Cow::Owned(steps),
        })
    }
}

impl TryFrom<&str> for DerivationPath {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self> {
        s.parse()
    }
}

/// Parses `123`, `123'`, `123h` or `123H` into a child number.
fn parse_component(component: &str) -> core::result::Result<ChildNumber, PathErrorKind> {
    if component.is_empty() {
        return Err(PathErrorKind::EmptyComponent);
    }
    let (digits, hardened) = match component.strip_suffix(['\'', 'h', 'H']) {
        Some(digits) => (digits, true),
        None => (component, false),
    };
    if digits.is_empty() {
        return Err(PathErrorKind::MissingIndex);
    }
    let mut value: u32 = 0;
    for c in digits.chars() {
        let digit = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            '\'' | 'h' | 'H' => return Err(PathErrorKind::MisplacedMarker),
            other => return Err(PathErrorKind::InvalidCharacter(other)),
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .filter(|v| *v <= ChildNumber::MAX_INDEX)
            .ok_or(PathErrorKind::IndexTooLarge)?;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(PathErrorKind::LeadingZero);
    }
    let child = if hardened {
        ChildNumber::hardened(value)
    } else {
        ChildNumber::normal(value)
    };
    child.map_err(|_| PathErrorKind::IndexTooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> PathErrorKind {
        match s.parse::<DerivationPath>() {
            Err(Error::InvalidPath { reason, .. }) => reason,
            other => panic!("{s:?} should be rejected, got {other:?}"),
        }
    }

    #[test]
    fn parses_and_displays() {
        let p: DerivationPath = "m/74'/2h/0H/0".parse().unwrap();
        assert_eq!(p.to_string(), "m/74'/2'/0'/0");
        assert_eq!(p.len(), 4);
        assert!(!p.is_fully_hardened());
        assert_eq!(
            "m".parse::<DerivationPath>().unwrap(),
            DerivationPath::MASTER
        );
        assert!(DerivationPath::MASTER.is_fully_hardened());
        let max: DerivationPath = "m/2147483647'/2147483647".parse().unwrap();
        assert_eq!(max.as_slice()[0].to_bits(), u32::MAX);
        assert_eq!(max.as_slice()[1].to_bits(), 0x7fff_ffff);
    }

    #[test]
    fn rejects_malformed() {
        use PathErrorKind as K;
        assert_eq!(reason(""), K::Empty);
        assert_eq!(reason("/0"), K::MissingRoot);
        assert_eq!(reason("M/0"), K::MissingRoot);
        assert_eq!(reason("m/"), K::EmptyComponent);
        assert_eq!(reason("m//0"), K::EmptyComponent);
        assert_eq!(reason("m/0/"), K::EmptyComponent);
        assert_eq!(reason("m0"), K::InvalidCharacter('0'));
        assert_eq!(reason("m/+1"), K::InvalidCharacter('+'));
        assert_eq!(reason("m/-1"), K::InvalidCharacter('-'));
        assert_eq!(reason("m/ 1"), K::InvalidCharacter(' '));
        assert_eq!(reason("m/1a"), K::InvalidCharacter('a'));
        assert_eq!(reason("m/'"), K::MissingIndex);
        assert_eq!(reason("m/1''"), K::MisplacedMarker);
        assert_eq!(reason("m/1'2"), K::MisplacedMarker);
        assert_eq!(reason("m/01"), K::LeadingZero);
        assert_eq!(reason("m/2147483648"), K::IndexTooLarge);
        assert_eq!(reason("m/2147483648'"), K::IndexTooLarge);
        assert_eq!(reason("m/4294967296h"), K::IndexTooLarge);
        assert_eq!(reason("m/99999999999999999999999999'"), K::IndexTooLarge);
        assert_eq!(reason("m/１"), K::InvalidCharacter('１'));
        let deep = format!("m{}", "/0'".repeat(256));
        assert_eq!(reason(&deep), K::TooDeep);
        let ok = format!("m{}", "/0'".repeat(255));
        assert_eq!(ok.parse::<DerivationPath>().unwrap().len(), 255);
    }

    #[test]
    fn error_names_the_component() {
        let err = "m/74'/x/0'".parse::<DerivationPath>().unwrap_err();
        assert_eq!(
            err,
            Error::InvalidPath {
                component: 2,
                reason: PathErrorKind::InvalidCharacter('x')
            }
        );
        assert!(err.to_string().contains("component 2"));
    }

    #[test]
    fn child_numbers() {
        assert_eq!(ChildNumber::hardened(0).unwrap().to_bits(), 0x8000_0000);
        assert_eq!(ChildNumber::normal(5).unwrap().to_string(), "5");
        assert_eq!(ChildNumber::hardened(5).unwrap().to_string(), "5'");
        assert_eq!(ChildNumber::hardened(5).unwrap().index(), 5);
        assert_eq!(
            ChildNumber::hardened(1 << 31),
            Err(Error::IndexOutOfRange { index: 1 << 31 })
        );
        assert!(ChildNumber::normal(u32::MAX).is_err());
        assert_eq!(
            "7h".parse::<ChildNumber>().unwrap(),
            ChildNumber::hardened(7).unwrap()
        );
        assert!(ChildNumber::from_bits(0x8000_0001).is_hardened());
    }

    #[test]
    fn child_and_depth_limit() {
        let mut p = DerivationPath::MASTER;
        for _ in 0..MAX_DEPTH {
            p = p.child(ChildNumber::hardened(1).unwrap()).unwrap();
        }
        assert_eq!(
            p.child(ChildNumber::hardened(1).unwrap()),
            Err(Error::DepthOverflow)
        );
        assert!(DerivationPath::from_children(vec![ChildNumber::from_bits(0); 256]).is_err());
    }
}
