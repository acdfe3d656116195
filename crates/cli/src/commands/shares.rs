//! `hexvault shares split | combine`: SLIP-0039 shares of the phrase (ADR 0066).
//!
//! `split` splits the phrase's BIP-39 entropy (SLIP-0039 passphrase ""), so `combine` gives
//! the phrase back; the phrase's own BIP-39 passphrase is untouched and still needed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use crate::{CombineArgs, SecretFormat, SplitArgs};
use hexvault::shares::{self, Error as SharesError, GroupSpec, MasterSecret, Share, SplitConfig};

/// The longest share file or standard input read (a 59-word share is under 600 bytes).
const SHARES_TEXT_LIMIT: usize = 64 * 1024;

#[derive(Serialize)]
struct SplitReport<'a> {
    identifier: u16,
    group_threshold: u8,
    iteration_exponent: u8,
    extendable: bool,
    groups: Vec<GroupReport<'a>>,
}

#[derive(Serialize)]
struct GroupReport<'a> {
    group: u8,
    threshold: u8,
    shares: Vec<&'a str>,
}

#[derive(Serialize)]
struct SavedShare {
    group: u8,
    member: u8,
    file: String,
}

#[derive(Serialize)]
struct CombineReport<'a> {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    shares: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mnemonic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_secret: Option<&'a str>,
}

/// Parses the groups of `--groups 2/3,1/1,3/5` (clap has split the value at the commas):
/// THRESHOLD/COUNT each. An error names the problem and the group's position but never
/// repeats any part of the value, which may hold a phrase typed there by mistake.
fn parse_groups(texts: &[String]) -> CliResult<Vec<GroupSpec>> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| parse_group(index.saturating_add(1), text))
        .collect()
}

/// Group `position` (from 1) of `--groups`: THRESHOLD/COUNT.
fn parse_group(position: usize, text: &str) -> CliResult<GroupSpec> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::usage(format!(
            "--groups: group {position} is empty; give THRESHOLD/COUNT for every group, \
             such as 2/3,1/1,3/5"
        )));
    }
    let (threshold, count) = text.split_once('/').ok_or_else(|| {
        CliError::usage(format!(
            "--groups: group {position} is not THRESHOLD/COUNT (a '/' between two numbers, \
             such as 2/3)"
        ))
    })?;
    let number = |part: &str, name: &str| {
        part.trim().parse::<u8>().map_err(|_| {
            CliError::usage(format!(
                "--groups: the {name} of group {position} is not a number from 1 to 16 \
                 (write THRESHOLD/COUNT, such as 2/3)"
            ))
        })
    };
    Ok(GroupSpec {
        threshold: number(threshold, "threshold")?,
        count: number(count, "count")?,
    })
}

/// `shares split`: the phrase's entropy as SLIP-0039 shares, each printed on its own (or
/// written to its own 0600 file with `--out-dir`).
pub(crate) fn split(args: &SplitArgs, json: bool) -> CliResult {
    let groups = parse_groups(&args.groups)?;
    let groups = (!groups.is_empty()).then_some(groups);
    let config = match (groups, args.threshold, args.shares) {
        (Some(groups), None, None) => {
            let group_threshold = args.group_threshold.unwrap_or(1);
            SplitConfig::groups(group_threshold, groups)
        }
        (None, Some(threshold), Some(count)) => {
            if args.group_threshold.is_some() {
                return Err(CliError::usage(
                    "--group-threshold goes with --groups; a single group needs only --threshold and --shares",
                ));
            }
            SplitConfig::single(threshold, count)
        }
        _ => {
            return Err(CliError::usage(
                "give --threshold K --shares N for one group, or --groups T/N,T/N,... (with --group-threshold G)",
            ));
        }
    }
    .iteration_exponent(args.iteration_exponent)
    .extendable(args.extendable);
    // Out-of-range options are usage errors (exit 2), refused before the phrase is read.
    config
        .check()
        .map_err(|error| CliError::usage(error.to_string()))?;
    let mnemonic = input::mnemonic(&args.phrase, Stdin::Available)?;
    let secret = MasterSecret::from_mnemonic(&mnemonic)?;
    drop(mnemonic);
    let groups = shares::split(&secret, "", &config)?;
    drop(secret);
    let words: Vec<Vec<Zeroizing<String>>> = groups
        .iter()
        .map(|group| group.iter().map(Share::to_words).collect())
        .collect();
    let first = groups
        .first()
        .and_then(|g| g.first())
        .ok_or_else(|| CliError::Failed("the split made no share (a bug)".to_owned()))?;
    if let Some(dir) = &args.out_dir {
        return save(dir, &groups, &words, json);
    }
    output::stdout_keeps_a_secret()?;
    if json {
        return output::json(&SplitReport {
            identifier: first.identifier(),
            group_threshold: first.group_threshold(),
            iteration_exponent: first.iteration_exponent(),
            extendable: first.extendable(),
            groups: groups
                .iter()
                .zip(&words)
                .map(|(group, texts)| GroupReport {
                    group: group.first().map_or(0, Share::group),
                    threshold: group.first().map_or(0, Share::member_threshold),
                    shares: texts.iter().map(|t| t.as_str()).collect(),
                })
                .collect(),
        });
    }
    let text = split_text(&groups, &words);
    output::line(text.trim_end())
}

/// The text of `split` without `--json`: each share under its heading, blank lines between.
/// The buffer holds every share's words: its exact length is reserved first, so no
/// reallocation leaves an unwiped copy behind; it is wiped on drop.
fn split_text(groups: &[Vec<Share>], words: &[Vec<Zeroizing<String>>]) -> Zeroizing<String> {
    let mut parts = Vec::new();
    for (group, texts) in groups.iter().zip(words) {
        for (share, words) in group.iter().zip(texts) {
            let mut heading = String::new();
            if share.group_count() > 1 {
                heading.push_str(&format!(
                    "group {} of {} ({} groups needed), ",
                    share.group(),
                    share.group_count(),
                    share.group_threshold(),
                ));
            }
            heading.push_str(&format!(
                "share {} of {} ({} needed):\n",
                share.member(),
                group.len(),
                share.member_threshold(),
            ));
            parts.push((heading, words.as_str()));
        }
    }
    let total = parts.iter().fold(0_usize, |n, (heading, words)| {
        n.saturating_add(heading.len() + words.len() + 2)
    });
    let mut text = Zeroizing::new(String::with_capacity(total));
    for (heading, words) in &parts {
        text.push_str(heading);
        text.push_str(words);
        text.push_str("\n\n");
    }
    text
}

/// Writes each share to `DIR/share-G-M.txt` (new files, mode 0600; `DIR` is made, mode
/// 0700, when missing) and prints the names. All or nothing: every name is checked before
/// the first file is written, and a failure part-way removes the shares already written
/// (a threshold of them is the phrase).
fn save(
    dir: &Path,
    groups: &[Vec<Share>],
    words: &[Vec<Zeroizing<String>>],
    json: bool,
) -> CliResult {
    use std::os::unix::fs::DirBuilderExt;
    // Before the directory is made: shares never go into the vault directory.
    crate::vaultdir::refuse_out_inside_default_vault(dir)?;
    let planned: Vec<(&Share, &Zeroizing<String>, PathBuf)> = groups
        .iter()
        .zip(words)
        .flat_map(|(group, texts)| group.iter().zip(texts))
        .map(|(share, words)| {
            let name = format!("share-{}-{}.txt", share.group(), share.member());
            (share, words, dir.join(name))
        })
        .collect();
    if let Some((_, _, taken)) = planned
        .iter()
        .find(|(_, _, path)| std::fs::symlink_metadata(path).is_ok())
    {
        return Err(CliError::Failed(format!(
            "{} already exists: shares are written only as new files, and nothing was written; \
             choose an empty --out-dir",
            taken.display()
        )));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| CliError::io(format!("creating {}", dir.display()), error))?;
    let mut saved = Vec::new();
    let mut written: Vec<&Path> = Vec::new();
    for (share, words, path) in &planned {
        let mut text = Zeroizing::new(String::with_capacity(words.len() + 1));
        text.push_str(words);
        text.push('\n');
        if let Err(error) = output::write_new_secret_file(path, text.as_bytes()) {
            // Nothing half-done: the shares of this split already written go too.
            for done in written {
                let _ = std::fs::remove_file(done);
            }
            return Err(error);
        }
        written.push(path);
        saved.push(SavedShare {
            group: share.group(),
            member: share.member(),
            file: path.display().to_string(),
        });
    }
    if json {
        return output::json(&saved);
    }
    let lines: Vec<String> = saved
        .iter()
        .map(|s| {
            format!(
                "wrote group {} share {} to {} (mode 0600)",
                s.group, s.member, s.file
            )
        })
        .collect();
    output::line(&lines.join("\n"))
}

/// One share's text and where it came from (for errors that name the share).
struct SourcedShare {
    text: Zeroizing<String>,
    source: String,
}

/// Reads the shares: one per non-empty line, from each file in turn or from standard input.
fn read_shares(files: &[PathBuf]) -> CliResult<Vec<SourcedShare>> {
    let mut out = Vec::new();
    let mut add = |text: &str, name: &str| {
        for (n, line) in (1..).zip(text.lines()) {
            if !line.trim().is_empty() {
                out.push(SourcedShare {
                    text: Zeroizing::new(line.trim().to_owned()),
                    source: format!("{name}, line {n}"),
                });
            }
        }
    };
    if files.is_empty() && std::io::stdin().is_terminal() {
        // Typed at the terminal: one share per prompt, without echo (review round 57).
        for (n, line) in (1..).zip(input::prompt_secret_lines("share", 256)?) {
            out.push(SourcedShare {
                text: Zeroizing::new(line.trim().to_owned()),
                source: format!("typed share {n}"),
            });
        }
    } else if files.is_empty() {
        let text = input::secret_input(None, SHARES_TEXT_LIMIT, "shares")?;
        let text = std::str::from_utf8(&text)
            .map_err(|_| CliError::usage("the shares on standard input are not UTF-8 text"))?;
        add(text, "standard input");
    } else {
        for file in files {
            let text = input::secret_input(Some(file), SHARES_TEXT_LIMIT, "shares")?;
            let text = std::str::from_utf8(&text)
                .map_err(|_| CliError::usage(format!("{} is not UTF-8 text", file.display())))?;
            add(text, &file.display().to_string());
        }
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "no share was given: one share per line, in files or on standard input",
        ));
    }
    Ok(out)
}

/// The same error without the suggested word of an unknown share word.
fn without_hint(error: SharesError) -> SharesError {
    match error {
        SharesError::UnknownWord {
            position,
            suggestion: Some(_),
        } => SharesError::UnknownWord {
            position,
            suggestion: None,
        },
        SharesError::InShare { share, source } => SharesError::InShare {
            share,
            source: Box::new(without_hint(*source)),
        },
        other => other,
    }
}

/// The number of the share an error is about, if it names one.
fn share_of(error: &SharesError) -> Option<usize> {
    match error {
        SharesError::InShare { share, .. }
        | SharesError::Mismatch { share, .. }
        | SharesError::DuplicateMember { share, .. } => Some(*share),
        _ => None,
    }
}

/// `shares combine`: checks the shares and says which is wrong; prints the recovered phrase
/// (or master secret) only with `--show-secret`.
pub(crate) fn combine(args: &CombineArgs, json: bool) -> CliResult {
    let sourced = read_shares(&args.files)?;
    let passphrase = input::passphrase(&crate::PassphraseArgs {
        passphrase_env: args.passphrase_env.clone(),
        passphrase_prompt: false,
    })?;
    let texts: Vec<&str> = sourced.iter().map(|s| s.text.as_str()).collect();
    // Typed at the terminal, answered there: the suggestion of a mistyped word is for the
    // person who typed it. From a file or a pipe, or with the error going to one, it would
    // end up in logs, and the suggested word is very likely a word of the share: left out
    // (the rule of the mnemonic's hint, `input.rs`).
    let typed =
        args.files.is_empty() && std::io::stdin().is_terminal() && input::answers_at_the_terminal();
    let secret = match shares::combine_mnemonics(&texts, &passphrase) {
        Ok(secret) => secret,
        Err(error) => {
            let error = if typed { error } else { without_hint(error) };
            let share = share_of(&error);
            let source = share
                .and_then(|n| sourced.get(n.saturating_sub(1)))
                .map(|s| s.source.clone());
            let message = match &source {
                Some(source) => format!("{error} (share {} is {source})", share.unwrap_or(0)),
                None => error.to_string(),
            };
            if json {
                output::json(&CombineReport {
                    valid: false,
                    shares: Some(sourced.len()),
                    share,
                    source,
                    error: Some(message.clone()),
                    mnemonic: None,
                    master_secret: None,
                })?;
            }
            return Err(CliError::Failed(message));
        }
    };
    let phrase = match args.format {
        SecretFormat::Phrase => Some(secret.to_mnemonic(args.language)?.phrase()),
        SecretFormat::Hex => None,
    };
    let secret_hex = Zeroizing::new(hex::encode(secret.expose_secret()));
    if !args.show_secret {
        let what = match &phrase {
            Some(p) => format!("a {}-word phrase", p.split_whitespace().count()),
            None => format!("a {}-byte master secret", secret.len()),
        };
        return if json {
            output::json(&CombineReport {
                valid: true,
                shares: Some(sourced.len()),
                share: None,
                source: None,
                error: None,
                mnemonic: None,
                master_secret: None,
            })
        } else {
            output::line(&format!(
                "valid: the {} shares recover {what}; pass --show-secret to print it",
                sourced.len()
            ))
        };
    }
    if json {
        output::json(&CombineReport {
            valid: true,
            shares: Some(sourced.len()),
            share: None,
            source: None,
            error: None,
            mnemonic: phrase.as_deref().map(String::as_str),
            master_secret: phrase.is_none().then_some(secret_hex.as_str()),
        })
    } else {
        match &phrase {
            Some(p) => output::line(p),
            None => output::line(&secret_hex),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split text is built in one buffer of exactly its length: no reallocation (which
    /// would free an unwiped copy of the words) happens while the shares are appended.
    #[test]
    fn the_split_text_is_reserved_once_at_its_exact_length() {
        let Ok(secret) = MasterSecret::from_bytes(&[7_u8; 32]) else {
            unreachable!("a 32-byte secret is valid")
        };
        for config in [
            SplitConfig::single(3, 5),
            SplitConfig::groups(
                2,
                vec![
                    GroupSpec {
                        threshold: 2,
                        count: 3,
                    },
                    GroupSpec {
                        threshold: 1,
                        count: 1,
                    },
                    GroupSpec {
                        threshold: 3,
                        count: 5,
                    },
                ],
            ),
        ] {
            let config = config.iteration_exponent(0);
            let Ok(groups) = shares::split(&secret, "", &config) else {
                unreachable!("a valid scheme splits")
            };
            let words: Vec<Vec<Zeroizing<String>>> = groups
                .iter()
                .map(|group| group.iter().map(Share::to_words).collect())
                .collect();
            let text = split_text(&groups, &words);
            assert_eq!(text.capacity(), text.len(), "reserved exactly, never grown");
            for share in words.iter().flatten() {
                assert!(text.contains(share.as_str()));
            }
            assert!(text.ends_with("\n\n"));
        }
    }
}
