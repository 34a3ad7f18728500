//! One HTTP exchange with the disbursement API, signed with the device key and retried with
//! backoff when the failure is transient. This is the only place anything is retried: reqwest's
//! own retries are off and the Android job scheduler only triggers a sync.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use super::backoff::{parse_retry_after, Backoff};
use crate::error::{Error, Result};
use crate::keys::Signer;
use crate::request_auth;

/// Who signs a request, and the server clock offset to stamp it with.
#[derive(Clone, Copy)]
pub struct Auth<'a> {
    /// The key that signs: the device key, or the upload key for what the server lets it do.
    pub signer: &'a dyn Signer,
    /// Which of the two `signer` is.
    pub role: request_auth::KeyRole,
    /// The registered device id.
    pub device_id: &'a str,
    /// Server time minus phone time.
    pub clock_offset_ms: i64,
}

/// A failed attempt: worth another try (with the server's `Retry-After`), or not.
enum Failure {
    Transient(Error, Option<Duration>),
    Final(Error),
}

/// The HTTP side of the sync client.
pub struct Http {
    pub(super) client: reqwest::Client,
    pub(super) base: Url,
    pub(super) backoff: Backoff,
}

#[derive(Deserialize)]
struct ServerError {
    error: String,
    message: String,
}

impl Http {
    /// Sends `body` (JSON) to `path`, retrying transient failures; returns the 2xx body.
    /// `on_retry` hears each failure before the wait (for the status line).
    pub async fn call(
        &self,
        auth: Option<Auth<'_>>,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        on_retry: &(dyn Fn(&Error) + Sync),
    ) -> Result<Vec<u8>> {
        let mut attempt = 0;
        loop {
            match self.once(auth, method.clone(), path, body).await {
                Ok(bytes) => return Ok(bytes),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient(e, retry_after)) => {
                    attempt += 1;
                    if attempt >= self.backoff.max_attempts {
                        return Err(e);
                    }
                    on_retry(&e);
                    tokio::time::sleep(self.backoff.delay(attempt - 1, retry_after)).await;
                }
            }
        }
    }

    async fn once(
        &self,
        auth: Option<Auth<'_>>,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, Failure> {
        let url = self.base.join(path.trim_start_matches('/')).map_err(|e| Failure::Final(bad_url(e)))?;
        let mut req = self.client.request(method.clone(), url);
        let body = body.unwrap_or_default();
        if method != Method::GET {
            req = req.header("content-type", "application/json").body(body.to_vec());
        }
        if let Some(a) = auth {
            // Signed per attempt: the time in the signature must be fresh on every retry.
            let time = now_ms() + a.clock_offset_ms;
            let path_and_query = self.base.path().trim_end_matches('/').to_string() + path;
            let headers =
                request_auth::sign_request(a.signer, a.device_id, method.as_str(), &path_and_query, time, body)
                    .map_err(Failure::Final)?;
            for (name, value) in headers {
                req = req.header(name, value);
            }
            if let Some(role) = a.role.header_value() {
                req = req.header(request_auth::KEY_HEADER, role);
            }
        }
        let resp = req.send().await.map_err(transport_failure)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let bytes = resp.bytes().await.map_err(transport_failure)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let (code, message) = match serde_json::from_slice::<ServerError>(&bytes) {
            Ok(e) => (e.error, e.message),
            Err(_) => (
                status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_"),
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            ),
        };
        let error = Error::Server { status: status.as_u16(), code, message };
        Err(match status {
            StatusCode::REQUEST_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Failure::Transient(error, retry_after),
            _ => Failure::Final(error),
        })
    }
}

fn bad_url(e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("server URL: {e}"))
}

/// A transport error: TLS failures are final (retrying will not make a wrong key right), the
/// rest (refused, reset, timed out, cut mid-answer) transient.
fn transport_failure(e: reqwest::Error) -> Failure {
    let mut detail = e.to_string();
    let mut source = e.source();
    let mut tls = false;
    while let Some(s) = source {
        tls |= is_rustls(s);
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    if tls {
        Failure::Final(Error::Tls(detail))
    } else if e.is_builder() {
        Failure::Final(Error::InvalidArgument(detail))
    } else {
        Failure::Transient(Error::Network(detail), None)
    }
}

/// rustls errors reach us inside io::Errors (two deep), whose `source()` skips what they wrap.
fn is_rustls(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<rustls::Error>()
        || e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref).is_some_and(|inner| is_rustls(inner))
}

/// Milliseconds since the Unix epoch on the phone's clock.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
