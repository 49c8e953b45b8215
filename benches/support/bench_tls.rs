//! The bench certificates, persisted beside the builds, and client TLS settings that trust them.

use harness::tls::certs::{self, CertSet};
use harness::tls::config::ClientTls;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

/// The CA and server leaf in `<target>/bench-certs`, shared by every bench and found from the
/// executable's path (`<target>/<profile>/deps/<bench>-…`: gungraun clears the environment).
/// They are reused while valid (`certs::ensure` renews them a day before expiry), because a new
/// CA and leaf per run would shift every handshake's bytes and instructions a little (random
/// serial numbers and ECDSA signature lengths change the DER sizes).
pub fn certs() -> CertSet {
    let exe = std::env::current_exe().expect("the bench executable's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the bench runs from <target>/<profile>/deps");
    certs::ensure(&target.join("bench-certs"))
        .expect("load or generate the CA and server leaf")
        .0
}

/// The harness's client TLS settings (key exchange default), trusting the bench CA (plus
/// `roots`).
pub fn client_tls(
    certs: &CertSet,
    version: TlsVersion,
    roots: RootsChoice,
    cache: usize,
) -> ClientTls {
    ClientTls::new(
        version,
        KxChoice::Default,
        roots,
        vec![certs.ca.clone()],
        cache,
    )
}
