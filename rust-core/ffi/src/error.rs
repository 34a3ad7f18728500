//! The one error the app sees: a typed kind (a Kotlin enum), the detail, and a hint fit for the
//! worker. Mapped from the core's error in one place, and back for errors the app's own
//! callbacks (keystore, data key) throw, so their kind survives the round trip.

pub use salur_core::ErrorKind;

// The core's kinds, exposed to Kotlin as `ErrorKind` (UniFFI mirrors a type it does not own).
#[uniffi::remote(Enum)]
pub enum ErrorKind {
    /// Not a JPEG or PNG.
    NotAnImage,
    /// The image ends early.
    TruncatedImage,
    /// The image cannot be decoded.
    CorruptImage,
    /// The image is larger than accepted.
    ImageTooLarge,
    /// A camera frame whose planes do not match its size.
    InvalidFrame,
    /// No face found.
    NoFace,
    /// Several faces where one was expected.
    MultipleFaces,
    /// The face is too small.
    FaceTooSmall,
    /// Too dark.
    TooDark,
    /// Too blurry.
    TooBlurry,
    /// Enrolment photos of different people.
    EnrolmentMismatch,
    /// A template that cannot be used.
    InvalidTemplate,
    /// A model failed to load or run.
    Model,
    /// A model file with the wrong hash.
    ModelHash,
    /// Bad arguments from the caller.
    InvalidArgument,
    /// A receipt that does not verify.
    InvalidReceipt,
    /// An invitation letter that does not verify or is not for this roster.
    InvalidLetter,
    /// Encryption or key handling failed.
    Crypto,
    /// The database failed.
    Storage,
    /// A disbursement was not recorded.
    NotRecorded,
    /// No such record.
    NotFound,
    /// No connection to the server.
    Network,
    /// The server's identity could not be verified.
    Tls,
    /// The server refused a request.
    Server,
    /// The enrolment code was refused (unknown, used, expired, another worker's).
    EnrolmentRefused,
    /// The phone's key attestation was refused.
    AttestationRefused,
    /// A sync is already running.
    SyncBusy,
    /// A file could not be read or written.
    Io,
    /// A fault in the binding or platform layer.
    Internal,
}

/// Every failure of a Salur call (a Kotlin exception, `SalurException.Failed`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SalurError {
    /// Something went wrong; branch on `kind`, show `hint` to the worker.
    #[error("{detail}")]
    Failed {
        /// What kind of failure.
        kind: ErrorKind,
        /// What happened (English, for logs and support; never a NIK, face or key).
        detail: String,
        /// What the worker can do, when there is something.
        hint: Option<String>,
    },
}

impl SalurError {
    /// A failure of the binding layer itself.
    pub fn internal(detail: String) -> Self {
        Self::Failed { kind: ErrorKind::Internal, detail, hint: None }
    }

    /// Bad arguments from the app: `detail` for the log, `hint` for the worker.
    pub fn invalid(detail: impl Into<String>, hint: &str) -> Self {
        Self::Failed { kind: ErrorKind::InvalidArgument, detail: detail.into(), hint: Some(hint.to_string()) }
    }

    /// A failure of `kind` with `detail`.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self::Failed { kind, detail: detail.into(), hint: None }
    }
}

impl From<salur_core::Error> for SalurError {
    fn from(e: salur_core::Error) -> Self {
        Self::Failed { kind: e.kind(), detail: e.to_string(), hint: e.hint().map(str::to_string) }
    }
}

/// Kotlin implementations of the foreign traits throw this too; it goes back into the core with
/// its kind, so a keystore that says "storage" or "crypto" is reported as such.
impl From<SalurError> for salur_core::Error {
    fn from(e: SalurError) -> Self {
        let SalurError::Failed { kind, detail, .. } = e;
        salur_core::Error::Platform { kind, detail }
    }
}

/// UniFFI turns an unexpected callback failure (a Kotlin exception that is not ours) into this.
impl From<uniffi::UnexpectedUniFFICallbackError> for SalurError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::internal(format!("callback failed: {}", e.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_error_keeps_its_kind_through_the_core_and_back() {
        let from_kotlin = SalurError::new(ErrorKind::Storage, "keystore is locked");
        let core: salur_core::Error = from_kotlin.into();
        assert_eq!(core.kind(), ErrorKind::Storage);
        let SalurError::Failed { kind, detail, .. } = SalurError::from(core);
        assert_eq!((kind, detail.as_str()), (ErrorKind::Storage, "keystore is locked"));
    }

    #[test]
    fn core_errors_carry_their_kind_and_hint() {
        let SalurError::Failed { kind, hint, .. } = SalurError::from(salur_core::Error::NoFace);
        assert_eq!(kind, ErrorKind::NoFace);
        assert!(hint.is_some());
    }
}
