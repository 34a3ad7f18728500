//! Opening a recipient from the invitation letter scanned at the door: verified offline with the
//! programme key that came with the roster, checked against the phone's copy of the roster, and
//! noted so that the receipts recorded for the recipient name the letter.

use crate::error::{Error, Result};
use crate::letter::{self, Letter, Problem};
use crate::store::{Recipient, Store};

/// What a scanned letter opened, or why it did not.
#[derive(Debug, Clone)]
pub enum LetterOpening {
    /// A genuine letter of a recipient on this phone's roster, for the amount the roster says.
    Opened {
        /// The letter as signed.
        letter: Letter,
        /// The recipient it opens.
        recipient: Box<Recipient>,
    },
    /// Refused: what the worker is told, and the detail for the audit trail.
    Refused {
        /// Which refusal.
        problem: Problem,
        /// The detail (no NIK, no name).
        why: String,
    },
}

fn refused(problem: Problem, why: impl Into<String>) -> Result<LetterOpening> {
    Ok(LetterOpening::Refused { problem, why: why.into() })
}

/// Opens the recipient `token` (a letter QR code's text) names, on the phone's copy of
/// `roster_id` (the roster the worker is working). Storage errors are errors; every reason a
/// letter cannot open a payment is a [`LetterOpening::Refused`].
pub fn open_letter(store: &Store, roster_id: &str, token: &str) -> Result<LetterOpening> {
    if !token.trim().starts_with(letter::QR_PREFIX) {
        return refused(Problem::NotALetter, "the code is not a Salur invitation letter");
    }
    let Some(spki) = store.programme_key(roster_id)? else {
        return refused(Problem::NoProgrammeKey, format!("no programme key for roster {roster_id}: download it again"));
    };
    let letter = match letter::verify(token, &spki) {
        Ok(l) => l,
        Err(Error::InvalidLetter(why)) => return refused(Problem::Forged, why),
        Err(other) => return Err(other),
    };
    if letter.roster != roster_id {
        return refused(Problem::OtherRoster, format!("the letter is for roster {}, not {roster_id}", letter.roster));
    }
    let reference = hex::decode(&letter.recipient).map_err(|_| Error::InvalidLetter("recipient is not hex".into()))?;
    let recipient = match store.recipient(roster_id, &reference) {
        Ok(r) => r,
        Err(Error::NotFound(_)) => {
            return refused(
                Problem::NotOnThisPhone,
                format!("letter {} is not on this phone's roster: another worker's recipient", letter.letter_id),
            )
        }
        Err(other) => return Err(other),
    };
    if let Err(Error::InvalidLetter(why)) = letter::check_against_roster(&letter, roster_id, recipient.amount) {
        return refused(Problem::AmountDiffers, why);
    }
    store.note_scanned_letter(roster_id, &reference, &letter.letter_id)?;
    Ok(LetterOpening::Opened { letter, recipient: Box::new(recipient) })
}
