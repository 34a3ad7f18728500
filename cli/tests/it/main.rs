//! The crate's integration tests, one module per area, in one test binary: on a brand-new
//! two-core machine each extra binary cost a full release link of the dependency tree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod cek_browser;
mod cli;
mod close_period;
mod common;
mod dashboard_browser;
mod demo;
mod front_door;
mod letters;
mod liveness_data;
mod overrides;
mod receipt_verify;
mod roster_dashboard;
mod serve;
mod sync;
