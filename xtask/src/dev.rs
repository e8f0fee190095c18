//! `cargo xtask dev`: the whole system on this machine. Regenerates the route file when it is
//! stale, builds every function binary (host architecture) in one cargo invocation, then runs
//! `local-aws serve` (crates/local-aws) on loopback: the real binaries behind the local API
//! Gateway and the local Cognito-compatible sign-in. With `--watch` it rebuilds when a source
//! file changes; the server restarts a function's instances when its binary changes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

use crate::cmd::exit_code;
use crate::cmd::{Cmd, CmdError, Running};
use crate::workspace::{self, TfvarsStatus, WorkspaceError};

/// Options of `cargo xtask dev`.
#[derive(Clone, Debug, Default)]
pub struct DevOptions {
    /// Rebuild on source changes.
    pub watch: bool,
    /// Build the functions with the release profile.
    pub release: bool,
    /// Arguments for `local-aws serve` (ports, store, issuer, …).
    pub serve_args: Vec<String>,
}

/// Why `cargo xtask dev` could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// Reading the routes failed.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// Rendering the routes failed.
    #[error(transparent)]
    Routes(#[from] function_table::TableError),
    /// The notes table could not be created on the emulator.
    #[error("the notes table for --store dynamodb could not be created: {source}")]
    Table {
        /// What went wrong, with the command line.
        source: CmdError,
    },
    /// The local stack could not start, or could not be waited for.
    #[error(transparent)]
    Serve(CmdError),
    /// The build could not start or failed (its output above says why).
    #[error("building the functions failed: {source}; fix it and run `cargo xtask dev` again")]
    Build {
        /// What went wrong, with the command line.
        source: CmdError,
    },
}

/// Runs the local stack until it stops (Ctrl-C).
pub fn run(root: &Path, options: &DevOptions) -> Result<ExitCode, DevError> {
    let functions = refresh_routes(root)?;
    build(root, &functions, options.release)?;
    let profile = if options.release { "release" } else { "debug" };
    let bin_dir = workspace::target_dir(root).join(profile);
    let mut command = local_aws(root);
    command.arg("serve").arg("--bin-dir").arg(&bin_dir);
    if options.watch {
        command.arg("--watch-binaries");
    }
    command.args(&options.serve_args);
    if let Some(table) = dynamodb_table(&options.serve_args) {
        // The local stack links no domain crate: the notes table's schema comes from the
        // notes crate, through xtask-aws.
        let mut args = vec![
            "notes-table".to_owned(),
            "--endpoint-url".to_owned(),
            table.endpoint_url,
        ];
        if let Some(name) = table.name {
            args.extend(["--table".to_owned(), name]);
        }
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        crate::deploy::xtask_aws(root, &args)
            .run()
            .map_err(|source| DevError::Table { source })?;
    }
    let mut server = Cmd::from(command).spawn().map_err(DevError::Serve)?;
    if options.watch {
        eprintln!("xtask: watching crates/ for changes; a change rebuilds the functions");
        watch(root, &functions, options.release, &mut server)?;
    }
    let ran = server.wait().map_err(DevError::Serve)?;
    Ok(exit_code(ran.status))
}

/// Where `--store dynamodb` keeps the notes, from the server's arguments.
#[derive(Debug, PartialEq, Eq)]
struct DynamoTable {
    endpoint_url: String,
    /// `--table`, when given (else the server's default).
    name: Option<String>,
}

/// The table the server's arguments ask for with `--store dynamodb --endpoint-url URL`
/// (`--x value` or `--x=value`); `None` for another store, or without an endpoint (the server
/// then says what is missing).
fn dynamodb_table(serve_args: &[String]) -> Option<DynamoTable> {
    let value = |flag: &str| {
        let mut found = None;
        let mut words = serve_args.iter();
        while let Some(word) = words.next() {
            if word == flag {
                found = words.next().cloned();
            } else if let Some(rest) = word.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                found = Some(rest.to_owned());
            }
        }
        found
    };
    if value("--store").as_deref() != Some("dynamodb") {
        return None;
    }
    Some(DynamoTable {
        endpoint_url: value("--endpoint-url")?,
        name: value("--table"),
    })
}

/// `cargo run -p local-aws --bin local-aws --` (quiet), to which the caller adds arguments.
pub fn local_aws(root: &Path) -> Command {
    let mut command = Command::new(workspace::cargo());
    command
        .args([
            "run",
            "--quiet",
            "--package",
            "local-aws",
            "--bin",
            "local-aws",
            "--",
        ])
        .current_dir(root);
    command
}

/// Rewrites `IaC/routes.auto.tfvars.json` when it is stale (saying so); returns the functions.
fn refresh_routes(root: &Path) -> Result<Vec<String>, DevError> {
    let routes = workspace::load_routes(root)?;
    let tfvars = routes.render_tfvars()?;
    if workspace::tfvars_status(root, &tfvars)? != TfvarsStatus::UpToDate {
        workspace::write_tfvars(root, &tfvars)?;
        eprintln!(
            "xtask: {} was stale: rewrote it from the crates' metadata (commit it)",
            function_table::TFVARS_PATH
        );
    }
    Ok(routes.names().map(str::to_owned).collect())
}

/// One `cargo build` for every function binary.
fn build(root: &Path, functions: &[String], release: bool) -> Result<(), DevError> {
    let mut command = Command::new(workspace::cargo());
    command.arg("build").current_dir(root);
    if release {
        command.arg("--release");
    }
    for function in functions {
        command.args(["--package", function]);
    }
    eprintln!(
        "xtask: building {} functions{}",
        functions.len(),
        if release { " (release)" } else { "" }
    );
    Cmd::from(command)
        .run()
        .map(drop)
        .map_err(|source| DevError::Build { source })
}

/// Polls `crates/**/*.rs` and `Cargo.toml`s once a second; rebuilds on change until the server
/// exits. A failed build keeps the old binaries serving.
fn watch(
    root: &Path,
    functions: &[String],
    release: bool,
    server: &mut Running,
) -> Result<(), DevError> {
    let crates = root.join("crates");
    let mut last = newest_source(&crates);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if server.try_wait().is_some() {
            return Ok(());
        }
        let now = newest_source(&crates);
        if now > last {
            last = now;
            eprintln!("xtask: sources changed; rebuilding");
            if build(root, functions, release).is_err() {
                eprintln!("xtask: the build failed; the previous binaries keep serving");
            }
        }
    }
}

/// The newest modification time among `.rs` and `Cargo.toml` files below `dir`.
fn newest_source(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                || path.file_name().is_some_and(|n| n == "Cargo.toml")
            {
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                newest = newest.max(modified);
            }
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_dynamodb_table_comes_from_the_server_arguments() {
        assert_eq!(
            dynamodb_table(&args(&[
                "--store",
                "dynamodb",
                "--endpoint-url",
                "http://m:5"
            ])),
            Some(DynamoTable {
                endpoint_url: "http://m:5".into(),
                name: None
            })
        );
        assert_eq!(
            dynamodb_table(&args(&[
                "--port",
                "1",
                "--store=dynamodb",
                "--table=t",
                "--endpoint-url=http://m:5"
            ])),
            Some(DynamoTable {
                endpoint_url: "http://m:5".into(),
                name: Some("t".into())
            })
        );
        assert_eq!(dynamodb_table(&args(&["--store", "fs"])), None);
        assert_eq!(dynamodb_table(&args(&[])), None);
        assert_eq!(dynamodb_table(&args(&["--store", "dynamodb"])), None);
    }
}
