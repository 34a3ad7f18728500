//! Device signing keys and the data-encryption key, behind traits the platform implements.
//!
//! On Android both live in the Keystore: [`Signer`] is an ECDSA P-256 key that never leaves it
//! (StrongBox when present), and [`KeyProvider`] unwraps the data key with a Keystore AES key.
//! Here we also have software versions on `ring` for the desktop, the server's tests and the CLI.

use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use crate::crypto::{self, DataKey};
use crate::error::{Error, Result};

/// Signs with the device's ECDSA P-256 key.
pub trait Signer: Send + Sync {
    /// The public key as SubjectPublicKeyInfo DER (for device registration).
    fn public_key_spki(&self) -> Result<Vec<u8>>;
    /// ECDSA P-256 with SHA-256 over `message`, as an ASN.1 DER signature (what Android Keystore
    /// and Java's `SHA256withECDSA` return); the core converts it to COSE's raw form.
    fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// Hands out the 256-bit key that encrypts templates, NIKs and face crops at rest.
pub trait KeyProvider: Send + Sync {
    /// The data key.
    fn data_key(&self) -> Result<DataKey>;
}

/// A data key held in memory (tests, or a key the caller unwrapped itself).
#[derive(Debug, Clone)]
pub struct FixedKey(pub DataKey);

impl KeyProvider for FixedKey {
    fn data_key(&self) -> Result<DataKey> {
        Ok(self.0.clone())
    }
}

/// A data key in a file readable only by its owner, created on first use (desktop and CLI).
#[derive(Debug, Clone)]
pub struct KeyFile(pub PathBuf);

impl KeyProvider for KeyFile {
    fn data_key(&self) -> Result<DataKey> {
        let io = |e: std::io::Error| Error::Io { context: format!("data key file {}", self.0.display()), source: e };
        match std::fs::read(&self.0) {
            Ok(bytes) => {
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| Error::Crypto(format!("{} is not a 32-byte key", self.0.display())))?;
                Ok(DataKey::new(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = DataKey::generate()?;
                write_private(&self.0, key.as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Writes a file only its owner can read, failing if it exists (never overwrite a key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// An ECDSA P-256 key in software (`ring`), stored as PKCS#8 encrypted under the data key.
pub struct SoftwareSigner {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

const SIGNER_AAD: &[u8] = b"salur:software-signer:pkcs8:v1";

impl SoftwareSigner {
    /// A new random key.
    pub fn generate() -> Result<(Self, Vec<u8>)> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| Error::Crypto("key generation failed".into()))?;
        let signer = Self::from_pkcs8(pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    /// From an unencrypted PKCS#8 document (test vectors).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
            .map_err(|_| Error::Crypto("not a P-256 PKCS#8 key".into()))?;
        Ok(Self { pair, rng })
    }

    /// Opens the key stored at `path`, or creates and stores a new one, encrypted under `keys`.
    pub fn open_or_create(path: &Path, keys: &dyn KeyProvider) -> Result<Self> {
        let key = keys.data_key()?;
        match std::fs::read(path) {
            Ok(sealed) => Self::from_pkcs8(&key.open(&sealed, SIGNER_AAD)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (signer, pkcs8) = Self::generate()?;
                write_private(path, &key.seal(&pkcs8, SIGNER_AAD)?)
                    .map_err(|source| Error::Io { context: format!("writing key {}", path.display()), source })?;
                Ok(signer)
            }
            Err(source) => Err(Error::Io { context: format!("reading key {}", path.display()), source }),
        }
    }
}

impl Signer for SoftwareSigner {
    fn public_key_spki(&self) -> Result<Vec<u8>> {
        crypto::p256_spki(self.pair.public_key().as_ref())
    }

    fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>> {
        let sig = self.pair.sign(&self.rng, message).map_err(|_| Error::Crypto("signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_signer_reopens_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FixedKey(DataKey::generate().unwrap());
        let path = dir.path().join("device.key");
        let a = SoftwareSigner::open_or_create(&path, &keys).unwrap();
        let b = SoftwareSigner::open_or_create(&path, &keys).unwrap();
        assert_eq!(a.public_key_spki().unwrap(), b.public_key_spki().unwrap());
        let raw = crypto::der_to_raw_p256(&a.sign_der(b"m").unwrap()).unwrap();
        crypto::verify_es256(&b.public_key_spki().unwrap(), b"m", &raw).unwrap();
        let other = FixedKey(DataKey::generate().unwrap());
        assert!(SoftwareSigner::open_or_create(&path, &other).is_err());
        // The file holds no plaintext PKCS#8 (ring's embeds the public point, so look for that).
        let spki = a.public_key_spki().unwrap();
        assert!(!std::fs::read(&path).unwrap().windows(65).any(|w| w == &spki[26..]));
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let kf = KeyFile(dir.path().join("data.key"));
        assert_eq!(kf.data_key().unwrap().as_bytes(), kf.data_key().unwrap().as_bytes());
    }
}
