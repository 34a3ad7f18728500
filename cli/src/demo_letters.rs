//! The demo's invitation letters: printed to a PDF as `salur letters` prints them, each held up
//! to the phone's camera at the door (its QR code drawn as a camera would see a printed sheet:
//! uneven light, sensor noise) and opened by the phone's own check.

use salur_core::doorstep::{self, LetterOpening};
use salur_core::keys::SoftwareSigner;
use salur_core::letter::{self, Letter};
use salur_core::store::{Recipient, Store};
use salur_core::Error;
use salur_server::store::PrintedLetter;

/// Pixels per QR module in the camera's view (a letter held at arm's length in a 720p frame).
const PX_PER_MODULE: usize = 4;

/// A phone photo of a handwritten surat kuasa (JPEG, 960x1280): ruled lines of writing and a
/// signature over a stamp on paper, lit unevenly, with sensor grain. A drawn stand-in: the test
/// photos hold no such letter, and only its hash and sealed bytes matter to the receipt.
pub fn kuasa_photo() -> Result<Vec<u8>, Error> {
    let (w, h) = (960u32, 1280u32);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let page = image::GrayImage::from_fn(w, h, |x, y| {
        let writing = y > 160 && y < 900 && y % 56 < 5 && x > 90 && x < 870 - (y * 37 % 300);
        let signature = y > 1000 && y < 1100 && ((x as f32 / 9.0).sin() * 30.0 + 1050.0 - y as f32).abs() < 3.0;
        let signature = signature && (560..820).contains(&x);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 13) as f32 - 6.0;
        let light = 0.7 + 0.3 * (x + y) as f32 / (w + h) as f32;
        let paper = if writing || signature { 50.0 } else { 230.0 };
        image::Luma([(paper * light + noise).clamp(0.0, 255.0) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&page)
        .map_err(|e| Error::InvalidArgument(format!("drawing the surat kuasa: {e}")))?;
    Ok(out)
}

/// What a camera frame of `token`'s printed QR code looks like: the code on a sheet of paper,
/// lit unevenly from one side, with the grain of a phone's sensor.
pub fn photographed(token: &str) -> Result<(Vec<u8>, u32, u32), Error> {
    let (side, modules) = super::letters::qr_pixels(token)?;
    let (w, h) = (1280usize, 720usize);
    let code = side as usize * PX_PER_MODULE;
    let (x0, y0) = ((w - code) / 2, (h - code) / 2);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut luma = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let inside = (x0..x0 + code).contains(&x) && (y0..y0 + code).contains(&y);
            let ink = inside && modules[(y - y0) / PX_PER_MODULE * side as usize + (x - x0) / PX_PER_MODULE] == 0;
            // xorshift: the same grain on every run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed % 17) as f32 - 8.0;
            let light = 0.75 + 0.25 * x as f32 / w as f32;
            let paper = if ink { 40.0 } else { 225.0 };
            luma[y * w + x] = (paper * light + noise).clamp(0.0, 255.0) as u8;
        }
    }
    Ok((luma, w as u32, h as u32))
}

/// The worker scans the letter in front of the camera: the recipient it opens on the phone's
/// roster, or why it does not (what the app tells the worker).
pub fn scan_at_door(
    store: &Store,
    roster: &str,
    frame: &(Vec<u8>, u32, u32),
) -> Result<Result<Recipient, String>, Error> {
    let (luma, w, h) = frame;
    let token = letter::scan(luma, *w, *h, *w)?;
    Ok(match doorstep::open_letter(store, roster, &token)? {
        LetterOpening::Opened { recipient, .. } => Ok(*recipient),
        LetterOpening::Refused { problem, why } => Err(format!("{problem:?}: {why}")),
    })
}

/// A copy of `genuine` with the amount raised, signed by someone without the programme's key
/// (the forger can print a QR code, not the programme's signature).
pub fn forged(genuine: &PrintedLetter, amount: u64) -> Result<String, Error> {
    let (forger, _) = SoftwareSigner::generate()?;
    letter::issue(&Letter { amount, ..genuine.letter.clone() }, &forger)
}
