//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: the deploy engine against moto, the token helpers' sign-in flow, and the command line's parsing.

mod auth;
mod engine;
mod parse;
