//! Store selection from environment variables ([`StoreConfig`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `NOTES_STORE` | `dynamodb` or `fs`; default `dynamodb` when `NOTES_TABLE` is set |
//! | `NOTES_TABLE` | the notes table (required for `dynamodb`) |
//! | `NOTES_DIR` | the root directory (required for `fs`) |
//!
//! The endpoint, region and credentials come from the usual AWS variables
//! (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, `AWS_REGION`, ...),
//! read by `aws-config`.
//! Empty values count as unset.

use std::path::PathBuf;

/// Which store to use, and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The filesystem store rooted at `dir`.
    Fs {
        /// Root directory (`NOTES_DIR`).
        dir: PathBuf,
    },
    /// The DynamoDB store.
    Dynamo {
        /// Table name (`NOTES_TABLE`).
        table: String,
    },
}

/// A store configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `NOTES_STORE=dynamodb` without a table.
    #[error("NOTES_STORE=dynamodb requires NOTES_TABLE (the notes table name)")]
    MissingTable,
    /// `NOTES_STORE=fs` without a directory.
    #[error("NOTES_STORE=fs requires NOTES_DIR (the directory that holds the notes)")]
    MissingDir,
    /// Neither variable is set.
    #[error(
        "no notes store configured: set NOTES_TABLE (DynamoDB) or NOTES_STORE=fs with NOTES_DIR (filesystem)"
    )]
    Unconfigured,
    /// A store this build lacks (feature `dynamodb` of this crate).
    #[error(
        "NOTES_STORE={0} selects a store this build lacks (feature `{0}` of the notes crate); use NOTES_STORE=fs with NOTES_DIR"
    )]
    NotBuilt(&'static str),
    /// `NOTES_STORE` has an unknown value.
    #[error("NOTES_STORE must be `dynamodb` or `fs`, got {0:?}")]
    UnknownStore(String),
    /// The filesystem root cannot be created.
    #[error("cannot create the notes directory {}: {source}", dir.display())]
    FsRoot {
        /// The configured directory.
        dir: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl StoreConfig {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] when the variables are missing or invalid.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var` (a variable lookup), so it can be tested without
    /// touching the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] when the variables are missing or invalid.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let table = get("NOTES_TABLE");
        let kind = match get("NOTES_STORE") {
            Some(kind) => kind,
            None if table.is_some() => "dynamodb".to_owned(),
            None => return Err(ConfigError::Unconfigured),
        };
        match kind.trim() {
            "dynamodb" => Ok(Self::Dynamo {
                table: table.ok_or(ConfigError::MissingTable)?.trim().to_owned(),
            }),
            "fs" => {
                let dir = get("NOTES_DIR").ok_or(ConfigError::MissingDir)?;
                Ok(Self::Fs {
                    dir: PathBuf::from(dir),
                })
            }
            _ => Err(ConfigError::UnknownStore(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<StoreConfig, String> {
        StoreConfig::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.to_string())
    }

    fn check(vars: &[(&str, &str)], expected: Result<StoreConfig, &str>) {
        assert_eq!(config(vars), expected.map_err(str::to_owned), "{vars:?}");
    }

    #[test]
    fn selection() {
        let dynamo = |table: &str| {
            Ok(StoreConfig::Dynamo {
                table: table.into(),
            })
        };
        check(&[("NOTES_TABLE", "t")], dynamo("t"));
        check(&[("NOTES_TABLE", " t ")], dynamo("t"));
        check(
            &[("NOTES_STORE", "dynamodb"), ("NOTES_TABLE", "t")],
            dynamo("t"),
        );
        check(
            &[("NOTES_STORE", "fs"), ("NOTES_DIR", "/data")],
            Ok(StoreConfig::Fs {
                dir: PathBuf::from("/data"),
            }),
        );
        check(
            &[
                ("NOTES_STORE", "fs"),
                ("NOTES_DIR", "/d"),
                ("NOTES_TABLE", "t"),
            ],
            Ok(StoreConfig::Fs {
                dir: PathBuf::from("/d"),
            }),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("NOTES_STORE", "dynamodb")],
            Err("NOTES_STORE=dynamodb requires NOTES_TABLE (the notes table name)"),
        );
        check(
            &[("NOTES_STORE", "dynamodb"), ("NOTES_TABLE", "  ")],
            Err("NOTES_STORE=dynamodb requires NOTES_TABLE (the notes table name)"),
        );
        check(
            &[("NOTES_STORE", "fs")],
            Err("NOTES_STORE=fs requires NOTES_DIR (the directory that holds the notes)"),
        );
        check(
            &[("NOTES_BUCKET", "b")],
            Err(
                "no notes store configured: set NOTES_TABLE (DynamoDB) or NOTES_STORE=fs with NOTES_DIR (filesystem)",
            ),
        );
        check(
            &[("NOTES_STORE", "s3"), ("NOTES_TABLE", "t")],
            Err("NOTES_STORE must be `dynamodb` or `fs`, got \"s3\""),
        );
    }

    #[tokio::test]
    async fn fs_store_from_config_creates_the_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a").join("b");
        let store = crate::AnyStore::from_config(&StoreConfig::Fs { dir: dir.clone() })
            .await
            .expect("fs store");
        assert!(matches!(store, crate::AnyStore::Fs(_)));
        assert!(dir.is_dir());
    }
}
