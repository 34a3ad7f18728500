//! The one HTTP error type: a stable machine code, a message fit for the caller, a status; and the
//! one place where each domain rule's own error becomes an HTTP answer (`From<…Error> for ApiError`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::complaints::ComplaintError;
use crate::domain::credentials::CredentialError;
use crate::domain::devices::DeviceError;
use crate::domain::enrolment::EnrolmentError;
use crate::domain::reallocation::ReallocationError;
use crate::domain::roles::RoleError;

/// Everything an API call can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or invalid device signature or staff credential.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (device pending or revoked, role too low, CSRF token missing).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The enrolment code is unknown, used, expired, or issued for another worker (403, its own
    /// code so that the phone can say what to do).
    #[error("{0}")]
    EnrolmentRefused(String),
    /// The key attestation chain did not verify, or none was sent where one is required (403).
    #[error("{0}")]
    AttestationRefused(String),
    /// Conflicts with what the server already holds (kept as it was).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the route accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but refused (e.g. a receipt that does not verify).
    #[error("{0}")]
    Unprocessable(String),
    /// The request took longer than the server allows (a stalled or very slow client).
    #[error("{0}")]
    Timeout(String),
    /// The request's body did not arrive whole within the body deadline (a stalled or trickled
    /// body); 408, and the connection is closed.
    #[error("{0}")]
    BodyTimeout(String),
    /// The signed request was already received (a replay).
    #[error("{0}")]
    Replayed(String),
    /// Too many requests from one address or device; answered with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        /// What to tell the caller.
        message: String,
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// The server is at its limit of requests in flight or remembered; answered with `Retry-After`.
    #[error("{message}")]
    Busy {
        /// What to tell the caller.
        message: String,
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// A fault on our side; details go to the log, not to the caller.
    #[error("internal error")]
    Internal(String),
}

/// The machine-readable code of an error answer, one per [`ApiError`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed request.
    BadRequest,
    /// No valid credential (missing, wrong, expired or disabled).
    Unauthorized,
    /// Not allowed.
    Forbidden,
    /// No such thing.
    NotFound,
    /// Enrolment code unknown, used, expired or for another worker.
    EnrolmentRefused,
    /// Key attestation refused.
    AttestationRefused,
    /// Conflicts with what the server holds.
    Conflict,
    /// Body too large.
    PayloadTooLarge,
    /// Body is not JSON.
    UnsupportedMediaType,
    /// Well-formed but refused.
    Unprocessable,
    /// The request took too long.
    Timeout,
    /// The request's body took too long to arrive.
    BodyTimeout,
    /// A signed request received twice.
    Replayed,
    /// Too many requests: see `Retry-After`.
    RateLimited,
    /// The server is at its limit: see `Retry-After`.
    Busy,
    /// A fault on the server's side.
    Internal,
}

/// The body of every error answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What kind of error (stable, for programs).
    pub error: ErrorCode,
    /// What happened and what to do (for people).
    pub message: String,
}

impl ApiError {
    fn status_code(&self) -> (StatusCode, ErrorCode) {
        use ErrorCode as C;
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, C::BadRequest),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, C::Unauthorized),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, C::Forbidden),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, C::NotFound),
            Self::EnrolmentRefused(_) => (StatusCode::FORBIDDEN, C::EnrolmentRefused),
            Self::AttestationRefused(_) => (StatusCode::FORBIDDEN, C::AttestationRefused),
            Self::Conflict(_) => (StatusCode::CONFLICT, C::Conflict),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, C::UnsupportedMediaType),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, C::Unprocessable),
            Self::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, C::Timeout),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, C::BodyTimeout),
            Self::Replayed(_) => (StatusCode::UNAUTHORIZED, C::Replayed),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, C::RateLimited),
            Self::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, C::Busy),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::Internal),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut res = (status, Json(ErrorBody { error: code, message: self.to_string() })).into_response();
        if let Self::RateLimited { retry_after_secs, .. } | Self::Busy { retry_after_secs, .. } = &self {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
        res
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL text cannot hold a NUL character (SQLite's can): a name or id with one is
        // the caller's bad input, not the server's fault (found by schemathesis).
        if let sqlx::Error::Database(db) = &e {
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Self::BadRequest("text must not contain NUL or characters outside UTF-8".into());
            }
        }
        Self::Internal(format!("database: {e}"))
    }
}

impl From<crate::domain::attestation::AttestationError> for ApiError {
    fn from(e: crate::domain::attestation::AttestationError) -> Self {
        Self::AttestationRefused(e.to_string())
    }
}

// The domain's rules answer in their own terms; each is turned into an HTTP answer here, once.
// The matches list every variant, so a new one needs a status before it compiles.

impl From<ComplaintError> for ApiError {
    fn from(e: ComplaintError) -> Self {
        use ComplaintError as E;
        match e {
            E::NoPayment | E::NotLess { .. } | E::AmountMissing | E::AmountWhenNotPaid | E::NoteTooLong => {
                Self::Unprocessable(e.to_string())
            }
            E::TooMany { .. } => Self::Conflict(e.to_string()),
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        use CredentialError as E;
        match e {
            E::PasswordLength | E::UserName | E::BuiltInName(_) => Self::BadRequest(e.to_string()),
            E::Random | E::Hashing(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        use DeviceError as E;
        match e {
            E::Pending | E::Revoked => Self::Forbidden(e.to_string()),
            E::BadIdentifier { .. } | E::BadUploadKey(_) => Self::BadRequest(e.to_string()),
            E::UploadKeyScope => Self::Forbidden(e.to_string()),
            E::NoUploadKey => Self::Unauthorized(e.to_string()),
            E::UploadKeyLessAttested => Self::AttestationRefused(e.to_string()),
            E::UnknownStatus(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<EnrolmentError> for ApiError {
    fn from(e: EnrolmentError) -> Self {
        use EnrolmentError as E;
        match e {
            E::Refused => Self::EnrolmentRefused(e.to_string()),
            E::Lifetime | E::UnknownAssignment(_) => Self::BadRequest(e.to_string()),
            E::Random => Self::Internal(e.to_string()),
        }
    }
}

impl From<ReallocationError> for ApiError {
    fn from(e: ReallocationError) -> Self {
        use ReallocationError as E;
        match e {
            E::UnknownStatus(_) | E::UnknownDecision(_) | E::Reason => Self::BadRequest(e.to_string()),
            E::SameApprover => Self::Forbidden(e.to_string()),
            E::NotApproved | E::Decided(_) => Self::Conflict(e.to_string()),
        }
    }
}

impl From<crate::domain::held::HeldError> for ApiError {
    fn from(e: crate::domain::held::HeldError) -> Self {
        use crate::domain::held::HeldError as E;
        match e {
            E::NotHeld(_) | E::Decided { .. } | E::FlaggedBeyond { .. } => Self::Conflict(e.to_string()),
            E::Note => Self::Unprocessable(e.to_string()),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::NotAllowed { .. } => Self::Forbidden(e.to_string()),
            RoleError::UnknownRole(_) => Self::BadRequest(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reallocation::CaseStatus;
    use crate::domain::roles::{Permission, Role};

    fn answer(e: impl Into<ApiError>) -> (StatusCode, ErrorCode, String) {
        let e = e.into();
        let (status, code) = e.status_code();
        (status, code, e.to_string())
    }

    #[test]
    fn each_domain_refusal_keeps_its_status_code_and_words() {
        use StatusCode as S;
        let cases = [
            (answer(ComplaintError::NoteTooLong), S::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable),
            (answer(ComplaintError::TooMany { already: 3 }), S::CONFLICT, ErrorCode::Conflict),
            (answer(CredentialError::UserName), S::BAD_REQUEST, ErrorCode::BadRequest),
            (answer(CredentialError::Random), S::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
            (answer(DeviceError::Revoked), S::FORBIDDEN, ErrorCode::Forbidden),
            (answer(DeviceError::BadIdentifier { field: "worker_id".into() }), S::BAD_REQUEST, ErrorCode::BadRequest),
            (answer(DeviceError::UnknownStatus("lost".into())), S::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
            (answer(EnrolmentError::Refused), S::FORBIDDEN, ErrorCode::EnrolmentRefused),
            (answer(EnrolmentError::Lifetime), S::BAD_REQUEST, ErrorCode::BadRequest),
            (answer(ReallocationError::Reason), S::BAD_REQUEST, ErrorCode::BadRequest),
            (answer(ReallocationError::SameApprover), S::FORBIDDEN, ErrorCode::Forbidden),
            (answer(ReallocationError::Decided(CaseStatus::Rejected)), S::CONFLICT, ErrorCode::Conflict),
            (
                answer(RoleError::NotAllowed { role: Role::Finance, permission: Permission::ReadAudit }),
                S::FORBIDDEN,
                ErrorCode::Forbidden,
            ),
            (answer(RoleError::UnknownRole("root".into())), S::BAD_REQUEST, ErrorCode::BadRequest),
        ];
        for ((status, code, message), want_status, want_code) in cases {
            assert_eq!((status, code), (want_status, want_code), "{message}");
        }
        let (_, _, said) = answer(EnrolmentError::Refused);
        assert_eq!(said, "enrolment code unknown, used or expired: ask your supervisor for a new one");
        let (_, _, said) = answer(RoleError::NotAllowed { role: Role::Finance, permission: Permission::ReadAudit });
        assert_eq!(said, "the finance role may not read the audit log");
        // A fault on our side says nothing more to the caller than before.
        let (_, _, said) = answer(DeviceError::UnknownStatus("lost".into()));
        assert_eq!(said, "internal error");
    }
}
