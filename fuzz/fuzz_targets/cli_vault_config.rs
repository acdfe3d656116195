//! Fuzz the vault directory's config.toml parser (docs/formats.md, "Vault directory"): any
//! text parses or is refused without a panic, and a config that parses is written back to a
//! text that parses to the same config.
#![no_main]

use hexvault_cli::vault_format::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text) else {
        return;
    };
    let again = config.text().expect("a parsed config is written back");
    let back = Config::parse(&again).expect("a written config parses");
    assert_eq!(format!("{back:?}"), format!("{config:?}"));
});
