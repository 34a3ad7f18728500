//! The receipt the recipient keeps as a QR code on the phone's screen: the signed receipt itself
//! (the very COSE_Sign1 bytes the server stores), so that anyone holding it can check it offline
//! against the device's public key, with no server and no login (`salur receipt verify`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// What every receipt QR text starts with (the letters' tokens start `SALUR-L1:`).
pub const QR_PREFIX: &str = "SALUR-R1:";

/// Largest signed receipt put into a QR code: at error correction M a QR code holds 2,331 bytes,
/// and the base64 text is a third longer.
pub const MAX_QR_RECEIPT: usize = 1_700;

/// The QR code's text for a signed receipt.
pub fn qr_text(cose: &[u8]) -> Result<String> {
    if cose.len() > MAX_QR_RECEIPT {
        return Err(Error::InvalidReceipt(format!(
            "the receipt is {} bytes: too large for a QR code (at most {MAX_QR_RECEIPT})",
            cose.len()
        )));
    }
    Ok(format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(cose)))
}

/// The signed bytes in a scanned receipt QR text (surrounding spaces ignored); verify them with
/// [`super::verify`].
pub fn from_qr_text(text: &str) -> Result<Vec<u8>> {
    let body = text
        .trim()
        .strip_prefix(QR_PREFIX)
        .ok_or_else(|| Error::InvalidReceipt(format!("not a Salur receipt QR code (it starts {QR_PREFIX})")))?;
    if body.len() > MAX_QR_RECEIPT * 4 / 3 + 4 {
        return Err(Error::InvalidReceipt("the receipt QR text is too long".into()));
    }
    URL_SAFE_NO_PAD.decode(body).map_err(|_| Error::InvalidReceipt("the receipt QR text is not base64url".into()))
}

/// The modules of a QR code of `text` (error correction M, no quiet zone), row by row, `true`
/// dark; with its side in modules. For the screen to draw, one cell a module.
pub fn qr_modules(text: &str) -> Result<(u32, Vec<bool>)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::InvalidArgument(format!("cannot make a QR code of {} bytes: {e}", text.len())))?;
    let side = code.width() as u32;
    Ok((side, code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_round_trips_and_anything_else_is_refused() {
        let cose = (0..=255u8).cycle().take(700).collect::<Vec<_>>();
        let text = qr_text(&cose).unwrap();
        assert!(text.starts_with(QR_PREFIX) && text.is_ascii());
        assert_eq!(from_qr_text(&format!(" {text}\n")).unwrap(), cose);
        for bad in ["", "SALUR-L1:abc", "SALUR-R1:***", "salur-r1:AAAA"] {
            assert!(matches!(from_qr_text(bad), Err(Error::InvalidReceipt(_))), "{bad:?}");
        }
        assert!(qr_text(&vec![0; MAX_QR_RECEIPT + 1]).is_err());
        let (side, modules) = qr_modules(&qr_text(&vec![7; MAX_QR_RECEIPT]).unwrap()).unwrap();
        assert_eq!(modules.len(), (side * side) as usize);
        assert!(side <= 177, "fits a QR code: {side}");
    }

    #[test]
    fn the_drawn_modules_read_back_as_the_text() {
        let text = qr_text(&(0..=255u8).cycle().take(640).collect::<Vec<_>>()).unwrap();
        let (side, modules) = qr_modules(&text).unwrap();
        // As the screen draws it: 4 px a module inside a quiet zone of four modules.
        let (px, quiet) = (4usize, 4usize);
        let n = (side as usize + 2 * quiet) * px;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(n, n, |x, y| {
            let (mx, my) = ((x / px).wrapping_sub(quiet), (y / px).wrapping_sub(quiet));
            let dark = mx < side as usize && my < side as usize && modules[my * side as usize + mx];
            if dark {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, text);
    }
}
