//! One module per command; each turns parsed arguments into library calls and output.

pub(crate) mod audit;
pub(crate) mod credential;
pub(crate) mod demo;
pub(crate) mod derive;
pub(crate) mod docs;
pub(crate) mod envelope;
pub(crate) mod mnemonic;
pub(crate) mod seed;
pub(crate) mod session;
pub(crate) mod shares;
pub(crate) mod vault;
