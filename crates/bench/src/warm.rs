//! Warm load: closed-loop HTTP clients against one URL for a fixed time, after a warm-up that
//! is not counted; and `cargo lambda watch` started, warmed up (it compiles each function on
//! its first invocation) and stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::latency::Latencies;
use crate::model::{Server, WarmRow};

/// One request, sent over and over.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: reqwest::Method,
    /// The full URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// The status a success answers.
    pub expect: u16,
    /// Whether the status is the `statusCode` of a Lambda response in the body (`cargo lambda
    /// watch`'s Invoke API) rather than the HTTP status.
    pub status_in_body: bool,
}

/// How long and how wide.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Concurrent clients.
    pub concurrency: usize,
    /// Not counted.
    pub warm_up: Duration,
    /// Counted.
    pub duration: Duration,
}

#[derive(Default)]
struct Tally {
    latencies: Latencies,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

/// Runs `load` against `request`; the row's server, route and function are left for the
/// caller.
pub async fn run(client: &reqwest::Client, request: &Request, load: Load) -> WarmRow {
    let started = Instant::now();
    let counted_from = started + load.warm_up;
    let deadline = counted_from + load.duration;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..load.concurrency.max(1))
        .map(|_| {
            let client = client.clone();
            let request = request.clone();
            let tally = Arc::clone(&tally);
            tokio::spawn(async move {
                let mut mine = Tally::default();
                loop {
                    let sent = Instant::now();
                    if sent >= deadline {
                        break;
                    }
                    let status = send(&client, &request).await;
                    if sent < counted_from {
                        continue;
                    }
                    mine.latencies.record(sent.elapsed().as_secs_f64() * 1000.0);
                    match status {
                        Some(status) => {
                            *mine.statuses.entry(status).or_default() += 1;
                            if status != request.expect {
                                mine.errors += 1;
                            }
                        }
                        None => mine.errors += 1,
                    }
                }
                let mut all = tally.lock().await;
                all.latencies.merge(&mine.latencies);
                all.errors += mine.errors;
                for (status, n) in mine.statuses {
                    *all.statuses.entry(status).or_default() += n;
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    // Requests sent within the counted window, over its length.
    let seconds = load.duration.as_secs_f64();
    let mut tally = tally.lock().await;
    WarmRow {
        concurrency: load.concurrency,
        requests: tally.latencies.count(),
        errors: tally.errors,
        seconds,
        p50_ms: tally.latencies.quantile(0.5),
        p99_ms: tally.latencies.quantile(0.99),
        statuses: std::mem::take(&mut tally.statuses),
        ..WarmRow::default()
    }
}

/// Sends `request` once; the status, or `None` when it failed.
async fn send(client: &reqwest::Client, request: &Request) -> Option<u16> {
    let mut builder = client.request(request.method.clone(), &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body.clone());
    }
    let response = builder.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.bytes().await.ok()?;
    if request.status_in_body {
        status_code_in(&body)
    } else {
        Some(status)
    }
}

/// The `statusCode` of a Lambda proxy response (`{"statusCode":200,…}`), found without parsing
/// the whole document.
#[must_use]
pub fn status_code_in(body: &[u8]) -> Option<u16> {
    let key = b"\"statusCode\":";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: String = body[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().ok()
}

/// The largest peak RSS (`VmHWM`, KiB) among `pids`, and how many there are.
#[must_use]
pub fn peak_rss(pids: &[u32]) -> (u64, usize) {
    let peak = pids
        .iter()
        .map(|&pid| crate::procfs::peak_rss_kib(pid))
        .max()
        .unwrap_or(0);
    (peak, pids.len())
}

/// A running `cargo lambda watch`, in a process group of its own so that stopping it also
/// stops the function processes it started.
#[derive(Debug)]
pub struct Watch {
    child: tokio::process::Child,
    /// Its Invoke API, e.g. `http://127.0.0.1:9123`.
    pub url: String,
    /// Its output.
    pub log: PathBuf,
}

/// How to start `cargo lambda watch`.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// The `cargo-lambda` executable.
    pub program: PathBuf,
    /// The workspace root (it runs there).
    pub root: PathBuf,
    /// Its own target directory (its per-function builds unify features differently from a
    /// workspace build; sharing `target/` would make the two rebuild each other's outputs).
    pub target_dir: PathBuf,
    /// The loopback port.
    pub port: u16,
    /// Environment for the functions.
    pub env: Vec<(String, String)>,
    /// Instances per function.
    pub concurrency: usize,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Watch {
    /// Starts it (nothing is compiled until the first invocation of each function).
    ///
    /// # Errors
    /// When it cannot be spawned.
    pub fn start(config: &WatchConfig) -> Result<Self, String> {
        let log = std::fs::File::create(&config.log)
            .map_err(|e| format!("{}: {e}", config.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", config.log.display()))?;
        let env_vars: Vec<String> = config.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut command = tokio::process::Command::new(&config.program);
        command
            .args([
                "lambda",
                "watch",
                "--release",
                "--ignore-changes",
                "--quiet",
            ])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &config.port.to_string()])
            .args(["--concurrency", &config.concurrency.to_string()])
            // Not `--target-dir`: cargo-lambda hands it to `cargo metadata`, which refuses it.
            .env("CARGO_TARGET_DIR", &config.target_dir)
            .args(["--env-var", &env_vars.join(",")])
            .current_dir(&config.root)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = config.program.parent() {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.to_path_buf()];
            dirs.extend(std::env::split_paths(&path));
            if let Ok(joined) = std::env::join_paths(dirs) {
                command.env("PATH", joined);
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", config.program.display()))?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{}", config.port),
            log: config.log.clone(),
        })
    }

    /// The Invoke API URL of `function`.
    #[must_use]
    pub fn invoke_url(&self, function: &str) -> String {
        format!("{}/2015-03-31/functions/{function}/invocations", self.url)
    }

    /// Invokes `function` with `event` until it answers (the first invocation compiles it),
    /// for at most `timeout`.
    ///
    /// # Errors
    /// When it does not answer in time, or `cargo lambda watch` exited.
    pub async fn warm_up(
        &mut self,
        client: &reqwest::Client,
        function: &str,
        event: &[u8],
        timeout: Duration,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "cargo lambda watch exited ({status}); see {}",
                    self.log.display()
                ));
            }
            let sent = client
                .post(self.invoke_url(function))
                .timeout(timeout)
                .body(event.to_vec())
                .send()
                .await;
            if let Ok(response) = sent
                && response.status().is_success()
                && let Ok(body) = response.bytes().await
                && status_code_in(&body).is_some()
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "{function} did not answer through cargo lambda watch within {timeout:?}; see {}",
                    self.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Stops it and every process of its group (SIGTERM, then SIGKILL after 5 s).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            signal_group(pid, "-TERM");
            if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
                .await
                .is_err()
            {
                signal_group(pid, "-KILL");
                let _ = self.child.wait().await;
            }
            // Its function processes are in the same group; make sure none outlives it.
            signal_group(pid, "-KILL");
        }
    }
}

/// Sends `signal` to the process group `pgid` (which this process created).
fn signal_group(pgid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .arg(signal)
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Labels a measured row.
#[must_use]
pub fn label(mut row: WarmRow, server: Server, route: &str, function: &str) -> WarmRow {
    row.server = server;
    row.route = route.to_owned();
    row.function = function.to_owned();
    row
}

/// A free loopback port.
///
/// # Errors
/// When none can be bound.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// `path` for messages, relative to `root` when below it.
#[must_use]
pub fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_read_from_lambda_responses() {
        for (body, want) in [
            (&br#"{"statusCode":200,"headers":{}}"#[..], Some(200)),
            (br#"{"headers":{},"statusCode": 401}"#, Some(401)),
            (br#"{"status":"ok"}"#, None),
            (br#"{"statusCode":"x"}"#, None),
            (b"", None),
        ] {
            assert_eq!(
                status_code_in(body),
                want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn rows_are_labelled() {
        let row = label(
            WarmRow::default(),
            Server::CargoLambdaWatch,
            "GET /me",
            "me",
        );
        assert_eq!(
            (row.server, row.route.as_str(), row.function.as_str()),
            (Server::CargoLambdaWatch, "GET /me", "me")
        );
    }

    #[tokio::test]
    async fn a_load_run_counts_what_a_loopback_server_answers() {
        // A server that answers 200 to every request, then 500 for path /fail.
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("addr: {e}"),
        };
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        let fail = buf[..n].starts_with(b"GET /fail");
                        let status = if fail { "500 Oops" } else { "200 OK" };
                        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\n\r\nok");
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let client = reqwest::Client::new();
        let request = |path: &str| Request {
            method: reqwest::Method::GET,
            url: format!("http://{addr}{path}"),
            headers: vec![("x-test".to_owned(), "1".to_owned())],
            body: Vec::new(),
            expect: 200,
            status_in_body: false,
        };
        let load = Load {
            concurrency: 2,
            warm_up: Duration::from_millis(20),
            duration: Duration::from_millis(200),
        };
        let ok = run(&client, &request("/ok"), load).await;
        assert!(ok.requests > 0, "{ok:?}");
        assert_eq!(ok.errors, 0, "{ok:?}");
        assert_eq!(ok.statuses.get(&200), Some(&ok.requests));
        assert!(ok.p50_ms <= ok.p99_ms, "{ok:?}");
        assert_eq!(ok.concurrency, 2);
        let failing = run(&client, &request("/fail"), load).await;
        assert!(failing.requests > 0);
        assert_eq!(failing.errors, failing.requests, "{failing:?}");
        assert_eq!(failing.statuses.get(&500), Some(&failing.requests));
    }
}
