//! The token resolver file (docs/formats.md, "Token resolver file"): the access tokens the
//! operator hands out, each with its policy, its 32-byte policy secret and the cells it may
//! reach, so that layer 1 works from the shell.
//!
//! ```toml
//! [[token]]
//! token = "a long random bearer token"
//! policy = "billing-readers"
//! secret = "64 hex digits: the policy secret"
//! actor = "alice"                      # optional, written into audit records
//! cells = ["billing/inbox"]            # optional; absent: every cell
//! ```

use core::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CliError, CliResult};
use hexvault::cells::{
    AccessToken, ActorId, CellId, PartitionId, PolicyContext, PolicyId, PolicySecret, TokenResolver,
};

/// The environment variable that may name the token resolver file.
pub const TOKENS_ENV: &str = "HEXVAULT_TOKENS";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    token: Vec<EntryText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryText {
    token: String,
    policy: String,
    secret: String,
    actor: Option<String>,
    cells: Option<Vec<String>>,
}

impl Drop for EntryText {
    fn drop(&mut self) {
        self.token.zeroize();
        self.secret.zeroize();
    }
}

/// One token of the file.
struct Entry {
    token: Zeroizing<Vec<u8>>,
    policy: PolicyId,
    secret: Zeroizing<[u8; 32]>,
    actor: Option<ActorId>,
    /// `partition/cell` names the token reaches; `None`: every cell.
    cells: Option<Vec<String>>,
}

/// A [`TokenResolver`] over the entries of a token resolver file. Secret: `Debug` shows
/// only the number of tokens; every token and policy secret is wiped on drop.
pub struct FileResolver {
    entries: Vec<Entry>,
}

impl fmt::Debug for FileResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileResolver")
            .field("tokens", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Byte equality whose time depends only on the lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FileResolver {
    /// Parses the file's text. Errors name the entry, never a token or secret.
    ///
    /// # Errors
    /// Fails for a text that is not a token resolver file of the documented form; the
    /// message names the entry, never a token or secret.
    pub fn parse(text: &str) -> CliResult<Self> {
        // The parser's message is never repeated: it may quote a value (an unquoted numeric
        // token or secret is a TOML integer of the wrong type). The line alone is named.
        let file: FileText = toml::from_str(text).map_err(|error| {
            let at = error
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| format!(" at line {}", before.matches('\n').count() + 1))
                .unwrap_or_default();
            CliError::Failed(format!(
                "the token resolver file is not valid TOML of the documented form{at} (a \
                 missing or unknown field, a value of the wrong type: token, policy and secret \
                 are quoted strings); see docs/formats.md, \"Token resolver file\""
            ))
        })?;
        let mut entries = Vec::with_capacity(file.token.len());
        for (index, entry) in file.token.iter().enumerate() {
            let bad = |what: &str| {
                CliError::Failed(format!(
                    "token resolver file, token entry {}: {what}",
                    index + 1
                ))
            };
            if entry.token.is_empty() {
                return Err(bad("the token is empty"));
            }
            let policy = PolicyId::new(&entry.policy).map_err(|_| {
                bad("policy is not a valid id (ASCII letters, digits, . _ - : / @)")
            })?;
            let decoded =
                crate::decode_secret_hex(&entry.secret).ok_or_else(|| bad("secret is not hex"))?;
            if decoded.len() != 32 {
                return Err(bad("secret must be 32 bytes (64 hex digits)"));
            }
            let mut secret = Zeroizing::new([0_u8; 32]);
            secret.copy_from_slice(&decoded);
            let actor = entry
                .actor
                .as_deref()
                .map(ActorId::new)
                .transpose()
                .map_err(|_| bad("actor is not a valid id"))?;
            if let Some(cells) = &entry.cells {
                for cell in cells {
                    crate::vault_format::CellRef::parse(cell, "the token resolver file")
                        .map_err(|_| bad("cells holds a name that is not PARTITION/CELL"))?;
                }
            }
            // A token listed twice would resolve through its first entry only: refused.
            if let Some(first) = entries
                .iter()
                .position(|e: &Entry| same_bytes(&e.token, entry.token.as_bytes()))
            {
                return Err(bad(&format!(
                    "the token is the token of entry {} too; list each token once (merge \
                     the entries' cells)",
                    first + 1
                )));
            }
            entries.push(Entry {
                token: Zeroizing::new(entry.token.as_bytes().to_vec()),
                policy,
                secret,
                actor,
                cells: entry.cells.clone(),
            });
        }
        Ok(Self { entries })
    }
}

impl TokenResolver for FileResolver {
    fn resolve(
        &self,
        token: &AccessToken,
        partition: &PartitionId,
        cell: &CellId,
    ) -> Option<PolicyContext> {
        let name = format!("{partition}/{cell}");
        let entry = self
            .entries
            .iter()
            .find(|entry| same_bytes(&entry.token, token.expose_secret()))?;
        if let Some(cells) = &entry.cells
            && !cells.contains(&name)
        {
            return None;
        }
        let mut bytes = *entry.secret;
        let context =
            PolicyContext::new(entry.policy.clone(), PolicySecret::from_bytes(&mut bytes));
        Some(match &entry.actor {
            Some(actor) => context.with_actor(actor.clone()),
            None => context,
        })
    }
}

/// Where the token resolver file is: `--tokens FILE`, else `$HEXVAULT_TOKENS`.
pub fn resolver_path(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os(TOKENS_ENV).map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn resolver(text: &str) -> FileResolver {
        match FileResolver::parse(text) {
            Ok(r) => r,
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn resolves_known_tokens_in_scope_only() {
        let r = resolver(&format!(
            "[[token]]\ntoken = \"t1\"\npolicy = \"p\"\nsecret = \"{SECRET}\"\n\
             cells = [\"a/b\"]\n[[token]]\ntoken = \"t2\"\npolicy = \"q\"\nsecret = \"{SECRET}\"\n"
        ));
        let (a, b, c) = (
            PartitionId::new("a").ok(),
            CellId::new("b").ok(),
            CellId::new("c").ok(),
        );
        let (Some(a), Some(b), Some(c)) = (a, b, c) else {
            unreachable!("valid ids")
        };
        let t1 = AccessToken::new(b"t1".to_vec());
        let t2 = AccessToken::new(b"t2".to_vec());
        let t3 = AccessToken::new(b"t3".to_vec());
        assert_eq!(
            r.resolve(&t1, &a, &b)
                .map(|p| p.policy().as_str().to_owned()),
            Some("p".to_owned())
        );
        assert!(r.resolve(&t1, &a, &c).is_none(), "out of the token's cells");
        assert!(r.resolve(&t2, &a, &c).is_some(), "no cells: every cell");
        assert!(r.resolve(&t3, &a, &b).is_none(), "unknown token");
        assert!(format!("{r:?}").contains("tokens: 2"));
        assert!(!format!("{r:?}").contains("t1"));
    }

    #[test]
    fn rejects_bad_entries_without_echoing_secrets() {
        for (text, expected) in [
            (
                "[[token]]\ntoken = \"sekrit\"\npolicy = \"p\"\nsecret = \"00\"\n",
                "32 bytes",
            ),
            (
                "[[token]]\ntoken = \"sekrit\"\npolicy = \"p\"\nsecret = \"zz\"\n",
                "not hex",
            ),
            (
                "[[token]]\ntoken = \"\"\npolicy = \"p\"\nsecret = \"00\"\n",
                "empty",
            ),
            (
                "[[token]]\ntoken = \"sekrit\"\npolicy = \"p p\"\nsecret = \"00\"\n",
                "policy",
            ),
            ("[[token]]\ntoken = \"sekrit\"\n", "not valid TOML"),
        ] {
            let Err(error) = FileResolver::parse(text) else {
                unreachable!("accepted: {text}")
            };
            let message = error.to_string();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains("sekrit"), "{message}");
        }
    }
}
