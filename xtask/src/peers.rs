//! `bench --peers`: hexvault beside cachekit-core 0.7.4 and HexVault 1.1.2 (the
//! `benches/peers/` workspace) plus the service bench, then one table of same-run ratios
//! against the targets of issue 10. `bench --peers --test` builds and runs each peer bench
//! once and the peers workspace's tests (the CI smoke run).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Failure, StepResult, cargo, project_root, run};

/// The peers workspace, relative to the project root.
const PEERS_DIR: &str = "benches/peers";

/// Payload sizes of the peer benches (the table's columns).
const SIZES: [(usize, &str); 4] = [
    (64, "64 B"),
    (1024, "1 KiB"),
    (64 * 1024, "64 KiB"),
    (1024 * 1024, "1 MiB"),
];

/// The most a ratio may be, per size (`None`: no target, shown for information).
type Targets = [Option<f64>; 4];

/// One row of ratios: `numerator / sum(denominators)` of criterion medians, same group.
struct Row {
    label: &'static str,
    group: &'static str,
    numerator: &'static str,
    denominators: &'static [&'static str],
    targets: Targets,
}

const ROWS: &[Row] = &[
    Row {
        label: "aead seal+open (Vec API) / bare ring, prebuilt key",
        group: "peers_aead",
        numerator: "hexvault_vec",
        denominators: &["ring_bare"],
        targets: [Some(1.3), Some(1.3), Some(1.1), Some(1.1)],
    },
    Row {
        label: "aead seal+open (Vec API) / cachekit-core",
        group: "peers_aead",
        numerator: "hexvault_vec",
        denominators: &["cachekit"],
        // At least 2.5x, 1.8x, 1.1x faster.
        targets: [Some(0.4), Some(0.556), Some(0.909), Some(0.909)],
    },
    Row {
        label: "aead seal_in_place+open_in_place / cachekit-core",
        group: "peers_aead",
        numerator: "hexvault_in_place",
        denominators: &["cachekit"],
        targets: [None; 4],
    },
    Row {
        label: "aead seal+open (Vec API) / HexVault 1.1.2 one-layer seal+peel",
        group: "peers_aead",
        numerator: "hexvault_vec",
        denominators: &["hexvault_1_1_2"],
        targets: [None; 4],
    },
    Row {
        label: "envelope store+retrieve, JSON / cachekit-core",
        group: "peers_envelope_json",
        numerator: "hexvault",
        denominators: &["cachekit"],
        // At least 1.5x faster at 64 B; never slower from 64 KiB.
        targets: [Some(0.667), None, Some(1.0), Some(1.0)],
    },
    Row {
        label: "envelope store+retrieve, JSON / raw lz4_flex + xxh3",
        group: "peers_envelope_json",
        numerator: "hexvault",
        denominators: &["raw_lz4_xxh3"],
        targets: [None, Some(1.1), Some(1.05), Some(1.05)],
    },
    Row {
        label: "envelope store+retrieve, random bytes / cachekit-core",
        group: "peers_envelope_noise",
        numerator: "hexvault",
        denominators: &["cachekit"],
        targets: [Some(0.667), None, Some(1.0), Some(1.0)],
    },
    Row {
        label: "envelope store+retrieve, random bytes / raw xxh3 + copies",
        group: "peers_envelope_noise",
        numerator: "hexvault",
        denominators: &["raw_xxh3_copy"],
        targets: [None; 4],
    },
];

/// `bench --peers [--quick]` measures and prints the table; `bench --peers --test` is the
/// smoke run (`cargo test --benches --tests` in the peers workspace: each bench once, and
/// the wipe-on-drop allocator test).
pub(crate) fn bench(args: &[String]) -> StepResult {
    let root = project_root();
    let peers = root.join(PEERS_DIR);
    // Run from the peers directory so its `.cargo/config.toml` (shared target dir) applies.
    let peer_cargo = || {
        let mut command = cargo();
        command.current_dir(&peers);
        command
    };
    if args.iter().any(|arg| arg == "--test") {
        return run(
            "bench --peers --test",
            peer_cargo().args(["test", "--locked", "--benches", "--tests"]),
        );
    }
    let timing: &[&str] = if args.iter().any(|arg| arg == "--quick") {
        &["--", "--warm-up-time", "1", "--measurement-time", "2"]
    } else {
        &[]
    };
    run(
        "bench --peers",
        peer_cargo()
            .args(["bench", "--locked", "--bench", "peers"])
            .args(timing),
    )?;
    run(
        "bench --peers",
        cargo()
            .args([
                "bench",
                "--locked",
                "--package",
                "hexvault-benches",
                "--bench",
                "service",
            ])
            .args(timing),
    )?;
    let criterion = root.join("target").join("criterion");
    print!("{}", table(&criterion)?);
    Ok(())
}

/// The criterion median (ns) of `function` in `group`.
fn median(criterion: &Path, group: &str, function: &str) -> Result<f64, Failure> {
    let path: PathBuf = criterion
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = fs::read_to_string(&path).map_err(|e| {
        Failure(format!(
            "bench --peers: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "bench --peers: {} is not JSON: {e}",
            path.display()
        ))
    })?;
    json.pointer("/median/point_estimate")
        .and_then(Value::as_f64)
        .ok_or_else(|| Failure(format!("bench --peers: no median in {}", path.display())))
}

fn cell(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(max) if ratio <= max => format!("{ratio:.2} ok (<= {max:.2})"),
        Some(max) => format!("{ratio:.2} MISS (<= {max:.2})"),
        None => format!("{ratio:.2}"),
    }
}

/// The ratio table (time ours / time theirs, same run: below 1 is faster) as Markdown.
fn table(criterion: &Path) -> Result<String, Failure> {
    let mut out = String::from("\n| ratio of medians, same run |");
    for (_, name) in SIZES {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for row in ROWS {
        out.push_str(&format!("| {} |", row.label));
        for ((size, _), target) in SIZES.iter().zip(row.targets) {
            // Criterion turns the `/` of a group name into `_` in its directory names.
            let group = format!("{}_{size}", row.group);
            let ours = median(criterion, &group, row.numerator)?;
            let mut theirs = 0.0;
            for d in row.denominators {
                theirs += median(criterion, &group, d)?;
            }
            out.push_str(&format!(" {} |", cell(ours / theirs, target)));
        }
        out.push('\n');
    }
    let warm = median(
        criterion,
        "service_derive_warm",
        "hexvault_handle_derive_cached",
    )?;
    let cold = median(
        criterion,
        "service_derive_cold",
        "hexvault_handle_derive_uncached",
    )?;
    let direct = median(
        criterion,
        "service_derive_cold",
        "derivation_derive_from_seed+public_key",
    )?;
    let channel = median(
        criterion,
        "service_request_overhead",
        "bare_mpsc_echo_round_trip",
    )?;
    out.push_str(&format!(
        "\nservice warm derive: {warm:.0} ns ({})\n\
         service cold derive / (direct derivation + bare channel round trip): {} \
         ({cold:.0} ns / ({direct:.0} + {channel:.0}) ns)\n\
         Figures from this machine in one run; on a shared, contended machine read the \
         ratios, not the absolute times.\n",
        if warm <= 1000.0 {
            "ok, <= 1000 ns"
        } else {
            "MISS, <= 1000 ns"
        },
        cell(cold / (direct + channel), Some(1.2)),
    ));
    Ok(out)
}
