//! The vault directory commands: `init`, `partition add`, `cell add`, `edge add`,
//! `config adopt|sync`, `ls`, `seal`, `open`, `traverse`, `rotate` and `reseal` (ADR 0071,
//! ADR 0087).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::large;
use crate::output;
use crate::tokens::{self, FileResolver};
use crate::topology::{Declaration, Topology};
use crate::vaultdir::{
    self, CONFIG_FORMAT, CellRef, Config, EdgeConfig, OpenVault, Replace, VaultDir, blob_versions,
};
use crate::{PassphraseArgs, PhraseArgs};
use hexvault::audit::{BlobRef, Endpoint, Event, EventKind};
use hexvault::cells::{AccessToken, Credentials, Layer, ObjectId, RouteId};
use hexvault::edges;
use hexvault::mnemonic::{Language, Mnemonic, WordCount};
use hexvault::{NoAccessTokens, Vault};

/// Where the vault directory is.
#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// The vault directory (default ./.hexvault; $HEXVAULT_DIR overrides the default).
    #[arg(
        long,
        value_name = "PATH",
        env = "HEXVAULT_DIR",
        default_value = ".hexvault"
    )]
    pub(crate) dir: PathBuf,
}

/// `hexvault init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Generate a new 24-word mnemonic for the vault and show it once (on standard output,
    /// never to /dev/null, or into a new file with --out). Without it, the phrase is read
    /// as every command reads it: --mnemonic-file, $HEXVAULT_MNEMONIC or standard input.
    #[arg(long, conflicts_with = "mnemonic_file")]
    generate: bool,
    /// With --generate: write the new phrase to this new file (mode 0600, never over an
    /// existing file) instead of standard output.
    #[arg(long, value_name = "FILE", requires = "generate")]
    out: Option<PathBuf>,
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// The secret inputs of a command that opens the vault: the phrase (never from standard
/// input when it carries data), the passphrase, and the layer-1 token.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    /// The token resolver file (docs/formats.md, "Token resolver file"; default
    /// $HEXVAULT_TOKENS). Needed for layer 1.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Read the access token (layer 1) from the environment variable with this name.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// The session file of `hexvault session start` (layer 2, with --token-env too).
    #[arg(long, value_name = "FILE")]
    session: Option<PathBuf>,
}

/// `hexvault seal`.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The cell, PARTITION/CELL.
    #[arg(long, value_name = "P/C")]
    cell: String,
    /// The object id (a new one: seal never overwrites).
    #[arg(long, value_name = "OBJECT")]
    id: String,
    /// The top layer: 0 (at rest, the vault's keys alone), 1 (also an access token's
    /// policy secret: --token-env and a token resolver file) or 2 (also a session key:
    /// --session FILE; unreadable once the session ends).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    layer: u8,
    /// Compress with LZ4 first when that is shorter (payloads of at most 1 MiB; large
    /// objects are never compressed). Off by default: the length then reveals how
    /// compressible the plaintext is (CRIME/BREACH).
    #[arg(long)]
    compress: bool,
    /// Read the plaintext from this file instead of standard input. Above 1 MiB it is
    /// sealed as a large object: a data key in the blob, the payload as a sealed stream
    /// beside it, in bounded memory (docs/formats.md, "Large object").
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
    #[command(flatten)]
    keys: KeyArgs,
}

/// `hexvault open`.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The cell, PARTITION/CELL.
    #[arg(long, value_name = "P/C")]
    cell: String,
    /// The object id.
    #[arg(long, value_name = "OBJECT")]
    id: String,
    /// Write the plaintext to this file (mode 0600, atomically) instead of standard output.
    /// A large object is written to standard output as it authenticates: on a failure
    /// (exit 1) what was written before it is incomplete; with --out the file appears only
    /// once the whole object authenticated.
    #[arg(long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the plaintext to standard output even when it is a terminal.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    keys: KeyArgs,
}

/// `hexvault traverse`.
#[derive(Debug, Args)]
pub(crate) struct TraverseArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The source cell, PARTITION/CELL.
    #[arg(long, value_name = "P/C")]
    from: String,
    /// The destination cell, PARTITION/CELL (an edge from --from to it must be declared).
    #[arg(long, value_name = "P/C")]
    to: String,
    /// The object id (the same in both cells).
    #[arg(long, value_name = "OBJECT")]
    id: String,
    /// Remove the source blob once the destination blob and its audit record are durable.
    #[arg(long = "move")]
    move_source: bool,
    #[command(flatten)]
    keys: KeyArgs,
}

/// `hexvault rotate` and `hexvault reseal`.
#[derive(Debug, Args)]
pub(crate) struct CellKeyArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The cell, PARTITION/CELL.
    #[arg(long, value_name = "P/C")]
    cell: String,
    #[command(flatten)]
    keys: KeyArgs,
}

#[derive(Serialize)]
struct InitReport {
    dir: String,
    audit_public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mnemonic_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "output::optional_secret_str")]
    mnemonic: Option<Zeroizing<String>>,
}

/// `init`: creates the directory (mode 0700; it must not exist or be empty), the audit log
/// and config.toml with the audit signer's public key.
pub(crate) fn init(args: &InitArgs, json: bool) -> CliResult {
    let root = &args.dir.dir;
    if root.join(vaultdir::CONFIG_FILE).exists() {
        return Err(CliError::Failed(
            "a vault already exists in the directory given; use it, or choose another --dir".into(),
        ));
    }
    if holds_entries(root)? {
        return Err(CliError::Failed(
            "the directory given is not empty; `hexvault init` creates a vault only in a new \
             or empty directory"
                .into(),
        ));
    }
    if let (true, Some(out)) = (args.generate, &args.out) {
        vaultdir::refuse_out_inside(out, root, "the new mnemonic, the root of every key,")?;
    }
    let (mnemonic, shown) = if args.generate {
        let mnemonic = Mnemonic::generate(WordCount::Words24, Language::English)?;
        if args.out.is_none() {
            output::stdout_keeps_a_secret()?;
        }
        (mnemonic, true)
    } else {
        (input::mnemonic(&args.phrase, Stdin::Available)?, false)
    };
    let passphrase = input::passphrase(&args.passphrase)?;
    let seed = mnemonic.to_seed(&passphrase);
    let created = !root.exists();
    create_dir_private(root)?;
    // The phrase was read after the check above (perhaps from a pipe, for as long as its
    // writer took): another `init` may have made a vault here meanwhile. The directory's
    // lock makes `init`s take turns, and the check is made again under it, so a late `init`
    // neither writes into nor cleans up what another one made (review round 18).
    let _lock = vaultdir::ConfigLock::wait_for(root)?;
    if holds_entries(root)? {
        return Err(CliError::Failed(
            "the directory given is no longer empty: another command made files in it while \
             this one read the phrase; nothing was written. Use the vault there, or choose \
             another --dir"
                .into(),
        ));
    }
    // The phrase is saved before the vault exists: a vault whose phrase was lost is
    // useless, so a failed --out leaves no vault behind.
    if shown && let Some(path) = &args.out {
        let phrase = mnemonic.phrase();
        let mut text = Zeroizing::new(String::with_capacity(phrase.len() + 1));
        text.push_str(&phrase);
        text.push('\n');
        if let Err(error) = output::write_new_secret_file(path, text.as_bytes()) {
            if created {
                let _ = std::fs::remove_dir(root);
            }
            return Err(error);
        }
    }
    let made = create_vault(root, &seed);
    // Nothing half-made survives: removes what this command wrote, the new phrase's --out
    // file included (the phrase of a vault that was never made opens nothing; review round
    // 41: a rerun then refused the file it had left).
    let unmake = || {
        if let (true, Some(out)) = (shown, &args.out) {
            let _ = std::fs::remove_file(out);
        }
        let log = root.join(vaultdir::AUDIT_FILE);
        for path in [
            root.join(vaultdir::CONFIG_FILE),
            hexvault::audit::Anchor::path_for(&log),
            log,
        ] {
            let _ = std::fs::remove_file(path);
        }
        if created {
            let _ = std::fs::remove_dir(root);
        }
    };
    if made.is_err() {
        unmake();
    }
    let dir = made?;
    let printed =
        (shown && args.out.is_none()).then(|| Zeroizing::new(mnemonic.phrase().to_string()));
    let to_print = printed.is_some();
    // A vault whose new phrase was never shown is useless: if printing it fails, the vault
    // is removed again, as when --out fails.
    let unshown = |error: CliError| {
        unmake();
        CliError::Failed(format!(
            "the new mnemonic could not be printed ({error}); no vault was made: run `hexvault \
             init` again"
        ))
    };
    if json {
        let reported = output::json(&InitReport {
            dir: root.display().to_string(),
            audit_public_key: dir.config.audit_public_key.clone(),
            mnemonic_file: args.out.as_ref().map(|p| p.display().to_string()),
            mnemonic: printed,
        });
        match reported {
            Err(error) if to_print => Err(unshown(error)),
            other => other,
        }
    } else {
        if let Some(phrase) = &printed {
            output::line(phrase).map_err(unshown)?;
            output::note(
                "the line above is the vault's new mnemonic: it is shown once; write it down",
            );
        }
        output::fields(&[
            ("vault", &root.display().to_string()),
            ("audit public key", &dir.config.audit_public_key),
        ])?;
        output::note(
            "keep the audit public key outside the vault: `hexvault audit verify --public-key` checks the log with it",
        );
        Ok(())
    }
}

/// Whether the directory `root` has any entry; `false` when it does not exist (`init`
/// makes it). A directory that cannot be listed is an error, never taken for empty: a
/// vault is made only where nothing else can be.
fn holds_entries(root: &Path) -> CliResult<bool> {
    let listing = |error| CliError::io("listing the directory given", error);
    match std::fs::read_dir(root) {
        Ok(mut entries) => match entries.next() {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(error)) => Err(listing(error)),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(listing(error)),
    }
}

/// Writes the audit log and config.toml of a new vault in `root` (empty).
fn create_vault(root: &Path, seed: &hexvault::mnemonic::Seed) -> CliResult<VaultDir> {
    let public = hexvault::keys::audit_signer(seed)?.verifying_key();
    let dir = VaultDir {
        root: root.to_path_buf(),
        config: Config {
            format: CONFIG_FORMAT,
            audit_public_key: hex::encode(public.to_bytes()),
            partitions: std::collections::BTreeMap::new(),
            edges: Vec::new(),
        },
    };
    let vault = Vault::builder()
        .audit_file(dir.audit_file())
        .from_seed(seed, NoAccessTokens)?;
    // From its first record on, the log records the vault's topology (ADR 0087).
    Declaration::Audited.record(vault.audit_log().as_ref())?;
    vault.close()?;
    dir.save()?;
    Ok(dir)
}

/// `traverse`'s check that nothing is at the destination blob's path: any directory entry
/// (a dangling symbolic link included, which `Path::exists` takes for nothing) is refused,
/// and so is a path that cannot be inspected (review round 45): the blob's write, after
/// the record, must not be the first to find it taken.
fn destination_free(destination: &Path, object: &ObjectId, to: &CellRef) -> CliResult {
    match std::fs::symlink_metadata(destination) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(CliError::io("checking the destination object", error)),
        Ok(_) => Err(CliError::Failed(format!(
            "object {object} exists in cell {} already; remove it or use another cell",
            to.name()
        ))),
    }
}

/// Creates the vault directory with mode 0700, or sets an existing (empty) one to 0700: a
/// directory others can write lets them replace the log, its anchor and the config
/// (review round 41: an existing directory kept its mode, even 1777).
fn create_dir_private(root: &Path) -> CliResult {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    builder
        .create(root)
        .map_err(|error| CliError::io("creating the vault directory", error))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
        .map_err(|error| CliError::io("making the vault directory private (mode 0700)", error))
}

#[derive(Serialize)]
struct Changed<'a> {
    added: &'a str,
    name: String,
}

fn report_added(kind: &str, name: String, json: bool) -> CliResult {
    if json {
        output::json(&Changed { added: kind, name })
    } else {
        output::line(&format!("added {kind} {name}"))
    }
}

/// The secret inputs of a command that changes the vault's topology or config: the phrase
/// and passphrase (the change is recorded in the audit log, which needs the vault's keys).
#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// Opens the vault of a topology change (its config.toml already matches its log), runs
/// `check` on the config, records `declaration` in the audit log and makes it durable,
/// then `apply`s it to config.toml and writes that, still holding the log (ADR 0087). A
/// crash between the two writes leaves the log ahead of config.toml: refused until
/// `hexvault config sync`.
fn declare(
    vault: &mut VaultDir,
    secrets: &SecretArgs,
    declaration: &Declaration,
    check: impl FnOnce(&VaultDir) -> CliResult,
    apply: impl FnOnce(&mut Config),
) -> CliResult {
    let seed = input::seed(&secrets.phrase, &secrets.passphrase, Stdin::Available)?;
    let opened = vault.assemble(&seed, NoAccessTokens)?;
    // A refused change appends nothing.
    check(vault)?;
    declaration.record(opened.vault.audit_log().as_ref())?;
    // The record is durable (checkpointed and anchored) before config.toml names it, and
    // config.toml is written before the log is released: a command that opens the log next
    // reads the config that matches it.
    opened.vault.checkpoint()?;
    apply(&mut vault.config);
    let saved = vault.save();
    drop(opened.edges);
    opened.vault.close()?;
    saved
}

/// `partition add ID` (recorded in the audit log).
pub(crate) fn partition_add(
    dir: &DirArgs,
    secrets: &SecretArgs,
    id: &str,
    json: bool,
) -> CliResult {
    let partition = vaultdir::partition_id(id, "partition add")?;
    let (mut vault, _lock) = VaultDir::open_for_change(&dir.dir)?;
    let name = partition.to_string();
    declare(
        &mut vault,
        secrets,
        &Declaration::Partition(partition.clone()),
        |vault| {
            if vault.config.partitions.contains_key(partition.as_str()) {
                return Err(CliError::Failed(format!(
                    "partition {partition} exists; `hexvault ls` lists the partitions"
                )));
            }
            Ok(())
        },
        |config| {
            config
                .partitions
                .insert(name.clone(), vaultdir::PartitionConfig::default());
        },
    )?;
    report_added("partition", name, json)
}

/// `cell add P/C` (the partition must exist; recorded in the audit log).
pub(crate) fn cell_add(dir: &DirArgs, secrets: &SecretArgs, name: &str, json: bool) -> CliResult {
    let cell = CellRef::parse(name, "cell add")?;
    let (mut vault, _lock) = VaultDir::open_for_change(&dir.dir)?;
    declare(
        &mut vault,
        secrets,
        &Declaration::Cell(cell.clone()),
        |vault| {
            let Some(partition) = vault.config.partitions.get(cell.partition.as_str()) else {
                return Err(CliError::Failed(
                    "the partition of this cell is not declared (not repeated here): add it \
                     first with `hexvault partition add ID`"
                        .into(),
                ));
            };
            if partition.cells.contains_key(cell.cell.as_str()) {
                return Err(CliError::Failed(format!(
                    "cell {} exists; `hexvault ls` lists the cells",
                    cell.name()
                )));
            }
            Ok(())
        },
        |config| {
            config
                .partitions
                .entry(cell.partition.to_string())
                .or_default()
                .cells
                .insert(cell.cell.to_string(), vaultdir::CellConfig::default());
        },
    )?;
    report_added("cell", cell.name(), json)
}

/// `edge add FROM TO` (both cells declared; one-way; recorded in the audit log).
pub(crate) fn edge_add(
    dir: &DirArgs,
    secrets: &SecretArgs,
    from: &str,
    to: &str,
    json: bool,
) -> CliResult {
    let from = CellRef::parse(from, "edge add FROM")?;
    let to = CellRef::parse(to, "edge add TO")?;
    if from == to {
        // `traverse` refuses --from and --to the same cell: such an edge could never be
        // used, and its `declare` record would stay in the log for good.
        return Err(CliError::Usage(format!(
            "an edge from cell {} to itself is never traversed; use `hexvault reseal --cell {}` \
             to re-encrypt a cell's objects in place",
            from.name(),
            from.name()
        )));
    }
    let (mut vault, _lock) = VaultDir::open_for_change(&dir.dir)?;
    let edge = EdgeConfig {
        from: from.name(),
        to: to.name(),
    };
    let name = format!("{} -> {}", edge.from, edge.to);
    declare(
        &mut vault,
        secrets,
        &Declaration::Edge(from.clone(), to.clone()),
        |vault| {
            vault.declared(&from, "edge add FROM")?;
            vault.declared(&to, "edge add TO")?;
            if vault.config.edges.contains(&edge) {
                return Err(CliError::Failed(format!(
                    "the edge {} -> {} is declared already",
                    edge.from, edge.to
                )));
            }
            // The route name the edges crate gives it (`P/C@P/C`, `edges::default_route`)
            // must fit and name no other route: ids may hold `@` and cell ids `/`, so two
            // edges can share one, and a vault whose log declares both could never connect
            // its edges again (review round 9).
            let route = match edges::default_route(
                (&from.partition, &from.cell),
                (&to.partition, &to.cell),
            ) {
                Ok(route) => route,
                Err(edges::Error::RouteName { name }) => {
                    return Err(CliError::Failed(format!(
                        "the edge's route name `{name}` is longer than {} bytes; use shorter \
                         partition and cell ids",
                        hexvault::cells::MAX_ID_LEN
                    )));
                }
                Err(other) => return Err(other.into()),
            };
            for other in &vault.config.edges {
                let (other_from, other_to) = (
                    CellRef::parse(&other.from, "config.toml")?,
                    CellRef::parse(&other.to, "config.toml")?,
                );
                let other_route = edges::default_route(
                    (&other_from.partition, &other_from.cell),
                    (&other_to.partition, &other_to.cell),
                );
                if names(other_route, &route)? {
                    return Err(CliError::Failed(format!(
                        "the edge {} -> {} would have the route name `{route}` of the declared \
                         edge {} -> {}; ids holding `@` or `/` can collide: declare it between \
                         cells with other ids",
                        edge.from, edge.to, other.from, other.to
                    )));
                }
            }
            for (declared, _) in vault.cells()? {
                if names(
                    edges::reseal_route(&declared.partition, &declared.cell),
                    &route,
                )? {
                    return Err(CliError::Failed(format!(
                        "the edge {} -> {} would have the route name `{route}`, which the \
                         edges library reserves for the reseal edge of cell {} \
                         (`Connect::reseal_edge`); declare it between cells with other ids",
                        edge.from,
                        edge.to,
                        declared.name()
                    )));
                }
            }
            Ok(())
        },
        |config| config.edges.push(edge.clone()),
    )?;
    report_added("edge", name, json)
}

/// `true` if `candidate` (a route name of the edges crate) is `route`. A name too long to be a
/// route id (`Error::RouteName`) names no route, so it is not `route`, which fits.
fn names(candidate: edges::Result<RouteId>, route: &RouteId) -> CliResult<bool> {
    match candidate {
        Ok(candidate) => Ok(&candidate == route),
        Err(edges::Error::RouteName { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

#[derive(Serialize)]
struct ConfigReport {
    action: &'static str,
    partitions: usize,
    cells: usize,
    edges: usize,
}

fn report_config(report: &ConfigReport, json: bool) -> CliResult {
    if json {
        output::json(report)
    } else {
        output::line(&format!(
            "{}: {} partitions, {} cells, {} edges",
            match report.action {
                "adopt" => "config.toml's topology recorded in the audit log",
                _ => "config.toml rewritten from the audit log",
            },
            report.partitions,
            report.cells,
            report.edges
        ))
    }
}

/// `config adopt`: records config.toml's partitions, cells and edges in the audit log of a
/// vault made before ADR 0087 (whose log records none); refused once the log records any.
pub(crate) fn config_adopt(
    dir: &DirArgs,
    secrets: &SecretArgs,
    empty_log: bool,
    json: bool,
) -> CliResult {
    let (vault, _lock) = VaultDir::open_for_change(&dir.dir)?;
    let seed = input::seed(&secrets.phrase, &secrets.passphrase, Stdin::Available)?;
    let accept = if empty_log {
        vaultdir::EmptyLog::Accept
    } else {
        vaultdir::EmptyLog::Refuse
    };
    let (opened, recorded) = vault.open_facade_with(&seed, NoAccessTokens, accept)?;
    let ours = Topology::of_config(&vault.config);
    let ours = match (recorded.audited, ours) {
        (false, Ok(ours)) => ours,
        (true, _) => {
            return Err(CliError::Failed(
                "the audit log records this vault's partitions, cells and edges already; \
                 nothing to adopt (`hexvault config sync` rewrites config.toml from the log)"
                    .into(),
            ));
        }
        (false, Err(error)) => return Err(error),
    };
    let log = opened.audit_log();
    Declaration::Audited.record(log.as_ref())?;
    for partition in &ours.partitions {
        Declaration::Partition(vaultdir::partition_id(partition, "config.toml")?)
            .record(log.as_ref())?;
    }
    for cell in &ours.cells {
        Declaration::Cell(CellRef::parse(cell, "config.toml")?).record(log.as_ref())?;
    }
    for (from, to) in &ours.edges {
        Declaration::Edge(
            CellRef::parse(from, "config.toml")?,
            CellRef::parse(to, "config.toml")?,
        )
        .record(log.as_ref())?;
    }
    drop(log);
    opened.close()?;
    report_config(
        &ConfigReport {
            action: "adopt",
            partitions: ours.partitions.len(),
            cells: ours.cells.len(),
            edges: ours.edges.len(),
        },
        json,
    )
}

/// `config sync`: rewrites config.toml's partitions, cells (with the key versions the log
/// records) and edges from the verified audit log.
pub(crate) fn config_sync(dir: &DirArgs, secrets: &SecretArgs, json: bool) -> CliResult {
    let (mut vault, _lock) = VaultDir::open_for_change(&dir.dir)?;
    let seed = input::seed(&secrets.phrase, &secrets.passphrase, Stdin::Available)?;
    let (opened, recorded) = vault.open_facade(&seed, NoAccessTokens)?;
    if !recorded.audited {
        return Err(CliError::Failed(
            "the audit log records no partition, cell or edge (a vault made by an older \
             hexvault): check config.toml, then run `hexvault config adopt` to record it"
                .into(),
        ));
    }
    let log = recorded.topology;
    let mut partitions = std::collections::BTreeMap::new();
    for partition in &log.partitions {
        partitions.insert(partition.clone(), vaultdir::PartitionConfig::default());
    }
    for name in &log.cells {
        let cell = CellRef::parse(name, "the audit log")?;
        let (key_version, min_key_version) = opened
            .partition(cell.partition.clone())
            .cell(cell.cell.clone())
            .key_versions();
        partitions
            .entry(cell.partition.to_string())
            .or_insert_with(vaultdir::PartitionConfig::default)
            .cells
            .insert(
                cell.cell.to_string(),
                vaultdir::CellConfig {
                    key_version,
                    min_key_version,
                },
            );
    }
    opened.close()?;
    vault.config.partitions = partitions;
    vault.config.edges = log
        .edges
        .iter()
        .map(|(from, to)| EdgeConfig {
            from: from.clone(),
            to: to.clone(),
        })
        .collect();
    vault.save()?;
    report_config(
        &ConfigReport {
            action: "sync",
            partitions: log.partitions.len(),
            cells: log.cells.len(),
            edges: log.edges.len(),
        },
        json,
    )
}

#[derive(Serialize)]
struct LsCell {
    partition: String,
    cell: String,
    key_version: u32,
    min_key_version: u32,
    objects: usize,
    /// Objects whose blob is under an older cell key version (what `reseal` would redo).
    stale_objects: usize,
    /// Object count per cell key version of their blobs.
    objects_by_key_version: std::collections::BTreeMap<u32, usize>,
    /// Files in the cell directory that do not read as a cell blob.
    unreadable: usize,
}

#[derive(Serialize)]
struct LsEdge {
    from: String,
    to: String,
}

#[derive(Serialize)]
struct LsReport {
    dir: String,
    audit_public_key: String,
    partitions: Vec<String>,
    cells: Vec<LsCell>,
    edges: Vec<LsEdge>,
    /// Audit records after the last checkpoint, left out of the key versions.
    uncovered_audit_records: u64,
}

/// `ls`: partitions, cells (key versions, object counts), edges. Needs no secret.
pub(crate) fn ls(dir: &DirArgs, json: bool) -> CliResult {
    let vault = VaultDir::open(&dir.dir)?;
    // The key versions are the audit log's (config.toml may lag it after a crash), as of
    // its last checkpoint: the public key covers nothing after it.
    let covered = vault.log_versions()?;
    let logged = &covered.versions;
    if covered.uncovered > 0 {
        output::warning(&format!(
            "the audit log holds {} record(s) after its last checkpoint, which config.toml's \
             audit public key does not cover: the key versions shown are as of that \
             checkpoint; a command run with the mnemonic checks those records (and \
             checkpoints them), and `hexvault audit verify` shows them",
            covered.uncovered
        ));
    }
    let mut cells = Vec::new();
    for (cell, _) in vault.cells()? {
        let (key_version, min_key_version) = logged
            .get(&(cell.partition.to_string(), cell.cell.to_string()))
            .copied()
            .unwrap_or((1, 1));
        let objects = vault.objects(&cell)?;
        let mut by_version = std::collections::BTreeMap::new();
        let mut unreadable = 0;
        for (_, path) in &objects {
            let head = read_head(path)?;
            match blob_versions(&head) {
                Some(info) => *by_version.entry(info.cell_version).or_insert(0) += 1,
                None => unreadable += 1,
            }
        }
        let stale = by_version
            .iter()
            .filter(|(version, _)| **version < key_version)
            .map(|(_, count)| *count)
            .sum();
        cells.push(LsCell {
            partition: cell.partition.to_string(),
            cell: cell.cell.to_string(),
            key_version,
            min_key_version,
            objects: objects.len(),
            stale_objects: stale,
            objects_by_key_version: by_version,
            unreadable,
        });
    }
    let report = LsReport {
        dir: dir.dir.display().to_string(),
        audit_public_key: vault.config.audit_public_key.clone(),
        partitions: vault.config.partitions.keys().cloned().collect(),
        cells,
        edges: vault
            .config
            .edges
            .iter()
            .map(|e| LsEdge {
                from: e.from.clone(),
                to: e.to.clone(),
            })
            .collect(),
        uncovered_audit_records: covered.uncovered,
    };
    if json {
        return output::json(&report);
    }
    output::line(&format!("vault {}", report.dir))?;
    for partition in &report.partitions {
        output::line(&format!("partition {partition}"))?;
        for cell in report.cells.iter().filter(|c| &c.partition == partition) {
            output::line(&format!(
                "  cell {}/{}  key v{} (oldest opened v{})  {} objects, {} to reseal{}",
                cell.partition,
                cell.cell,
                cell.key_version,
                cell.min_key_version,
                cell.objects,
                cell.stale_objects,
                if cell.unreadable > 0 {
                    format!(", {} unreadable", cell.unreadable)
                } else {
                    String::new()
                }
            ))?;
        }
    }
    for edge in &report.edges {
        output::line(&format!("edge {} -> {}", edge.from, edge.to))?;
    }
    Ok(())
}

/// The first bytes of a blob file (its fixed header part).
fn read_head(path: &Path) -> CliResult<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|file| file.take(16).read_to_end(&mut head))
        .map_err(|error| CliError::io("reading a blob", error))?;
    Ok(head)
}

/// The vault, opened with the command's keys; `stdin` says whether the phrase may come from
/// standard input.
fn open_vault(dir: &VaultDir, keys: &KeyArgs, stdin: Stdin) -> CliResult<OpenVault> {
    let seed = input::seed(&keys.phrase, &keys.passphrase, stdin)?;
    let opened = match tokens::resolver_path(keys.tokens.as_deref()) {
        Some(path) => dir.assemble(
            &seed,
            FileResolver::parse(&input::secret_file_text(&path, "token resolver file")?)?,
        ),
        None => dir.assemble(&seed, NoAccessTokens),
    }?;
    Ok(opened)
}

/// The access token of `--token-env`, if given.
fn token(keys: &KeyArgs) -> CliResult<Option<AccessToken>> {
    keys.token_env
        .as_deref()
        .map(input::token_from_env)
        .transpose()
}

fn credentials<'a>(
    token: Option<&'a AccessToken>,
    session: Option<&'a hexvault::cells::Session>,
) -> Credentials<'a> {
    let credentials = match token {
        Some(token) => Credentials::none().token(token),
        None => Credentials::none(),
    };
    match session {
        Some(session) => credentials.session(session),
        None => credentials,
    }
}

/// The session of `--session FILE`, if given (an expired one is refused), with its id.
fn session(
    keys: &KeyArgs,
) -> CliResult<
    Option<(
        hexvault::cells::Session,
        [u8; hexvault::cells::SESSION_ID_LEN],
    )>,
> {
    keys.session
        .as_deref()
        .map(crate::commands::session::load)
        .transpose()
}

/// Refuses the session of `--session` unless the vault's audit log records its start (a
/// session is bound to the vault that started it), and if the log records its end (`session
/// end`): a copy of an ended session's file opens and seals nothing, in this vault or any
/// other. Decided from the log as the vault's keys verified it when it was opened.
fn refuse_unusable_session(
    opened: &OpenVault,
    session: Option<&(
        hexvault::cells::Session,
        [u8; hexvault::cells::SESSION_ID_LEN],
    )>,
) -> CliResult {
    match session {
        Some((_, id)) => crate::commands::session::refuse_unusable(opened, id),
        None => Ok(()),
    }
}

/// A cells error in the command line's words: what went wrong and what to do here.
fn cells_error(error: hexvault::cells::Error) -> CliError {
    use hexvault::cells::Error;
    let text = match &error {
        Error::MissingCredential {
            layer: Layer::Session,
            ..
        } => {
            "this needs layer 2's session: give --session FILE (from `hexvault session \
             start`) and layer 1's --token-env VAR with a token resolver file"
        }
        Error::MissingCredential { .. } => {
            "this needs layer 1's access token: give --token-env VAR and a token resolver \
             file (--tokens FILE or $HEXVAULT_TOKENS)"
        }
        Error::SessionEnded => {
            "the session has expired or ended: data sealed at layer 2 under it cannot be \
             opened any more; start a new session for new data"
        }
        Error::Denied => {
            "the access token was refused by the token resolver file (unknown token, or a \
             cell outside its `cells`): check --token-env and the file"
        }
        Error::Authentication => {
            "the blob did not authenticate: it was modified or damaged, sealed under \
             another token's policy, or (layer 2) the session file's secret or expiry was \
             changed, which changes the session key; restore the blob from a backup, or use \
             the session file as `hexvault session start` wrote it"
        }
        Error::Malformed { .. } => {
            "the blob is malformed (truncated, or not a cell blob): restore it from a backup"
        }
        _ => return CliError::Cells(error),
    };
    CliError::Failed(text.to_owned())
}

/// An edges error in the command line's words.
fn edges_error(error: hexvault::edges::Error) -> CliError {
    match error {
        hexvault::edges::Error::Cells(inner) => cells_error(inner),
        other => CliError::Edges(other),
    }
}

/// The audit endpoint of a cell.
fn endpoint(cell: &CellRef, layer: u8, version: u32) -> CliResult<Endpoint> {
    Ok(Endpoint::new(
        hexvault::audit::PartitionId::new(cell.partition.as_str().as_bytes())?,
        hexvault::audit::CellId::new(cell.cell.as_str().as_bytes())?,
        hexvault::audit::Layer(layer),
        hexvault::audit::KeyVersion(version),
    ))
}

/// Reads a blob of the vault; a missing one is reported without its id.
fn read_blob(dir: &VaultDir, cell: &CellRef, object: &ObjectId) -> CliResult<Vec<u8>> {
    std::fs::read(dir.blob_path(cell, object)).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            CliError::Failed(format!(
                "no object with the id given (not repeated here) in cell {}; `hexvault ls` \
                 counts the objects",
                cell.name()
            ))
        } else {
            CliError::io("reading the blob", error)
        }
    })
}

#[derive(Serialize)]
struct SealReport {
    cell: String,
    id: String,
    layer: u8,
    key_version: u32,
    bytes: usize,
    compressed: bool,
    /// Sealed as a large object (docs/formats.md, "Large object").
    large: bool,
    /// A large object's plaintext length and its stream file's length.
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_bytes: Option<u64>,
}

/// `seal`: the blob is written to a temporary file and fsynced, the seal record appended
/// and made durable, then the blob renamed into place (ADR 0071). A payload above
/// [`large::THRESHOLD`] is sealed as a large object (ADR 0073): its stream file is written
/// and renamed into place before the blob.
pub(crate) fn seal(args: &SealArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    let cell = CellRef::parse(&args.cell, "--cell")?;
    dir.declared(&cell, "--cell")?;
    let object = vaultdir::object_id(&args.id)?;
    let path = dir.blob_path(&cell, &object);
    if path.exists() {
        return Err(CliError::Failed(format!(
            "object {object} exists in cell {}; choose another --id (seal never overwrites)",
            cell.name()
        )));
    }
    let stdin = if args.input.is_some() {
        Stdin::Available
    } else {
        Stdin::CarriesData
    };
    let token = token(&args.keys)?;
    let session = session(&args.keys)?;
    let layer = Layer::from_number(args.layer)?;
    if layer == Layer::Session && (args.keys.session.is_none() || args.keys.token_env.is_none()) {
        return Err(CliError::usage(
            "--layer 2 needs --session FILE (from `hexvault session start`) and layer 1's \
             --token-env VAR with a token resolver file",
        ));
    }
    let mut source = input::SecretSource::open(args.input.as_deref(), "plaintext")?;
    let head = source.head(large::THRESHOLD + 1, "plaintext")?;
    let is_large = large::is_large(&head);
    // Before the vault is opened, so nothing is recorded (review round 24: the stream
    // file's name passed 255 bytes after the whole input was encrypted).
    if is_large && object.as_str().len() > hexvault_cli::vault_format::MAX_LARGE_OBJECT_ID_LEN {
        return Err(CliError::usage(format!(
            "the --id is {} bytes long (not repeated here); a large object (more than 1 MiB) \
             has an object id of at most {} bytes, as its stream file is named by the id in \
             hex: choose a shorter --id",
            object.as_str().len(),
            hexvault_cli::vault_format::MAX_LARGE_OBJECT_ID_LEN
        )));
    }
    let opened = open_vault(&dir, &args.keys, stdin)?;
    refuse_unusable_session(&opened, session.as_ref())?;
    // Checked again under the audit log's lock (the blob's rename refuses to replace one
    // anyway): nothing is sealed for an object that exists.
    if path.exists() {
        opened.vault.close()?;
        return Err(CliError::Failed(format!(
            "object {object} exists in cell {}; choose another --id (seal never overwrites)",
            cell.name()
        )));
    }
    dir.remove_leftovers(&cell)?;
    let handle = opened
        .vault
        .partition(cell.partition.clone())
        .cell(cell.cell.clone());
    let credentials = credentials(token.as_ref(), session.as_ref().map(|(session, _)| session));
    let data_key = if is_large {
        Some(hexvault::aead::Key::generate()?)
    } else {
        None
    };
    let sealed = match &data_key {
        Some(key) => handle.seal(&object, &large::key_record(key), layer, &credentials),
        None if args.compress => handle.seal_compressed(&object, &head, layer, &credentials),
        None => handle.seal(&object, &head, layer, &credentials),
    };
    let blob = match sealed {
        Ok(blob) => blob,
        Err(error) => {
            // A refusal is recorded: checkpoint it before reporting.
            opened.vault.close()?;
            return Err(cells_error(error));
        }
    };
    let info = blob_versions(&blob)
        .ok_or_else(|| CliError::Failed("internal error: a sealed blob has no header".into()))?;
    let mut sizes = None;
    let mut stream_file = None;
    if let Some(key) = &data_key {
        let bar = large::progress(large::progress_shown(json), source.len, "sealing");
        let mut rest = bar.wrap_read(&mut source.reader);
        bar.inc(u64::try_from(head.len()).unwrap_or(u64::MAX));
        let aad = large::aad(&cell, &object, &blob);
        let written = large::PendingStream::seal(&dir.cell_dir(&cell), key, &aad, &head, &mut rest);
        bar.finish_and_clear();
        let (pending, plaintext_len) = match written {
            Ok(done) => done,
            Err(error) => {
                opened.vault.close()?;
                return Err(error);
            }
        };
        let stream = large::stream_path(&dir, &cell, &object, &blob);
        pending.persist(&stream)?;
        let stream_len = std::fs::metadata(&stream)
            .map_err(|error| CliError::io("reading a stream file", error))?
            .len();
        sizes = Some((plaintext_len, stream_len));
        stream_file = Some(stream);
    }
    drop(head);
    let log = opened.vault.audit_log();
    let written = vaultdir::write_blob(&path, &blob, Replace::Never, || {
        let event = Event::new(EventKind::Seal)
            .destination(endpoint(&cell, info.layer, info.cell_version)?)
            .output(BlobRef::bind(&[], &[], &[])?.with_payload_digest(&blob));
        log.append(event)?;
        log.flush()?;
        Ok(())
    });
    if written.is_err()
        && let Some(stream) = &stream_file
    {
        // No blob names the stream: remove it now (a later writer would).
        let _ = std::fs::remove_file(stream);
    }
    written?;
    opened.vault.close()?;
    let report = SealReport {
        cell: cell.name(),
        id: object.to_string(),
        layer: info.layer,
        key_version: info.cell_version,
        bytes: blob.len(),
        compressed: args.compress && !is_large,
        large: is_large,
        plaintext_bytes: sizes.map(|(plaintext, _)| plaintext),
        stream_bytes: sizes.map(|(_, stream)| stream),
    };
    if json {
        output::json(&report)
    } else if let Some((plaintext, stream)) = sizes {
        output::line(&format!(
            "sealed {} in {} at layer {} as a large object (cell key v{}, {plaintext} bytes \
             of plaintext, {} + {stream} bytes)",
            report.id, report.cell, report.layer, report.key_version, report.bytes
        ))
    } else {
        output::line(&format!(
            "sealed {} in {} at layer {} (cell key v{}, {} bytes)",
            report.id, report.cell, report.layer, report.key_version, report.bytes
        ))
    }
}

/// `open`: writes the plaintext to `--out` or standard output (not a terminal without
/// `--force`). A large object is streamed: to a temporary file renamed to `--out` only once
/// the whole stream authenticated, or to standard output segment by segment.
pub(crate) fn open(args: &OpenArgs, json: bool) -> CliResult {
    if args.output.is_none() && !args.force && std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "refusing to write plaintext to a terminal (scrollback keeps it): use --out FILE \
             or a pipe, or --force",
        ));
    }
    if json && args.output.is_none() {
        return Err(CliError::usage(
            "--json needs --out FILE (standard output carries the report)",
        ));
    }
    if let Some(path) = &args.output {
        // Before anything is decrypted: a link or a device is never written through.
        output::check_out_path(path)?;
        vaultdir::refuse_out_inside(path, &args.dir.dir, "the plaintext")?;
    }
    let dir = VaultDir::open(&args.dir.dir)?;
    let cell = CellRef::parse(&args.cell, "--cell")?;
    dir.declared(&cell, "--cell")?;
    let object = vaultdir::object_id(&args.id)?;
    if !dir.blob_path(&cell, &object).exists() {
        // Checked again under the lock below; this only fails early.
        read_blob(&dir, &cell, &object)?;
    }
    let token = token(&args.keys)?;
    let session = session(&args.keys)?;
    let opened = open_vault(&dir, &args.keys, Stdin::Available)?;
    refuse_unusable_session(&opened, session.as_ref())?;
    let handle = opened
        .vault
        .partition(cell.partition.clone())
        .cell(cell.cell.clone());
    // The blob is read, and a large object's stream file opened, under the audit log's lock
    // every writer holds: a reseal replaces them only once this command has both (an open
    // file stays readable after its name is removed).
    let unlocked = (|| -> CliResult<Opened> {
        let blob = read_blob(&dir, &cell, &object)?;
        let plaintext = handle
            .open(
                &object,
                &blob,
                &credentials(token.as_ref(), session.as_ref().map(|(session, _)| session)),
            )
            .map_err(cells_error)?;
        Ok(match large::data_key(plaintext.expose_secret())? {
            Some(key) => {
                drop(plaintext);
                let stream = large::stream_path(&dir, &cell, &object, &blob);
                let opener = large::open_stream(&stream, &key, &large::aad(&cell, &object, &blob))?;
                let total = std::fs::metadata(&stream).ok().map(|meta| meta.len());
                Opened::Large(opener, total)
            }
            None => Opened::Small(plaintext),
        })
    })();
    // Refusals are recorded: make them durable before reporting.
    opened.vault.close()?;
    let (bytes, large) = match unlocked? {
        Opened::Large(mut opener, total) => {
            let bar = large::progress(large::progress_shown(json), total, "opening");
            let result = match &args.output {
                Some(path) => open_to_file(&mut opener, path, &bar),
                None => large::copy_out(&mut opener, &mut output::stdout_file()?, &bar),
            };
            bar.finish_and_clear();
            (result?, true)
        }
        Opened::Small(plaintext) => {
            output::write_bytes(args.output.as_deref(), plaintext.expose_secret())?;
            (u64::try_from(plaintext.len()).unwrap_or(u64::MAX), false)
        }
    };
    if json {
        output::json(&serde_json::json!({
            "cell": cell.name(),
            "id": object.to_string(),
            "bytes": bytes,
            "large": large,
            "out": args.output.as_ref().map(|p| p.display().to_string()),
        }))?;
    }
    Ok(())
}

/// What `open` took from the vault under its lock.
enum Opened {
    /// A payload in the blob.
    Small(hexvault::cells::Plaintext),
    /// A large object's stream, opened, and its file's length.
    Large(
        hexvault::aead::StreamOpener<std::io::BufReader<std::fs::File>>,
        Option<u64>,
    ),
}

/// Opens a large object's stream into `path` through [`output::write_out`]: an unnamed file
/// that gets its name only once the whole stream authenticated and is durable (ADR 0084).
fn open_to_file(
    opener: &mut hexvault::aead::StreamOpener<std::io::BufReader<std::fs::File>>,
    path: &Path,
    bar: &indicatif::ProgressBar,
) -> CliResult<u64> {
    output::write_out(path, |file| {
        large::write_durably(file, "writing --out", |writer| {
            let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, writer);
            large::copy_out(opener, &mut buffered, bar)
        })
    })
}

#[derive(Serialize)]
struct TraverseReport {
    from: String,
    to: String,
    id: String,
    moved: bool,
    key_version: u32,
}

/// `traverse`: the destination blob is written (the edge's traverse record is already
/// durable once the edge returns it), then with `--move` the source removed.
pub(crate) fn traverse(args: &TraverseArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    let from = CellRef::parse(&args.from, "--from")?;
    let to = CellRef::parse(&args.to, "--to")?;
    dir.declared(&from, "--from")?;
    dir.declared(&to, "--to")?;
    let edge_name = EdgeConfig {
        from: from.name(),
        to: to.name(),
    };
    if !dir.config.edges.contains(&edge_name) {
        return Err(CliError::Failed(format!(
            "no edge {} -> {} is declared; declare it with `hexvault edge add {} {}` (data \
             moves between cells only along declared edges)",
            edge_name.from, edge_name.to, edge_name.from, edge_name.to
        )));
    }
    let object = vaultdir::object_id(&args.id)?;
    let source = dir.blob_path(&from, &object);
    let destination = dir.blob_path(&to, &object);
    if source == destination {
        return Err(CliError::Failed(
            "--from and --to are the same cell; use `hexvault reseal` to re-encrypt in place"
                .into(),
        ));
    }
    if !source.exists() {
        // Checked again under the lock below; this only fails early.
        read_blob(&dir, &from, &object)?;
    }
    destination_free(&destination, &object, &to)?;
    let token = token(&args.keys)?;
    let session = session(&args.keys)?;
    let opened = open_vault(&dir, &args.keys, Stdin::Available)?;
    refuse_unusable_session(&opened, session.as_ref())?;
    // The blob is read only now, under the audit log's lock that every writer (seal,
    // traverse, reseal) holds: a reseal cannot replace it, nor its stream, until this
    // command is done.
    let blob = match read_blob(&dir, &from, &object) {
        Ok(blob) => blob,
        Err(error) => {
            opened.vault.close()?;
            return Err(error);
        }
    };
    // Checked again under the lock: a traversal that finished meanwhile may have written
    // the destination, and a record without its blob must not follow (review round 41).
    if let Err(error) = destination_free(&destination, &object, &to) {
        opened.vault.close()?;
        return Err(error);
    }
    dir.remove_leftovers(&to)?;
    // The destination's directory and blob file exist before the edge appends the record:
    // a cell directory that cannot be made or written fails here, recording nothing.
    // With room for the new blob: a disk that cannot hold it fails here too (round 48 LOW).
    let pending = match vaultdir::PendingBlob::create(&destination).and_then(|mut pending| {
        pending.reserve(blob.len().saturating_add(vaultdir::BLOB_SLACK))?;
        Ok(pending)
    }) {
        Ok(pending) => pending,
        Err(error) => {
            opened.vault.close()?;
            return Err(error);
        }
    };
    let edge = opened
        .edges
        .iter()
        .find(|(config, _)| *config == edge_name)
        .map(|(_, edge)| edge)
        .ok_or_else(|| {
            CliError::Failed("internal error: a declared edge is not connected".into())
        })?;
    let credentials = credentials(token.as_ref(), session.as_ref().map(|(session, _)| session));
    // A large object (its stream file is there): the data key is needed to re-encrypt the
    // stream for the destination (ADR 0073); opening it is recorded like any open.
    let source_stream = large::stream_path(&dir, &from, &object, &blob);
    let handle = opened
        .vault
        .partition(from.partition.clone())
        .cell(from.cell.clone());
    if !source_stream.exists() {
        match large::is_large_without_stream(&handle, &object, &blob, &credentials) {
            Ok(false) => {}
            Ok(true) => {
                opened.vault.close()?;
                return Err(large::missing_stream(&object, &from));
            }
            Err(error) => {
                opened.vault.close()?;
                return Err(cells_error(error));
            }
        }
    }
    // A large object's destination stream gets its room on the device first, before the data
    // key's open (recorded at layers 1 and 2) and the edge's record: a disk without room
    // fails with no record at all (review round 60). At most the source stream's length: the
    // same plaintext, segments no shorter.
    let reserved_stream = if source_stream.exists() {
        let reserved = std::fs::metadata(&source_stream)
            .map_err(|error| CliError::io("reading the stream file", error))
            .and_then(|meta| large::PendingStream::reserved(&dir.cell_dir(&to), meta.len()));
        match reserved {
            Ok(file) => Some(file),
            Err(error) => {
                opened.vault.close()?;
                return Err(error);
            }
        }
    } else {
        None
    };
    let data_key = if source_stream.exists() {
        let key = match handle.open(&object, &blob, &credentials) {
            Ok(plaintext) => large::data_key(plaintext.expose_secret()),
            Err(error) => {
                opened.vault.close()?;
                return Err(cells_error(error));
            }
        };
        match key {
            Ok(Some(key)) => Some(key),
            Ok(None) => {
                opened.vault.close()?;
                return Err(CliError::Failed(
                    "the object has a .stream file but its blob holds no data key: restore \
                     the object's .blob and .stream files together from a backup"
                        .into(),
                ));
            }
            Err(error) => {
                opened.vault.close()?;
                return Err(error);
            }
        }
    } else {
        None
    };
    // A large object's source stream must authenticate before the edge records the
    // crossing: a damaged one fails here with no record (review round 58), as `reseal`'s
    // does. One read of the stream, its plaintext discarded segment by segment.
    if let Some(key) = &data_key {
        let checked = large::open_stream(&source_stream, key, &large::aad(&from, &object, &blob))
            .and_then(|mut opener| {
                let total = std::fs::metadata(&source_stream).ok().map(|m| m.len());
                let bar = large::progress(large::progress_shown(json), total, "checking");
                let checked = large::copy_out(&mut opener, &mut std::io::sink(), &bar);
                bar.finish_and_clear();
                checked
            });
        if let Err(error) = checked {
            opened.vault.close()?;
            return Err(error);
        }
    }
    let result = edge.traverse(&object, &blob, &credentials, &credentials);
    let moved = match result {
        Ok(sealed) => {
            // The traverse record is appended before the edge returns the blob; flushed here.
            opened.vault.audit_log().flush()?;
            let mut stream_file = None;
            if let (Some(key), Some(reserved)) = (&data_key, reserved_stream) {
                let total = std::fs::metadata(&source_stream).ok().map(|m| m.len());
                let bar = large::progress(large::progress_shown(json), total, "re-encrypting");
                let pending = large::PendingStream::reencrypt_into(
                    reserved,
                    &source_stream,
                    key,
                    &large::aad(&from, &object, &blob),
                    key,
                    &large::aad(&to, &object, &sealed),
                    &bar,
                );
                bar.finish_and_clear();
                let stream = large::stream_path(&dir, &to, &object, &sealed);
                pending?.0.persist(&stream)?;
                stream_file = Some(stream);
            }
            let written = pending.finish(&sealed, Replace::Never, || Ok(()));
            if written.is_err()
                && let Some(stream) = &stream_file
            {
                let _ = std::fs::remove_file(stream);
            }
            written?;
            let info = blob_versions(&sealed).ok_or_else(|| {
                CliError::Failed("internal error: a traversed blob has no header".into())
            })?;
            if args.move_source {
                // What is removed must be what was moved: the blob read above, byte for byte
                // (nothing of this tool changes it under the lock; anything else is refused).
                let current = std::fs::read(&source)
                    .map_err(|error| CliError::io("reading the source blob again", error))?;
                if current != blob {
                    opened.vault.close()?;
                    return Err(CliError::Failed(format!(
                        "the source blob changed while it was copied to {} (by another \
                         program): the copy is in place, the source was not removed; check \
                         both and remove the one not wanted",
                        to.name()
                    )));
                }
                std::fs::remove_file(&source)
                    .map_err(|error| CliError::io("removing the source blob", error))?;
                if data_key.is_some() {
                    std::fs::remove_file(&source_stream)
                        .map_err(|error| CliError::io("removing the source stream", error))?;
                }
                vaultdir::sync_dir(&dir.cell_dir(&from))?;
            }
            info.cell_version
        }
        Err(error) => {
            opened.vault.close()?;
            return Err(edges_error(error));
        }
    };
    opened.vault.close()?;
    let report = TraverseReport {
        from: from.name(),
        to: to.name(),
        id: object.to_string(),
        moved: args.move_source,
        key_version: moved,
    };
    if json {
        output::json(&report)
    } else {
        output::line(&format!(
            "{} {} from {} to {} (cell key v{})",
            if report.moved { "moved" } else { "copied" },
            report.id,
            report.from,
            report.to,
            report.key_version
        ))
    }
}

#[derive(Serialize)]
struct RotateReport {
    cell: String,
    key_version: u32,
    stale_objects: usize,
}

/// `rotate`: the next cell key version seals from now on (recorded first, then saved in
/// config.toml); older blobs still open until resealed.
pub(crate) fn rotate(args: &CellKeyArgs, json: bool) -> CliResult {
    let (mut dir, _lock) = VaultDir::open_for_change(&args.dir.dir)?;
    let cell = CellRef::parse(&args.cell, "--cell")?;
    dir.declared(&cell, "--cell")?;
    let opened = open_vault(&dir, &args.keys, Stdin::Available)?;
    let handle = opened
        .vault
        .partition(cell.partition.clone())
        .cell(cell.cell.clone());
    let next = handle.rotate();
    // Cells whose config lags the log (an earlier kill) are written forward with this one.
    let raised = dir.raise_to_log(&opened.vault);
    opened.vault.close()?;
    let next = next.map_err(cells_error)?;
    raised?;
    if let Some(config) = dir
        .config
        .partitions
        .get_mut(cell.partition.as_str())
        .and_then(|p| p.cells.get_mut(cell.cell.as_str()))
    {
        config.key_version = next;
    }
    dir.save()?;
    let stale = dir.objects(&cell)?.len();
    if json {
        output::json(&RotateReport {
            cell: cell.name(),
            key_version: next,
            stale_objects: stale,
        })
    } else {
        output::line(&format!(
            "cell {} now seals under key v{next}; {stale} {} to reseal (`hexvault reseal --cell {}`)",
            cell.name(),
            if stale == 1 { "object" } else { "objects" },
            cell.name()
        ))
    }
}

#[derive(Serialize)]
struct ResealReport {
    cell: String,
    key_version: u32,
    objects: usize,
    resealed: usize,
    already_current: usize,
    /// Objects left under their old versions because they could not be opened with the
    /// credentials given (or not parsed), with the reason.
    failed: Vec<ResealFailure>,
}

#[derive(Serialize)]
struct ResealFailure {
    id: String,
    error: String,
}

/// Whether a cells error while resealing one object is that object's alone (its
/// credentials, its blob), so the run goes on with the next object, rather than the
/// vault's (the audit log), which stops the run.
fn object_failure(error: &hexvault::cells::Error) -> bool {
    !matches!(
        error,
        hexvault::cells::Error::Audit(_) | hexvault::cells::Error::Internal { .. }
    )
}

/// `reseal`: every object whose blob is under an older key version is resealed, one at a
/// time, each replaced atomically; an interrupted run leaves every blob whole, and the next
/// run skips the ones already current (their headers name the current versions).
pub(crate) fn reseal(args: &CellKeyArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    let cell = CellRef::parse(&args.cell, "--cell")?;
    dir.declared(&cell, "--cell")?;
    let token = token(&args.keys)?;
    let session = session(&args.keys)?;
    let opened = open_vault(&dir, &args.keys, Stdin::Available)?;
    refuse_unusable_session(&opened, session.as_ref())?;
    dir.remove_leftovers(&cell)?;
    let handle = opened
        .vault
        .partition(cell.partition.clone())
        .cell(cell.cell.clone());
    let credentials = credentials(token.as_ref(), session.as_ref().map(|(session, _)| session));
    let objects = dir.objects(&cell)?;
    let log = opened.vault.audit_log();
    let mut resealed = 0;
    // An object that cannot be opened with the credentials given (sealed under a session
    // that ended, at layer 1 without its token, or damaged) is reported and skipped: one of
    // them must not keep every object after it under the old versions (review round 24).
    let mut failed = Vec::new();
    for (object, path) in &objects {
        let blob = std::fs::read(path).map_err(|error| CliError::io("reading a blob", error))?;
        let stale = match handle.needs_reseal(&blob) {
            Ok(stale) => stale,
            Err(error) if object_failure(&error) => {
                failed.push(ResealFailure {
                    id: object.to_string(),
                    error: cells_error(error).to_string(),
                });
                continue;
            }
            Err(error) => {
                opened.vault.close()?;
                return Err(stopped_at(object, &cell, &cells_error(error)));
            }
        };
        if !stale {
            continue;
        }
        let old_stream = large::stream_path(&dir, &cell, object, &blob);
        if !old_stream.exists() {
            let failure = match large::is_large_without_stream(&handle, object, &blob, &credentials)
            {
                Ok(false) => None,
                Ok(true) => Some(large::missing_stream(object, &cell)),
                Err(error) if object_failure(&error) => Some(cells_error(error)),
                Err(error) => {
                    opened.vault.close()?;
                    return Err(stopped_at(object, &cell, &cells_error(error)));
                }
            };
            if let Some(error) = failure {
                failed.push(ResealFailure {
                    id: object.to_string(),
                    error: error.to_string(),
                });
                continue;
            }
        }
        if old_stream.exists() {
            if let Err(error) = reseal_large(
                &dir,
                &cell,
                object,
                path,
                &blob,
                &old_stream,
                &handle,
                &*log,
                &credentials,
                json,
            ) {
                match error {
                    ResealLargeError::Object(error) => {
                        failed.push(ResealFailure {
                            id: object.to_string(),
                            error: error.to_string(),
                        });
                        continue;
                    }
                    ResealLargeError::Stop(error) => {
                        opened.vault.close()?;
                        return Err(stopped_at(object, &cell, &error));
                    }
                }
            }
            resealed += 1;
            continue;
        }
        // The new blob's file exists, with room for it, before `reseal` records the
        // rotation: a blob that cannot be written fails here, recording nothing (review
        // round 55: the record named a blob never written, once per retry). The new blob
        // has the old one's layer, ids and length; the slack covers a longer header.
        let mut pending = match vaultdir::PendingBlob::create(path) {
            Ok(pending) => pending,
            Err(error) => {
                opened.vault.close()?;
                return Err(stopped_at(object, &cell, &error));
            }
        };
        if let Err(error) = pending.reserve(blob.len().saturating_add(vaultdir::BLOB_SLACK)) {
            opened.vault.close()?;
            return Err(stopped_at(object, &cell, &error));
        }
        let sealed = match handle.reseal(object, &blob, &credentials) {
            Ok(sealed) => sealed,
            Err(error) if object_failure(&error) => {
                failed.push(ResealFailure {
                    id: object.to_string(),
                    error: cells_error(error).to_string(),
                });
                continue;
            }
            Err(error) => {
                opened.vault.close()?;
                return Err(stopped_at(object, &cell, &cells_error(error)));
            }
        };
        log.flush()?;
        pending.finish(&sealed, Replace::Atomically, || Ok(()))?;
        resealed += 1;
    }
    // The version it sealed under: the log's, never the config's.
    let (key_version, _) = handle.key_versions();
    opened.vault.close()?;
    let report = ResealReport {
        cell: cell.name(),
        key_version,
        objects: objects.len(),
        resealed,
        already_current: objects.len() - resealed - failed.len(),
        failed,
    };
    if json {
        output::json(&report)?;
    } else {
        output::line(&format!(
            "cell {}: {} resealed under key v{}, {} already current",
            report.cell, report.resealed, report.key_version, report.already_current
        ))?;
        // Part of the result (the error below says "listed above"): on standard output.
        for failure in &report.failed {
            output::line(&format!(
                "not resealed: object {}: {}",
                failure.id, failure.error
            ))?;
        }
    }
    if report.failed.is_empty() {
        return Ok(());
    }
    Err(CliError::Failed(format!(
        "{} object(s) of cell {} could not be opened and stay under their old key versions \
         (listed above); the others are resealed. An object sealed at layer 2 under a session \
         that has ended can never be opened again: delete it once you are sure. A damaged one \
         (a blob or .stream file that does not authenticate) needs its files restored from a \
         backup. Otherwise give the credentials it needs (--token-env, --session) and run \
         reseal again",
        report.failed.len(),
        report.cell
    )))
}

/// The error that stops a reseal at `object` (the audit log or the disk failed): what is
/// done is kept, and a new run goes on where this one stopped.
fn stopped_at(object: &ObjectId, cell: &CellRef, error: &dyn std::fmt::Display) -> CliError {
    CliError::Failed(format!(
        "object {object} in cell {}: {error}; the objects before it are resealed, run reseal \
         again once it is fixed",
        cell.name()
    ))
}

/// Reseals a large object under a fresh data key (ADR 0073): opens the old data key, seals a
/// new one at the blob's layer under the current key versions, re-encrypts the stream into
/// a temporary file (`.tmp-*`; a damaged stream fails here, before anything is recorded),
/// records the rotation (old and new blob), names the new stream file, replaces the blob, and
/// removes the old stream. An interruption leaves the old blob and stream, or the new ones;
/// temporary files and the stream file no blob names are removed by the next writer.
#[allow(clippy::too_many_arguments)]
fn reseal_large(
    dir: &VaultDir,
    cell: &CellRef,
    object: &ObjectId,
    path: &Path,
    blob: &[u8],
    old_stream: &Path,
    handle: &hexvault::cells::Cell,
    log: &dyn hexvault::audit::AuditLog,
    credentials: &Credentials<'_>,
    json: bool,
) -> Result<(), ResealLargeError> {
    use ResealLargeError::{Object, Stop};
    let cells = |error: hexvault::cells::Error| {
        if object_failure(&error) {
            Object(cells_error(error))
        } else {
            Stop(cells_error(error))
        }
    };
    let old = blob_versions(blob).ok_or_else(|| {
        Object(CliError::Failed(
            "the blob is malformed (not a cell blob): restore it from a backup".into(),
        ))
    })?;
    let layer = Layer::from_number(old.layer).map_err(|error| Object(error.into()))?;
    // The open names who opened the data key (policy, actor, session): the rotate record
    // below names them too, as `Cell::reseal`'s does (review round 55).
    let (data_key_blob, opened_by) = handle
        .open_attributed(object, blob, credentials)
        .map_err(cells)?;
    let old_key = large::data_key(data_key_blob.expose_secret())
        .map_err(Object)?
        .ok_or_else(|| {
            Object(CliError::Failed(
                "the object has a .stream file but its blob holds no data key: restore the \
                 object's .blob and .stream files together from a backup"
                    .into(),
            ))
        })?;
    let new_key = hexvault::aead::Key::generate().map_err(|error| Stop(error.into()))?;
    let sealed = handle
        .seal(object, &large::key_record(&new_key), layer, credentials)
        .map_err(cells)?;
    let new = blob_versions(&sealed).ok_or_else(|| {
        Stop(CliError::Failed(
            "internal error: a sealed blob has no header".into(),
        ))
    })?;
    // The stream is re-encrypted into a temporary file first: a stream that does not
    // authenticate (damaged) is this object's failure, found before the rotation is
    // recorded (review round 25). The record then comes before the new stream file is named.
    let total = std::fs::metadata(old_stream).ok().map(|m| m.len());
    let bar = large::progress(large::progress_shown(json), total, "resealing");
    let pending = large::PendingStream::reencrypt(
        old_stream,
        &old_key,
        &large::aad(cell, object, blob),
        &dir.cell_dir(cell),
        &new_key,
        &large::aad(cell, object, &sealed),
        &bar,
    );
    bar.finish_and_clear();
    let (pending, _) = pending.map_err(|error| {
        if large::is_damaged_stream(&error) {
            Object(error)
        } else {
            Stop(error)
        }
    })?;
    let stop = |error: CliError| Stop(error);
    let new_stream = large::stream_path(dir, cell, object, &sealed);
    // The new blob is written and synced before the record (as every blob, review round
    // 55), the stream is named after it, then the blob.
    let record_and_name_stream = || -> CliResult {
        let mut event = Event::new(EventKind::Rotate)
            .source(endpoint(cell, old.layer, old.cell_version)?)
            .destination(endpoint(cell, new.layer, new.cell_version)?)
            .input(BlobRef::bind(&[], &[], &[])?.with_payload_digest(blob))
            .output(BlobRef::bind(&[], &[], &[])?.with_payload_digest(&sealed));
        if opened_by != hexvault::audit::Context::new() {
            event = event.context(opened_by);
        }
        log.append(event)?;
        log.flush()?;
        pending.persist(&new_stream)
    };
    vaultdir::write_blob(path, &sealed, Replace::Atomically, record_and_name_stream)
        .map_err(stop)?;
    std::fs::remove_file(old_stream)
        .map_err(|error| Stop(CliError::io("removing the old stream file", error)))?;
    vaultdir::sync_dir(&dir.cell_dir(cell)).map_err(stop)
}

/// How resealing one large object failed: the object's own failure (it cannot be opened
/// with the credentials given, or it is damaged: reported, the run goes on), or the
/// vault's or the disk's (the run stops).
enum ResealLargeError {
    Object(CliError),
    Stop(CliError),
}
