//! The threat-model suite: one module per property of SECURITY.md ("Threat model: which test
//! proves what"), each driven through the facade's assembled `Vault` as an application uses
//! it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
/// The restart fixtures this suite shares with `version_replay.rs` and `audit_log.rs`.
#[path = "../common/mod.rs"]
mod shared;

mod at_rest;
mod blast_radius;
mod in_transit;
mod insider_audit;
mod reopen;
mod unauthorized;
