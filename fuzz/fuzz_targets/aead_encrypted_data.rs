//! Fuzz `EncryptedData` decoding (postcard and JSON): decode, write back, compare, and
//! decrypt must never panic.
#![no_main]

use std::sync::LazyLock;

use hexvault_aead::{EncryptedData, EncryptionKey};
use libfuzzer_sys::fuzz_target;

static KEY: LazyLock<Option<EncryptionKey>> =
    LazyLock::new(|| EncryptionKey::from_node_private_key(&[7; 32]).ok());

fuzz_target!(|data: &[u8]| {
    if let Ok(ed) = EncryptedData::from_bytes(data) {
        let bytes = ed.to_bytes().expect("encode");
        assert_eq!(EncryptedData::from_bytes(&bytes).expect("decode again"), ed);
        if let Some(key) = KEY.as_ref() {
            assert!(ed.decrypt(key, b"").is_err());
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(ed) = EncryptedData::from_json(text)
    {
        let json = ed.to_json().expect("encode json");
        assert_eq!(
            EncryptedData::from_json(&json).expect("decode json again"),
            ed
        );
        if let Some(key) = KEY.as_ref() {
            assert!(ed.decrypt(key, b"").is_err());
        }
    }
});
