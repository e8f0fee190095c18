//! Load testing in one place. `cargo xtask bench`: one run on one machine that measures sizes,
//! cold starts, warm latency and throughput, memory, JWT verification and deploys, and writes
//! `BENCHMARKS.md` and its chart; xtask builds what is needed and runs the `bench` binary.
//! `cargo xtask soak`: a bounded load run against the local stack that checks nothing is lost
//! and memory stays flat; xtask builds the functions and runs the `soak` binary.
//!
//! - [`model`]: the measurements, as plain data (also written as JSON);
//! - [`latency`]: the latency histogram (hdrhistogram, 3 significant digits) of both;
//! - [`procfs`]: the `/proc` readers of both (RSS, peak RSS, the machine);
//! - [`routes`]: the routes both drive, a flat view of the function table;
//! - [`stats`]: exact medians and percentiles of small sample sets, number formats;
//! - [`cost`]: the projected Lambda bill per million requests;
//! - [`workload`]: the payload 2.0 events each function gets, and the notes they address;
//! - [`cold`]: cold starts and warm invocations under the Runtime API emulator;
//! - [`warm`]: closed-loop HTTP load, and `cargo lambda watch` to compare with;
//! - [`deploys`]: `cargo xtask deploy`'s engine against the naive path, on moto server;
//! - [`growth`]: what a list page and the count cost as the notes grow, per store (calls
//!   counted by a proxy in front of moto);
//! - [`inputs`]: sizes, criterion's estimates, the machine;
//! - [`analysis`]: why a missed aim was missed and what would close it;
//! - [`report`]: `BENCHMARKS.md`; [`chart`]: the SVG chart;
//! - [`soak`]: the soak's load, checks and report.

#![warn(missing_docs)]

pub mod analysis;
pub mod chart;
pub mod cold;
pub mod cost;
pub mod deploys;
pub mod growth;
pub mod inputs;
pub mod latency;
pub mod model;
pub mod procfs;
pub mod report;
pub mod routes;
pub mod soak;
pub mod stats;
pub mod warm;
pub mod workload;
