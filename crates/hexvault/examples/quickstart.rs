//! Quick start: a vault from a phrase, a record sealed in cell A, moved along a declared
//! edge to cell B, opened there, an undeclared route refused, and the audit log (a file
//! with its anchor beside it) verified with only the public key.
//!
//! Run: `cargo run -p hexvault --example quickstart`

use hexvault::audit::{Anchor, EventKind, Verifier};
use hexvault::cells::{CellId, Credentials, Layer, ObjectId, PartitionId, RouteId};
use hexvault::edges::Connect;
use hexvault::mnemonic::{Language, Mnemonic, WordCount};
use hexvault::{NoAccessTokens, Vault};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The root of trust: a fresh phrase. A real application generates it once, has it
    // written down, and reads it back at start-up (`hexvault mnemonic new --out`).
    let phrase = Mnemonic::generate(WordCount::Words24, Language::English)?.phrase();
    let dir = std::env::temp_dir().join(format!("hexvault-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log_path = dir.join("audit.log");

    let vault =
        Vault::builder()
            .audit_file(&log_path)
            .from_mnemonic(&phrase, "", NoAccessTokens)?;
    let a = vault
        .partition(PartitionId::new("billing")?)
        .cell(CellId::new("inbox")?);
    let b = vault
        .partition(PartitionId::new("reporting")?)
        .cell(CellId::new("archive")?);
    let invoice = ObjectId::new("invoice-42")?;
    let none = Credentials::none();

    let in_a = a.seal(&invoice, b"amount=1200 EUR", Layer::Rest, &none)?;
    println!("sealed {} bytes in billing/inbox", in_a.len());

    let edge = vault.connect(&a, &b)?;
    let in_b = edge.traverse(&invoice, &in_a, &none, &none)?;
    let opened = b.open(&invoice, &in_b, &none)?;
    assert_eq!(opened.expose_secret(), b"amount=1200 EUR");
    println!(
        "moved it to reporting/archive and opened it there ({} bytes)",
        opened.len()
    );

    let nowhere = RouteId::new("billing-to-nowhere")?;
    let refused = vault.traverse(&nowhere, &invoice, &in_a, &none, None, &none);
    assert!(refused.is_err());
    println!("an undeclared route was refused");

    let report = vault.verify_audit()?;
    let kinds: Vec<EventKind> = vault
        .audit_records()?
        .iter()
        .map(|r| r.event.kind)
        .collect();
    assert_eq!(kinds, [EventKind::Traverse, EventKind::Denied]);
    let public = vault.audit_public_key();
    vault.close()?;

    // What an auditor does, elsewhere, with the public key and the anchor file only.
    let anchor = Anchor::read(Anchor::path_for(&log_path))?;
    let outside = Verifier::public_key(public)
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_file(&log_path)?
        .into_result()?;
    assert_eq!(outside.records, report.records);
    println!(
        "audit log {}: {} records (the traversal, the refusal), verified with the public key and the anchor",
        log_path.display(),
        outside.records
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
