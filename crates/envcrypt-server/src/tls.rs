//! TLS for the endpoint: a certificate and key from PEM files, or a self-signed certificate
//! made at start-up for the names it serves (its SHA-256 fingerprint printed, and its PEM
//! written out, so that clients can pin or trust it).
//!
//! rustls with the ring provider, TLS 1.3 and 1.2, HTTP/1.1 by ALPN.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// A certificate chain and its private key, in PEM files.
    Files {
        /// The certificate chain (leaf first).
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A certificate made now, valid for `names` (DNS names and IP addresses), written as PEM
    /// to `write_to`.
    SelfSigned {
        /// The names it is valid for.
        names: Vec<String>,
        /// Where its PEM goes.
        write_to: PathBuf,
    },
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or holds no usable item.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The certificate and key do not make a valid configuration.
    #[error("the TLS certificate and key cannot be used: {0}")]
    Config(#[from] rustls::Error),
    /// A self-signed certificate could not be made or written.
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(String),
}

/// A TLS configuration ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    /// The SHA-256 fingerprint of the leaf certificate, lowercase hex.
    pub fingerprint: String,
    /// Where a self-signed certificate's PEM was written.
    pub certificate_pem: Option<PathBuf>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads or makes the certificate.
    pub fn new(source: &TlsSource) -> Result<Self, TlsError> {
        let (chain, key, written) = match source {
            TlsSource::Files { cert, key } => (read_chain(cert)?, read_key(key)?, None),
            TlsSource::SelfSigned { names, write_to } => {
                let made = rcgen::generate_simple_self_signed(names.clone())
                    .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
                write_pem(write_to, &made.cert.pem())?;
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
                (vec![made.cert.der().clone()], key, Some(write_to.clone()))
            }
        };
        let fingerprint = hex(ring::digest::digest(&ring::digest::SHA256, chain[0].as_ref()).as_ref());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), fingerprint, certificate_pem: written })
    }
}

/// The names a self-signed certificate for `ip` should carry: `localhost`, the loopback
/// addresses, and the address itself.
pub fn default_names(ip: IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    names
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |reason: String| TlsError::Pem { path: path.to_path_buf(), reason };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_error("it holds no certificate".into()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_pem(path: &Path, pem: &str) -> Result<(), TlsError> {
    std::fs::write(path, pem).map_err(|e| TlsError::SelfSigned(format!("cannot write {}: {e}", path.display())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
