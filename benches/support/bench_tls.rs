//! The bench certificates, persisted beside the builds, and client TLS settings that trust them.

use harness::tls::certs::{self, CertSet};
use harness::tls::config::ClientTls;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

/// The CA and server leaf in `<target>/bench-certs`, found from the executable's path (gungraun
/// clears the environment). Reused while valid: new ones per run would shift every handshake's
/// bytes and instructions a little (random serials and ECDSA signature lengths).
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

/// The harness's client TLS settings, trusting the bench CA (plus `roots`).
pub fn client_tls(certs: &CertSet, tls: TlsVersion, roots: RootsChoice, cache: usize) -> ClientTls {
    ClientTls::new(tls, KxChoice::Default, roots, vec![certs.ca.clone()], cache)
}
