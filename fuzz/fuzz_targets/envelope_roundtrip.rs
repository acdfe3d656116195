//! Fuzz store/retrieve round trips for arbitrary bytes under options chosen by the input.
#![no_main]

use hexvault_envelope::{ByteStorage, Compression, ContentType, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, u16, &[u8])| {
    let (knobs, min_len, data) = input;
    let compression = if knobs & 1 == 0 {
        Compression::Auto
    } else {
        Compression::Never
    };
    let label = (knobs & 2 != 0).then(|| ContentType::new("application/x-fuzz").expect("label"));
    let storage = ByteStorage::new(
        Options::default().with_compression(Compression::Auto)
            .with_compression(compression)
            .with_min_compress_len(usize::from(min_len))
            .with_content_type(label.clone()),
    );
    let mut envelope = Vec::new();
    let stored = storage.store_into(data, &mut envelope).expect("store");
    let mut back = Vec::new();
    let read = storage
        .retrieve_into(&envelope, &mut back)
        .expect("retrieve");
    assert_eq!(back, data);
    assert_eq!(read.checksum, stored.checksum);
    assert_eq!(read.content_type, label);
    assert!(envelope.len() <= data.len() + 32 + ContentType::MAX_LEN);
});
