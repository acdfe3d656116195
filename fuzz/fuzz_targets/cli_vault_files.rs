//! Fuzz what the command line reads from the files of a vault directory besides its config:
//! a cell blob's public header (`ls`, `reseal`), the plaintext of a large object's data-key
//! blob, blob and stream file names, and `PARTITION/CELL` names. None may panic, and every
//! name they accept is the one the command line writes.
#![no_main]

use hexvault_cli::large_format;
use hexvault_cli::vault_format::{self, CellRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vault_format::blob_versions(data);
    if let Ok(Some(key)) = large_format::data_key(data) {
        assert_eq!(&*large_format::key_record(&key), data);
        assert!(large_format::is_large(data));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(object) = vault_format::blob_file_object(text) {
        assert_eq!(
            format!(
                "{}.{}",
                hex::encode(object.as_str()),
                vault_format::BLOB_EXT
            ),
            text
        );
    }
    if let Some(object_hex) = large_format::stream_file_object_hex(text) {
        assert!(text.starts_with(object_hex));
    }
    if let Ok(cell) = CellRef::parse(text, "fuzz") {
        assert_eq!(cell.name(), text);
    }
});
