//! rustls configuration for both sides: protocol version, key exchange, roots.
//!
//! The crypto provider is rustls's default (aws-lc-rs), so the figures are those a program
//! using rustls's defaults gets; `KxChoice::X25519` narrows key exchange to X25519 alone.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use crate::certs::CertSet;
use crate::server_cache::SessionStore;

/// TLS protocol version, offered alone by both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    V12,
    #[default]
    V13,
}

impl TlsVersion {
    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            TlsVersion::V12 => &rustls::version::TLS12,
            TlsVersion::V13 => &rustls::version::TLS13,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::V12 => "1.2",
            TlsVersion::V13 => "1.3",
        })
    }
}

impl FromStr for TlsVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.2" => Ok(TlsVersion::V12),
            "1.3" => Ok(TlsVersion::V13),
            other => Err(format!(
                "unknown TLS version `{other}` (expected 1.2 or 1.3)"
            )),
        }
    }
}

/// Key-exchange groups the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KxChoice {
    /// rustls's default list (with aws-lc-rs: X25519MLKEM768, X25519, secp256r1, secp384r1).
    #[default]
    Default,
    /// X25519 alone: smaller key shares, no post-quantum hybrid.
    X25519,
}

impl fmt::Display for KxChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KxChoice::Default => "default",
            KxChoice::X25519 => "x25519",
        })
    }
}

impl FromStr for KxChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(KxChoice::Default),
            "x25519" => Ok(KxChoice::X25519),
            other => Err(format!(
                "unknown key exchange `{other}` (expected default or x25519)"
            )),
        }
    }
}

/// Which roots a client session trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RootsChoice {
    /// Only the harness CA (or the `--ca` file).
    #[default]
    Ca,
    /// The Mozilla root set from `webpki-roots`, plus the CA so the local server still verifies.
    Webpki,
    /// The operating system's root store (loaded anew per session, as a default client does),
    /// plus the CA. For reqwest: its default platform verifier with the CA merged in.
    System,
}

impl fmt::Display for RootsChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RootsChoice::Ca => "ca",
            RootsChoice::Webpki => "webpki",
            RootsChoice::System => "system",
        })
    }
}

impl FromStr for RootsChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ca" => Ok(RootsChoice::Ca),
            "webpki" => Ok(RootsChoice::Webpki),
            "system" => Ok(RootsChoice::System),
            other => Err(format!(
                "unknown roots `{other}` (expected ca, webpki or system)"
            )),
        }
    }
}

/// Errors building a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("rustls rejected the configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("the CA certificate cannot be used as a root: {0}")]
    BadRoot(String),
    #[error("{0}")]
    NoSystemRoots(String),
}

/// Loads the operating system's root certificates (rustls-native-certs: `SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, else the distribution's bundle), failing when there are none.
pub fn system_roots() -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let loaded = rustls_native_certs::load_native_certs();
    if loaded.certs.is_empty() {
        let why = loaded
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(TlsError::NoSystemRoots(format!(
            "--roots system: no OS root certificates found{why}; rustls-native-certs reads SSL_CERT_FILE / SSL_CERT_DIR or the system bundle (/etc/ssl/certs): install it (Debian: apt-get install ca-certificates)"
        )));
    }
    Ok(loaded.certs)
}

/// The crypto provider for `kx`.
pub fn provider(kx: KxChoice) -> Arc<CryptoProvider> {
    let mut p = aws_lc_rs::default_provider();
    if kx == KxChoice::X25519 {
        p.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    }
    Arc::new(p)
}

/// Names of the groups `kx` offers, in order.
pub fn kx_group_names(kx: KxChoice) -> Vec<String> {
    provider(kx)
        .kx_groups
        .iter()
        .map(|g| format!("{:?}", g.name()))
        .collect()
}

/// The server's configuration: the leaf from `certs`, sessions kept in `store`.
pub fn server_config(
    certs: &CertSet,
    version: TlsVersion,
    store: Arc<SessionStore>,
) -> Result<ServerConfig, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider(KxChoice::Default))
        .with_protocol_versions(&[version.rustls()])?
        .with_no_client_auth()
        .with_single_cert(certs.server_chain.clone(), certs.server_key.clone_key())?;
    cfg.session_storage = store;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// What a client session needs to build its `ClientConfig`; cheap to clone and share.
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub version: TlsVersion,
    pub kx: KxChoice,
    pub roots: RootsChoice,
    /// Extra trusted certificates (the harness CA, or `--ca`).
    pub trusted: Arc<Vec<CertificateDer<'static>>>,
    /// Capacity of the client's resumption store; `0` disables resumption. rustls: 256.
    pub client_cache: usize,
    pub provider: Arc<CryptoProvider>,
}

impl ClientTls {
    pub fn new(
        version: TlsVersion,
        kx: KxChoice,
        roots: RootsChoice,
        trusted: Vec<CertificateDer<'static>>,
        client_cache: usize,
    ) -> Self {
        Self {
            version,
            kx,
            roots,
            trusted: Arc::new(trusted),
            client_cache,
            provider: provider(kx),
        }
    }

    /// Builds a new `ClientConfig` with its own root store and resumption store: what every
    /// new session pays for.
    pub fn client_config(&self) -> Result<ClientConfig, TlsError> {
        let mut roots = match self.roots {
            RootsChoice::Ca => RootCertStore::empty(),
            RootsChoice::Webpki => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
            RootsChoice::System => {
                let mut store = RootCertStore::empty();
                store.add_parsable_certificates(system_roots()?);
                store
            }
        };
        for cert in self.trusted.iter() {
            roots
                .add(cert.clone())
                .map_err(|e| TlsError::BadRoot(e.to_string()))?;
        }
        let mut cfg = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[self.version.rustls()])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.resumption = if self.client_cache == 0 {
            rustls::client::Resumption::disabled()
        } else {
            rustls::client::Resumption::in_memory_sessions(self.client_cache)
        };
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }
}
