//! `hexvault derive`: an HD key at a path, public parts always, private parts on request.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::CliResult;
use crate::input::{self, Stdin};
use crate::output;
use crate::{Curve, DeriveArgs};
use hexvault::derivation::ed25519;

/// What `derive` prints. Secret fields are `None` unless `--show-secret` was given. The
/// chain code is secret (with the private key of a node it derives every hardened child, and
/// with a public key and one non-hardened child private key it gives the parent private
/// key), and so is the xpub, which carries it.
#[derive(Serialize)]
struct KeyReport {
    curve: &'static str,
    path: String,
    public_key: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::optional_secret_str"
    )]
    chain_code: Option<Zeroizing<String>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::optional_secret_str"
    )]
    xpub: Option<Zeroizing<String>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::optional_secret_str"
    )]
    private_key: Option<Zeroizing<String>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::optional_secret_str"
    )]
    xprv: Option<Zeroizing<String>>,
}

/// Derives the key at `--path` from a phrase (or a hex seed) and prints it.
pub(crate) fn run(args: &DeriveArgs, json: bool) -> CliResult {
    let seed_bytes: Zeroizing<Vec<u8>> = if args.seed_hex_stdin {
        input::seed_hex_from_stdin()?
    } else {
        let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
        Zeroizing::new(seed.expose_secret().to_vec())
    };
    let report = match args.curve {
        Curve::Ed25519 => ed25519_report(&seed_bytes, args)?,
        Curve::Secp256k1 => secp256k1_report(&seed_bytes, args)?,
    };
    if json {
        return output::json(&report);
    }
    let mut rows = vec![
        ("curve", report.curve),
        ("path", report.path.as_str()),
        ("public_key", report.public_key.as_str()),
    ];
    if let Some(chain_code) = &report.chain_code {
        rows.push(("chain_code", chain_code));
    }
    if let Some(xpub) = &report.xpub {
        rows.push(("xpub", xpub));
    }
    if let Some(private_key) = &report.private_key {
        rows.push(("private_key", private_key));
    }
    if let Some(xprv) = &report.xprv {
        rows.push(("xprv", xprv));
    }
    output::fields(&rows)
}

fn ed25519_report(seed: &[u8], args: &DeriveArgs) -> CliResult<KeyReport> {
    let key = ed25519::ExtendedPrivateKey::derive_from_seed(seed, &args.path)?;
    Ok(KeyReport {
        curve: "ed25519",
        path: args.path.to_string(),
        // SLIP-0010 writes ed25519 public keys as 0x00 || key, the form of its vectors.
        public_key: hex::encode(key.slip10_public_key()),
        chain_code: args
            .show_secret
            .then(|| Zeroizing::new(hex::encode(key.chain_code().expose_secret()))),
        xpub: None,
        private_key: args
            .show_secret
            .then(|| Zeroizing::new(hex::encode(key.expose_secret()))),
        xprv: None,
    })
}

fn secp256k1_report(seed: &[u8], args: &DeriveArgs) -> CliResult<KeyReport> {
    use hexvault::derivation::secp256k1;
    let key = secp256k1::ExtendedPrivateKey::from_seed(seed)?.derive_path(&args.path)?;
    let public = key.extended_public_key();
    Ok(KeyReport {
        curve: "secp256k1",
        path: args.path.to_string(),
        public_key: hex::encode(public.public_key()),
        chain_code: args
            .show_secret
            .then(|| Zeroizing::new(hex::encode(key.chain_code().expose_secret()))),
        xpub: args.show_secret.then(|| Zeroizing::new(public.to_xpub())),
        private_key: args
            .show_secret
            .then(|| Zeroizing::new(hex::encode(key.expose_secret()))),
        xprv: args.show_secret.then(|| key.to_xprv()),
    })
}
