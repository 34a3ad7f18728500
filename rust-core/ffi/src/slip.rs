//! What the recipient keeps: the paper slip (ESC/POS bytes the app writes to a Bluetooth
//! printer) and the QR code of the signed receipt on the phone's screen.

use salur_core::slip::{self, Slip};

use crate::phone::Phone;
use crate::SalurError;

/// The signed receipt as a QR code for the screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReceiptQr {
    /// The QR code's text (`SALUR-R1:` and the signed receipt, base64url): `salur receipt verify`
    /// checks it offline.
    pub text: String,
    /// Side in modules.
    pub side: u32,
    /// The modules row by row, 1 dark and 0 light (no quiet zone: leave four light modules round it).
    pub modules: Vec<u8>,
}

impl Phone {
    fn stored_receipt(&self, receipt_id: &str) -> Result<salur_core::store::StoredReceipt, SalurError> {
        Ok(self
            .store
            .receipts(0, usize::MAX)?
            .into_iter()
            .find(|r| r.id == receipt_id)
            .ok_or_else(|| salur_core::Error::NotFound(format!("no receipt {receipt_id} on this phone")))?)
    }
}

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
        let stored = self.stored_receipt(&receipt_id)?;
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

    /// The QR code of receipt `receipt_id` for the recipient to keep (photographed from the screen):
    /// the signed receipt itself, checked offline against this device's key.
    pub fn receipt_qr(&self, receipt_id: String) -> Result<ReceiptQr, SalurError> {
        let stored = self.stored_receipt(&receipt_id)?;
        let text = salur_core::receipt::qr_text(&stored.cose)?;
        let (side, modules) = salur_core::receipt::qr_modules(&text)?;
        Ok(ReceiptQr { text, side, modules: modules.into_iter().map(u8::from).collect() })
    }
}
