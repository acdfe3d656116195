//! Review round 43: findings about the cells crate's audit records, as a Rust developer
//! depending on the `hexvault` facade meets them. Each test fails on the code it was written
//! against and passes once the finding is fixed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_audit::{ContextId, EventKind};
use hexvault_cells::*;

/// `crates/audit/src/record.rs:173-174`: a record's `Context` names "the policy and session
/// whose credentials opened it"; docs/formats.md ("Cell blob", Audit) and
/// `crates/cells/tests/audit.rs::gated_opens_are_recorded_with_policy_session_and_actor`
/// (a layer-1 open carries no session): a layer-1 open uses no session. Yet
/// `Inner::open` (crates/cells/src/vault.rs:1383-1386) fills the `open` record's session
/// with `resolved.session.or(credentials.session)`: a session that happens to be in the
/// caller's credentials, which played no part in a layer-1 open (it may even be ended, or
/// a session of another vault), is recorded as the session that opened the data. A
/// record claims what did not happen: an auditor tracing what a session read is told it
/// read layer-1 data it never touched.
#[test]
#[ignore = "review43 finding"]
fn a_layer_1_open_does_not_record_a_session_it_did_not_use() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let l1 = c
        .seal(
            &oid("o"),
            b"layer one",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();

    // An application that keeps one `Credentials` (token and session) for every call.
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    vault.end_session(&session).unwrap(); // ended: it can open nothing any more
    let creds = Credentials::none().token(&reader).session(&session);
    assert_eq!(
        c.open(&oid("o"), &l1, &creds).unwrap().expose_secret(),
        b"layer one"
    );

    let recs = records(&log);
    let open = recs
        .iter()
        .rev()
        .find(|r| r.event.kind == EventKind::Open)
        .unwrap();
    let ctx = open.event.context.as_ref().unwrap();
    assert_eq!(ctx.policy, Some(ContextId::new("readers").unwrap()));
    assert_eq!(
        ctx.session, None,
        "the open record names session {:?} (ended before the open), which no layer-1 open uses",
        ctx.session
    );
}
