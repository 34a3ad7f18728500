//! Invitation letters (surat undangan): the signed token in the letter's QR code, and reading
//! it back from a camera frame.
//!
//! The token is a COSE_Sign1 ([`crate::sign1`]) made with the programme key, which stays on
//! the server; phones and auditors hold only its public key. The payload names the roster, the
//! period, the recipient's reference (the keyed hash the roster already uses: no NIK, no name),
//! the amount in rupiah and the letter's id, so an edited amount or a letter of another period
//! fails here, offline.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ciborium::Value;

use crate::error::{Error, Result};
use crate::keys::Signer;
use crate::sign1;

/// What the QR code's text starts with (the token's version).
pub const QR_PREFIX: &str = "SALUR-L1:";
/// Longest token text accepted (a QR code of version 15 or so holds it at level M).
pub const MAX_TOKEN_CHARS: usize = 1024;
/// Largest frame [`scan`] reads (a 1080p camera frame is 2 Mpx).
pub const MAX_SCAN_PIXELS: usize = 4096 * 4096;

/// One letter as signed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Letter {
    /// The letter's id (unique per roster).
    pub letter_id: String,
    /// Roster the recipient is on.
    pub roster: String,
    /// Programme period.
    pub period: String,
    /// The recipient's reference in the roster (hex of its 16 bytes).
    pub recipient: String,
    /// Whole rupiah the recipient is owed.
    pub amount: u64,
}

/// A letter's id: derived from the roster and the recipient's reference, so a reprint carries
/// the same id and the server can tell a receipt's letter id is that recipient's letter.
pub fn letter_id(roster_id: &str, recipient: &[u8]) -> String {
    let digest = crate::crypto::sha256(&[b"letter|", roster_id.as_bytes(), b"|", recipient].concat());
    format!("SU-{}", hex::encode_upper(&digest[..5]))
}

/// Why a scanned letter does not open a payment on this phone (what the worker is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The code is not a Salur invitation letter (another QR code).
    NotALetter,
    /// The signature does not verify: forged, altered, or damaged beyond reading.
    Forged,
    /// Signed, but for another roster or period.
    OtherRoster,
    /// Signed for this roster, but the recipient is not on this phone (another worker's).
    NotOnThisPhone,
    /// The amount printed differs from the roster's (a letter from before a correction).
    AmountDiffers,
    /// The phone has no programme key for the roster yet (download the roster again).
    NoProgrammeKey,
}

fn bad(why: String) -> Error {
    Error::InvalidLetter(why)
}

/// The letter's payload in deterministic CBOR: {1: 1, 2: letter id, 3: roster, 4: period,
/// 5: recipient (bytes), 6: amount}.
fn encode_payload(letter: &Letter) -> Result<Vec<u8>> {
    let recipient = hex::decode(&letter.recipient)
        .ok()
        .filter(|r| r.len() == 16)
        .ok_or_else(|| bad("the recipient reference is not 16 bytes of hex".into()))?;
    for (name, v) in [("letter id", &letter.letter_id), ("roster", &letter.roster), ("period", &letter.period)] {
        if v.is_empty() || v.len() > 64 {
            return Err(bad(format!("{name} must be 1 to 64 characters")));
        }
    }
    let map = Value::Map(vec![
        (1.into(), 1.into()),
        (2.into(), letter.letter_id.clone().into()),
        (3.into(), letter.roster.clone().into()),
        (4.into(), letter.period.clone().into()),
        (5.into(), Value::Bytes(recipient)),
        (6.into(), letter.amount.into()),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).map_err(|e| bad(format!("cannot encode: {e}")))?;
    Ok(out)
}

fn decode_payload(bytes: &[u8]) -> Result<Letter> {
    let value: Value = ciborium::from_reader(bytes).map_err(|e| bad(format!("payload is not CBOR: {e}")))?;
    let Value::Map(entries) = value else { return Err(bad("payload is not a map".into())) };
    let field = |key: i64| {
        entries
            .iter()
            .find(|(k, _)| k.as_integer() == Some(key.into()))
            .map(|(_, v)| v)
            .ok_or_else(|| bad(format!("payload lacks field {key}")))
    };
    let text =
        |key: i64| field(key)?.as_text().map(str::to_string).ok_or_else(|| bad(format!("field {key} is not text")));
    if field(1)?.as_integer() != Some(1.into()) {
        return Err(bad("unknown letter version".into()));
    }
    let recipient = field(5)?.as_bytes().ok_or_else(|| bad("field 5 is not bytes".into()))?;
    let amount = field(6)?.as_integer().and_then(|a| u64::try_from(a).ok()).ok_or_else(|| bad("bad amount".into()))?;
    let letter =
        Letter { letter_id: text(2)?, roster: text(3)?, period: text(4)?, recipient: hex::encode(recipient), amount };
    // One byte form: the payload must be exactly what encoding the decoded letter gives.
    if entries.len() != 6 || encode_payload(&letter)? != bytes {
        return Err(bad("payload is not in its canonical encoding".into()));
    }
    Ok(letter)
}

/// Signs `letter` with the programme key; the QR code's text.
pub fn issue(letter: &Letter, programme: &dyn Signer) -> Result<String> {
    let bytes = sign1::sign(encode_payload(letter)?, programme)?;
    Ok(format!("{QR_PREFIX}{}", B64URL.encode(bytes)))
}

/// Verifies a QR code's text against the programme's public key (SPKI DER) and decodes it.
pub fn verify(token: &str, programme_spki: &[u8]) -> Result<Letter> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(bad(format!("token longer than {MAX_TOKEN_CHARS} characters")));
    }
    let body = token.trim().strip_prefix(QR_PREFIX).ok_or_else(|| bad("not a Salur invitation letter".into()))?;
    let bytes = B64URL.decode(body).map_err(|_| bad("token is not base64url".into()))?;
    let payload = sign1::open(&bytes, programme_spki, MAX_TOKEN_CHARS, "programme", bad)?;
    decode_payload(&payload)
}

/// Checks that a verified letter is for `roster` (the one on this phone) and owes `amount`
/// (the roster's figure for its recipient): a letter of another period, or one printed before
/// the amount changed, must not open a payment.
pub fn check_against_roster(letter: &Letter, roster: &str, amount: u64) -> Result<()> {
    if letter.roster != roster {
        return Err(bad(format!("the letter is for roster {}, not {roster}", letter.roster)));
    }
    if letter.amount != amount {
        return Err(bad(format!(
            "the letter says {} but the roster says {}",
            crate::slip::rupiah(letter.amount),
            crate::slip::rupiah(amount)
        )));
    }
    Ok(())
}

/// Finds a letter's QR code in a grey (luma) camera frame of `width` x `height` with rows
/// `stride` bytes apart; its text, not yet verified. [`Error::NotFound`] when none is seen.
pub fn scan(luma: &[u8], width: u32, height: u32, stride: u32) -> Result<String> {
    let missing = "no invitation letter QR code in view: hold the letter flat and closer";
    scan_for(luma, width, height, stride, &|t| t.starts_with(QR_PREFIX), missing)
}

/// Finds a QR code whose text is `wanted` in a grey camera frame, as [`scan`] does for letters
/// (the enrolment scan takes any code, to say when it is not an enrolment code);
/// [`Error::NotFound`] with `missing` when none is seen.
pub fn scan_for(
    luma: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    wanted: &dyn Fn(&str) -> bool,
    missing: &str,
) -> Result<String> {
    let (w, h, s) = (width as usize, height as usize, stride as usize);
    if w == 0 || h == 0 || s < w || w.saturating_mul(h) > MAX_SCAN_PIXELS {
        return Err(Error::InvalidFrame(format!("{width}x{height} with stride {stride}")));
    }
    // Checked: on a 32-bit phone the product of untrusted sizes could wrap past the length check.
    if s.checked_mul(h - 1).and_then(|n| n.checked_add(w)).is_none_or(|need| luma.len() < need) {
        return Err(Error::InvalidFrame(format!("{} bytes for {width}x{height} with stride {stride}", luma.len())));
    }
    let read = |pixel: &dyn Fn(usize, usize) -> u8| {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
        img.detect_grids().iter().filter_map(|g| g.decode().ok()).map(|(_, t)| t).find(|t| wanted(t))
    };
    if let Some(text) = read(&|x, y| luma[y * s + x]) {
        return Ok(text);
    }
    // Sensor noise breaks the binarisation of a small code; a 3x3 mean before it is what
    // camera scanners do (a noisy photo of a printed letter reads after it, not before).
    // quirc's binarisation (rqrr is its port) is fragile on such frames, and which smoothing
    // helps varies from code to code: on seven noisy, turned photographed letters each attempt
    // alone missed some and together they read all. Turned or resampled frames are still often
    // missed (cli/tests/it/letters.rs says how often): a known gap.
    let smooth = box_mean_3x3(luma, w, h, s);
    if let Some(text) = read(&|x, y| smooth[y * w + x]) {
        return Ok(text);
    }
    let packed = image::GrayImage::from_fn(width, height, |x, y| image::Luma([luma[y as usize * s + x as usize]]));
    let softer = image::imageops::blur(&packed, 1.7);
    let smaller = image::imageops::resize(
        &image::imageops::blur(&packed, 1.0),
        (width * 2 / 3).max(1),
        (height * 2 / 3).max(1),
        image::imageops::FilterType::Triangle,
    );
    for img in [softer, smaller] {
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(img.width() as usize, img.height() as usize, |x, y| {
                img.get_pixel(x as u32, y as u32).0[0]
            });
        let found = prepared.detect_grids().iter().filter_map(|g| g.decode().ok()).map(|(_, t)| t).find(|t| wanted(t));
        if let Some(text) = found {
            return Ok(text);
        }
    }
    Err(Error::NotFound(missing.into()))
}

/// The 3x3 mean of a grey frame (edges clamped), `w` x `h`, packed.
fn box_mean_3x3(luma: &[u8], w: usize, h: usize, stride: usize) -> Vec<u8> {
    let at = |x: usize, y: usize| luma[y * stride + x] as u16;
    let mut rows = vec![0u16; w * h];
    for y in 0..h {
        for x in 0..w {
            rows[y * w + x] = at(x.saturating_sub(1), y) + at(x, y) + at((x + 1).min(w - 1), y);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let sum = rows[y.saturating_sub(1) * w + x] + rows[y * w + x] + rows[(y + 1).min(h - 1) * w + x];
            out[y * w + x] = (sum / 9) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareSigner;

    fn letter() -> Letter {
        Letter {
            letter_id: "L-0001".into(),
            roster: "blt-2026-11".into(),
            period: "blt-2026-11".into(),
            recipient: "ab".repeat(16),
            amount: 600_000,
        }
    }

    fn key() -> (SoftwareSigner, Vec<u8>) {
        let (signer, _) = SoftwareSigner::generate().unwrap();
        let spki = signer.public_key_spki().unwrap();
        (signer, spki)
    }

    #[test]
    fn an_issued_letter_verifies_and_reads_back() {
        let (signer, spki) = key();
        let token = issue(&letter(), &signer).unwrap();
        assert!(token.starts_with(QR_PREFIX) && token.len() < 400, "{} chars", token.len());
        assert_eq!(verify(&token, &spki).unwrap(), letter());
        check_against_roster(&letter(), "blt-2026-11", 600_000).unwrap();
    }

    #[test]
    fn another_key_a_changed_byte_and_other_rosters_are_refused() {
        let (signer, _) = key();
        let (_, other_spki) = key();
        let token = issue(&letter(), &signer).unwrap();
        assert!(matches!(verify(&token, &other_spki), Err(Error::InvalidLetter(_))));
        let spki = signer.public_key_spki().unwrap();
        let bytes = B64URL.decode(&token[QR_PREFIX.len()..]).unwrap();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            let forged = format!("{QR_PREFIX}{}", B64URL.encode(&changed));
            assert!(matches!(verify(&forged, &spki), Err(Error::InvalidLetter(_))), "byte {i}");
        }
        assert!(check_against_roster(&letter(), "blt-2026-12", 600_000).is_err());
        assert!(check_against_roster(&letter(), "blt-2026-11", 300_000).is_err());
        assert!(verify("https://example.com", &spki).is_err());
    }
}
