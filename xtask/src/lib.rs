//! Project automation for the notes-api workspace, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`).
//!
//! The function table itself (read from each function crate's `[package.metadata.function]`,
//! validated, rendered) is the `function-table` crate's; xtask runs `cargo metadata` for it.
//!
//! - [`cmd`]: the one way xtask runs a program: streamed or captured, timed, and a failure that
//!   names the command line, exit status and directory;
//! - [`workspace`]: where the workspace is, `cargo metadata`, the generated tfvars file;
//! - [`dev`]: `cargo xtask dev`, the local stack (crates/local-aws) with the real binaries;
//! - [`debtool`]: Debian packages (qemu-user, the arm64 sysroot) unpacked into `.tools/debs`;
//! - [`pytool`]: the Python tools (moto, checkov, cargo-lambda) in project-local virtualenvs;
//! - [`moto`]: the local AWS (moto server) on a loopback port;
//! - [`package`]: `cargo xtask package`, deterministic Lambda zips;
//! - [`deploy`]: `cargo xtask deploy`, packages in-process then runs crates/deploy's `xtask-aws`;
//! - [`secrets`]: the scan of the test run's logs for tokens, client secrets and AWS keys;
//! - [`fuzz`]: `cargo xtask fuzz`, the cargo-fuzz targets of `fuzz/`, bounded in time;
//! - [`test_cmd`]: `cargo xtask test`, the whole gate;
//! - [`bench`]: `cargo xtask bench`, builds then runs `crates/bench` (BENCHMARKS.md).

#![warn(missing_docs)]

pub mod bench;
pub mod cmd;
pub mod debtool;
pub mod deploy;
pub mod dev;
pub mod fuzz;
pub mod moto;
pub mod package;
pub mod pytool;
pub mod secrets;
pub mod test_cmd;
pub mod workspace;
