//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: the OpenAPI document: its contract with the functions' types, and that the committed `openapi.json` is fresh.

mod contract;
mod fresh;
