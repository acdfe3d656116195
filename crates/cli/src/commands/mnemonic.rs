//! `hexvault mnemonic new | check | from-entropy`.

use std::path::Path;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::PhraseArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use hexvault::mnemonic::{Language, Mnemonic, WordCount};

#[derive(Serialize)]
struct PhraseReport<'a> {
    mnemonic: &'a str,
    language: &'a str,
    words: usize,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct SavedReport<'a> {
    file: String,
    language: &'a str,
    words: usize,
}

fn print_phrase(mnemonic: &Mnemonic, json: bool) -> CliResult {
    let phrase = mnemonic.phrase();
    if json {
        output::json(&PhraseReport {
            mnemonic: &phrase,
            language: mnemonic.language().name(),
            words: mnemonic.word_count().words(),
        })
    } else {
        output::line(&phrase)
    }
}

/// `mnemonic new [--out FILE]`: a fresh phrase from the OS CSPRNG, printed, or written to a
/// new file readable by its owner only (then only the file name is printed). Any failure to
/// write the phrase is an error: a phrase nobody received must not look like success.
pub(crate) fn new(words: usize, language: Language, out: Option<&Path>, json: bool) -> CliResult {
    let count = WordCount::try_from(words).map_err(|error| CliError::usage(error.to_string()))?;
    let mnemonic = Mnemonic::generate(count, language)?;
    let Some(path) = out else {
        output::stdout_keeps_a_secret()?;
        return print_phrase(&mnemonic, json);
    };
    let phrase = mnemonic.phrase();
    let mut text = Zeroizing::new(String::with_capacity(phrase.len() + 1));
    text.push_str(&phrase);
    text.push('\n');
    output::write_new_secret_file(path, text.as_bytes())?;
    let language = mnemonic.language().name();
    let words = mnemonic.word_count().words();
    if json {
        output::json(&SavedReport {
            file: path.display().to_string(),
            language,
            words,
        })
    } else {
        output::line(&format!(
            "wrote a new {words}-word {language} phrase to {} (mode 0600); keep a copy offline",
            path.display()
        ))
    }
}

/// `mnemonic check`: parse the phrase and say what is wrong, or that it is valid.
pub(crate) fn check(phrase: &PhraseArgs, json: bool) -> CliResult {
    let mnemonic = match input::mnemonic(phrase, Stdin::Available) {
        Ok(mnemonic) => mnemonic,
        Err(CliError::Mnemonic(error)) if json => {
            // The verdict is the output: print it as JSON, and still exit 1.
            output::json(&CheckReport {
                valid: false,
                language: None,
                words: None,
                error: Some(error.to_string()),
            })?;
            return Err(CliError::Mnemonic(error));
        }
        Err(error) => return Err(error),
    };
    let language = mnemonic.language().name();
    let words = mnemonic.word_count().words();
    if json {
        output::json(&CheckReport {
            valid: true,
            language: Some(language),
            words: Some(words),
            error: None,
        })
    } else {
        output::line(&format!(
            "valid: {words}-word {language} phrase, checksum correct"
        ))
    }
}

/// `mnemonic from-entropy [--in FILE]`: the phrase that encodes the entropy read (as hex)
/// from the file or standard input; entropy is the secret itself, so it is never an argument.
pub(crate) fn from_entropy(path: Option<&Path>, language: Language, json: bool) -> CliResult {
    let hex_text = input::secret_text_input(path, "entropy")?;
    let entropy = input::decode_secret_hex(&hex_text).ok_or_else(|| {
        CliError::usage("the entropy must be hex: 32, 40, 48, 56 or 64 hex digits (16 to 32 bytes)")
    })?;
    let mnemonic = Mnemonic::from_entropy(&entropy, language)
        .map_err(|error| CliError::usage(error.to_string()))?;
    print_phrase(&mnemonic, json)
}
