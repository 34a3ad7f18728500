//! Invitation letters at the door: the camera frame's QR code read, verified offline with the
//! roster's programme key and opened on the phone's roster (all decided in salur-core).

use salur_core::doorstep::{self, LetterOpening};
use salur_core::letter::{self, Problem};

use crate::face::CameraFrame;
use crate::phone::{Phone, RecipientItem};
use crate::SalurError;

/// Why a letter does not open a payment (the screen says what to do about each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LetterProblem {
    /// Another QR code, not a Salur invitation letter.
    NotALetter,
    /// Forged, altered or damaged: the programme's signature does not verify.
    Forged,
    /// A genuine letter of another roster or period.
    OtherRoster,
    /// A genuine letter of a recipient not on this phone (another worker's).
    NotOnThisPhone,
    /// The amount on the letter is not the roster's.
    AmountDiffers,
    /// The phone has no programme key for this roster: download the roster again.
    NoProgrammeKey,
}

/// What scanning a letter gave.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum LetterScan {
    /// No letter's QR code in this frame (keep the camera on it).
    NoCode,
    /// The recipient the letter opens; the receipts recorded for them will name `letter_id`.
    Opened {
        /// The letter's id.
        letter_id: String,
        /// Period printed on it.
        period: String,
        /// The recipient.
        recipient: RecipientItem,
    },
    /// Refused: why, and the detail (no NIK or name in it).
    Refused {
        /// What is wrong.
        problem: LetterProblem,
        /// The detail, for the worker's report.
        detail: String,
    },
}

fn problem(p: Problem) -> LetterProblem {
    match p {
        Problem::NotALetter => LetterProblem::NotALetter,
        Problem::Forged => LetterProblem::Forged,
        Problem::OtherRoster => LetterProblem::OtherRoster,
        Problem::NotOnThisPhone => LetterProblem::NotOnThisPhone,
        Problem::AmountDiffers => LetterProblem::AmountDiffers,
        Problem::NoProgrammeKey => LetterProblem::NoProgrammeKey,
    }
}

#[uniffi::export]
impl Phone {
    /// Opens the recipient a letter's QR code text names on `roster_id` (what the worker works).
    pub fn open_letter(&self, roster_id: String, token: String) -> Result<LetterScan, SalurError> {
        Ok(match doorstep::open_letter(&self.store, &roster_id, &token)? {
            LetterOpening::Opened { letter, recipient } => {
                let standing = self.store.standing(&roster_id, &recipient.recipient)?;
                LetterScan::Opened {
                    letter_id: letter.letter_id,
                    period: letter.period,
                    recipient: RecipientItem::new(*recipient, standing),
                }
            }
            LetterOpening::Refused { problem: p, why } => LetterScan::Refused { problem: problem(p), detail: why },
        })
    }

    /// Looks for a letter's QR code in a camera frame (its luma plane) and opens it as
    /// [`Phone::open_letter`] does; `NoCode` while none is in view.
    pub fn scan_letter(&self, roster_id: String, frame: CameraFrame) -> Result<LetterScan, SalurError> {
        match letter::scan(&frame.y, frame.width, frame.height, frame.y_row_stride) {
            Ok(token) => self.open_letter(roster_id, token),
            Err(salur_core::Error::NotFound(_)) => Ok(LetterScan::NoCode),
            Err(e) => Err(e.into()),
        }
    }
}
