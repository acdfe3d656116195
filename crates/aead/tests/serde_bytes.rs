//! `hexvault_aead::serde_bytes`: bytes in binary formats, base64 / hex / `"[REDACTED]"` text
//! in human-readable ones; a redacted field never reads back from text.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use hexvault_aead::serde_bytes::REDACTED;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Public {
    #[serde(with = "hexvault_aead::serde_bytes::base64")]
    b64: Vec<u8>,
    #[serde(with = "hexvault_aead::serde_bytes::hex")]
    hex: Vec<u8>,
    #[serde(with = "hexvault_aead::serde_bytes::opt_hex")]
    maybe: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct Secret {
    #[serde(with = "hexvault_aead::serde_bytes::redacted")]
    key: Zeroizing<Vec<u8>>,
}

#[test]
fn public_fields_round_trip_as_text_and_as_bytes() {
    let v = Public {
        b64: vec![0, 1, 2, 0xfe, 0xff],
        hex: vec![0xab, 0xcd],
        maybe: Some(vec![0x01]),
    };
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(json, r#"{"b64":"AAEC/v8=","hex":"abcd","maybe":"01"}"#);
    assert_eq!(serde_json::from_str::<Public>(&json).unwrap(), v);
    assert_eq!(
        serde_json::from_str::<Public>(r#"{"b64":"","hex":"ABCD","maybe":null}"#).unwrap(),
        Public {
            b64: vec![],
            hex: vec![0xab, 0xcd],
            maybe: None
        }
    );
    let bin = postcard::to_stdvec(&v).unwrap();
    assert_eq!(&bin[..6], &[5, 0, 1, 2, 0xfe, 0xff]);
    assert_eq!(postcard::from_bytes::<Public>(&bin).unwrap(), v);
    for bad in [
        r#"{"b64":"!!","hex":"","maybe":null}"#,
        r#"{"b64":"","hex":"abc","maybe":null}"#,
        r#"{"b64":"","hex":"zz","maybe":null}"#,
    ] {
        assert!(serde_json::from_str::<Public>(bad).is_err(), "{bad}");
    }
}

#[test]
fn redacted_fields_write_the_marker_and_never_read_text() {
    let v = Secret {
        key: Zeroizing::new(vec![0x42; 32]),
    };
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(json, format!(r#"{{"key":"{REDACTED}"}}"#));
    assert!(!json.contains("42") && !json.contains("66"));
    let err = serde_json::from_str::<Secret>(&json).err().unwrap();
    assert!(err.to_string().contains("redacted"), "{err}");
    // Whatever an editor puts in its place is refused too: text never carries a secret.
    for forged in [
        r#"{"key":"QkJC"}"#,
        r#"{"key":[66,66,66]}"#,
        r#"{"key":7}"#,
        r#"{"key":null}"#,
    ] {
        assert!(serde_json::from_str::<Secret>(forged).is_err(), "{forged}");
    }
    let bin = postcard::to_stdvec(&v).unwrap();
    assert_eq!(bin.len(), 33);
    assert_eq!(
        &postcard::from_bytes::<Secret>(&bin).unwrap().key[..],
        &[0x42; 32]
    );
}
