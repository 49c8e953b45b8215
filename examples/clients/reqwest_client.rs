// reqwest client, three habits: `per-request` builds a default `reqwest::Client::new()` for
// every request (a new TLS session and connection each time); `shared` builds one and reuses it
// (one keep-alive connection); `resumed` builds a new client per request over one shared rustls
// `ClientConfig`, whose resumption store outlives each client, so every new connection resumes
// the session of the one before (a platform TLS cache's habit). The CA comes from SSL_CERT_FILE
// (via reqwest's default verifier, or read into the shared config's roots).
//
// Usage: reqwest_client per-request|shared|resumed [N=50]   (URL in TLS_SESSION_COST_URL)

use std::process::ExitCode;
use std::sync::Arc;

/// One rustls config for every client of `resumed`: its resumption store (an `Arc` inside the
/// config, cloned with it) keeps the sessions across clients.
fn shared_config() -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let ca = std::env::var("SSL_CERT_FILE").map_err(|_| "SSL_CERT_FILE is not set")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(cert.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| format!("{ca}: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let habit = args.next().unwrap_or_default();
    let (per_request, config) = match habit.as_str() {
        "per-request" => (true, None),
        "shared" => (false, None),
        "resumed" => match shared_config() {
            Ok(c) => (true, Some(c)),
            Err(e) => {
                eprintln!("reqwest_client: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: reqwest_client per-request|shared|resumed [N]");
            return ExitCode::from(2);
        }
    };
    let n: u64 = match args.next().map(|s| s.parse()).unwrap_or(Ok(50)) {
        Ok(n) => n,
        Err(_) => {
            eprintln!("reqwest_client: N must be a whole number");
            return ExitCode::from(2);
        }
    };
    let Ok(url) = std::env::var("TLS_SESSION_COST_URL") else {
        eprintln!("reqwest_client: TLS_SESSION_COST_URL is not set");
        return ExitCode::from(2);
    };

    let shared = (!per_request).then(reqwest::Client::new);
    for i in 1..=n {
        let client = match (&shared, &config) {
            (Some(client), _) => client.clone(), // a handle to the same pool
            // A fresh client per request, its TLS config (and resumption store) shared.
            (None, Some(config)) => match reqwest::Client::builder()
                .tls_backend_preconfigured(config.clone())
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("reqwest_client: {e}");
                    return ExitCode::FAILURE;
                }
            },
            (None, None) => reqwest::Client::new(), // the habit: a fresh client per request
        };
        let result = async {
            let response = client.get(&url).send().await?;
            let status = response.status();
            response.bytes().await?; // read the body, so the connection can be reused
            Ok::<_, reqwest::Error>(status)
        }
        .await;
        match result {
            Ok(status) if status == reqwest::StatusCode::OK => {}
            Ok(status) => {
                eprintln!("reqwest_client: request {i}: HTTP {status}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                // One line: the error and its causes (the TLS reason is in a source).
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    msg.push_str(": ");
                    msg.push_str(&cause.to_string());
                    source = cause.source();
                }
                eprintln!("reqwest_client: request {i} failed: {msg}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("reqwest_client ({habit}): {n} requests ok");
    ExitCode::SUCCESS
}
