//! Python tools the project uses (moto server, checkov, zizmor, cargo-lambda, schemathesis), each installed with pip
//! into its own project-local virtualenv, `.tools/<name>/` (git-ignored), at a pinned version.
//! Separate virtualenvs keep one tool's dependencies from breaking another's.
//!
//! A marker file in the virtualenv records the requirement that was installed, so a changed pin
//! reinstalls and an unchanged one costs nothing.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{Cmd, CmdError};

/// A pinned PyPI tool and the executable the project runs from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PyTool {
    /// The virtualenv's directory name under `.tools/`.
    pub name: &'static str,
    /// What `pip install` is given.
    pub requirement: &'static str,
    /// The executable in the virtualenv's `bin/`.
    pub program: &'static str,
}

/// moto server: the local AWS the tests run against.
pub const MOTO: PyTool = PyTool {
    name: "moto",
    requirement: "moto[server]==5.2.1",
    program: "moto_server",
};

/// checkov: the Terraform policy scanner.
pub const CHECKOV: PyTool = PyTool {
    name: "checkov",
    requirement: "checkov==3.3.30",
    program: "checkov",
};

/// zizmor: the GitHub Actions workflow linter.
pub const ZIZMOR: PyTool = PyTool {
    name: "zizmor",
    requirement: "zizmor==1.32.0",
    program: "zizmor",
};

/// cargo-lambda: cross-compiles the functions for Lambda (ships Zig as the linker).
pub const CARGO_LAMBDA: PyTool = PyTool {
    name: "cargo-lambda",
    requirement: "cargo-lambda==1.9.2",
    program: "cargo-lambda",
};

/// schemathesis: property-based tests of the API against its OpenAPI contract
/// (`crates/local-aws/tests/schemathesis.rs` runs `st` against the local gateway).
pub const SCHEMATHESIS: PyTool = PyTool {
    name: "schemathesis",
    requirement: "schemathesis==4.32.5",
    program: "st",
};

/// awslambdaric: AWS's Python runtime interface client, which `cargo xtask bench` runs the
/// Python `GET /me` handler with (a manylinux wheel, no compiler needed on x86_64 and arm64).
pub const AWSLAMBDARIC: PyTool = PyTool {
    name: "awslambdaric",
    requirement: "awslambdaric==4.2.2",
    program: "python",
};

/// Why a tool could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A setup command (venv creation, pip install) could not start or failed; a missing
    /// interpreter is [`CmdError::Missing`].
    #[error("{source}; {hint}")]
    Setup {
        /// What went wrong, with the command line.
        source: CmdError,
        /// What to try.
        hint: &'static str,
    },
    /// The marker file could not be written.
    #[error("could not write {}: {source}", path.display())]
    Marker {
        /// The marker file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl PyTool {
    /// The virtualenv's directory, `<root>/.tools/<name>`.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(".tools").join(self.name)
    }

    /// The path of an executable in the virtualenv.
    pub fn bin_path(&self, root: &Path, executable: &str) -> PathBuf {
        if cfg!(windows) {
            self.dir(root)
                .join("Scripts")
                .join(format!("{executable}.exe"))
        } else {
            self.dir(root).join("bin").join(executable)
        }
    }

    /// The tool's main executable.
    pub fn program_path(&self, root: &Path) -> PathBuf {
        self.bin_path(root, self.program)
    }

    /// The directory holding the virtualenv's executables (for `PATH`).
    pub fn bin_dir(&self, root: &Path) -> PathBuf {
        self.bin_path(root, "python")
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir(root))
    }

    /// The marker file recording which requirement was installed.
    pub fn marker(&self, root: &Path) -> PathBuf {
        self.dir(root).join("xtask-requirement.txt")
    }

    /// Whether the pinned version is installed (marker matches and the executable exists).
    pub fn is_installed(&self, root: &Path) -> bool {
        self.marker_matches(std::fs::read_to_string(self.marker(root)).ok().as_deref())
            && self.program_path(root).is_file()
    }

    /// Whether a marker file's content names this tool's requirement.
    pub fn marker_matches(&self, content: Option<&str>) -> bool {
        content.is_some_and(|c| c.trim() == self.requirement)
    }

    /// Creates the virtualenv and installs the tool unless it is already there; returns whether
    /// it installed anything. Progress goes to stderr.
    pub fn ensure(&self, root: &Path) -> Result<bool, ToolError> {
        if self.is_installed(root) {
            return Ok(false);
        }
        let dir = self.dir(root);
        eprintln!(
            "xtask: installing {} into {} (first run only)…",
            self.requirement,
            rel(&dir).display()
        );
        let python = self.bin_path(root, "python");
        if !python.is_file() {
            // Missing or broken (e.g. the system Python it pointed at is gone): (re)create.
            let program = if cfg!(windows) { "python" } else { "python3" };
            let mut venv = Command::new(program);
            venv.args(["-m", "venv", "--clear"]).arg(&dir);
            run_setup(
                venv,
                "install Python 3 with the venv module (Debian/Ubuntu: `apt install python3-venv`)",
            )?;
        }
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            self.requirement,
        ]);
        run_setup(
            pip,
            "check network access to PyPI (or pip's index settings) and retry",
        )?;
        let marker = self.marker(root);
        std::fs::write(&marker, format!("{}\n", self.requirement)).map_err(|source| {
            ToolError::Marker {
                path: marker,
                source,
            }
        })?;
        Ok(true)
    }
}

/// Runs a setup command with inherited output; a failure is an error with `hint`.
fn run_setup(command: Command, hint: &'static str) -> Result<(), ToolError> {
    Cmd::from(command)
        .run()
        .map(drop)
        .map_err(|source| ToolError::Setup { source, hint })
}

/// `path` relative to the current directory when it is below it, for shorter messages.
pub fn rel(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_setup_names_the_command_and_the_hint() {
        let mut missing = Command::new("python3-that-is-not-installed");
        missing.args(["-m", "venv"]);
        let err = run_setup(missing, "install Python 3").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(concat!(
                "could not run `python3-that-is-not-installed -m venv`: ",
                "`python3-that-is-not-installed` is missing (not installed, or not on PATH); ",
                "install Python 3"
            )
            .to_owned())
        );
        let mut failing = Command::new("sh");
        failing.args(["-c", "exit 4"]);
        let err = run_setup(failing, "retry").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("`sh -c 'exit 4'` failed (exit status: 4); retry".to_owned())
        );
    }

    #[test]
    fn markers() {
        for (content, want) in [
            (Some("moto[server]==5.2.1\n"), true),
            (Some("moto[server]==5.2.1"), true),
            (Some("moto[server]==5.1.0\n"), false),
            (Some("checkov==3.3.30\n"), false),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(MOTO.marker_matches(content), want, "for {content:?}");
        }
    }

    #[test]
    fn paths() {
        let root = Path::new("/repo");
        assert_eq!(CHECKOV.dir(root), Path::new("/repo/.tools/checkov"));
        if cfg!(unix) {
            assert_eq!(
                MOTO.program_path(root),
                Path::new("/repo/.tools/moto/bin/moto_server")
            );
            assert_eq!(
                CARGO_LAMBDA.bin_dir(root),
                Path::new("/repo/.tools/cargo-lambda/bin")
            );
        }
        assert!(
            !MOTO.is_installed(root),
            "nothing is installed at /repo/.tools/moto"
        );
    }

    #[test]
    fn every_tool_is_pinned_and_named_once() {
        let tools = [MOTO, CHECKOV, CARGO_LAMBDA, AWSLAMBDARIC];
        for tool in tools {
            assert!(tool.requirement.contains("=="), "{tool:?} is not pinned");
        }
        let mut names: Vec<_> = tools.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tools.len(), "two tools share a virtualenv");
    }
}
