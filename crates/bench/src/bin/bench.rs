//! The `bench` binary that `cargo xtask bench` runs once it has built everything: measures,
//! then writes `BENCHMARKS.md`, the chart and `results.json`. Progress goes to stderr; the
//! aims table to stdout. Missing an aim is reported, never an error.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bench::cold::{self, Counts, Target};
use bench::deploys::{self, Repeats};
use bench::growth::{self, Backend, CountingProxy};
use bench::model::{Measurements, Meta, Runtime, Server};
use bench::routes::{self, Route};
use bench::warm::{self, Load, Request, Watch, WatchConfig};
use bench::workload::{self, Workload};
use bench::{analysis, chart, inputs, report, stats};
use clap::Parser;
use local_aws::stack::{LocalStack, StackConfig, Store, Trust};

/// Measure this workspace's functions on this machine and write BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// The workspace root.
    #[arg(long)]
    root: PathBuf,
    /// The x86_64 release binaries (`<dir>/<function>`); default `<root>/target/release`.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// `cargo xtask package`'s output (`<dir>/<function>/bootstrap.zip`); default
    /// `<root>/target/lambda`.
    #[arg(long)]
    lambda_dir: Option<PathBuf>,
    /// Scratch space (state, logs, results.json); default `<root>/target/bench`.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The report; default `<root>/BENCHMARKS.md`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The chart (SVG); default `<root>/docs/bench/bench.svg`.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// A Python with awslambdaric installed: measure the Python GET /me handler with it.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The `cargo-lambda` executable: compare with `cargo lambda watch` (skipped in --quick).
    #[arg(long)]
    cargo_lambda: Option<PathBuf>,
    /// moto server's URL: measure deploys against it.
    #[arg(long)]
    moto_endpoint: Option<String>,
    /// Criterion's output directory holding `jwt/verify_id_token/new/estimates.json`.
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// Fewer samples and shorter runs (under 2 minutes); no cargo lambda watch, no
    /// all-changed deploy.
    #[arg(long)]
    quick: bool,
    /// Measure only these parts (repeatable; default: all of them). The report says which
    /// parts were left out.
    #[arg(long, value_enum, value_name = "PART")]
    only: Vec<Part>,
    /// Measure nothing: render the report and chart again from an earlier run's
    /// `results.json` (after a change to the report's wording or layout).
    #[arg(long, value_name = "RESULTS_JSON")]
    from_results: Option<PathBuf>,
}

/// The parts of a run, for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Zip and binary sizes.
    Sizes,
    /// Cold starts and warm invocations per function (and the Python handler).
    Cold,
    /// Warm load through the local gateway (and `cargo lambda watch`).
    Warm,
    /// A request's cost as the notes grow, per store.
    Growth,
    /// JWT verification (criterion's output).
    Jwt,
    /// Deploys against moto.
    Deploy,
}

impl Args {
    /// Whether `part` is measured in this run; when not, says so in `skipped`.
    fn wants(&self, part: Part, skipped: &mut Vec<String>) -> bool {
        let wanted = self.only.is_empty() || self.only.contains(&part);
        if !wanted {
            skipped.push(format!("{part:?}: left out (--only)").to_lowercase());
        }
        wanted
    }
}

/// How much of everything, per mode.
#[derive(Clone, Copy, Debug)]
struct Plan {
    cold_me: usize,
    cold_other: usize,
    warm_invocations: usize,
    load_warm_up: Duration,
    load_duration: Duration,
    concurrencies: [usize; 2],
    repeats: Repeats,
    watch: bool,
    growth_sizes: &'static [u64],
    growth_requests: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                cold_me: 20,
                cold_other: 5,
                warm_invocations: 50,
                load_warm_up: Duration::from_millis(500),
                load_duration: Duration::from_secs(3),
                concurrencies: [1, 32],
                repeats: Repeats {
                    unchanged: 5,
                    one_changed: 2,
                    all_changed: 0,
                    naive: 1,
                },
                watch: false,
                growth_sizes: &[10, 1_000],
                growth_requests: 5,
            }
        } else {
            Self {
                cold_me: 30,
                cold_other: 30,
                warm_invocations: 300,
                load_warm_up: Duration::from_secs(2),
                load_duration: Duration::from_secs(10),
                concurrencies: [1, 32],
                repeats: Repeats {
                    unchanged: 10,
                    one_changed: 5,
                    all_changed: 3,
                    naive: 3,
                },
                watch: true,
                growth_sizes: &[10, 1_000, 10_000, 100_000],
                growth_requests: 20,
            }
        }
    }

    fn settings(&self) -> BTreeMap<String, String> {
        [
            (
                "cold starts per function",
                format!(
                    "{} (`me` and the Python handler: {})",
                    self.cold_other, self.cold_me
                ),
            ),
            (
                "warm invocations per function",
                self.warm_invocations.to_string(),
            ),
            (
                "warm load per route and concurrency",
                format!(
                    "{:.1} s warm-up, then {:.0} s counted; clients {} and {}",
                    self.load_warm_up.as_secs_f64(),
                    self.load_duration.as_secs_f64(),
                    self.concurrencies[0],
                    self.concurrencies[1]
                ),
            ),
            ("instances per function", MAX_INSTANCES.to_string()),
            (
                "deploy runs",
                format!(
                    "unchanged {}, one changed {}, all changed {}, naive {}",
                    self.repeats.unchanged,
                    self.repeats.one_changed,
                    self.repeats.all_changed,
                    self.repeats.naive
                ),
            ),
            (
                "growth",
                format!(
                    "{} notes of one user; per size and request one warm-up, then {} counted",
                    self.growth_sizes
                        .iter()
                        .map(|n| stats::fmt_count(*n as f64))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.growth_requests
                ),
            ),
            (
                "cargo lambda watch",
                if self.watch { "measured" } else { "skipped" }.to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The most instances per function, for the gateway and for `cargo lambda watch` alike.
const MAX_INSTANCES: usize = 4;

/// The routes of the warm load runs.
const WARM_ROUTES: [&str; 4] = ["GET /health", "GET /me", "POST /notes", "GET /notes"];

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let root = args.root.clone();
    let bin_dir = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| root.join("target/release"));
    let lambda_dir = args
        .lambda_dir
        .clone()
        .unwrap_or_else(|| root.join("target/lambda"));
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench"));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("BENCHMARKS.md"));
    let chart_path = args
        .chart
        .clone()
        .unwrap_or_else(|| root.join("docs/bench/bench.svg"));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    if let Some(results) = &args.from_results {
        let text =
            std::fs::read_to_string(results).map_err(|e| format!("{}: {e}", results.display()))?;
        let m: Measurements = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a bench results file: {e}", results.display()))?;
        return write_outputs(&m, &root, &out, &chart_path, &work);
    }
    let plan = Plan::new(args.quick);
    let started = Instant::now();
    let routes: Vec<Route> =
        routes::load(&root.join(function_table::TFVARS_PATH)).map_err(|e| e.to_string())?;
    let table: &[Route] = &routes;

    let mut m = Measurements {
        meta: Meta {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            quick: args.quick,
            machine: inputs::machine(),
            commit: commit(&root),
            rustc: inputs::command_line("rustc", &["--version"], &root),
            seconds: 0.0,
            settings: plan.settings(),
        },
        ..Measurements::default()
    };

    if args.wants(Part::Sizes, &mut m.skipped) {
        eprintln!("bench: sizes");
    }
    for route in routes
        .iter()
        .filter(|_| args.only.is_empty() || args.only.contains(&Part::Sizes))
    {
        m.sizes.push(inputs::size_row(
            &route.function,
            route.uses_table,
            &lambda_dir,
            &bin_dir,
        ));
    }

    let notes = notes_root(&work);
    m.meta.settings.insert(
        "notes store".to_owned(),
        format!(
            "filesystem store in a fresh directory {}",
            if notes.starts_with("/dev/shm") {
                "on tmpfs, `/dev/shm` (the store's fsyncs cost nothing, so this machine's disk, shared with \
                 other work, is not what gets measured; in AWS these functions call DynamoDB instead)"
            } else {
                "under the work directory"
            }
        ),
    );
    let measured = async {
        if args.wants(Part::Cold, &mut m.skipped) {
            cold_starts(
                &mut m,
                &args,
                &plan,
                &routes,
                &bin_dir,
                &work,
                &notes.join("cold"),
            )
            .await?;
        }
        if args.wants(Part::Warm, &mut m.skipped) {
            warm_runs(
                &mut m,
                &args,
                &plan,
                table,
                &bin_dir,
                &work,
                &notes.join("stack"),
            )
            .await;
        }
        if args.wants(Part::Growth, &mut m.skipped) {
            growth_runs(
                &mut m,
                &args,
                &plan,
                &routes,
                &bin_dir,
                &notes.join("growth"),
            )
            .await;
        }
        Ok::<(), String>(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&notes);
    measured?;

    match &args.criterion_dir {
        _ if !args.wants(Part::Jwt, &mut m.skipped) => {}
        Some(dir) => match inputs::criterion_estimate(dir, "jwt/verify_id_token") {
            Ok(row) => m.jwt = Some(row),
            Err(e) => m.skipped.push(format!("JWT verification: {e}")),
        },
        None => m
            .skipped
            .push("JWT verification: no criterion output given (--criterion-dir)".to_owned()),
    }

    match &args.moto_endpoint {
        _ if !args.wants(Part::Deploy, &mut m.skipped) => {}
        Some(endpoint) => {
            let deploy_inputs: Vec<deploys::Input> = routes
                .iter()
                .map(|r| deploys::Input {
                    function: r.function.clone(),
                    binary: lambda_dir.join(&r.function).join("bootstrap"),
                    zip: lambda_dir.join(&r.function).join("bootstrap.zip"),
                })
                .collect();
            match deploys::run(endpoint, &deploy_inputs, &work.join("deploy"), plan.repeats).await {
                Ok(result) => m.deploy = Some(result),
                Err(e) => m.skipped.push(format!("deploys: {e}")),
            }
            if plan.repeats.all_changed == 0 {
                m.skipped
                    .push("the all-changed deploy (skipped in --quick)".to_owned());
            }
        }
        None => m
            .skipped
            .push("deploys: no moto server given (--moto-endpoint)".to_owned()),
    }

    m.meta.seconds = started.elapsed().as_secs_f64();
    write_outputs(&m, &root, &out, &chart_path, &work)
}

/// Where the notes go: a fresh directory on tmpfs (`/dev/shm`) when there is one, else under
/// the work directory.
fn notes_root(work: &Path) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("notes-api-bench-{}", std::process::id()))
    } else {
        work.join("notes")
    }
}

/// `git rev-parse --short HEAD`, with `-dirty` when the tree has changes.
fn commit(root: &Path) -> String {
    let head = inputs::command_line("git", &["rev-parse", "--short", "HEAD"], root);
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

/// Routes in the order their state needs: notes are created before they are read, replaced
/// and deleted.
fn cold_order(routes: &[Route]) -> Vec<Route> {
    let rank = |r: &Route| match r.route_key.split(' ').next() {
        Some("POST") => 0,
        Some("GET") => 1,
        Some("PUT") => 2,
        Some("DELETE") => 3,
        _ => 4,
    };
    let mut ordered = routes.to_vec();
    ordered.sort_by(|a, b| (rank(a), &a.route_key).cmp(&(rank(b), &b.route_key)));
    ordered
}

async fn cold_starts(
    m: &mut Measurements,
    args: &Args,
    plan: &Plan,
    routes: &[Route],
    bin_dir: &Path,
    work: &Path,
    notes: &Path,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(notes);
    std::fs::create_dir_all(notes).map_err(|e| format!("{}: {e}", notes.display()))?;
    let env = vec![
        ("LOG_LEVEL".to_owned(), "info".to_owned()),
        (
            "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH".to_owned(),
            "true".to_owned(),
        ),
        ("NOTES_STORE".to_owned(), "fs".to_owned()),
        ("NOTES_DIR".to_owned(), notes.display().to_string()),
    ];
    let mut load = Workload::new(
        workload::fixed_claims("bench-user", false),
        workload::fixed_claims("bench-admin", true),
    );
    let creator = routes.iter().find(|r| r.route_key == "POST /notes");
    for route in cold_order(routes) {
        let binary = bin_dir.join(&route.function);
        if !binary.is_file() {
            m.skipped.push(format!(
                "cold start of {}: no binary at {}",
                route.function,
                binary.display()
            ));
            continue;
        }
        let cold = if route.route_key == "GET /me" {
            plan.cold_me
        } else {
            plan.cold_other
        };
        let counts = Counts {
            cold,
            warm: plan.warm_invocations,
        };
        // DELETE consumes a note per invocation: make sure there are enough.
        if route.route_key.starts_with("DELETE ")
            && let Some(creator) = creator
        {
            let needed = (counts.cold + counts.warm).saturating_sub(load.notes.len());
            if needed > 0 {
                let target = rust_target(creator, bin_dir, &env);
                let _ = cold::measure(
                    &target,
                    Counts {
                        cold: 1,
                        warm: needed,
                    },
                    &mut load,
                )
                .await;
            }
        }
        eprintln!(
            "bench: {} cold starts and {} warm invocations of {}",
            counts.cold, counts.warm, route.function
        );
        let target = rust_target(&route, bin_dir, &env);
        m.functions
            .push(cold::measure(&target, counts, &mut load).await);
    }

    let Some(python) = &args.python else {
        m.skipped
            .push("the Python handler: no Python with awslambdaric given (--python)".to_owned());
        return Ok(());
    };
    let Some(me) = routes.iter().find(|r| r.route_key == "GET /me") else {
        return Ok(());
    };
    let wrapper = python_wrapper(&args.root, python, work)?;
    let mut route = me.clone();
    route.function = "me-python".to_owned();
    let target = Target {
        label: "me (Python)".to_owned(),
        route,
        binary: wrapper,
        env: vec![("LAMBDA_TASK_ROOT".to_owned(), handler_dir(&args.root))],
        runtime: Runtime::Python,
    };
    let counts = Counts {
        cold: plan.cold_me,
        warm: plan.warm_invocations,
    };
    eprintln!(
        "bench: {} cold starts and {} warm invocations of the Python GET /me handler",
        counts.cold, counts.warm
    );
    let row = cold::measure(&target, counts, &mut load).await;
    if row.cold_ms.is_empty() {
        m.skipped.push(format!(
            "the Python handler answered no invocation ({} errors); try `{} -m awslambdaric` by hand",
            row.errors,
            python.display()
        ));
    }
    m.functions.push(row);
    Ok(())
}

fn rust_target(route: &Route, bin_dir: &Path, env: &[(String, String)]) -> Target {
    Target {
        label: route.function.clone(),
        route: route.clone(),
        binary: bin_dir.join(&route.function),
        env: env.to_vec(),
        runtime: Runtime::Rust,
    }
}

fn handler_dir(root: &Path) -> String {
    root.join("crates/bench/python").display().to_string()
}

/// The emulator spawns one executable: a script that starts the Python runtime interface
/// client on the handler, `exec`ed so that the measured process is Python itself.
fn python_wrapper(root: &Path, python: &Path, work: &Path) -> Result<PathBuf, String> {
    let dir = work.join("python-me");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("bootstrap");
    let script = format!(
        "#!/bin/sh\n# Generated by `cargo xtask bench`: GET /me in Python under awslambdaric.\n\
         cd '{}' && exec '{}' -m awslambdaric me.handler\n",
        handler_dir(root),
        python.display()
    );
    std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

/// How `GET /notes` and `GET /admin/stats` cost as the notes grow: on the filesystem store
/// (tmpfs), and on DynamoDB (moto, through the call-counting proxy) when moto is given.
async fn growth_runs(
    m: &mut Measurements,
    args: &Args,
    plan: &Plan,
    routes: &[Route],
    bin_dir: &Path,
    notes: &Path,
) {
    let find = |key: &str| routes.iter().find(|r| r.route_key == key);
    let (Some(list), Some(stats)) = (find("GET /notes"), find("GET /admin/stats")) else {
        m.skipped
            .push("growth: the table has no GET /notes or GET /admin/stats".to_owned());
        return;
    };
    if let Some(missing) = [list, stats]
        .iter()
        .map(|r| bin_dir.join(&r.function))
        .find(|b| !b.is_file())
    {
        m.skipped
            .push(format!("growth: no binary at {}", missing.display()));
        return;
    }
    let setup = growth::Setup {
        list,
        stats,
        bin_dir,
        sizes: plan.growth_sizes,
        requests: plan.growth_requests,
    };
    let common = [
        ("LOG_LEVEL", "info"),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
    ];
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        common
            .iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };

    let _ = std::fs::remove_dir_all(notes);
    if let Err(e) = std::fs::create_dir_all(notes) {
        m.skipped.push(format!(
            "growth on the filesystem store: {}: {e}",
            notes.display()
        ));
    } else {
        let store = notes::AnyStore::Fs(notes::FsStore::new(notes.to_path_buf()));
        let dir = notes.display().to_string();
        let backend = Backend {
            name: "filesystem",
            store: &store,
            env: env(&[("NOTES_STORE", "fs"), ("NOTES_DIR", &dir)]),
            proxy: None,
        };
        match growth::run(&setup, &backend).await {
            Ok(rows) => m.growth.extend(rows),
            Err(e) => m
                .skipped
                .push(format!("growth on the filesystem store: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(notes);

    let Some(endpoint) = &args.moto_endpoint else {
        m.skipped
            .push("growth on DynamoDB: no moto server given (--moto-endpoint)".to_owned());
        return;
    };
    let dynamo = async {
        let proxy = CountingProxy::start(endpoint).await?;
        let sdk = deploys::moto_config(endpoint);
        let client = aws_sdk_dynamodb::Client::from_conf(notes::dynamo_config(&sdk));
        let table = format!(
            "notes-growth-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        notes::DynamoStore::create_table(&client, &table)
            .await
            .map_err(|e| e.to_string())?;
        let store = notes::AnyStore::Dynamo(notes::DynamoStore::new(client, table.clone()));
        let backend = Backend {
            name: "dynamodb",
            store: &store,
            env: env(&[
                ("NOTES_STORE", "dynamodb"),
                ("NOTES_TABLE", &table),
                ("AWS_ENDPOINT_URL_DYNAMODB", proxy.url()),
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ]),
            proxy: Some(&proxy),
        };
        growth::run(&setup, &backend).await
    };
    match dynamo.await {
        Ok(rows) => m.growth.extend(rows),
        Err(e) => m.skipped.push(format!("growth on DynamoDB (moto): {e}")),
    }
}

/// A warm route: its table entry and who calls it.
struct WarmRoute {
    route: Route,
    token: Option<String>,
}

async fn warm_runs(
    m: &mut Measurements,
    args: &Args,
    plan: &Plan,
    table: &[Route],
    bin_dir: &Path,
    work: &Path,
    notes: &Path,
) {
    match gateway_runs(m, args, plan, table, bin_dir, work, notes).await {
        Ok(warm_routes) => {
            if !plan.watch {
                m.skipped
                    .push("the cargo lambda watch comparison (skipped in --quick)".to_owned());
            } else if let Some(program) = &args.cargo_lambda {
                if let Err(e) =
                    watch_runs(m, &args.root, program, plan, &warm_routes, work, notes).await
                {
                    m.skipped
                        .push(format!("the cargo lambda watch comparison: {e}"));
                }
            } else {
                m.skipped.push(
                    "the cargo lambda watch comparison: no cargo-lambda given (--cargo-lambda)"
                        .to_owned(),
                );
            }
        }
        Err(e) => m
            .skipped
            .push(format!("warm load through the gateway: {e}")),
    }
}

fn client(concurrency: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(concurrency.max(32))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

async fn gateway_runs(
    m: &mut Measurements,
    args: &Args,
    plan: &Plan,
    table: &[Route],
    bin_dir: &Path,
    work: &Path,
    notes: &Path,
) -> Result<Vec<WarmRoute>, String> {
    let state = work.join("stack");
    let _ = std::fs::remove_dir_all(&state);
    let mut config = StackConfig::for_workspace(&args.root);
    config.bin_dir = bin_dir.to_path_buf();
    config.store = Store::Fs(notes.to_path_buf());
    config.state_dir = state;
    config.trust = Trust::Local;
    config.max_instances = MAX_INSTANCES;
    config.idle_timeout = Duration::from_secs(3600);
    config.forward_logs = false;
    let stack = LocalStack::start(config).await.map_err(|e| e.to_string())?;
    let result = gateway_load(m, plan, table, &stack).await;
    stack.shutdown().await;
    result
}

async fn gateway_load(
    m: &mut Measurements,
    plan: &Plan,
    table: &[Route],
    stack: &LocalStack,
) -> Result<Vec<WarmRoute>, String> {
    let issuer = stack
        .issuer
        .as_ref()
        .ok_or_else(|| "the stack has no local issuer".to_owned())?;
    let mut tokens = HashMap::new();
    for who in ["writer", "reader"] {
        let email = format!("bench-{who}@example.com");
        issuer
            .admin_create_user(&email, "Bench-Password-123!")
            .map_err(|e| e.to_string())?;
        let issued = issuer
            .issue_tokens(&email, &[])
            .map_err(|e| e.to_string())?;
        let token = issued
            .get("id_token")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| "no id_token".to_owned())?
            .to_owned();
        tokens.insert(who, token);
    }
    let client = client(plan.concurrencies[1])?;
    // The reader's list has 20 notes, so GET /notes?limit=20 does the same work every time.
    for i in 0..20 {
        let created = client
            .post(format!("{}/notes", stack.api_url))
            .bearer_auth(&tokens["reader"])
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"title":"listed {i}","body":"one of the 20 notes GET /notes lists","tags":["bench"]}}"#
            ))
            .send()
            .await
            .map_err(|e| format!("creating the reader's notes: {e}"))?;
        if created.status().as_u16() != 201 {
            return Err(format!(
                "creating the reader's notes: status {}",
                created.status()
            ));
        }
    }
    let mut warm_routes = Vec::new();
    for key in WARM_ROUTES {
        let Some(route) = table.iter().find(|r| r.route_key == key) else {
            m.skipped
                .push(format!("warm load of {key}: no such route in the table"));
            continue;
        };
        let token = match key {
            "GET /health" => None,
            "POST /notes" => Some(tokens["writer"].clone()),
            _ => Some(tokens["reader"].clone()),
        };
        let planned = Workload::default().plan(route);
        let mut headers: Vec<(String, String)> = planned
            .headers
            .iter()
            .filter(|(name, _)| name == "content-type")
            .cloned()
            .collect();
        if let Some(token) = &token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        let query = if planned.query.is_empty() {
            String::new()
        } else {
            format!("?{}", planned.query)
        };
        let request = Request {
            method: reqwest::Method::from_bytes(planned.method.as_bytes())
                .unwrap_or(reqwest::Method::GET),
            url: format!("{}{}{query}", stack.api_url, planned.path),
            headers,
            body: planned.body.into_bytes(),
            expect: if planned.method == "POST" { 201 } else { 200 },
            status_in_body: false,
        };
        for concurrency in plan.concurrencies {
            eprintln!(
                "bench: {key} through the local gateway, {concurrency} clients, {:.0} s",
                (plan.load_warm_up + plan.load_duration).as_secs_f64()
            );
            let load = Load {
                concurrency,
                warm_up: plan.load_warm_up,
                duration: plan.load_duration,
            };
            let mut row = warm::label(
                warm::run(&client, &request, load).await,
                Server::Gateway,
                key,
                &route.function,
            );
            let (peak, instances) =
                warm::peak_rss(&stack.gateway.lambda().instance_pids(&route.function).await);
            row.peak_rss_kib = Some(peak);
            row.instances = Some(instances);
            m.warm.push(row);
        }
        warm_routes.push(WarmRoute {
            route: route.clone(),
            token,
        });
    }
    Ok(warm_routes)
}

async fn watch_runs(
    m: &mut Measurements,
    root: &Path,
    program: &Path,
    plan: &Plan,
    routes: &[WarmRoute],
    work: &Path,
    notes: &Path,
) -> Result<(), String> {
    let config = WatchConfig {
        program: program.to_path_buf(),
        root: root.to_path_buf(),
        target_dir: work.join("watch-target"),
        port: warm::free_port()?,
        env: vec![
            ("LOG_LEVEL".to_owned(), "info".to_owned()),
            (
                "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH".to_owned(),
                "true".to_owned(),
            ),
            ("NOTES_STORE".to_owned(), "fs".to_owned()),
            ("NOTES_DIR".to_owned(), notes.display().to_string()),
        ],
        concurrency: MAX_INSTANCES,
        log: work.join("cargo-lambda-watch.log"),
    };
    let mut watch = Watch::start(&config)?;
    let result = watch_load(m, plan, routes, &mut watch).await;
    watch.stop().await;
    result
}

async fn watch_load(
    m: &mut Measurements,
    plan: &Plan,
    routes: &[WarmRoute],
    watch: &mut Watch,
) -> Result<(), String> {
    let client = client(plan.concurrencies[1])?;
    for warm_route in routes {
        let route = &warm_route.route;
        let claims = match &warm_route.token {
            Some(token) => workload::claims_of_token(token)?,
            None => HashMap::new(),
        };
        let load = Workload::new(claims.clone(), claims);
        let planned = load.plan(route);
        let event = load.event(route, &planned, "bench-watch");
        eprintln!(
            "bench: cargo lambda watch is building {} (release, its own target dir; minutes on \
             the first run)",
            route.function
        );
        watch
            .warm_up(&client, &route.function, &event, Duration::from_secs(1800))
            .await?;
        let request = Request {
            method: reqwest::Method::POST,
            url: watch.invoke_url(&route.function),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: event,
            expect: if planned.method == "POST" { 201 } else { 200 },
            status_in_body: true,
        };
        for concurrency in plan.concurrencies {
            eprintln!(
                "bench: {} through cargo lambda watch, {concurrency} clients, {:.0} s",
                route.route_key,
                (plan.load_warm_up + plan.load_duration).as_secs_f64()
            );
            let load = Load {
                concurrency,
                warm_up: plan.load_warm_up,
                duration: plan.load_duration,
            };
            m.warm.push(warm::label(
                warm::run(&client, &request, load).await,
                Server::CargoLambdaWatch,
                &route.route_key,
                &route.function,
            ));
        }
    }
    Ok(())
}

fn write_outputs(
    m: &Measurements,
    root: &Path,
    out: &Path,
    chart_path: &Path,
    work: &Path,
) -> Result<(), String> {
    let chart_link = match chart::render(m)? {
        Some(svg) => {
            if let Some(dir) = chart_path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(chart_path, svg)
                .map_err(|e| format!("{}: {e}", chart_path.display()))?;
            let base = out.parent().unwrap_or(root);
            Some(warm::shown(chart_path, base))
        }
        None => None,
    };
    let text = report::render(m, chart_link.as_deref(), &analysis::explain(m));
    std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    // The measurements go next to the chart as well (committed with it): `tests/fresh.rs`
    // renders them and compares with the committed report and chart.
    let json = serde_json::to_string_pretty(m).map_err(|e| e.to_string())?;
    let results = work.join("results.json");
    let mut targets = vec![results.clone()];
    if let Some(dir) = chart_path.parent() {
        targets.push(dir.join("results.json"));
    }
    for path in &targets {
        std::fs::write(path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("| aim | measured | result |\n|---|---|---|");
    for aim in report::aims(m) {
        let result = match aim.met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "not measured",
        };
        println!("| {} | {} | {result} |", aim.target, aim.measured);
    }
    eprintln!(
        "bench: wrote {}, {} and {} ({:.0} s of measurements)",
        warm::shown(out, root),
        warm::shown(chart_path, root),
        warm::shown(&results, root),
        m.meta.seconds
    );
    Ok(())
}
