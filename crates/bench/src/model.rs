//! What one bench run measured, as plain data: the measuring modules fill it, [`crate::report`]
//! renders it and [`crate::chart`] draws it. Raw samples are kept (summaries are computed when
//! rendering), and the whole struct is written as `target/bench/results.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything one run measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// When, where and how.
    pub meta: Meta,
    /// Per function: package and binary sizes.
    pub sizes: Vec<SizeRow>,
    /// Per function (and the Python handler): cold starts, warm invocations, memory.
    pub functions: Vec<FunctionRow>,
    /// Warm load through the local gateway and through `cargo lambda watch`.
    pub warm: Vec<WarmRow>,
    /// JWT verifications on one core (criterion).
    pub jwt: Option<JwtRow>,
    /// Deploys against moto server.
    pub deploy: Option<DeployResult>,
    /// How `GET /notes` and `GET /admin/stats` cost as the notes grow, per store.
    #[serde(default)]
    pub growth: Vec<GrowthRow>,
    /// Parts that were skipped or failed, with the reason.
    pub skipped: Vec<String>,
}

/// The run's circumstances.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// When it ran (UTC, `YYYY-MM-DD HH:MM`).
    pub date: String,
    /// Whether this was `--quick`.
    pub quick: bool,
    /// The CPU model and core count, memory.
    pub machine: String,
    /// The commit measured (`git rev-parse --short HEAD`, plus `-dirty`).
    pub commit: String,
    /// `rustc --version`.
    pub rustc: String,
    /// How long the measurements took (the builds before them excluded), in seconds.
    pub seconds: f64,
    /// The settings used (cold starts per function, warm run length, …), for the report.
    pub settings: BTreeMap<String, String>,
}

/// One function's sizes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// The function (crate) name.
    pub function: String,
    /// `target/lambda/<function>/bootstrap.zip` (arm64), bytes.
    pub arm64_zip: Option<u64>,
    /// `target/release/<function>` (x86_64, stripped), bytes.
    pub x86_64_binary: Option<u64>,
    /// Whether the function links the AWS SDK (the function table gives it access to the
    /// notes table).
    pub with_sdk: bool,
}

/// One request's series at one note count on one store ([`crate::growth`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    /// `filesystem` or `dynamodb`.
    pub store: String,
    /// How many notes were stored (all of one user).
    pub notes: u64,
    /// `GET /notes`, `GET /notes, next page` or `GET /admin/stats`.
    pub request: String,
    /// Correct answers timed.
    pub samples: usize,
    /// Their median, ms.
    pub p50_ms: f64,
    /// Their 95th percentile, ms.
    pub p95_ms: f64,
    /// Whether the store's calls were counted (a remote store, through the counting proxy).
    pub counted: bool,
    /// Store calls per request, by operation (`Query`, `BatchGetItem`, …).
    pub calls: BTreeMap<String, f64>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Failed invocations and wrong answers.
    pub errors: u64,
    /// Why the row is empty or what the first error was.
    pub note: Option<String>,
}

impl GrowthRow {
    /// Store calls per request, all operations together.
    #[must_use]
    pub fn calls_per_request(&self) -> f64 {
        self.calls.values().sum()
    }
}

/// Which runtime a [`FunctionRow`] measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// A Rust `bootstrap` binary of this workspace (x86_64 release build).
    #[default]
    Rust,
    /// The Python handler under `awslambdaric`.
    Python,
}

/// One function under the Runtime API emulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionRow {
    /// The function name (`me (Python)` for the Python handler).
    pub function: String,
    /// Rust or Python.
    pub runtime: Runtime,
    /// The route it serves, e.g. `GET /me`.
    pub route: String,
    /// Cold starts: process spawn to first response, ms.
    pub cold_ms: Vec<f64>,
    /// Warm invocations (one instance, one at a time): event handed over to response, ms.
    pub warm_ms: Vec<f64>,
    /// Peak RSS (`VmHWM`) of the warm instance after its warm invocations, KiB.
    pub peak_rss_kib: u64,
    /// The HTTP statuses the invocations answered, with counts.
    pub statuses: BTreeMap<u16, u64>,
    /// Invocations that failed (crash, timeout, malformed answer).
    pub errors: u64,
}

/// Who served a warm run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Server {
    /// `local-aws`: gateway (JWT verified, payload 2.0 event built) + Runtime API emulator.
    #[default]
    Gateway,
    /// `cargo lambda watch`: its Invoke API with a ready-made event (no JWT check).
    CargoLambdaWatch,
}

impl Server {
    /// How the report names it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Gateway => "local gateway (JWT verified)",
            Self::CargoLambdaWatch => "cargo lambda watch (no JWT)",
        }
    }
}

/// One warm load run: a route at a concurrency for a time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WarmRow {
    /// Who served it.
    pub server: Server,
    /// The route, e.g. `GET /me`.
    pub route: String,
    /// The function behind it.
    pub function: String,
    /// Concurrent clients (closed loop: each sends its next request when the last answered).
    pub concurrency: usize,
    /// Requests completed in the measured window.
    pub requests: u64,
    /// Requests that failed or answered an unexpected status.
    pub errors: u64,
    /// The measured window, seconds.
    pub seconds: f64,
    /// Latency p50, ms.
    pub p50_ms: f64,
    /// Latency p99, ms.
    pub p99_ms: f64,
    /// The HTTP statuses seen (the function's status for `cargo lambda watch`).
    pub statuses: BTreeMap<u16, u64>,
    /// Peak RSS (`VmHWM`) of the largest instance of the function after the run, KiB (gateway
    /// runs only).
    pub peak_rss_kib: Option<u64>,
    /// How many instances served it (gateway runs only).
    pub instances: Option<usize>,
}

impl WarmRow {
    /// Requests per second.
    #[must_use]
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The criterion measurement of JWT verification (`crates/cognito-claims/benches/verify.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JwtRow {
    /// What was measured (the criterion benchmark id).
    pub benchmark: String,
    /// Mean time per verification, ns (criterion's point estimate).
    pub mean_ns: f64,
    /// The 95 % confidence interval of the mean, ns.
    pub mean_ci_ns: (f64, f64),
}

impl JwtRow {
    /// Verifications per second on one core.
    #[must_use]
    pub fn per_second(&self) -> f64 {
        if self.mean_ns > 0.0 {
            1e9 / self.mean_ns
        } else {
            0.0
        }
    }
}

/// The deploy measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployResult {
    /// How many functions each deploy covers.
    pub functions: usize,
    /// Their zips' total size, bytes.
    pub total_zip_bytes: u64,
    /// The scenarios, in order.
    pub scenarios: Vec<DeployScenario>,
    /// The naive path's runs (every function uploaded and updated, one after the other), s.
    pub naive_s: Vec<f64>,
    /// Round trips of one read-only Lambda call (GetFunctionConfiguration) to moto, ms: what
    /// every API call costs here at least.
    pub call_ms: Vec<f64>,
}

/// One deploy scenario, repeated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployScenario {
    /// `unchanged`, `one changed`, `all changed`.
    pub name: String,
    /// How many functions changed.
    pub changed: usize,
    /// `cargo xtask deploy`'s engine, each run, s.
    pub ours_s: Vec<f64>,
}
