//! Rotation: a cell key rotated, old blobs found and resealed under the new version through
//! the cell's reseal edge (lazy re-encryption), the old version retired; then the master key
//! rotated the same way. The audit log records each rotation and each reseal traversal.
//!
//! Run: `cargo run -p hexvault --example rotation`

use hexvault::audit::EventKind;
use hexvault::cells::{CellId, Credentials, Error, Layer, ObjectId, PartitionId};
use hexvault::edges::Connect;
use hexvault::keys::VaultMasterKey;
use hexvault::mnemonic::{Language, Mnemonic, WordCount};
use hexvault::{NoAccessTokens, Vault};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let phrase = Mnemonic::generate(WordCount::Words24, Language::English)?.phrase();
    let vault = Vault::from_mnemonic(&phrase, "", NoAccessTokens)?;
    let cell = vault
        .partition(PartitionId::new("hr")?)
        .cell(CellId::new("payroll")?);
    let none = Credentials::none();

    let ids: Vec<ObjectId> = (0..3)
        .map(|i| ObjectId::new(&format!("employee-{i}")))
        .collect::<Result<_, _>>()?;
    let mut blobs = Vec::new();
    for id in &ids {
        blobs.push(cell.seal(id, b"salary=5000", Layer::Rest, &none)?);
    }
    // A record watched through the rotations below.
    let watched = ObjectId::new("employee-0")?;
    let first = |blobs: &[Vec<u8>]| blobs.first().cloned().unwrap_or_default();
    println!(
        "sealed {} records under cell key version {}",
        blobs.len(),
        cell.key_versions().0
    );

    // Rotate the cell key: new blobs use version 2, old ones still open (dual-key period).
    let version = cell.rotate()?;
    assert!(cell.needs_reseal(&first(&blobs))?);
    assert_eq!(
        cell.open(&watched, &first(&blobs), &none)?.expose_secret(),
        b"salary=5000"
    );
    println!("rotated the cell key to version {version}; version-1 blobs still open");

    // Lazy re-encryption: the reseal edge (cell to itself) re-encrypts what is still on the
    // old version under the current one; then the old version is retired.
    let reseal = vault.reseal_edge(&cell)?;
    for (id, blob) in ids.iter().zip(blobs.iter_mut()) {
        if reseal.needs_reseal(blob)? {
            *blob = reseal.traverse(id, blob, &none, &none)?;
        }
    }
    let old = cell.seal(&watched, b"sealed before retirement", Layer::Rest, &none)?;
    cell.retire_below(version)?;
    for (id, blob) in ids.iter().zip(&blobs) {
        assert_eq!(cell.open(id, blob, &none)?.expose_secret(), b"salary=5000");
    }
    assert!(!cell.needs_reseal(&old)?);
    println!(
        "resealed {} records under version {version} and retired version 1",
        blobs.len()
    );

    // The master key: a new version from a KMS (here the OS generator); then the same steps.
    // It is not derived from the phrase: keep it where it came from, and `load_master` it
    // when the vault is rebuilt, or what is sealed under it no longer opens.
    let master_version = vault.rotate_master(VaultMasterKey::generate()?)?;
    for (id, blob) in ids.iter().zip(blobs.iter_mut()) {
        *blob = reseal.traverse(id, blob, &none, &none)?;
    }
    let before = cell.seal(&watched, b"x", Layer::Rest, &none)?;
    vault.retire_masters_below(master_version)?;
    assert!(cell.open(&watched, &first(&blobs), &none).is_ok());
    assert!(cell.open(&watched, &before, &none).is_ok());
    println!("rotated the master to version {master_version}, resealed, retired master version 1");

    // A blob left on a retired version no longer opens.
    let stale = {
        let spare = vault
            .partition(PartitionId::new("hr")?)
            .cell(CellId::new("archive")?);
        let blob = spare.seal(&watched, b"forgotten", Layer::Rest, &none)?;
        spare.rotate()?;
        spare.retire_below(2)?;
        spare.open(&watched, &blob, &none)
    };
    assert!(matches!(stale, Err(Error::KeyVersionRetired { .. })));
    println!("a blob left on a retired cell key version is refused: reseal before retiring");

    let records = vault.audit_records()?;
    let count = |kind| records.iter().filter(|r| r.event.kind == kind).count();
    let (rotations, reseals) = (count(EventKind::Rotate), count(EventKind::Traverse));
    let report = vault.verify_audit()?;
    println!(
        "audit: {rotations} key rotation and retirement records, {reseals} reseal traversals, \
         {} records in all, verified",
        report.records
    );
    Ok(())
}
