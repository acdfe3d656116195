//! Every key type that derives, seals, opens or roots something wipes itself on drop and
//! offers no public `zeroize()` that would leave a working key behind (an all-zero AEAD key,
//! audit key, policy secret, session key, HD key, derived service key or share goes on
//! working silently): the CONTRIBUTING rule, checked on every such type of every crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The probes are constants by design: the test reports which trait a type implements.
#![allow(clippy::assertions_on_constants)]

use core::marker::PhantomData;

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

/// Asserts `T` wipes on drop and has no public `zeroize()`.
macro_rules! wipes_on_drop_only {
    ($($ty:ty),+ $(,)?) => {$(
        assert!(!Probe::<$ty>::ZEROIZE, "{} has a public zeroize()", stringify!($ty));
        assert!(DropProbe::<$ty>::ON_DROP, "{} does not wipe on drop", stringify!($ty));
    )+};
}

#[test]
fn key_types_wipe_on_drop_and_offer_no_public_zeroize() {
    // Controls: the probes see the traits where they are implemented and not elsewhere.
    assert!(Probe::<[u8; 32]>::ZEROIZE);
    assert!(!Probe::<String>::ZEROIZE || Probe::<Vec<u8>>::ZEROIZE);
    assert!(!Probe::<u8>::ON_DROP && !DropProbe::<u8>::ON_DROP);
    assert!(DropProbe::<zeroize::Zeroizing<[u8; 32]>>::ON_DROP);

    wipes_on_drop_only!(
        hexvault::aead::Key,
        hexvault::keys::AuditKey,
        hexvault::keys::VaultMasterKey,
        hexvault::keys::AuditSigner,
        hexvault::mnemonic::Seed,
        hexvault::mnemonic::Mnemonic,
        hexvault::cells::AccessToken,
        hexvault::cells::PolicySecret,
        hexvault::cells::SessionExport,
        hexvault::derivation::ed25519::ExtendedPrivateKey,
        hexvault::shares::MasterSecret,
        hexvault::shares::Share,
    );
    #[cfg(feature = "secp256k1")]
    wipes_on_drop_only!(hexvault::derivation::secp256k1::ExtendedPrivateKey);
    #[cfg(feature = "service")]
    wipes_on_drop_only!(hexvault::service::DerivedKey);
}
