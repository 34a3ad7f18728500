//! Keys stay where the platform keeps them: the app implements these traits with Android
//! Keystore (an ECDSA P-256 signing key; an AES key that wraps the store's data key).

use std::sync::Arc;

use crate::SalurError;

/// The device's signing key (hardware-backed on Android).
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// SubjectPublicKeyInfo DER of the P-256 public key.
    fn public_key_spki(&self) -> Result<Vec<u8>, SalurError>;
    /// ECDSA P-256 over SHA-256 of `message`, DER-encoded (what `Signature("SHA256withECDSA")` returns).
    fn sign_der(&self, message: Vec<u8>) -> Result<Vec<u8>, SalurError>;
}

/// The 32-byte key that seals NIKs, templates and face crops in the store. On Android it is kept
/// wrapped by a Keystore AES key and unwrapped for the core when the store opens.
#[uniffi::export(with_foreign)]
pub trait DataKeyProvider: Send + Sync {
    /// The raw 32-byte data key.
    fn data_key(&self) -> Result<Vec<u8>, SalurError>;
}

/// Adapts the app's signer to the core's trait.
pub(crate) struct Signer(pub Arc<dyn DeviceSigner>);

impl salur_core::keys::Signer for Signer {
    fn public_key_spki(&self) -> salur_core::Result<Vec<u8>> {
        Ok(self.0.public_key_spki()?)
    }

    fn sign_der(&self, message: &[u8]) -> salur_core::Result<Vec<u8>> {
        Ok(self.0.sign_der(message.to_vec())?)
    }
}

/// Adapts the app's data-key provider to the core's trait.
pub(crate) struct Keys(pub Arc<dyn DataKeyProvider>);

impl salur_core::keys::KeyProvider for Keys {
    fn data_key(&self) -> salur_core::Result<salur_core::crypto::DataKey> {
        let bytes: [u8; 32] = self
            .0
            .data_key()?
            .try_into()
            .map_err(|_| salur_core::Error::Crypto("the data key must be 32 bytes".into()))?;
        Ok(salur_core::crypto::DataKey::new(bytes))
    }
}
