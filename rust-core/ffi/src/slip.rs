//! The paper receipt for the recipient: ESC/POS bytes the app writes to a Bluetooth printer.

use salur_core::slip::{self, Slip};

use crate::phone::Phone;
use crate::SalurError;

#[uniffi::export]
impl Phone {
    /// The page where recipients check their receipt codes (the server's `/cek`).
    pub fn check_url(&self) -> String {
        self.check_url.clone()
    }

    /// The printed slip of receipt `receipt_id` (ESC/POS for a 58 mm printer): amount, time,
    /// `post_office`, the receipt code and a QR code opening the server's check page with it.
    /// No name, NIK or face.
    pub fn receipt_slip(&self, receipt_id: String, post_office: String) -> Result<Vec<u8>, SalurError> {
        let stored = self
            .store
            .receipts(0, usize::MAX)?
            .into_iter()
            .find(|r| r.id == receipt_id)
            .ok_or_else(|| salur_core::Error::NotFound(format!("no receipt {receipt_id} on this phone")))?;
        let r = salur_core::receipt::verify(&stored.cose, &self.registered()?.public_key)?.receipt;
        Ok(slip::escpos(&Slip {
            code: salur_core::receipt::code(&stored.cose),
            amount: r.amount,
            paid_at: salur_core::dates::wib_minute(r.time.wall_ms),
            post_office,
            roster: r.roster_id,
            check_url: self.check_url.clone(),
        }))
    }
}
