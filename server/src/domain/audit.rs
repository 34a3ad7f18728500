//! The audit log's entries and their hash chain: each entry stores the SHA-256 of the previous
//! entry's canonical bytes, so an edited, inserted or deleted entry breaks the chain at the first
//! entry after it (and the head the store keeps catches a deleted last entry).

use serde::Serialize;

/// The `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Domain separation for the canonical bytes (a new layout gets a new tag).
const TAG: &[u8] = b"SALUR-AUDIT-V1";

/// What was done (the names stored in the log; stable, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A password login succeeded.
    LoginOk,
    /// A password login failed (wrong password, unknown or disabled user, throttled).
    LoginFailed,
    /// A browser session ended.
    Logout,
    /// A device was approved.
    DeviceApproved,
    /// A device was revoked.
    DeviceRevoked,
    /// A roster was imported.
    RosterImported,
    /// The reallocation queue was read or exported.
    ReallocationsRead,
    /// A reallocation was decided.
    ReallocationDecided,
    /// The complaints list was read.
    ComplaintsRead,
    /// A period was closed (its report and retur list written).
    PeriodClosed,
    /// A payment's evidence was viewed.
    EvidenceViewed,
    /// The 1:N face sweep ran.
    FaceSweep,
    /// The audit log was read or exported.
    AuditRead,
    /// A device's chain was read by staff.
    ChainRead,
    /// A user was added.
    UserAdded,
    /// A user was disabled.
    UserDisabled,
    /// A user's password was changed.
    PasswordChanged,
    /// A bearer token was created for a user.
    TokenCreated,
    /// A supervisor (override approver) was added.
    SupervisorAdded,
    /// A device's receipts were exported with its key and attestation.
    DeviceExported,
    /// Personal data past its retention was purged.
    DataPurged,
    /// An enrolment code was issued for a worker (the code itself is never logged).
    EnrolmentIssued,
    /// A device registered with an enrolment code (its security level and first state in the detail).
    DeviceEnrolled,
    /// An auditor counted or refused a receipt held from a revoked device.
    HeldReceiptDecided,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::LoginOk => "login_ok",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::DeviceApproved => "device_approved",
            Action::DeviceRevoked => "device_revoked",
            Action::RosterImported => "roster_imported",
            Action::ReallocationsRead => "reallocations_read",
            Action::ReallocationDecided => "reallocation_decided",
            Action::ComplaintsRead => "complaints_read",
            Action::PeriodClosed => "period_closed",
            Action::EvidenceViewed => "evidence_viewed",
            Action::FaceSweep => "face_sweep",
            Action::AuditRead => "audit_read",
            Action::ChainRead => "chain_read",
            Action::UserAdded => "user_added",
            Action::UserDisabled => "user_disabled",
            Action::PasswordChanged => "password_changed",
            Action::TokenCreated => "token_created",
            Action::SupervisorAdded => "supervisor_added",
            Action::DeviceExported => "device_exported",
            Action::DataPurged => "data_purged",
            Action::EnrolmentIssued => "enrolment_issued",
            Action::DeviceEnrolled => "device_enrolled",
            Action::HeldReceiptDecided => "held_receipt_decided",
        }
    }
}

/// Who did it and from where, for an entry (no secrets: names, roles, addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's name, `bootstrap` for the static token, `cli` for commands on the database.
    pub name: String,
    /// The peer address (`ip:port`), or `local` for the command line.
    pub peer: String,
}

/// An entry about to be appended: what the caller knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// Who and from where.
    pub actor: Actor,
    /// What.
    pub action: Action,
    /// What it was done to (a device id, a user name, a roster id), if anything.
    pub target: Option<String>,
    /// A little more (a count, a format, why a login failed): never NIKs, faces, passwords or tokens.
    pub detail: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub struct Entry {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// From where.
    pub peer: String,
    /// What (an [`Action`] name).
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// More.
    pub detail: Option<String>,
    /// SHA-256 of the previous entry's canonical bytes ([`GENESIS`] for the first), hex in JSON.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub prev: Vec<u8>,
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

impl Entry {
    /// The entry's canonical bytes: every field length-prefixed, so no two entries share them.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let mut field = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u64).to_be_bytes());
            out.extend_from_slice(b);
        };
        field(TAG);
        field(&self.seq.to_be_bytes());
        field(&self.at_ms.to_be_bytes());
        field(self.actor.as_bytes());
        field(self.peer.as_bytes());
        field(self.action.as_bytes());
        // Absent and empty differ: a one-byte marker before optional fields.
        for opt in [&self.target, &self.detail] {
            match opt {
                None => field(b"\0"),
                Some(v) => field(&[b"\x01", v.as_bytes()].concat()),
            }
        }
        field(&self.prev);
        out
    }

    /// SHA-256 of the canonical bytes: what the next entry stores as `prev`.
    pub fn hash(&self) -> [u8; 32] {
        salur_core::crypto::sha256(&self.canonical())
    }
}

/// The next entry after one whose hash is `prev_hash` at position `seq - 1`.
pub fn next(new: NewEntry, seq: i64, at_ms: i64, prev_hash: [u8; 32]) -> Entry {
    Entry {
        seq,
        at_ms,
        actor: new.actor.name,
        peer: new.actor.peer,
        action: new.action.as_str().to_string(),
        target: new.target,
        detail: new.detail,
        prev: prev_hash.to_vec(),
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = AuditBreak)]
pub struct Break {
    /// The first entry that does not follow from the one before (or the expected position of a
    /// missing last entry).
    pub seq: i64,
    /// What is wrong, for a person.
    pub reason: String,
}

/// What a check of the whole log found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = AuditChainReport)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: u64,
    /// SHA-256 of the last entry (hex): write it down elsewhere to catch a rewrite of the whole log.
    pub head: String,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

/// Checks `entries` (in `seq` order) against each other and against the head the store kept
/// (`head`: the last entry's position and hash).
pub fn verify(entries: &[Entry], head: Option<(i64, [u8; 32])>) -> ChainReport {
    let mut prev = GENESIS;
    let mut first_break = None;
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let reason = if e.seq != expected_seq {
            Some(format!("expected entry {expected_seq} here, found {} (entries missing before it)", e.seq))
        } else if e.prev != prev {
            Some("its prev hash does not match the entry before it (that one was edited, or removed)".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            first_break = Some(Break { seq: e.seq, reason });
            break;
        }
        prev = e.hash();
    }
    let last_seq = entries.last().map_or(0, |e| e.seq);
    if first_break.is_none() {
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
        if head_seq != last_seq || head_hash != prev {
            first_break = Some(Break {
                seq: last_seq.max(1),
                reason: format!(
                    "the log ends at entry {last_seq} but its head records entry {head_seq} with another hash (the \
                     last entries were edited or removed)"
                ),
            });
        }
    }
    ChainReport { entries: entries.len() as u64, head: hex::encode(prev), first_break }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Vec<Entry>, Option<(i64, [u8; 32])>) {
        let mut prev = GENESIS;
        let mut out = Vec::new();
        for seq in 1..=n {
            let new = NewEntry {
                actor: Actor { name: "ana".into(), peer: "10.0.0.1:5000".into() },
                action: if seq % 2 == 0 { Action::DeviceApproved } else { Action::LoginOk },
                target: (seq % 2 == 0).then(|| format!("dev-{seq}")),
                detail: None,
            };
            let e = next(new, seq, 1_000 + seq, prev);
            prev = e.hash();
            out.push(e);
        }
        (out, (n > 0).then_some((n, prev)))
    }

    #[test]
    fn an_intact_log_verifies() {
        for n in [0, 1, 5] {
            let (entries, head) = chain(n);
            let report = verify(&entries, head);
            assert_eq!((report.entries, report.first_break), (n as u64, None));
        }
    }

    #[test]
    fn an_edited_entry_breaks_the_chain_at_the_next_one() {
        let (mut entries, head) = chain(5);
        entries[1].target = Some("dev-evil".into());
        assert_eq!(verify(&entries, head).first_break.map(|b| b.seq), Some(3));
        // The last entry edited: only the head notices.
        let (mut entries, head) = chain(5);
        entries[4].actor = "someone-else".into();
        assert_eq!(verify(&entries, head).first_break.map(|b| b.seq), Some(5));
    }

    #[test]
    fn deleted_entries_are_found_in_the_middle_and_at_the_end() {
        let (mut entries, head) = chain(5);
        entries.remove(2);
        assert_eq!(verify(&entries, head).first_break.map(|b| b.seq), Some(4));
        let (mut entries, head) = chain(5);
        entries.pop();
        assert!(verify(&entries, head).first_break.is_some());
        // Renumbered after a deletion: the prev hash still gives it away.
        let (mut entries, head) = chain(5);
        entries.remove(1);
        for (i, e) in entries.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(&entries, head).first_break.map(|b| b.seq), Some(2));
    }

    #[test]
    fn optional_fields_cannot_be_confused() {
        let (entries, _) = chain(1);
        let mut a = entries[0].clone();
        let mut b = a.clone();
        a.target = None;
        b.target = Some(String::new());
        assert_ne!(a.hash(), b.hash());
        a.target = Some("x".into());
        a.detail = None;
        b.target = None;
        b.detail = Some("x".into());
        assert_ne!(a.hash(), b.hash());
    }
}
