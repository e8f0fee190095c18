//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: the local stack end to end: the real function binaries behind the gateway and issuer, hardening, the OpenAPI contract, schemathesis, a real browser.

mod browser;
mod common;
mod e2e;
mod hardening;
mod openapi;
mod schemathesis;
