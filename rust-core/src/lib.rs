//! Salur core: everything the postal worker's phone does, in Rust.
//!
//! - [`face`]: on-device face verification (YuNet detector, SFace recognizer, on tract).

pub mod error;
pub mod face;

pub use error::{Error, FaceBox, Result};
