//! `bench --peers`: hexvault beside cachekit-core 0.7.4 and HexVault 1.1.2 (the
//! `benches/peers/` workspace: the criterion bench `peers`, then the `ratios` bench, which
//! prints the table of same-run ratios against the targets of issue 10) and the service
//! bench, whose warm and cold derive figures close the table. `bench --peers --test` builds and runs each peer bench
//! once and the peers workspace's tests (the CI smoke run).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Failure, StepResult, cargo, project_root, run};

/// The peers workspace, relative to the project root.
const PEERS_DIR: &str = "benches/peers";

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
    // The table: alternating timed blocks, median of per-round ratios (benches/ratios.rs).
    run(
        "bench --peers",
        peer_cargo().args(["bench", "--locked", "--bench", "ratios"]),
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

/// The service lines of the table, from the criterion medians of the service bench.
fn table(criterion: &Path) -> Result<String, Failure> {
    let mut out = String::new();
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
        "derivation_private_key+public_key",
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
        {
            let r = cold / (direct + channel);
            format!("{r:.2} {} (<= 1.20)", if r <= 1.2 { "ok" } else { "MISS" })
        },
    ));
    Ok(out)
}
