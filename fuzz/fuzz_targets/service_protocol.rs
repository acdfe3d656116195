//! Fuzz `VaultProtocol` frame decoding (requests and responses): decoding never panics, and
//! whatever decodes re-encodes to a frame that decodes to the same frame again.
#![no_main]

use hexvault_service::{Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::from_bytes(data) {
        let frame = request.to_bytes().expect("encode request");
        let again = Request::from_bytes(&frame).expect("decode request again");
        assert_eq!(again.to_bytes().expect("encode again"), frame);
    }
    if let Ok(response) = Response::from_bytes(data) {
        let frame = response.to_bytes().expect("encode response");
        let again = Response::from_bytes(&frame).expect("decode response again");
        assert_eq!(again.to_bytes().expect("encode again"), frame);
    }
});
