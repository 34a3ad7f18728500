//! The versioned binary face template stored in rosters and on the phone.
//!
//! Layout (little-endian): magic `SLFT`, format version (u8), number of fused captures (u8),
//! vector length (u16), SHA-256 of the recognizer model (32 bytes), model id length (u8) and
//! ASCII model id, then the unit vector as f32.
//! The model hash ties a template to the model that made it: vectors from different models are
//! not comparable, so a mismatch is an error rather than a low score.

use super::recognize::{normalize, EMBEDDING_DIM};
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"SLFT";
/// Current template format version.
pub const FORMAT_VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 1 + 2 + 32;

/// A face template: an L2-normalized SFace embedding and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// SHA-256 of the recognizer model that produced the vector.
    pub model_sha256: [u8; 32],
    /// Id of that model (e.g. `sface_2021dec_int8bq`).
    pub model_id: String,
    /// How many captures were fused into it (1 for a single photo).
    pub captures: u8,
    /// The unit-length embedding.
    pub vector: Vec<f32>,
}

impl Template {
    /// Serialized size in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER + 1 + self.model_id.len() + 4 * self.vector.len()
    }

    /// Encodes to the binary format.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.captures);
        out.extend_from_slice(&(self.vector.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.model_sha256);
        out.push(self.model_id.len() as u8);
        out.extend_from_slice(self.model_id.as_bytes());
        for x in &self.vector {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Decodes and validates: magic, version, length, finite unit vector.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::InvalidTemplate(why.to_string());
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Err(bad("not a Salur face template"));
        }
        if bytes[4] != FORMAT_VERSION {
            return Err(bad(&format!("format version {} is not supported (expected {FORMAT_VERSION})", bytes[4])));
        }
        let dim = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
        let id_len = *bytes.get(HEADER).ok_or_else(|| bad("truncated"))? as usize;
        let body = HEADER + 1 + id_len;
        if dim != EMBEDDING_DIM || bytes.len() != body + 4 * dim {
            return Err(bad(&format!("expected {EMBEDDING_DIM} values after the header")));
        }
        let model_id = std::str::from_utf8(&bytes[HEADER + 1..body])
            .ok()
            .filter(|id| id.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| bad("model id is not ASCII"))?
            .to_string();
        let vector: Vec<f32> =
            bytes[body..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() || (norm - 1.0).abs() > 1e-3 {
            return Err(bad("the vector is not unit length"));
        }
        let mut model_sha256 = [0u8; 32];
        model_sha256.copy_from_slice(&bytes[8..40]);
        Ok(Self { model_sha256, model_id, captures: bytes[5], vector })
    }

    /// Fuses several embeddings of one person into one template (normalized mean).
    pub(crate) fn fuse(model_sha256: [u8; 32], model_id: &str, vectors: &[Vec<f32>]) -> Result<Self> {
        let mut sum = vec![0f32; EMBEDDING_DIM];
        for v in vectors {
            sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
        let vector = normalize(sum).ok_or_else(|| Error::InvalidArgument("no captures to fuse".into()))?;
        Ok(Self { model_sha256, model_id: model_id.into(), captures: vectors.len().min(255) as u8, vector })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Template {
        let v: Vec<f32> = (0..EMBEDDING_DIM).map(|i| (i as f32 * 0.37).sin()).collect();
        Template {
            model_sha256: [7; 32],
            model_id: "sface_2021dec_int8bq".into(),
            captures: 2,
            vector: normalize(v).unwrap(),
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let t = sample();
        let bytes = t.encode();
        assert_eq!(bytes.len(), t.encoded_len());
        assert_eq!(Template::decode(&bytes).unwrap(), t);
        let mut wrong_version = bytes.clone();
        wrong_version[4] = 9;
        assert!(matches!(Template::decode(&wrong_version), Err(Error::InvalidTemplate(_))));
        assert!(Template::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut scaled = bytes.clone();
        scaled[HEADER + 1 + t.model_id.len() + 3] ^= 0x40; // one value's exponent: no longer unit length
        assert!(Template::decode(&scaled).is_err());
        assert!(Template::decode(b"GIF89a").is_err());
    }
}
