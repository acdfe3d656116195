//! The token resolver file (docs/formats.md, "Token resolver file"): what its parser refuses
//! and what its errors never repeat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hexvault_cli::tokens::FileResolver;

/// `FileResolver::parse` never repeats the TOML deserializer's message, which quotes a
/// scalar of the wrong type: a bearer token (or policy secret) written without quotes would
/// be echoed on standard error. Errors name the line or entry, never a token or secret.
#[test]
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
        assert!(message.contains("line"), "names no line: {message}");
    }
}

/// A token listed twice would resolve through its first entry only (its policy, secret and
/// `cells`), silently: the file is refused, naming both entries by position, not the token.
#[test]
fn a_token_listed_twice_is_refused() {
    let secret = "01".repeat(32);
    let text = format!(
        "[[token]]\ntoken = \"tok-duplicated\"\npolicy = \"narrow\"\nsecret = \"{secret}\"\n\
         cells = [\"billing/inbox\"]\n\
         [[token]]\ntoken = \"other\"\npolicy = \"other\"\nsecret = \"{secret}\"\n\
         [[token]]\ntoken = \"tok-duplicated\"\npolicy = \"wide\"\nsecret = \"{secret}\"\n"
    );
    let Err(error) = FileResolver::parse(&text) else {
        panic!("a duplicated token was accepted");
    };
    let message = error.to_string();
    assert!(
        message.contains("entry 3") && message.contains("entry 1"),
        "{message}"
    );
    assert!(!message.contains("tok-duplicated"), "echoed: {message}");
    assert!(!message.contains(&secret), "echoed: {message}");
}

/// A syntax error at the start of a line (an unknown key) names that line, not the one
/// before it (review round 8, R8-8).
#[test]
fn a_token_file_error_at_the_start_of_a_line_names_that_line() {
    let text = format!(
        "[[token]]\ntoken = \"tok\"\npolicy = \"pol\"\nsecret = \"{}\"\nbogus = 1\n",
        "01".repeat(32)
    );
    let Err(error) = FileResolver::parse(&text) else {
        panic!("an unknown key was accepted");
    };
    let message = error.to_string();
    assert!(message.contains("at line 5"), "{message}");
    // And an error in the middle of a line (a value of the wrong type) names its line.
    let text = "[[token]]\ntoken = 7\npolicy = \"pol\"\n";
    let Err(error) = FileResolver::parse(text) else {
        panic!("a numeric token was accepted");
    };
    let message = error.to_string();
    assert!(message.contains("at line 2"), "{message}");
}
