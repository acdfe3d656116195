//! Wiping: the root key types wipe themselves on drop and offer no public `zeroize()` that
//! would leave a working key behind (review round 4: a wiped `VaultMasterKey` went on
//! deriving the all-zero key's children, a wiped `Seed` rooted a vault at the all-zero
//! seed, a wiped `Mnemonic` at the `abandon … about` phrase).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The probes are constants by design: the test reports which trait a type implements.
#![allow(clippy::assertions_on_constants)]

use core::marker::PhantomData;

use hexvault_keys::{AuditSigner, VaultMasterKey};
use hexvault_mnemonic::{Mnemonic, Seed};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `Probe::<T>::ZEROIZE` is the inherent `true` when `T: Zeroize`, the trait's `false`
/// otherwise (inherent associated items win when their bounds hold).
struct Probe<T: ?Sized>(PhantomData<T>);

trait Fallback {
    const ZEROIZE: bool = false;
    const ON_DROP: bool = false;
}

impl<T: ?Sized> Fallback for Probe<T> {}

#[allow(dead_code)]
impl<T: Zeroize + ?Sized> Probe<T> {
    const ZEROIZE: bool = true;
}

struct DropProbe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> Fallback for DropProbe<T> {}

#[allow(dead_code)]
impl<T: ZeroizeOnDrop + ?Sized> DropProbe<T> {
    const ON_DROP: bool = true;
}

/// A public `zeroize()` left a usable all-zero master (and seed, and a known phrase): the
/// types now wipe on drop only. The probes are checked on types that do and do not
/// implement the traits, so they can fail.
#[test]
fn a_wiped_master_key_does_not_keep_deriving_under_the_all_zero_key() {
    // Controls: the probe sees `Zeroize` where it is implemented, and not where it is not.
    assert!(Probe::<[u8; 32]>::ZEROIZE);
    assert!(!Probe::<AuditSigner>::ZEROIZE);
    assert!(DropProbe::<zeroize::Zeroizing<[u8; 32]>>::ON_DROP);
    assert!(!DropProbe::<u8>::ON_DROP);

    assert!(
        !Probe::<VaultMasterKey>::ZEROIZE,
        "VaultMasterKey::zeroize is public"
    );
    assert!(!Probe::<Seed>::ZEROIZE, "Seed::zeroize is public");
    assert!(!Probe::<Mnemonic>::ZEROIZE, "Mnemonic::zeroize is public");
    assert!(DropProbe::<VaultMasterKey>::ON_DROP);
    assert!(DropProbe::<Seed>::ON_DROP);
    assert!(DropProbe::<Mnemonic>::ON_DROP);
    assert!(DropProbe::<AuditSigner>::ON_DROP);

    // What the types still do: a master from a seed derives, and the same seed gives the
    // same master (nothing was wiped under the caller's feet).
    let seed = Seed::from_bytes([9u8; 64]);
    let a = VaultMasterKey::from_seed(&seed).unwrap();
    let b = VaultMasterKey::from_seed(&seed).unwrap();
    assert!(a == b);
    let zero = VaultMasterKey::from_seed(&Seed::from_bytes([0u8; 64])).unwrap();
    assert!(a != zero);
}
