//! A consented, sealed recording of one challenge response, the unit of the project's own set of
//! real data: the camera frames (JPEG) under AES-256-GCM with the deployment's recording key, and
//! a plain header anyone may read without the key (label, split, consent, retention), which the
//! seal authenticates, so a label or a retention date cannot be changed after the fact. Frames,
//! not per-frame measures: a later version of the check must be able to judge the same footage.
//! `docs/privacy.md` says who holds the key, how long a recording is kept and how it is purged.
//!
//! File: `SALURLV1\n`, the header as one line of JSON and `\n`, then the sealed frames (each a
//! 4-byte big-endian length and its JPEG bytes).

use serde::{Deserialize, Serialize};

use crate::crypto::{sha256, DataKey};
use crate::error::{Error, Result};

const MAGIC: &[u8] = b"SALURLV1\n";
/// Largest header, bytes (a consent text of a few paragraphs fits many times over).
const MAX_HEADER: usize = 64 * 1024;
/// Most frames a recording holds: the challenge's own limit (300) with room.
pub const MAX_FRAMES: usize = 600;

/// What a recording shows, as ISO/IEC 30107-3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A real person answering the challenge (bona fide presentation).
    BonaFide,
    /// A presentation attack: a print, a screen, a card, a mask.
    Attack,
}

/// Whether a recording may be looked at when thresholds are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// May be used to choose thresholds.
    Tune,
    /// Kept out of tuning, reported apart: the honest figure.
    Holdout,
}

impl Split {
    /// The split of every recording of `subject` (a pseudonymous id): about one subject in four
    /// is held out, decided by the id's hash, so one person's recordings never sit on both sides.
    pub fn of_subject(subject: &str) -> Self {
        if sha256(subject.as_bytes())[0] < 64 {
            Self::Holdout
        } else {
            Self::Tune
        }
    }
}

/// The readable part of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Format version (1).
    pub version: u32,
    /// Bona fide or attack.
    pub label: Label,
    /// For an attack, its kind (`print`, `screen`, `card`, ...): APCER is reported per kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub species: Option<String>,
    /// Tune or holdout.
    pub split: Split,
    /// Hex SHA-256 of the subject's pseudonymous id (never a name or NIK): keeps one person's
    /// recordings in one split without saying who they are.
    pub subject_sha256: String,
    /// Frames per second the frames were taken at.
    pub fps: f32,
    /// How many frames are sealed.
    pub frames: u32,
    /// When it was recorded, Unix ms.
    pub recorded_ms: i64,
    /// When it must be deleted, Unix ms.
    pub delete_after_ms: i64,
    /// The consent text the person agreed to, as shown to them.
    pub consent: String,
    /// Hex of the first 8 bytes of SHA-256 of the recording key (which key opens it).
    pub key_id: String,
}

impl Header {
    fn check(&self) -> Result<()> {
        let bad = |why: &str| Err(Error::InvalidArgument(format!("recording header: {why}")));
        if self.version != 1 {
            return bad("unknown version");
        }
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 120.0) {
            return bad("fps must be between 0 and 120");
        }
        if self.frames == 0 || self.frames as usize > MAX_FRAMES {
            return bad("between 1 and 600 frames");
        }
        if self.consent.trim().is_empty() {
            return bad("no consent text: a recording is kept only with the person's consent");
        }
        if self.delete_after_ms <= self.recorded_ms {
            return bad("its deletion date is not after its recording");
        }
        if self.species.is_some() != (self.label == Label::Attack) {
            return bad("an attack names its kind, a bona fide recording none");
        }
        Ok(())
    }
}

/// Which key a recording was sealed with.
pub fn key_id(key: &DataKey) -> String {
    sha256(key.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A recording's bytes: `header` and `frames` (JPEG each) sealed with `key`.
pub fn seal(header: &Header, frames: &[Vec<u8>], key: &DataKey) -> Result<Vec<u8>> {
    header.check()?;
    if frames.len() != header.frames as usize {
        return Err(Error::InvalidArgument("the header's frame count differs from the frames".into()));
    }
    if header.key_id != key_id(key) {
        return Err(Error::InvalidArgument("the header names another recording key".into()));
    }
    let head = serde_json::to_vec(header).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let mut plain = Vec::new();
    for f in frames {
        let len = u32::try_from(f.len()).map_err(|_| Error::InvalidArgument("a frame over 4 GB".into()))?;
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(f);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&head);
    out.push(b'\n');
    // The header is the seal's associated data: changing a label or a date breaks the seal.
    out.extend(key.seal(&plain, &head)?);
    Ok(out)
}

/// The header bytes and the sealed rest.
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let not = || Error::InvalidArgument("not a Salur liveness recording (SALURLV1)".into());
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(not)?;
    let end = rest.iter().take(MAX_HEADER).position(|&b| b == b'\n').ok_or_else(not)?;
    Ok((&rest[..end], &rest[end + 1..]))
}

/// The header alone (no key needed: what purging and listing read).
pub fn header(bytes: &[u8]) -> Result<Header> {
    let (head, _) = split(bytes)?;
    let h: Header =
        serde_json::from_slice(head).map_err(|e| Error::InvalidArgument(format!("recording header: {e}")))?;
    h.check()?;
    Ok(h)
}

/// The header and the frames, opened with `key`.
pub fn open(bytes: &[u8], key: &DataKey) -> Result<(Header, Vec<Vec<u8>>)> {
    let h = header(bytes)?;
    if h.key_id != key_id(key) {
        return Err(Error::Crypto(format!("sealed with another recording key ({})", h.key_id)));
    }
    let (head, sealed) = split(bytes)?;
    let plain = key.open(sealed, head)?;
    let mut frames = Vec::new();
    let mut rest = plain.as_slice();
    while !rest.is_empty() {
        let broken = || Error::InvalidArgument("recording frames cut short".into());
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(broken)?;
        let len = u32::from_be_bytes(*len) as usize;
        if tail.len() < len {
            return Err(broken());
        }
        frames.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    if frames.len() != h.frames as usize {
        return Err(Error::InvalidArgument("the recording's frame count differs from its header".into()));
    }
    Ok((h, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(key: &DataKey) -> Header {
        Header {
            version: 1,
            label: Label::BonaFide,
            species: None,
            split: Split::of_subject("pilot-7"),
            subject_sha256: "ab".repeat(32),
            fps: 10.0,
            frames: 2,
            recorded_ms: 1_000,
            delete_after_ms: 2_000,
            consent: "Saya setuju rekaman wajah saya disimpan untuk menguji pemeriksaan.".into(),
            key_id: key_id(key),
        }
    }

    #[test]
    fn a_recording_opens_with_its_key_only_and_its_header_cannot_be_changed() {
        let key = DataKey::generate().unwrap();
        let frames = vec![b"jpeg one".to_vec(), b"jpeg two".to_vec()];
        let bytes = seal(&header(&key), &frames, &key).unwrap();
        let (h, back) = open(&bytes, &key).unwrap();
        assert_eq!((h, back), (header(&key), frames.clone()));
        assert_eq!(super::header(&bytes).unwrap().label, Label::BonaFide, "readable without the key");
        // Its deletion date pushed back (the same length, so the header still reads): the seal
        // no longer opens.
        let at = bytes.windows(22).position(|w| w == b"\"delete_after_ms\":2000").unwrap();
        let mut later = bytes.clone();
        later[at + 18] = b'9';
        assert_eq!(super::header(&later).unwrap().delete_after_ms, 9000);
        assert!(matches!(open(&later, &key), Err(Error::Crypto(_))));
        let other = DataKey::generate().unwrap();
        assert!(matches!(open(&bytes, &other), Err(Error::Crypto(_))));
        let mut no_consent = header(&key);
        no_consent.consent = " ".into();
        assert!(seal(&no_consent, &frames, &key).is_err(), "no consent, no recording");
        assert!(super::header(b"PK\x03\x04").is_err());
    }
}
