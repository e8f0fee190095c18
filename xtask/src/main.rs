//! `cargo xtask`: the command line. Parses arguments with clap and hands off to the library.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use function_table::TFVARS_PATH;
use xtask::bench::{self, BenchOptions};
use xtask::cmd;
use xtask::deploy::{self, DeployArgs};
use xtask::dev::{self, DevOptions};
use xtask::fuzz::{self, FuzzError, FuzzOptions};
use xtask::package::{self, Arch, PackageError, PackageOptions};
use xtask::test_cmd::{self, TestError, TestOptions};
use xtask::workspace::{self, TfvarsStatus, WorkspaceError};

/// Project automation for the notes-api workspace.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print, write or check the route table of the function crates.
    ///
    /// Reads every workspace crate's `[package.metadata.function]` (via `cargo metadata`), validates
    /// it, and prints an aligned table sorted by path, then method.
    Routes(RoutesArgs),
    /// Run every check and test against a local AWS (moto server); the whole CI gate.
    ///
    /// Installs its tools into .tools/ (moto, checkov, cargo-lambda, qemu-user; first run only),
    /// starts moto on a free loopback port, runs `cargo fmt --check`, `cargo clippy -D warnings`,
    /// `terraform fmt -check`, checkov, `cargo xtask package` and `cargo test --workspace
    /// --all-features` with MOTO_ENDPOINT set, then stops it. Exits with the first failure's status.
    ///
    /// Arguments after `--` go to cargo test, e.g. `cargo xtask test -- -p notes` (only that
    /// package: `--workspace` is then left out) or `cargo xtask test -- -- --nocapture`.
    Test(TestArgs),
    /// Build the functions for Lambda and zip each one (deterministic bootstrap.zip files).
    ///
    /// Installs cargo-lambda into .tools/cargo-lambda (first run only), runs one
    /// `cargo lambda build --release` for the chosen functions (cross-compiled, Zig as the
    /// linker), zips each binary as the single entry `bootstrap` into
    /// target/lambda/<function>/bootstrap.zip (where Terraform reads it), writes
    /// target/lambda/packages.json (what deploy reads) and prints a table of sizes and SHA-256s.
    Package(PackageArgs),
    /// Run the whole system locally: the real function binaries behind a local API Gateway and
    /// a local Cognito-compatible sign-in, on 127.0.0.1 (API :3001, sign-in :3002).
    ///
    /// Builds every function, then serves until Ctrl-C. Arguments after `--` go to the server
    /// (`cargo xtask dev -- --help` lists them: ports, `--store dynamodb --endpoint-url URL`, which creates the table first, another
    /// issuer). `cargo xtask dev user add --email E --password P` creates a confirmed user and
    /// `cargo xtask dev group add --email E --group admin` adds one to a group.
    Dev(DevArgs),
    /// A bounded load run against the local stack with the real binaries (default: 64 clients
    /// for 60 s; `cargo xtask soak -- --help` for options); fails when anything is lost.
    Soak(Forwarded),
    /// Measure sizes, cold starts, warm latency and throughput, memory, JWT verification and
    /// deploys on this machine; write BENCHMARKS.md and docs/bench/bench.svg.
    ///
    /// Builds first (release function binaries, arm64 zips, awslambdaric and moto into
    /// .tools/, the criterion benchmark, crates/bench), starts moto server, then runs
    /// crates/bench. A full run measures for about 4 minutes (10 or more the first time, while
    /// `cargo lambda watch` compiles the functions); `--quick` finishes in under 2 minutes
    /// after those builds. Aims that are missed are reported, not failures.
    Bench(BenchArgs),
    /// Fuzz the untrusted parsers: the cargo-fuzz targets of fuzz/, each for a bounded time.
    ///
    /// Installs cargo-fuzz into .tools/cargo-fuzz (pinned; first run only), builds every target
    /// once with `cargo fuzz build -O -a -s none` (release with debug assertions, no sanitizer:
    /// the pinned stable toolchain is enough) into target/fuzz, then runs each target's libFuzzer
    /// for --time seconds over its corpus target/fuzz/corpus/<target> (kept between runs) and
    /// the committed seeds fuzz/seeds/<target>, --jobs targets at a time, with at most 2048 MB of
    /// memory, 10 s per input and a per-target input size limit. Prints executions, coverage and
    /// corpus size per target. A crash (panic, failed assertion, timeout, out-of-memory) fails
    /// the command and names the input saved in target/fuzz/artifacts/<target>/ and the command
    /// that reproduces it. Targets: claims_from_event, jwt_parse, note_id_cursor, note_json.
    /// `cargo xtask test` runs every target for 30 s, built with --dev.
    Fuzz(FuzzArgs),
    /// Package, upload and roll out the functions.
    ///
    /// Packages the functions itself (as `cargo xtask package --arch A -f F`; skipped with
    /// --no-build or --manifest), then runs the `xtask-aws` binary of crates/deploy, which holds
    /// the AWS SDK (so that xtask itself stays quick to build), with
    /// `--manifest <target>/lambda/packages.json` and the other flags.
    Deploy(DeployArgs),
    /// Move each function's alias `live` back (`cargo xtask rollback --help`).
    #[command(disable_help_flag = true)]
    Rollback(Forwarded),
    /// Exchange a hosted-UI code or refresh token for tokens (`cargo xtask token --help`).
    #[command(disable_help_flag = true)]
    Token(Forwarded),
    /// Sign in through the hosted UI from the terminal (`cargo xtask login --help`).
    #[command(disable_help_flag = true)]
    Login(Forwarded),
    /// Decode a JWT's header and payload (`cargo xtask jwt decode TOKEN`).
    #[command(disable_help_flag = true)]
    Jwt(Forwarded),
}

#[derive(Debug, Args)]
struct DevArgs {
    /// Rebuild the functions when a source file under crates/ changes (the server then starts
    /// the new binary on the next request).
    #[arg(long)]
    watch: bool,
    /// Build the functions with the release profile (slower to build, what ships).
    #[arg(long)]
    release: bool,
    /// `user add …`, `group add …`, or (after `--`) options for the server.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

/// Arguments handed unchanged to `xtask-aws`.
#[derive(Debug, Args)]
struct Forwarded {
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct RoutesArgs {
    /// Print the routes as a JSON array instead of a table.
    #[arg(long)]
    json: bool,
    /// Write IaC/routes.auto.tfvars.json (Terraform's `routes` variable).
    #[arg(long)]
    write: bool,
    /// Fail if IaC/routes.auto.tfvars.json is missing or stale (for CI).
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Fewer cold starts (20 for `me` and the Python handler, 5 for the others), 3 s warm
    /// runs, no `cargo lambda watch`, no all-changed deploy: under 2 minutes after the builds.
    /// The report says it was a quick run.
    #[arg(long)]
    quick: bool,
    /// Options for crates/bench after `--` (`cargo xtask bench -- --help`), e.g.
    /// `--out FILE`.
    #[arg(last = true, value_name = "BENCH_ARGS")]
    bench_args: Vec<String>,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    no_lint: bool,
    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    cargo_test_args: Vec<String>,
}

#[derive(Debug, Args)]
struct FuzzArgs {
    /// Seconds each target runs (libFuzzer's -max_total_time).
    #[arg(long, value_name = "SECS", default_value_t = fuzz::DEFAULT_SECONDS)]
    time: u64,
    /// How many targets run at once, each a process on one core.
    #[arg(long, value_name = "N", default_value_t = fuzz::DEFAULT_JOBS, value_parser = jobs)]
    jobs: usize,
    /// The targets to run (default: all of them).
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    /// Build unoptimised (`cargo fuzz build --dev`), as the gate does: about a third of the
    /// build time from scratch, far fewer executions per second.
    #[arg(long)]
    dev: bool,
}

#[derive(Debug, Args)]
struct PackageArgs {
    /// The Lambda architecture to build for.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    arch: Arch,
    /// Package only this function (repeatable); default: every function.
    #[arg(short = 'f', long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// Build with this cargo profile instead of `release` (what ships), e.g. one of your own
    /// with other optimisation settings.
    #[arg(long, value_name = "NAME", conflicts_with = "index")]
    profile: Option<String>,
    /// Build nothing: write target/lambda/packages.json for the bootstrap.zip files already
    /// there (CI's matrix artifacts, downloaded by the deploy job).
    #[arg(long)]
    index: bool,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Routes(#[from] function_table::TableError),
    #[error(transparent)]
    Test(#[from] TestError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Dev(#[from] dev::DevError),
    #[error(transparent)]
    Fuzz(#[from] FuzzError),
    #[error(transparent)]
    Bench(#[from] bench::BenchError),
    #[error("{TFVARS_PATH} is {0}: run `cargo xtask routes --write` and commit it")]
    Tfvars(&'static str),
    #[error(transparent)]
    Cmd(#[from] cmd::CmdError),
    #[error(transparent)]
    Other(anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace::root();
    let result = match cli.command {
        Cmd::Routes(args) => routes_cmd(&root, &args).map(|()| ExitCode::SUCCESS),
        Cmd::Test(args) => test_cmd::run(
            &root,
            &TestOptions {
                no_lint: args.no_lint,
                cargo_test_args: args.cargo_test_args,
            },
        )
        .map_err(Error::from),
        Cmd::Package(args) => package_cmd(&root, args).map(|()| ExitCode::SUCCESS),
        Cmd::Deploy(args) => deploy::run(&root, &args).map_err(Error::Other),
        Cmd::Rollback(args) => forward(&root, "rollback", args),
        Cmd::Dev(args) => dev_cmd(&root, args),
        Cmd::Soak(args) => soak_cmd(&root, &args),
        Cmd::Fuzz(args) => fuzz_cmd(&root, args),
        Cmd::Bench(args) => bench::run(
            &root,
            &BenchOptions {
                quick: args.quick,
                bench_args: args.bench_args,
            },
        )
        .map_err(Error::from),
        Cmd::Token(args) if args.args.iter().any(|a| a == "--local") => {
            let rest: Vec<&String> = args.args.iter().filter(|a| *a != "--local").collect();
            let mut token = dev::local_aws(&root);
            token.arg("token").args(rest);
            run_status(token)
        }
        Cmd::Token(args) => forward(&root, "token", args),
        Cmd::Login(args) => forward(&root, "login", args),
        Cmd::Jwt(args) => forward(&root, "jwt", args),
    };
    result.unwrap_or_else(|e| {
        // The whole chain: each cause after a colon.
        eprintln!("error: {:#}", anyhow::Error::from(e));
        ExitCode::FAILURE
    })
}

fn routes_cmd(root: &std::path::Path, args: &RoutesArgs) -> Result<(), Error> {
    let routes = workspace::load_routes(root)?;
    if args.write || args.check {
        let tfvars = routes.render_tfvars()?;
        if args.write {
            let wrote = workspace::write_tfvars(root, &tfvars)?;
            let verb = if wrote { "wrote" } else { "unchanged:" };
            eprintln!("{verb} {TFVARS_PATH} ({} routes)", routes.functions().len());
        } else {
            match workspace::tfvars_status(root, &tfvars)? {
                TfvarsStatus::UpToDate => {
                    eprintln!(
                        "{TFVARS_PATH} is up to date ({} routes)",
                        routes.functions().len()
                    );
                }
                TfvarsStatus::Missing => return Err(Error::Tfvars("missing")),
                TfvarsStatus::Stale => return Err(Error::Tfvars("stale")),
            }
        }
    } else if args.json {
        print!("{}", routes.render_json()?);
    } else {
        print!("{}", routes.render_table());
    }
    Ok(())
}

fn package_cmd(root: &std::path::Path, args: PackageArgs) -> Result<(), Error> {
    let options = PackageOptions {
        arch: args.arch,
        functions: args.functions,
        profile: args.profile,
    };
    let packages = if args.index {
        package::index(root, &options)?
    } else {
        package::package(root, &options)?
    };
    print!("{}", package::render_table(&packages));
    Ok(())
}

/// Runs `cargo run -p deploy --bin xtask-aws -- <command> <args>` from the workspace root and
/// exits with its status.
fn forward(root: &std::path::Path, command: &str, args: Forwarded) -> Result<ExitCode, Error> {
    let args: Vec<std::ffi::OsString> = std::iter::once(command.into())
        .chain(args.args.into_iter().map(Into::into))
        .collect();
    Ok(cmd::exit_code(deploy::xtask_aws(root, &args).status()?))
}

/// `cargo xtask dev`: `user …`/`group …` go straight to local-aws; anything else serves.
fn dev_cmd(root: &std::path::Path, args: DevArgs) -> Result<ExitCode, Error> {
    if matches!(
        args.args.first().map(String::as_str),
        Some("user" | "group")
    ) {
        let mut local_aws = dev::local_aws(root);
        local_aws.args(&args.args);
        return run_status(local_aws);
    }
    let serve_args = match args.args.first().map(String::as_str) {
        Some("--") => args.args[1..].to_vec(),
        _ => args.args,
    };
    Ok(dev::run(
        root,
        &DevOptions {
            watch: args.watch,
            release: args.release,
            serve_args,
        },
    )?)
}

/// Runs `command` with inherited output; its exit code becomes ours.
fn run_status(command: std::process::Command) -> Result<ExitCode, Error> {
    Ok(cmd::exit_code(cmd::Cmd::from(command).status()?))
}

/// `cargo xtask fuzz`: every chosen target for `--time` seconds; fails on any crash.
fn fuzz_cmd(root: &std::path::Path, args: FuzzArgs) -> Result<ExitCode, Error> {
    let report = fuzz::run(
        root,
        &FuzzOptions {
            seconds: args.time,
            jobs: args.jobs,
            targets: args.targets,
            optimized: !args.dev,
        },
    )?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--jobs`: a whole number from 1 to 64.
fn jobs(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("{value:?} is not a number of jobs from 1 to 64")),
    }
}

/// `cargo xtask soak`: builds the functions in release and the `soak` binary of crates/bench
/// (profile `bench-tool`, as `cargo xtask bench` builds its tool), then runs it on them.
fn soak_cmd(root: &std::path::Path, args: &Forwarded) -> Result<ExitCode, Error> {
    let functions: Vec<String> = workspace::load_routes(root)?
        .names()
        .map(str::to_owned)
        .collect();
    let built = run_status(bench::release_build(root, &functions))?;
    if built != ExitCode::SUCCESS {
        return Ok(built);
    }
    let tool = run_status(bench::soak_tool_build(root))?;
    if tool != ExitCode::SUCCESS {
        return Ok(tool);
    }
    let target = workspace::target_dir(root);
    run_status(bench::soak_command(root, &target, &args.args))
}
