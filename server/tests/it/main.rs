//! The crate's integration tests, one module per area, in one test binary: on a brand-new
//! two-core machine each extra binary cost a full release link of the dependency tree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod attacks;
mod challenges;
mod checks;
mod common;
mod dashboard_cache;
mod duplicates;
mod enrolment;
mod hardening;
mod instances;
mod power_loss;
mod proxy;
mod reallocation;
mod receipt_vectors;
mod references;
mod retention;
mod sealing;
mod sockets;
mod upload_key;
mod verdicts;
