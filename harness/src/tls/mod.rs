//! TLS and HTTP, both sides: certificates, rustls configurations, the counting connector,
//! client sessions, the HTTPS server, its session store and its per-connection witness, and
//! the CA as a Java trust store (ARCHITECTURE.md, "Layers").

pub mod certs;
pub mod config;
pub mod connector;
pub mod server;
pub mod session;
pub mod store;
pub mod truststore;
pub mod witness;
