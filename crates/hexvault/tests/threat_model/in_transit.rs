//! In-transit interception: a blob captured while it moves between cells (the output of a
//! traversal, or the input on its way) opens in neither cell without that cell's own
//! credentials, and cannot be replayed into a third cell, another object or another vault.

use hexvault::cells::{Credentials, Error, Layer, Vault as CellsVault};
use hexvault::edges::{Connect, Error as EdgeError};
use hexvault::{NoAccessTokens, Vault};

use crate::common::{PHRASE, cell, object, route, token_for, vault};

fn replace_once(blob: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = blob
        .windows(from.len())
        .position(|w| w == from)
        .expect("the id is in the clear header");
    let mut out = blob.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// Seals `payslip` at layer 1 in tenant-a/inbox and traverses the edge to tenant-b/archive
/// (same layer).
fn captured(vault: &Vault) -> (Vec<u8>, Vec<u8>) {
    let a = cell(vault, "tenant-a", "inbox");
    let b = cell(vault, "tenant-b", "archive");
    let (ta, tb) = (token_for(&a), token_for(&b));
    let in_a = a
        .seal(
            &object("payslip"),
            b"net=4200",
            Layer::Access,
            &Credentials::none().token(&ta),
        )
        .unwrap();
    let edge = vault.connect(&a, &b).unwrap();
    let in_b = edge
        .traverse(
            &object("payslip"),
            &in_a,
            &Credentials::none().token(&ta),
            &Credentials::none().token(&tb),
        )
        .unwrap();
    (in_a, in_b)
}

#[test]
fn a_captured_blob_opens_in_neither_cell_without_that_cells_credentials() {
    let vault = vault();
    let (in_a, in_b) = captured(&vault);
    let a = cell(&vault, "tenant-a", "inbox");
    let b = cell(&vault, "tenant-b", "archive");
    let (ta, tb) = (token_for(&a), token_for(&b));
    let o = object("payslip");

    // Neither blob opens without a token.
    assert!(matches!(
        a.open(&o, &in_a, &Credentials::none()),
        Err(Error::MissingCredential { .. })
    ));
    assert!(matches!(
        b.open(&o, &in_b, &Credentials::none()),
        Err(Error::MissingCredential { .. })
    ));
    // A's token does not open B's copy (the resolver scopes it to A), nor the reverse.
    assert!(matches!(
        b.open(&o, &in_b, &Credentials::none().token(&ta)),
        Err(Error::Denied)
    ));
    assert!(matches!(
        a.open(&o, &in_a, &Credentials::none().token(&tb)),
        Err(Error::Denied)
    ));
    // Each copy names its own cell: presented to the other one, it is refused by name.
    assert!(matches!(
        a.open(&o, &in_b, &Credentials::none().token(&ta)),
        Err(Error::Mismatch { .. })
    ));
    assert!(matches!(
        b.open(&o, &in_a, &Credentials::none().token(&tb)),
        Err(Error::Mismatch { .. })
    ));
    // With its own cell's credentials each opens.
    assert_eq!(
        a.open(&o, &in_a, &Credentials::none().token(&ta))
            .unwrap()
            .expose_secret(),
        b"net=4200"
    );
    assert_eq!(
        b.open(&o, &in_b, &Credentials::none().token(&tb))
            .unwrap()
            .expose_secret(),
        b"net=4200"
    );
}

#[test]
fn a_captured_blob_cannot_be_replayed_into_a_third_cell() {
    let vault = vault();
    let (in_a, in_b) = captured(&vault);
    let a = cell(&vault, "tenant-a", "inbox");
    let c = cell(&vault, "tenant-c", "archive");
    let tc = token_for(&c);
    let o = object("payslip");
    let with_c = Credentials::none().token(&tc);

    // Presented as it is: the header names tenant-b.
    assert!(matches!(
        c.open(&o, &in_b, &with_c),
        Err(Error::Mismatch { .. })
    ));
    // With its header rewritten to name tenant-c: the header is authenticated by every
    // layer and the keys are tenant-c's, so it does not authenticate.
    let forged = replace_once(&in_b, b"tenant-b", b"tenant-c");
    assert!(matches!(
        c.open(&o, &forged, &with_c),
        Err(Error::Authentication)
    ));
    // Through a traversal: no route leads from B to C, and the edge from A to C does not
    // take B's blob.
    let ta = token_for(&a);
    assert!(matches!(
        vault.traverse(&route("b-to-c"), &o, &in_b, &with_c, None, &with_c),
        Err(Error::UndeclaredRoute { .. })
    ));
    let a_to_c = vault.connect(&a, &c).unwrap();
    assert!(matches!(
        a_to_c.traverse(&o, &in_b, &Credentials::none().token(&ta), &with_c),
        Err(EdgeError::Cells(Error::RouteMismatch { .. }))
    ));
    // A's blob along A→C needs A's credentials as the source's: C's token does not do.
    assert!(matches!(
        a_to_c.traverse(&o, &in_a, &with_c, &with_c),
        Err(EdgeError::Cells(Error::Denied))
    ));
}

#[test]
fn a_captured_blob_cannot_be_replayed_as_another_object_or_into_another_vault() {
    let vault = vault();
    let (_, in_b) = captured(&vault);
    let b = cell(&vault, "tenant-b", "archive");
    let tb = token_for(&b);
    let with_b = Credentials::none().token(&tb);
    assert!(matches!(
        b.open(&object("payslop"), &in_b, &with_b),
        Err(Error::Mismatch { .. })
    ));
    let renamed = replace_once(&in_b, b"payslip", b"payslop");
    assert!(matches!(
        b.open(&object("payslop"), &renamed, &with_b),
        Err(Error::Authentication)
    ));

    // Another vault with the same ids and an identical resolver: other keys.
    let other = Vault::from_mnemonic(PHRASE, "another root", crate::common::CellScoped).unwrap();
    let other_b = cell(&other, "tenant-b", "archive");
    assert!(matches!(
        other_b.open(&object("payslip"), &in_b, &with_b),
        Err(Error::Authentication)
    ));
    let layer0 = CellsVault::generate(NoAccessTokens, other.audit_log()).unwrap();
    let stranger = layer0
        .partition(b.partition_id().clone())
        .cell(b.id().clone());
    assert!(stranger.open(&object("payslip"), &in_b, &with_b).is_err());
}
