//! The Kotlin surface of salur-core (UniFFI proc-macros). Thin by design: plain records, typed
//! enums, one error type with a typed kind, objects behind `Arc`; every decision stays in salur-core.
//!
//! Threading: [`FaceEngine`] calls and [`Phone`] store calls are blocking (tens of milliseconds):
//! call them from a background thread (`Dispatchers.Default` / `IO`), never the UI thread.
//! Network calls (`register`, `refresh_roster`, `assigned_rosters`, `sync`, `check_time`) are `suspend` functions that
//! run on the phone's own tokio runtime.

mod enrolment;
mod error;
mod face;
mod field;
mod keys;
mod letters;
mod live;
mod phone;
mod proxy;
mod slip;

pub use enrolment::{scan_enrolment, EnrolmentScan};
pub use error::{ErrorKind, SalurError};
pub use face::{CameraFrame, FaceCheck, FaceCheckResult, FaceDecision, FaceEngine, FaceQuality, ReferenceKind};
pub use field::{GeoFix, OverrideApproval, OverrideReason};
pub use keys::{DataKeyProvider, DeviceSigner};
pub use letters::{LetterProblem, LetterScan};
pub use live::{HeadMove, LiveFailure, LiveHint, LiveProgress, LiveSession};
pub use phone::{
    AssignedRoster, DeviceState, IneligibleKind, Phone, ReceiptInfo, RecipientItem, RecipientStatus, RosterChange,
    ServerConfig, SyncCounts, SyncObserver, SyncStatus,
};
pub use proxy::{kuasa_photo, KkLookup};
pub use slip::ReceiptQr;

uniffi::setup_scaffolding!("salur");

/// The SHA-256 (hex) of a certificate's public key, the value to pin in [`ServerConfig`].
#[uniffi::export]
pub fn spki_pin_of_certificate(cert_der: Vec<u8>) -> Result<String, SalurError> {
    Ok(hex::encode(salur_core::sync::spki_sha256(&cert_der)?))
}

/// Checks one COSE_Sign1 receipt against a device key (SPKI DER) and returns its JSON form.
#[uniffi::export]
pub fn verify_receipt(cose: Vec<u8>, spki: Vec<u8>) -> Result<String, SalurError> {
    let signed = salur_core::receipt::verify(&cose, &spki)?;
    serde_json::to_string(&signed.receipt).map_err(|e| SalurError::internal(e.to_string()))
}
