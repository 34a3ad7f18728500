//! Reallocation of freed funds as a workflow: one case per (roster, recipient) at the roster's
//! amount, opened by an ineligible report the roster vouches for, cancelled by a later payment,
//! and moved by finance queued → approved → reallocated (or rejected), with four eyes: whoever
//! approved a case does not also mark it reallocated.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use salur_core::receipt::Standing;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Reported ineligible, waiting for finance.
    Queued,
    /// Finance agreed the funds are free.
    Approved,
    /// Finance found the report wrong: the funds stay with the recipient.
    Rejected,
    /// The funds went to a new recipient family, named on the case.
    Reallocated,
    /// The recipient was paid after all: nothing to reallocate.
    Cancelled,
}

impl CaseStatus {
    /// Every status, in workflow order.
    pub const ALL: [Self; 5] = [Self::Queued, Self::Approved, Self::Rejected, Self::Reallocated, Self::Cancelled];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Reallocated => "reallocated",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether no decision can change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Rejected | Self::Reallocated | Self::Cancelled)
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseStatus {
    type Err = ReallocationError;
    fn from_str(s: &str) -> Result<Self, ReallocationError> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| ReallocationError::UnknownStatus(s.to_string()))
    }
}

/// What finance decides on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The funds are free.
    Approve,
    /// The report was wrong.
    Reject,
    /// The funds went to a new recipient (named with the decision).
    Reallocate,
}

impl FromStr for Decision {
    type Err = ReallocationError;
    fn from_str(s: &str) -> Result<Self, ReallocationError> {
        Ok(match s {
            "approve" => Self::Approve,
            "reject" => Self::Reject,
            "reallocate" => Self::Reallocate,
            other => return Err(ReallocationError::UnknownDecision(other.to_string())),
        })
    }
}

/// Longest reason kept with a decision.
pub const MAX_REASON: usize = 500;

/// Why a decision on a case is refused, or a status or decision name is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReallocationError {
    /// A status name that is none of [`CaseStatus::ALL`].
    #[error("status {0}: use queued, approved, rejected, reallocated or cancelled")]
    UnknownStatus(String),
    /// A decision name that is none of approve, reject, reallocate.
    #[error("decision {0}: use approve, reject or reallocate")]
    UnknownDecision(String),
    /// The reason is empty (or only spaces) or longer than [`MAX_REASON`].
    #[error("a decision needs a reason of 1 to {MAX_REASON} characters")]
    Reason,
    /// Four eyes: whoever approved the case may not also reallocate it.
    #[error("the person who approved a case may not also reallocate it: ask another finance officer")]
    SameApprover,
    /// Reallocating a case that is still queued.
    #[error("approve the case before reallocating its funds")]
    NotApproved,
    /// The case is final ([`CaseStatus::is_final`]) or the decision cannot follow its status.
    #[error("the case is {0}: no further decision")]
    Decided(CaseStatus),
}

/// The status a decision by `actor` moves a case to, or why it may not.
pub fn decide(
    status: CaseStatus,
    approved_by: Option<&str>,
    decision: Decision,
    actor: &str,
    reason: &str,
) -> Result<CaseStatus, ReallocationError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ReallocationError::Reason);
    }
    let next = match (status, decision) {
        (CaseStatus::Queued, Decision::Approve) => CaseStatus::Approved,
        (CaseStatus::Queued | CaseStatus::Approved, Decision::Reject) => CaseStatus::Rejected,
        (CaseStatus::Approved, Decision::Reallocate) => {
            if approved_by == Some(actor) {
                return Err(ReallocationError::SameApprover);
            }
            CaseStatus::Reallocated
        }
        (CaseStatus::Queued, Decision::Reallocate) => return Err(ReallocationError::NotApproved),
        (done, _) => return Err(ReallocationError::Decided(done)),
    };
    Ok(next)
}

/// What a stored receipt does to its recipient's case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEffect {
    /// Open a queued case at this amount (the roster's, not the device's).
    Open {
        /// Rupiah freed.
        amount: i64,
    },
    /// Count one more ineligible report on the open case.
    Report,
    /// The recipient was paid: cancel the undecided case.
    Cancel,
    /// The recipient was paid after the funds went elsewhere: flag it.
    PaidAfterReallocation,
    /// Nothing.
    None,
}

/// The effect of a receipt with `outcome` on the case (`case`, if one exists) of a recipient that
/// the roster lists at `roster_amount` (`None`: not on the roster) and who stood at `before`.
/// A report flagged against the roster (another worker's recipient, an amount that differs)
/// opens nothing: only reports the roster vouches for free funds.
pub fn on_receipt(
    outcome: Standing,
    flagged: bool,
    roster_amount: Option<i64>,
    before: Standing,
    case: Option<CaseStatus>,
) -> CaseEffect {
    match (outcome, case) {
        (Standing::Paid, Some(CaseStatus::Queued | CaseStatus::Approved)) => CaseEffect::Cancel,
        (Standing::Paid, Some(CaseStatus::Reallocated)) => CaseEffect::PaidAfterReallocation,
        (Standing::Ineligible, Some(_)) => CaseEffect::Report,
        // Paid already: the funds are gone, whatever a later visit reports.
        (Standing::Ineligible, None) if flagged || before == Standing::Paid => CaseEffect::None,
        (Standing::Ineligible, None) => roster_amount.map_or(CaseEffect::None, |amount| CaseEffect::Open { amount }),
        _ => CaseEffect::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_moves_queued_approved_reallocated_with_four_eyes() {
        let approved = decide(CaseStatus::Queued, None, Decision::Approve, "fin-a", "death certificate seen").unwrap();
        assert_eq!(approved, CaseStatus::Approved);
        let same = decide(approved, Some("fin-a"), Decision::Reallocate, "fin-a", "to the waiting list");
        assert_eq!(same, Err(ReallocationError::SameApprover));
        assert_eq!(
            decide(approved, Some("fin-a"), Decision::Reallocate, "fin-b", "to the waiting list").unwrap(),
            CaseStatus::Reallocated
        );
        assert_eq!(
            decide(CaseStatus::Queued, None, Decision::Reallocate, "fin-b", "skip"),
            Err(ReallocationError::NotApproved)
        );
        assert_eq!(decide(approved, Some("fin-a"), Decision::Reject, "fin-a", "alive").unwrap(), CaseStatus::Rejected);
        for done in [CaseStatus::Rejected, CaseStatus::Reallocated, CaseStatus::Cancelled] {
            assert!(done.is_final());
            for d in [Decision::Approve, Decision::Reject, Decision::Reallocate] {
                assert_eq!(decide(done, None, d, "fin-c", "again"), Err(ReallocationError::Decided(done)));
            }
        }
        for reason in ["", "   ", &"x".repeat(MAX_REASON + 1)] {
            assert_eq!(
                decide(CaseStatus::Queued, None, Decision::Approve, "fin-a", reason),
                Err(ReallocationError::Reason)
            );
        }
    }

    #[test]
    fn refusals_keep_the_words_finance_is_shown() {
        let says = |e: ReallocationError| e.to_string();
        assert_eq!(
            says("open".parse::<CaseStatus>().unwrap_err()),
            "status open: use queued, approved, rejected, reallocated or cancelled"
        );
        assert_eq!(says("pay".parse::<Decision>().unwrap_err()), "decision pay: use approve, reject or reallocate");
        assert_eq!(says(ReallocationError::Reason), "a decision needs a reason of 1 to 500 characters");
        assert_eq!(
            says(ReallocationError::SameApprover),
            "the person who approved a case may not also reallocate it: ask another finance officer"
        );
        assert_eq!(says(ReallocationError::NotApproved), "approve the case before reallocating its funds");
        assert_eq!(
            says(ReallocationError::Decided(CaseStatus::Cancelled)),
            "the case is cancelled: no further decision"
        );
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>(), Ok(s));
        }
    }

    #[test]
    fn reports_open_one_case_at_the_roster_amount_and_a_payment_cancels_it() {
        let open = on_receipt(Standing::Ineligible, false, Some(600_000), Standing::NotVisited, None);
        assert_eq!(open, CaseEffect::Open { amount: 600_000 });
        let again =
            on_receipt(Standing::Ineligible, false, Some(600_000), Standing::Ineligible, Some(CaseStatus::Queued));
        assert_eq!(again, CaseEffect::Report, "a second visit counts, it does not open a second case");
        assert_eq!(on_receipt(Standing::Ineligible, true, Some(600_000), Standing::NotVisited, None), CaseEffect::None);
        assert_eq!(on_receipt(Standing::Ineligible, false, None, Standing::NotVisited, None), CaseEffect::None);
        assert_eq!(on_receipt(Standing::Ineligible, false, Some(600_000), Standing::Paid, None), CaseEffect::None);
        for undecided in [CaseStatus::Queued, CaseStatus::Approved] {
            assert_eq!(
                on_receipt(Standing::Paid, false, Some(600_000), Standing::Ineligible, Some(undecided)),
                CaseEffect::Cancel
            );
        }
        assert_eq!(
            on_receipt(Standing::Paid, false, Some(600_000), Standing::Ineligible, Some(CaseStatus::Reallocated)),
            CaseEffect::PaidAfterReallocation
        );
        assert_eq!(
            on_receipt(Standing::Paid, false, Some(600_000), Standing::Ineligible, Some(CaseStatus::Rejected)),
            CaseEffect::None
        );
        assert_eq!(on_receipt(Standing::NotHome, false, Some(600_000), Standing::NotVisited, None), CaseEffect::None);
    }
}
