//! The workspace on disk: where it is, which `cargo` to call, `cargo metadata`, and the
//! generated `IaC/routes.auto.tfvars.json`.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use function_table::{FunctionTable, TFVARS_PATH, TableError};

/// Why reading the workspace or its generated files failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// `cargo metadata` could not be started, or failed (its stderr says why, usually a
    /// broken Cargo.toml).
    #[error(transparent)]
    Cmd(#[from] crate::cmd::CmdError),
    /// The route metadata is invalid.
    #[error(transparent)]
    Routes(#[from] TableError),
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "could not write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// How the committed tfvars file compares with what the metadata says it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TfvarsStatus {
    /// The file holds exactly the expected text.
    UpToDate,
    /// There is no file.
    Missing,
    /// The file differs from the expected text.
    Stale,
}

/// The workspace root: the parent of the xtask crate's directory.
pub fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// The cargo to call: `$CARGO` (set by cargo for `cargo run` and `cargo test`), else `cargo`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The target directory: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Runs `cargo metadata --format-version 1 --no-deps` on the workspace and returns its JSON.
pub fn cargo_metadata(root: &Path) -> Result<String, WorkspaceError> {
    let output = crate::cmd::Cmd::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .dir(root)
        .output()?;
    String::from_utf8(output.stdout)
        .map_err(|e| TableError::Metadata(format!("not UTF-8: {e}")).into())
}

/// Reads and validates the workspace's function table (HTTP routes sorted by path, then
/// method).
pub fn load_routes(root: &Path) -> Result<FunctionTable, WorkspaceError> {
    Ok(FunctionTable::from_cargo_metadata(&cargo_metadata(root)?)?)
}

/// The absolute path of `IaC/routes.auto.tfvars.json`.
pub fn tfvars_path(root: &Path) -> PathBuf {
    root.join(TFVARS_PATH)
}

/// Compares the tfvars file on disk with `expected`.
pub fn tfvars_status(root: &Path, expected: &str) -> Result<TfvarsStatus, WorkspaceError> {
    let path = tfvars_path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) if text == expected => Ok(TfvarsStatus::UpToDate),
        Ok(_) => Ok(TfvarsStatus::Stale),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(TfvarsStatus::Missing),
        Err(source) => Err(WorkspaceError::Io {
            action: "could not read",
            path,
            source,
        }),
    }
}

/// Writes the tfvars file (creating `IaC/` if needed) unless it already holds `content`;
/// returns whether it wrote.
pub fn write_tfvars(root: &Path, content: &str) -> Result<bool, WorkspaceError> {
    if tfvars_status(root, content)? == TfvarsStatus::UpToDate {
        return Ok(false);
    }
    let path = tfvars_path(root);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| WorkspaceError::Io {
            action: "could not create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(&path, content).map_err(|source| WorkspaceError::Io {
        action: "could not write",
        path,
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfvars_file_lifecycle() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir");
        };
        let root = dir.path();
        let status = |content: &str| tfvars_status(root, content).map_err(|e| e.to_string());
        assert_eq!(status("a\n"), Ok(TfvarsStatus::Missing));
        // Creates IaC/ and writes; a second identical write changes nothing.
        assert_eq!(
            write_tfvars(root, "a\n").map_err(|e| e.to_string()),
            Ok(true)
        );
        assert_eq!(
            std::fs::read_to_string(root.join(TFVARS_PATH))
                .ok()
                .as_deref(),
            Some("a\n")
        );
        assert_eq!(status("a\n"), Ok(TfvarsStatus::UpToDate));
        assert_eq!(
            write_tfvars(root, "a\n").map_err(|e| e.to_string()),
            Ok(false)
        );
        assert_eq!(status("b\n"), Ok(TfvarsStatus::Stale));
        assert_eq!(
            write_tfvars(root, "b\n").map_err(|e| e.to_string()),
            Ok(true)
        );
        assert_eq!(status("b\n"), Ok(TfvarsStatus::UpToDate));
    }

    #[test]
    fn root_is_the_workspace() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("xtask").join("Cargo.toml").is_file());
    }
}
