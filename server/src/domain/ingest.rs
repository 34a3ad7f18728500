//! What the server decides about one uploaded receipt: duplicate, conflict, chain link, the flags
//! an auditor sees, and whether it frees funds for reallocation.

use salur_core::receipt::{Evidence, Liveness, Method, Outcome, Receipt, Standing, GENESIS};
use serde::Serialize;

/// What happened to one uploaded receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ingest {
    /// Verified and stored.
    Accepted,
    /// Already stored with exactly these bytes: same answer as the first time.
    Duplicate,
    /// Refused (signature, device, chain link); nothing stored.
    Rejected,
    /// Its id or sequence number is already taken by different bytes; the first is kept.
    Conflict,
}

impl Ingest {
    /// The name used in metrics and the refusal log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Conflict => "conflict",
        }
    }
}

/// The answer for one receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestResult {
    /// Receipt id, when the receipt could be read.
    pub id: Option<String>,
    /// Sequence number, when the receipt could be read.
    pub seq: Option<u64>,
    /// Outcome.
    pub result: Ingest,
    /// Why, for rejected and conflict; for an accepted receipt, what the server flagged for audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl IngestResult {
    /// A receipt refused (or in conflict), with why.
    pub fn refused(result: Ingest, id: Option<String>, seq: Option<u64>, reason: String) -> Self {
        Self { id, seq, result, reason: Some(reason) }
    }

    /// The answer for `r` with this result.
    pub fn of(r: &Receipt, result: Ingest, reason: Option<String>) -> Self {
        Self { id: Some(r.id.clone()), seq: Some(r.seq), result, reason }
    }
}

/// A stored receipt that shares the upload's id or its (device, sequence).
#[derive(Debug, Clone)]
pub struct Taken {
    /// Its id.
    pub id: String,
    /// Its signed bytes.
    pub cose: Vec<u8>,
}

/// The answer when stored receipts already hold this id or sequence: the same bytes again are a
/// duplicate; other bytes under the id, or another receipt at the sequence, a conflict (the first
/// is kept). `None`: nothing is taken.
pub fn already_taken(r: &Receipt, cose: &[u8], taken: &[Taken]) -> Option<IngestResult> {
    if let Some(t) = taken.iter().find(|t| t.id == r.id) {
        return Some(if t.cose == cose {
            IngestResult::of(r, Ingest::Duplicate, None)
        } else {
            let why = "another receipt with this id is already stored; the first is kept".to_string();
            IngestResult::of(r, Ingest::Conflict, Some(why))
        });
    }
    taken.first().map(|t| {
        let why = format!("sequence {} is already used by receipt {} (a fork)", r.seq, t.id);
        IngestResult::of(r, Ingest::Conflict, Some(why))
    })
}

/// Whether `r` (whose signed bytes hash to `hash`) links to the neighbours already stored: the
/// previous receipt's hash, and the next receipt's `prev`. A missing neighbour is checked when it
/// arrives.
pub fn links(r: &Receipt, hash: &[u8], prev_hash: Option<&[u8]>, next_prev: Option<&[u8]>) -> bool {
    let prev_ok = if r.seq == 1 { r.prev == GENESIS } else { prev_hash.is_none_or(|h| h == r.prev) };
    prev_ok && next_prev.is_none_or(|p| p == hash)
}

/// What the roster the server handed out says of a receipt's recipient.
#[derive(Debug, Clone)]
pub struct RosterFacts {
    /// Worker assigned.
    pub worker_id: String,
    /// Rupiah due.
    pub amount: i64,
    /// The references of the recipient's KK members who may collect for them (read for proxy
    /// receipts only).
    pub household: Vec<Vec<u8>>,
}

/// Why a stored receipt is flagged for an auditor (it is the phone's signed word and is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// The recipient is not on the roster.
    NotOnRoster,
    /// The recipient is assigned to another worker.
    OtherWorker,
    /// The amount is not the roster's.
    AmountDiffers {
        /// The roster's amount.
        roster_amount: i64,
    },
    /// Uploaded by a device that was revoked: kept, counted nowhere until an auditor decides.
    DeviceRevoked,
    /// The live check's random challenge is the one the recipient's previous receipt signed: a
    /// phone draws one of 64 afresh at every visit, so a repeat is what a recording made for
    /// the earlier visit would need.
    ChallengeRepeated,
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotOnRoster => f.write_str("recipient not on the roster"),
            Self::OtherWorker => f.write_str("recipient assigned to another worker"),
            Self::AmountDiffers { roster_amount } => write!(f, "amount differs from the roster ({roster_amount})"),
            Self::DeviceRevoked => f.write_str(DEVICE_REVOKED_FLAG),
            Self::ChallengeRepeated => f.write_str("live-check challenge repeats the recipient's previous one"),
        }
    }
}

/// The flag for `r`, uploaded by `worker_id`'s device, against the roster (a not-home visit
/// moves no money, so its amount is not checked).
pub fn flag(r: &Receipt, worker_id: &str, roster: Option<&RosterFacts>) -> Option<Flag> {
    match roster {
        None => Some(Flag::NotOnRoster),
        Some(f) if f.worker_id != worker_id => Some(Flag::OtherWorker),
        Some(f) if r.outcome != Outcome::NotHome && f.amount != super::bounds::to_i64(r.amount) => {
            Some(Flag::AmountDiffers { roster_amount: f.amount })
        }
        Some(_) => None,
    }
}

/// The challenge a receipt's live check signed (format 3), as the server stores it.
pub fn challenge(r: &Receipt) -> Option<i64> {
    r.evidence.as_ref()?.live.as_ref()?.challenge.map(i64::from)
}

/// The flag for a live check whose challenge is `previous`, the one the recipient's latest
/// earlier receipt signed.
pub fn challenge_flag(r: &Receipt, previous: Option<i64>) -> Option<Flag> {
    match (challenge(r), previous) {
        (Some(now), Some(before)) if now == before => Some(Flag::ChallengeRepeated),
        _ => None,
    }
}

/// The flag of a receipt a revoked device uploaded (held for an auditor's decision).
pub const DEVICE_REVOKED_FLAG: &str = "device revoked: held for an auditor's decision";

/// Stored name of the override method (the dashboard counts it).
pub const OVERRIDE_METHOD: &str = "supervisor_override";

/// Stored name of collection by a KK member with a power of attorney (counted per worker).
pub const PROXY_METHOD: &str = "proxy";

/// Scores this close above the threshold (millionths) count as low-score matches.
pub const LOW_SCORE_MARGIN_E6: i64 = 50_000;

/// A recipient paid by this many receipts or more is a double payment.
pub const DOUBLE_PAYMENT_RECEIPTS: i64 = 2;

/// The columns a receipt is indexed by: outcome name, ineligible reason and note, method name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    /// `paid`, `ineligible`, `not_home`, `refused`.
    pub outcome: &'static str,
    /// Why ineligible.
    pub reason: Option<String>,
    /// The worker's note.
    pub note: Option<String>,
    /// How the recipient was identified (`registry_template`, `supervisor_override`, ...).
    pub method: Option<String>,
    /// The live-person check as the receipt records it (`passed`, `failed`, `not_run`).
    pub liveness: Option<&'static str>,
}

impl Indexed {
    /// The indexed columns of `r`.
    pub fn of(r: &Receipt) -> Self {
        let (reason, note) = match &r.outcome {
            Outcome::Ineligible { reason, note } => {
                (serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)), note.clone())
            }
            _ => (None, None),
        };
        let outcome = Standing::of(&r.outcome).outcome_name().unwrap_or("unknown");
        Self {
            outcome,
            reason,
            note,
            method: r.evidence.as_ref().map(|e| method_name(&e.method).to_string()),
            liveness: r.evidence.as_ref().map(|e| match (e.liveness, &e.live) {
                // "Passed" with no record of what ran (format 1, or a phone that claims it) is not trusted.
                (Liveness::Passed, None) => LIVENESS_UNRECORDED,
                (l, _) => liveness_name(l),
            }),
        }
    }

    /// A payment without a passed live-person check (an override, or a receipt from before the
    /// check existed): counted and listed for the auditor.
    pub fn paid_without_live_check(&self) -> bool {
        self.outcome == "paid" && (self.is_override() || self.liveness != Some(LIVENESS_PASSED))
    }

    /// Paid by supervisor override.
    pub fn is_override(&self) -> bool {
        self.method.as_deref() == Some(OVERRIDE_METHOD)
    }

    /// Paid to a KK member collecting with a power of attorney.
    pub fn is_proxy_payment(&self) -> bool {
        self.outcome == "paid" && self.method.as_deref() == Some(PROXY_METHOD)
    }
}

/// Stored name of a passed live check (with its signed record).
pub const LIVENESS_PASSED: &str = "passed";

/// Stored name of a receipt that says "passed" but carries no record of the check.
pub const LIVENESS_UNRECORDED: &str = "passed_unrecorded";

/// The stored name of a live-check result.
pub fn liveness_name(l: Liveness) -> &'static str {
    match l {
        Liveness::Passed => LIVENESS_PASSED,
        Liveness::Failed => "failed",
        Liveness::NotRun => "not_run",
    }
}

/// The stored name of a method.
pub fn method_name(m: &Method) -> &'static str {
    match m {
        Method::RegistryTemplate => "registry_template",
        Method::EktpPhoto => "ektp_photo",
        Method::EnrolledTemplate => "enrolled_template",
        Method::Proxy { .. } => PROXY_METHOD,
        Method::SupervisorOverride { .. } => OVERRIDE_METHOD,
    }
}

/// A payment whose face score cleared its threshold by less than [`LOW_SCORE_MARGIN_E6`].
pub fn is_low_score(r: &Receipt) -> bool {
    let Some(Evidence { score_e6: Some(score), threshold_e6: Some(threshold), .. }) = &r.evidence else {
        return false;
    };
    r.outcome == Outcome::Paid && score >= threshold && i64::from(*score) < i64::from(*threshold) + LOW_SCORE_MARGIN_E6
}

/// What an ineligible report says for the finance office: the worker's reason and note (the
/// amount freed is the roster's, decided in `reallocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reallocate {
    /// Why ineligible.
    pub reason: String,
    /// The worker's note.
    pub note: Option<String>,
}

/// The ineligible report a stored receipt makes, if any.
pub fn reallocation(r: &Receipt) -> Option<Reallocate> {
    let Indexed { outcome, reason, note, .. } = Indexed::of(r);
    (outcome == "ineligible").then_some(())?;
    Some(Reallocate { reason: reason?, note })
}

#[cfg(test)]
mod tests {
    use salur_core::receipt::{IneligibleReason, Times, FORMAT_VERSION};

    use super::*;

    fn receipt(seq: u64, outcome: Outcome) -> Receipt {
        Receipt {
            v: FORMAT_VERSION,
            id: format!("r{seq}"),
            device_id: "d1".into(),
            key_id: vec![0; 16],
            worker_id: "w1".into(),
            seq,
            prev: if seq == 1 { GENESIS.to_vec() } else { vec![seq as u8 - 1; 32] },
            roster_id: "blt".into(),
            recipient: vec![7; 16],
            amount: 600_000,
            outcome,
            evidence: None,
            time: Times { wall_ms: 0, mono_ms: 0, offset_ms: 0 },
            location: None,
            received_in_full: None,
            letter_id: None,
        }
    }

    /// A passed live check's record, as a phone signs it.
    fn live_record() -> salur_core::receipt::LiveCheck {
        salur_core::receipt::LiveCheck {
            method: salur_core::receipt::LiveMethod::PassiveAndChallenge,
            passive_e6: Some(990_000),
            passive_threshold_e6: Some(850_000),
            asked: vec![],
            met: vec![],
            frames: 30,
            duration_ms: 4_000,
            models: vec![],
            challenge: None,
        }
    }

    fn evidence(method: Method, score: i32, threshold: i32) -> Evidence {
        Evidence {
            method,
            score_e6: Some(score),
            threshold_e6: Some(threshold),
            model: "m".into(),
            liveness: Liveness::NotRun,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        }
    }

    #[test]
    fn the_same_bytes_are_a_duplicate_other_bytes_a_conflict_and_another_id_a_fork() {
        let r = receipt(3, Outcome::Paid);
        assert!(already_taken(&r, b"a", &[]).is_none());
        let same = [Taken { id: "r3".into(), cose: b"a".to_vec() }];
        assert_eq!(already_taken(&r, b"a", &same).unwrap().result, Ingest::Duplicate);
        assert_eq!(already_taken(&r, b"b", &same).unwrap().result, Ingest::Conflict);
        let fork = already_taken(&r, b"a", &[Taken { id: "other".into(), cose: b"a".to_vec() }]).unwrap();
        assert_eq!(fork.result, Ingest::Conflict);
        assert!(fork.reason.unwrap().contains("fork"));
    }

    #[test]
    fn a_challenge_that_repeats_the_recipients_previous_one_is_flagged() {
        let mut r = receipt(2, Outcome::Paid);
        assert_eq!(challenge_flag(&r, Some(5)), None, "no live check signed");
        r.evidence = Some(Evidence {
            live: Some(salur_core::receipt::LiveCheck { challenge: Some(5), ..live_record() }),
            ..evidence(Method::RegistryTemplate, 500_000, 400_000)
        });
        assert_eq!(challenge(&r), Some(5));
        assert_eq!(challenge_flag(&r, Some(5)), Some(Flag::ChallengeRepeated));
        assert_eq!(challenge_flag(&r, Some(6)), None);
        assert_eq!(challenge_flag(&r, None), None, "the recipient's first visit");
    }

    #[test]
    fn a_receipt_must_link_to_the_neighbours_present() {
        let first = receipt(1, Outcome::Paid);
        assert!(links(&first, &[9; 32], None, None));
        let mut bad_first = first.clone();
        bad_first.prev = vec![1; 32];
        assert!(!links(&bad_first, &[9; 32], None, None));
        let r = receipt(5, Outcome::Paid);
        assert!(links(&r, &[9; 32], None, None), "missing neighbours are checked when they arrive");
        assert!(links(&r, &[9; 32], Some(&[4; 32]), Some(&[9; 32])));
        assert!(!links(&r, &[9; 32], Some(&[3; 32]), None));
        assert!(!links(&r, &[9; 32], None, Some(&[8; 32])));
    }

    #[test]
    fn flags_against_the_roster() {
        let paid = receipt(1, Outcome::Paid);
        let facts = |w: &str, amount| RosterFacts { worker_id: w.into(), amount, household: vec![] };
        assert_eq!(flag(&paid, "w1", None), Some(Flag::NotOnRoster));
        assert_eq!(flag(&paid, "w1", Some(&facts("w2", 600_000))), Some(Flag::OtherWorker));
        let differs = flag(&paid, "w1", Some(&facts("w1", 300_000))).unwrap();
        assert_eq!(differs.to_string(), "amount differs from the roster (300000)");
        assert_eq!(flag(&paid, "w1", Some(&facts("w1", 600_000))), None);
        assert_eq!(flag(&receipt(1, Outcome::NotHome), "w1", Some(&facts("w1", 1))), None);
    }

    #[test]
    fn low_scores_overrides_and_reallocations() {
        let mut r = receipt(1, Outcome::Paid);
        r.evidence = Some(evidence(Method::RegistryTemplate, 420_000, 400_000));
        assert!(is_low_score(&r));
        r.evidence = Some(evidence(Method::RegistryTemplate, 460_000, 400_000));
        assert!(!is_low_score(&r));
        r.evidence = Some(evidence(
            Method::SupervisorOverride { supervisor_id: "s".into(), reason: "r".into(), code: None, approval: None },
            0,
            1,
        ));
        assert!(Indexed::of(&r).is_override());
        assert!(!is_low_score(&r), "an override below the threshold is not a low-score match");
        assert!(Indexed::of(&r).paid_without_live_check());
        let mut live = r.clone();
        live.evidence =
            Some(Evidence { liveness: Liveness::Passed, ..evidence(Method::RegistryTemplate, 500_000, 400_000) });
        assert!(Indexed::of(&live).paid_without_live_check(), "passed without a record is not trusted");
        assert_eq!(Indexed::of(&live).liveness, Some(LIVENESS_UNRECORDED));
        let record = live_record();
        live.evidence.as_mut().unwrap().live = Some(record.clone());
        assert!(!Indexed::of(&live).paid_without_live_check());
        // An override is never a live payment, whatever its last check said.
        r.evidence.as_mut().unwrap().liveness = Liveness::Passed;
        r.evidence.as_mut().unwrap().live = Some(record);
        assert!(Indexed::of(&r).paid_without_live_check());
        assert!(!Indexed::of(&receipt(3, Outcome::NotHome)).paid_without_live_check());
        assert_eq!(reallocation(&r), None);
        let gone = receipt(2, Outcome::Ineligible { reason: IneligibleReason::Deceased, note: Some("n".into()) });
        let q = reallocation(&gone).unwrap();
        assert_eq!((q.reason.as_str(), q.note.as_deref()), ("deceased", Some("n")));
        assert_eq!(Indexed::of(&gone).outcome, "ineligible");
    }
}
