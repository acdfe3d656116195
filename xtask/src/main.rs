//! `cargo xtask`: hexvault's maintenance tasks, each a named step that fails loudly.
//!
//! `cargo xtask ci` is the one command CI runs (through `.ci/run`); every step it takes can
//! also be run alone, so a failure can be reproduced with the step's own name. Steps stop at
//! the first problem and say which step failed and how to rerun it.
//!
//! The tool keeps to std plus `serde_json` (to read `cargo metadata`): it must build fast on a
//! fresh machine and never become a project of its own.

mod header;
mod peers;
mod tidy;
mod tools;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A failed step: what failed and how to reproduce it.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

pub(crate) type StepResult = Result<(), Failure>;

/// A named step of `cargo xtask ci`.
type Step = (&'static str, Box<dyn Fn() -> StepResult>);

const TASKS: &[(&str, &str)] = &[
    (
        "ci",
        "installs missing tools, then every step below in order (fmt, tidy, header --check, clippy, test, postgres, features, doc, deny, package, bench --test, bench --peers --test, fuzz --smoke)",
    ),
    (
        "tools",
        "installs what the steps need when missing: cargo-deny, cargo-fuzz, cargo-hack (pinned) and the C reference libraries",
    ),
    ("fmt", "cargo fmt --all --check"),
    (
        "tidy",
        "architecture rules: dependency edges point down, every .rs file opens with `//!`, workspace lints",
    ),
    (
        "header",
        "writes include/hexvault.h from crates/ffi with cbindgen; `header --check` fails if the committed one differs",
    ),
    (
        "clippy",
        "cargo clippy --workspace --all-targets --all-features -- -D warnings",
    ),
    (
        "test",
        "cargo test --workspace --all-features, then the tests that need the C reference libraries",
    ),
    (
        "postgres",
        "starts a throwaway PostgreSQL 15 cluster (scripts/pg-test-cluster.sh) and runs the tests that need it: hexvault-audit-postgres and `hexvault audit --postgres-url-*`",
    ),
    (
        "features",
        "cargo hack check --each-feature --all-targets: every crate alone, without defaults and with each feature alone; the facade's tests run that way too",
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
        "package",
        "cargo package --workspace for every publishable crate (metadata, readme, files)",
    ),
    (
        "bench",
        "criterion benches: `bench --test` runs each once; `bench [NAME] [--quick]` measures; `bench --peers [--quick]` measures against cachekit-core and HexVault 1.1.2 and prints the ratio table (`--peers --test`: each once)",
    ),
    (
        "fuzz",
        "`fuzz --smoke` runs every target a few seconds; `fuzz TARGET [--seconds N]` runs one",
    ),
    (
        "man",
        "writes the man pages of the `hexvault` command (hexvault.1 and one per subcommand) into target/man, or into `man DIR`",
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
        "tools" => tools::ensure_all(),
        "fmt" => fmt(),
        "tidy" => tidy::run(&project_root()).map_err(Failure),
        "header" => header::run(&project_root(), rest),
        "clippy" => clippy(),
        "test" => test(),
        "postgres" => postgres(),
        "features" => features(),
        "doc" => doc(),
        "deny" => deny(),
        "package" => package(),
        "bench" => bench(rest),
        "fuzz" => fuzz(rest),
        "man" => man(rest),
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

pub(crate) fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(project_root());
    command
}

/// `cargo xtask man [DIR]`: the man pages, rendered by the command itself (its hidden `man`
/// subcommand, clap_mangen over the parser's own definition) so they never drift from it.
fn man(rest: &[String]) -> StepResult {
    let dir = match rest {
        [] => project_root().join("target").join("man"),
        [dir] => PathBuf::from(dir),
        _ => return Err(Failure("usage: cargo xtask man [DIR]".to_owned())),
    };
    run(
        "man",
        cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "hexvault-cli",
                "--bin",
                "hexvault",
                "--",
                "man",
            ])
            .arg("--out-dir")
            .arg(&dir),
    )?;
    println!(
        "man pages written to {} (read one with `man -l {}/hexvault.1`)",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// Runs one command as part of step `step`, echoing it first, and turns a non-zero exit into
/// a failure that names the step.
pub(crate) fn run(step: &str, command: &mut Command) -> StepResult {
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
        ("tools", Box::new(tools::ensure_all)),
        ("fmt", Box::new(fmt)),
        ("tidy", {
            let root = root.clone();
            Box::new(move || tidy::run(&root).map_err(Failure))
        }),
        (
            "header",
            Box::new(move || header::run(&root, &["--check".to_owned()])),
        ),
        ("clippy", Box::new(clippy)),
        ("test", Box::new(test)),
        ("postgres", Box::new(postgres)),
        ("features", Box::new(features)),
        ("doc", Box::new(doc)),
        ("deny", Box::new(deny)),
        ("package", Box::new(package)),
        ("bench", Box::new(|| bench(&["--test".to_owned()]))),
        ("peers", Box::new(|| peers::bench(&["--test".to_owned()]))),
        ("fuzz", Box::new(|| fuzz(&["--smoke".to_owned()]))),
    ];
    let started = Instant::now();
    let mut timings = Vec::new();
    report_free_disk(&project_root(), "before the first step");
    for (name, step) in &steps {
        println!("\n==== xtask ci: step `{name}` ====");
        let step_started = Instant::now();
        let outcome = step();
        report_free_disk(&project_root(), &format!("after step `{name}`"));
        outcome?;
        timings.push((*name, step_started.elapsed()));
    }
    println!("\n==== xtask ci: all steps passed ====");
    for (name, took) in timings {
        println!("  {name:<7} {:>7.1} s", took.as_secs_f64());
    }
    println!("  total   {:>7.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Prints the space left on the file system that holds `root` (and so `target/`), read with
/// `df -Pk`: a CI machine once ran out of disk in the middle of the test step, and this line
/// tells such a failure from a bug at a glance. Says so when `df` cannot be read; never fails
/// the run by itself.
fn report_free_disk(root: &Path, when: &str) {
    let output = Command::new("df").arg("-Pk").arg(root).output();
    let available_kib = output.ok().and_then(|output| {
        let text = String::from_utf8(output.stdout).ok()?;
        // POSIX format: a header line, then `filesystem blocks used available capacity mount`.
        let line = text.lines().nth(1)?;
        line.split_whitespace().nth(3)?.parse::<u64>().ok()
    });
    match available_kib {
        Some(kib) => println!(
            "xtask: {:.1} GiB free on the disk that holds {} ({when})",
            kib as f64 / (1024.0 * 1024.0),
            root.display()
        ),
        None => println!("xtask: could not read the free disk space with `df -Pk` ({when})"),
    }
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
    // Tests that compile C programs against the reference libraries are `#[ignore]`d so that
    // plain `cargo test --workspace` passes on a machine with only the Rust toolchain; here,
    // where the `tools` step has installed the libraries, they run and must pass.
    tools::ensure_c_libraries()?;
    run(
        "test",
        cargo().args([
            "test",
            "--locked",
            "--package",
            "hexvault-envelope",
            "--all-features",
            "--test",
            "interop",
            "--",
            "--ignored",
        ]),
    )?;
    // The C suite of hexvault-ffi ran in the workspace run above; its Python ctypes example
    // needs python3, present on CI machines, so it is `#[ignore]`d for plain `cargo test`.
    run(
        "test",
        cargo().args([
            "test",
            "--locked",
            "--package",
            "hexvault-ffi",
            "--test",
            "c_suite",
            "--",
            "--ignored",
        ]),
    )
}

/// The tests that need a PostgreSQL server are `#[ignore]`d (they fail, never skip, when
/// run without one); here they run against a throwaway cluster that
/// `scripts/pg-test-cluster.sh` starts (installing `postgresql-15` when root and missing),
/// stops and deletes, also on failure.
fn postgres() -> StepResult {
    let cargo_bin = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // `$0` is cargo: one cluster for both packages.
    let tests = "\"$0\" test --locked --package hexvault-audit-postgres -- --ignored && \
                 \"$0\" test --locked --package hexvault-cli --test audit_postgres -- --ignored";
    run(
        "postgres",
        Command::new(project_root().join("scripts").join("pg-test-cluster.sh"))
            .current_dir(project_root())
            .args(["sh", "-c", tests, &cargo_bin]),
    )
}

/// Every crate alone (`--package`), without its default features and with each feature
/// alone: feature unification in a workspace build hides a crate that does not build or
/// pass on its own. `--exclude-all-features`: the `test` step already ran that set.
/// Every crate compiles (library, tests, examples, benches) without default features and with
/// each feature alone; the facade's tests also run that way. Running every crate's tests per
/// feature doubled the CI time for little: a feature gates code, and code that does not
/// compile without it is what this step exists to catch. The `test` step runs every test
/// with all features.
fn features() -> StepResult {
    tools::ensure("cargo-hack")?;
    run(
        "features",
        cargo().args([
            "hack",
            "check",
            "--locked",
            "--workspace",
            "--exclude",
            "hexvault-benches",
            "--each-feature",
            "--exclude-all-features",
            // The default set is what every other step builds.
            "--exclude-features",
            "default",
            "--all-targets",
        ]),
    )?;
    run(
        "features",
        cargo().args([
            "hack",
            "test",
            "--locked",
            "-p",
            "hexvault",
            "--each-feature",
            "--exclude-all-features",
            "--exclude-features",
            "default",
        ]),
    )
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
    tools::ensure("cargo-deny")?;
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

/// `cargo package` in workspace mode for every publishable crate: each must carry its
/// metadata, its README and every file its build needs. `--no-verify`: the other steps
/// already build and test every crate alone; verification would build them all again.
fn package() -> StepResult {
    let mut command = cargo();
    command.args(["package", "--workspace", "--locked", "--no-verify"]);
    for excluded in ["xtask", "hexvault-benches"] {
        command.args(["--exclude", excluded]);
    }
    // A developer's tree is often dirty; CI's fresh clone never is.
    if env::var_os("CI").is_none() {
        command.arg("--allow-dirty");
    }
    run("package", &mut command)
}

/// `bench --test`: every criterion bench once, in the test profile (dependencies at
/// opt-level 3), to prove the benches build and run. `bench [NAME] [--quick]`: real
/// measurements, `--quick` with short warm-up and measurement times.
fn bench(args: &[String]) -> StepResult {
    if args.iter().any(|arg| arg == "--peers") {
        return peers::bench(args);
    }
    if args.iter().any(|arg| arg == "--test") {
        // Under a throwaway PostgreSQL cluster: the audit_postgres bench needs a server.
        return run(
            "bench",
            with_pg_cluster().args([
                "test",
                "--locked",
                "--package",
                "hexvault-benches",
                "--package",
                "hexvault-ffi",
                "--package",
                "hexvault-cli",
                "--benches",
            ]),
        );
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let mut command = with_pg_cluster();
    command.args(["bench", "--locked"]);
    // The FFI bench lives in hexvault-ffi: it calls the `unsafe` C entry points, and unsafe
    // code stays in that crate.
    match args.iter().find(|arg| !arg.starts_with("--")) {
        Some(name) if name == "ffi" => {
            command.args(["--package", "hexvault-ffi", "--bench", "ffi"])
        }
        // The whole-process benchmark of the `hexvault` binary (crates/cli/benches).
        Some(name) if name == "cli" => {
            command.args(["--package", "hexvault-cli", "--bench", "process"])
        }
        Some(name) => command.args(["--package", "hexvault-benches", "--bench", name]),
        None => command.args([
            "--package",
            "hexvault-benches",
            "--package",
            "hexvault-ffi",
            "--benches",
        ]),
    };
    if quick {
        command.args(["--", "--warm-up-time", "1", "--measurement-time", "2"]);
    }
    run("bench", &mut command)
}

/// `cargo` run by `scripts/pg-test-cluster.sh`: with a throwaway PostgreSQL cluster and
/// `HEXVAULT_TEST_POSTGRES_URL` set (the audit_postgres bench needs them).
fn with_pg_cluster() -> Command {
    let mut command = Command::new(project_root().join("scripts").join("pg-test-cluster.sh"));
    command
        .current_dir(project_root())
        .arg(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
}

/// Seconds each target runs in `fuzz --smoke`.
const SMOKE_SECONDS: u64 = 4;

/// `fuzz --smoke`: builds every target once and runs each for [`SMOKE_SECONDS`].
/// `fuzz TARGET [--seconds N]`: runs one target (default 60 s).
///
/// The stable toolchain is the only one on our machines; cargo-fuzz passes nightly flags, so
/// the build runs with `RUSTC_BOOTSTRAP=1`. Targets are built without a sanitizer: every
/// crate of ours forbids `unsafe`, but dependencies (ring's C and assembly, dalek's SIMD) do
/// not: without AddressSanitizer a memory error there shows only if it crashes (ADR 0002).
fn fuzz(args: &[String]) -> StepResult {
    tools::ensure("cargo-fuzz")?;
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
        let mut command = fuzz_cargo();
        command.args([
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ]);
        run_fuzz_target(target, &mut command)?;
    }
    println!(
        "fuzz: {} target(s) ran {seconds} s each without a finding",
        targets.len()
    );
    Ok(())
}

/// Runs one fuzz target with its output captured: on success one summary line (runs,
/// coverage, corpus), on failure everything libFuzzer printed, so the finding and its
/// reproducer path are visible.
fn run_fuzz_target(target: &str, command: &mut Command) -> StepResult {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|error| Failure(format!("step `fuzz`: could not start {shown}: {error}")))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        eprintln!("{}{log}", String::from_utf8_lossy(&output.stdout));
        return Err(Failure(format!(
            "step `fuzz`: target `{target}` failed ({}); its output is above; rerun it alone \
             with `cargo xtask fuzz {target}`",
            output.status
        )));
    }
    println!("fuzz: {target:<22} {}", fuzz_summary(&log));
    Ok(())
}

/// The summary of a libFuzzer log: executed runs, and the coverage, features and corpus
/// size of its last status line.
fn fuzz_summary(log: &str) -> String {
    let runs = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .map_or("?", str::trim);
    let field = |name: &str| {
        log.lines()
            .rev()
            .filter(|line| line.starts_with('#'))
            .find_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|word| *word == name)?;
                words.next()
            })
            .unwrap_or("?")
    };
    format!(
        "{runs} runs, cov {}, ft {}, corpus {}",
        field("cov:"),
        field("ft:"),
        field("corp:")
    )
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
