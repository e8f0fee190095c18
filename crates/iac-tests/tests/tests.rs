//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: what ships: the IaC applied to moto, its variables' validation, the arm64 zips under qemu.

mod apply;
mod arm64;
mod variables;
