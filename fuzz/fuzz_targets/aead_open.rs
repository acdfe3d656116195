//! Fuzz `hexvault-aead` opening: arbitrary bytes through header decode, `SealingKey::open`,
//! `open_in_place` and `KeyRing::open` must be errors, never panics or plaintext.
#![no_main]

use std::sync::LazyLock;

use hexvault_aead::{HEADER_LEN, Header, Key, KeyRing, KeyVersion, SealingKey};
use libfuzzer_sys::fuzz_target;

static KEY: LazyLock<Option<SealingKey>> =
    LazyLock::new(|| SealingKey::new(Key::from_bytes([0x5A; 32]), KeyVersion::new(1).ok()?).ok());
static RING: LazyLock<Option<KeyRing>> =
    LazyLock::new(|| KeyRing::new(KeyVersion::new(1).ok()?, Key::from_bytes([0x5A; 32])).ok());

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        // Read/write pair: the decoded header writes back to the same bytes.
        assert_eq!(&header.encode()[..], &data[..HEADER_LEN]);
    }
    if let (Some(key), Some(ring)) = (KEY.as_ref(), RING.as_ref()) {
        // Random bytes never authenticate under a fixed key.
        assert!(key.open(data, b"fuzz").is_err());
        assert!(ring.open(data, b"fuzz").is_err());
        let mut buf = data.to_vec();
        assert!(key.open_in_place(b"fuzz", &mut buf).is_err());
    }
});
