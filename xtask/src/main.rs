//! `cargo xtask`: the command line. Parses arguments with clap and hands off to the library.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use xtask::routes::{self, TFVARS_PATH};
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
    /// Reads every workspace crate's `[package.metadata.api]` (via `cargo metadata`), validates
    /// it, and prints an aligned table sorted by path, then method.
    Routes(RoutesArgs),
    /// Run every check and test against a local AWS (moto server); the whole CI gate.
    ///
    /// Installs moto into .tools/venv (first run only), starts it on a free loopback port, runs
    /// `cargo fmt --check`, `cargo clippy -D warnings` and `cargo test --workspace
    /// --all-features` with MOTO_ENDPOINT set, then stops it. Exits with cargo test's status.
    ///
    /// Arguments after `--` go to cargo test, e.g. `cargo xtask test -- -p notes` (only that
    /// package: `--workspace` is then left out) or `cargo xtask test -- -- --nocapture`.
    Test(TestArgs),
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
struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    no_lint: bool,
    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    cargo_test_args: Vec<String>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Routes(#[from] routes::RoutesError),
    #[error(transparent)]
    Test(#[from] TestError),
    #[error("{TFVARS_PATH} is {0}: run `cargo xtask routes --write` and commit it")]
    Tfvars(&'static str),
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
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

fn routes_cmd(root: &std::path::Path, args: &RoutesArgs) -> Result<(), Error> {
    let routes = workspace::load_routes(root)?;
    if args.write || args.check {
        let tfvars = routes::render_tfvars(&routes)?;
        if args.write {
            let wrote = workspace::write_tfvars(root, &tfvars)?;
            let verb = if wrote { "wrote" } else { "unchanged:" };
            eprintln!("{verb} {TFVARS_PATH} ({} routes)", routes.len());
        } else {
            match workspace::tfvars_status(root, &tfvars)? {
                TfvarsStatus::UpToDate => {
                    eprintln!("{TFVARS_PATH} is up to date ({} routes)", routes.len());
                }
                TfvarsStatus::Missing => return Err(Error::Tfvars("missing")),
                TfvarsStatus::Stale => return Err(Error::Tfvars("stale")),
            }
        }
    } else if args.json {
        print!("{}", routes::render_json(&routes)?);
    } else {
        print!("{}", routes::render_table(&routes));
    }
    Ok(())
}
