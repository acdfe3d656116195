//! Properties of the blob format through the public API: any ids, plaintext and layer round
//! trip; a blob never opens under other ids; the length is header + plaintext + 16 per layer.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_cells::*;
use proptest::prelude::*;

const ID: &str = "[A-Za-z0-9._:/@-]{1,128}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_ids_plaintext_and_layer_round_trip(
        p in ID, c in ID, o in ID, other in ID,
        pt in proptest::collection::vec(any::<u8>(), 0..600),
        layer in 0u8..3,
    ) {
        let (vault, _log) = vault();
        let reader = token("reader");
        let session = vault.start_session(Duration::from_secs(60)).unwrap();
        let creds = Credentials::none().token(&reader).session(&session);
        let layer = Layer::from_number(layer).unwrap();
        let cell = cell(&vault, &p, &c);
        let object = ObjectId::new(&o).unwrap();
        let blob = cell.seal(&object, &pt, layer, &creds).unwrap();
        let ids = p.len() + c.len() + o.len() + 3;
        let layers = usize::from(layer.number()) + 1;
        let policy = if layer >= Layer::Access { 1 + "readers".len() } else { 0 };
        let session_len = if layer == Layer::Session { SESSION_ID_LEN } else { 0 };
        prop_assert_eq!(blob.len(), 15 + ids + policy + session_len + 44 * layers + pt.len() + 16 * layers);
        let opened = cell.open(&object, &blob, &creds).unwrap();
        prop_assert_eq!(opened.expose_secret(), &pt[..]);
        if other != o {
            prop_assert!(cell.open(&ObjectId::new(&other).unwrap(), &blob, &creds).is_err());
        }
        if other != c {
            let elsewhere = common::cell(&vault, &p, &other);
            prop_assert!(elsewhere.open(&object, &blob, &creds).is_err());
        }
    }
}
