//! Fuzz target: any text -> `DerivationPath::from_str` never panics; an accepted path's
//! display parses back to the same path and is the input with `h`/`H` written as `'`.
#![no_main]

use hexvault_derivation::DerivationPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(path) = text.parse::<DerivationPath>() {
        let shown = path.to_string();
        assert_eq!(shown.parse::<DerivationPath>().ok(), Some(path));
        assert_eq!(shown, text.replace(['h', 'H'], "'"));
    }
});
