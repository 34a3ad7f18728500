//! Enrolment codes: what an approver hands a worker (typed, or shown as a QR code) so that their
//! phone may register. Short, random, one-time, bound to a worker and post office, expiring; the
//! server keeps only their SHA-256. The code also fetches the nonce the phone puts into its key
//! attestation challenge, so an attestation made for one registration is useless for another.

use ring::rand::{SecureRandom, SystemRandom};

use super::attestation::SecurityLevel;
use super::devices::DeviceStatus;

use salur_core::crockford::ALPHABET;

/// Characters in a code (50 random bits), shown as two groups of five.
pub const CODE_LEN: usize = 10;

/// Minutes a code lives unless the approver says otherwise.
pub const DEFAULT_TTL_MINUTES: u32 = 60;

/// Longest life of a code: a week (a worker far from the office may enrol on their next visit).
pub const MAX_TTL_MINUTES: u32 = 7 * 24 * 60;

/// How long a registration nonce may be used: long enough to make a key, short enough to be fresh.
pub const NONCE_TTL_MS: i64 = 15 * 60 * 1000;

/// Bytes of a registration nonce.
pub const NONCE_LEN: usize = 32;

/// Why an enrolment step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    /// The code is unknown, used, expired or for another worker: one answer for all, so that an
    /// outsider learns nothing more.
    #[error("enrolment code unknown, used or expired: ask your supervisor for a new one")]
    Refused,
    /// The lifetime asked for a code is outside 1 minute to [`MAX_TTL_MINUTES`].
    #[error("ttl_minutes must be 1 to {MAX_TTL_MINUTES} (a week)")]
    Lifetime,
    /// The operating system gave no random bytes (a fault on the server's side).
    #[error("the system random source failed")]
    Random,
    /// A code for a worker or post office no imported roster names, not asked for on purpose.
    #[error("{0}")]
    UnknownAssignment(String),
}

/// Where the rosters place a worker and a post office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Some roster assigns recipients to this worker.
    pub worker_known: bool,
    /// Some roster names this post office.
    pub post_office_known: bool,
    /// Some roster assigns this worker recipients at this post office.
    pub worker_at_post_office: bool,
}

/// Refuses a code for a worker or post office the rosters do not know (a typo would give a phone
/// that can download nothing), unless the approver said they are new on purpose
/// (`allow_unknown`: a worker whose roster is imported later).
pub fn check_assignment(
    worker_id: &str,
    post_office: &str,
    found: Assignment,
    allow_unknown: bool,
) -> Result<(), EnrolmentError> {
    if allow_unknown || found.worker_at_post_office {
        return Ok(());
    }
    let hint = "check the spelling; for a worker whose roster is imported later, issue it with allow_unknown \
                (salur devices enrol --allow-unknown)";
    let why = match (found.worker_known, found.post_office_known) {
        (false, false) => format!("no imported roster names worker {worker_id} or post office {post_office}"),
        (false, true) => format!("no imported roster names worker {worker_id}"),
        (true, false) => format!("no imported roster names post office {post_office}"),
        (true, true) => format!("worker {worker_id} has no recipients at post office {post_office}"),
    };
    Err(EnrolmentError::UnknownAssignment(format!("{why}: {hint}")))
}

/// A new code, `XXXXX-XXXXX`.
pub fn new_code() -> Result<String, EnrolmentError> {
    let mut bytes = [0u8; CODE_LEN];
    SystemRandom::new().fill(&mut bytes).map_err(|_| EnrolmentError::Random)?;
    // 32 divides 256: taking each byte modulo 32 keeps the characters uniform.
    let chars: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b % 32)])).collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// A new registration nonce.
pub fn new_nonce() -> Result<[u8; NONCE_LEN], EnrolmentError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| EnrolmentError::Random)?;
    Ok(nonce)
}

/// The code as typed, in its one form: case, spaces and hyphens ignored, `I`/`L` read as 1 and
/// `O` as 0 (Crockford's rule). `None` if it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    salur_core::crockford::normalize(typed, CODE_LEN)
}

/// What the server stores for a typed code (`None`: it cannot be a code).
pub fn code_hash(typed: &str) -> Option<[u8; 32]> {
    normalize(typed).map(|c| salur_core::crypto::sha256(c.as_bytes()))
}

/// The one answer for a code that is unknown, used or expired: an outsider learns nothing more.
pub fn refused() -> EnrolmentError {
    EnrolmentError::Refused
}

/// A code's lifetime in minutes from what the approver asked: the default when unset, else 1 to a week.
pub fn ttl_minutes(asked: Option<u32>) -> Result<u32, EnrolmentError> {
    match asked.unwrap_or(DEFAULT_TTL_MINUTES) {
        n @ 1..=MAX_TTL_MINUTES => Ok(n),
        _ => Err(EnrolmentError::Lifetime),
    }
}

/// The state a newly registered device starts in: a verified TEE or StrongBox key is approved at
/// once (the approver vouched for the worker by issuing the code); anything else waits for an
/// approver and is flagged on the dashboard.
pub fn initial_status(level: SecurityLevel) -> DeviceStatus {
    if level.is_hardware() {
        DeviceStatus::Approved
    } else {
        DeviceStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_for_workers_and_post_offices_no_roster_names_are_refused_unless_asked_for() {
        let at = |w, p, b| Assignment { worker_known: w, post_office_known: p, worker_at_post_office: b };
        assert!(check_assignment("w", "p", at(true, true, true), false).is_ok());
        for (found, said) in [
            (at(false, false, false), "worker w or post office p"),
            (at(false, true, false), "names worker w"),
            (at(true, false, false), "post office p"),
            (at(true, true, false), "no recipients at post office p"),
        ] {
            let e = check_assignment("w", "p", found, false).unwrap_err().to_string();
            assert!(e.contains(said) && e.contains("--allow-unknown"), "{e}");
            assert!(check_assignment("w", "p", found, true).is_ok());
        }
    }

    #[test]
    fn codes_are_two_groups_of_five_and_read_back_however_typed() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), CODE_LEN + 1);
        assert_eq!(&code[5..6], "-");
        let plain = normalize(&code).unwrap();
        assert_eq!(normalize(&code.to_lowercase()), Some(plain.clone()));
        assert_eq!(normalize(&format!(" {} ", plain)), Some(plain.clone()));
        assert_eq!(code_hash(&code), code_hash(&code.to_lowercase().replace('-', " ")));
        assert_ne!(new_code().unwrap(), code, "two codes in a row differ");
    }

    #[test]
    fn crockford_look_alikes_are_the_same_code() {
        assert_eq!(normalize("abcde-fghjk"), Some("ABCDEFGHJK".into()));
        assert_eq!(normalize("O1LI0-00000"), normalize("01110-00000"));
        for bad in ["", "ABCDE", "ABCDE-FGHJKM", "ABCDE-FGHJU", "ABCDE_FGHJK", "ÄBCDE-FGHJK"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(ttl_minutes(None).unwrap(), 60);
        assert_eq!(ttl_minutes(Some(MAX_TTL_MINUTES)).unwrap(), MAX_TTL_MINUTES);
        assert_eq!(ttl_minutes(Some(0)), Err(EnrolmentError::Lifetime));
        assert_eq!(ttl_minutes(Some(MAX_TTL_MINUTES + 1)), Err(EnrolmentError::Lifetime));
        assert_eq!(EnrolmentError::Lifetime.to_string(), "ttl_minutes must be 1 to 10080 (a week)");
    }

    #[test]
    fn every_refused_code_gets_the_one_answer() {
        assert_eq!(refused(), EnrolmentError::Refused);
        assert_eq!(refused().to_string(), "enrolment code unknown, used or expired: ask your supervisor for a new one");
        assert_eq!(code_hash("not a code").ok_or_else(refused), Err(EnrolmentError::Refused));
    }

    #[test]
    fn only_hardware_keys_start_approved() {
        assert_eq!(initial_status(SecurityLevel::Tee), DeviceStatus::Approved);
        assert_eq!(initial_status(SecurityLevel::Strongbox), DeviceStatus::Approved);
        assert_eq!(initial_status(SecurityLevel::Software), DeviceStatus::Pending);
        assert_eq!(initial_status(SecurityLevel::None), DeviceStatus::Pending);
    }
}
