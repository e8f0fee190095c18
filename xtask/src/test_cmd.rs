//! `cargo xtask test`: the whole gate on a fresh machine. Installs moto into `.tools/venv`,
//! starts it on a free loopback port, runs `cargo fmt --check`, `cargo clippy` and
//! `cargo test --workspace --all-features` against it, stops it, and prints a timed summary.

use std::fmt;
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use crate::moto::{self, MotoError, MotoServer, Venv};
use crate::workspace;

/// Where moto's output goes, relative to the target directory.
pub const MOTO_LOG: &str = "xtask/moto.log";

/// The environment `cargo test` runs with, besides `MOTO_ENDPOINT`: static fake credentials and
/// a fixed region, so no test can reach a real AWS account by accident.
pub const TEST_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// Variables removed from `cargo test`'s environment because they would override the fake
/// credentials above with a real profile or session.
pub const TEST_ENV_REMOVED: [&str; 3] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"];

/// Options of `cargo xtask test`.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    pub no_lint: bool,
    /// Extra arguments appended to `cargo test --workspace --all-features`.
    pub cargo_test_args: Vec<String>,
}

/// Why `cargo xtask test` stopped before `cargo test` could report.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// Installing or starting moto failed.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// cargo could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        source: io::Error,
    },
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed (exit code, if the process had one).
    Failed(Option<i32>),
    /// It was not run because an earlier step failed or a flag skipped it.
    Skipped,
}

/// One step's summary line: what ran, how it ended, how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What ran, e.g. `cargo fmt --check`.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        match self.outcome {
            Outcome::Ok => write!(f, "ok      {:<44} {secs:>7.1}s", self.name),
            Outcome::Failed(Some(code)) => {
                write!(
                    f,
                    "FAILED  {:<44} {secs:>7.1}s  (exit code {code})",
                    self.name
                )
            }
            Outcome::Failed(None) => {
                write!(
                    f,
                    "FAILED  {:<44} {secs:>7.1}s  (killed by a signal)",
                    self.name
                )
            }
            Outcome::Skipped => write!(f, "skipped {}", self.name),
        }
    }
}

/// Runs the whole gate from the workspace `root`; the exit code is cargo test's (or the first
/// failing lint's). Setup failures are errors. moto is stopped on every path out.
pub fn run(root: &Path, options: &TestOptions) -> Result<ExitCode, TestError> {
    let mut steps = Steps::default();
    let result = run_steps(root, options, &mut steps);
    steps.summary();
    result
}

/// The process exit code for a finished step's status: its own code where it has one in
/// 1..=255, else 1 for any failure.
pub fn exit_code(status: ExitStatus) -> ExitCode {
    if status.success() {
        return ExitCode::SUCCESS;
    }
    status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .filter(|&code| code != 0)
        .map_or(ExitCode::FAILURE, ExitCode::from)
}

/// The `cargo test` arguments: `test --workspace --all-features` then the user's extras; when
/// the extras pick packages (`-p`/`--package` before any `--`), `--workspace` is left out so
/// that only those run.
pub fn cargo_test_args(extra: &[String]) -> Vec<String> {
    let picks_packages = extra.iter().take_while(|a| *a != "--").any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && !a.starts_with("--"))
    });
    let base: &[&str] = if picks_packages {
        &["test", "--all-features"]
    } else {
        &["test", "--workspace", "--all-features"]
    };
    base.iter()
        .map(|s| (*s).to_owned())
        .chain(extra.iter().cloned())
        .collect()
}

/// The steps so far, printed as each finishes and again as a summary at the end.
#[derive(Debug, Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn record(&mut self, name: impl Into<String>, outcome: Outcome, started: Instant) {
        let step = Step {
            name: name.into(),
            outcome,
            elapsed: started.elapsed(),
        };
        eprintln!("xtask: {step}");
        self.0.push(step);
    }

    fn summary(&self) {
        eprintln!("\nxtask test summary:");
        for step in &self.0 {
            eprintln!("  {step}");
        }
    }
}

fn run_steps(root: &Path, options: &TestOptions, steps: &mut Steps) -> Result<ExitCode, TestError> {
    let venv = Venv::new(root);
    let started = Instant::now();
    let installed = venv.ensure_moto().inspect_err(|_| {
        steps.record(
            "install moto into .tools/venv",
            Outcome::Failed(None),
            started,
        );
    })?;
    let name = if installed {
        format!("install {} into .tools/venv", moto::MOTO_REQUIREMENT)
    } else {
        format!("{} already in .tools/venv", moto::MOTO_REQUIREMENT)
    };
    steps.record(name, Outcome::Ok, started);

    let started = Instant::now();
    let log = workspace::target_dir(root).join(MOTO_LOG);
    let mut moto = moto::free_port()
        .and_then(|port| MotoServer::start(&venv.bin("moto_server"), port, &log))
        .inspect_err(|_| steps.record("start moto_server", Outcome::Failed(None), started))?;
    // `moto` is a guard: from here on, every return (and panic) stops the server.
    moto.wait_ready(moto::READY_TIMEOUT)
        .inspect_err(|_| steps.record("start moto_server", Outcome::Failed(None), started))?;
    let endpoint = moto.endpoint();
    steps.record(
        format!("start moto_server at {endpoint}"),
        Outcome::Ok,
        started,
    );

    let cargo = workspace::cargo();
    let lints: [(&str, &[&str], &str); 2] = [
        (
            "cargo fmt --check",
            &["fmt", "--all", "--check"],
            "run `cargo fmt --all`",
        ),
        (
            "cargo clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            "fix the warnings above",
        ),
    ];
    for (name, args, hint) in lints {
        if options.no_lint {
            steps.record(
                format!("{name} (--no-lint)"),
                Outcome::Skipped,
                Instant::now(),
            );
            continue;
        }
        let mut command = Command::new(&cargo);
        command.args(args).current_dir(root);
        let status = run_step(command, name, steps)?;
        if !status.success() {
            eprintln!("xtask: {name} failed: {hint}");
            steps.record(
                "cargo test (an earlier step failed)",
                Outcome::Skipped,
                Instant::now(),
            );
            return Ok(exit_code(status));
        }
    }

    let mut command = Command::new(&cargo);
    command
        .args(cargo_test_args(&options.cargo_test_args))
        .current_dir(root)
        .env("MOTO_ENDPOINT", &endpoint)
        .envs(TEST_ENV);
    for name in TEST_ENV_REMOVED {
        command.env_remove(name);
    }
    eprintln!("xtask: MOTO_ENDPOINT={endpoint} (log: {})", log.display());
    let status = run_step(command, "cargo test", steps)?;
    drop(moto);
    Ok(exit_code(status))
}

/// Runs one command with inherited output, records it as a step, returns its status.
fn run_step(mut command: Command, name: &str, steps: &mut Steps) -> Result<ExitStatus, TestError> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("xtask: running {line}");
    let started = Instant::now();
    let status = command.status().map_err(|source| {
        steps.record(name, Outcome::Failed(None), started);
        TestError::Spawn {
            command: line,
            source,
        }
    })?;
    let outcome = if status.success() {
        Outcome::Ok
    } else {
        Outcome::Failed(status.code())
    };
    steps.record(name, outcome, started);
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines() {
        let step = |name: &str, outcome, millis| Step {
            name: name.to_owned(),
            outcome,
            elapsed: Duration::from_millis(millis),
        };
        for (step, want) in [
            (
                step("cargo fmt --check", Outcome::Ok, 1_234),
                "ok      cargo fmt --check                                1.2s",
            ),
            (
                step("cargo test", Outcome::Failed(Some(101)), 98_760),
                "FAILED  cargo test                                      98.8s  (exit code 101)",
            ),
            (
                step("cargo test", Outcome::Failed(None), 50),
                "FAILED  cargo test                                       0.1s  (killed by a signal)",
            ),
            (
                step("cargo clippy (--no-lint)", Outcome::Skipped, 0),
                "skipped cargo clippy (--no-lint)",
            ),
        ] {
            assert_eq!(step.to_string(), want);
        }
    }

    #[test]
    fn test_args() {
        for (extra, want) in [
            (&[][..], "test --workspace --all-features"),
            (
                &["--", "--nocapture"],
                "test --workspace --all-features -- --nocapture",
            ),
            (
                &["--exclude", "xtask"],
                "test --workspace --all-features --exclude xtask",
            ),
        ] {
            let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(cargo_test_args(&extra).join(" "), want);
        }
    }

    #[cfg(unix)]
    #[test]
    fn exit_codes() {
        for (script, want) in [
            ("exit 0", ExitCode::SUCCESS),
            ("exit 101", ExitCode::from(101)),
            ("exit 1", ExitCode::FAILURE),
            ("kill -9 $$", ExitCode::FAILURE),
        ] {
            let status = Command::new("sh").args(["-c", script]).status();
            let Ok(status) = status else {
                panic!("sh failed to start: {status:?}");
            };
            assert_eq!(exit_code(status), want, "for {script}");
        }
    }
}
