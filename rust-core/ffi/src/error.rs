//! The one error the app sees: a stable kind, the detail, and a hint fit for the worker.

/// Every failure of a Salur call (a Kotlin exception, `SalurException.Failed`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SalurError {
    /// Something went wrong; `kind` is stable for code, `hint` is for the worker's screen.
    #[error("{detail}")]
    Failed {
        /// Stable machine name (`no_face`, `multiple_faces`, `network`, `not_recorded`, ...).
        kind: String,
        /// What happened.
        detail: String,
        /// What the worker can do, when there is something.
        hint: Option<String>,
    },
}

impl SalurError {
    /// A failure of the binding layer itself.
    pub fn internal(detail: String) -> Self {
        Self::Failed { kind: "internal".into(), detail, hint: None }
    }
}

impl From<salur_core::Error> for SalurError {
    fn from(e: salur_core::Error) -> Self {
        Self::Failed { kind: e.kind().into(), detail: e.to_string(), hint: e.hint().map(str::to_string) }
    }
}

/// Kotlin implementations of the foreign traits throw this too; it maps back into the core.
impl From<SalurError> for salur_core::Error {
    fn from(e: SalurError) -> Self {
        let SalurError::Failed { kind, detail, .. } = e;
        salur_core::Error::Crypto(format!("{kind}: {detail}"))
    }
}

/// UniFFI turns an unexpected callback failure (a Kotlin exception that is not ours) into this.
impl From<uniffi::UnexpectedUniFFICallbackError> for SalurError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::internal(format!("callback failed: {}", e.reason))
    }
}
