//! `harness serve`: the run's server alone, in the foreground, for real clients.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use crate::certs;
use crate::cli::ServeArgs;
use crate::server::{Server, ServerOptions};
use crate::server_cache::ServerCachePolicy;
use crate::table::fmt_bytes;

/// Errors of `harness serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
}

/// Serves until Ctrl-C or SIGTERM, then prints what it saw.
pub fn serve(args: &ServeArgs) -> Result<(), ServeError> {
    let (set, _) = certs::ensure(&args.certs_dir)?;
    let opts = ServerOptions {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        tls: args.tls,
        body_bytes: args.body_bytes as usize,
        cache: ServerCachePolicy::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async {
        let server = Server::start(&set, &opts).await?;
        println!("serving https://localhost:{}/ (TLS {})", server.addr.port(), args.tls);
        println!("CA: {}", set.paths.ca.display());
        println!(
            "try: curl --cacert {} https://localhost:{}/",
            set.paths.ca.display(),
            server.addr.port()
        );
        let start = Instant::now();
        wait_for_stop().await;
        let s = crate::worker::server_sample(&server, start);
        println!(
            "served {:.0} s: {} connections, {} requests, handshakes {} full / {} resumed / {} failed, session cache {} entries, RSS {}",
            start.elapsed().as_secs_f64(),
            s.connections,
            s.requests,
            s.handshakes_full,
            s.handshakes_resumed,
            s.handshakes_failed,
            s.cache_entries,
            s.rss_bytes.map(|b| fmt_bytes(b as f64)).unwrap_or("n/a".into()),
        );
        Ok(())
    })
}

async fn wait_for_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
