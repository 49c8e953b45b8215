//! How a side turns a TCP stream into the connection it holds: the stream itself, or TLS client or
//! server over it.

use std::io;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The name the client connects to, and verifies the server's certificate for.
pub const SERVER_NAME: &str = "localhost";

/// Turns an accepted or connected TCP stream into the connection a side holds.
pub(super) trait Establish {
    type Conn: AsyncRead + AsyncWrite + Unpin;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn>;
}

/// The TCP pass, either side: the stream itself.
pub(super) struct PlainTcp;

impl Establish for PlainTcp {
    type Conn = TcpStream;
    async fn establish(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        Ok(tcp)
    }
}

pub(super) struct TlsClient {
    pub(super) connector: TlsConnector,
    /// Borrows a `'static` str, so a clone per connection allocates nothing.
    pub(super) name: ServerName<'static>,
}

impl Establish for TlsClient {
    type Conn = tokio_rustls::client::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

pub(super) struct TlsServer(pub(super) TlsAcceptor);

impl Establish for TlsServer {
    type Conn = tokio_rustls::server::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.0.accept(tcp).await
    }
}
