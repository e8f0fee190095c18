//! A Lambda Runtime API emulator that runs the real function binaries.
//!
//! Each function has a pool of instances. An instance is the function's `bootstrap` binary
//! (host architecture) started as a child process with `AWS_LAMBDA_RUNTIME_API` pointing at a
//! loopback listener of its own, Lambda's standard variables and the function's environment.
//! The listener implements the Runtime API (`invocation/next`, `…/response`, `…/error`,
//! `init/error`). Instances start on demand (a cold start), stay warm for the next invocation,
//! are added while all are busy up to the function's limit, are reaped after sitting idle, are
//! killed when an invocation outlives the function's timeout, and are replaced when they crash.
//! Their stdout and stderr are forwarded line by line, prefixed with the function's name; once
//! an instance is stopped, all it wrote has been forwarded. Each invocation gets a fresh X-Ray
//! trace header (reported back in [`Invoked::trace_id`]). The program may be an emulator with
//! the bootstrap as its argument ([`FunctionSpec::args`]: the arm64 test runs
//! `qemu-aarch64 bootstrap`), and tests run their own binary again as a function under it.
//!
//! Each instance's Runtime API is reachable by that instance only: it is served under a random,
//! unguessable path prefix of its own (256 bits), given to the process in
//! `AWS_LAMBDA_RUNTIME_API` and nowhere else, so that another local process that finds the port
//! cannot take an invocation (the event and the caller's token in it) or answer one: without
//! the prefix every path is a 404. Lambda's own value is `host:port`; a path after it is used
//! as a base by both kinds of runtime clients, but in two spellings ([`RuntimeApiAddress`]):
//! `lambda_runtime`'s client (`lambda_runtime_api_client` 1.1) parses the value as a URI and,
//! without a scheme, takes only an authority (`host:port/path` fails to parse), so the Rust
//! functions get `http://127.0.0.1:PORT/PREFIX`; clients that build
//! `http://{AWS_LAMBDA_RUNTIME_API}/2018-06-01/…` (awslambdaric, aws-lambda-go) get
//! `127.0.0.1:PORT/PREFIX`. The listener also refuses any `Host` but its own (the `hostcheck`
//! module). A process running as the same user can still read another's environment
//! (`/proc/PID/environ`); the prefix keeps out other users and anything that can only connect.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

/// How one function runs.
#[derive(Clone, Debug)]
pub struct FunctionSpec {
    /// The function's name (its crate), used in logs and `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// The program to run: the function's `bootstrap`, or an emulator (qemu-user) that runs
    /// it from [`FunctionSpec::args`].
    pub binary: PathBuf,
    /// Arguments of the program (none for a `bootstrap`, which Lambda starts without any).
    pub args: Vec<OsString>,
    /// The function's own environment (what Terraform sets), besides Lambda's standard variables.
    pub env: Vec<(String, String)>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory: u32,
    /// How long one invocation may run before the instance is killed.
    pub timeout: Duration,
    /// The most instances running at once; beyond that, invocations wait (then throttle).
    pub max_instances: usize,
}

impl FunctionSpec {
    /// `binary` as the function `name`, with Lambda's defaults: no arguments, no environment
    /// of its own, 128 MB, a 3-second timeout, one instance.
    #[must_use]
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            binary: binary.into(),
            args: Vec::new(),
            env: Vec::new(),
            memory: 128,
            timeout: Duration::from_secs(3),
            max_instances: 1,
        }
    }

    /// Adds a program argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds a variable to the function's environment.
    #[must_use]
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Adds variables to the function's environment.
    #[must_use]
    pub fn envs<N: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.env
            .extend(vars.into_iter().map(|(n, v)| (n.into(), v.into())));
        self
    }

    /// Sets the memory size, in MB.
    #[must_use]
    pub fn memory(mut self, mb: u32) -> Self {
        self.memory = mb;
        self
    }

    /// Sets how long one invocation may run.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the most instances at once.
    #[must_use]
    pub fn max_instances(mut self, n: usize) -> Self {
        self.max_instances = n;
        self
    }
}

/// Settings shared by every function.
#[derive(Clone, Debug)]
pub struct LambdaConfig {
    /// The region reported to functions.
    pub region: String,
    /// Instances idle longer than this are stopped.
    pub idle_timeout: Duration,
    /// How long an invocation waits for a free instance when all are busy and the pool is full,
    /// before it is throttled.
    pub queue_timeout: Duration,
    /// Whether to forward the functions' output to stderr.
    pub forward_logs: bool,
    /// Also append the functions' output to this file (the tests scan it for secrets).
    pub log_file: Option<PathBuf>,
    /// How `AWS_LAMBDA_RUNTIME_API` spells the instance's address and secret prefix.
    pub runtime_api_address: RuntimeApiAddress,
}

/// How `AWS_LAMBDA_RUNTIME_API` carries an instance's address and secret path prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuntimeApiAddress {
    /// `http://127.0.0.1:PORT/PREFIX`: what Rust's `lambda_runtime` needs to use a path.
    #[default]
    Url,
    /// `127.0.0.1:PORT/PREFIX`: for runtime clients that build `http://{value}/2018-06-01/…`
    /// (awslambdaric, aws-lambda-go).
    HostPortPath,
}

impl Default for LambdaConfig {
    /// `us-east-1`, 5 minutes idle, 10 s queueing, logs forwarded.
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            idle_timeout: Duration::from_secs(300),
            queue_timeout: Duration::from_secs(10),
            forward_logs: true,
            log_file: None,
            runtime_api_address: RuntimeApiAddress::Url,
        }
    }
}

/// A successful invocation.
#[derive(Clone, Debug)]
pub struct Invoked {
    /// What the function posted to `…/response`.
    pub payload: Vec<u8>,
    /// Whether this invocation started its instance (a cold start).
    pub cold: bool,
    /// Which instance ran it (1, 2, … per function).
    pub instance: u32,
    /// The X-Ray trace header the function was handed (`Lambda-Runtime-Trace-Id`).
    pub trace_id: String,
}

/// Why an invocation did not return a response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No such function.
    #[error("no function named {0}")]
    UnknownFunction(String),
    /// The function reported an error (`…/error`); the body is Lambda's error object.
    #[error("{function} returned an error: {body}")]
    FunctionError {
        /// The function.
        function: String,
        /// The error object it posted.
        body: String,
    },
    /// The instance exited (or failed to initialise) before answering.
    #[error("{function} crashed: {detail}")]
    Crashed {
        /// The function.
        function: String,
        /// Exit status, init error.
        detail: String,
    },
    /// The invocation outlived the function's timeout; the instance was killed.
    #[error("{function} timed out after {secs} s")]
    Timeout {
        /// The function.
        function: String,
        /// The timeout.
        secs: u64,
    },
    /// Every instance was busy and the pool was full for longer than the queue timeout.
    #[error("{function} is throttled: {max} instances busy")]
    Throttled {
        /// The function.
        function: String,
        /// The pool's limit.
        max: usize,
    },
    /// The binary could not be started.
    #[error("cannot start {function} ({binary}): {cause}")]
    StartFailed {
        /// The function.
        function: String,
        /// The binary.
        binary: String,
        /// Why.
        cause: String,
    },
}

/// The functions and their instance pools.
#[derive(Clone)]
pub struct Lambda {
    pools: Arc<HashMap<String, Arc<Pool>>>,
    reaper: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Lambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lambda")
            .field("functions", &self.pools.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Lambda {
    /// Sets up the pools (no instance starts until its first invocation) and the idle reaper.
    /// Must be called inside a tokio runtime.
    #[must_use]
    pub fn new(functions: impl IntoIterator<Item = FunctionSpec>, config: LambdaConfig) -> Self {
        let config = Arc::new(config);
        let pools: HashMap<String, Arc<Pool>> = functions
            .into_iter()
            .map(|spec| {
                let pool = Pool {
                    spec: Mutex::new(spec.clone()),
                    config: Arc::clone(&config),
                    instances: Mutex::new(Vec::new()),
                    next_id: AtomicU32::new(1),
                    freed: Notify::new(),
                };
                (spec.name, Arc::new(pool))
            })
            .collect();
        let pools = Arc::new(pools);
        let reaped = Arc::clone(&pools);
        let idle = config.idle_timeout;
        let reaper = tokio::spawn(async move {
            let period = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                for pool in reaped.values() {
                    pool.reap(idle).await;
                }
            }
        });
        Self {
            pools,
            reaper: Arc::new(reaper),
        }
    }

    /// The functions served.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// Invokes `function` with `event` (the JSON payload), as Lambda's synchronous Invoke does.
    ///
    /// # Errors
    /// See [`InvokeError`].
    pub async fn invoke(
        &self,
        function: &str,
        event: Vec<u8>,
        request_id: &str,
    ) -> Result<Invoked, InvokeError> {
        let pool = self
            .pools
            .get(function)
            .ok_or_else(|| InvokeError::UnknownFunction(function.to_owned()))?;
        pool.invoke(event, request_id).await
    }

    /// How many instances `function` has now (busy or idle).
    pub async fn instance_count(&self, function: &str) -> usize {
        match self.pools.get(function) {
            Some(pool) => pool.live_instances().await,
            None => 0,
        }
    }

    /// Replaces `function`'s binary (after a rebuild): running instances are stopped once idle,
    /// the next invocation cold-starts the new one.
    pub async fn swap_binary(&self, function: &str, binary: PathBuf) -> bool {
        let Some(pool) = self.pools.get(function) else {
            return false;
        };
        pool.spec.lock().await.binary = binary;
        pool.stop_idle().await;
        pool.retire_all().await;
        true
    }

    /// A fault-injection hook for tests and `cargo xtask` tooling: kills the process of every
    /// live instance of `function` (busy or idle) at once, as a crash or an out-of-memory kill
    /// would. An invocation in flight on a killed instance fails as a crash (API Gateway's
    /// 500); the next invocation starts a fresh instance. Returns how many were killed (0 for
    /// an unknown function), once they have exited.
    pub async fn kill_instances(&self, function: &str) -> usize {
        let Some(pool) = self.pools.get(function) else {
            return 0;
        };
        let live: Vec<Arc<Instance>> = pool
            .instances
            .lock()
            .await
            .iter()
            .filter(|i| !i.is_dead())
            .cloned()
            .collect();
        let mut killed = 0;
        for instance in &live {
            if let Some(kill) = instance.kill.lock().await.take()
                && kill.send(()).is_ok()
            {
                killed += 1;
            }
        }
        // Wait for the exits and stop the instances' Runtime API listeners.
        for instance in &live {
            instance.stop().await;
        }
        killed
    }

    /// The process ids of `function`'s live instances (for memory measurements).
    pub async fn instance_pids(&self, function: &str) -> Vec<u32> {
        let Some(pool) = self.pools.get(function) else {
            return Vec::new();
        };
        pool.instances
            .lock()
            .await
            .iter()
            .filter(|i| !i.is_dead())
            .filter_map(|i| i.pid)
            .collect()
    }

    /// Stops every idle instance (a busy one stops after its invocation). Once it returns,
    /// everything the stopped instances wrote has been forwarded (to stderr and the log file).
    pub async fn shutdown(&self) {
        self.reaper.abort();
        for pool in self.pools.values() {
            pool.retire_all().await;
            pool.stop_idle().await;
        }
    }
}

struct Pool {
    spec: Mutex<FunctionSpec>,
    config: Arc<LambdaConfig>,
    instances: Mutex<Vec<Arc<Instance>>>,
    next_id: AtomicU32,
    freed: Notify,
}

impl Pool {
    async fn invoke(&self, event: Vec<u8>, request_id: &str) -> Result<Invoked, InvokeError> {
        let (instance, cold) = self.acquire().await?;
        let spec = instance.spec.clone();
        let trace_id = trace_id();
        let result = instance
            .run(event, request_id, &trace_id, spec.timeout)
            .await;
        instance.busy.store(false, Ordering::SeqCst);
        *instance.last_used.lock().await = Instant::now();
        if result.is_err() || instance.retired.load(Ordering::SeqCst) {
            instance.stop().await;
        }
        self.freed.notify_one();
        let payload = result?;
        Ok(Invoked {
            payload,
            cold,
            instance: instance.id,
            trace_id,
        })
    }

    /// An idle warm instance, else a new one if the pool has room, else waits for one to free.
    async fn acquire(&self) -> Result<(Arc<Instance>, bool), InvokeError> {
        let deadline = Instant::now() + self.config.queue_timeout;
        loop {
            let freed = self.freed.notified();
            {
                let mut instances = self.instances.lock().await;
                instances.retain(|i| !i.is_dead());
                if let Some(idle) = instances.iter().find(|i| {
                    !i.retired.load(Ordering::SeqCst)
                        && i.busy
                            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                }) {
                    return Ok((Arc::clone(idle), false));
                }
                let spec = self.spec.lock().await.clone();
                if instances.len() < spec.max_instances.max(1) {
                    let id = self.next_id.fetch_add(1, Ordering::SeqCst);
                    let instance = Instance::start(spec, &self.config, id).await?;
                    instance.busy.store(true, Ordering::SeqCst);
                    instances.push(Arc::clone(&instance));
                    return Ok((instance, true));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, freed).await.is_err() {
                let spec = self.spec.lock().await;
                return Err(InvokeError::Throttled {
                    function: spec.name.clone(),
                    max: spec.max_instances,
                });
            }
        }
    }

    async fn live_instances(&self) -> usize {
        let mut instances = self.instances.lock().await;
        instances.retain(|i| !i.is_dead());
        instances.len()
    }

    async fn reap(&self, idle: Duration) {
        let mut instances = self.instances.lock().await;
        let mut kept = Vec::with_capacity(instances.len());
        for instance in instances.drain(..) {
            let idle_for = instance.last_used.lock().await.elapsed();
            let busy = instance.busy.load(Ordering::SeqCst);
            if instance.is_dead() {
                continue;
            }
            if !busy && idle_for >= idle {
                instance.stop().await;
                continue;
            }
            kept.push(instance);
        }
        *instances = kept;
    }

    /// Marks every instance as retired: busy ones stop after their invocation.
    async fn retire_all(&self) {
        for instance in self.instances.lock().await.iter() {
            instance.retired.store(true, Ordering::SeqCst);
        }
    }

    async fn stop_idle(&self) {
        let mut instances = self.instances.lock().await;
        let mut kept = Vec::new();
        for instance in instances.drain(..) {
            if instance.busy.load(Ordering::SeqCst) {
                kept.push(instance);
            } else {
                instance.stop().await;
            }
        }
        *instances = kept;
    }
}

/// Where an instance's answer goes: the payload, or the error object it posted.
type Reply = oneshot::Sender<Result<Vec<u8>, String>>;

/// One invocation handed to an instance through its Runtime API.
struct Invocation {
    request_id: String,
    trace_id: String,
    event: Vec<u8>,
    deadline_ms: u128,
    reply: Reply,
}

/// The Runtime API side of one instance.
struct RuntimeApi {
    queue: Mutex<mpsc::Receiver<Invocation>>,
    current: Mutex<Option<(String, Reply)>>,
    init_error: Mutex<Option<String>>,
    function_arn: String,
}

struct Instance {
    id: u32,
    pid: Option<u32>,
    spec: FunctionSpec,
    queue: mpsc::Sender<Invocation>,
    api: Arc<RuntimeApi>,
    busy: AtomicBool,
    retired: AtomicBool,
    last_used: Mutex<Instant>,
    exited: watch::Receiver<Option<String>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    server: tokio::task::JoinHandle<()>,
    /// The tasks forwarding its stdout and stderr; [`Instance::stop`] waits for them, so that
    /// everything the process wrote is forwarded once it is stopped.
    forwarders: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Instance {
    async fn start(
        spec: FunctionSpec,
        config: &LambdaConfig,
        id: u32,
    ) -> Result<Arc<Self>, InvokeError> {
        let failed = |cause: String| InvokeError::StartFailed {
            function: spec.name.clone(),
            binary: spec.binary.display().to_string(),
            cause,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| failed(format!("no loopback port for its Runtime API: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| failed(format!("the Runtime API's address: {e}")))?;
        let (queue, receiver) = mpsc::channel(1);
        let api = Arc::new(RuntimeApi {
            queue: Mutex::new(receiver),
            current: Mutex::new(None),
            init_error: Mutex::new(None),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{}",
                config.region,
                crate::ACCOUNT_ID,
                spec.name
            ),
        });
        let prefix = runtime_api_prefix().map_err(failed)?;
        let api_routes = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&api));
        let app = crate::hostcheck::guard(
            axum::Router::new().nest(&format!("/{prefix}"), api_routes),
            addr.port(),
            crate::hostcheck::Refusal::Json,
        );
        let runtime_api = match config.runtime_api_address {
            RuntimeApiAddress::Url => format!("http://{addr}/{prefix}"),
            RuntimeApiAddress::HostPortPath => format!("{addr}/{prefix}"),
        };
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let mut command = tokio::process::Command::new(&spec.binary);
        command
            .args(&spec.args)
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| (OsString::from("PATH"), p)))
            .envs(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())))
            .envs(lambda_env(&spec, config, id, &runtime_api))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                return Err(failed(e.to_string()));
            }
        };
        let pid = child.id();
        let label = format!("{}#{id}", spec.name);
        let mut forwarders = Vec::new();
        if let Some(out) = child.stdout.take() {
            forwarders.push(forward(
                out,
                label.clone(),
                config.forward_logs,
                config.log_file.clone(),
            ));
        }
        if let Some(err) = child.stderr.take() {
            forwarders.push(forward(
                err,
                label.clone(),
                config.forward_logs,
                config.log_file.clone(),
            ));
        }
        let (exit_tx, exited) = watch::channel(None);
        let (kill, kill_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                _ = kill_rx => {
                    let _ = child.kill().await;
                    "killed".to_owned()
                }
            };
            let _ = exit_tx.send(Some(status));
        });
        Ok(Arc::new(Self {
            id,
            pid,
            spec,
            queue,
            api,
            busy: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            last_used: Mutex::new(Instant::now()),
            exited,
            kill: Mutex::new(Some(kill)),
            server,
            forwarders: Mutex::new(forwarders),
        }))
    }

    fn is_dead(&self) -> bool {
        self.exited.borrow().is_some()
    }

    async fn run(
        &self,
        event: Vec<u8>,
        request_id: &str,
        trace_id: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, InvokeError> {
        let function = self.spec.name.clone();
        let deadline_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            + timeout.as_millis();
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            trace_id: trace_id.to_owned(),
            event,
            deadline_ms,
            reply,
        };
        if self.queue.send(invocation).await.is_err() {
            return Err(self.crashed("its Runtime API stopped").await);
        }
        let mut exited = self.exited.clone();
        tokio::select! {
            answer = answer => match answer {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(body)) => Err(InvokeError::FunctionError { function, body }),
                Err(_) => Err(self.crashed("the invocation was dropped").await),
            },
            () = async { drop(exited.wait_for(Option::is_some).await); } => {
                Err(self.crashed("the process exited during the invocation").await)
            }
            () = tokio::time::sleep(timeout) => {
                self.stop().await;
                Err(InvokeError::Timeout { function, secs: timeout.as_secs() })
            }
        }
    }

    async fn crashed(&self, what: &str) -> InvokeError {
        let status = self.exited.borrow().clone();
        let init = self.api.init_error.lock().await.clone();
        let mut detail = what.to_owned();
        if let Some(status) = status {
            detail.push_str(&format!(" ({status})"));
        }
        if let Some(init) = init {
            detail.push_str(&format!("; init error: {init}"));
        }
        InvokeError::Crashed {
            function: self.spec.name.clone(),
            detail,
        }
    }

    async fn stop(&self) {
        if let Some(kill) = self.kill.lock().await.take() {
            let _ = kill.send(());
        }
        let mut exited = self.exited.clone();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), exited.wait_for(Option::is_some)).await;
        self.server.abort();
        // The pipes end with the process (a child it left behind may hold them open: bounded).
        let forwarders = std::mem::take(&mut *self.forwarders.lock().await);
        for forwarder in forwarders {
            let _ = tokio::time::timeout(Duration::from_secs(5), forwarder).await;
        }
    }
}

/// A fresh X-Ray trace header, unsampled, as Lambda hands one to each invocation
/// (`Root=1-<8 hex digits of epoch seconds>-<24 hex digits>`; "Tracing header", AWS X-Ray
/// Developer Guide).
fn trace_id() -> String {
    // The low 96 bits of a ULID: 80 random bits and the low 16 of its millisecond clock.
    let unique = ulid::Ulid::new().0 & ((1_u128 << 96) - 1);
    format!(
        "Root=1-{:08x}-{unique:024x};Sampled=0",
        chrono::Utc::now().timestamp()
    )
}

/// A random path segment of 256 bits (base64url) for an instance's Runtime API.
fn runtime_api_prefix() -> Result<String, String> {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("no randomness for its Runtime API's prefix: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Lambda's standard variables for an instance; they are set after the function's own, so a
/// function's environment cannot override them (as in Lambda, where they are reserved).
fn lambda_env(
    spec: &FunctionSpec,
    config: &LambdaConfig,
    id: u32,
    runtime_api: &str,
) -> Vec<(String, String)> {
    let name = &spec.name;
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "{}/[$LATEST]local{id:04}",
                chrono::Utc::now().format("%Y/%m/%d")
            ),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn forward(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    label: String,
    enabled: bool,
    log_file: Option<PathBuf>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut file = match log_file {
            Some(path) => tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .ok(),
            None => None,
        };
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if enabled {
                eprintln!("[{label}] {line}");
            }
            if let Some(file) = &mut file {
                use tokio::io::AsyncWriteExt as _;
                let _ = file
                    .write_all(format!("[{label}] {line}\n").as_bytes())
                    .await;
            }
        }
    })
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Result<(HeaderMap, Vec<u8>), StatusCode> {
    let invocation = api.queue.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return Err(StatusCode::GONE);
    };
    let mut headers = HeaderMap::new();
    let values = [
        (
            "lambda-runtime-aws-request-id",
            invocation.request_id.clone(),
        ),
        (
            "lambda-runtime-deadline-ms",
            invocation.deadline_ms.to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            api.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", invocation.trace_id.clone()),
        ("content-type", "application/json".to_owned()),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    *api.current.lock().await = Some((invocation.request_id, invocation.reply));
    Ok((headers, invocation.event))
}

async fn complete(
    api: &RuntimeApi,
    id: &str,
    result: Result<Vec<u8>, String>,
) -> (StatusCode, &'static str) {
    let mut current = api.current.lock().await;
    match current.take() {
        Some((request_id, reply)) if request_id == id => {
            let _ = reply.send(result);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        other => {
            *current = other;
            (
                StatusCode::BAD_REQUEST,
                r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
            )
        }
    }
}

async fn response(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    complete(&api, &id, Ok(body.to_vec())).await
}

async fn error(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    complete(&api, &id, Err(String::from_utf8_lossy(&body).into_owned())).await
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, body: axum::body::Bytes) -> StatusCode {
    *api.init_error.lock().await = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_starts_from_lambdas_defaults() {
        // "Configure Lambda function memory" / "timeout": 128 MB and 3 seconds by default.
        let spec = FunctionSpec::new("f", "/bin/f");
        assert_eq!(
            (spec.memory, spec.timeout, spec.max_instances),
            (128, Duration::from_secs(3), 1)
        );
        assert!(spec.args.is_empty() && spec.env.is_empty());
        let spec = spec
            .arg("bootstrap")
            .env("A", "1")
            .envs([("B", "2")])
            .memory(512)
            .timeout(Duration::from_secs(10))
            .max_instances(4);
        assert_eq!(spec.args, [OsString::from("bootstrap")]);
        assert_eq!(
            spec.env,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(
            (spec.memory, spec.timeout, spec.max_instances),
            (512, Duration::from_secs(10), 4)
        );
    }

    #[test]
    fn trace_ids_have_x_rays_root_format_and_differ() {
        let format = regex::Regex::new("^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=0$");
        let Ok(format) = format else {
            panic!("the pattern compiles");
        };
        let (a, b) = (trace_id(), trace_id());
        assert!(format.is_match(&a), "{a}");
        assert!(format.is_match(&b), "{b}");
        assert_ne!(a, b);
    }
}
