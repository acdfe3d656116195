//! Partitions as tenants: each tenant's data lives in its own partition (its own key
//! sub-tree), a token resolver grants each tenant's token for that tenant's cells only,
//! and data crosses tenants only along a declared, audited route.
//!
//! Run: `cargo run -p hexvault --example multi_tenant`

use std::collections::HashMap;

use hexvault::Vault;
use hexvault::audit::{EventKind, Outcome};
use hexvault::cells::{
    AccessToken, ActorId, CellId, Credentials, Error, Layer, ObjectId, PartitionId, PolicyContext,
    PolicyId, PolicySecret, RouteId, TokenResolver,
};
use hexvault::edges::{Connect, EdgeRule};
use hexvault::mnemonic::{Language, Mnemonic, WordCount};

/// One token and one policy secret per tenant, as an identity provider and a secret store
/// would hold them. A token is valid in its own tenant's partition only.
struct Tenants {
    by_token: HashMap<Vec<u8>, (String, [u8; 32])>,
}

impl TokenResolver for Tenants {
    fn resolve(
        &self,
        token: &AccessToken,
        partition: &PartitionId,
        _: &CellId,
    ) -> Option<PolicyContext> {
        let (tenant, secret) = self.by_token.get(token.expose_secret())?;
        if partition.as_str() != tenant {
            return None;
        }
        let policy = PolicyId::new(&format!("{tenant}-staff")).ok()?;
        let actor = ActorId::new(&format!("{tenant}-app")).ok()?;
        Some(
            PolicyContext::new(policy, PolicySecret::from_bytes(&mut secret.to_owned()))
                .with_actor(actor),
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut by_token = HashMap::new();
    for tenant in ["acme", "globex"] {
        let secret = *PolicySecret::generate()?.expose_secret();
        by_token.insert(
            format!("token-of-{tenant}").into_bytes(),
            (tenant.to_owned(), secret),
        );
    }
    let phrase = Mnemonic::generate(WordCount::Words24, Language::English)?.phrase();
    let vault = Vault::from_mnemonic(&phrase, "", Tenants { by_token })?;

    let acme = vault
        .partition(PartitionId::new("acme")?)
        .cell(CellId::new("customers")?);
    let globex = vault
        .partition(PartitionId::new("globex")?)
        .cell(CellId::new("customers")?);
    let acme_token = AccessToken::new(b"token-of-acme".to_vec());
    let globex_token = AccessToken::new(b"token-of-globex".to_vec());
    let as_acme = Credentials::none().token(&acme_token);
    let as_globex = Credentials::none().token(&globex_token);
    let record = ObjectId::new("customer-1")?;

    // Each tenant seals at layer 1 (access): its token and its policy secret are needed.
    let acme_blob = acme.seal(&record, b"acme: jane@example.com", Layer::Access, &as_acme)?;
    let globex_blob = globex.seal(
        &record,
        b"globex: joe@example.com",
        Layer::Access,
        &as_globex,
    )?;
    println!("acme and globex each sealed a record in their own partition");

    // Globex's token is refused in acme's partition; acme's own cell does not take globex's blob.
    assert!(matches!(
        acme.open(&record, &acme_blob, &as_globex),
        Err(Error::Denied)
    ));
    assert!(matches!(
        acme.open(&record, &globex_blob, &as_acme),
        Err(Error::Mismatch { .. })
    ));
    println!("globex's token opens nothing of acme's, and acme's cell refuses globex's blob");

    // A declared export edge: acme shares one record with globex, audited.
    let route = RouteId::new("acme-shares-with-globex")?;
    let edge = vault.connect_with(&acme, &globex, EdgeRule::new().named(route.clone()))?;
    let shared = edge.traverse(&record, &acme_blob, &as_acme, &as_globex)?;
    assert_eq!(
        globex.open(&record, &shared, &as_globex)?.expose_secret(),
        b"acme: jane@example.com"
    );
    println!("acme shared a record with globex along {route}; globex opened its copy");

    let records = vault.audit_records()?;
    let denied = records
        .iter()
        .filter(|r| r.event.kind == EventKind::Denied)
        .count();
    let traversals = records
        .iter()
        .filter(|r| r.event.kind == EventKind::Traverse && r.event.outcome == Outcome::Success)
        .count();
    let opens = records
        .iter()
        .filter(|r| r.event.kind == EventKind::Open)
        .count();
    assert_eq!((denied, traversals, opens), (2, 1, 1));
    let report = vault.verify_audit()?;
    println!(
        "audit: {} records ({denied} refusals, {traversals} traversal, {opens} gated open), verified",
        report.records
    );
    Ok(())
}
