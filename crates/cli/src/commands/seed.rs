//! `hexvault seed`: the 64-byte BIP-39 seed of a phrase, printed only on request.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::SeedArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;

#[derive(Serialize)]
struct SeedReport<'a> {
    seed: &'a str,
}

/// Derives the seed and prints it as lowercase hex, only with `--show-secret`.
pub(crate) fn run(args: &SeedArgs, json: bool) -> CliResult {
    if !args.show_secret {
        return Err(CliError::usage(
            "the seed is a secret: pass --show-secret to print it",
        ));
    }
    let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
    let seed_hex = Zeroizing::new(hex::encode(seed.expose_secret()));
    if json {
        output::json(&SeedReport { seed: &seed_hex })
    } else {
        output::line(&seed_hex)
    }
}
