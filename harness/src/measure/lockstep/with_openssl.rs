//! OpenSSL pairs for the lockstep scenario over an in-memory duplex (`native-tls`).
//!
//! Each pair's bytes in flight wait in one queue allocation shared by its two ends (the
//! `Rc` below: about 70 bytes per pair, dropped with the client), where rustls's pairs hold
//! them inside the connections; a queue is emptied, and its buffer freed, once read. Both
//! sides keep OpenSSL's defaults otherwise: the server its session cache (20,480 entries) and
//! tickets, the client no cache; the client verifies the chain against the harness CA and the
//! name `localhost`.

use super::LockstepError;
use crate::contract::lockstep::{LockstepPoint, LockstepReading};
use crate::tls::certs::CertSet;

/// Measures one OpenSSL point.
#[cfg(feature = "native-tls")]
pub(super) fn measure(
    point: &LockstepPoint,
    certs: &CertSet,
) -> Result<LockstepReading, LockstepError> {
    // Before OpenSSL allocates anything: it refuses new allocator functions afterwards.
    crate::measure::alloc::count_openssl()?;
    let pairs = imp::OpensslPairs::new(point, certs)
        .map_err(|e| LockstepError::OpensslSetup(e.to_string()))?;
    super::drive(point, pairs)
}

/// Not a `native-tls` build: no OpenSSL to measure.
#[cfg(not(feature = "native-tls"))]
pub(super) fn measure(
    _point: &LockstepPoint,
    _certs: &CertSet,
) -> Result<LockstepReading, LockstepError> {
    Err(LockstepError::OpensslNotBuilt)
}

#[cfg(feature = "native-tls")]
mod imp {
    use std::cell::RefCell;
    use std::io::{self, Read, Write};
    use std::rc::Rc;

    use openssl::error::ErrorStack;
    use openssl::pkey::PKey;
    use openssl::ssl::{
        ErrorCode, Ssl, SslContext, SslMethod, SslMode, SslStream, SslVerifyMode, SslVersion,
    };
    use openssl::x509::X509;

    use super::super::{LockstepError, Pairs};
    use crate::contract::lockstep::LockstepPoint;
    use crate::measure::held::establish::SERVER_NAME;
    use crate::tls::certs::CertSet;
    use crate::vocab::tls::{ConfigSharing, KxChoice, TlsVersion};

    /// Bytes in flight each way between one client and its server.
    #[derive(Default)]
    struct Queues {
        to_server: Vec<u8>,
        to_client: Vec<u8>,
    }

    /// One end of a pair's duplex: reads its own queue, writes the other's.
    pub(in super::super) struct End {
        queues: Rc<RefCell<Queues>>,
        client: bool,
    }

    impl Read for End {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut q = self.queues.borrow_mut();
            let inbox = if self.client {
                &mut q.to_client
            } else {
                &mut q.to_server
            };
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
            let mut q = self.queues.borrow_mut();
            let outbox = if self.client {
                &mut q.to_server
            } else {
                &mut q.to_client
            };
            outbox.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    pub(in super::super) struct OpensslPairs {
        point: LockstepPoint,
        ca: Vec<u8>,
        shared: Option<SslContext>,
        server: SslContext,
    }

    fn version(v: TlsVersion) -> SslVersion {
        match v {
            TlsVersion::V12 => SslVersion::TLS1_2,
            TlsVersion::V13 => SslVersion::TLS1_3,
        }
    }

    fn client_context(point: &LockstepPoint, ca: &[u8]) -> Result<SslContext, ErrorStack> {
        let mut b = SslContext::builder(SslMethod::tls_client())?;
        b.set_min_proto_version(Some(version(point.tls)))?;
        b.set_max_proto_version(Some(version(point.tls)))?;
        b.set_verify(SslVerifyMode::PEER);
        b.cert_store_mut().add_cert(X509::from_der(ca)?)?;
        if point.kx == KxChoice::X25519 {
            b.set_groups_list("X25519")?;
        }
        if point.release_buffers {
            b.set_mode(SslMode::RELEASE_BUFFERS);
        }
        Ok(b.build())
    }

    impl OpensslPairs {
        pub(in super::super) fn new(
            point: &LockstepPoint,
            certs: &CertSet,
        ) -> Result<Self, ErrorStack> {
            let ca = certs.ca.to_vec();
            let mut s = SslContext::builder(SslMethod::tls_server())?;
            s.set_min_proto_version(Some(version(point.tls)))?;
            s.set_max_proto_version(Some(version(point.tls)))?;
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
            let shared = match point.config {
                ConfigSharing::Shared => Some(client_context(point, &ca)?),
                ConfigSharing::PerConnection => None,
            };
            Ok(Self {
                point: point.clone(),
                ca,
                shared,
                server: s.build(),
            })
        }
    }

    fn failed(pair: usize, e: impl std::fmt::Display) -> LockstepError {
        LockstepError::Openssl {
            pair,
            message: e.to_string(),
        }
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
            let ctx = match &self.shared {
                Some(c) => c.clone(),
                None => client_context(&self.point, &self.ca).map_err(|e| failed(index, e))?,
            };
            let queues = Rc::new(RefCell::new(Queues::default()));
            let mut c = Ssl::new(&ctx).map_err(|e| failed(index, e))?;
            c.set_hostname(SERVER_NAME).map_err(|e| failed(index, e))?;
            c.param_mut()
                .set_host(SERVER_NAME)
                .map_err(|e| failed(index, e))?;
            c.set_connect_state();
            let mut s = Ssl::new(&self.server).map_err(|e| failed(index, e))?;
            s.set_accept_state();
            let client = SslStream::new(
                c,
                End {
                    queues: queues.clone(),
                    client: true,
                },
            )
            .map_err(|e| failed(index, e))?;
            let server = SslStream::new(
                s,
                End {
                    queues,
                    client: false,
                },
            )
            .map_err(|e| failed(index, e))?;
            Ok((client, server))
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
}
