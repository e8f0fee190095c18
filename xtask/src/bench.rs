//! `cargo xtask bench`: builds what the measurements need, then runs the `bench` binary of
//! `crates/bench` (which holds the heavy parts: the local stack, the AWS SDK, plotters).
//!
//! Steps, each announced on stderr with its time: the x86_64 release function binaries
//! (`cargo build --release`), the arm64 zips ([`crate::package`]), the Python tools
//! (awslambdaric, moto), the criterion benchmark of the JWT verifier
//! (`cargo bench -p cognito-claims --bench verify`), the `bench` binary (profile
//! `bench-tool`), moto server on a free loopback port; then the measurements, which write
//! `BENCHMARKS.md`, `docs/bench/bench.svg` and `target/bench/results.json`.
//!
//! `cargo xtask soak` is built here too ([`release_build`], [`soak_tool_build`],
//! [`soak_command`]): the release function binaries, then the `soak` binary of the same crate
//! and profile, run from the workspace root on those binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, CmdError};
use crate::moto::{self, MotoError, MotoServer};
use crate::package::{self, Arch, PackageError, PackageOptions};
use crate::pytool::{self, AWSLAMBDARIC, CARGO_LAMBDA, MOTO, ToolError};
use crate::workspace::{self, WorkspaceError};

/// The cargo profile the `bench` binary and the criterion benchmark are built with (root
/// `Cargo.toml`: release without LTO, so that it builds quickly).
pub const PROFILE: &str = "bench-tool";

/// Where the bench keeps its state, logs and raw results, under the target directory.
pub const WORK_DIR: &str = "bench";

/// How `cargo xtask bench` runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenchOptions {
    /// Fewer samples and shorter runs (under 2 minutes of measurements).
    pub quick: bool,
    /// More arguments for the `bench` binary.
    pub bench_args: Vec<String>,
}

/// Why the bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The route table could not be read.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The arm64 packages could not be built.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A Python tool could not be installed.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// moto server did not start.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// A build step could not start or failed (its output above says why).
    #[error(transparent)]
    Command(#[from] CmdError),
}

/// Builds, starts moto, measures; returns the `bench` binary's exit status.
///
/// # Errors
/// See [`BenchError`]; an aim the run misses is not an error (the report says so).
pub fn run(root: &Path, options: &BenchOptions) -> Result<ExitCode, BenchError> {
    let started = Instant::now();
    let target = workspace::target_dir(root);
    let work = target.join(WORK_DIR);
    let functions: Vec<String> = workspace::load_routes(root)?
        .names()
        .map(str::to_owned)
        .collect();

    step(
        1,
        "the x86_64 release function binaries (cargo build --release)",
    );
    run_checked(release_build(root, &functions))?;

    step(2, "the arm64 zips (cargo xtask package)");
    package::package(
        root,
        &PackageOptions {
            arch: Arch::Arm64,
            functions: Vec::new(),
            profile: None,
        },
    )?;

    step(3, "the Python tools (awslambdaric, moto server)");
    for tool in [AWSLAMBDARIC, MOTO, CARGO_LAMBDA] {
        tool.ensure(root)?;
    }

    step(
        4,
        "JWT verifications per second (criterion, cargo bench -p cognito-claims)",
    );
    let criterion = work.join("criterion");
    let mut bench = cargo(root);
    bench
        .args(["bench", "--profile", PROFILE, "--package", "cognito-claims"])
        .args(["--bench", "verify", "--"])
        .args(criterion_args(options.quick))
        .env("CRITERION_HOME", &criterion);
    run_checked(bench)?;

    step(
        5,
        &format!("the bench tool (cargo build --profile {PROFILE} -p bench)"),
    );
    let mut tool = cargo(root);
    tool.args(["build", "--profile", PROFILE, "--package", "bench"]);
    run_checked(tool)?;

    step(6, "moto server on a free loopback port");
    let log = work.join("moto.log");
    let mut server = MotoServer::start(&MOTO.program_path(root), moto::free_port()?, &log)?;
    server.wait_ready(moto::READY_TIMEOUT)?;
    let built = started.elapsed();

    eprintln!(
        "xtask: bench: built in {}; measuring{} …",
        secs(built),
        if options.quick {
            " (quick: under 2 minutes)"
        } else {
            " (full run: about 4 minutes, 10 or more the first time cargo lambda watch compiles)"
        }
    );
    let measuring = Instant::now();
    let mut command = Command::new(bench_binary(&target));
    command
        .args(bench_args(root, &target, &server.endpoint(), options))
        .current_dir(root);
    let status = Cmd::from(command).status()?;
    drop(server);
    eprintln!(
        "xtask: bench: measurements took {} (builds {}); report in BENCHMARKS.md, chart in \
         docs/bench/bench.svg, raw numbers in {}",
        secs(measuring.elapsed()),
        secs(built),
        pytool::rel(&work.join("results.json")).display()
    );
    Ok(crate::cmd::exit_code(status))
}

/// Criterion's command line: the defaults (3 s warm-up, 5 s of samples) for a full run, less
/// for a quick one.
#[must_use]
pub fn criterion_args(quick: bool) -> Vec<&'static str> {
    if quick {
        vec!["--warm-up-time", "1", "--measurement-time", "2"]
    } else {
        vec!["--warm-up-time", "3", "--measurement-time", "10"]
    }
}

/// `<target>/bench-tool/bench`.
#[must_use]
pub fn bench_binary(target: &Path) -> PathBuf {
    target.join(PROFILE).join("bench")
}

/// `cargo build --release` of `functions` (the binaries the bench and the soak measure).
#[must_use]
pub fn release_build(root: &Path, functions: &[String]) -> Command {
    let mut build = cargo(root);
    build.args(["build", "--release"]);
    for function in functions {
        build.args(["--package", function]);
    }
    build
}

/// `cargo build --profile bench-tool` of the `soak` binary of crates/bench.
#[must_use]
pub fn soak_tool_build(root: &Path) -> Command {
    let mut build = cargo(root);
    build.args([
        "build",
        "--profile",
        PROFILE,
        "--package",
        "bench",
        "--bin",
        "soak",
    ]);
    build
}

/// `<target>/bench-tool/soak`.
#[must_use]
pub fn soak_binary(target: &Path) -> PathBuf {
    target.join(PROFILE).join("soak")
}

/// The soak on the release binaries under `target`, from the workspace root, with `args`
/// (`cargo xtask soak -- ARGS`) after them.
#[must_use]
pub fn soak_command(root: &Path, target: &Path, args: &[String]) -> Command {
    let mut command = Command::new(soak_binary(target));
    command
        .arg("--bin-dir")
        .arg(target.join("release"))
        .args(args)
        .current_dir(root);
    command
}

/// The `bench` binary's arguments.
#[must_use]
pub fn bench_args(root: &Path, target: &Path, moto: &str, options: &BenchOptions) -> Vec<String> {
    let path = |p: PathBuf| p.display().to_string();
    let mut args = vec![
        "--root".to_owned(),
        path(root.to_path_buf()),
        "--bin-dir".to_owned(),
        path(target.join("release")),
        "--lambda-dir".to_owned(),
        path(package::lambda_dir(root)),
        "--work-dir".to_owned(),
        path(target.join(WORK_DIR)),
        "--python".to_owned(),
        path(AWSLAMBDARIC.program_path(root)),
        "--cargo-lambda".to_owned(),
        path(CARGO_LAMBDA.program_path(root)),
        "--moto-endpoint".to_owned(),
        moto.to_owned(),
        "--criterion-dir".to_owned(),
        path(target.join(WORK_DIR).join("criterion")),
    ];
    if options.quick {
        args.push("--quick".to_owned());
    }
    args.extend(options.bench_args.iter().cloned());
    args
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(workspace::cargo());
    command.current_dir(root);
    command
}

fn step(n: usize, what: &str) {
    eprintln!("xtask: bench [{n}/6]: {what}");
}

fn secs(elapsed: Duration) -> String {
    format!("{:.0} s", elapsed.as_secs_f64())
}

fn run_checked(command: Command) -> Result<(), BenchError> {
    Cmd::from(command).run()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_binary_gets_every_input() {
        let root = Path::new("/repo");
        let target = Path::new("/repo/target");
        let full = bench_args(
            root,
            target,
            "http://127.0.0.1:5000",
            &BenchOptions::default(),
        );
        let value = |args: &[String], flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        assert_eq!(value(&full, "--root").as_deref(), Some("/repo"));
        assert_eq!(
            value(&full, "--bin-dir").as_deref(),
            Some("/repo/target/release")
        );
        assert_eq!(
            value(&full, "--moto-endpoint").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            value(&full, "--criterion-dir").as_deref(),
            Some("/repo/target/bench/criterion")
        );
        if cfg!(unix) {
            assert_eq!(
                value(&full, "--python").as_deref(),
                Some("/repo/.tools/awslambdaric/bin/python")
            );
        }
        assert!(!full.contains(&"--quick".to_owned()));
        let quick = bench_args(
            root,
            target,
            "http://x",
            &BenchOptions {
                quick: true,
                bench_args: vec!["--out".to_owned(), "/tmp/B.md".to_owned()],
            },
        );
        assert!(quick.ends_with(&[
            "--quick".to_owned(),
            "--out".to_owned(),
            "/tmp/B.md".to_owned()
        ]));
        assert_eq!(
            bench_binary(target),
            Path::new("/repo/target/bench-tool/bench")
        );
    }

    #[test]
    fn the_soak_runs_its_own_binary_on_the_release_functions() {
        let root = Path::new("/repo");
        let target = Path::new("/repo/target");
        let args = |command: &Command| -> Vec<String> {
            command
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let build = soak_tool_build(root);
        assert_eq!(
            args(&build),
            [
                "build",
                "--profile",
                "bench-tool",
                "--package",
                "bench",
                "--bin",
                "soak"
            ]
        );
        assert_eq!(build.get_current_dir(), Some(root));
        let functions = vec!["health".to_owned(), "me".to_owned()];
        assert_eq!(
            args(&release_build(root, &functions)),
            [
                "build",
                "--release",
                "--package",
                "health",
                "--package",
                "me"
            ]
        );
        let soak = soak_command(root, target, &["--duration".to_owned(), "5".to_owned()]);
        assert_eq!(soak.get_program(), "/repo/target/bench-tool/soak");
        assert_eq!(
            args(&soak),
            ["--bin-dir", "/repo/target/release", "--duration", "5"]
        );
        assert_eq!(soak.get_current_dir(), Some(root));
    }

    #[test]
    fn quick_criterion_runs_are_shorter() {
        let seconds = |args: Vec<&str>| -> u32 {
            args.chunks(2)
                .filter_map(|pair| pair.get(1).and_then(|v| v.parse::<u32>().ok()))
                .sum()
        };
        assert!(seconds(criterion_args(true)) < seconds(criterion_args(false)));
        assert!(criterion_args(true).contains(&"--measurement-time"));
    }
}
