//! TLS and HTTP on both sides: certificates, configs, the client's sessions, the server.

pub mod certs;
pub mod config;
pub mod connector;
pub mod server;
pub mod session;
pub mod store;
pub mod truststore;
pub mod witness;
