//! `cargo xtask fuzz`: the cargo-fuzz targets of `fuzz/` (the untrusted parsers: the payload
//! 2.0 event and its claims, JWTs, note ids, cursors and limits, note bodies), each run for a
//! bounded time; [`gate_run`] is the short run of `cargo xtask test`.
//!
//! cargo-fuzz is installed into `.tools/cargo-fuzz` at a pinned version ([`CARGO_FUZZ`], with a
//! marker file like the Python tools of [`crate::pytool`]). The targets are built once with
//! `cargo fuzz build -O -a -s none` (release, debug assertions and overflow checks on, no
//! sanitizer) into `target/fuzz`, then each binary runs libFuzzer directly over
//! `target/fuzz/corpus/<target>` (kept between runs, git-ignored) plus the committed seeds in
//! `fuzz/seeds/<target>`, bounded in time (`-max_total_time`), per-input time (`-timeout`),
//! memory (`-rss_limit_mb`) and input size (`-max_len`, per target). At most [`DEFAULT_JOBS`]
//! targets run at once, one core each. A crash, timeout or out-of-memory leaves the input in
//! `target/fuzz/artifacts/<target>/`; the run then fails and names that file.
//!
//! Toolchain: the pinned stable Rust (rust-toolchain.toml) is enough. Only the sanitizers
//! (`-Zsanitizer=…`, cargo-fuzz's default of AddressSanitizer) need nightly; the code under test
//! forbids `unsafe`, so the sanitizers would add little, and `-s none` keeps the gate on the one
//! toolchain every machine has. Panics, failed assertions and overflow checks are what the
//! targets catch. Reproduce a crash with
//! `target/fuzz/<triple>/release/<target> <artifact>` (`debug/` for the gate's unoptimised
//! build, see [`gate_run`]).

use std::collections::VecDeque;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, CmdError, Ran};
use crate::pytool::rel;
use crate::workspace;

/// The cargo-fuzz release installed into `.tools/cargo-fuzz`.
pub const CARGO_FUZZ: &str = "0.13.2";

/// Seconds per target of `cargo xtask fuzz` (the long run).
pub const DEFAULT_SECONDS: u64 = 300;

/// Seconds per target of the gate's short run.
pub const GATE_SECONDS: u64 = 30;

/// Targets running at once by default: one per core of the 2-core machines.
pub const DEFAULT_JOBS: usize = 2;

/// libFuzzer's memory limit per target process (`-rss_limit_mb`).
pub const RSS_LIMIT_MB: u32 = 2048;

/// Longest time one input may take (`-timeout`, seconds) before it counts as a hang.
pub const INPUT_TIMEOUT_SECS: u32 = 10;

/// The codegen units of the fuzz build: 16 builds markedly faster on 2 cores than cargo-fuzz's
/// default of 1, for slightly slower targets.
pub const CODEGEN_UNITS: u32 = 16;

/// One fuzz target of `fuzz/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its name: the `[[bin]]` in fuzz/Cargo.toml and `fuzz/fuzz_targets/<name>.rs`.
    pub name: &'static str,
    /// The largest input libFuzzer generates (`-max_len`), in bytes.
    pub max_len: usize,
}

/// Every target, in the order they run.
pub const TARGETS: [Target; 4] = [
    // Events of a few KiB; 64 KiB leaves room for bodies and many claims.
    Target {
        name: "claims_from_event",
        max_len: 64 * 1024,
    },
    // Past the verifier's 16 KiB token limit.
    Target {
        name: "jwt_parse",
        max_len: 20 * 1024,
    },
    // Ids are 26 characters, cursors at most 64; room for query strings around them.
    Target {
        name: "note_id_cursor",
        max_len: 1024,
    },
    // Past http-api's 128 KiB body limit, so the 413 and the 64 KiB note body limit are reached.
    Target {
        name: "note_json",
        max_len: 136 * 1024,
    },
];

/// What `cargo xtask fuzz` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzOptions {
    /// Seconds per target.
    pub seconds: u64,
    /// Targets running at once (at least 1).
    pub jobs: usize,
    /// Target names; empty means all of [`TARGETS`].
    pub targets: Vec<String>,
    /// Build optimised (`-O`, the default) or unoptimised (`--dev`: a third of the build time
    /// from scratch, but far fewer executions per second; what the gate uses).
    pub optimized: bool,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        Self {
            seconds: DEFAULT_SECONDS,
            jobs: DEFAULT_JOBS,
            targets: Vec::new(),
            optimized: true,
        }
    }
}

/// Why a fuzz run could not be carried out (a crash is not an error: see [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// A target name that `fuzz/` does not have.
    #[error("unknown fuzz target `{name}`; the targets are {}", names())]
    UnknownTarget {
        /// The name given.
        name: String,
    },
    /// `rustc -vV` named no host triple.
    #[error("`rustc -vV` printed no `host:` line: {output}; {hint}")]
    NoHost {
        /// What it printed.
        output: String,
        /// What to try.
        hint: &'static str,
    },
    /// A command could not start or failed.
    #[error("{source}; {hint}")]
    Command {
        /// What went wrong, with the command line.
        source: CmdError,
        /// What to try.
        hint: &'static str,
    },
    /// A file or directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// How one target's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran for its time and found nothing.
    Ok,
    /// libFuzzer stopped on an input: a panic or failed assertion (`deadly signal`), a
    /// `timeout` or `out-of-memory`.
    Crashed {
        /// libFuzzer's name for it (after `ERROR: libFuzzer:`), if it printed one.
        reason: Option<String>,
        /// The first `panicked at …` line and the message under it, if any.
        panic: Option<String>,
        /// The input, saved under `target/fuzz/artifacts/<target>/`.
        artifact: Option<PathBuf>,
        /// The process's exit code (`None`: killed by a signal).
        code: Option<i32>,
    },
}

/// What libFuzzer reports at the end of a run (`-print_final_stats=1` and its last status line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs executed (`stat::number_of_executed_units`).
    pub execs: Option<u64>,
    /// Peak memory in MiB (`stat::peak_rss_mb`).
    pub peak_rss_mb: Option<u64>,
    /// Inputs this run added to the corpus (`stat::new_units_added`).
    pub new_units: Option<u64>,
    /// Code edges covered (`cov:` of the last status line).
    pub coverage: Option<u64>,
    /// Features covered (`ft:`).
    pub features: Option<u64>,
    /// Inputs in the in-memory corpus (`corp: N/…`).
    pub corpus_entries: Option<u64>,
}

/// One target's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetResult {
    /// The target.
    pub target: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// libFuzzer's numbers.
    pub stats: Stats,
    /// Files in `target/fuzz/corpus/<target>` afterwards, and their total size in bytes.
    pub corpus_files: (u64, u64),
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// libFuzzer's full output.
    pub log: PathBuf,
}

/// Every target's result, in the order of [`TARGETS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// How long the build took.
    pub build: Duration,
    /// One result per target run.
    pub results: Vec<TargetResult>,
}

impl Report {
    /// Whether every target ran without a crash.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.outcome == Outcome::Ok)
    }
}

/// The gate's short run: every target for [`GATE_SECONDS`], [`DEFAULT_JOBS`] at a time, with
/// the table and any crash printed to stderr. It builds unoptimised: CI builds the targets from
/// scratch on every run, and an optimised build (with the AWS SDK that `notes` links) took
/// about 7 minutes there against under 3; the long run (`cargo xtask fuzz`) builds optimised.
pub fn gate_run(root: &Path) -> Result<Report, FuzzError> {
    run(
        root,
        &FuzzOptions {
            seconds: GATE_SECONDS,
            optimized: false,
            ..FuzzOptions::default()
        },
    )
}

/// The gate's name for [`gate_run`], e.g. `cargo fuzz (4 targets × 30 s)`.
pub fn gate_step_name() -> String {
    format!("cargo fuzz ({} targets × {GATE_SECONDS} s)", TARGETS.len())
}

/// Installs cargo-fuzz if needed, builds the chosen targets, runs each for `options.seconds`,
/// prints a table (and each crash) to stderr and returns the results.
pub fn run(root: &Path, options: &FuzzOptions) -> Result<Report, FuzzError> {
    let targets = select(&options.targets)?;
    ensure_cargo_fuzz(root)?;
    let triple = host_triple(root)?;

    let started = Instant::now();
    let build = build_command(root, &triple, &targets, options.optimized);
    eprintln!("xtask: running {build}");
    run_checked(
        build,
        "fix the build errors above (the fuzz crate is fuzz/, its own workspace)",
    )?;
    let build_time = started.elapsed();

    let dirs = Dirs::new(root, &triple, options.optimized);
    for target in &targets {
        for dir in [dirs.corpus(target.name), dirs.artifacts(target.name)] {
            fs::create_dir_all(&dir).map_err(|source| FuzzError::Io {
                action: "could not create",
                path: dir,
                source,
            })?;
        }
    }
    fs::create_dir_all(dirs.logs()).map_err(|source| FuzzError::Io {
        action: "could not create",
        path: dirs.logs(),
        source,
    })?;
    let jobs = options.jobs.max(1).min(targets.len().max(1));
    eprintln!(
        "xtask: fuzzing {} target(s) for {} s each, {jobs} at a time",
        targets.len(),
        options.seconds
    );
    let results = run_all(&dirs, &targets, options.seconds, jobs)?;
    let report = Report {
        build: build_time,
        results,
    };
    eprint!("{}", render_table(&report));
    for result in &report.results {
        if let Outcome::Crashed { .. } = result.outcome {
            eprintln!("{}", describe_crash(result, &dirs));
        }
    }
    Ok(report)
}

/// The targets named in `names` (all when empty), in the order of [`TARGETS`], each once.
pub fn select(names: &[String]) -> Result<Vec<Target>, FuzzError> {
    if let Some(name) = names
        .iter()
        .find(|n| !TARGETS.iter().any(|t| t.name == n.as_str()))
    {
        return Err(FuzzError::UnknownTarget { name: name.clone() });
    }
    Ok(TARGETS
        .into_iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
        .collect())
}

/// Where cargo-fuzz is installed: `.tools/cargo-fuzz`.
pub fn tool_dir(root: &Path) -> PathBuf {
    root.join(".tools").join("cargo-fuzz")
}

/// The installed `cargo-fuzz` executable.
pub fn cargo_fuzz_path(root: &Path) -> PathBuf {
    tool_dir(root).join("bin").join("cargo-fuzz")
}

/// The marker file naming the installed version.
pub fn marker_path(root: &Path) -> PathBuf {
    tool_dir(root).join("xtask-version.txt")
}

/// Whether a marker file's content names [`CARGO_FUZZ`].
pub fn marker_matches(content: Option<&str>) -> bool {
    content.is_some_and(|c| c.trim() == format!("cargo-fuzz {CARGO_FUZZ}"))
}

/// Installs cargo-fuzz [`CARGO_FUZZ`] into `.tools/cargo-fuzz` unless it is there; returns
/// whether it installed.
pub fn ensure_cargo_fuzz(root: &Path) -> Result<bool, FuzzError> {
    let marker = marker_path(root);
    if marker_matches(fs::read_to_string(&marker).ok().as_deref())
        && cargo_fuzz_path(root).is_file()
    {
        return Ok(false);
    }
    eprintln!(
        "xtask: installing cargo-fuzz {CARGO_FUZZ} into {} (first run only, about a minute)…",
        rel(&tool_dir(root)).display()
    );
    run_checked(
        install_command(root),
        "check network access to crates.io and retry",
    )?;
    fs::write(&marker, format!("cargo-fuzz {CARGO_FUZZ}\n")).map_err(|source| FuzzError::Io {
        action: "could not write",
        path: marker,
        source,
    })?;
    Ok(true)
}

/// `cargo install --locked --debug --force --root .tools/cargo-fuzz cargo-fuzz --version …`.
/// Unoptimised (`--debug`): it only runs cargo, and it builds in about two thirds of the time
/// (28 s against 43 s here), which counts on every clean CI run.
pub fn install_command(root: &Path) -> Cmd {
    Cmd::new(workspace::cargo())
        .args(["install", "--locked", "--debug", "--force", "--root"])
        .arg(tool_dir(root))
        .args(["cargo-fuzz", "--version", CARGO_FUZZ])
        .dir(root)
}

/// `cargo fuzz build -O -a -s none` (or `--dev` instead of `-O` when not `optimized`) of
/// `targets` (one target, or all of them) into `target/fuzz`, for `triple`.
pub fn build_command(root: &Path, triple: &str, targets: &[Target], optimized: bool) -> Cmd {
    let profile = if optimized { "-O" } else { "--dev" };
    let command = Cmd::new(cargo_fuzz_path(root))
        .args(["build", profile, "-a", "-s", "none", "--target", triple])
        .arg("--target-dir")
        .arg(fuzz_target_dir(root))
        .args(["--codegen-units", &CODEGEN_UNITS.to_string()])
        .dir(root)
        .env("CARGO", workspace::cargo());
    // cargo fuzz builds one target or all: name it only when exactly one is wanted.
    match targets {
        [target] => command.arg(target.name),
        _ => command,
    }
}

/// The libFuzzer arguments of one bounded run of `target`.
pub fn libfuzzer_args(dirs: &Dirs, target: &Target, seconds: u64) -> Vec<String> {
    vec![
        dirs.corpus(target.name).display().to_string(),
        dirs.seeds(target.name).display().to_string(),
        format!(
            "-artifact_prefix={}/",
            dirs.artifacts(target.name).display()
        ),
        format!("-max_total_time={seconds}"),
        format!("-max_len={}", target.max_len),
        format!("-rss_limit_mb={RSS_LIMIT_MB}"),
        format!("-timeout={INPUT_TIMEOUT_SECS}"),
        "-print_final_stats=1".to_owned(),
    ]
}

/// The directories of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    root: PathBuf,
    fuzz_target: PathBuf,
    triple: String,
    profile: &'static str,
}

impl Dirs {
    /// The directories for the workspace at `root`, binaries built for `triple`, `optimized`
    /// (in `release/`) or not (in `debug/`).
    pub fn new(root: &Path, triple: &str, optimized: bool) -> Self {
        Self {
            root: root.to_path_buf(),
            fuzz_target: fuzz_target_dir(root),
            triple: triple.to_owned(),
            profile: if optimized { "release" } else { "debug" },
        }
    }

    /// The built target binary.
    pub fn binary(&self, target: &str) -> PathBuf {
        self.fuzz_target
            .join(&self.triple)
            .join(self.profile)
            .join(target)
    }

    /// The working corpus, kept between runs: `target/fuzz/corpus/<target>`.
    pub fn corpus(&self, target: &str) -> PathBuf {
        self.fuzz_target.join("corpus").join(target)
    }

    /// The committed seeds: `fuzz/seeds/<target>` (read, never written).
    pub fn seeds(&self, target: &str) -> PathBuf {
        self.root.join("fuzz").join("seeds").join(target)
    }

    /// Where crashing inputs go: `target/fuzz/artifacts/<target>`.
    pub fn artifacts(&self, target: &str) -> PathBuf {
        self.fuzz_target.join("artifacts").join(target)
    }

    /// Where libFuzzer's output goes: `target/fuzz/logs`.
    pub fn logs(&self) -> PathBuf {
        self.fuzz_target.join("logs")
    }
}

/// Reads libFuzzer's numbers from its output.
pub fn parse_stats(log: &str) -> Stats {
    let stat = |name: &str| {
        log.lines()
            .filter_map(|line| line.trim().strip_prefix(name)?.trim().parse().ok())
            .next_back()
    };
    let status = log
        .lines()
        .rfind(|line| line.starts_with('#') && line.contains(" cov: "))
        .unwrap_or_default();
    let field = |name: &str| {
        let mut words = status.split_whitespace();
        words.find(|w| *w == name)?;
        let value = words.next()?;
        value.split('/').next()?.parse().ok()
    };
    Stats {
        execs: stat("stat::number_of_executed_units:"),
        peak_rss_mb: stat("stat::peak_rss_mb:"),
        new_units: stat("stat::new_units_added:"),
        coverage: field("cov:"),
        features: field("ft:"),
        corpus_entries: field("corp:"),
    }
}

/// How a run ended, from its exit status and output.
pub fn outcome(status: Option<i32>, log: &str) -> Outcome {
    if status == Some(0) {
        return Outcome::Ok;
    }
    let after = |marker: &str| {
        log.lines()
            .find_map(|line| Some(line.split_once(marker)?.1.trim().to_owned()))
    };
    let panic = log
        .lines()
        .position(|l| l.contains("panicked at"))
        .map(|i| {
            log.lines()
                .skip(i)
                .take(2)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        });
    Outcome::Crashed {
        reason: after("ERROR: libFuzzer:"),
        panic,
        artifact: after("Test unit written to ").map(PathBuf::from),
        code: status,
    }
}

/// The results as a table.
pub fn render_table(report: &Report) -> String {
    let mut out = format!(
        "fuzz build: {:.1} s\n{:<18} {:<8} {:>7} {:>11} {:>8} {:>6} {:>7} {:>8} {:>11} {:>7}\n",
        report.build.as_secs_f64(),
        "TARGET",
        "RESULT",
        "SECONDS",
        "EXECS",
        "EXECS/S",
        "COV",
        "FT",
        "NEW",
        "CORPUS",
        "RSS MB",
    );
    let num = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    for r in &report.results {
        let secs = r.elapsed.as_secs_f64();
        let rate = r
            .stats
            .execs
            .filter(|_| secs > 0.0)
            .map(|n| format!("{:.0}", n as f64 / secs));
        let result = match &r.outcome {
            Outcome::Ok => "ok",
            Outcome::Crashed { .. } => "CRASH",
        };
        out.push_str(&format!(
            "{:<18} {:<8} {secs:>7.1} {:>11} {:>8} {:>6} {:>7} {:>8} {:>11} {:>7}\n",
            r.target,
            result,
            num(r.stats.execs),
            rate.unwrap_or_else(|| "-".to_owned()),
            num(r.stats.coverage),
            num(r.stats.features),
            num(r.stats.new_units),
            format!("{}/{}K", r.corpus_files.0, r.corpus_files.1.div_ceil(1024)),
            num(r.stats.peak_rss_mb),
        ));
    }
    out
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// `target/fuzz`, under the target directory.
fn fuzz_target_dir(root: &Path) -> PathBuf {
    workspace::target_dir(root).join("fuzz")
}

fn names() -> String {
    TARGETS.map(|t| t.name).join(", ")
}

/// The host's target triple, from `rustc -vV` (the pinned toolchain's, run from the root).
fn host_triple(root: &Path) -> Result<String, FuzzError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let hint = "is the Rust toolchain installed?";
    let text = Cmd::new(&rustc)
        .arg("-vV")
        .dir(root)
        .read()
        .map_err(|source| FuzzError::Command { source, hint })?;
    match text.lines().find_map(|l| l.strip_prefix("host: ")) {
        Some(host) => Ok(host.trim().to_owned()),
        None => Err(FuzzError::NoHost {
            output: text.trim().to_owned(),
            hint,
        }),
    }
}

/// Runs `command` with inherited output; an error, with `hint`, unless it succeeds.
fn run_checked(command: Cmd, hint: &'static str) -> Result<(), FuzzError> {
    command
        .run()
        .map(drop)
        .map_err(|source| FuzzError::Command { source, hint })
}

/// Runs every target, `jobs` at a time; the results in the order of `targets`.
fn run_all(
    dirs: &Dirs,
    targets: &[Target],
    seconds: u64,
    jobs: usize,
) -> Result<Vec<TargetResult>, FuzzError> {
    let queue = Mutex::new(targets.iter().copied().collect::<VecDeque<_>>());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .pop_front();
                    let Some(target) = next else { break };
                    let result = run_one(dirs, &target, seconds);
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(result);
                }
            });
        }
    });
    let mut results = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    results.sort_by_key(|r| targets.iter().position(|t| t.name == r.target));
    Ok(results)
}

/// One bounded libFuzzer run of `target`, its output to `target/fuzz/logs/<target>.log`.
fn run_one(dirs: &Dirs, target: &Target, seconds: u64) -> Result<TargetResult, FuzzError> {
    let log_path = dirs.logs().join(format!("{}.log", target.name));
    let io_error = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| FuzzError::Io {
            action,
            path,
            source,
        }
    };
    let log = fs::File::create(&log_path).map_err(io_error("could not create", &log_path))?;
    let err = log
        .try_clone()
        .map_err(io_error("could not open", &log_path))?;
    let mut command = Cmd::new(dirs.binary(target.name))
        .args(libfuzzer_args(dirs, target, seconds))
        .dir(&dirs.root);
    command
        .command_mut()
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    eprintln!(
        "xtask: fuzzing {target} for {seconds} s (log: {})",
        rel(&log_path).display()
    );
    let Ran { status, elapsed } = command.timed().map_err(|source| FuzzError::Command {
        source,
        hint: "was the fuzz build above complete?",
    })?;
    let text = fs::read(&log_path).map_err(io_error("could not read", &log_path))?;
    let text = String::from_utf8_lossy(&text);
    let result = TargetResult {
        target: target.name,
        outcome: outcome(status.code(), &text),
        stats: parse_stats(&text),
        corpus_files: dir_size(&dirs.corpus(target.name)),
        elapsed,
        log: log_path,
    };
    let verdict = match result.outcome {
        Outcome::Ok => "ok",
        Outcome::Crashed { .. } => "CRASHED",
    };
    eprintln!(
        "xtask: {target}: {verdict} after {:.1} s, {} execs",
        elapsed.as_secs_f64(),
        result
            .stats
            .execs
            .map_or_else(|| "?".to_owned(), |n| n.to_string())
    );
    Ok(result)
}

/// Number of files in `dir` and their total size.
fn dir_size(dir: &Path) -> (u64, u64) {
    let Ok(entries) = fs::read_dir(dir) else {
        return (0, 0);
    };
    entries
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(fs::Metadata::is_file)
        .fold((0, 0), |(n, bytes), m| (n + 1, bytes + m.len()))
}

/// What to say about a crashed target: why, where the input is, how to reproduce it.
fn describe_crash(result: &TargetResult, dirs: &Dirs) -> String {
    let Outcome::Crashed {
        reason,
        panic,
        artifact,
        code,
    } = &result.outcome
    else {
        return String::new();
    };
    let mut text = format!(
        "xtask: fuzz target {} failed ({}; exit code {})",
        result.target,
        reason.as_deref().unwrap_or("no libFuzzer error line"),
        code.map_or_else(|| "none, killed by a signal".to_owned(), |c| c.to_string())
    );
    if let Some(panic) = panic {
        text.push_str(&format!("\n  {panic}"));
    }
    match artifact {
        Some(artifact) => text.push_str(&format!(
            "\n  input: {}\n  reproduce: {} {}",
            artifact.display(),
            rel(&dirs.binary(result.target)).display(),
            artifact.display()
        )),
        None => text.push_str("\n  (libFuzzer saved no input)"),
    }
    text.push_str(&format!("\n  log: {}", rel(&result.log).display()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of a real libFuzzer run with `-print_final_stats=1`.
    const DONE_LOG: &str = "\
INFO: Seed: 1234
#8\tINITED cov: 1970 ft: 2471 corp: 7/10405b exec/s: 0 rss: 29Mb
#1104737\tREDUCE cov: 4606 ft: 9623 corp: 1812/1692Kb lim: 2332 exec/s: 55236 rss: 35Mb L: 2215/2215 MS: 1 CopyPart-
#1105047\tDONE   cov: 4606 ft: 9623 corp: 1812/1692Kb lim: 2332 exec/s: 52621 rss: 35Mb
Done 1105047 runs in 21 second(s)
stat::number_of_executed_units: 1105047
stat::average_exec_per_sec:     52621
stat::new_units_added:          1805
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              35
";

    /// A panic in a target, as libFuzzer reports it.
    const CRASH_LOG: &str = "\
#1024\tpulse  cov: 800 ft: 900 corp: 50/3Kb exec/s: 512 rss: 30Mb
thread '<unnamed>' (20781) panicked at /src/lambda_http-1.3.2/src/request.rs:553:30:
called `Result::unwrap()` on an `Err` value: IdnaError
==20781== ERROR: libFuzzer: deadly signal
MS: 1 ChangeByte-; base unit: 0000
artifact_prefix='target/fuzz/artifacts/claims_from_event/'; Test unit written to target/fuzz/artifacts/claims_from_event/crash-a160
stat::number_of_executed_units: 1030
stat::peak_rss_mb:              31
";

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn stats_from_the_final_lines() {
        assert_eq!(
            parse_stats(DONE_LOG),
            Stats {
                execs: Some(1_105_047),
                peak_rss_mb: Some(35),
                new_units: Some(1805),
                coverage: Some(4606),
                features: Some(9623),
                corpus_entries: Some(1812),
            }
        );
        let crash = parse_stats(CRASH_LOG);
        assert_eq!(crash.execs, Some(1030));
        assert_eq!(crash.coverage, Some(800));
        assert_eq!(crash.corpus_entries, Some(50));
        assert_eq!(crash.new_units, None);
        assert_eq!(parse_stats(""), Stats::default());
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(Some(0), DONE_LOG), Outcome::Ok);
        assert_eq!(
            outcome(Some(77), CRASH_LOG),
            Outcome::Crashed {
                reason: Some("deadly signal".to_owned()),
                panic: Some(
                    "thread '<unnamed>' (20781) panicked at /src/lambda_http-1.3.2/src/request.rs:553:30: \
                     called `Result::unwrap()` on an `Err` value: IdnaError"
                        .to_owned()
                ),
                artifact: Some(PathBuf::from(
                    "target/fuzz/artifacts/claims_from_event/crash-a160"
                )),
                code: Some(77),
            }
        );
        // Killed (e.g. by the OOM killer) before libFuzzer could say anything.
        assert_eq!(
            outcome(None, ""),
            Outcome::Crashed {
                reason: None,
                panic: None,
                artifact: None,
                code: None,
            }
        );
        let Outcome::Crashed { reason, .. } = outcome(
            Some(70),
            "==1== ERROR: libFuzzer: timeout after 10 seconds\n",
        ) else {
            panic!("a timeout is a failure");
        };
        assert_eq!(reason.as_deref(), Some("timeout after 10 seconds"));
    }

    #[test]
    fn target_selection() {
        let names = |targets: Vec<Target>| targets.iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(
            select(&[]).map(names).ok(),
            Some(vec![
                "claims_from_event",
                "jwt_parse",
                "note_id_cursor",
                "note_json"
            ])
        );
        // Each once, in the table's order.
        assert_eq!(
            select(&strings(&["note_json", "jwt_parse", "note_json"]))
                .map(names)
                .ok(),
            Some(vec!["jwt_parse", "note_json"])
        );
        let err = select(&strings(&["jwt_parse", "jwt"])).map(names);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err(
                "unknown fuzz target `jwt`; the targets are claims_from_event, jwt_parse, \
                 note_id_cursor, note_json"
                    .to_owned()
            )
        );
    }

    #[test]
    fn every_target_has_a_source_and_seeds() {
        let root = workspace::root();
        for target in TARGETS {
            let source = root
                .join("fuzz/fuzz_targets")
                .join(format!("{}.rs", target.name));
            assert!(source.is_file(), "{} is missing", source.display());
            let seeds = Dirs::new(&root, "x", true).seeds(target.name);
            assert!(
                dir_size(&seeds).0 >= 3,
                "{}: too few seeds",
                seeds.display()
            );
            assert!(target.max_len >= 1024, "{target}: max_len too small");
        }
        let manifest = fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap_or_default();
        for target in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{}\"", target.name)),
                "fuzz/Cargo.toml has no [[bin]] {target}"
            );
        }
    }

    #[test]
    fn commands() {
        let root = Path::new("/repo");
        let targets = select(&[]).unwrap_or_default();
        let build = Cmd::line(&build_command(
            root,
            "x86_64-unknown-linux-gnu",
            &targets,
            true,
        ));
        let target_dir = workspace::target_dir(root).join("fuzz");
        assert!(
            build.ends_with(&format!(
                "cargo-fuzz build -O -a -s none --target x86_64-unknown-linux-gnu \
                 --target-dir {} --codegen-units 16",
                target_dir.display()
            )),
            "{build}"
        );
        assert!(build.starts_with("/repo/.tools/cargo-fuzz/bin/"), "{build}");
        let one = Cmd::line(&build_command(root, "t", &targets[1..2], true));
        assert!(one.ends_with("--codegen-units 16 jwt_parse"), "{one}");
        let quick = Cmd::line(&build_command(root, "t", &targets, false));
        assert!(
            quick.contains("cargo-fuzz build --dev -a -s none --target t"),
            "{quick}"
        );
        assert_eq!(
            Dirs::new(root, "t", false).binary("note_json"),
            target_dir.join("t/debug/note_json")
        );

        let install = Cmd::line(&install_command(root));
        assert!(
            install.ends_with(
                "install --locked --debug --force --root /repo/.tools/cargo-fuzz cargo-fuzz --version 0.13.2"
            ),
            "{install}"
        );

        let dirs = Dirs::new(root, "x86_64-unknown-linux-gnu", true);
        let corpus = target_dir.join("corpus/note_json");
        let artifacts = target_dir.join("artifacts/note_json");
        assert_eq!(
            libfuzzer_args(&dirs, &TARGETS[3], 30),
            strings(&[
                &corpus.display().to_string(),
                "/repo/fuzz/seeds/note_json",
                &format!("-artifact_prefix={}/", artifacts.display()),
                "-max_total_time=30",
                "-max_len=139264",
                "-rss_limit_mb=2048",
                "-timeout=10",
                "-print_final_stats=1",
            ])
        );
        assert_eq!(
            dirs.binary("jwt_parse"),
            target_dir.join("x86_64-unknown-linux-gnu/release/jwt_parse")
        );
        assert_eq!(gate_step_name(), "cargo fuzz (4 targets × 30 s)");
    }

    #[test]
    fn markers() {
        for (content, want) in [
            (Some("cargo-fuzz 0.13.2\n"), true),
            (Some("cargo-fuzz 0.13.2"), true),
            (Some("cargo-fuzz 0.12.0\n"), false),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(marker_matches(content), want, "for {content:?}");
        }
        assert!(CARGO_FUZZ.split('.').count() == 3, "pin an exact version");
    }

    #[test]
    fn table() {
        let result = |target, outcome, execs| TargetResult {
            target,
            outcome,
            stats: Stats {
                execs,
                coverage: Some(4606),
                features: Some(9623),
                new_units: Some(12),
                peak_rss_mb: Some(35),
                corpus_entries: Some(1812),
            },
            corpus_files: (1812, 1_732_608),
            elapsed: Duration::from_secs(30),
            log: PathBuf::from("l"),
        };
        let report = Report {
            build: Duration::from_millis(4_400),
            results: vec![
                result("jwt_parse", Outcome::Ok, Some(300_000)),
                result("note_json", outcome(Some(77), CRASH_LOG), None),
            ],
        };
        assert!(!report.passed());
        let table = render_table(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "fuzz build: 4.4 s");
        assert_eq!(
            lines[2],
            "jwt_parse          ok          30.0      300000    10000   4606    9623       12  1812/1692K      35"
        );
        assert!(lines[3].starts_with("note_json          CRASH       30.0           -        -"));
        assert_eq!(lines.len(), 4);
        let passing = Report {
            results: vec![result("jwt_parse", Outcome::Ok, Some(1))],
            ..report
        };
        assert!(passing.passed());
    }
}
