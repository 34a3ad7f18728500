//! Shared test set-up: the server crate's backends and signed requests, plus the real network
//! pieces (the `salur` binary as a server process, a fault proxy, TLS) that need this crate's binary.
#![allow(dead_code, unused_imports)]

#[path = "../../../server/tests/common/mod.rs"]
mod server_common;

pub mod browser;
pub mod net;

pub use server_common::*;
