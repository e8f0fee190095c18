//! Project automation for the notes-api workspace, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`).
//!
//! - [`routes`]: the route table read from every function crate's `[package.metadata.api]`
//!   (pure: parsing, validation, rendering);
//! - [`workspace`]: where the workspace is, `cargo metadata`, the generated tfvars file;
//! - [`moto`]: the local AWS (moto server) in a project-local virtualenv;
//! - [`test_cmd`]: `cargo xtask test`, the whole gate.

#![warn(missing_docs)]

pub mod moto;
pub mod routes;
pub mod test_cmd;
pub mod workspace;
