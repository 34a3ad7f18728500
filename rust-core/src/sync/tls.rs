//! TLS for the sync client: rustls on ring, trusting a given CA (or the Mozilla roots), with
//! optional pinning of the server's key (SHA-256 of its SPKI, a current and a backup pin) checked
//! after, not instead of, normal certificate validation.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::crypto::sha256;
use crate::error::{Error, Result};

/// The client TLS configuration for `ca_pem` (PEM certificates; `None`: the Mozilla roots) and `pins`.
pub fn client_config(ca_pem: Option<&[u8]>, pins: &[[u8; 32]]) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| Error::InvalidArgument(format!("CA certificate PEM: {e}")))?;
                roots.add(cert).map_err(|e| Error::InvalidArgument(format!("CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(Error::InvalidArgument("the CA PEM holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::InvalidArgument(format!("TLS verifier: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> =
        if pins.is_empty() { webpki } else { Arc::new(PinnedVerifier { inner: webpki, pins: pins.to_vec() }) };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidArgument(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (the value to pin; `openssl x509 -pubkey |
/// openssl pkey -pubin -outform der | sha256sum` gives the same).
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32]> {
    let der = CertificateDer::from(cert_der);
    let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| Error::Tls(format!("certificate: {e}")))?;
    Ok(sha256(cert.subject_public_key_info().as_ref()))
}

#[derive(Debug)]
struct PinnedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pins: Vec<[u8; 32]>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let pin = spki_sha256(end_entity).map_err(|e| rustls::Error::General(e.to_string()))?;
        if self.pins.contains(&pin) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(format!("server key {} matches no pin", hex::encode(pin))))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
