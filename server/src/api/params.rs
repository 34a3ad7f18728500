//! Path and query extractors whose refusals are the API's JSON errors (axum's own answer plain
//! text, which no client of this API expects and the OpenAPI document does not promise), and
//! which refuse a NUL character: PostgreSQL text cannot hold one and SQLite's can, so without
//! this the same request would be answered differently by the two backends.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `axum::extract::Path`, refused as [`ApiError::BadRequest`].
pub(super) struct Path<T>(pub T);

/// `axum::extract::Query`, refused as [`ApiError::BadRequest`].
pub(super) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        refuse_nul(parts.uri.path())?;
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        refuse_nul(parts.uri.query().unwrap_or(""))?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A URI part is percent-encoded, and `%00` is the only way a NUL can be in it.
fn refuse_nul(encoded: &str) -> Result<(), ApiError> {
    if encoded.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
        return Err(nul_refused());
    }
    Ok(())
}

/// The refusal of text holding a NUL character.
pub(super) fn nul_refused() -> ApiError {
    ApiError::BadRequest("text must not contain a NUL character".into())
}
