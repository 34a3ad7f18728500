//! Collection by a family member: only a member of the recipient's Kartu Keluarga (the roster
//! lists them) may collect, on their own e-KTP and live face, with a photographed surat kuasa.

use crate::error::Result;
use crate::store::{KkMember, Store};

/// Who the NIK typed from a would-be proxy's e-KTP is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyLookup {
    /// A member of the recipient's KK: compare the name with the card, then the live check.
    Member(KkMember),
    /// Not 16 digits: type it again from the card.
    NotANik,
    /// The recipient themselves: they collect in person, not by proxy.
    RecipientThemself,
    /// Not in the recipient's KK: they may not collect for them.
    NotInKk,
}

/// Looks up the would-be proxy with NIK `nik` in the household of the recipient.
pub fn find_member(store: &Store, roster_id: &str, recipient: &[u8], nik: &str) -> Result<ProxyLookup> {
    let typed: String = nik.chars().filter(|c| !c.is_whitespace() && *c != '.' && *c != '-').collect();
    if typed.len() != 16 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ProxyLookup::NotANik);
    }
    let r = store.recipient(roster_id, recipient)?;
    if r.nik == typed {
        return Ok(ProxyLookup::RecipientThemself);
    }
    Ok(r.household.into_iter().find(|m| m.nik == typed).map_or(ProxyLookup::NotInKk, ProxyLookup::Member))
}

/// Longest side kept of a surat kuasa photo: a handwritten A4 page stays legible, and a 12 MP
/// camera file shrinks to a few hundred kilobytes (kept as little as the audit needs).
pub const KUASA_MAX_SIDE: u32 = 1600;
/// Shortest side accepted: below this the signature and the names cannot be read.
pub const KUASA_MIN_SIDE: u32 = 480;

/// Longest side kept of the proxy's e-KTP photo: the card's portrait stays large enough for the
/// face engine and for an auditor's eye.
pub const CARD_MAX_SIDE: u32 = 1280;

/// The surat kuasa photo as the receipt keeps it: the camera's JPEG or PNG decoded (bounded),
/// refused when too small to read, scaled to [`KUASA_MAX_SIDE`] and encoded once as JPEG, so the
/// signed hash names exactly the bytes the phone seals and uploads.
pub fn kuasa_photo(bytes: &[u8]) -> Result<Vec<u8>> {
    let img = crate::face::decode_image(bytes)?;
    let (w, h) = img.dimensions();
    if w.min(h) < KUASA_MIN_SIDE {
        return Err(crate::Error::InvalidArgument(format!(
            "the surat kuasa photo is {w}x{h}: photograph the whole letter closer (at least {KUASA_MIN_SIDE} px a side)"
        )));
    }
    one_jpeg(img, KUASA_MAX_SIDE)
}

/// The proxy's e-KTP photo as the receipt keeps it (the face engine's reference is made from
/// these bytes): decoded (bounded), scaled to [`CARD_MAX_SIDE`], encoded once as JPEG.
pub fn card_photo(bytes: &[u8]) -> Result<Vec<u8>> {
    one_jpeg(crate::face::decode_image(bytes)?, CARD_MAX_SIDE)
}

/// `img` at most `max_side` on its longer side, as one JPEG (quality 80).
fn one_jpeg(img: image::RgbImage, max_side: u32) -> Result<Vec<u8>> {
    let (w, h) = img.dimensions();
    let img = if w.max(h) > max_side {
        let scale = f64::from(max_side) / f64::from(w.max(h));
        let size = |x: u32| ((f64::from(x) * scale).round() as u32).max(1);
        image::imageops::resize(&img, size(w), size(h), image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .map_err(|e| crate::Error::InvalidArgument(format!("cannot encode the photo: {e}")))?;
    Ok(out)
}
