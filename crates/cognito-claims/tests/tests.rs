//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: claims from API Gateway events, and the JWT verifier against moto's and forged tokens.

mod from_request;
mod verify;
