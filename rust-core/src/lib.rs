//! Salur core: everything the postal worker's phone does, in Rust.
//!
//! - [`approval`]: the supervisor's code that approves an override (checked by the server).
//! - [`face`]: on-device face verification (YuNet detector, SFace recognizer, on tract).
//! - [`doorstep`]: from a capture at the door to the evidence a receipt signs.
//! - [`receipt`]: signed, hash-chained disbursement receipts (COSE_Sign1, ES256).
//! - [`letter`]: the signed token of an invitation letter's QR code, and scanning it.
//! - [`keys`]: the device signing key and the data-encryption key.
//! - [`store`]: the phone's durable, encrypted SQLite store.
//! - [`sync`]: the background upload queue and the other calls to the disbursement API.

pub mod approval;
pub mod crockford;
pub mod crypto;
pub mod dates;
pub mod doorstep;
pub mod enrolment_qr;
pub mod error;
pub mod face;
pub mod keys;
pub mod letter;
pub mod receipt;
pub mod request_auth;
pub mod sign1;
pub mod slip;
pub mod store;
pub mod sync;

pub use error::{Error, ErrorKind, FaceBox, Result};

// The caching allocator the benchmark compares against the system's (docs/performance.md: on
// glibc it saved no page faults here and doubled the peak memory, so it stays a bench option).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The global allocator this build runs on (`mimalloc` or `system`), for the benchmarks' tables.
pub const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "system" };
