// reqwest client, two habits: `per-request` builds a default `reqwest::Client::new()` for every
// request (a new TLS session and connection each time); `shared` builds one and reuses it
// (one keep-alive connection). The CA comes from SSL_CERT_FILE via reqwest's default verifier.
//
// Usage: reqwest_client per-request|shared [N=50]   (URL in TLS_SESSION_COST_URL)

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let habit = args.next().unwrap_or_default();
    let per_request = match habit.as_str() {
        "per-request" => true,
        "shared" => false,
        _ => {
            eprintln!("usage: reqwest_client per-request|shared [N]");
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
        let client = match &shared {
            Some(client) => client.clone(), // a handle to the same pool
            None => reqwest::Client::new(), // the habit: a fresh client per request
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
