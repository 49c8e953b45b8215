//! The harness CA and server leaf (ECDSA P-256), generated on first use and reused while valid.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use time::{Duration, OffsetDateTime};

use super::truststore;

/// The name clients connect to and verify the server's certificate for.
pub const SERVER_NAME: &str = "localhost";
/// Server names the leaf certificate is valid for.
pub const SERVER_NAMES: [&str; 2] = [SERVER_NAME, "127.0.0.1"];
/// How long a freshly generated leaf is valid.
const LEAF_VALIDITY: Duration = Duration::days(90);
/// How long a freshly generated CA is valid.
const CA_VALIDITY: Duration = Duration::days(365);
/// Certificates expiring sooner than this are replaced, so none expires mid-run.
const MIN_REMAINING: Duration = Duration::days(1);

/// Errors finding, checking or writing the certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot create certificate directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
}

/// Why existing certificates were not reused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Staleness {
    #[error("{} is missing", .0.display())]
    Missing(PathBuf),
    #[error("{} is unparsable ({})", .0.display(), .1)]
    Unparsable(PathBuf, String),
    #[error("{} has expired or expires within a day", .0.display())]
    Expired(PathBuf),
    #[error("the leaf does not verify against the CA ({0})")]
    Mismatch(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The CA as a Java trust store (PKCS#12, [`truststore`]): the JVM reads no PEM file.
    pub java_truststore: PathBuf,
}

impl CertPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            java_truststore: dir.join("ca.p12"),
        }
    }
}

/// Loaded, checked certificates: what the server presents and what clients trust.
#[derive(Debug, Clone)]
pub struct CertSet {
    pub paths: CertPaths,
    pub ca: CertificateDer<'static>,
    pub server_chain: Vec<CertificateDer<'static>>,
    /// Shared: a key is not `Clone`.
    pub server_key: Arc<PrivateKeyDer<'static>>,
}

/// What [`ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertOrigin {
    Reused,
    Generated { because: Staleness },
}

/// Loads the certificates in `dir`, regenerated if they cannot be reused, the Java trust store
/// rewritten if stale. Runs serialise on a lock (`dir/.lock`), so they agree on one CA.
pub fn ensure(dir: &Path) -> Result<(CertSet, CertOrigin), CertError> {
    create_dir(dir)?;
    let lock_path = dir.join(".lock");
    let err = |source| CertError::Write {
        path: lock_path.clone(),
        source,
    };
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(err)?;
    // Released when `lock` is closed.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| err(e.into()))?;
    let paths = CertPaths::in_dir(dir);
    let result = match check(&paths) {
        Ok(set) => write_java_truststore(&set.paths, &set.ca).map(|()| (set, CertOrigin::Reused)),
        Err(because) => generate(dir).map(|set| (set, CertOrigin::Generated { because })),
    };
    drop(lock);
    result
}

/// Loads and checks existing certificates without touching the files.
pub fn check(paths: &CertPaths) -> Result<CertSet, Staleness> {
    let ca = read_chain(&paths.ca)?.remove(0);
    let server_chain = read_chain(&paths.server_cert)?;
    let server_key = Arc::new(read_key(&paths.server_key)?);
    for (path, der) in [(&paths.ca, &ca), (&paths.server_cert, &server_chain[0])] {
        if expires_soon(der).map_err(|e| Staleness::Unparsable(path.clone(), e))? {
            return Err(Staleness::Expired(path.clone()));
        }
    }
    verify_chain(&ca, &server_chain, &server_key)
        .map_err(|e| Staleness::Mismatch(e.to_string()))?;
    Ok(CertSet {
        paths: paths.clone(),
        ca,
        server_chain,
        server_key,
    })
}

/// Generates a new CA and leaf in `dir`, replacing whatever is there.
pub fn generate(dir: &Path) -> Result<CertSet, CertError> {
    generate_with_validity(dir, OffsetDateTime::now_utc(), LEAF_VALIDITY)
}

/// Generates certificates valid from `not_before`, the leaf for `leaf_validity` (tests expire them).
pub fn generate_with_validity(
    dir: &Path,
    not_before: OffsetDateTime,
    leaf_validity: Duration,
) -> Result<CertSet, CertError> {
    create_dir(dir)?;
    let paths = CertPaths::in_dir(dir);

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!(
            "tls-session-cost local CA {}",
            not_before.unix_timestamp_nanos() % 1_000_000_000_000
        ),
    );
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = not_before - Duration::hours(1);
    ca_params.not_after = not_before + CA_VALIDITY.max(leaf_validity);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut leaf_params = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.not_before = not_before - Duration::hours(1);
    leaf_params.not_after = not_before + leaf_validity;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    write_atomic(&paths.ca, ca_cert.pem().as_bytes(), 0o644)?;
    write_atomic(&paths.server_cert, leaf_cert.pem().as_bytes(), 0o644)?;
    write_atomic(
        &paths.server_key,
        leaf_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_java_truststore(&paths, ca_cert.der())?;

    Ok(CertSet {
        paths,
        ca: ca_cert.der().clone(),
        server_chain: vec![leaf_cert.der().clone()],
        server_key: Arc::new(PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into())),
    })
}

/// Reads every certificate in a PEM bundle (a CA file given with `--ca` may hold several).
pub fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    read_chain(path).map_err(|s| CertError::Read {
        path: path.to_path_buf(),
        reason: s.to_string(),
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, Staleness> {
    let bytes = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Staleness::Unparsable(path.to_path_buf(), e.to_string()))?;
    if certs.is_empty() {
        return Err(Staleness::Unparsable(
            path.to_path_buf(),
            "no CERTIFICATE block".into(),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Staleness> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| Staleness::Unparsable(path.to_path_buf(), e.to_string()))
}

fn read_file(path: &Path) -> Result<Vec<u8>, Staleness> {
    fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Staleness::Missing(path.to_path_buf()),
        _ => Staleness::Unparsable(path.to_path_buf(), e.to_string()),
    })
}

fn expires_soon(der: &CertificateDer<'_>) -> Result<bool, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;
    let not_after = cert.validity().not_after.timestamp();
    let not_before = cert.validity().not_before.timestamp();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Ok(not_after < now + MIN_REMAINING.whole_seconds() || not_before > now)
}

/// Checks the leaf verifies for [`SERVER_NAME`] against the CA, and that the key is the leaf's.
fn verify_chain(
    ca: &CertificateDer<'static>,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), Box<dyn std::error::Error>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone())?;
    // The chain and name checks a client's verifier makes.
    let leaf = rustls::server::ParsedCertificate::try_from(&chain[0])?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &leaf,
        &roots,
        &chain[1..],
        UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )?;
    rustls::client::verify_server_name(&leaf, &ServerName::try_from(SERVER_NAME)?)?;
    let signing_key = provider.key_provider.load_private_key(key.clone_key())?;
    let certified = rustls::sign::CertifiedKey::new(chain.to_vec(), signing_key);
    Ok(certified.keys_match()?)
}

/// Writes `paths.java_truststore` for `ca` unless it already holds exactly that.
fn write_java_truststore(paths: &CertPaths, ca: &CertificateDer<'_>) -> Result<(), CertError> {
    let bytes = truststore::pkcs12(ca.as_ref());
    if fs::read(&paths.java_truststore).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    write_atomic(&paths.java_truststore, &bytes, 0o644)
}

fn create_dir(dir: &Path) -> Result<(), CertError> {
    fs::create_dir_all(dir).map_err(|source| CertError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    let err = |source| CertError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generates_when_missing_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, how) = ensure(dir.path()).expect("generate");
        assert!(matches!(
            how,
            CertOrigin::Generated {
                because: Staleness::Missing(_)
            }
        ));
        let mode = fs::metadata(dir.path().join("server.key"))
            .expect("key exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "server.key must be private");
        let (second, how) = ensure(dir.path()).expect("reuse");
        assert_eq!(how, CertOrigin::Reused);
        assert_eq!(first.ca, second.ca);
    }

    #[test]
    fn the_java_truststore_follows_the_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (set, _) = ensure(dir.path()).expect("generate");
        let p12 = &set.paths.java_truststore;
        assert_eq!(p12, &dir.path().join("ca.p12"));
        let written = fs::read(p12).expect("written with the CA");
        assert_eq!(written, truststore::pkcs12(set.ca.as_ref()));
        // Certificates from before the trust store existed: reused, the store added.
        fs::remove_file(p12).expect("remove");
        let (again, how) = ensure(dir.path()).expect("reuse");
        assert_eq!(how, CertOrigin::Reused);
        assert_eq!(fs::read(p12).expect("rewritten"), written);
        // A store from another CA is replaced.
        let other = tempfile::tempdir().expect("tempdir");
        let (stranger, _) = ensure(other.path()).expect("other CA");
        fs::copy(&stranger.paths.java_truststore, p12).expect("copy");
        ensure(dir.path()).expect("reuse");
        assert_eq!(fs::read(p12).expect("rewritten"), written);
        assert_eq!(again.ca, set.ca);
    }

    #[test]
    fn regenerates_unparsable() {
        let dir = tempfile::tempdir().expect("tempdir");
        ensure(dir.path()).expect("generate");
        fs::write(dir.path().join("server.pem"), "not a pem").expect("write");
        let (_, how) = ensure(dir.path()).expect("regenerate");
        assert!(
            matches!(
                how,
                CertOrigin::Generated {
                    because: Staleness::Unparsable(..)
                }
            ),
            "{how:?}"
        );
    }

    #[test]
    fn regenerates_expired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long_ago = OffsetDateTime::now_utc() - Duration::days(30);
        generate_with_validity(dir.path(), long_ago, Duration::days(2)).expect("old certs");
        let (_, how) = ensure(dir.path()).expect("regenerate");
        assert!(
            matches!(
                how,
                CertOrigin::Generated {
                    because: Staleness::Expired(_)
                }
            ),
            "{how:?}"
        );
        assert!(check(&CertPaths::in_dir(dir.path())).is_ok());
    }

    #[test]
    fn regenerates_when_leaf_is_from_another_ca() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        ensure(a.path()).expect("a");
        ensure(b.path()).expect("b");
        fs::copy(b.path().join("ca.pem"), a.path().join("ca.pem")).expect("copy");
        let (_, how) = ensure(a.path()).expect("regenerate");
        assert!(
            matches!(
                how,
                CertOrigin::Generated {
                    because: Staleness::Mismatch(_)
                }
            ),
            "{how:?}"
        );
    }
}
