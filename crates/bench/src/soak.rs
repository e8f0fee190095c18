//! `cargo xtask soak`: a bounded load run against the local stack with the real function
//! binaries. Mixed routes at a fixed concurrency for a fixed time: every client creates, reads,
//! replaces (with the `ETag` it got), lists and deletes its own notes, keeping at most
//! [`KEEP_PER_CLIENT`] at a time, so the data set stops growing early in the warm-up and memory
//! can be compared fairly. Then every note a client kept reads back with its last title, the
//! list holds exactly those once, and deleted notes stay gone. It fails on any unexpected
//! status, any lost, duplicated or resurrected note, or memory that grows by more than 10 %
//! between the end of the warm-up and the end of the run: the gateway process's RSS, and the
//! mean RSS per function instance (the pool may still be growing), read by [`crate::procfs`].
//! Latencies go into the fixed-size histogram of [`crate::latency`], so the load generator (in
//! the gateway's process) does not grow either.
//!
//! The warm-up is counted in invocations per function instance, not in seconds: an instance's
//! heap takes a few hundred invocations to reach its working size (measured on one instance of
//! each function: +5 to +10 % over the first 500 invocations, then under 1 % over the next
//! 20 000), and with 64 clients spread over 56 instances that is far longer than a fixed share
//! of a 60 s run. The same load runs through the warm-up, and then for the whole `duration`.
//!
//! The stack is `local-aws`'s [`LocalStack`]; the `soak` binary of this crate is what
//! `cargo xtask soak` runs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use local_aws::stack::{LocalStack, StackConfig, StackError};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::latency::Latencies;
use crate::procfs;

/// How the soak runs.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Concurrent clients.
    pub concurrency: usize,
    /// How long the load lasts after the warm-up.
    pub duration: Duration,
    /// The warm-up: until the mean function instance has served this many invocations (or
    /// [`WARM_UP_LIMIT`] has passed), with the same load.
    pub warm_up_invocations: u64,
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
    /// Wall time of the load, warm-up included.
    pub elapsed: Duration,
    /// How long the warm-up took, and the requests sent in it.
    pub warm_up: (Duration, u64),
    /// Whether the warm-up reached its invocations per instance (not the time limit).
    pub warmed: bool,
    /// Memory after the warm-up and at the end: the gateway process's RSS (KiB).
    pub gateway_rss_kib: (u64, u64),
    /// The mean RSS of a function instance (KiB), after the warm-up and at the end.
    pub instance_rss_kib: (u64, u64),
    /// How many instances ran, after the warm-up and at the end (the pool may still grow
    /// after the warm-up, so memory is compared per instance).
    pub instances: (usize, usize),
    /// Memory from the end of the warm-up to the end, about every tenth of the run: seconds
    /// into the run, gateway RSS and mean instance RSS (KiB), instances.
    pub memory_series: Vec<(f64, u64, u64, usize)>,
    /// Notes created during the run.
    pub created: u64,
    /// Notes deleted during the run.
    pub deleted: u64,
    /// Notes the clients kept at the end (created and not deleted).
    pub kept: usize,
    /// Kept notes that could not be read back with their last title, or were not listed.
    pub lost: usize,
    /// Ids listed more than once.
    pub duplicated: usize,
    /// Deleted notes that could still be read or were listed (of the last few each client
    /// deleted, and every listed id that no client kept).
    pub resurrected: usize,
}

impl SoakReport {
    /// Whether the run met every bar.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failures == 0
            && self.lost == 0
            && self.duplicated == 0
            && self.resurrected == 0
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
        let series = self
            .memory_series
            .iter()
            .map(|(at, gateway, instance, _)| format!("{at:.0}: {gateway} / {instance}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "| measure | value |\n|---|---|\n\
             | concurrency | {} |\n| duration | {:.1} s ({}) |\n| requests | {} ({:.0}/s) |\n\
             | failed requests | {} |\n| latency p50 / p99 / max | {p50:.1} / {p99:.1} / {max:.1} ms |\n\
             | gateway RSS after warm-up → end | {} → {} KiB ({:+.1} %) |\n\
             | mean instance RSS after warm-up → end | {} → {} KiB ({:+.1} %; {} → {} instances) |\n\
             | memory over time (s: gateway / mean instance KiB) | {} |\n\
             | notes created / deleted / kept at the end | {} / {} / {} |\n\
             | notes lost / duplicated / resurrected | {} / {} / {} |\n| result | {} |\n\n\
             | route | requests |\n|---|---|\n{routes}",
            options.concurrency,
            self.elapsed.as_secs_f64(),
            self.warm_up_text(options),
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
            series,
            self.created,
            self.deleted,
            self.kept,
            self.lost,
            self.duplicated,
            self.resurrected,
            if self.passed() { "PASS" } else { "FAIL" },
        )
    }

    /// The warm-up, for the report: how long, how many requests, and why it ended.
    fn warm_up_text(&self, options: &SoakOptions) -> String {
        let (took, requests) = self.warm_up;
        let per_instance = requests / (self.instances.0.max(1) as u64);
        format!(
            "the first {:.1} s and {requests} requests were the warm-up: {per_instance} per \
             instance, {}",
            took.as_secs_f64(),
            if self.warmed {
                format!("at least {} wanted", options.warm_up_invocations)
            } else {
                format!(
                    "{} wanted, but the warm-up stops after {} s",
                    options.warm_up_invocations,
                    WARM_UP_LIMIT.as_secs()
                )
            }
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
    Stack(#[from] StackError),
    /// The local issuer refused to make the soak's user.
    #[error("the soak user: {0}")]
    User(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The longest warm-up; the soak compares memory from then on even if the instances have not
/// served [`SoakOptions::warm_up_invocations`] each by that time (the report says so).
pub const WARM_UP_LIMIT: Duration = Duration::from_secs(300);

/// Notes one client keeps at most; beyond that it deletes its oldest.
pub const KEEP_PER_CLIENT: usize = 4;

/// Deleted ids per client checked afterwards (the most recent ones).
const DELETED_SAMPLE: usize = 8;

struct Shared {
    client: reqwest::Client,
    api: String,
    token: String,
    started: Instant,
    /// When the clients stop, in ms after `started`: the warm-up limit plus the duration until
    /// the warm-up ends, then the end of the warm-up plus the duration.
    stop_at_ms: AtomicU64,
    budget: AtomicU64,
    latencies: Mutex<Latencies>,
    per_route: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<Vec<String>>,
    failed: AtomicU64,
    created: AtomicU64,
    deleted: AtomicU64,
}

impl Shared {
    /// Whether the clients will still be running `ahead` from now.
    fn running_after(&self, ahead: Duration) -> bool {
        millis(self.started.elapsed() + ahead) < self.stop_at_ms.load(Ordering::SeqCst)
    }
}

/// A note a client keeps: its id, its last title and `ETag`.
#[derive(Clone, Debug)]
struct Kept {
    id: String,
    title: String,
    etag: String,
}

/// What one client leaves behind: the notes it kept, and the last ones it deleted.
#[derive(Debug, Default)]
struct Left {
    kept: VecDeque<Kept>,
    deleted: VecDeque<String>,
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
        stop_at_ms: AtomicU64::new(millis(WARM_UP_LIMIT + options.duration)),
        budget: AtomicU64::new(options.max_requests),
        latencies: Mutex::new(Latencies::default()),
        per_route: Mutex::new(BTreeMap::new()),
        failures: Mutex::new(Vec::new()),
        failed: AtomicU64::new(0),
        created: AtomicU64::new(0),
        deleted: AtomicU64::new(0),
    });
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move { work(&shared, worker).await })
        })
        .collect();

    // The warm-up: until the mean instance has served enough invocations, checked each second.
    let (warm, warmed, warm_up) = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = memory(stack).await;
        let sent = shared.latencies.lock().await.count();
        let enough = now.2 > 0 && sent >= options.warm_up_invocations.saturating_mul(now.2 as u64);
        let out_of_budget = shared.budget.load(Ordering::SeqCst) == 0;
        let took = started.elapsed();
        if enough || out_of_budget || took >= WARM_UP_LIMIT {
            break (now, enough, (took, sent));
        }
    };
    shared
        .stop_at_ms
        .store(millis(warm_up.0 + options.duration), Ordering::SeqCst);
    let mut memory_series = vec![(started.elapsed().as_secs_f64(), warm.0, warm.1, warm.2)];
    let every = (options.duration / 10).max(Duration::from_secs(1));
    while shared.running_after(every) {
        tokio::time::sleep(every).await;
        let (gateway, instance, count) = memory(stack).await;
        memory_series.push((started.elapsed().as_secs_f64(), gateway, instance, count));
    }
    let mut left = Vec::with_capacity(workers.len());
    for worker in workers {
        if let Ok(l) = worker.await {
            left.push(l);
        }
    }
    let elapsed = started.elapsed();
    let end = memory(stack).await;
    memory_series.push((elapsed.as_secs_f64(), end.0, end.1, end.2));

    // Every kept note reads back with its last title; deleted ones stay gone; the list holds
    // each kept note exactly once and nothing else.
    let kept: Vec<&Kept> = left.iter().flat_map(|l| l.kept.iter()).collect();
    let mut lost = 0;
    for note in &kept {
        let got = read(&shared, &note.id).await;
        if !got.is_some_and(|n| n["title"] == note.title.as_str()) {
            lost += 1;
        }
    }
    let mut resurrected = 0;
    for id in left.iter().flat_map(|l| l.deleted.iter()) {
        if read(&shared, id).await.is_some() {
            resurrected += 1;
        }
    }
    let listed = list_all(&shared).await;
    let unique: BTreeSet<&String> = listed.iter().collect();
    let duplicated = listed.len() - unique.len();
    let wanted: BTreeSet<&String> = kept.iter().map(|n| &n.id).collect();
    lost += wanted.difference(&unique).count();
    resurrected += unique.difference(&wanted).count();

    let latencies = shared.latencies.lock().await.clone();
    Ok(SoakReport {
        requests: latencies.count(),
        failures: shared.failed.load(Ordering::SeqCst),
        failure_samples: shared.failures.lock().await.clone(),
        per_route: shared.per_route.lock().await.clone(),
        latency_ms: (
            latencies.quantile(0.5),
            latencies.quantile(0.99),
            latencies.quantile(1.0),
        ),
        elapsed,
        warm_up,
        warmed,
        gateway_rss_kib: (warm.0, end.0),
        instance_rss_kib: (warm.1, end.1),
        instances: (warm.2, end.2),
        memory_series,
        created: shared.created.load(Ordering::SeqCst),
        deleted: shared.deleted.load(Ordering::SeqCst),
        kept: kept.len(),
        lost,
        duplicated,
        resurrected,
    })
}

/// A duration in whole milliseconds (saturating).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A note of the soak user, when it reads back with 200.
async fn read(shared: &Shared, id: &str) -> Option<Value> {
    let response = shared
        .client
        .get(format!("{}/notes/{id}", shared.api))
        .bearer_auth(&shared.token)
        .send()
        .await
        .ok()?;
    if response.status() != reqwest::StatusCode::OK {
        return None;
    }
    response.json::<Value>().await.ok()
}

/// The step of the mix a client takes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Health,
    Me,
    Create,
    Read,
    Replace,
    List,
    Delete,
    ReadDeleted,
}

/// The mix, in order: a client cycles through it from its own offset.
const MIX: [Step; 8] = [
    Step::Health,
    Step::Create,
    Step::Me,
    Step::Read,
    Step::Replace,
    Step::List,
    Step::Delete,
    Step::ReadDeleted,
];

/// One client: cycles through the mix until the time or the request budget runs out, and
/// returns the notes it kept and the last ones it deleted.
async fn work(shared: &Shared, worker: usize) -> Left {
    let mut left = Left::default();
    let mut turn = worker;
    while shared.running_after(Duration::ZERO)
        && shared
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        turn += 1;
        let api = &shared.api;
        let sent = Instant::now();
        let (route, outcome) = match MIX[turn % MIX.len()] {
            Step::Health => (
                "GET /health",
                expect(shared.client.get(format!("{api}/health")), 200).await,
            ),
            Step::Me => (
                "GET /me",
                expect(authed(shared, shared.client.get(format!("{api}/me"))), 200).await,
            ),
            Step::List => (
                "GET /notes",
                expect(
                    authed(shared, shared.client.get(format!("{api}/notes?limit=20"))),
                    200,
                )
                .await,
            ),
            Step::Create => {
                let title = format!("soak {worker}-{turn}");
                let body =
                    json!({"title": title, "body": "x".repeat(turn % 512), "tags": ["soak"]});
                let request = authed(shared, shared.client.post(format!("{api}/notes")));
                let outcome = note(request.json(&body), 201).await;
                if let Ok((id, etag)) = &outcome {
                    shared.created.fetch_add(1, Ordering::SeqCst);
                    left.kept.push_back(Kept {
                        id: id.clone(),
                        title,
                        etag: etag.clone(),
                    });
                }
                ("POST /notes", outcome.map(|_| ()))
            }
            Step::Read => match left.kept.back() {
                Some(kept) => (
                    "GET /notes/{id}",
                    expect(
                        authed(
                            shared,
                            shared.client.get(format!("{api}/notes/{}", kept.id)),
                        ),
                        200,
                    )
                    .await,
                ),
                None => continue,
            },
            Step::Replace => match left.kept.back_mut() {
                Some(kept) => {
                    let title = format!("soak {worker}-{turn} replaced");
                    let body = json!({"title": title, "body": "replaced", "tags": ["soak"]});
                    let request = authed(
                        shared,
                        shared.client.put(format!("{api}/notes/{}", kept.id)),
                    )
                    .header("if-match", &kept.etag)
                    .json(&body);
                    let outcome = note(request, 200).await;
                    if let Ok((_, etag)) = &outcome {
                        kept.title = title;
                        kept.etag = etag.clone();
                    }
                    ("PUT /notes/{id}", outcome.map(|_| ()))
                }
                None => continue,
            },
            Step::Delete => {
                if left.kept.len() <= KEEP_PER_CLIENT {
                    continue;
                }
                let Some(oldest) = left.kept.pop_front() else {
                    continue;
                };
                let url = format!("{api}/notes/{}", oldest.id);
                let outcome = expect(authed(shared, shared.client.delete(url)), 204).await;
                if outcome.is_ok() {
                    shared.deleted.fetch_add(1, Ordering::SeqCst);
                    left.deleted.push_back(oldest.id);
                    if left.deleted.len() > DELETED_SAMPLE {
                        left.deleted.pop_front();
                    }
                } else {
                    // Not deleted: it is still the client's, and must still read back.
                    left.kept.push_front(oldest);
                }
                ("DELETE /notes/{id}", outcome)
            }
            Step::ReadDeleted => match left.deleted.back() {
                Some(id) => (
                    "GET /notes/{id} (deleted)",
                    expect(
                        authed(shared, shared.client.get(format!("{api}/notes/{id}"))),
                        404,
                    )
                    .await,
                ),
                None => continue,
            },
        };
        if let Err(why) = outcome {
            fail(shared, route, &why).await;
        }
        record(shared, route, sent).await;
    }
    left
}

/// The request with the soak user's token.
fn authed(shared: &Shared, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(&shared.token)
}

/// Sends a request and checks its status; the body is read to the end.
async fn expect(request: reqwest::RequestBuilder, status: u16) -> Result<(), String> {
    match request.send().await {
        Ok(response) if response.status().as_u16() == status => {
            let _ = response.bytes().await;
            Ok(())
        }
        Ok(response) => Err(format!("status {}", response.status())),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends a request that answers a note with `status`: its id and `ETag`.
async fn note(request: reqwest::RequestBuilder, status: u16) -> Result<(String, String), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    if response.status().as_u16() != status {
        return Err(format!("status {}", response.status()));
    }
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or("no ETag")?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let id = body["id"].as_str().ok_or("no id")?.to_owned();
    Ok((id, etag))
}

async fn record(shared: &Shared, route: &str, sent: Instant) {
    shared
        .latencies
        .lock()
        .await
        .record(sent.elapsed().as_secs_f64() * 1000.0);
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
    let gateway = procfs::rss_kib(std::process::id());
    let lambda = stack.gateway.lambda();
    let functions: Vec<String> = lambda.functions().map(str::to_owned).collect();
    let mut total = 0;
    let mut count = 0;
    for function in functions {
        for pid in lambda.instance_pids(&function).await {
            total += procfs::rss_kib(pid);
            count += 1;
        }
    }
    (gateway, total / (count.max(1) as u64), count)
}

#[cfg(test)]
mod soak_tests {
    use super::*;

    #[test]
    fn a_report_passes_only_when_every_bar_is_met() {
        let good = SoakReport {
            requests: 100,
            gateway_rss_kib: (1000, 1100),
            instance_rss_kib: (1000, 900),
            created: 10,
            deleted: 6,
            kept: 4,
            warm_up: (Duration::from_millis(2500), 40),
            warmed: true,
            instances: (4, 4),
            ..SoakReport::default()
        };
        assert!(good.passed());
        let options = SoakOptions {
            concurrency: 2,
            duration: Duration::from_secs(1),
            warm_up_invocations: 10,
            max_requests: 100,
        };
        let text = good.render(&options);
        assert!(text.contains("| notes created / deleted / kept at the end | 10 / 6 / 4 |"));
        assert!(text.contains("| notes lost / duplicated / resurrected | 0 / 0 / 0 |"));
        assert!(text.contains("| result | PASS |"));
        assert!(
            text.contains("2.5 s and 40 requests were the warm-up: 10 per instance, at least 10"),
            "{text}"
        );
        let cut_short = SoakReport {
            warmed: false,
            ..good.clone()
        }
        .render(&options);
        assert!(
            cut_short.contains("the warm-up stops after 300 s"),
            "{cut_short}"
        );
        for bad in [
            SoakReport {
                failures: 1,
                ..good.clone()
            },
            SoakReport {
                lost: 1,
                ..good.clone()
            },
            SoakReport {
                duplicated: 1,
                ..good.clone()
            },
            SoakReport {
                resurrected: 1,
                ..good.clone()
            },
            SoakReport {
                gateway_rss_kib: (1000, 1101),
                ..good.clone()
            },
            SoakReport {
                instance_rss_kib: (1000, 1200),
                ..good.clone()
            },
        ] {
            assert!(!bad.passed(), "{bad:?} passed");
            assert!(bad.render(&options).contains("| result | FAIL |"));
        }
    }
}
