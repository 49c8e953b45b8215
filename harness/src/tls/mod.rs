//! TLS and HTTP on both sides: certificates, rustls configs, the counting connector, sessions, the
//! server, its store and witness.

pub mod certs;
pub mod config;
pub mod connector;
pub mod server;
pub mod session;
pub mod store;
pub mod truststore;
pub mod witness;
