//! OpenSSL pairs for the lockstep scenario over an in-memory duplex (`native-tls` only).

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslStream, SslVerifyMode,
    SslVersion,
};
use openssl::x509::X509;

use super::{LockstepError, Pairs};
use crate::contract::lockstep::LockstepPoint;
use crate::tls::certs::{CertSet, SERVER_NAME};
use crate::vocab::tls::{ConfigSharing, KxChoice, TlsVersion};

/// One end of a pair's duplex: reads `queues[inbox]` (0: to the client, 1: to the server),
/// writes the other. The shared allocation goes with the client.
pub(super) struct End {
    queues: Rc<RefCell<[Vec<u8>; 2]>>,
    inbox: usize,
}

impl Read for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inbox = &mut self.queues.borrow_mut()[self.inbox];
        if inbox.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(inbox.len());
        buf[..n].copy_from_slice(&inbox[..n]);
        inbox.drain(..n);
        if inbox.is_empty() {
            // Free the buffer: bytes in flight are not a session's state.
            *inbox = Vec::new();
        }
        Ok(n)
    }
}

impl Write for End {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.queues.borrow_mut()[1 - self.inbox].extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Beyond what the point sets, both sides keep OpenSSL's defaults: the server its session
/// cache (20,480 entries) and tickets, the client no cache.
pub(super) struct OpensslPairs {
    point: LockstepPoint,
    ca: Vec<u8>,
    shared: Option<SslContext>,
    server: SslContext,
}

/// A context builder for `method`, pinned to `tls`.
fn builder(method: SslMethod, tls: TlsVersion) -> Result<SslContextBuilder, ErrorStack> {
    let v = match tls {
        TlsVersion::V12 => SslVersion::TLS1_2,
        TlsVersion::V13 => SslVersion::TLS1_3,
    };
    let mut b = SslContext::builder(method)?;
    b.set_min_proto_version(Some(v))?;
    b.set_max_proto_version(Some(v))?;
    Ok(b)
}

fn client_context(point: &LockstepPoint, ca: &[u8]) -> Result<SslContext, ErrorStack> {
    let mut b = builder(SslMethod::tls_client(), point.key.tls)?;
    b.set_verify(SslVerifyMode::PEER);
    b.cert_store_mut().add_cert(X509::from_der(ca)?)?;
    if point.key.kx == KxChoice::X25519 {
        b.set_groups_list("X25519")?;
    }
    if point.release_buffers {
        b.set_mode(SslMode::RELEASE_BUFFERS);
    }
    Ok(b.build())
}

impl OpensslPairs {
    pub(super) fn new(point: &LockstepPoint, certs: &CertSet) -> Result<Self, ErrorStack> {
        let ca = certs.ca.to_vec();
        let mut s = builder(SslMethod::tls_server(), point.key.tls)?;
        let mut chain = certs.server_chain.iter();
        if let Some(leaf) = chain.next() {
            let leaf = X509::from_der(leaf)?;
            s.set_certificate(&leaf)?;
        }
        for c in chain {
            s.add_extra_chain_cert(X509::from_der(c)?)?;
        }
        let key = PKey::private_key_from_der(certs.server_key.secret_der())?;
        s.set_private_key(&key)?;
        s.check_private_key()?;
        let shared = (point.key.config == ConfigSharing::Shared)
            .then(|| client_context(point, &ca))
            .transpose()?;
        Ok(Self {
            point: point.clone(),
            ca,
            shared,
            server: s.build(),
        })
    }

    /// A new client and server over one duplex.
    fn pair_of(&self) -> Result<(SslStream<End>, SslStream<End>), ErrorStack> {
        let ctx = match &self.shared {
            Some(c) => c.clone(),
            None => client_context(&self.point, &self.ca)?,
        };
        let queues = Rc::new(RefCell::new(Default::default()));
        let mut c = Ssl::new(&ctx)?;
        c.set_hostname(SERVER_NAME)?;
        c.param_mut().set_host(SERVER_NAME)?;
        c.set_connect_state();
        let mut s = Ssl::new(&self.server)?;
        s.set_accept_state();
        let end = |inbox| End {
            queues: queues.clone(),
            inbox,
        };
        Ok((SslStream::new(c, end(0))?, SslStream::new(s, end(1))?))
    }
}

fn failed(pair: usize, e: impl std::fmt::Display) -> LockstepError {
    LockstepError::Openssl(pair, e.to_string())
}

/// One handshake call: `Ok(true)` while it needs more input.
fn advance(pair: usize, s: &mut SslStream<End>) -> Result<bool, LockstepError> {
    if s.ssl().is_init_finished() {
        return Ok(false);
    }
    match s.do_handshake() {
        Ok(()) => Ok(false),
        Err(e) if e.code() == ErrorCode::WANT_READ => Ok(true),
        Err(e) => Err(failed(pair, e)),
    }
}

/// Reads whatever has arrived (handshake leftovers such as tickets, or data).
fn drain(pair: usize, s: &mut SslStream<End>) -> Result<usize, LockstepError> {
    let mut got = 0;
    let mut sink = [0u8; 4096];
    loop {
        match s.ssl_read(&mut sink) {
            Ok(0) => return Ok(got),
            Ok(n) => got += n,
            Err(e) if e.code() == ErrorCode::WANT_READ => return Ok(got),
            Err(e) => return Err(failed(pair, e)),
        }
    }
}

impl Pairs for OpensslPairs {
    type Client = SslStream<End>;
    type Server = SslStream<End>;

    fn pair(&mut self, index: usize) -> Result<(Self::Client, Self::Server), LockstepError> {
        self.pair_of().map_err(|e| failed(index, e))
    }

    fn step(
        &mut self,
        index: usize,
        client: &mut Self::Client,
        server: &mut Self::Server,
        _scratch: &mut [u8],
    ) -> Result<bool, LockstepError> {
        let c = advance(index, client)?;
        let s = advance(index, server)?;
        Ok(c || s)
    }

    fn deliver(
        &mut self,
        index: usize,
        client: &mut Self::Client,
        server: &mut Self::Server,
        data: &[u8],
        _scratch: &mut [u8],
    ) -> Result<usize, LockstepError> {
        // The server's post-handshake messages (TLS 1.3 tickets) first, as a client does
        // on its next read.
        drain(index, client)?;
        client.ssl_write(data).map_err(|e| failed(index, e))?;
        drain(index, server)
    }
}
