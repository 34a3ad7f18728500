//! The public receipt check: what a receipt code names on the server, for anyone holding it.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{decode, SyncClient};
use crate::error::{Error, Result};

/// What the server says of a receipt code (no name, NIK or face).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckedReceipt {
    /// The code, `XXXX-XXXX-XXXX`.
    pub code: String,
    /// `paid`, `ineligible`, `not_home` or `refused`.
    pub outcome: String,
    /// Whole rupiah.
    pub amount: u64,
    /// When it was signed at the door, in the recipient's time zone (`7 Desember 2026, 14.52 WIB`).
    pub paid_at: String,
    /// The paying post office.
    pub post_office: String,
    /// Its name, where the server knows one.
    #[serde(default)]
    pub post_office_name: Option<String>,
    /// Roster.
    pub roster_id: String,
    /// Complaints filed against it.
    pub complaints: u64,
}

impl SyncClient {
    /// Looks a receipt code up on the server; [`Error::NotFound`] when no receipt has it (or it
    /// has not been uploaded yet).
    pub async fn check_receipt(&self, code: &str) -> Result<CheckedReceipt> {
        let code = crate::receipt::normalize_code(code)
            .ok_or_else(|| Error::InvalidArgument(format!("{code:?} is not a receipt code (12 letters and digits)")))?;
        let path = format!("/v1/public/receipts/{code}");
        let answer = self.http.call(None, Method::GET, &path, None, &|_| {}).await.map_err(|e| match e {
            Error::Server { status: 404, .. } => {
                Error::NotFound("no receipt has this code on the server (yet: it may not be uploaded)".into())
            }
            other => other,
        })?;
        decode(&answer, "receipt check")
    }
}
