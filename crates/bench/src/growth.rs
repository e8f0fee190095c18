//! How the cost of a request grows with the data: `GET /notes` (the first page and the one
//! after it) and `GET /admin/stats` through the real function binaries, under the Runtime API
//! emulator, at a series of note counts (the same user holds them all, so the count per user
//! and in all are the same), for each store.
//!
//! What grows on a remote store is the number of calls a request makes, so for DynamoDB the
//! functions talk to moto through a [`CountingProxy`] that counts every call by operation;
//! calls per request is the count's change over a series divided by its length. Time is
//! measured too, but moto's time is not DynamoDB's: moto keeps a partition in a Python dict
//! and sorts it for every `Query`, so its latency grows with the partition while DynamoDB's
//! reads only the page ("Query operations in DynamoDB", Developer Guide: a query reads items
//! in sort-key order from the key it starts at, up to `Limit`). The filesystem store runs on
//! tmpfs, where its time is what grows, if anything does.
//!
//! The notes are written in bulk between sizes ([`notes::AnyStore::import_new`]), outside
//! what is counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use local_aws::lambda::{FunctionSpec, Lambda, LambdaConfig};
use notes::{AnyStore, Note, NoteId, NoteInput, Owner};

use crate::model::GrowthRow;
use crate::routes::Route;
use crate::stats;
use crate::workload::{self, Workload};

/// The largest request or response body the proxy forwards.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The requests measured at every size, in report order.
pub const REQUESTS: [&str; 3] = ["GET /notes", "GET /notes, next page", "GET /admin/stats"];

/// The page size of the listed pages.
pub const PAGE: usize = 20;

/// A loopback HTTP proxy in front of an AWS endpoint that counts the calls passing through by
/// operation (the `X-Amz-Target` header's operation, e.g. `Query`, or `METHOD` for a call
/// without one). It forwards everything unchanged, so the SDK's signature still holds.
pub struct CountingProxy {
    url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Forward {
    upstream: Arc<str>,
    client: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingProxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream` (`http://host:port`).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: &str) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| format!("bind the counting proxy: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the counting proxy's address: {e}"))?;
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let state = Forward {
            upstream: upstream.trim_end_matches('/').into(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| format!("the counting proxy's client: {e}"))?,
            counts: Arc::clone(&counts),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{addr}"),
            counts,
            server,
        })
    }

    /// The proxy's URL, to give the functions as their endpoint.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The calls counted so far, by operation.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<String, u64> {
        match self.counts.lock() {
            Ok(counts) => counts.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The operation a call names: the part of `X-Amz-Target` after its last `.`
/// (`DynamoDB_20120810.Query` → `Query`), else the HTTP method.
#[must_use]
pub fn operation(headers: &http::HeaderMap, method: &http::Method) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || method.as_str().to_owned(),
            |t| t.rsplit('.').next().unwrap_or(t).to_owned(),
        )
}

async fn forward(State(state): State<Forward>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let op = operation(&parts.headers, &parts.method);
    match state.counts.lock() {
        Ok(mut counts) => *counts.entry(op).or_default() += 1,
        Err(poisoned) => *poisoned.into_inner().entry(op).or_default() += 1,
    }
    let failed = |status: StatusCode, message: String| {
        let mut response = Response::new(Body::from(message));
        *response.status_mut() = status;
        response
    };
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(e) => return failed(StatusCode::BAD_REQUEST, format!("request body: {e}")),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = state
        .client
        .request(parts.method.clone(), format!("{}{path}", state.upstream))
        .body(bytes);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => return failed(StatusCode::BAD_GATEWAY, format!("upstream: {e}")),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = match answer.bytes().await {
        Ok(body) => body,
        Err(e) => return failed(StatusCode::BAD_GATEWAY, format!("upstream body: {e}")),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// One store under test.
pub struct Backend<'a> {
    /// Its name in the report: `filesystem` or `dynamodb`.
    pub name: &'static str,
    /// The store the notes are written into (in this process, not through the proxy).
    pub store: &'a AnyStore,
    /// The functions' environment selecting the same store.
    pub env: Vec<(String, String)>,
    /// The call counter in front of it, for a remote store.
    pub proxy: Option<&'a CountingProxy>,
}

/// What to measure.
pub struct Setup<'a> {
    /// `GET /notes`'s route.
    pub list: &'a Route,
    /// `GET /admin/stats`'s route.
    pub stats: &'a Route,
    /// Where the function binaries are.
    pub bin_dir: &'a Path,
    /// The note counts, ascending.
    pub sizes: &'a [u64],
    /// Invocations per request and size (after one uncounted warm-up).
    pub requests: usize,
}

/// Measures every request of [`REQUESTS`] at every size of `setup` on `backend`; the rows
/// come in size order. A wrong answer (a short page, a count that is not the number of notes
/// stored) counts as an error of its row.
///
/// # Errors
/// When the notes cannot be written or the functions not started.
pub async fn run(setup: &Setup<'_>, backend: &Backend<'_>) -> Result<Vec<GrowthRow>, String> {
    let owner_sub = "growth-user";
    let owner = Owner::new(owner_sub).map_err(|e| e.to_string())?;
    let load = Workload::new(
        workload::fixed_claims(owner_sub, false),
        workload::fixed_claims("growth-admin", true),
    );
    let spec = |route: &Route| {
        FunctionSpec::new(&route.function, setup.bin_dir.join(&route.function))
            .envs(backend.env.clone())
            .memory(route.memory)
            .timeout(Duration::from_secs(u64::from(route.timeout).max(30)))
    };
    let lambda = Lambda::new(
        [spec(setup.list), spec(setup.stats)],
        LambdaConfig {
            idle_timeout: Duration::from_secs(3600),
            queue_timeout: Duration::from_secs(120),
            forward_logs: false,
            ..LambdaConfig::default()
        },
    );
    let mut rows = Vec::new();
    let mut stored: u64 = 0;
    let measured = async {
        for &size in setup.sizes {
            let started = Instant::now();
            let notes = new_notes(size.saturating_sub(stored))?;
            stored += backend
                .store
                .import_new(&owner, &notes)
                .await
                .map_err(|e| format!("write {} notes into {}: {e}", notes.len(), backend.name))?;
            eprintln!(
                "bench: growth, {}: {stored} notes ({:.1} s to write {})",
                backend.name,
                started.elapsed().as_secs_f64(),
                notes.len()
            );
            for request in REQUESTS {
                rows.push(series(setup, backend, &lambda, &load, request, stored).await);
            }
        }
        Ok::<(), String>(())
    }
    .await;
    lambda.shutdown().await;
    measured.map(|()| rows)
}

/// `count` fresh notes, oldest first (ids in creation order).
fn new_notes(count: u64) -> Result<Vec<Note>, String> {
    let now = chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis())
        .unwrap_or_default();
    (0..count)
        .map(|i| {
            let content = NoteInput {
                title: format!("growth note {i}"),
                body: "a note the growth benchmark wrote".to_owned(),
                tags: vec!["bench".to_owned()],
            }
            .validate()
            .map_err(|e| e.to_string())?;
            Ok(Note::new(NoteId::new(), content, now, now))
        })
        .collect()
}

/// One request's series at one size: an uncounted warm-up, then `setup.requests` timed
/// invocations between two reads of the proxy's counts.
async fn series(
    setup: &Setup<'_>,
    backend: &Backend<'_>,
    lambda: &Lambda,
    load: &Workload,
    request: &str,
    stored: u64,
) -> GrowthRow {
    let mut row = GrowthRow {
        store: backend.name.to_owned(),
        notes: stored,
        request: request.to_owned(),
        ..GrowthRow::default()
    };
    let (route, query) = match request {
        "GET /admin/stats" => (setup.stats, String::new()),
        "GET /notes" => (setup.list, format!("limit={PAGE}")),
        _ => {
            // The page after the first: the first page's cursor.
            let first = invoke(lambda, load, setup.list, &format!("limit={PAGE}")).await;
            match first
                .as_ref()
                .ok()
                .and_then(|(_, _, body)| next_cursor(body))
            {
                Some(cursor) => (setup.list, format!("limit={PAGE}&cursor={cursor}")),
                None if stored <= PAGE as u64 => {
                    row.note = Some(format!("no next page at {stored} notes"));
                    return row;
                }
                None => {
                    row.errors += 1;
                    row.note = Some(format!("the first page had no cursor: {first:?}"));
                    return row;
                }
            }
        }
    };
    // Warm-up: an instance started, its client connected.
    let _ = invoke(lambda, load, route, &query).await;
    let before = backend.proxy.map(CountingProxy::counts);
    let mut ms = Vec::with_capacity(setup.requests);
    for _ in 0..setup.requests {
        match invoke(lambda, load, route, &query).await {
            Ok((elapsed, status, body)) => {
                *row.statuses.entry(status).or_default() += 1;
                match check(request, status, &body, stored) {
                    Ok(()) => ms.push(elapsed),
                    Err(e) => {
                        row.errors += 1;
                        row.note.get_or_insert(e);
                    }
                }
            }
            Err(e) => {
                row.errors += 1;
                row.note.get_or_insert(e);
            }
        }
    }
    if let (Some(proxy), Some(before)) = (backend.proxy, before) {
        let after = proxy.counts();
        let n = setup.requests.max(1) as f64;
        for (op, count) in after {
            let delta = count.saturating_sub(before.get(&op).copied().unwrap_or(0));
            if delta > 0 {
                row.calls.insert(op, delta as f64 / n);
            }
        }
        row.counted = true;
    }
    ms.sort_by(f64::total_cmp);
    row.samples = ms.len();
    row.p50_ms = stats::percentile(&ms, 50.0);
    row.p95_ms = stats::percentile(&ms, 95.0);
    row
}

/// One invocation: its time in ms, status and body.
async fn invoke(
    lambda: &Lambda,
    load: &Workload,
    route: &Route,
    query: &str,
) -> Result<(f64, u16, Vec<u8>), String> {
    let mut planned = load.plan(route);
    planned.query = query.to_owned();
    let request_id = ulid::Ulid::new().to_string();
    let event = load.event(route, &planned, &request_id);
    let started = Instant::now();
    let invoked = lambda
        .invoke(&route.function, event, &request_id)
        .await
        .map_err(|e| format!("{}: {e}", route.function))?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let response = http_api::event::response(&invoked.payload)
        .map_err(|e| format!("{}: not a response: {e}", route.function))?;
    Ok((elapsed, response.status.as_u16(), response.body.to_vec()))
}

fn next_cursor(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("next_cursor")?.as_str().map(str::to_owned)
}

/// Whether an answer is right: a full page (or every note, when fewer), or the exact count.
fn check(request: &str, status: u16, body: &[u8], stored: u64) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    if status != 200 {
        return Err(format!("{request}: status {status}: {text}"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("{request}: not JSON ({e}): {text}"))?;
    if request == "GET /admin/stats" {
        let counted = value.get("notes").and_then(serde_json::Value::as_u64);
        return if counted == Some(stored) {
            Ok(())
        } else {
            Err(format!("{request}: counted {counted:?} of {stored} notes"))
        };
    }
    let listed = value
        .get("notes")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len) as u64;
    let skipped = if request == "GET /notes" {
        0
    } else {
        PAGE as u64
    };
    let expected = stored.saturating_sub(skipped).min(PAGE as u64);
    if listed == expected {
        Ok(())
    } else {
        Err(format!(
            "{request}: {listed} notes on the page, {expected} expected"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_come_from_the_target_header() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(operation(&headers, &http::Method::PUT), "PUT");
        headers.insert(
            "x-amz-target",
            http::HeaderValue::from_static("DynamoDB_20120810.Query"),
        );
        assert_eq!(operation(&headers, &http::Method::POST), "Query");
    }

    #[test]
    fn answers_are_checked() {
        let page = |n: usize| {
            serde_json::json!({ "notes": vec![serde_json::json!({}); n] })
                .to_string()
                .into_bytes()
        };
        assert!(check("GET /notes", 200, &page(20), 1000).is_ok());
        assert!(check("GET /notes", 200, &page(10), 10).is_ok());
        assert!(check("GET /notes", 200, &page(19), 1000).is_err());
        assert!(check("GET /notes, next page", 200, &page(5), 25).is_ok());
        assert!(check("GET /notes", 503, &page(20), 1000).is_err());
        let stats = br#"{"notes":1000}"#;
        assert!(check("GET /admin/stats", 200, stats, 1000).is_ok());
        assert!(check("GET /admin/stats", 200, stats, 999).is_err());
    }

    #[tokio::test]
    async fn the_proxy_counts_and_forwards() {
        let upstream = axum::Router::new().fallback(|request: Request| async move {
            format!("{} {}", request.method(), request.uri())
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, upstream).await;
        });
        let proxy = CountingProxy::start(&format!("http://{addr}"))
            .await
            .expect("proxy");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        for _ in 0..3 {
            let answer = client
                .post(format!("{}/x?y=1", proxy.url()))
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .body("{}")
                .send()
                .await
                .expect("send");
            assert_eq!(answer.text().await.expect("text"), "POST /x?y=1");
        }
        let _ = client.get(proxy.url()).send().await.expect("send");
        let counts = proxy.counts();
        assert_eq!(counts.get("GetItem"), Some(&3));
        assert_eq!(counts.get("GET"), Some(&1));
        server.abort();
    }
}
