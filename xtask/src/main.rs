//! `cargo xtask`: hexvault's maintenance tasks, each a named step that fails loudly.
//!
//! `cargo xtask ci` is the one command CI runs (through `.ci/run`); every step it takes can
//! also be run alone, so a failure can be reproduced with the step's own name. Steps stop at
//! the first problem and say which step failed and how to rerun it.
//!
//! The tool keeps to std plus `serde_json` (to read `cargo metadata`): it must build fast on a
//! fresh machine and never become a project of its own.

mod tidy;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A failed step: what failed and how to reproduce it.
#[derive(Debug)]
struct Failure(String);

type StepResult = Result<(), Failure>;

/// A named step of `cargo xtask ci`.
type Step = (&'static str, Box<dyn Fn() -> StepResult>);

const TASKS: &[(&str, &str)] = &[
    (
        "ci",
        "every step below in order (fmt, tidy, clippy, test, doc, deny, bench --test, fuzz --smoke)",
    ),
    ("fmt", "cargo fmt --all --check"),
    (
        "tidy",
        "architecture rules: dependency edges point down, every .rs file opens with `//!`, workspace lints",
    ),
    (
        "clippy",
        "cargo clippy --workspace --all-targets --all-features -- -D warnings",
    ),
    (
        "test",
        "cargo test --workspace --all-features, then each crate with features alone with --no-default-features",
    ),
    (
        "doc",
        "cargo doc --workspace --no-deps --all-features with RUSTDOCFLAGS=-D warnings",
    ),
    (
        "deny",
        "cargo deny check bans licenses sources; advisories when the RustSec database is reachable",
    ),
    (
        "bench",
        "criterion benches: `bench --test` runs each once; `bench [NAME] [--quick]` measures",
    ),
    (
        "fuzz",
        "`fuzz --smoke` runs every target a few seconds; `fuzz TARGET [--seconds N]` runs one",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        print_tasks();
        return ExitCode::SUCCESS;
    };
    let outcome = match task.as_str() {
        "ci" => ci(),
        "fmt" => fmt(),
        "tidy" => tidy::run(&project_root()).map_err(Failure),
        "clippy" => clippy(),
        "test" => test(),
        "doc" => doc(),
        "deny" => deny(),
        "bench" => bench(rest),
        "fuzz" => fuzz(rest),
        "help" | "--help" | "-h" => {
            print_tasks();
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown task `{other}`");
            print_tasks();
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("\nxtask: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_tasks() {
    println!("usage: cargo xtask <task> [args]\n\ntasks:");
    for (name, what) in TASKS {
        println!("  {name:<7} {what}");
    }
}

/// The workspace root, found from this crate's manifest directory, so the tasks work from
/// any current directory.
fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(project_root());
    command
}

/// Runs one command as part of step `step`, echoing it first, and turns a non-zero exit into
/// a failure that names the step.
fn run(step: &str, command: &mut Command) -> StepResult {
    let shown = format!("{command:?}");
    println!("\n$ {shown}");
    let status = command
        .status()
        .map_err(|error| Failure(format!("step `{step}`: could not start {shown}: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "step `{step}`: {shown} exited with {status}; rerun it alone with `cargo xtask {step}`"
        )))
    }
}

/// Runs each named step in order, timing it, and stops at the first failure.
fn ci() -> StepResult {
    let root = project_root();
    let steps: Vec<Step> = vec![
        ("fmt", Box::new(fmt)),
        ("tidy", Box::new(move || tidy::run(&root).map_err(Failure))),
        ("clippy", Box::new(clippy)),
        ("test", Box::new(test)),
        ("doc", Box::new(doc)),
        ("deny", Box::new(deny)),
        ("bench", Box::new(|| bench(&["--test".to_owned()]))),
        ("fuzz", Box::new(|| fuzz(&["--smoke".to_owned()]))),
    ];
    let started = Instant::now();
    let mut timings = Vec::new();
    for (name, step) in &steps {
        println!("\n==== xtask ci: step `{name}` ====");
        let step_started = Instant::now();
        step()?;
        timings.push((*name, step_started.elapsed()));
    }
    println!("\n==== xtask ci: all steps passed ====");
    for (name, took) in timings {
        println!("  {name:<7} {:>7.1} s", took.as_secs_f64());
    }
    println!("  total   {:>7.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn fmt() -> StepResult {
    run("fmt", cargo().args(["fmt", "--all", "--check"]))?;
    // The fuzz workspace is not a member of the main one, so `--all` does not reach it.
    run(
        "fmt",
        cargo()
            .current_dir(project_root().join("fuzz"))
            .args(["fmt", "--all", "--check"]),
    )
}

fn clippy() -> StepResult {
    run(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )
}

fn test() -> StepResult {
    run(
        "test",
        cargo().args(["test", "--workspace", "--all-features", "--locked"]),
    )?;
    // Feature unification in a workspace build hides a crate that does not build on its own:
    // test every crate that has features alone, without its defaults.
    for package in tidy::packages_with_features(&project_root()).map_err(Failure)? {
        run(
            "test",
            cargo().args([
                "test",
                "--locked",
                "--package",
                &package,
                "--no-default-features",
            ]),
        )?;
    }
    Ok(())
}

fn doc() -> StepResult {
    run(
        "doc",
        cargo().env("RUSTDOCFLAGS", "-D warnings").args([
            "doc",
            "--workspace",
            "--no-deps",
            "--all-features",
            "--locked",
        ]),
    )
}

fn deny() -> StepResult {
    if !tool_present("cargo-deny") {
        return Err(Failure(
            "step `deny`: cargo-deny is not installed; run `cargo install --locked cargo-deny` \
             (`.ci/run` does this on a fresh machine)"
                .to_owned(),
        ));
    }
    run(
        "deny",
        cargo().args(["deny", "--locked", "check", "bans", "licenses", "sources"]),
    )?;
    // The advisory database comes from the network. Fetch it with a deadline; when it cannot
    // be had, say so in one line instead of passing silently.
    let mut fetch = cargo();
    fetch
        .args(["deny", "fetch", "db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match run_with_deadline(&mut fetch, Duration::from_secs(90)) {
        Ok(true) => run(
            "deny",
            cargo().args(["deny", "--locked", "--offline", "check", "advisories"]),
        ),
        Ok(false) | Err(_) => {
            println!(
                "NOTICE: advisories check SKIPPED: the RustSec advisory database could not be \
                 fetched (no network); bans, licenses and sources were checked."
            );
            Ok(())
        }
    }
}

/// Runs `command`, killing it after `deadline`. Returns whether it finished successfully.
fn run_with_deadline(command: &mut Command, deadline: Duration) -> std::io::Result<bool> {
    let mut child = command.spawn()?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if started.elapsed() > deadline {
            child.kill()?;
            child.wait()?;
            return Ok(false);
        }
        thread::sleep(Duration::from_millis(200));
    }
}

fn tool_present(binary: &str) -> bool {
    let subcommand = binary.trim_start_matches("cargo-");
    cargo()
        .args([subcommand, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `bench --test`: every criterion bench once, in the test profile (dependencies at
/// opt-level 3), to prove the benches build and run. `bench [NAME] [--quick]`: real
/// measurements, `--quick` with short warm-up and measurement times.
fn bench(args: &[String]) -> StepResult {
    if args.iter().any(|arg| arg == "--test") {
        return run(
            "bench",
            cargo().args([
                "test",
                "--locked",
                "--package",
                "hexvault-benches",
                "--benches",
            ]),
        );
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let mut command = cargo();
    command.args(["bench", "--locked", "--package", "hexvault-benches"]);
    if let Some(name) = args.iter().find(|arg| !arg.starts_with("--")) {
        command.args(["--bench", name]);
    }
    if quick {
        command.args(["--", "--warm-up-time", "1", "--measurement-time", "2"]);
    }
    run("bench", &mut command)
}

/// Seconds each target runs in `fuzz --smoke`.
const SMOKE_SECONDS: u64 = 4;

/// `fuzz --smoke`: builds every target once and runs each for [`SMOKE_SECONDS`].
/// `fuzz TARGET [--seconds N]`: runs one target (default 60 s).
///
/// The stable toolchain is the only one on our machines; cargo-fuzz passes nightly flags, so
/// the build runs with `RUSTC_BOOTSTRAP=1`. Targets are built without a sanitizer: every
/// fuzzed crate forbids `unsafe`, so AddressSanitizer would add build time, not findings.
fn fuzz(args: &[String]) -> StepResult {
    if !tool_present("cargo-fuzz") {
        return Err(Failure(
            "step `fuzz`: cargo-fuzz is not installed; run `cargo install --locked cargo-fuzz` \
             (`.ci/run` does this on a fresh machine)"
                .to_owned(),
        ));
    }
    let fuzz_dir = project_root().join("fuzz");
    let fuzz_cargo = || {
        let mut command = cargo();
        command.current_dir(&fuzz_dir).env("RUSTC_BOOTSTRAP", "1");
        command
    };
    let smoke = args.iter().any(|arg| arg == "--smoke");
    let seconds = match args.iter().position(|arg| arg == "--seconds") {
        Some(at) => args
            .get(at + 1)
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| Failure("step `fuzz`: --seconds takes a whole number".to_owned()))?,
        None if smoke => SMOKE_SECONDS,
        None => 60,
    };
    let targets: Vec<String> = if smoke {
        list_fuzz_targets(&fuzz_dir)?
    } else {
        match args
            .iter()
            .find(|arg| !arg.starts_with("--") && arg.parse::<u64>().is_err())
        {
            Some(target) => vec![target.clone()],
            None => {
                return Err(Failure(
                    "step `fuzz`: name a target (`cargo xtask fuzz TARGET`) or pass --smoke"
                        .to_owned(),
                ));
            }
        }
    };
    if targets.is_empty() {
        return Err(Failure(
            "step `fuzz`: fuzz/Cargo.toml declares no targets".to_owned(),
        ));
    }
    run(
        "fuzz",
        fuzz_cargo().args(["fuzz", "build", "--sanitizer", "none"]),
    )?;
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|error| {
            Failure(format!(
                "step `fuzz`: cannot create {}: {error}",
                corpus.display()
            ))
        })?;
        run(
            "fuzz",
            fuzz_cargo().args([
                "fuzz",
                "run",
                "--sanitizer",
                "none",
                target,
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=2048",
                "-print_final_stats=1",
            ]),
        )?;
    }
    println!(
        "fuzz: {} target(s) ran {seconds} s each without a finding",
        targets.len()
    );
    Ok(())
}

/// The `[[bin]]` names in `fuzz/Cargo.toml`, read as text to keep xtask free of a TOML parser.
fn list_fuzz_targets(fuzz_dir: &Path) -> Result<Vec<String>, Failure> {
    let manifest_path = fuzz_dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|error| {
        Failure(format!(
            "step `fuzz`: cannot read {}: {error}",
            manifest_path.display()
        ))
    })?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            targets.push(name.to_owned());
        }
    }
    Ok(targets)
}
