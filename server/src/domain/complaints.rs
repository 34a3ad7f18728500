//! Complaints a recipient files from the public check page, against the receipt they hold: the
//! rules on what a complaint may say, and how many one receipt may carry.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// What the recipient reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintKind {
    /// "I received less than this" (skimming: the commonest recorded abuse).
    ReceivedLess,
    /// "I was not paid" although the receipt says so.
    NotPaid,
}

impl ComplaintKind {
    /// The name stored and counted.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReceivedLess => "received_less",
            Self::NotPaid => "not_paid",
        }
    }
}

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Most complaints one receipt may carry: enough for a recipient to add what they forgot, too
/// few for anyone holding a code to flood the auditors' list.
pub const MAX_PER_RECEIPT: i64 = 3;

/// Whether a complaint may be filed: against a payment, with an amount received below the paid
/// amount when it says "less" (none when it says "not paid"), a bounded note, under the cap.
pub fn check(
    kind: ComplaintKind,
    amount_received: Option<u64>,
    note: Option<&str>,
    receipt_outcome: &str,
    paid_amount: u64,
    already: i64,
) -> Result<(), ApiError> {
    if receipt_outcome != "paid" {
        return Err(ApiError::Unprocessable("this receipt records no payment: nothing to complain about".into()));
    }
    match (kind, amount_received) {
        (ComplaintKind::ReceivedLess, Some(got)) if got < paid_amount => {}
        (ComplaintKind::ReceivedLess, Some(_)) => {
            return Err(ApiError::Unprocessable(format!(
                "amount_received must be less than the Rp {paid_amount} the receipt says was paid"
            )))
        }
        (ComplaintKind::ReceivedLess, None) => {
            return Err(ApiError::Unprocessable("say how much was received (amount_received)".into()))
        }
        (ComplaintKind::NotPaid, None | Some(0)) => {}
        (ComplaintKind::NotPaid, Some(_)) => {
            return Err(ApiError::Unprocessable("a not_paid complaint carries no amount_received".into()))
        }
    }
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::Unprocessable(format!("the note is longer than {MAX_NOTE_CHARS} characters")));
    }
    if already >= MAX_PER_RECEIPT {
        return Err(ApiError::Conflict(format!(
            "this receipt already has {already} complaints: the auditors have them and will follow up"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ComplaintKind::{NotPaid, ReceivedLess};
    use super::*;

    #[test]
    fn a_complaint_says_what_was_received_and_is_capped_per_receipt() {
        check(ReceivedLess, Some(300_000), Some("dipotong"), "paid", 600_000, 0).unwrap();
        check(NotPaid, None, None, "paid", 600_000, 2).unwrap();
        assert!(check(ReceivedLess, Some(600_000), None, "paid", 600_000, 0).is_err(), "not less");
        assert!(check(ReceivedLess, None, None, "paid", 600_000, 0).is_err(), "how much?");
        assert!(check(NotPaid, Some(5), None, "paid", 600_000, 0).is_err());
        assert!(check(NotPaid, None, None, "not_home", 0, 0).is_err(), "no payment recorded");
        assert!(check(NotPaid, None, Some(&"x".repeat(501)), "paid", 600_000, 0).is_err());
        assert!(matches!(check(NotPaid, None, None, "paid", 600_000, 3), Err(ApiError::Conflict(_))));
    }
}
