//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: repository tidy checks and the GitHub workflows.

mod tidy;
mod workflows;
