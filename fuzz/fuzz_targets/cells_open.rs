//! Fuzz `Cell::open` at every layer: arbitrary bytes, and valid blobs of each layer with the
//! input XORed in, must never panic and (unless unchanged) never open.
#![no_main]

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use hexvault_audit::{AuditKey, LogOptions, MemoryLog};
use hexvault_cells::*;
use libfuzzer_sys::fuzz_target;

struct Resolver;

impl TokenResolver for Resolver {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        (token.expose_secret() == b"t").then(|| {
            PolicyContext::new(
                PolicyId::new("p").expect("id"),
                PolicySecret::from_bytes(&mut [3; 32]),
            )
        })
    }
}

struct Fixture {
    vault: Vault,
    session: Session,
    blobs: Vec<Vec<u8>>,
    runs: u32,
}

fn fixture() -> Fixture {
    // A fresh memory log every few thousand runs keeps the recorded denials bounded.
    let log =
        Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).expect("log"));
    let vault = Vault::from_kms_bytes(&mut [9; 32], Resolver, log);
    let session = vault
        .start_session(Duration::from_secs(86_400))
        .expect("session");
    let token = AccessToken::new(b"t".to_vec());
    let cell = vault
        .partition(PartitionId::new("part").expect("id"))
        .cell(CellId::new("cell").expect("id"));
    let creds = Credentials::none().token(&token).session(&session);
    let blobs = [Layer::Rest, Layer::Access, Layer::Session]
        .into_iter()
        .map(|l| {
            cell.seal(&ObjectId::new("obj").expect("id"), b"fuzz", l, &creds)
                .expect("seal")
        })
        .collect();
    Fixture {
        vault,
        session,
        blobs,
        runs: 0,
    }
}

static FIXTURE: LazyLock<Mutex<Fixture>> = LazyLock::new(|| Mutex::new(fixture()));

fuzz_target!(|data: &[u8]| {
    let mut f = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    f.runs += 1;
    if f.runs > 5_000 {
        *f = fixture();
    }
    let token = AccessToken::new(b"t".to_vec());
    let creds = Credentials::none().token(&token).session(&f.session);
    let cell = f
        .vault
        .partition(PartitionId::new("part").expect("id"))
        .cell(CellId::new("cell").expect("id"));
    let object = ObjectId::new("obj").expect("id");
    let _ = cell.open(&object, data, &creds);
    if let Some((&selector, mask)) = data.split_first() {
        let mut blob = f.blobs[usize::from(selector % 3)].clone();
        let changed = mask.iter().zip(blob.iter_mut()).fold(false, |acc, (m, b)| {
            *b ^= m;
            acc | (*m != 0)
        });
        let opened = cell.open(&object, &blob, &creds);
        if changed {
            assert!(opened.is_err(), "a modified blob opened");
        }
    }
});
