//! `cargo xtask soak`: a bounded load run against the local stack with the real function
//! binaries. Mixed routes at a fixed concurrency for a fixed time; then every note created is
//! read back. It fails on any unexpected status, any lost or duplicated note, or memory that
//! grows by more than 10 % between the end of the warm-up and the end of the run: the gateway
//! process's RSS, and the mean RSS per function instance (the pool may still be growing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::stack::{LocalStack, StackConfig};

/// How the soak runs.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Concurrent clients.
    pub concurrency: usize,
    /// How long the load lasts (the warm-up is the first tenth, at least 2 s).
    pub duration: Duration,
    /// The most requests in all (a bound besides the time).
    pub max_requests: u64,
}

/// What the soak measured.
#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    /// Requests sent.
    pub requests: u64,
    /// Requests whose status was not the expected one (or that failed to complete).
    pub failures: u64,
    /// A few of the failures, for the report.
    pub failure_samples: Vec<String>,
    /// Requests per route key.
    pub per_route: BTreeMap<String, u64>,
    /// Latency percentiles over all requests, in ms: p50, p99, max.
    pub latency_ms: (f64, f64, f64),
    /// Wall time of the load.
    pub elapsed: Duration,
    /// Memory after the warm-up and at the end: the gateway process's RSS (KiB).
    pub gateway_rss_kib: (u64, u64),
    /// The mean RSS of a function instance (KiB), after the warm-up and at the end.
    pub instance_rss_kib: (u64, u64),
    /// How many instances ran, after the warm-up and at the end (the pool may still grow
    /// after the warm-up, so memory is compared per instance).
    pub instances: (usize, usize),
    /// Notes created during the run.
    pub created: usize,
    /// Created notes that could not be read back with their content.
    pub lost: usize,
    /// Ids listed more than once.
    pub duplicated: usize,
}

impl SoakReport {
    /// Whether the run met every bar.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failures == 0
            && self.lost == 0
            && self.duplicated == 0
            && growth(self.gateway_rss_kib) <= 0.10
            && growth(self.instance_rss_kib) <= 0.10
    }

    /// The report as Markdown.
    #[must_use]
    pub fn render(&self, options: &SoakOptions) -> String {
        let (p50, p99, max) = self.latency_ms;
        let routes: String = self
            .per_route
            .iter()
            .map(|(route, n)| format!("| `{route}` | {n} |\n"))
            .collect();
        format!(
            "| measure | value |\n|---|---|\n\
             | concurrency | {} |\n| duration | {:.1} s |\n| requests | {} ({:.0}/s) |\n\
             | failed requests | {} |\n| latency p50 / p99 / max | {p50:.1} / {p99:.1} / {max:.1} ms |\n\
             | gateway RSS after warm-up → end | {} → {} KiB ({:+.1} %) |\n\
             | mean instance RSS after warm-up → end | {} → {} KiB ({:+.1} %; {} → {} instances) |\n\
             | notes created / lost / duplicated | {} / {} / {} |\n| result | {} |\n\n\
             | route | requests |\n|---|---|\n{routes}",
            options.concurrency,
            self.elapsed.as_secs_f64(),
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64().max(0.001),
            self.failures,
            self.gateway_rss_kib.0,
            self.gateway_rss_kib.1,
            growth(self.gateway_rss_kib) * 100.0,
            self.instance_rss_kib.0,
            self.instance_rss_kib.1,
            growth(self.instance_rss_kib) * 100.0,
            self.instances.0,
            self.instances.1,
            self.created,
            self.lost,
            self.duplicated,
            if self.passed() { "PASS" } else { "FAIL" },
        )
    }
}

/// Growth from the first to the second value, as a fraction (0 when the first is 0).
fn growth((warm, end): (u64, u64)) -> f64 {
    if warm == 0 {
        return 0.0;
    }
    (end as f64 - warm as f64) / warm as f64
}

/// Why the soak could not run.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The stack did not start.
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    /// The local issuer refused to make the soak's user.
    #[error("the soak user: {0}")]
    User(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

struct Shared {
    client: reqwest::Client,
    api: String,
    token: String,
    started: Instant,
    deadline: Instant,
    budget: AtomicU64,
    latencies: Mutex<Vec<f64>>,
    per_route: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<Vec<String>>,
    failed: AtomicU64,
    created: Mutex<Vec<(String, String)>>,
}

/// Starts a stack from `config` and soaks it.
///
/// # Errors
/// See [`SoakError`]; a run that completes but misses a bar is a report that did not pass.
pub async fn run(config: StackConfig, options: &SoakOptions) -> Result<SoakReport, SoakError> {
    let stack = LocalStack::start(config).await?;
    let result = soak(&stack, options).await;
    stack.shutdown().await;
    result
}

async fn soak(stack: &LocalStack, options: &SoakOptions) -> Result<SoakReport, SoakError> {
    let Some(issuer) = &stack.issuer else {
        return Err(SoakError::User(
            "the soak needs the local issuer".to_owned(),
        ));
    };
    let email = format!(
        "soak-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    issuer
        .admin_create_user(&email, "Soak-Test-Password-1")
        .map_err(|e| SoakError::User(e.to_string()))?;
    let tokens = issuer
        .issue_tokens(&email, &[])
        .map_err(|e| SoakError::User(e.to_string()))?;
    let token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .map_err(|e| SoakError::Client(e.to_string()))?;
    let started = Instant::now();
    let shared = Arc::new(Shared {
        client,
        api: stack.api_url.clone(),
        token,
        started,
        deadline: started + options.duration,
        budget: AtomicU64::new(options.max_requests),
        latencies: Mutex::new(Vec::new()),
        per_route: Mutex::new(BTreeMap::new()),
        failures: Mutex::new(Vec::new()),
        failed: AtomicU64::new(0),
        created: Mutex::new(Vec::new()),
    });
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move { work(&shared, worker).await })
        })
        .collect();

    let warm_up = (options.duration / 10).max(Duration::from_secs(2));
    tokio::time::sleep(warm_up.min(options.duration)).await;
    let warm = memory(stack).await;
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed();
    let end = memory(stack).await;

    // Every created note reads back with its title; the list holds each exactly once.
    let created = shared.created.lock().await.clone();
    let mut lost = 0;
    for (id, title) in &created {
        let got = shared
            .client
            .get(format!("{}/notes/{id}", shared.api))
            .bearer_auth(&shared.token)
            .send()
            .await;
        let ok = match got {
            Ok(response) if response.status() == reqwest::StatusCode::OK => response
                .json::<Value>()
                .await
                .is_ok_and(|note| note["title"] == title.as_str()),
            _ => false,
        };
        if !ok {
            lost += 1;
        }
    }
    let listed = list_all(&shared).await;
    let unique: BTreeSet<&String> = listed.iter().collect();
    let duplicated = listed.len() - unique.len();
    let wanted: BTreeSet<&String> = created.iter().map(|(id, _)| id).collect();
    lost += wanted.difference(&unique).count();

    let mut latencies = shared.latencies.lock().await.clone();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(SoakReport {
        requests: latencies.len() as u64,
        failures: shared.failed.load(Ordering::SeqCst),
        failure_samples: shared.failures.lock().await.clone(),
        per_route: shared.per_route.lock().await.clone(),
        latency_ms: (pick(0.5), pick(0.99), pick(1.0)),
        elapsed,
        gateway_rss_kib: (warm.0, end.0),
        instance_rss_kib: (warm.1, end.1),
        instances: (warm.2, end.2),
        created: created.len(),
        lost,
        duplicated,
    })
}

/// One client: cycles through the mix until the time or the request budget runs out.
async fn work(shared: &Shared, worker: usize) {
    let mut step = worker;
    let mut mine: Vec<String> = Vec::new();
    while Instant::now() < shared.deadline
        && shared
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        step += 1;
        let api = &shared.api;
        let (route, request, expect) = match step % 6 {
            0 => (
                "GET /health",
                shared.client.get(format!("{api}/health")),
                200,
            ),
            1 => ("GET /me", shared.client.get(format!("{api}/me")), 200),
            2 | 3 => {
                let title = format!("soak {worker}-{step}");
                let body =
                    json!({"title": title, "body": "x".repeat(step % 512), "tags": ["soak"]});
                let sent = Instant::now();
                let response = shared
                    .client
                    .post(format!("{api}/notes"))
                    .bearer_auth(&shared.token)
                    .json(&body)
                    .send()
                    .await;
                let id = match response {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|n| n["id"].as_str().map(str::to_owned)),
                    Ok(r) => {
                        fail(shared, "POST /notes", &format!("status {}", r.status())).await;
                        None
                    }
                    Err(e) => {
                        fail(shared, "POST /notes", &e.to_string()).await;
                        None
                    }
                };
                record(shared, "POST /notes", sent).await;
                if let Some(id) = id {
                    shared.created.lock().await.push((id.clone(), title));
                    mine.push(id);
                }
                continue;
            }
            4 => match mine.last() {
                Some(id) => (
                    "GET /notes/{id}",
                    shared.client.get(format!("{api}/notes/{id}")),
                    200,
                ),
                None => (
                    "GET /health",
                    shared.client.get(format!("{api}/health")),
                    200,
                ),
            },
            _ => (
                "GET /notes",
                shared.client.get(format!("{api}/notes?limit=20")),
                200,
            ),
        };
        let sent = Instant::now();
        match request.bearer_auth(&shared.token).send().await {
            Ok(response) if response.status().as_u16() == expect => {
                let _ = response.bytes().await;
            }
            Ok(response) => fail(shared, route, &format!("status {}", response.status())).await,
            Err(e) => fail(shared, route, &e.to_string()).await,
        }
        record(shared, route, sent).await;
    }
}

async fn record(shared: &Shared, route: &str, sent: Instant) {
    shared
        .latencies
        .lock()
        .await
        .push(sent.elapsed().as_secs_f64() * 1000.0);
    *shared
        .per_route
        .lock()
        .await
        .entry(route.to_owned())
        .or_default() += 1;
}

async fn fail(shared: &Shared, route: &str, why: &str) {
    shared.failed.fetch_add(1, Ordering::SeqCst);
    let mut samples = shared.failures.lock().await;
    if samples.len() < 10 {
        samples.push(format!(
            "{:.1}s {route}: {why}",
            shared.started.elapsed().as_secs_f64()
        ));
    }
}

/// Every note id of the soak user, following `next_cursor`.
async fn list_all(shared: &Shared) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100_000 {
        let mut url = format!("{}/notes?limit=100", shared.api);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = shared
            .client
            .get(url)
            .bearer_auth(&shared.token)
            .send()
            .await;
        let Ok(page) = page else {
            break;
        };
        let Ok(page) = page.json::<Value>().await else {
            break;
        };
        for item in page["items"].as_array().into_iter().flatten() {
            if let Some(id) = item["id"].as_str() {
                ids.push(id.to_owned());
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    ids
}

/// This process's RSS (the gateway and issuer), the mean RSS of the function instances (KiB),
/// and how many instances there are.
async fn memory(stack: &LocalStack) -> (u64, u64, usize) {
    let gateway = process_rss_kib(std::process::id());
    let lambda = stack.gateway.lambda();
    let functions: Vec<String> = lambda.functions().map(str::to_owned).collect();
    let mut total = 0;
    let mut count = 0;
    for function in functions {
        for pid in lambda.instance_pids(&function).await {
            total += process_rss_kib(pid);
            count += 1;
        }
    }
    (gateway, total / (count.max(1) as u64), count)
}

/// `VmRSS` of a process from `/proc` (0 where that is unavailable).
#[must_use]
pub fn process_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
