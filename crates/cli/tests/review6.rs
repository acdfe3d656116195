//! Review round 6 findings on the command line, as failing tests (`#[ignore]`d until fixed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hexvault_cli::tokens::FileResolver;

/// Finding: `FileResolver::parse` (crates/cli/src/tokens.rs:91-97) puts the TOML
/// deserializer's message into its error, and that message quotes a scalar of the wrong
/// type: a bearer token (or policy secret) written without quotes is echoed on standard
/// error. docs/formats.md ("Token resolver file") and the function's doc promise: errors
/// name the entry, never a token or secret. (The session file parser drops the message.)
#[test]
#[ignore = "review6 finding"]
fn an_unquoted_numeric_token_is_not_echoed() {
    for (text, secret) in [
        (
            "[[token]]\ntoken = 31415926535897932\npolicy = \"p\"\nsecret = \"00\"\n",
            "31415926535897932",
        ),
        (
            "[[token]]\ntoken = \"t\"\npolicy = \"p\"\nsecret = 1234567890123456\n",
            "1234567890123456",
        ),
    ] {
        let Err(error) = FileResolver::parse(text) else {
            panic!("accepted: {text}")
        };
        let message = error.to_string();
        assert!(!message.contains(secret), "echoed: {message}");
    }
}
