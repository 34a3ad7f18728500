//! The phone: its encrypted store, its key (in the platform keystore), the roster and the
//! receipts, and the sync with the disbursement API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use salur_core::doorstep;
use salur_core::receipt::{IneligibleReason, Outcome, Standing, Times};
use salur_core::store::Store;
use salur_core::sync::{SyncClient, SyncConfig};

use crate::face::FaceCheck;
use crate::field::{check_received_in_full, GeoFix, OverrideApproval, OverrideReason};
use crate::keys::{DataKeyProvider, DeviceSigner, Keys, Signer};
use crate::SalurError;

/// How to reach the disbursement API.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ServerConfig {
    /// Base URL, `https://...`.
    pub url: String,
    /// Trusted CA certificates (PEM); none: the Mozilla roots.
    pub ca_pem: Option<String>,
    /// SHA-256 (hex) of the server key's SPKI: current and backup pins; empty: no pinning.
    pub pins_sha256_hex: Vec<String>,
    /// Allow `http://` to loopback (tests only).
    pub allow_http_loopback: bool,
    /// Tries per request before a call gives up (0: the default, 8, with backoff up to a minute).
    pub max_attempts: u32,
}

/// Registration state of this phone on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceState {
    /// Waiting for an administrator's approval.
    Pending,
    /// May upload.
    Approved,
    /// Revoked: it may no longer upload.
    Revoked,
}

impl DeviceState {
    fn parse(status: &str) -> Result<Self, SalurError> {
        Ok(match status {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "revoked" => Self::Revoked,
            other => {
                return Err(SalurError::new(
                    salur_core::ErrorKind::Server,
                    format!("the server answered an unknown device status {other:?}"),
                ))
            }
        })
    }
}

/// Where a recipient stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RecipientStatus {
    /// Not visited yet (or nobody was home).
    ToDo,
    /// Paid.
    Paid,
    /// Found ineligible.
    Ineligible,
    /// Nobody home at the last visit.
    NotHome,
    /// Refused the aid.
    Refused,
}

/// Why a recipient is ineligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IneligibleKind {
    /// Deceased.
    Deceased,
    /// Moved away.
    Moved,
    /// Not found at the address.
    NotFound,
    /// Does not meet the programme's criteria.
    NotMeetingCriteria,
    /// Something else (say what in the note).
    Other,
}

/// A row of today's roster.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RecipientItem {
    /// Roster.
    pub roster_id: String,
    /// The recipient's reference in receipts (hex).
    pub recipient_ref: String,
    /// NIK.
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Whole rupiah.
    pub amount: u64,
    /// Whether the phone holds a reference (the registry's or one enrolled here); if not: e-KTP or enrol.
    pub has_template: bool,
    /// Where they stand.
    pub status: RecipientStatus,
}

impl RecipientItem {
    /// The row for `r`, standing `s` (the same rule as the server's dashboard).
    pub(crate) fn new(r: salur_core::store::Recipient, s: Standing) -> Self {
        let status = match s {
            Standing::Paid => RecipientStatus::Paid,
            Standing::Ineligible => RecipientStatus::Ineligible,
            Standing::Refused => RecipientStatus::Refused,
            Standing::NotHome => RecipientStatus::NotHome,
            Standing::NotVisited => RecipientStatus::ToDo,
        };
        RecipientItem {
            status,
            roster_id: r.roster_id,
            recipient_ref: hex::encode(&r.recipient),
            has_template: r.template.is_some() || r.enrolled.is_some(),
            nik: r.nik,
            name: r.name,
            address: r.address,
            amount: r.amount,
        }
    }
}

/// What a roster refresh changed.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct RosterChange {
    /// New recipients.
    pub added: u64,
    /// Recipients no longer assigned.
    pub removed: u64,
    /// Recipients updated.
    pub updated: u64,
}

/// A roster on which the server assigns recipients to this phone's worker.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AssignedRoster {
    /// Roster (programme and period), for `refresh_roster`.
    pub roster_id: String,
    /// Recipients assigned to the worker on it.
    pub recipients: u64,
    /// Their amounts, whole rupiah.
    pub amount_total: u64,
}

/// Counts of one sync run.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct SyncCounts {
    /// Unacknowledged at the start.
    pub pending: u64,
    /// Sent so far.
    pub sent: u64,
    /// Accepted by the server so far.
    pub acknowledged: u64,
    /// Refused by the server so far.
    pub rejected: u64,
}

/// The sync status screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncStatus {
    /// Receipts waiting to upload.
    pub pending: u64,
    /// Receipts the server holds.
    pub acknowledged: u64,
    /// Receipts the server refused (with reasons in the audit view).
    pub rejected: u64,
    /// When the oldest waiting receipt was recorded (ms since the epoch).
    pub oldest_pending_ms: Option<i64>,
    /// Last fully successful sync.
    pub last_success_ms: Option<i64>,
    /// Last error, in words for the worker.
    pub last_error: Option<String>,
    /// Its kind.
    pub last_error_kind: Option<salur_core::ErrorKind>,
    /// Evidence face crops the server refused (kept on the phone and tried again at each sync;
    /// the receipts themselves upload regardless).
    pub evidence_refused: u64,
}

/// A recorded receipt.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReceiptInfo {
    /// Receipt id.
    pub id: String,
    /// Sequence number in the device's chain.
    pub seq: u64,
    /// The signed bytes (COSE_Sign1).
    pub cose: Vec<u8>,
    /// The code the recipient keeps and checks (`XXXX-XXXX-XXXX`, read aloud or printed).
    pub code: String,
}

impl ReceiptInfo {
    fn new(id: String, seq: u64, cose: Vec<u8>) -> Self {
        let code = salur_core::receipt::code(&cose);
        Self { id, seq, cose, code }
    }
}

/// Hears a running sync (for the progress bar).
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// After each batch is answered.
    fn on_progress(&self, counts: SyncCounts);
    /// A transient failure; the sync waits and tries again.
    fn on_retry(&self, message: String);
}

struct Observer(Option<Arc<dyn SyncObserver>>);

fn counts(p: salur_core::sync::SyncProgress) -> SyncCounts {
    SyncCounts { pending: p.pending, sent: p.sent, acknowledged: p.acknowledged, rejected: p.rejected }
}

impl salur_core::sync::SyncListener for Observer {
    fn progress(&self, p: salur_core::sync::SyncProgress) {
        if let Some(o) = &self.0 {
            o.on_progress(counts(p));
        }
    }

    fn retrying(&self, error: &salur_core::Error) {
        if let Some(o) = &self.0 {
            o.on_retry(error.hint().map_or_else(|| error.to_string(), str::to_string));
        }
    }
}

/// What a registration names besides the keys.
struct Enrolment {
    device_id: String,
    worker_id: String,
    post_office: String,
    enrolment_code: String,
    attestation: Vec<Vec<u8>>,
}

/// One phone's store, key and server connection.
#[derive(uniffi::Object)]
pub struct Phone {
    pub(crate) store: Arc<Store>,
    signer: Arc<Signer>,
    /// The key that signs uploads without the worker's unlock, when the app has one.
    upload_signer: Option<Arc<Signer>>,
    client: Arc<SyncClient>,
    runtime: tokio::runtime::Runtime,
    /// The last location fix the app gave (`set_location`).
    location: Mutex<Option<GeoFix>>,
    /// Where recipients check their receipt codes (the server's `/cek` page).
    pub(crate) check_url: String,
}

pub(crate) fn recipient_ref(hex_ref: &str) -> Result<Vec<u8>, SalurError> {
    hex::decode(hex_ref).map_err(|_| salur_core::Error::InvalidArgument("recipient_ref is not hex".into()).into())
}

impl Phone {
    /// A live visit bound to one recipient of the phone's roster, against what `against` picks.
    pub(crate) fn bound_visit(
        &self,
        engine: Arc<crate::FaceEngine>,
        roster_id: &str,
        recipient_ref: &str,
        against: impl FnOnce(&salur_core::store::Recipient, &crate::FaceEngine) -> Result<doorstep::Against, SalurError>,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        let r = self.store.recipient(roster_id, &self::recipient_ref(recipient_ref)?)?;
        let against = against(&r, &engine)?;
        let previous = self.store.last_challenge(roster_id, &r.recipient)?;
        crate::LiveSession::start(engine, against, Some((roster_id, &r.recipient)), previous)
    }

    fn times(&self, mono_ms: u64) -> Result<Times, SalurError> {
        let offset_ms = self.store.clock_offset_ms()?;
        Ok(Times { wall_ms: salur_core::sync::now_ms(), mono_ms, offset_ms })
    }

    /// Signs and stores `draft` with the phone's last location fix.
    fn record(&self, mut draft: salur_core::store::Draft, mono_ms: u64) -> Result<ReceiptInfo, SalurError> {
        draft.location = GeoFix::at(self.location_fix().as_ref(), mono_ms);
        let signed = self.store.record(self.signer.as_ref(), draft)?;
        Ok(ReceiptInfo::new(signed.receipt.id.clone(), signed.receipt.seq, signed.bytes))
    }

    /// The draft of a receipt for a recipient of the phone's roster.
    #[allow(clippy::too_many_arguments)]
    fn draft(
        &self,
        roster_id: &str,
        recipient: &str,
        outcome: Outcome,
        evidence: Option<salur_core::receipt::Evidence>,
        crop: Option<Vec<u8>>,
        mono_ms: u64,
        received_in_full: Option<bool>,
    ) -> Result<salur_core::store::Draft, SalurError> {
        let r = self.store.recipient(roster_id, &recipient_ref(recipient)?)?;
        let mut draft = doorstep::draft(&r, outcome, evidence, crop, self.times(mono_ms)?);
        draft.received_in_full = received_in_full;
        Ok(draft)
    }

    fn opened(
        db_path: String,
        signer: Arc<dyn DeviceSigner>,
        upload_signer: Option<Arc<dyn DeviceSigner>>,
        keys: Arc<dyn DataKeyProvider>,
        server: ServerConfig,
    ) -> Result<Arc<Self>, SalurError> {
        let store = Store::open(std::path::Path::new(&db_path), &Keys(keys))?;
        let mut config = SyncConfig::new(&server.url);
        config.ca_pem = server.ca_pem.map(String::into_bytes);
        config.allow_http_loopback = server.allow_http_loopback;
        if server.max_attempts > 0 {
            config.backoff.max_attempts = server.max_attempts;
        }
        for pin in &server.pins_sha256_hex {
            let bytes: [u8; 32] = hex::decode(pin).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| {
                salur_core::Error::InvalidArgument(format!("pin {pin} is not 64 hex digits (SHA-256)"))
            })?;
            config.pins_sha256.push(bytes);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| SalurError::internal(format!("starting the network runtime: {e}")))?;
        Ok(Arc::new(Self {
            store: Arc::new(store),
            signer: Arc::new(Signer(signer)),
            upload_signer: upload_signer.map(|u| Arc::new(Signer(u))),
            client: Arc::new(SyncClient::new(&config)?),
            runtime,
            location: Mutex::new(None),
            check_url: format!("{}/cek", server.url.trim_end_matches('/')),
        }))
    }

    /// The key a sync signs its requests with: the upload key once the server has accepted it
    /// (it needs no unlock), else the device key.
    fn request_signer(&self) -> Result<Arc<Signer>, SalurError> {
        if let (Some(upload), Some(held)) = (&self.upload_signer, self.store.upload_key()?) {
            if salur_core::keys::Signer::public_key_spki(upload.as_ref())? == held {
                return Ok(upload.clone());
            }
        }
        Ok(self.signer.clone())
    }

    /// Registers with the server: the device key, and the upload key with its chain when given.
    async fn registration(
        &self,
        e: Enrolment,
        upload: Option<(Arc<Signer>, Vec<Vec<u8>>)>,
    ) -> Result<DeviceState, SalurError> {
        let (store, signer, client) = (self.store.clone(), self.signer.clone(), self.client.clone());
        let status = self
            .on_runtime(async move {
                let key = upload
                    .as_ref()
                    .map(|(signer, attestation)| salur_core::sync::UploadKey { signer: signer.as_ref(), attestation });
                let r = client
                    .register_with(
                        &store,
                        signer.as_ref(),
                        &e.device_id,
                        &e.worker_id,
                        &e.post_office,
                        &e.enrolment_code,
                        &e.attestation,
                        key,
                    )
                    .await?;
                Ok(r.status)
            })
            .await?;
        DeviceState::parse(&status)
    }

    fn location_fix(&self) -> Option<GeoFix> {
        *self.location.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn registered(&self) -> Result<salur_core::store::Device, SalurError> {
        Ok(self.store.device()?.ok_or_else(|| {
            salur_core::Error::InvalidArgument("register the device before recording receipts".into())
        })?)
    }

    /// Runs a network call on the phone's runtime (reqwest needs tokio; the caller's coroutine
    /// just awaits the join handle).
    async fn on_runtime<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = Result<T, salur_core::Error>> + Send + 'static,
    ) -> Result<T, SalurError> {
        self.runtime.spawn(f).await.map_err(|e| SalurError::internal(format!("task: {e}")))?.map_err(Into::into)
    }
}

#[uniffi::export]
impl Phone {
    /// Opens (creating and migrating) the store at `db_path`, with the device key and data key
    /// from the platform keystore and the server to sync with.
    #[uniffi::constructor]
    pub fn open(
        db_path: String,
        signer: Arc<dyn DeviceSigner>,
        keys: Arc<dyn DataKeyProvider>,
        server: ServerConfig,
    ) -> Result<Arc<Self>, SalurError> {
        Self::opened(db_path, signer, None, keys, server)
    }

    /// [`Self::open`] with a second key, `upload_signer`: registered beside the device key
    /// (`register_with_upload_key`), it signs uploads while the phone is locked, and the server
    /// accepts it for nothing else (receipts stay signed by the unlock-bound device key).
    #[uniffi::constructor]
    pub fn open_with_upload_key(
        db_path: String,
        signer: Arc<dyn DeviceSigner>,
        upload_signer: Arc<dyn DeviceSigner>,
        keys: Arc<dyn DataKeyProvider>,
        server: ServerConfig,
    ) -> Result<Arc<Self>, SalurError> {
        Self::opened(db_path, signer, Some(upload_signer), keys, server)
    }

    /// The device public key (SPKI DER) to show or send for registration.
    pub fn public_key_spki(&self) -> Result<Vec<u8>, SalurError> {
        Ok(salur_core::keys::Signer::public_key_spki(self.signer.as_ref())?)
    }

    /// The nonce to make the device key with (its attestation challenge) for the enrolment code
    /// the supervisor gave; `ENROLMENT_REFUSED` when the code is unknown, used or expired.
    pub async fn registration_challenge(&self, enrolment_code: String) -> Result<Vec<u8>, SalurError> {
        let client = self.client.clone();
        self.on_runtime(async move { client.enrolment_challenge(&enrolment_code).await }).await
    }

    /// Registers the device with the server (idempotent) with the supervisor's enrolment code and
    /// the Keystore attestation chain (DER certificates, leaf first, made with the nonce from
    /// `registration_challenge`; empty when there is none); returns the device's state:
    /// `APPROVED` at once for a key in secure hardware, else `PENDING`.
    pub async fn register(
        &self,
        device_id: String,
        worker_id: String,
        post_office: String,
        enrolment_code: String,
        attestation: Vec<Vec<u8>>,
    ) -> Result<DeviceState, SalurError> {
        self.registration(Enrolment { device_id, worker_id, post_office, enrolment_code, attestation }, None).await
    }

    /// [`Self::register`] naming the upload key too (the phone was opened with
    /// `open_with_upload_key`), with its attestation chain made with the same nonce; once the
    /// server holds it, `sync` signs with it. Returns the device's state.
    pub async fn register_with_upload_key(
        &self,
        device_id: String,
        worker_id: String,
        post_office: String,
        enrolment_code: String,
        attestation: Vec<Vec<u8>>,
        upload_attestation: Vec<Vec<u8>>,
    ) -> Result<DeviceState, SalurError> {
        let upload = self.upload_signer.clone().ok_or_else(|| {
            salur_core::Error::InvalidArgument("this phone was opened without an upload key: use register".into())
        })?;
        let enrolment = Enrolment { device_id, worker_id, post_office, enrolment_code, attestation };
        self.registration(enrolment, Some((upload, upload_attestation))).await
    }

    /// Whether uploads are signed with the upload key (the server accepted it at registration).
    pub fn uploads_without_unlock(&self) -> Result<bool, SalurError> {
        Ok(!Arc::ptr_eq(&self.request_signer()?, &self.signer))
    }

    /// Measures and stores the server clock offset (ms).
    pub async fn check_time(&self) -> Result<i64, SalurError> {
        let (store, client) = (self.store.clone(), self.client.clone());
        self.on_runtime(async move { client.check_time(&store).await }).await
    }

    /// Downloads the worker's roster for `roster_id`, replacing the phone's copy.
    pub async fn refresh_roster(&self, roster_id: String) -> Result<RosterChange, SalurError> {
        let (store, signer, client) = (self.store.clone(), self.signer.clone(), self.client.clone());
        let c =
            self.on_runtime(async move { client.refresh_roster(&store, signer.as_ref(), &roster_id).await }).await?;
        Ok(RosterChange { added: c.added, removed: c.removed, updated: c.updated })
    }

    /// The rosters on which the server assigns recipients to this phone's worker (to pick one for
    /// `refresh_roster`).
    pub async fn assigned_rosters(&self) -> Result<Vec<AssignedRoster>, SalurError> {
        let (store, signer, client) = (self.store.clone(), self.signer.clone(), self.client.clone());
        let rosters = self.on_runtime(async move { client.assigned_rosters(&store, signer.as_ref()).await }).await?;
        Ok(rosters
            .into_iter()
            .map(|r| AssignedRoster { roster_id: r.roster_id, recipients: r.recipients, amount_total: r.amount_total })
            .collect())
    }

    /// Uploads every waiting receipt (and evidence crop); safe to cancel and to call again.
    /// Signed with the upload key once the server holds it, so it runs while the phone is locked.
    pub async fn sync(&self, observer: Option<Arc<dyn SyncObserver>>) -> Result<SyncCounts, SalurError> {
        let (store, signer, client) = (self.store.clone(), self.request_signer()?, self.client.clone());
        let device_key = self.signer.clone();
        let report = self
            .on_runtime(async move {
                let observer = Observer(observer);
                match client.sync(&store, signer.as_ref(), &observer).await {
                    // The server no longer takes the upload key (the device was revoked, or the
                    // server lost the key): the device key hands in instead, once the worker has
                    // unlocked; locked, its refusal is the error the worker sees.
                    Err(salur_core::Error::Server { status: 401 | 403, .. }) if !Arc::ptr_eq(&signer, &device_key) => {
                        client.sync(&store, device_key.as_ref(), &observer).await
                    }
                    other => other,
                }
            })
            .await?;
        Ok(counts(report.progress))
    }

    /// The sync status screen.
    pub fn sync_status(&self) -> Result<SyncStatus, SalurError> {
        let s = self.store.sync_status()?;
        Ok(SyncStatus {
            pending: s.pending,
            acknowledged: s.acknowledged,
            rejected: s.rejected,
            oldest_pending_ms: s.oldest_pending_ms,
            last_success_ms: s.last_success_ms,
            last_error: s.last_error,
            last_error_kind: s.last_error_kind.as_deref().and_then(salur_core::ErrorKind::from_name),
            evidence_refused: s.evidence_refused,
        })
    }

    /// Today's roster: `query` matches names (any case) or the start of a NIK; `status` filters.
    pub fn roster(
        &self,
        roster_id: String,
        query: String,
        status: Option<RecipientStatus>,
    ) -> Result<Vec<RecipientItem>, SalurError> {
        // The same standing as the server's dashboard (one rule, in salur-core).
        let mut standing: HashMap<Vec<u8>, Standing> = HashMap::new();
        for (recipient, outcome) in self.store.outcomes(&roster_id)? {
            let e = standing.entry(recipient).or_default();
            *e = (*e).max(Standing::of_name(&outcome));
        }
        let q = query.trim().to_lowercase();
        Ok(self
            .store
            .recipients(&roster_id)?
            .into_iter()
            .map(|r| {
                let s = standing.get(&r.recipient).copied().unwrap_or_default();
                RecipientItem::new(r, s)
            })
            .filter(|r| q.is_empty() || r.name.to_lowercase().contains(&q) || r.nik.starts_with(&q))
            .filter(|r| status.is_none_or(|s| s == r.status))
            .collect())
    }

    /// The recipient's reference template (the registry's, else the one enrolled here), if any.
    pub fn recipient_template(&self, roster_id: String, recipient_ref: String) -> Result<Option<Vec<u8>>, SalurError> {
        let r = self.store.recipient(&roster_id, &self::recipient_ref(&recipient_ref)?)?;
        Ok(r.template.or(r.enrolled))
    }

    /// Starts the live visit for a recipient: the core picks their reference (registry template,
    /// else the one enrolled here) and binds the visit to them; its check can pay this recipient
    /// only. `NotFound` when the phone has no reference yet (e-KTP or first-visit enrolment).
    pub fn start_visit(
        &self,
        engine: Arc<crate::FaceEngine>,
        roster_id: String,
        recipient_ref: String,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        self.bound_visit(engine, &roster_id, &recipient_ref, |r, _| {
            let (template, method) = doorstep::reference(r)?.ok_or_else(|| {
                salur_core::Error::NotFound(
                    "no reference face on the phone: photograph the e-KTP or enrol at this visit".into(),
                )
            })?;
            Ok(doorstep::Against::Reference { template, method })
        })
    }

    /// Starts the live visit on the e-KTP path: the card's photo (`card_image`, JPEG or PNG) is the
    /// reference, the person then does the live check; bound to the recipient.
    pub fn start_ektp_visit(
        &self,
        engine: Arc<crate::FaceEngine>,
        roster_id: String,
        recipient_ref: String,
        card_image: Vec<u8>,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        self.bound_visit(engine, &roster_id, &recipient_ref, |r, engine| {
            no_reference_yet(r)?;
            Ok(doorstep::Against::Card(engine.card_face(&card_image)?))
        })
    }

    /// Starts a first-visit enrolment for a recipient with no reference yet: the live challenge,
    /// then the person's face becomes their reference (`saveEnrolment`).
    pub fn start_enrolment(
        &self,
        engine: Arc<crate::FaceEngine>,
        roster_id: String,
        recipient_ref: String,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        self.bound_visit(engine, &roster_id, &recipient_ref, |r, _| {
            no_reference_yet(r)?;
            Ok(doorstep::Against::Enrol)
        })
    }

    /// Keeps the template a finished enrolment visit for this recipient (with its passed live
    /// check) made, for the next visits; it survives roster refreshes.
    pub fn save_enrolment(
        &self,
        roster_id: String,
        recipient_ref: String,
        visit: Arc<crate::LiveSession>,
    ) -> Result<(), SalurError> {
        let recipient = self::recipient_ref(&recipient_ref)?;
        // The store refuses when the recipient already has a reference: a face at the door never
        // replaces one. The session keeps its template until it is saved.
        let saved = visit.save_enrolled(&roster_id, &recipient, |t| self.store.set_enrolled(&roster_id, &recipient, t));
        let saved = saved.ok_or_else(|| {
            salur_core::Error::InvalidArgument(
                "the enrolment visit was not made for this recipient, has not passed its live check, or was saved \
                 already: start again"
                    .into(),
            )
        })?;
        Ok(saved?)
    }

    /// The phone's position for the receipts recorded from now on (each attaches it while it is at
    /// most ten minutes old by `mono_ms`); `None` forgets it. Refused when off the globe or less
    /// accurate than 100 km.
    pub fn set_location(&self, fix: Option<GeoFix>) -> Result<(), SalurError> {
        if let Some(f) = &fix {
            f.check()?;
        }
        *self.location.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = fix;
        Ok(())
    }

    /// The receipts this phone recorded for a recipient, oldest first ("view receipt").
    pub fn receipts_for(&self, roster_id: String, recipient_ref: String) -> Result<Vec<ReceiptInfo>, SalurError> {
        let recipient = self::recipient_ref(&recipient_ref)?;
        Ok(self
            .store
            .receipts_for(&roster_id, &recipient)?
            .into_iter()
            .map(|r| ReceiptInfo::new(r.id, r.seq, r.cose))
            .collect())
    }

    /// The 8-digit challenge the worker reads to the supervisor for an override of this recipient
    /// for `code`; the supervisor's tool answers with the approval code (`OverrideApproval`).
    pub fn override_challenge(
        &self,
        roster_id: String,
        recipient_ref: String,
        code: OverrideReason,
    ) -> Result<String, SalurError> {
        let device = self.registered()?;
        let r = self.store.recipient(&roster_id, &self::recipient_ref(&recipient_ref)?)?;
        Ok(salur_core::approval::challenge(&device.device_id, &roster_id, &r.recipient, code.into()))
    }

    /// Records a payment on an accepted face check (refused if the check did not accept, or if the
    /// recipient did not confirm `received_in_full`). `mono_ms` is the phone's monotonic clock
    /// (`SystemClock.elapsedRealtime()`).
    pub fn record_paid(
        &self,
        roster_id: String,
        recipient_ref: String,
        check: Arc<FaceCheck>,
        mono_ms: u64,
        received_in_full: bool,
    ) -> Result<ReceiptInfo, SalurError> {
        check_received_in_full(received_in_full)?;
        let r = self.store.recipient(&roster_id, &self::recipient_ref(&recipient_ref)?)?;
        doorstep::may_pay(&check.inner, &r, self.store.standing(&roster_id, &r.recipient)?)?;
        if check.spent.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(salur_core::Error::InvalidArgument(
                "this face check already paid: a new payment needs a new live visit".into(),
            )
            .into());
        }
        let times = self.times(mono_ms);
        let recorded = times.and_then(|t| self.record(doorstep::paid_draft(&r, check.inner.clone(), t), mono_ms));
        if recorded.is_err() {
            // Nothing was recorded (disk full, unknown recipient): the check may still pay once.
            check.spent.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        recorded
    }

    /// Records a payment a supervisor vouched for with their approval code (the server checks the
    /// code and flags the override for audit), with the last face check if any. Refused: a code
    /// that is not 8 digits, the worker as their own supervisor, no `received_in_full`.
    pub fn record_override(
        &self,
        roster_id: String,
        recipient_ref: String,
        approval: OverrideApproval,
        last_check: Option<Arc<FaceCheck>>,
        mono_ms: u64,
        received_in_full: bool,
    ) -> Result<ReceiptInfo, SalurError> {
        check_received_in_full(received_in_full)?;
        approval.check(&self.registered()?.worker_id)?;
        let OverrideApproval { supervisor_id, reason, code, approval_code } = approval;
        let recipient = self::recipient_ref(&recipient_ref)?;
        doorstep::not_paid_yet(self.store.standing(&roster_id, &recipient)?)?;
        // Only a check made for this recipient is kept as the override's evidence.
        let last = last_check
            .as_ref()
            .map(|c| &c.inner)
            .filter(|c| c.made_for.as_ref() == Some(&(roster_id.clone(), recipient.clone())));
        let evidence =
            doorstep::override_evidence(supervisor_id.trim(), reason.trim(), code.into(), Some(&approval_code), last);
        let crop = last.map(|c| c.crop_jpeg.clone());
        self.record(
            self.draft(&roster_id, &recipient_ref, Outcome::Paid, Some(evidence), crop, mono_ms, Some(true))?,
            mono_ms,
        )
    }

    /// Records a recipient found ineligible (the aid goes back for reallocation).
    pub fn record_ineligible(
        &self,
        roster_id: String,
        recipient_ref: String,
        reason: IneligibleKind,
        note: Option<String>,
        mono_ms: u64,
    ) -> Result<ReceiptInfo, SalurError> {
        let reason = match reason {
            IneligibleKind::Deceased => IneligibleReason::Deceased,
            IneligibleKind::Moved => IneligibleReason::Moved,
            IneligibleKind::NotFound => IneligibleReason::NotFound,
            IneligibleKind::NotMeetingCriteria => IneligibleReason::NotMeetingCriteria,
            IneligibleKind::Other => IneligibleReason::Other,
        };
        let draft =
            self.draft(&roster_id, &recipient_ref, Outcome::Ineligible { reason, note }, None, None, mono_ms, None)?;
        self.record(draft, mono_ms)
    }

    /// Records that nobody was home.
    pub fn record_not_home(
        &self,
        roster_id: String,
        recipient_ref: String,
        mono_ms: u64,
    ) -> Result<ReceiptInfo, SalurError> {
        self.record(self.draft(&roster_id, &recipient_ref, Outcome::NotHome, None, None, mono_ms, None)?, mono_ms)
    }

    /// Records that the recipient refused the aid.
    pub fn record_refused(
        &self,
        roster_id: String,
        recipient_ref: String,
        mono_ms: u64,
    ) -> Result<ReceiptInfo, SalurError> {
        self.record(self.draft(&roster_id, &recipient_ref, Outcome::Refused, None, None, mono_ms, None)?, mono_ms)
    }

    /// Whether the device's whole receipt chain verifies.
    pub fn verify_chain(&self) -> Result<bool, SalurError> {
        Ok(self.store.verify_chain()?.is_valid())
    }
}

/// The e-KTP photo and first-visit enrolment stand in for a missing reference only: with a
/// registry or enrolled template on the phone, a card or a new face would let any face pay.
fn no_reference_yet(r: &salur_core::store::Recipient) -> Result<(), SalurError> {
    if doorstep::reference(r)?.is_some() {
        return Err(salur_core::Error::InvalidArgument(
            "this recipient has a reference face: verify against it (the e-KTP or a new enrolment cannot replace it)"
                .into(),
        )
        .into());
    }
    Ok(())
}
