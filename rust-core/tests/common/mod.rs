//! Shared set-up for the face tests: the real models and the real test photos.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use salur_core::face::{read_image, FaceConfig, FaceEngine, RgbImage};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn faces() -> PathBuf {
    root().join("test-vectors/faces")
}

pub fn photo(rel: &str) -> RgbImage {
    read_image(&faces().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The engine with default settings, loaded once per test binary.
pub fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| FaceEngine::from_dir(&root().join("models"), FaceConfig::default()).expect("models load"))
}
