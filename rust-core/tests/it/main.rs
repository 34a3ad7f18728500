//! The crate's integration tests, one module per area, in one test binary: on a brand-new
//! two-core machine each extra binary cost a full release link of the dependency tree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod arch_parity;
mod camera_frames;
mod common;
mod doorstep_visit;
mod face_choice;
mod face_errors;
mod face_pairs;
mod letters;
mod liveness;
mod opencv_parity;
mod outbox;
mod power_loss;
mod proxy;
mod receipt_vectors;
mod receipts;
mod store;
