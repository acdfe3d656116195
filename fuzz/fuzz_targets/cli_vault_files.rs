//! Fuzz what the command line reads from the files of a vault directory besides its config:
//! a cell blob's public header (`ls`, `reseal`), the plaintext of a large object's data-key
//! blob, blob and stream file names, `PARTITION/CELL` names, and the `declare` record of an
//! audit log record (ADR 0087). None may panic, every name they accept is the one the command
//! line writes, and a declaration read from a record is written back as the same one.
#![no_main]

use hexvault_audit::AuditRecord;
use hexvault_cli::large_format;
use hexvault_cli::topology::Declaration;
use hexvault_cli::vault_format::{self, CellRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = AuditRecord::decode(data)
        && let Ok(declaration) = Declaration::of_event(&record.event)
    {
        let event = declaration
            .event()
            .expect("a declaration read back has valid ids");
        assert_eq!(
            Declaration::of_event(&event).expect("a written declaration reads back"),
            declaration
        );
    }
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
