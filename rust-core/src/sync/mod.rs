//! The background upload queue: drains the store's outbox to the disbursement API so that every
//! receipt reaches it exactly once, and the other calls the phone makes (registration, roster
//! refresh, server time).
//!
//! Exactly once comes from both ends: the server is idempotent by receipt id (the same bytes
//! again get the same answer), and the phone marks a receipt acknowledged only after the
//! server's per-receipt answer. A receipt sent without an answer (network cut, app killed,
//! server restarted) stays `sent` and is sent again by the next sync. Cancelling a sync (dropping
//! its future) is safe at any await point for the same reason.

mod backoff;
mod check;
mod http;
mod roster;
mod tls;

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

pub use backoff::Backoff;
pub use check::CheckedReceipt;
pub use http::now_ms;
pub use roster::AssignedRoster;
pub use tls::spki_sha256;

use crate::error::{Error, Result};
use crate::keys::Signer;
use crate::request_auth::KeyRole;
use crate::store::{OutboxState, Store};
use http::{Auth, Http};

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Base URL of the disbursement API, e.g. `https://salur.example.go.id/`.
    pub server_url: String,
    /// Trusted CA certificates (PEM); `None` trusts the Mozilla root set.
    pub ca_pem: Option<Vec<u8>>,
    /// SHA-256 of the server key's SPKI: the current and a backup pin. Empty: no pinning.
    pub pins_sha256: Vec<[u8; 32]>,
    /// Allows `http://` to a loopback address (tests and the demo); any other plain HTTP is refused.
    pub allow_http_loopback: bool,
    /// Receipts per upload (the server takes at most 500).
    pub batch_size: usize,
    /// Bytes of evidence crop per request (an interrupted upload resumes at the server's offset).
    pub evidence_chunk: usize,
    /// Retry policy.
    pub backoff: Backoff,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request and its answer.
    pub request_timeout: Duration,
}

impl SyncConfig {
    /// Defaults for `server_url`.
    pub fn new(server_url: &str) -> Self {
        Self {
            server_url: server_url.to_string(),
            ca_pem: None,
            pins_sha256: Vec::new(),
            allow_http_loopback: false,
            batch_size: 200,
            evidence_chunk: 32 * 1024,
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Counts reported while a sync runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Unacknowledged receipts when the sync started.
    pub pending: u64,
    /// Receipts sent so far (resends included).
    pub sent: u64,
    /// Receipts the server has accepted (or already held) so far.
    pub acknowledged: u64,
    /// Receipts the server refused so far.
    pub rejected: u64,
}

/// Hears a sync's progress (the UI's progress bar and status line).
pub trait SyncListener: Send + Sync {
    /// After each batch is answered.
    fn progress(&self, progress: SyncProgress);
    /// A transient failure; the client waits and tries again.
    fn retrying(&self, _error: &Error) {}
}

impl SyncListener for () {
    fn progress(&self, _: SyncProgress) {}
}

/// The end of a sync: everything unacknowledged at the start has an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Final counts of this run.
    pub progress: SyncProgress,
    /// Receipts the phone had as acknowledged but the server no longer held, sent again.
    pub requeued: u64,
    /// Highest sequence the server holds with none missing before it.
    pub server_contiguous_to: u64,
    /// Evidence face crops whose upload finished in this run.
    pub evidence_uploaded: u64,
    /// Evidence face crops the server refused in this run (kept on the phone, tried again at the
    /// next sync; the receipts themselves went on uploading).
    pub evidence_refused: u64,
}

/// A registration as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Registration {
    /// Device id.
    pub device_id: String,
    /// `pending` until an administrator approves it, then `approved` (or `revoked`).
    pub status: String,
}

/// Talks to the disbursement API for one device.
pub struct SyncClient {
    http: Http,
    batch_size: usize,
    evidence_chunk: usize,
}

#[derive(Deserialize)]
struct EvidenceStatus {
    received: u64,
    complete: bool,
}

#[derive(Deserialize)]
struct ServerTime {
    server_ms: i64,
}

#[derive(Deserialize)]
struct UploadAnswer {
    results: Vec<UploadResult>,
    chain: ServerChain,
}

#[derive(Deserialize)]
struct UploadResult {
    id: Option<String>,
    result: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ServerChain {
    contiguous_to: u64,
    max_seq: u64,
    gaps: Vec<[u64; 2]>,
}

#[derive(Deserialize)]
struct RegistrationAnswer {
    device: Registration,
    /// The id of the upload key the server holds for the device, if any.
    #[serde(default)]
    upload_key_id: Option<String>,
}

/// The phone's second key, named at registration: it signs uploads (receipts, evidence, the
/// chain's status) without the worker's unlock; the server accepts it for nothing else.
pub struct UploadKey<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// Its attestation chain (DER, leaf first), made with the registration nonce; empty where the
    /// device key has none either.
    pub attestation: &'a [Vec<u8>],
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A 2xx answer the client cannot use (another server version, a proxy's page).
fn unexpected(message: String) -> Error {
    Error::Server { status: 200, code: "unexpected_answer".into(), message }
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| unexpected(format!("{what}: {e}")))
}

impl SyncClient {
    /// A client for `config`; refuses plain HTTP except to loopback when allowed.
    pub fn new(config: &SyncConfig) -> Result<Self> {
        let mut base =
            Url::parse(&config.server_url).map_err(|e| Error::InvalidArgument(format!("server URL: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        // The TLS configuration is given even for loopback HTTP: reqwest builds its connector
        // either way, and without one it would look for a process-wide default provider.
        let builder = reqwest::Client::builder()
            .retry(reqwest::retry::never())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .tls_backend_preconfigured(tls::client_config(config.ca_pem.as_deref(), &config.pins_sha256)?);
        let builder = match base.scheme() {
            "https" => builder.https_only(true),
            "http" if config.allow_http_loopback && is_loopback(&base) => builder,
            "http" => {
                return Err(Error::InvalidArgument(
                    "plain HTTP is refused: use an https:// server URL (http:// only to loopback, for tests)".into(),
                ))
            }
            other => return Err(Error::InvalidArgument(format!("server URL scheme {other}: use https://"))),
        };
        let client = builder.build().map_err(|e| Error::InvalidArgument(format!("HTTP client: {e}")))?;
        let batch_size = config.batch_size.clamp(1, 500);
        let evidence_chunk = config.evidence_chunk.clamp(256, 256 * 1024);
        Ok(Self { http: Http { client, base, backoff: config.backoff }, batch_size, evidence_chunk })
    }

    fn auth<'a>(store: &Store, signer: &'a dyn Signer, device_id: &'a str) -> Result<Auth<'a>> {
        // The upload key signs as itself only once the server has accepted it (`register_with`);
        // any other signer is the device key.
        let role = match store.upload_key()? {
            Some(upload) if upload == signer.public_key_spki()? => KeyRole::Upload,
            _ => KeyRole::Device,
        };
        Ok(Auth { signer, role, device_id, clock_offset_ms: store.clock_offset_ms()? })
    }

    /// Measures the server clock against the phone's (half the round trip allowed for) and
    /// stores the offset; receipts carry it and requests are stamped with it.
    pub async fn check_time(&self, store: &Store) -> Result<i64> {
        let sent = now_ms();
        let body = self.http.call(None, Method::GET, "/v1/time", None, &|_| {}).await?;
        let received = now_ms();
        let server: ServerTime = decode(&body, "server time")?;
        let offset = server.server_ms - (sent + received) / 2;
        store.set_clock_offset_ms(offset)?;
        Ok(offset)
    }

    /// Asks the server for a registration nonce for `enrolment_code` (the code an approver gave the
    /// worker): the phone makes its key with this nonce as the attestation challenge, then
    /// registers within 15 minutes. A code that is unknown, used or expired is refused
    /// ([`Error::EnrolmentRefused`]).
    pub async fn enrolment_challenge(&self, enrolment_code: &str) -> Result<Vec<u8>> {
        let body = serde_json::json!({ "enrolment_code": enrolment_code }).to_string();
        let answer = self
            .http
            .call(None, Method::POST, "/v1/devices/challenge", Some(body.as_bytes()), &|_| {})
            .await
            .map_err(enrolment_error)?;
        let nonce: Nonce = decode(&answer, "registration nonce")?;
        B64.decode(nonce.nonce).map_err(|_| unexpected("the registration nonce is not base64".into()))
    }

    /// Registers this device's key with the server (idempotent), binding the store to it first,
    /// without a key attestation (servers run with `--allow-unattested-devices` only).
    pub async fn register(
        &self,
        store: &Store,
        signer: &dyn Signer,
        device_id: &str,
        worker_id: &str,
        post_office: &str,
        enrolment_code: &str,
    ) -> Result<Registration> {
        self.register_attested(store, signer, device_id, worker_id, post_office, enrolment_code, &[]).await
    }

    /// [`Self::register`] with the key's attestation certificate chain (DER, leaf first), made with
    /// the nonce from [`Self::enrolment_challenge`] as its challenge; the server verifies it.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_attested(
        &self,
        store: &Store,
        signer: &dyn Signer,
        device_id: &str,
        worker_id: &str,
        post_office: &str,
        enrolment_code: &str,
        attestation: &[Vec<u8>],
    ) -> Result<Registration> {
        self.register_with(store, signer, device_id, worker_id, post_office, enrolment_code, attestation, None).await
    }

    /// [`Self::register_attested`], naming beside the device key the upload key (with its own
    /// attestation, made with the same nonce): the key that signs uploads while the phone is
    /// locked. Once the server has accepted it, [`Self::sync`] given that key signs as it.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_with(
        &self,
        store: &Store,
        signer: &dyn Signer,
        device_id: &str,
        worker_id: &str,
        post_office: &str,
        enrolment_code: &str,
        attestation: &[Vec<u8>],
        upload: Option<UploadKey<'_>>,
    ) -> Result<Registration> {
        store.set_device(device_id, worker_id, signer)?;
        let chain = |certs: &[Vec<u8>]| certs.iter().map(|c| B64.encode(c)).collect::<Vec<_>>();
        let mut body = serde_json::json!({
            "device_id": device_id,
            "worker_id": worker_id,
            "post_office": post_office,
            "public_key": B64.encode(signer.public_key_spki()?),
            "attestation": chain(attestation),
            "enrolment_code": enrolment_code,
        });
        let upload_spki = upload.as_ref().map(|u| u.signer.public_key_spki()).transpose()?;
        if let (Some(u), Some(spki)) = (&upload, &upload_spki) {
            body["upload_key"] = B64.encode(spki).into();
            body["upload_attestation"] = chain(u.attestation).into();
        }
        let body = body.to_string();
        let auth = Auth { signer, role: KeyRole::Device, device_id, clock_offset_ms: store.clock_offset_ms()? };
        let answer = self
            .http
            .call(Some(auth), Method::POST, "/v1/devices", Some(body.as_bytes()), &|_| {})
            .await
            .map_err(enrolment_error)?;
        let answer: RegistrationAnswer = decode(&answer, "registration")?;
        // Kept only when the server says it holds this very key: a registration made before the
        // phone had one (the server answers the held device) leaves uploads on the device key.
        if let (Some(spki), Some(held)) = (&upload_spki, &answer.upload_key_id) {
            if *held == hex::encode(crate::crypto::key_id(spki)) {
                store.set_upload_key(spki)?;
            }
        }
        Ok(answer.device)
    }

    /// Uploads every unacknowledged receipt; returns when each has the server's answer.
    /// On failure the receipts stay queued, the error is kept for [`Store::sync_status`], and the
    /// next call carries on. [`Error::SyncBusy`] if this store is already syncing.
    pub async fn sync(&self, store: &Store, signer: &dyn Signer, listener: &dyn SyncListener) -> Result<SyncReport> {
        let _guard = store.begin_sync()?;
        let result = self.sync_all(store, signer, listener).await;
        // A refused evidence crop does not fail the sync (every receipt has its answer), but the
        // worker sees it as the last error until a later sync uploads it.
        let error = match &result {
            Ok((_, refusal)) => refusal.as_ref(),
            Err(e) => Some(e),
        };
        store.note_sync(error)?;
        result.map(|(report, _)| report)
    }

    async fn sync_all(
        &self,
        store: &Store,
        signer: &dyn Signer,
        listener: &dyn SyncListener,
    ) -> Result<(SyncReport, Option<Error>)> {
        let device = registered(store)?;
        // Measured first: every request of this sync is stamped with the fresh offset.
        self.check_time(store).await?;
        let auth = Self::auth(store, signer, &device)?;
        let mut report = self.drain(store, auth, listener).await?;
        let refusal = self.upload_evidence(store, auth, listener, &mut report).await?;
        Ok((report, refusal))
    }

    async fn drain(&self, store: &Store, auth: Auth<'_>, listener: &dyn SyncListener) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        report.progress.pending = store.sync_status()?.pending;
        let mut batch_size = self.batch_size;
        let mut requeue_checked = false;
        loop {
            let batch = store.unacknowledged(batch_size)?;
            if batch.is_empty() {
                if requeue_checked {
                    break;
                }
                // The server's chain tells whether it still holds what the phone has as
                // acknowledged (a database restored from backup would not): those go again, once
                // per sync, even when nothing new was recorded.
                requeue_checked = true;
                let chain = self.chain(auth).await?;
                report.server_contiguous_to = chain.contiguous_to;
                let missing = store.acknowledged_missing(&chain.gaps, chain.max_seq)?;
                if missing.is_empty() {
                    break;
                }
                store.set_state(&missing, OutboxState::Pending, None)?;
                report.requeued += missing.len() as u64;
                report.progress.pending += missing.len() as u64;
                continue;
            }
            let seqs: Vec<u64> = batch.iter().map(|r| r.seq).collect();
            store.set_state(&seqs, OutboxState::Sent, None)?;
            let body = serde_json::json!({ "receipts": batch.iter().map(|r| B64.encode(&r.cose)).collect::<Vec<_>>() })
                .to_string();
            let retrying = |e: &Error| listener.retrying(e);
            let answer = match self
                .http
                .call(Some(auth), Method::POST, "/v1/receipts", Some(body.as_bytes()), &retrying)
                .await
            {
                Err(Error::Server { status: 413, .. }) if batch_size > 1 => {
                    batch_size /= 2;
                    continue;
                }
                other => other?,
            };
            report.progress.sent += batch.len() as u64;
            let answer: UploadAnswer = decode(&answer, "upload")?;
            if answer.results.len() != batch.len() {
                return Err(unexpected(format!("{} results for {} receipts", answer.results.len(), batch.len())));
            }
            let mut acknowledged = Vec::new();
            for (sent, result) in batch.iter().zip(&answer.results) {
                match (result.id.as_deref() == Some(sent.id.as_str()), result.result.as_str()) {
                    (true, "accepted" | "duplicate") => acknowledged.push(sent.seq),
                    (_, outcome) => {
                        let reason = format!("{outcome}: {}", result.reason.as_deref().unwrap_or("no reason given"));
                        store.set_state(&[sent.seq], OutboxState::Rejected, Some(&reason))?;
                        report.progress.rejected += 1;
                    }
                }
            }
            store.set_state(&acknowledged, OutboxState::Acknowledged, None)?;
            report.progress.acknowledged += acknowledged.len() as u64;
            report.server_contiguous_to = answer.chain.contiguous_to;
            listener.progress(report.progress);
        }
        Ok(report)
    }

    /// Uploads the evidence crops of acknowledged receipts, resuming each where the server stopped.
    /// A crop the server refuses is kept and noted (tried again at the next sync) and the others
    /// go on; returns the last refusal, for the worker's status line.
    async fn upload_evidence(
        &self,
        store: &Store,
        auth: Auth<'_>,
        listener: &dyn SyncListener,
        report: &mut SyncReport,
    ) -> Result<Option<Error>> {
        let retrying = |e: &Error| listener.retrying(e);
        let mut after = 0;
        let mut refusal = None;
        loop {
            let batch = store.evidence_to_upload(after, 16)?;
            if batch.is_empty() {
                return Ok(refusal);
            }
            for (seq, id, jpeg) in batch {
                after = seq;
                match self.upload_one(store, auth, (seq, &id), &jpeg, &retrying).await {
                    Ok(()) => {
                        store.mark_evidence_uploaded(seq)?;
                        report.evidence_uploaded += 1;
                    }
                    Err(e) if refuses_crop(&e) => {
                        store.mark_evidence_refused(seq, &e.to_string())?;
                        report.evidence_refused += 1;
                        refusal = Some(evidence_refused(e));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// Uploads what receipt `seq` was compared with (the card's face, the enrolled template) when
    /// the server does not hold it yet, then its crop: the server judges the payment once both
    /// are in.
    async fn upload_one(
        &self,
        store: &Store,
        auth: Auth<'_>,
        (seq, id): (u64, &str),
        jpeg: &[u8],
        retrying: &(dyn Fn(&Error) + Sync),
    ) -> Result<()> {
        if let Some(parts) = store.reference_parts_to_upload(seq)? {
            let path = format!("/v1/receipts/{}/references", url_segment(id)?);
            let b64 = |b: &Option<Vec<u8>>| b.as_deref().map(|b| B64.encode(b));
            let body = serde_json::json!({ "card_face": b64(&parts.card_face), "enrolled": b64(&parts.enrolled) });
            self.http.call(Some(auth), Method::PUT, &path, Some(body.to_string().as_bytes()), retrying).await?;
            store.mark_reference_parts_uploaded(seq)?;
        }
        self.upload_crop(auth, id, jpeg, retrying).await
    }

    /// Uploads one crop from where the server stopped.
    async fn upload_crop(
        &self,
        auth: Auth<'_>,
        id: &str,
        jpeg: &[u8],
        retrying: &(dyn Fn(&Error) + Sync),
    ) -> Result<()> {
        let path = format!("/v1/receipts/{}/evidence", url_segment(id)?);
        let status_of = || async {
            let answer = self.http.call(Some(auth), Method::GET, &path, None, retrying).await?;
            decode::<EvidenceStatus>(&answer, "evidence status")
        };
        let mut status = status_of().await?;
        while !status.complete {
            let from = status.received as usize;
            if from >= jpeg.len() {
                // The server holds every byte yet calls it incomplete: stop rather than loop.
                return Err(Error::Server {
                    status: 409,
                    code: "evidence_incomplete".into(),
                    message: format!("evidence of {id}: {from} bytes held, not complete"),
                });
            }
            let to = (from + self.evidence_chunk).min(jpeg.len());
            let body = serde_json::json!({
                "offset": from, "total": jpeg.len(), "chunk": B64.encode(&jpeg[from..to]),
            })
            .to_string();
            status = match self.http.call(Some(auth), Method::PUT, &path, Some(body.as_bytes()), retrying).await {
                Ok(answer) => decode(&answer, "evidence upload")?,
                // A chunk whose answer was lost arrived after all: ask where to go on.
                Err(Error::Server { status: 409, .. }) => status_of().await?,
                Err(e) => return Err(e),
            };
        }
        Ok(())
    }

    async fn chain(&self, auth: Auth<'_>) -> Result<ServerChain> {
        #[derive(Deserialize)]
        struct Answer {
            status: ServerChain,
        }
        // The status only: the full `/chain` re-verifies every receipt held, which grows with the
        // month and is for auditors, not for every sync.
        let path = format!("/v1/devices/{}/chain/status", url_segment(auth.device_id)?);
        let answer = self.http.call(Some(auth), Method::GET, &path, None, &|_| {}).await?;
        Ok(decode::<Answer>(&answer, "chain")?.status)
    }
}

/// The server refused this one crop (too large, not the signed bytes, no such receipt), as opposed
/// to refusing the device (401, 403) or being unreachable: the other crops can still go.
fn refuses_crop(e: &Error) -> bool {
    matches!(e, Error::Server { status, .. } if (400..500).contains(status) && !matches!(status, 401 | 403 | 408 | 429))
}

fn evidence_refused(e: Error) -> Error {
    match e {
        Error::Server { status, code, message } => Error::Server {
            status,
            code,
            message: format!(
                "an evidence face crop was refused (kept on the phone, tried again at the next sync): {message}"
            ),
        },
        other => other,
    }
}

/// The server's refusal of an enrolment code or of a key attestation, as its own kind (the phone
/// tells the worker what to do: ask for a new code, or use another phone).
fn enrolment_error(e: Error) -> Error {
    match e {
        Error::Server { status: 403, code, message } if code == "enrolment_refused" => Error::EnrolmentRefused(message),
        Error::Server { status: 403, code, message } if code == "attestation_refused" => {
            Error::AttestationRefused(message)
        }
        other => other,
    }
}

#[derive(Deserialize)]
struct Nonce {
    nonce: String,
}

fn registered(store: &Store) -> Result<String> {
    Ok(store.device()?.ok_or_else(|| Error::InvalidArgument("register the device before syncing".into()))?.device_id)
}

/// Ids in URLs are restricted to what the server accepts, so no escaping is needed.
fn url_segment(id: &str) -> Result<&str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        Ok(id)
    } else {
        Err(Error::InvalidArgument(format!("{id:?} is not a valid id (letters, digits, '-', '_', '.')")))
    }
}
