//! The phone's durable store (SQLite): roster, append-only signed receipts, upload outbox and
//! evidence crops. NIKs, templates and crops are sealed with AES-256-GCM under the data key.
//!
//! One writer connection behind a mutex; every disbursement is one `IMMEDIATE` transaction that
//! reads the chain head, signs and inserts. If the commit fails (disk full, I/O error) the caller
//! gets an error and nothing was recorded.

mod household;
mod letters;
mod reference_parts;
mod schema;
mod sync_state;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::crypto::{self, DataKey};
use crate::error::{Error, Result};
use crate::keys::{KeyProvider, Signer};
use crate::receipt::{self, ChainReport, Evidence, Location, Outcome, Receipt, SignedReceipt, Times};

pub use reference_parts::ReferenceParts;
pub use schema::migrations;
pub use sync_state::{RosterChange, SyncGuard, SyncStatus};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a committed receipt survives power loss (the default for receipts).
    Full,
    /// `synchronous=NORMAL`: survives an app crash, may lose the last commits on power loss.
    Normal,
}

/// This device as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Device id from registration.
    pub device_id: String,
    /// The worker using it.
    pub worker_id: String,
    /// SPKI DER of the signing key.
    #[serde(with = "hex_bytes")]
    pub public_key: Vec<u8>,
}

/// A recipient on the device's roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// Roster (programme and period).
    pub roster_id: String,
    /// Keyed hash of the NIK (see [`receipt::recipient_ref`]).
    pub recipient: Vec<u8>,
    /// The NIK (sealed at rest).
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Whole rupiah due.
    pub amount: u64,
    /// Encoded face template (sealed at rest), if the registry has one.
    pub template: Option<Vec<u8>>,
    /// Encoded face template enrolled on this phone at the first visit (sealed at rest); kept
    /// across roster refreshes.
    pub enrolled: Option<Vec<u8>>,
    /// The members of the recipient's KK who may collect with a power of attorney.
    pub household: Vec<KkMember>,
}

/// A member of a recipient's Kartu Keluarga who may collect for them with a surat kuasa.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KkMember {
    /// Keyed hash of the member's NIK (what a proxy receipt names).
    pub member: Vec<u8>,
    /// The member's NIK (sealed at rest): typed from the e-KTP shown, compared here.
    pub nik: String,
    /// Name, to compare with the e-KTP.
    pub name: String,
}

/// What the caller decides; the store adds id, sequence, chain link and key id, then signs.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Roster.
    pub roster_id: String,
    /// Keyed hash of the recipient's NIK.
    pub recipient: Vec<u8>,
    /// Whole rupiah.
    pub amount: u64,
    /// What happened.
    pub outcome: Outcome,
    /// How the recipient was identified.
    pub evidence: Option<Evidence>,
    /// The aligned face crop as JPEG; its SHA-256 goes into the evidence, the bytes are sealed.
    pub evidence_jpeg: Option<Vec<u8>>,
    /// Clocks.
    pub time: Times,
    /// Position.
    pub location: Option<Location>,
    /// The recipient confirmed receiving the whole amount (payments made at the door).
    pub received_in_full: Option<bool>,
    /// The photo of the surat kuasa behind a proxy payment (its hash is in the evidence's method).
    pub kuasa_jpeg: Option<Vec<u8>>,
    /// The photo of the proxy's e-KTP behind a proxy payment (its hash is in the evidence's method).
    pub card_jpeg: Option<Vec<u8>>,
    /// The card photo's aligned face crop on the e-KTP and proxy paths (hash signed, uploaded).
    pub card_face_jpeg: Option<Vec<u8>>,
    /// The enrolled template a payment on it was compared with (hash signed, uploaded).
    pub enrolled_template: Option<Vec<u8>>,
}

/// Upload state of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not yet sent.
    Pending,
    /// Sent, answer not yet recorded.
    Sent,
    /// The server accepted it (or already had it).
    Acknowledged,
    /// The server refused it; kept with the reason.
    Rejected,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::Rejected => "rejected",
        }
    }

    /// The states a receipt may move to this state from: the outbox's state machine.
    /// `Sent` again (a resend after a lost answer) is allowed; an acknowledged receipt only goes
    /// back to `Pending` when the server no longer holds it.
    fn allowed_from(self) -> &'static [&'static str] {
        match self {
            Self::Sent => &["pending", "sent"],
            Self::Acknowledged | Self::Rejected => &["sent"],
            Self::Pending => &["sent", "acknowledged"],
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "acknowledged" => Self::Acknowledged,
            "rejected" => Self::Rejected,
            other => return Err(Error::Storage(format!("unknown outbox state {other}"))),
        })
    }
}

/// A receipt as stored, with its upload state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// Sequence number.
    pub seq: u64,
    /// Receipt id.
    pub id: String,
    /// Signed bytes (COSE_Sign1).
    pub cose: Vec<u8>,
    /// Upload state.
    pub state: OutboxState,
    /// Why the server refused it.
    pub reason: Option<String>,
}

/// Receipts by upload state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u64,
    /// Sent, no answer yet.
    pub sent: u64,
    /// Accepted by the server.
    pub acknowledged: u64,
    /// Refused by the server.
    pub rejected: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn open_connection(path: &Path, durability: Durability, vfs: Option<&str>) -> Result<Connection> {
    let mut conn = match vfs {
        None => Connection::open(path)?,
        Some(vfs) => Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs)?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrations().to_latest(&mut conn).map_err(|e| Error::Storage(format!("migrating {}: {e}", path.display())))?;
    Ok(conn)
}

/// The encrypted, durable store of one device.
pub struct Store {
    conn: Mutex<Connection>,
    key: DataKey,
    syncing: std::sync::atomic::AtomicBool,
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `path` with `synchronous=FULL`.
    pub fn open(path: &Path, keys: &dyn KeyProvider) -> Result<Self> {
        Self::open_with(path, keys, Durability::Full)
    }

    /// Opens with a chosen durability.
    pub fn open_with(path: &Path, keys: &dyn KeyProvider, durability: Durability) -> Result<Self> {
        Self::open_on(path, keys, durability, None)
    }

    /// Opens through the SQLite VFS registered as `vfs_name` (for crash tests).
    pub fn open_with_vfs(path: &Path, keys: &dyn KeyProvider, durability: Durability, vfs_name: &str) -> Result<Self> {
        Self::open_on(path, keys, durability, Some(vfs_name))
    }

    fn open_on(path: &Path, keys: &dyn KeyProvider, durability: Durability, vfs: Option<&str>) -> Result<Self> {
        Ok(Self {
            conn: Mutex::new(open_connection(path, durability, vfs)?),
            key: keys.data_key()?,
            syncing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction rolls
        // back), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the connection (for tests and tools that need raw SQL).
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.conn())
    }

    /// The registered device, if any.
    pub fn device(&self) -> Result<Option<Device>> {
        device(&self.conn())
    }

    /// Records this device's identity and key; calling again with the same values is a no-op.
    pub fn set_device(&self, device_id: &str, worker_id: &str, signer: &dyn Signer) -> Result<Device> {
        let wanted =
            Device { device_id: device_id.into(), worker_id: worker_id.into(), public_key: signer.public_key_spki()? };
        let conn = self.conn();
        match device(&conn)? {
            Some(d) if d == wanted => Ok(d),
            Some(_) => Err(Error::InvalidArgument(
                "this store belongs to another device, worker or key: open a new store".into(),
            )),
            None => {
                conn.execute(
                    "INSERT INTO device (id, device_id, worker_id, public_key) VALUES (1, ?1, ?2, ?3)",
                    params![wanted.device_id, wanted.worker_id, wanted.public_key],
                )?;
                Ok(wanted)
            }
        }
    }

    /// The upload key's SPKI, once the server accepted it at registration.
    pub fn upload_key(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row("SELECT upload_key FROM device WHERE id = 1", [], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()?
            .flatten())
    }

    /// Records that the server accepted `spki` as this device's upload key.
    pub fn set_upload_key(&self, spki: &[u8]) -> Result<()> {
        let changed = self.conn().execute("UPDATE device SET upload_key = ?1 WHERE id = 1", params![spki])?;
        if changed != 1 {
            return Err(Error::InvalidArgument("register the device before its upload key".into()));
        }
        Ok(())
    }

    fn aad(roster_id: &str, recipient: &[u8], column: &str) -> Vec<u8> {
        format!("roster/{roster_id}/{}/{column}", hex::encode(recipient)).into_bytes()
    }

    /// Adds or replaces recipients (one transaction).
    pub fn put_recipients(&self, recipients: &[Recipient]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        self.insert_recipients(&tx, recipients)?;
        tx.commit()?;
        Ok(())
    }

    fn insert_recipients(&self, tx: &rusqlite::Transaction<'_>, recipients: &[Recipient]) -> Result<()> {
        let mut stmt = tx.prepare(
            "INSERT INTO roster (roster_id, recipient, nik_enc, name, address, amount, template_enc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (roster_id, recipient) DO UPDATE SET nik_enc = excluded.nik_enc, name = excluded.name,
                address = excluded.address, amount = excluded.amount, template_enc = excluded.template_enc",
        )?;
        for r in recipients {
            let nik = self.key.seal(r.nik.as_bytes(), &Self::aad(&r.roster_id, &r.recipient, "nik"))?;
            let template = match &r.template {
                Some(t) => Some(self.key.seal(t, &Self::aad(&r.roster_id, &r.recipient, "template"))?),
                None => None,
            };
            stmt.execute(params![r.roster_id, r.recipient, nik, r.name, r.address, r.amount as i64, template])?;
            self.replace_household(tx, r)?;
        }
        Ok(())
    }

    /// Every recipient of a roster, decrypted, by name.
    pub fn recipients(&self, roster_id: &str) -> Result<Vec<Recipient>> {
        let refs: Vec<Vec<u8>> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT recipient FROM roster WHERE roster_id = ?1 ORDER BY name")?;
            let rows = stmt.query_map([roster_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            rows
        };
        refs.iter().map(|r| self.recipient(roster_id, r)).collect()
    }

    /// What happened to each visited recipient of a roster (every recorded outcome, oldest first).
    pub fn outcomes(&self, roster_id: &str) -> Result<Vec<(Vec<u8>, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT recipient, outcome FROM receipts WHERE roster_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([roster_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The receipts recorded on this phone for one recipient, oldest first (what "view receipt" shows).
    pub fn receipts_for(&self, roster_id: &str, recipient: &[u8]) -> Result<Vec<StoredReceipt>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT r.seq, r.id, CAST(r.cose AS BLOB), o.state, o.reason FROM receipts r JOIN outbox o ON o.seq = r.seq
             WHERE r.roster_id = ?1 AND r.recipient = ?2 ORDER BY r.seq",
        )?;
        let rows = stmt.query_map(params![roster_id, recipient], stored_row)?;
        rows.map(|row| row?).collect()
    }

    /// The random challenge the recipient's latest live check on this phone signed, if any
    /// (so that the next visit draws another: the server flags a repeat).
    pub fn last_challenge(&self, roster_id: &str, recipient: &[u8]) -> Result<Option<u8>> {
        let Some(device) = self.device()? else { return Ok(None) };
        for stored in self.receipts_for(roster_id, recipient)?.iter().rev() {
            let signed = receipt::verify(&stored.cose, &device.public_key)?;
            if let Some(n) = signed.receipt.evidence.and_then(|e| e.live).and_then(|l| l.challenge) {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// Where one recipient stands after the visits recorded on this phone.
    pub fn standing(&self, roster_id: &str, recipient: &[u8]) -> Result<receipt::Standing> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT outcome FROM receipts WHERE roster_id = ?1 AND recipient = ?2")?;
        let outcomes: Vec<String> =
            stmt.query_map(params![roster_id, recipient], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(outcomes.iter().map(|o| receipt::Standing::of_name(o)).max().unwrap_or_default())
    }

    /// Keeps the template enrolled at a recipient's first visit. Refused when the recipient already
    /// has a reference (the registry's, or an earlier enrolment): a face at the door never
    /// replaces one.
    pub fn set_enrolled(&self, roster_id: &str, recipient: &[u8], template: &[u8]) -> Result<()> {
        let sealed = self.key.seal(template, &Self::aad(roster_id, recipient, "enrolled"))?;
        let n = self.conn().execute(
            "UPDATE roster SET enrolled_enc = ?3
             WHERE roster_id = ?1 AND recipient = ?2 AND template_enc IS NULL AND enrolled_enc IS NULL",
            params![roster_id, recipient, sealed],
        )?;
        if n == 0 {
            self.recipient(roster_id, recipient)?;
            return Err(Error::InvalidArgument(
                "this recipient already has a reference face: verify against it, or use a supervisor override".into(),
            ));
        }
        Ok(())
    }

    /// One recipient, decrypted.
    pub fn recipient(&self, roster_id: &str, recipient: &[u8]) -> Result<Recipient> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT nik_enc, name, address, amount, template_enc, enrolled_enc FROM roster
                 WHERE roster_id = ?1 AND recipient = ?2",
                params![roster_id, recipient],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<Vec<u8>>>(4)?,
                        r.get::<_, Option<Vec<u8>>>(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| Error::NotFound("no such recipient on this roster".into()))?;
        let (nik, name, address, amount, template, enrolled) = row;
        let nik = self.key.open(&nik, &Self::aad(roster_id, recipient, "nik"))?;
        let template = template.map(|t| self.key.open(&t, &Self::aad(roster_id, recipient, "template"))).transpose()?;
        let enrolled = enrolled.map(|t| self.key.open(&t, &Self::aad(roster_id, recipient, "enrolled"))).transpose()?;
        Ok(Recipient {
            roster_id: roster_id.into(),
            recipient: recipient.to_vec(),
            nik: String::from_utf8(nik).map_err(|_| Error::Crypto("NIK is not text".into()))?,
            name,
            address,
            amount: amount as u64,
            template,
            enrolled,
            household: self.household(&conn, roster_id, recipient)?,
        })
    }

    /// Signs and durably records one disbursement event; returns it only once committed.
    /// [`Error::NotRecorded`] means the database refused the write and nothing was kept.
    pub fn record(&self, signer: &dyn Signer, draft: Draft) -> Result<SignedReceipt> {
        self.record_in_transaction(signer, draft).map_err(|e| match e {
            Error::Storage(m) => Error::NotRecorded(m),
            other => other,
        })
    }

    fn record_in_transaction(&self, signer: &dyn Signer, draft: Draft) -> Result<SignedReceipt> {
        let mut conn = self.conn();
        let device = device(&conn)?
            .ok_or_else(|| Error::InvalidArgument("register the device before recording receipts".into()))?;
        let spki = signer.public_key_spki()?;
        if spki != device.public_key {
            return Err(Error::InvalidArgument("the signer's key is not this device's registered key".into()));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Checked again inside the write lock: two taps (or two threads) that both passed the
        // caller's check cannot both pay.
        if draft.outcome == receipt::Outcome::Paid {
            let paid: i64 = tx.query_row(
                "SELECT COUNT(*) FROM receipts WHERE roster_id = ?1 AND recipient = ?2 AND outcome = ?3",
                params![draft.roster_id, draft.recipient, receipt::Standing::Paid.outcome_name()],
                |r| r.get(0),
            )?;
            if paid > 0 {
                crate::doorstep::not_paid_yet(receipt::Standing::Paid)?;
            }
        }
        let (seq, prev) = tx
            .query_row("SELECT seq, hash FROM receipts ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?
            .unwrap_or((0, receipt::GENESIS.to_vec()));
        // The letter scanned at this door, if one was: the receipt names it (and uses the scan up).
        let letter_id: Option<String> = tx
            .query_row(
                "SELECT letter_id FROM scanned_letter WHERE roster_id = ?1 AND recipient = ?2",
                params![draft.roster_id, draft.recipient],
                |r| r.get(0),
            )
            .optional()?;
        let mut evidence = draft.evidence;
        if let (Some(e), Some(jpeg)) = (evidence.as_mut(), &draft.evidence_jpeg) {
            e.face_sha256 = Some(crypto::sha256(jpeg).to_vec());
        }
        household::check_proxy_photos(evidence.as_ref(), draft.kuasa_jpeg.as_deref(), draft.card_jpeg.as_deref())?;
        let parts = ReferenceParts { card_face: draft.card_face_jpeg, enrolled: draft.enrolled_template };
        reference_parts::sign_into(evidence.as_mut(), &parts)?;
        let r = Receipt {
            v: receipt::FORMAT_VERSION,
            id: uuid::Uuid::now_v7().to_string(),
            device_id: device.device_id.clone(),
            key_id: crypto::key_id(&spki),
            worker_id: device.worker_id.clone(),
            seq: seq + 1,
            prev,
            roster_id: draft.roster_id,
            recipient: draft.recipient,
            amount: draft.amount,
            outcome: draft.outcome,
            evidence,
            time: draft.time,
            location: draft.location,
            received_in_full: draft.received_in_full,
            letter_id,
        };
        let signed = receipt::sign(&r, signer)?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO receipts (seq, id, cose, hash, roster_id, recipient, outcome, amount, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                r.seq as i64,
                r.id,
                signed.bytes,
                signed.hash().to_vec(),
                r.roster_id,
                r.recipient,
                outcome_name(&r.outcome),
                r.amount as i64,
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO outbox (seq, state, updated_ms) VALUES (?1, 'pending', ?2)",
            params![r.seq as i64, now],
        )?;
        // The scan belongs to this visit: a later visit (opened from the list) names no letter.
        if r.letter_id.is_some() {
            tx.execute(
                "DELETE FROM scanned_letter WHERE roster_id = ?1 AND recipient = ?2",
                params![r.roster_id, r.recipient],
            )?;
        }
        if let Some(jpeg) = &draft.evidence_jpeg {
            let sealed = self.key.seal(jpeg, format!("evidence/{}", r.id).as_bytes())?;
            tx.execute("INSERT INTO evidence (seq, crop_enc) VALUES (?1, ?2)", params![r.seq as i64, sealed])?;
        }
        self.keep_reference_parts(&tx, r.seq, &r.id, &parts)?;
        if let (Some(jpeg), Some(card)) = (&draft.kuasa_jpeg, &draft.card_jpeg) {
            let sealed = self.key.seal(jpeg, format!("kuasa/{}", r.id).as_bytes())?;
            let card = self.key.seal(card, format!("card/{}", r.id).as_bytes())?;
            tx.execute(
                "INSERT INTO kuasa (seq, photo_enc, card_enc) VALUES (?1, ?2, ?3)",
                params![r.seq as i64, sealed, card],
            )?;
        }
        tx.commit()?;
        Ok(signed)
    }

    /// The decrypted evidence crop of a receipt, if one was kept.
    pub fn evidence(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT r.id, e.crop_enc FROM evidence e JOIN receipts r ON r.seq = e.seq WHERE e.seq = ?1",
                [seq as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?;
        row.map(|(id, sealed)| self.key.open(&sealed, format!("evidence/{id}").as_bytes())).transpose()
    }

    /// Receipts from `after_seq` on, in sequence order.
    pub fn receipts(&self, after_seq: u64, limit: usize) -> Result<Vec<StoredReceipt>> {
        list(&self.conn(), after_seq, limit, None)
    }

    /// Pending receipts, oldest first.
    pub fn pending(&self, limit: usize) -> Result<Vec<StoredReceipt>> {
        list(&self.conn(), 0, limit, Some(OutboxState::Pending))
    }

    /// Moves receipts to `state` (with the server's reason for a rejection), all or none.
    /// A move the outbox does not allow (e.g. pending straight to acknowledged) is refused.
    pub fn set_state(&self, seqs: &[u64], state: OutboxState, reason: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut current = tx.prepare("SELECT state FROM outbox WHERE seq = ?1")?;
            let mut stmt = tx.prepare(
                "UPDATE outbox SET state = ?2, reason = ?3, updated_ms = ?4,
                 attempts = attempts + (CASE WHEN ?2 = 'sent' THEN 1 ELSE 0 END) WHERE seq = ?1",
            )?;
            for &seq in seqs {
                let from: String = current
                    .query_row([seq as i64], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| Error::NotFound(format!("no receipt with sequence {seq}")))?;
                if !state.allowed_from().contains(&from.as_str()) {
                    return Err(Error::InvalidArgument(format!(
                        "receipt {seq} is {from}: it cannot become {}",
                        state.as_str()
                    )));
                }
                stmt.execute(params![seq as i64, state.as_str(), reason, now_ms()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Receipts not yet answered by the server (pending, or sent without an answer), oldest first.
    pub fn unacknowledged(&self, limit: usize) -> Result<Vec<StoredReceipt>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT r.seq, r.id, CAST(r.cose AS BLOB), o.state, o.reason FROM outbox o JOIN receipts r ON r.seq = o.seq
             WHERE o.state IN ('pending', 'sent') ORDER BY o.seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], stored_row)?;
        rows.map(|row| row?).collect()
    }

    /// Counts by upload state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")?;
        let mut counts = OutboxCounts::default();
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))? {
            let (state, n) = row?;
            match OutboxState::parse(&state)? {
                OutboxState::Pending => counts.pending = n,
                OutboxState::Sent => counts.sent = n,
                OutboxState::Acknowledged => counts.acknowledged = n,
                OutboxState::Rejected => counts.rejected = n,
            }
        }
        Ok(counts)
    }

    /// Verifies the whole chain against the registered device key.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        verify_stored_chain(&self.conn(), None)
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Paid => "paid",
        Outcome::Ineligible { .. } => "ineligible",
        Outcome::NotHome => "not_home",
        Outcome::Refused => "refused",
    }
}

fn device(conn: &Connection) -> Result<Option<Device>> {
    Ok(conn
        .query_row("SELECT device_id, worker_id, public_key FROM device WHERE id = 1", [], |r| {
            Ok(Device { device_id: r.get(0)?, worker_id: r.get(1)?, public_key: r.get(2)? })
        })
        .optional()?)
}

type Row = (i64, String, Vec<u8>, String, Option<String>);

fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredReceipt>> {
    let (seq, id, cose, state, reason): Row = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    Ok(OutboxState::parse(&state).map(|state| StoredReceipt { seq: seq as u64, id, cose, state, reason }))
}

fn list(conn: &Connection, after_seq: u64, limit: usize, state: Option<OutboxState>) -> Result<Vec<StoredReceipt>> {
    let mut stmt = conn.prepare(
        "SELECT r.seq, r.id, CAST(r.cose AS BLOB), o.state, o.reason FROM receipts r JOIN outbox o ON o.seq = r.seq
         WHERE r.seq > ?1 AND (?2 IS NULL OR o.state = ?2) ORDER BY r.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![after_seq as i64, state.map(OutboxState::as_str), limit as i64], stored_row)?;
    rows.map(|row| row?).collect()
}

fn verify_stored_chain(conn: &Connection, spki: Option<&[u8]>) -> Result<ChainReport> {
    let key = match spki {
        Some(k) => k.to_vec(),
        None => device(conn)?.ok_or_else(|| Error::NotFound("the store has no registered device".into()))?.public_key,
    };
    let mut stmt = conn.prepare("SELECT CAST(cose AS BLOB) FROM receipts ORDER BY seq")?;
    let all: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(receipt::verify_chain(&key, all.iter().map(Vec::as_slice)))
}

/// Read-only access for an auditor: receipts and the chain, no data key needed.
pub struct AuditLog {
    conn: Connection,
}

impl AuditLog {
    /// Opens a store file read-only.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::NotFound(format!("no store at {}", path.display())));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(Self { conn })
    }

    /// The device recorded in the store.
    pub fn device(&self) -> Result<Option<Device>> {
        device(&self.conn)
    }

    /// All receipts in sequence order.
    pub fn receipts(&self) -> Result<Vec<StoredReceipt>> {
        list(&self.conn, 0, usize::MAX >> 1, None)
    }

    /// Verifies the chain against `spki` (the registered key from the server), or the key
    /// recorded in the store when none is given.
    pub fn verify_chain(&self, spki: Option<&[u8]>) -> Result<ChainReport> {
        verify_stored_chain(&self.conn, spki)
    }
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
}
