//! Helpers shared by the integration tests: loading the JSON vector files in `tests/data/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// Parses `tests/data/<name>` as JSON.
pub(crate) fn load(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("vector file is committed in tests/data");
    serde_json::from_str(&text).expect("vector file is valid JSON")
}

/// A string field of a JSON object.
pub(crate) fn field<'a>(case: &'a serde_json::Value, name: &str) -> &'a str {
    case[name]
        .as_str()
        .unwrap_or_else(|| panic!("missing field {name}"))
}

/// A hex field of a JSON object, decoded.
pub(crate) fn hex_field(case: &serde_json::Value, name: &str) -> Vec<u8> {
    hex::decode(field(case, name)).unwrap()
}
