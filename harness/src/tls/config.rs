//! rustls configuration for both sides: version, key exchange, roots, provider and its warm-up.

use std::sync::Arc;

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use crate::tls::certs::CertSet;
use crate::tls::store::SessionStore;
use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

impl TlsVersion {
    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            TlsVersion::V12 => &rustls::version::TLS12,
            TlsVersion::V13 => &rustls::version::TLS13,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("rustls rejected the configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("the CA certificate cannot be used as a root: {0}")]
    BadRoot(String),
    #[error("{0}")]
    NoSystemRoots(String),
}

/// Loads the operating system's root certificates (rustls-native-certs), failing on none.
pub fn system_roots() -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let loaded = rustls_native_certs::load_native_certs();
    if loaded.certs.is_empty() {
        let first = loaded.errors.first();
        let why = first.map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(TlsError::NoSystemRoots(format!(
            "--roots system: no OS root certificates found{why}; rustls-native-certs reads SSL_CERT_FILE / SSL_CERT_DIR or the system bundle (/etc/ssl/certs): install it (Debian: apt-get install ca-certificates)"
        )));
    }
    Ok(loaded.certs)
}

/// The crypto provider for `kx`: rustls's default, as a program using its defaults gets it.
pub fn provider(kx: KxChoice) -> Arc<CryptoProvider> {
    let mut p = aws_lc_rs::default_provider();
    if kx == KxChoice::X25519 {
        p.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    }
    Arc::new(p)
}

/// Seeds the provider's random generator now, a once-per-process cost that would otherwise land
/// in each mode's first handshake (docs/figures.md).
pub fn warm_up(provider: &CryptoProvider) -> Result<(), TlsError> {
    provider
        .secure_random
        .fill(&mut [0u8; 1])
        .map_err(|_| rustls::Error::FailedToGetRandomBytes.into())
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

    /// Builds a new `ClientConfig`, root and resumption stores included: what a session pays.
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
