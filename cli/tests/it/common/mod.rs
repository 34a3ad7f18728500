//! Shared test set-up: the server crate's backends and signed requests, plus the real network
//! pieces (the `salur` binary as a server process, a fault proxy, TLS) that need this crate's binary.
#![allow(dead_code, unused_imports)]

#[path = "../../../../server/tests/it/common/mod.rs"]
mod server_common;

pub mod browser;
pub mod net;
pub mod pdf;

pub use server_common::*;

/// The evidence of a face match against the registry template (no live check), as a paying
/// receipt of these tests carries.
pub fn registry_match() -> salur_core::receipt::Evidence {
    use salur_core::receipt::{Evidence, Liveness, Method};
    Evidence {
        method: Method::RegistryTemplate,
        score_e6: Some(600_000),
        threshold_e6: Some(400_000),
        model: "sface".into(),
        liveness: Liveness::NotRun,
        live: None,
        face_sha256: None,
        card_face_sha256: None,
        enrolled_sha256: None,
    }
}

/// Sets a server's database up the way `salur serve` does on its first start, for tests that then
/// run commands which need it to exist (they never make one). On its own thread: callers may be
/// inside a runtime already.
pub fn set_up(storage: &salur_server::Storage) {
    let storage = storage.clone();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(storage.open()).map(drop).unwrap();
    })
    .join()
    .unwrap();
}

/// [`set_up`] for an SQLite data folder.
pub fn set_up_dir(dir: &std::path::Path) {
    set_up(&salur_server::Storage::Dir(dir.to_path_buf()));
}
