//! `cargo xtask bench`: one run on one machine that measures what issue #8 asks for and writes
//! `BENCHMARKS.md` and its chart. xtask builds what is needed and runs the `bench` binary.
//!
//! - [`model`]: the measurements, as plain data (also written as JSON);
//! - [`stats`]: medians and percentiles, number formats;
//! - [`cost`]: the projected Lambda bill per million requests;
//! - [`workload`]: the payload 2.0 events each function gets, and the notes they address;
//! - [`cold`]: cold starts and warm invocations under the Runtime API emulator;
//! - [`warm`]: closed-loop HTTP load, and `cargo lambda watch` to compare with;
//! - [`deploys`]: `cargo xtask deploy`'s engine against the naive path, on moto server;
//! - [`inputs`]: sizes, criterion's estimates, the machine;
//! - [`analysis`]: why a missed aim was missed and what would close it;
//! - [`report`]: `BENCHMARKS.md`; [`chart`]: the SVG chart.

#![warn(missing_docs)]

pub mod analysis;
pub mod chart;
pub mod cold;
pub mod cost;
pub mod deploys;
pub mod inputs;
pub mod model;
pub mod report;
pub mod stats;
pub mod warm;
pub mod workload;
