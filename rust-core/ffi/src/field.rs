//! What the worker enters at the door besides the face: a supervisor's override with its approval
//! code, and the phone's last location fix. Checked here, before anything is signed.

use salur_core::receipt::Location;

use crate::SalurError;

/// A location fix is attached to a receipt while it is at most this old (monotonic clock).
pub const LOCATION_MAX_AGE_MS: u64 = 10 * 60 * 1000;

/// Why a supervisor vouches for a recipient (counted on the dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OverrideReason {
    /// The recipient cannot do the live check (injured neck, blind, very old...).
    CannotDoLiveCheck,
    /// Completed face comparisons did not verify a recipient the supervisor knows.
    FaceNotVerified,
    /// Something else, said in the reason.
    Other,
}

impl From<OverrideReason> for salur_core::receipt::OverrideCode {
    fn from(r: OverrideReason) -> Self {
        match r {
            OverrideReason::CannotDoLiveCheck => Self::CannotDoLiveCheck,
            OverrideReason::FaceNotVerified => Self::FaceNotVerified,
            OverrideReason::Other => Self::Other,
        }
    }
}

/// A supervisor's override as entered at the door.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OverrideApproval {
    /// The supervisor's worker id.
    pub supervisor_id: String,
    /// Why, in words (at least five characters).
    pub reason: String,
    /// Why, as a code the dashboard counts.
    pub code: OverrideReason,
    /// The supervisor's 8-digit answer to `Phone.overrideChallenge` (the server checks it).
    pub approval_code: String,
}

impl OverrideApproval {
    /// Refuses an override the server would flag at once: no supervisor or reason, a code that is
    /// not 8 digits, or the worker approving their own override.
    pub(crate) fn check(&self, worker_id: &str) -> Result<(), SalurError> {
        if self.supervisor_id.trim().is_empty() || self.reason.trim().len() < 5 {
            return Err(SalurError::invalid(
                "an override needs the supervisor's id and a reason in words",
                "Enter the supervisor's id and say why in words.",
            ));
        }
        if !salur_core::approval::is_code(&self.approval_code) {
            return Err(SalurError::invalid(
                "the approval code must be exactly 8 digits",
                "Read the challenge to your supervisor and enter the 8-digit code they give back.",
            ));
        }
        if self.supervisor_id.trim().eq_ignore_ascii_case(worker_id.trim()) {
            return Err(SalurError::invalid(
                "the supervisor approving an override cannot be the worker recording it",
                "Another person must approve: call your supervisor.",
            ));
        }
        Ok(())
    }
}

/// Refuses a payment the recipient did not confirm receiving in full.
pub(crate) fn check_received_in_full(received_in_full: bool) -> Result<(), SalurError> {
    if received_in_full {
        return Ok(());
    }
    Err(SalurError::invalid(
        "a payment is recorded only when the recipient received the whole amount",
        "Hand over the whole amount and ask the recipient to confirm before recording.",
    ))
}

/// A position from the phone's location provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct GeoFix {
    /// Latitude in 1e-7 degrees (±90°).
    pub lat_e7: i32,
    /// Longitude in 1e-7 degrees (±180°).
    pub lon_e7: i32,
    /// Accuracy radius in metres (at most 100 km).
    pub accuracy_m: u32,
    /// When it was taken, on the monotonic clock (`SystemClock.elapsedRealtime()`).
    pub mono_ms: u64,
}

impl GeoFix {
    fn location(&self) -> Location {
        Location { lat_e7: self.lat_e7, lon_e7: self.lon_e7, accuracy_m: self.accuracy_m }
    }

    /// Refuses a fix off the globe or less accurate than 100 km.
    pub(crate) fn check(&self) -> Result<(), SalurError> {
        self.location().check().map_err(|e| {
            let SalurError::Failed { kind, detail, .. } = SalurError::from(e);
            SalurError::Failed {
                kind,
                detail,
                hint: Some("The location reading is not usable: try again outside.".into()),
            }
        })
    }

    /// The receipt's location when recorded at `mono_ms`: the fix if it is at most ten minutes
    /// old (a fix from after the record's clock is not trusted either).
    pub(crate) fn at(fix: Option<&GeoFix>, mono_ms: u64) -> Option<Location> {
        let fix = fix?;
        let age = mono_ms.checked_sub(fix.mono_ms)?;
        (age <= LOCATION_MAX_AGE_MS).then(|| fix.location())
    }
}

#[cfg(test)]
mod tests {
    use salur_core::ErrorKind;

    use super::*;

    fn approval(supervisor: &str, code: &str) -> OverrideApproval {
        OverrideApproval {
            supervisor_id: supervisor.into(),
            reason: "stiff neck, cannot turn".into(),
            code: OverrideReason::CannotDoLiveCheck,
            approval_code: code.into(),
        }
    }

    fn kind_and_hint(r: Result<(), SalurError>) -> (ErrorKind, bool) {
        let SalurError::Failed { kind, hint, .. } = r.unwrap_err();
        (kind, hint.is_some())
    }

    #[test]
    fn an_approval_code_is_8_digits_from_someone_else() {
        assert!(approval("pos-sup-1", "01234567").check("pos-1").is_ok());
        for code in ["", "1234567", "123456789", "1234 678", "abcdefgh", "１２３４５６７８"] {
            assert_eq!(kind_and_hint(approval("pos-sup-1", code).check("pos-1")), (ErrorKind::InvalidArgument, true));
        }
        assert_eq!(kind_and_hint(approval(" POS-1 ", "01234567").check("pos-1")), (ErrorKind::InvalidArgument, true));
        assert_eq!(kind_and_hint(approval("  ", "01234567").check("pos-1")), (ErrorKind::InvalidArgument, true));
        assert_eq!(kind_and_hint(check_received_in_full(false)), (ErrorKind::InvalidArgument, true));
        assert!(check_received_in_full(true).is_ok());
    }

    #[test]
    fn a_fix_is_bounded_and_attached_for_ten_minutes() {
        let fix = GeoFix { lat_e7: -62_088_000, lon_e7: 1_068_456_000, accuracy_m: 15, mono_ms: 1_000_000 };
        assert!(fix.check().is_ok());
        for bad in [
            GeoFix { lat_e7: 900_000_001, ..fix },
            GeoFix { lat_e7: i32::MIN, ..fix },
            GeoFix { lon_e7: -1_800_000_001, ..fix },
            GeoFix { accuracy_m: 100_001, ..fix },
        ] {
            assert_eq!(kind_and_hint(bad.check()), (ErrorKind::InvalidArgument, true));
        }
        let at = |mono| GeoFix::at(Some(&fix), mono);
        assert_eq!(at(1_000_000).map(|l| l.accuracy_m), Some(15));
        assert!(at(1_000_000 + LOCATION_MAX_AGE_MS).is_some());
        assert!(at(1_000_001 + LOCATION_MAX_AGE_MS).is_none(), "older than ten minutes");
        assert!(at(999_999).is_none(), "taken after the record's clock");
        assert!(GeoFix::at(None, 1_000_000).is_none());
    }
}
