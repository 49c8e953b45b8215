//! rustls pairs for the lockstep scenario, moved through a scratch buffer as rustls-bench does.

use std::io::Read;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection};

use super::{LockstepError, Pairs};
use crate::contract::lockstep::LockstepPoint;
use crate::tls::certs::{CertSet, SERVER_NAME};
use crate::tls::config::{self, ClientTls};
use crate::tls::store::SessionStore;
use crate::vocab::defaults::CLIENT_CACHE;
use crate::vocab::server_cache::ServerCachePolicy;
use crate::vocab::tls::{ConfigSharing, RootsChoice};

pub(super) struct RustlsPairs {
    /// Builds a client's config when each client has its own.
    tls: ClientTls,
    /// The one client config, when they share it.
    shared: Option<Arc<ClientConfig>>,
    server: Arc<ServerConfig>,
    name: ServerName<'static>,
}

impl RustlsPairs {
    pub(super) fn new(point: &LockstepPoint, certs: &CertSet) -> Result<Self, LockstepError> {
        let shared = point.key.config == ConfigSharing::Shared;
        // Shared: resumption off, as rustls-bench's memory setup. Per connection: the default
        // resumption store a new client gets.
        let cache = if shared { 0 } else { CLIENT_CACHE };
        let tls = ClientTls::new(
            point.key.tls,
            point.key.kx,
            RootsChoice::Ca,
            vec![certs.ca.clone()],
            cache,
        );
        config::warm_up(&tls.provider)?;
        let shared = shared
            .then(|| tls.client_config().map(Arc::new))
            .transpose()?;
        // rustls's default server store (256 entries): bounded, so not a per-session cost.
        let store = Arc::new(SessionStore::new(ServerCachePolicy::default()));
        let server = Arc::new(config::server_config(certs, point.key.tls, store)?);
        let name = ServerName::try_from(SERVER_NAME)
            .map_err(|e| config::TlsError::BadRoot(e.to_string()))?;
        Ok(Self {
            tls,
            shared,
            server,
            name,
        })
    }
}

/// A client connection and its own config, if any: a real client keeps its config as long as
/// it lives, which a TLS 1.2 `ClientConnection` lets go of after the handshake.
pub(super) struct Client {
    conn: ClientConnection,
    _config: Option<Arc<ClientConfig>>,
}

impl Pairs for RustlsPairs {
    type Client = Client;
    type Server = ServerConnection;

    fn pair(&mut self, index: usize) -> Result<(Client, ServerConnection), LockstepError> {
        let rustls = |e| LockstepError::Rustls(index, e);
        let (config, own) = match &self.shared {
            Some(c) => (c.clone(), None),
            None => {
                let c = Arc::new(self.tls.client_config()?);
                (c.clone(), Some(c))
            }
        };
        let server = ServerConnection::new(self.server.clone()).map_err(rustls)?;
        let client = Client {
            conn: ClientConnection::new(config, self.name.clone()).map_err(rustls)?,
            _config: own,
        };
        Ok((client, server))
    }

    fn step(
        &mut self,
        index: usize,
        client: &mut Client,
        server: &mut ServerConnection,
        scratch: &mut [u8],
    ) -> Result<bool, LockstepError> {
        let client = &mut client.conn;
        if !(client.is_handshaking() || server.is_handshaking()) {
            return Ok(false);
        }
        transfer(index, client, server, scratch)?;
        transfer(index, server, client, scratch)?;
        Ok(client.is_handshaking() || server.is_handshaking())
    }

    fn deliver(
        &mut self,
        index: usize,
        client: &mut Client,
        server: &mut ServerConnection,
        data: &[u8],
        scratch: &mut [u8],
    ) -> Result<usize, LockstepError> {
        let io = |e| LockstepError::Io(index, e);
        let client = &mut client.conn;
        std::io::Write::write_all(&mut client.writer(), data).map_err(io)?;
        transfer(index, client, server, scratch)?;
        let mut got = 0;
        let mut sink = [0u8; 4096];
        loop {
            match server.reader().read(&mut sink) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(io(e)),
            }
        }
        Ok(got)
    }
}

/// Everything `from` has to send, read and processed by `to`, through `scratch`.
fn transfer<A, B>(
    index: usize,
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
    scratch: &mut [u8],
) -> Result<(), LockstepError>
where
    A: rustls::SideData,
    B: rustls::SideData,
{
    let io = |e| LockstepError::Io(index, e);
    loop {
        let mut len = 0;
        while from.wants_write() && len < scratch.len() {
            let n = from.write_tls(&mut &mut scratch[len..]).map_err(io)?;
            if n == 0 {
                break;
            }
            len += n;
        }
        if len == 0 {
            return Ok(());
        }
        let mut offset = 0;
        while offset < len {
            let n = to.read_tls(&mut &scratch[offset..len]).map_err(io)?;
            to.process_new_packets()
                .map_err(|e| LockstepError::Rustls(index, e))?;
            if n == 0 {
                break;
            }
            offset += n;
        }
    }
}
