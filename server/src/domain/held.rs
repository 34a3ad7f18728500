//! An auditor's decision on a receipt a revoked device handed in. Such a receipt is kept (nothing
//! honest is stranded on a phone revoked while offline) but counted nowhere, because neither the
//! phone's clock nor its sequence proves it was signed before the revocation. An auditor who has
//! checked it (with the worker, the recipient, the evidence) either counts it, and from then on it
//! counts like any receipt, or refuses it, and it stays out of every count; either way once, with
//! the reasons in words, and the receipt keeps a flag that says which.

use serde::{Deserialize, Serialize};

/// Longest reason an auditor may give (the complaints' note length).
pub const MAX_NOTE: usize = 500;

/// What the auditor decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeldDecision {
    /// Signed before the revocation, as far as the auditor could check: it counts from now on.
    Count,
    /// Not shown to be honest: it stays out of every count.
    Refuse,
}

impl HeldDecision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Refuse => "refuse",
        }
    }

    /// The flag the receipt carries after the decision (it stays flagged: it came from a revoked
    /// phone).
    pub fn flag(self) -> &'static str {
        match self {
            Self::Count => "device revoked: counted by an auditor",
            Self::Refuse => "device revoked: refused by an auditor",
        }
    }
}

/// Why a decision cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeldError {
    /// The receipt is not one held from a revoked device.
    #[error("receipt {0} is not held for a decision: only receipts a revoked device handed in are")]
    NotHeld(String),
    /// Decided before.
    #[error("receipt {id} was decided already ({decision} by {by}): a decision is taken once")]
    Decided {
        /// The receipt.
        id: String,
        /// The decision taken.
        decision: String,
        /// Who took it.
        by: String,
    },
    /// The receipt would be flagged for more than its revoked device (not on the roster, another
    /// worker's recipient, another amount): counting it would hide that.
    #[error("receipt {id} is also flagged ({flag}): it cannot be counted; refuse it, or correct the roster first")]
    FlaggedBeyond {
        /// The receipt.
        id: String,
        /// The other flag.
        flag: String,
    },
    /// No reason given, or too long a one.
    #[error("say why in the note (1 to {MAX_NOTE} characters): what you checked and with whom")]
    Note,
}

/// Checks that the receipt `id` (held or not, decided by whom if it was) may be decided, with
/// `note` as the auditor's reasons.
pub fn may_decide(id: &str, held: bool, decided: Option<(&str, &str)>, note: &str) -> Result<(), HeldError> {
    if let Some((decision, by)) = decided {
        return Err(HeldError::Decided { id: id.into(), decision: decision.into(), by: by.into() });
    }
    if !held {
        return Err(HeldError::NotHeld(id.into()));
    }
    let n = note.trim().chars().count();
    if n == 0 || n > MAX_NOTE || note.chars().any(char::is_control) {
        return Err(HeldError::Note);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_held_receipt_is_decided_once_with_its_reasons() {
        assert_eq!(may_decide("r1", true, None, "checked with the worker and the recipient"), Ok(()));
        assert_eq!(may_decide("r1", false, None, "note"), Err(HeldError::NotHeld("r1".into())));
        let again = may_decide("r1", true, Some(("count", "auditor")), "note").unwrap_err();
        assert!(again.to_string().contains("count by auditor"), "{again}");
        assert_eq!(may_decide("r1", true, None, "  "), Err(HeldError::Note));
        assert_eq!(may_decide("r1", true, None, &"x".repeat(MAX_NOTE + 1)), Err(HeldError::Note));
        assert_eq!(may_decide("r1", true, None, "line\nbreak"), Err(HeldError::Note));
        assert_eq!(may_decide("r1", true, None, &"é".repeat(MAX_NOTE)), Ok(()), "characters, not bytes");
    }

    #[test]
    fn the_flag_says_what_was_decided() {
        assert!(HeldDecision::Count.flag().contains("counted") && HeldDecision::Refuse.flag().contains("refused"));
        assert_ne!(HeldDecision::Count.flag(), crate::domain::ingest::DEVICE_REVOKED_FLAG);
    }
}
