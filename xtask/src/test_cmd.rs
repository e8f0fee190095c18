//! `cargo xtask test`: the whole gate on a fresh machine. Starts `cargo clippy` in the
//! background, installs its Python tools (moto, checkov, zizmor, cargo-lambda, schemathesis) into
//! `.tools/` meanwhile, starts moto on a free loopback port, runs the other lints (`cargo fmt
//! --check`, `terraform fmt -check`, checkov, zizmor) and collects clippy (every lint runs; any
//! failure stops the gate before packaging), packages the functions
//! (`cargo xtask package`, which the IaC apply test uploads), builds the function binaries (the
//! local stack's end-to-end tests run them), runs `cargo test --workspace --all-features`
//! against moto, stops it, runs the fuzz targets of `fuzz/` for 30 s each (`crate::fuzz`; not
//! when packages are picked), scans the logs for secrets (failing when the end-to-end tests ran
//! but left no function log), and prints a timed summary.

use std::fmt;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, CmdError, Ran, Running};
use crate::debtool::{self, DebError};
use crate::moto::{self, MotoError, MotoServer};
use crate::package::{self, Arch, PackageError, PackageOptions};
use crate::pytool::{self, PyTool, ToolError};
use crate::workspace;

/// Where moto's output goes, relative to the target directory.
pub const MOTO_LOG: &str = "xtask/moto.log";

/// Where the local stack's end-to-end tests append the functions' logs (relative to the target
/// directory), for the secrets scan.
pub const FUNCTION_LOG: &str = "xtask/function-logs.log";

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

/// The environment variable naming a Terraform provider mirror for offline machines
/// (`terraform init -plugin-dir=…`); unset, `terraform init` downloads the provider.
pub const TF_PLUGIN_DIR: &str = "TF_PLUGIN_DIR";

/// The package whose tests apply the IaC and so need the packaged functions.
pub const IAC_TESTS_PACKAGE: &str = "iac-tests";

/// The package whose end-to-end tests run the function binaries.
pub const LOCAL_AWS_PACKAGE: &str = "local-aws";

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
    /// Installing a Python tool failed.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// Starting moto failed.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// Packaging the functions failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Unpacking qemu-user and the arm64 sysroot failed.
    #[error("could not unpack qemu-user for the arm64 test: {0}")]
    Deb(#[from] DebError),
    /// `TF_PLUGIN_DIR` names something that is not a directory.
    #[error(
        "{TF_PLUGIN_DIR}={0} is not a directory; point it at a Terraform provider mirror (a directory holding registry.terraform.io/hashicorp/aws/<version>/<os_arch>/) or unset it to download the provider"
    )]
    PluginDir(String),
    /// A step's command could not be started or waited for.
    #[error(transparent)]
    Cmd(#[from] CmdError),
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

use crate::cmd::exit_code;

/// The `cargo test` arguments: `test --workspace --all-features` then the user's extras; when
/// the extras pick packages (`-p`/`--package` before any `--`), `--workspace` is left out so
/// that only those run.
pub fn cargo_test_args(extra: &[String]) -> Vec<String> {
    let base: &[&str] = if picked_packages(extra).is_some() {
        &["test", "--all-features"]
    } else {
        &["test", "--workspace", "--all-features"]
    };
    base.iter()
        .map(|s| (*s).to_owned())
        .chain(extra.iter().cloned())
        .collect()
}

/// The packages the extra `cargo test` arguments pick with `-p NAME`, `-pNAME`, `--package NAME`
/// or `--package=NAME` (before any `--`); `None` when they pick none (the whole workspace runs).
pub fn picked_packages(extra: &[String]) -> Option<Vec<String>> {
    let mut picked = Vec::new();
    let mut args = extra.iter().take_while(|a| *a != "--");
    while let Some(arg) = args.next() {
        if arg == "-p" || arg == "--package" {
            picked.extend(args.next().cloned());
        } else if let Some(name) = arg.strip_prefix("--package=") {
            picked.push(name.to_owned());
        } else if let Some(name) = arg.strip_prefix("-p").filter(|_| !arg.starts_with("--")) {
            picked.push(name.to_owned());
        }
    }
    (!picked.is_empty()).then_some(picked)
}

/// The test target holding the local stack's tests that run the real function binaries with
/// their logs appended to [`FUNCTION_LOG`] (`e2e`, `hardening` and `schemathesis`, through
/// `crates/local-aws/tests/common`'s `real_config`): local-aws's one integration-test binary.
pub const FUNCTION_LOG_TESTS: [&str; 1] = ["tests"];

/// Whether the tests about to run include one of [`FUNCTION_LOG_TESTS`], so that a missing or
/// empty function log means the scan would check nothing: `local-aws` is picked (or no package
/// is), and either no test target is selected (every target runs), or `--tests`,
/// `--all-targets` or `--test` one of them is. Test-name filters after the options are not
/// looked at: a filter that runs none of those tests' functions fails the scan.
pub fn expects_function_log(extra: &[String]) -> bool {
    if !picked_packages(extra).is_none_or(|picked| picked.iter().any(|p| p == LOCAL_AWS_PACKAGE)) {
        return false;
    }
    let mut selected_targets = false;
    let mut args = extra.iter().take_while(|a| *a != "--");
    while let Some(arg) = args.next() {
        let test = if arg == "--test" {
            args.next().map(String::as_str)
        } else {
            arg.strip_prefix("--test=")
        };
        if let Some(name) = test {
            if FUNCTION_LOG_TESTS.contains(&name) {
                return true;
            }
            selected_targets = true;
        } else if matches!(arg.as_str(), "--tests" | "--all-targets") {
            return true;
        } else if matches!(
            arg.as_str(),
            "--lib"
                | "--bins"
                | "--bin"
                | "--examples"
                | "--example"
                | "--benches"
                | "--bench"
                | "--doc"
        ) || ["--bin=", "--example=", "--bench="]
            .iter()
            .any(|prefix| arg.starts_with(prefix))
        {
            selected_targets = true;
        }
    }
    !selected_targets
}

/// Whether the tests about to run include the IaC apply test, which needs packaged functions.
pub fn needs_packages(extra: &[String]) -> bool {
    picked_packages(extra).is_none_or(|picked| picked.iter().any(|p| p == IAC_TESTS_PACKAGE))
}

/// The steps so far, printed as each finishes and again as a summary at the end.
#[derive(Debug, Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn record(&mut self, name: impl Into<String>, outcome: Outcome, started: Instant) {
        self.push(name, outcome, started.elapsed());
    }

    fn push(&mut self, name: impl Into<String>, outcome: Outcome, elapsed: Duration) {
        let step = Step {
            name: name.into(),
            outcome,
            elapsed,
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
    let plugin_dir = std::env::var(TF_PLUGIN_DIR).ok().filter(|d| !d.is_empty());
    if let Some(dir) = &plugin_dir {
        if !Path::new(dir).is_dir() {
            return Err(TestError::PluginDir(dir.clone()));
        }
        eprintln!("xtask: {TF_PLUGIN_DIR}={dir}: terraform init uses this provider mirror");
    } else {
        eprintln!(
            "xtask: {TF_PLUGIN_DIR} is not set: terraform init downloads the provider (offline, set it to a provider mirror)"
        );
    }
    let package = needs_packages(&options.cargo_test_args);
    let mut tools = vec![pytool::MOTO];
    if !options.no_lint {
        tools.push(pytool::CHECKOV);
        tools.push(pytool::ZIZMOR);
    }
    if package {
        tools.push(pytool::CARGO_LAMBDA);
    }
    // The local stack's tests run schemathesis and the browser test.
    let local_aws = picked_packages(&options.cargo_test_args)
        .is_none_or(|picked| picked.iter().any(|p| p == LOCAL_AWS_PACKAGE));
    if local_aws {
        tools.push(pytool::SCHEMATHESIS);
    }
    // clippy compiles on both cores for a minute or two, while the installs below mostly wait
    // on the package index and the disk: it starts first and is collected with the other lints.
    let mut lint_steps = if options.no_lint {
        Vec::new()
    } else {
        lints(root)
    };
    let mut early = None;
    if let Some(at) = lint_steps.iter().position(|(name, ..)| *name == CLIPPY) {
        let (name, command, hint) = lint_steps.remove(at);
        early = Some((Early::start(command, root, name, steps)?, hint));
    }
    for tool in tools {
        ensure_tool(root, tool, steps)?;
    }
    // A machine with its own Chromium and chromedriver (e.g. a GitHub-hosted runner, whose
    // distribution ships Chromium only as a snap) names them; nothing is unpacked then.
    let own_browser = browser_override();
    let browser = local_aws && own_browser.is_none();
    let sets = [
        ("arm64", debtool::ARM64_PACKAGES, package),
        ("chromium", debtool::CHROMIUM_PACKAGES, browser),
    ];
    for (set, packages, wanted) in sets {
        if !wanted {
            continue;
        }
        let started = Instant::now();
        let name = format!("{set} Debian packages in .tools/debs");
        let installed = debtool::ensure(root, set, packages)
            .inspect_err(|_| steps.record(&name, Outcome::Failed(None), started))?;
        let verb = if installed { "unpacked" } else { "already" };
        steps.record(format!("{verb} {name}"), Outcome::Ok, started);
    }

    let started = Instant::now();
    let log = workspace::target_dir(root).join(MOTO_LOG);
    let mut moto = moto::free_port()
        .and_then(|port| MotoServer::start(&pytool::MOTO.program_path(root), port, &log))
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

    if options.no_lint {
        for (name, ..) in lints(root) {
            steps.record(
                format!("{name} (--no-lint)"),
                Outcome::Skipped,
                Instant::now(),
            );
        }
    }
    let mut lint_results = Vec::new();
    for (name, mut command, hint) in lint_steps {
        command.current_dir(root);
        without_missing_cli_config(&mut command);
        lint_results.push((name, run_step(command, name, steps)?, hint));
    }
    if let Some((early, hint)) = early {
        lint_results.push((early.name, early.wait(steps)?, hint));
    }
    // Every lint runs; each failure is named with its hint, and the first one's code is ours.
    let failed: Vec<_> = lint_results
        .into_iter()
        .filter(|(_, status, _)| !status.success())
        .collect();
    for (name, _, hint) in &failed {
        eprintln!("xtask: {name} failed: {hint}");
    }
    if let Some((_, status, _)) = failed.first() {
        steps.record(
            "cargo test (an earlier step failed)",
            Outcome::Skipped,
            Instant::now(),
        );
        return Ok(exit_code(*status));
    }

    let name = "cargo xtask package (arm64, every function)";
    if package {
        let started = Instant::now();
        let options = PackageOptions {
            arch: Arch::Arm64,
            functions: Vec::new(),
            profile: None,
        };
        let packages = package::package(root, &options)
            .inspect_err(|_| steps.record(name, Outcome::Failed(None), started))?;
        eprint!("{}", package::render_table(&packages));
        steps.record(name, Outcome::Ok, started);
    } else {
        steps.record(
            format!("{name} (no {IAC_TESTS_PACKAGE} tests picked)"),
            Outcome::Skipped,
            Instant::now(),
        );
    }

    // The local stack's end-to-end tests run the function binaries themselves; `cargo test`
    // builds only the test harnesses of crates without integration tests.
    if picked_packages(&options.cargo_test_args)
        .is_none_or(|picked| picked.iter().any(|p| p == LOCAL_AWS_PACKAGE))
    {
        let mut build = Command::new(workspace::cargo());
        build
            .args(["build", "--workspace", "--bins", "--all-features"])
            .current_dir(root);
        let status = run_step(build, "cargo build --workspace --bins", steps)?;
        if !status.success() {
            return Ok(exit_code(status));
        }
    }

    let mut command = Command::new(workspace::cargo());
    command
        .args(cargo_test_args(&options.cargo_test_args))
        .current_dir(root)
        .env("MOTO_ENDPOINT", &endpoint)
        .env("QEMU_AARCH64", debtool::qemu_aarch64(root))
        .env("SCHEMATHESIS", pytool::SCHEMATHESIS.program_path(root))
        .env("QEMU_LD_PREFIX", debtool::arm64_sysroot(root))
        .envs(match &own_browser {
            Some((chromium, driver)) => [
                ("CHROMIUM", chromium.clone()),
                ("CHROMEDRIVER", driver.clone()),
                ("CHROMIUM_LIBRARY_PATH", String::new()),
            ],
            None => [
                ("CHROMIUM", debtool::chromium(root).display().to_string()),
                (
                    "CHROMEDRIVER",
                    debtool::chromedriver(root).display().to_string(),
                ),
                ("CHROMIUM_LIBRARY_PATH", debtool::library_path(root)),
            ],
        })
        .envs(TEST_ENV);
    for name in TEST_ENV_REMOVED {
        command.env_remove(name);
    }
    without_missing_cli_config(&mut command);
    let function_log = workspace::target_dir(root).join(FUNCTION_LOG);
    let _ = std::fs::remove_file(&function_log);
    command.env("LOCAL_AWS_TEST_LOG", &function_log);
    eprintln!("xtask: MOTO_ENDPOINT={endpoint} (log: {})", log.display());
    let status = run_step(command, "cargo test", steps)?;
    drop(moto);
    if !status.success() {
        return Ok(exit_code(status));
    }

    // The fuzz targets of fuzz/, 30 s each (crate::fuzz); whole-workspace runs only.
    let name = crate::fuzz::gate_step_name();
    if picked_packages(&options.cargo_test_args).is_none() {
        let started = Instant::now();
        match crate::fuzz::gate_run(root) {
            Ok(report) if report.passed() => steps.record(name, Outcome::Ok, started),
            Ok(_) => {
                steps.record(name, Outcome::Failed(Some(1)), started);
                return Ok(ExitCode::FAILURE);
            }
            Err(error) => {
                eprintln!("xtask: {error}");
                steps.record(name, Outcome::Failed(None), started);
                return Ok(ExitCode::FAILURE);
            }
        }
    } else {
        steps.record(
            format!("{name} (packages picked)"),
            Outcome::Skipped,
            Instant::now(),
        );
    }

    // Nothing secret in what the run logged: the functions' logs (written at trace level by the
    // end-to-end tests) and moto's request log.
    let started = Instant::now();
    if expects_function_log(&options.cargo_test_args)
        && let Some(problem) = crate::secrets::function_log_problem(&function_log)
    {
        eprintln!("xtask: {problem}");
        steps.record(
            "secrets scan: no function log to scan",
            Outcome::Failed(Some(1)),
            started,
        );
        return Ok(ExitCode::FAILURE);
    }
    let findings = crate::secrets::scan_files(&[&function_log, &log]);
    for finding in &findings {
        eprintln!(
            "xtask: {}:{}: {} in a log",
            finding.file, finding.line, finding.kind
        );
    }
    let scanned = [&function_log, &log].iter().filter(|p| p.is_file()).count();
    if findings.is_empty() {
        steps.record(
            format!("secrets scan of the test logs ({scanned} files)"),
            Outcome::Ok,
            started,
        );
        Ok(ExitCode::SUCCESS)
    } else {
        steps.record(
            format!("secrets scan: {} findings", findings.len()),
            Outcome::Failed(Some(1)),
            started,
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `CHROMIUM` and `CHROMEDRIVER` from the environment, when both name existing files.
fn browser_override() -> Option<(String, String)> {
    let get = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|path| Path::new(path).is_file())
    };
    Some((get("CHROMIUM")?, get("CHROMEDRIVER")?))
}

/// Installs one Python tool unless it is there, recording the step.
fn ensure_tool(root: &Path, tool: PyTool, steps: &mut Steps) -> Result<(), TestError> {
    let started = Instant::now();
    let dir = format!(".tools/{}", tool.name);
    let installed = tool.ensure(root).inspect_err(|_| {
        steps.record(
            format!("install {} into {dir}", tool.requirement),
            Outcome::Failed(None),
            started,
        );
    })?;
    let name = if installed {
        format!("install {} into {dir}", tool.requirement)
    } else {
        format!("{} already in {dir}", tool.requirement)
    };
    steps.record(name, Outcome::Ok, started);
    Ok(())
}

/// Records a finished command as step `name` (ok, or failed with its exit code) and returns its
/// status.
fn record_ran(steps: &mut Steps, name: &str, ran: Ran) -> ExitStatus {
    let outcome = if ran.status.success() {
        Outcome::Ok
    } else {
        Outcome::Failed(ran.status.code())
    };
    steps.push(name, outcome, ran.elapsed);
    ran.status
}

/// The clippy step's name.
const CLIPPY: &str = "cargo clippy";

/// A step started in the background while others run: killed if dropped before it is waited
/// for (an earlier step failed; [`Running`]'s drop), so that no build outlives the gate.
struct Early {
    name: &'static str,
    running: Running,
}

impl Early {
    fn start(
        mut command: Command,
        root: &Path,
        name: &'static str,
        steps: &mut Steps,
    ) -> Result<Self, TestError> {
        command.current_dir(root);
        let command = Cmd::from(command);
        eprintln!("xtask: starting {command} (collected after the installs)");
        let started = Instant::now();
        let running = command.spawn().inspect_err(|_| {
            steps.record(name, Outcome::Failed(None), started);
        })?;
        Ok(Self { name, running })
    }

    /// Waits for it to exit and records it as a step.
    fn wait(mut self, steps: &mut Steps) -> Result<ExitStatus, TestError> {
        let ran = self.running.wait().inspect_err(|_| {
            steps.record(self.name, Outcome::Failed(None), Instant::now());
        })?;
        Ok(record_ran(steps, self.name, ran))
    }
}

/// The lint steps: name, command (run from the workspace root), and a hint for when it fails.
fn lints(root: &Path) -> Vec<(&'static str, Command, &'static str)> {
    let cargo = |args: &[&str]| {
        let mut command = Command::new(workspace::cargo());
        command.args(args);
        command
    };
    let mut terraform_fmt = Command::new(terraform());
    terraform_fmt.args(["fmt", "-check", "-recursive", "-diff", "IaC"]);
    let mut checkov = Command::new(pytool::CHECKOV.program_path(root));
    checkov.args([
        "--directory",
        "IaC",
        "--framework",
        "terraform",
        "--compact",
        "--quiet",
        "--skip-download",
    ]);
    let mut zizmor = Command::new(pytool::ZIZMOR.program_path(root));
    zizmor.args([
        "--offline",
        "--min-severity",
        "medium",
        "--no-progress",
        ".github/workflows",
    ]);
    vec![
        (
            "cargo fmt --check",
            cargo(&["fmt", "--all", "--check"]),
            "run `cargo fmt --all`",
        ),
        (
            CLIPPY,
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
            "fix the warnings above",
        ),
        (
            "terraform fmt -check",
            terraform_fmt,
            "run `terraform fmt -recursive IaC` (Terraform >= 1.11 must be on PATH, or set TERRAFORM)",
        ),
        (
            "checkov (IaC)",
            checkov,
            "fix the failed checks above, or skip one inline with `#checkov:skip=<ID>:<reason>`",
        ),
        (
            "zizmor (workflows)",
            zizmor,
            "fix the findings above (medium severity or higher fail)",
        ),
    ]
}

/// The Terraform to run: `$TERRAFORM`, else `terraform` from `PATH`.
pub fn terraform() -> std::ffi::OsString {
    std::env::var_os("TERRAFORM").unwrap_or_else(|| "terraform".into())
}

/// Drops `TF_CLI_CONFIG_FILE` from a command's environment when it names a file that does not
/// exist, which would only make Terraform warn on every run.
fn without_missing_cli_config(command: &mut Command) {
    if std::env::var_os("TF_CLI_CONFIG_FILE").is_some_and(|f| !Path::new(&f).exists()) {
        command.env_remove("TF_CLI_CONFIG_FILE");
    }
}

/// Runs one command with inherited output, records it as a step, returns its status.
fn run_step(command: Command, name: &str, steps: &mut Steps) -> Result<ExitStatus, TestError> {
    let command = Cmd::from(command);
    eprintln!("xtask: running {command}");
    let started = Instant::now();
    let ran = command.timed().inspect_err(|_| {
        steps.record(name, Outcome::Failed(None), started);
    })?;
    Ok(record_ran(steps, name, ran))
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

    #[test]
    fn picked_packages_and_packaging() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        for (extra, picked, packages) in [
            (&[][..], None, true),
            (&["--", "-p", "notes"], None, true),
            (&["-p", "notes"], Some(vec!["notes"]), false),
            (
                &["-pnotes", "--package=me"],
                Some(vec!["notes", "me"]),
                false,
            ),
            (&["--package", "iac-tests"], Some(vec!["iac-tests"]), true),
            (
                &["-p", "notes", "-p", "iac-tests"],
                Some(vec!["notes", "iac-tests"]),
                true,
            ),
        ] {
            let extra = args(extra);
            let want = picked.map(|p| args(&p));
            assert_eq!(picked_packages(&extra), want, "for {extra:?}");
            assert_eq!(needs_packages(&extra), packages, "for {extra:?}");
        }
    }

    #[test]
    fn function_log_expected_when_the_end_to_end_tests_run() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        for (extra, expected) in [
            (&[][..], true),
            (&["-p", "local-aws"], true),
            (&["-p", "local-aws", "--test", "tests"], true),
            (&["-p", "local-aws", "--test=tests"], true),
            (
                &["-p", "local-aws", "--test", "other", "--test", "tests"],
                true,
            ),
            (&["-p", "local-aws", "--tests"], true),
            (&["-p", "local-aws", "--all-targets"], true),
            (
                &["-p", "notes", "-p", "local-aws", "--", "--nocapture"],
                true,
            ),
            (&["-p", "local-aws", "--test", "other"], false),
            (&["-p", "local-aws", "--lib"], false),
            (&["-p", "local-aws", "--bin=local-aws"], false),
            (&["-p", "notes"], false),
            (&["-p", "cognito-claims", "--test", "tests"], false),
            (&["--", "--test", "openapi"], true),
        ] {
            assert_eq!(
                expects_function_log(&args(extra)),
                expected,
                "for {extra:?}"
            );
        }
    }
}
