//! `harness serve`: the server alone in the foreground, for curl and `openssl s_client`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cli::args::ServeArgs;
use crate::contract::wire::ServerSample;
use crate::run::process::Signals;
use crate::tls::certs;
use crate::tls::server::{Server, ServerError, ServerOptions};
use crate::vocab::server_cache::ServerCachePolicy;
use crate::vocab::units;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    /// The port is taken (or not ours to take): one line naming the address.
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error(transparent)]
    Server(ServerError),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot watch for Ctrl-C / SIGTERM: {0}")]
    Signals(std::io::Error),
}

impl From<ServerError> for ServeError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Bind { addr, source } => {
                // The OS's words without their ` (os error N)` tail: `Address already in use`.
                let text = source.to_string();
                let words = text
                    .split_once(" (os error ")
                    .map_or(text.as_str(), |w| w.0);
                let mut reason = words.to_string();
                if source.kind() == std::io::ErrorKind::AddrInUse {
                    reason.push_str(" (pick another --port; 0 takes any free one)");
                }
                ServeError::Listen { addr, reason }
            }
            other => ServeError::Server(other),
        }
    }
}

/// Prints `text` as lines, flushed; a closed stdout (`harness serve | head -1`) is not worth
/// dying for, so write errors are ignored.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Serves until Ctrl-C or SIGTERM, then prints one `served …` line; scripts and tests read the
/// port off its first line, `serving https://localhost:PORT/ (TLS V)`.
pub fn serve(args: &ServeArgs) -> Result<(), ServeError> {
    let set = crate::run::orchestrator::ensure_certs(&args.certs_dir)?;
    let opts = ServerOptions {
        port: args.port,
        tls: args.server.tls,
        body_bytes: args.server.body_bytes,
        cache: ServerCachePolicy::default(),
        witness: false,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let result = rt.block_on(async {
        // Handlers first, so a signal sent once the `serving` line is read still gets its summary.
        let mut stop = Signals::install().map_err(ServeError::Signals)?;
        let server = Server::start(&set, &opts).await?;
        let port = server.addr.port();
        let (tls, ca) = (args.server.tls, set.paths.ca.display());
        say(&format!(
            "serving https://localhost:{port}/ (TLS {tls})\nCA: {ca}\ntry: curl --cacert {ca} https://localhost:{port}/\nCtrl-C or SIGTERM stops it and prints what it served."
        ));
        let start = Instant::now();
        stop.next().await;
        say(&final_line(&crate::run::worker::server_sample(&server, start)));
        drop(server);
        Ok(())
    });
    // Connections still open are dropped with the runtime; do not wait on them.
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// The closing summary: connections, requests, handshakes by kind, session cache, memory.
fn final_line(s: &ServerSample) -> String {
    format!(
        "served {:.1} s: {} connections ({} still open), {} requests, handshakes {} full / {} resumed / {} failed, session cache {} entries ({}), RSS {}, heap {}",
        s.server_t_s,
        s.server_connections,
        s.server_open_conns,
        s.server_requests,
        s.server_handshakes_full,
        s.server_handshakes_resumed,
        s.server_handshakes_failed,
        s.server_cache_entries,
        units::bytes(s.server_cache_bytes as f64),
        units::opt_bytes(s.server_rss_bytes),
        units::opt_bytes(s.server_heap_live_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_error_is_one_clean_line() {
        let addr = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 8443));
        let e = ServeError::from(ServerError::Bind {
            addr,
            source: std::io::Error::from_raw_os_error(libc::EADDRINUSE),
        });
        let text = e.to_string();
        assert!(
            text.starts_with("cannot listen on 127.0.0.1:8443: Address already in use"),
            "{text}"
        );
        assert!(!text.contains("os error"), "{text}");
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn final_line_names_every_figure() {
        let s = ServerSample {
            server_t_s: 2.0,
            server_connections: 3,
            server_handshakes_full: 2,
            server_handshakes_resumed: 1,
            server_requests: 3,
            ..Default::default()
        };
        let line = final_line(&s);
        for part in [
            "3 connections",
            "3 requests",
            "2 full",
            "1 resumed",
            "RSS n/a",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}
