//! Fuzz the vault directory's config.toml parser (docs/formats.md, "Vault directory"): any
//! text parses or is refused without a panic, and a config that parses is written back to a
//! text that parses to the same config. The input is also spliced into a config of the
//! documented form (ids cut at newlines, key versions from its first bytes), so the checks
//! of ids, key versions and edges are reached. A config that parses yields a topology
//! (ADR 0087) with no difference to itself.
#![no_main]

use hexvault_cli::topology::Topology;
use hexvault_cli::vault_format::Config;
use libfuzzer_sys::fuzz_target;

/// Printable ASCII without `"` and `\`: safe inside a TOML basic string.
fn field(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| b as char)
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect()
}

fn check(text: &str) {
    let Ok(config) = Config::parse(text) else {
        return;
    };
    let again = config.text().expect("a parsed config is written back");
    let back = Config::parse(&again).expect("a written config parses");
    assert_eq!(format!("{back:?}"), format!("{config:?}"));
    // The topology checked against the audit log (ADR 0087): equal to itself, and to the
    // written-back config's.
    if let Ok(topology) = Topology::of_config(&config) {
        assert_eq!(topology.difference(&topology), None);
        let again = Topology::of_config(&back).expect("the same edges");
        assert_eq!(topology.difference(&again), None);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    let (Some(&current), Some(&minimum), Some(rest)) = (data.first(), data.get(1), data.get(2..))
    else {
        return;
    };
    let mut ids = rest.split(|&b| b == b'\n').map(field);
    let (partition, cell, from, to) = (
        ids.next().unwrap_or_default(),
        ids.next().unwrap_or_default(),
        ids.next().unwrap_or_default(),
        ids.next().unwrap_or_default(),
    );
    check(&format!(
        "format = 1\naudit_public_key = \"{}\"\n\n[partitions.\"{partition}\".cells.\"{cell}\"]\n\
         key_version = {current}\nmin_key_version = {minimum}\n\n[[edges]]\nfrom = \"{from}\"\n\
         to = \"{to}\"\n",
        "ab".repeat(32)
    ));
});
