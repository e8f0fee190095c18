//! Every integration test of this crate in one binary (one link, helpers compiled once), one
//! module a file: the generic HTTP layer: claims, the event builder, JSON parsing with limits, responses.

mod claims;
mod event;
mod parse_json;
mod respond;
