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

use salur_core::crypto::{self as c, DataKey};
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Evidence, Liveness, Location, Method, Outcome, Receipt, Times};
use salur_core::store::{Draft, Store};

/// A fresh software signer.
pub fn signer() -> SoftwareSigner {
    SoftwareSigner::generate().unwrap().0
}

/// A plausible paid receipt for `signer` (sequence 1, genesis link).
pub fn receipt(signer: &dyn Signer) -> Receipt {
    Receipt {
        v: 1,
        id: "01936f5e-7b3c-7cc0-8a5e-5b0c3f7e9a11".into(),
        device_id: "dev-jkt-0001".into(),
        key_id: c::key_id(&signer.public_key_spki().unwrap()),
        worker_id: "pos-12345".into(),
        seq: 1,
        prev: vec![0; 32],
        roster_id: "blt-2026-11".into(),
        recipient: salur_core::receipt::recipient_ref(b"roster key", "3171234567890001"),
        amount: 600_000,
        outcome: Outcome::Paid,
        evidence: Some(Evidence {
            method: Method::RegistryTemplate,
            score_e6: Some(612_345),
            threshold_e6: Some(400_000),
            model: "sface_2021dec_int8bq".into(),
            liveness: Liveness::Passed,
            live: None,
            face_sha256: Some(vec![7; 32]),
            card_face_sha256: None,
            enrolled_sha256: None,
        }),
        time: Times { wall_ms: 1_795_000_000_000, mono_ms: 86_400_000, offset_ms: -1_250 },
        location: Some(Location { lat_e7: -62_088_000, lon_e7: 1_068_456_000, accuracy_m: 12 }),
        received_in_full: None,
        letter_id: None,
    }
}

/// The record of a passed live check that drew random challenge `n` (its turns asked and met).
pub fn live_check(n: u8) -> salur_core::receipt::LiveCheck {
    use salur_core::receipt::{HeadMove, LiveMethod};
    let asked: Vec<HeadMove> =
        salur_core::face::liveness::Challenge::numbered(n).steps().into_iter().map(HeadMove::from).collect();
    salur_core::receipt::LiveCheck {
        method: LiveMethod::PassiveAndChallenge,
        passive_e6: Some(990_000),
        passive_threshold_e6: Some(850_000),
        met: asked.clone(),
        asked,
        frames: 40,
        duration_ms: 9_000,
        models: vec![],
        challenge: Some(n),
    }
}

/// The bytes [`draft`] names as the enrolled template it was compared with.
pub const ENROLLED: &[u8] = b"SLFT enrolled template of the test drafts";

/// A draft for the store.
pub fn draft(n: u64) -> Draft {
    Draft {
        roster_id: "blt-2026-11".into(),
        recipient: salur_core::receipt::recipient_ref(b"roster key", &format!("31712345678{n:05}")),
        amount: 600_000,
        outcome: Outcome::Paid,
        evidence: Some(Evidence {
            method: Method::EnrolledTemplate,
            score_e6: Some(550_000),
            threshold_e6: Some(400_000),
            model: "sface_2021dec_int8bq".into(),
            liveness: Liveness::NotRun,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        }),
        evidence_jpeg: None,
        time: Times { wall_ms: 1_795_000_000_000 + n as i64, mono_ms: n, offset_ms: 0 },
        location: None,
        received_in_full: None,
        kuasa_jpeg: None,
        card_jpeg: None,
        card_face_jpeg: None,
        // Paid against a template enrolled on the phone: the template goes with it.
        enrolled_template: Some(ENROLLED.to_vec()),
    }
}

/// A new store in `dir` with a registered software device key.
pub fn store(dir: &Path) -> (Store, SoftwareSigner, FixedKey) {
    let keys = FixedKey(DataKey::generate().unwrap());
    let store = Store::open(&dir.join("salur.db"), &keys).unwrap();
    let signer = signer();
    store.set_device("dev-jkt-0001", "pos-12345", &signer).unwrap();
    (store, signer, keys)
}
