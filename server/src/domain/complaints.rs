//! Complaints a recipient files from the public check page, against the receipt they hold: the
//! rules on what a complaint may say, and how many one receipt may carry.

use serde::{Deserialize, Serialize};

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

/// Why a complaint may not be filed (the messages are shown to the recipient word for word).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplaintError {
    /// The receipt records a visit without a payment.
    #[error("this receipt records no payment: nothing to complain about")]
    NoPayment,
    /// "Received less", but the amount said is not below what was paid.
    #[error("amount_received must be less than the {} the receipt says was paid", salur_core::slip::rupiah(*paid))]
    NotLess {
        /// Rupiah the receipt says was paid.
        paid: u64,
    },
    /// "Received less" without saying how much.
    #[error("say how much was received (amount_received)")]
    AmountMissing,
    /// "Not paid" with an amount received.
    #[error("a not_paid complaint carries no amount_received")]
    AmountWhenNotPaid,
    /// The note is longer than [`MAX_NOTE_CHARS`].
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
    /// The receipt already carries [`MAX_PER_RECEIPT`] complaints.
    #[error("this receipt already has {already} complaints: the auditors have them and will follow up")]
    TooMany {
        /// Complaints it carries.
        already: i64,
    },
}

/// Whether a complaint may be filed: against a payment, with an amount received below the paid
/// amount when it says "less" (none when it says "not paid"), a bounded note, under the cap.
pub fn check(
    kind: ComplaintKind,
    amount_received: Option<u64>,
    note: Option<&str>,
    receipt_outcome: &str,
    paid_amount: u64,
    already: i64,
) -> Result<(), ComplaintError> {
    if receipt_outcome != "paid" {
        return Err(ComplaintError::NoPayment);
    }
    match (kind, amount_received) {
        (ComplaintKind::ReceivedLess, Some(got)) if got < paid_amount => {}
        (ComplaintKind::ReceivedLess, Some(_)) => return Err(ComplaintError::NotLess { paid: paid_amount }),
        (ComplaintKind::ReceivedLess, None) => return Err(ComplaintError::AmountMissing),
        (ComplaintKind::NotPaid, None | Some(0)) => {}
        (ComplaintKind::NotPaid, Some(_)) => return Err(ComplaintError::AmountWhenNotPaid),
    }
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ComplaintError::NoteTooLong);
    }
    if already >= MAX_PER_RECEIPT {
        return Err(ComplaintError::TooMany { already });
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
        check(NotPaid, Some(0), None, "paid", 600_000, 0).unwrap();
        let not_less = check(ReceivedLess, Some(600_000), None, "paid", 600_000, 0);
        assert_eq!(not_less, Err(ComplaintError::NotLess { paid: 600_000 }), "not less");
        assert_eq!(check(ReceivedLess, None, None, "paid", 600_000, 0), Err(ComplaintError::AmountMissing));
        assert_eq!(check(NotPaid, Some(5), None, "paid", 600_000, 0), Err(ComplaintError::AmountWhenNotPaid));
        assert_eq!(check(NotPaid, None, None, "not_home", 0, 0), Err(ComplaintError::NoPayment));
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(check(NotPaid, None, Some(&long), "paid", 600_000, 0), Err(ComplaintError::NoteTooLong));
        assert_eq!(check(NotPaid, None, None, "paid", 600_000, 3), Err(ComplaintError::TooMany { already: 3 }));
    }

    #[test]
    fn refusals_keep_the_words_the_page_shows() {
        let says = |e: ComplaintError| e.to_string();
        assert_eq!(says(ComplaintError::NoPayment), "this receipt records no payment: nothing to complain about");
        assert_eq!(
            says(ComplaintError::NotLess { paid: 600_000 }),
            "amount_received must be less than the Rp600.000 the receipt says was paid"
        );
        assert_eq!(says(ComplaintError::AmountMissing), "say how much was received (amount_received)");
        assert_eq!(says(ComplaintError::AmountWhenNotPaid), "a not_paid complaint carries no amount_received");
        assert_eq!(says(ComplaintError::NoteTooLong), "the note is longer than 500 characters");
        assert_eq!(
            says(ComplaintError::TooMany { already: 3 }),
            "this receipt already has 3 complaints: the auditors have them and will follow up"
        );
    }
}
