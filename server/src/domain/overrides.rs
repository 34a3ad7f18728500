//! Whether a supervisor really approved an override: the receipt's 8-digit approval code checked
//! against the supervisor's secret, on the challenge recomputed from the receipt's own device,
//! roster, recipient and reason code (see `salur_core::approval`).

use salur_core::approval;
use salur_core::receipt::{Method, Receipt};
use serde::Serialize;

/// What the check of an override's approval found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// The supervisor exists, is not revoked, is not the worker, and the code answers the challenge.
    Verified,
    /// The receipt carries no approval code.
    Missing,
    /// A code that does not answer the challenge (or an override without the reason code the
    /// challenge is made of).
    Invalid,
    /// No such supervisor, or one whose secret was revoked.
    UnknownSupervisor,
    /// The worker named themself as the supervisor.
    SelfApproved,
}

impl Approval {
    /// The name stored in `receipts.override_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Missing => "missing",
            Self::Invalid => "invalid",
            Self::UnknownSupervisor => "unknown_supervisor",
            Self::SelfApproved => "self_approved",
        }
    }

    /// The stored name back.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Verified, Self::Missing, Self::Invalid, Self::UnknownSupervisor, Self::SelfApproved]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// A supervisor as the server holds them.
#[derive(Debug, Clone)]
pub struct Supervisor {
    /// The secret their tool answers challenges with.
    pub secret: Vec<u8>,
    /// Whether the secret was revoked.
    pub revoked: bool,
}

/// The supervisor an override receipt names, if it is one.
pub fn supervisor_of(r: &Receipt) -> Option<&str> {
    match r.evidence.as_ref().map(|e| &e.method) {
        Some(Method::SupervisorOverride { supervisor_id, .. }) => Some(supervisor_id),
        _ => None,
    }
}

/// The approval state of `r`, uploaded by the device of `device_worker`, whose named supervisor
/// the server holds as `supervisor`; `None` when `r` is not an override.
pub fn check(r: &Receipt, device_worker: &str, supervisor: Option<&Supervisor>) -> Option<Approval> {
    let Some(Method::SupervisorOverride { supervisor_id, code, approval: response, .. }) =
        r.evidence.as_ref().map(|e| &e.method)
    else {
        return None;
    };
    let is_worker = |w: &str| supervisor_id.trim().eq_ignore_ascii_case(w.trim());
    Some(match (response, code, supervisor) {
        (None, _, _) => Approval::Missing,
        _ if is_worker(&r.worker_id) || is_worker(device_worker) => Approval::SelfApproved,
        (Some(_), _, None) => Approval::UnknownSupervisor,
        (Some(_), _, Some(s)) if s.revoked => Approval::UnknownSupervisor,
        (Some(_), None, Some(_)) => Approval::Invalid,
        (Some(response), Some(code), Some(s)) => {
            let challenge = approval::challenge(&r.device_id, &r.roster_id, &r.recipient, *code);
            if approval::verify(&s.secret, &challenge, response) {
                Approval::Verified
            } else {
                Approval::Invalid
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use salur_core::receipt::{Evidence, Liveness, OverrideCode, Receipt, Times, FORMAT_VERSION, GENESIS};

    use super::*;

    const SECRET: [u8; 32] = [5; 32];

    fn receipt(supervisor: &str, code: Option<OverrideCode>, approval: Option<&str>) -> Receipt {
        Receipt {
            v: FORMAT_VERSION,
            id: "r1".into(),
            device_id: "dev-1".into(),
            key_id: vec![0; 16],
            worker_id: "pos-1".into(),
            seq: 1,
            prev: GENESIS.to_vec(),
            roster_id: "blt".into(),
            recipient: vec![7; 16],
            amount: 600_000,
            outcome: salur_core::receipt::Outcome::Paid,
            evidence: Some(Evidence {
                method: Method::SupervisorOverride {
                    supervisor_id: supervisor.into(),
                    reason: "stiff neck".into(),
                    code,
                    approval: approval.map(str::to_string),
                },
                score_e6: None,
                threshold_e6: None,
                model: "m".into(),
                liveness: Liveness::NotRun,
                live: None,
                face_sha256: None,
                card_face_sha256: None,
                enrolled_sha256: None,
            }),
            time: Times { wall_ms: 0, mono_ms: 0, offset_ms: 0 },
            location: None,
            received_in_full: Some(true),
            letter_id: None,
        }
    }

    fn right_code(code: OverrideCode) -> String {
        approval::response(&SECRET, &approval::challenge("dev-1", "blt", &[7; 16], code))
    }

    #[test]
    fn each_state_of_an_override_approval() {
        let sup = Supervisor { secret: SECRET.to_vec(), revoked: false };
        let code = OverrideCode::CannotDoLiveCheck;
        let good = right_code(code);
        let check = |r: &Receipt, s: Option<&Supervisor>| check(r, "pos-1", s);
        assert_eq!(check(&receipt("sup-1", Some(code), Some(&good)), Some(&sup)), Some(Approval::Verified));
        assert_eq!(check(&receipt("sup-1", Some(code), None), Some(&sup)), Some(Approval::Missing));
        let wrong = format!("{:08}", (good.parse::<u64>().unwrap() + 1) % 100_000_000);
        assert_eq!(check(&receipt("sup-1", Some(code), Some(&wrong)), Some(&sup)), Some(Approval::Invalid));
        // The code answers another reason's challenge: invalid for this one.
        let other = right_code(OverrideCode::Other);
        assert_eq!(check(&receipt("sup-1", Some(code), Some(&other)), Some(&sup)), Some(Approval::Invalid));
        assert_eq!(check(&receipt("sup-1", None, Some(&good)), Some(&sup)), Some(Approval::Invalid));
        assert_eq!(check(&receipt("sup-1", Some(code), Some(&good)), None), Some(Approval::UnknownSupervisor));
        let revoked = Supervisor { revoked: true, ..sup.clone() };
        assert_eq!(
            check(&receipt("sup-1", Some(code), Some(&good)), Some(&revoked)),
            Some(Approval::UnknownSupervisor)
        );
        // The worker as their own supervisor, even holding a supervisor's secret under that id.
        assert_eq!(check(&receipt("POS-1", Some(code), Some(&good)), Some(&sup)), Some(Approval::SelfApproved));
        assert_eq!(
            super::check(&receipt("pos-2", Some(code), Some(&good)), "pos-2", Some(&sup)),
            Some(Approval::SelfApproved),
            "the device's worker, too"
        );
        // Not an override: no state.
        let mut paid = receipt("sup-1", Some(code), Some(&good));
        paid.evidence.as_mut().unwrap().method = Method::RegistryTemplate;
        assert_eq!(check(&paid, Some(&sup)), None);
        assert_eq!(supervisor_of(&paid), None);
        assert_eq!(supervisor_of(&receipt("sup-1", None, None)), Some("sup-1"));
        for (a, name) in [
            (Approval::Verified, "verified"),
            (Approval::Missing, "missing"),
            (Approval::Invalid, "invalid"),
            (Approval::UnknownSupervisor, "unknown_supervisor"),
            (Approval::SelfApproved, "self_approved"),
        ] {
            assert_eq!((a.as_str(), serde_json::to_value(a).unwrap()), (name, serde_json::json!(name)));
        }
    }
}
