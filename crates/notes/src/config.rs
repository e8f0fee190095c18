//! Store selection from environment variables ([`StoreConfig`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `NOTES_STORE` | `dynamodb`, `s3` or `fs`; default `dynamodb` when `NOTES_TABLE` is set, else `s3` when `NOTES_BUCKET` is |
//! | `NOTES_TABLE` | the notes table (required for `dynamodb`) |
//! | `NOTES_BUCKET` | the notes bucket (required for `s3`) |
//! | `NOTES_DIR` | the root directory (required for `fs`) |
//! | `NOTES_S3_FORCE_PATH_STYLE` | `true`/`false` (also `1`/`0`); `true` for S3 emulators such as moto |
//!
//! The endpoint, region and credentials come from the usual AWS variables
//! (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, ...),
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
    /// The S3 store.
    S3 {
        /// Bucket name (`NOTES_BUCKET`).
        bucket: String,
        /// Path-style addressing (`NOTES_S3_FORCE_PATH_STYLE`), needed by emulators.
        force_path_style: bool,
    },
}

/// A store configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `NOTES_STORE=s3` (or the default) without a bucket.
    #[error("NOTES_STORE=s3 requires NOTES_BUCKET (the notes bucket name)")]
    MissingBucket,
    /// `NOTES_STORE=dynamodb` without a table.
    #[error("NOTES_STORE=dynamodb requires NOTES_TABLE (the notes table name)")]
    MissingTable,
    /// `NOTES_STORE=fs` without a directory.
    #[error("NOTES_STORE=fs requires NOTES_DIR (the directory that holds the notes)")]
    MissingDir,
    /// Neither variable is set.
    #[error(
        "no notes store configured: set NOTES_TABLE (DynamoDB), NOTES_BUCKET (S3) or NOTES_STORE=fs with NOTES_DIR (filesystem)"
    )]
    Unconfigured,
    /// A store this build lacks (feature `s3` or `dynamodb` of this crate).
    #[error(
        "NOTES_STORE={0} selects a store this build lacks (feature `{0}` of the notes crate); use NOTES_STORE=fs with NOTES_DIR"
    )]
    NotBuilt(&'static str),
    /// `NOTES_STORE` has an unknown value.
    #[error("NOTES_STORE must be `dynamodb`, `s3` or `fs`, got {0:?}")]
    UnknownStore(String),
    /// `NOTES_S3_FORCE_PATH_STYLE` is not a boolean.
    #[error("NOTES_S3_FORCE_PATH_STYLE must be `true` or `false`, got {0:?}")]
    InvalidBool(String),
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
        let bucket = get("NOTES_BUCKET");
        let table = get("NOTES_TABLE");
        let kind = match get("NOTES_STORE") {
            Some(kind) => kind,
            None if table.is_some() => "dynamodb".to_owned(),
            None if bucket.is_some() => "s3".to_owned(),
            None => return Err(ConfigError::Unconfigured),
        };
        match kind.trim() {
            "dynamodb" => Ok(Self::Dynamo {
                table: table.ok_or(ConfigError::MissingTable)?.trim().to_owned(),
            }),
            "s3" => {
                let bucket = bucket.ok_or(ConfigError::MissingBucket)?;
                let force_path_style = match get("NOTES_S3_FORCE_PATH_STYLE") {
                    None => false,
                    Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(ConfigError::InvalidBool(v)),
                    },
                };
                Ok(Self::S3 {
                    bucket: bucket.trim().to_owned(),
                    force_path_style,
                })
            }
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

    fn s3(bucket: &str, force_path_style: bool) -> Result<StoreConfig, &'static str> {
        Ok(StoreConfig::S3 {
            bucket: bucket.into(),
            force_path_style,
        })
    }

    #[test]
    fn selection() {
        check(&[("NOTES_BUCKET", "b")], s3("b", false));
        check(
            &[("NOTES_STORE", "s3"), ("NOTES_BUCKET", "b")],
            s3("b", false),
        );
        check(
            &[("NOTES_BUCKET", "b"), ("NOTES_S3_FORCE_PATH_STYLE", "true")],
            s3("b", true),
        );
        check(
            &[("NOTES_BUCKET", "b"), ("NOTES_S3_FORCE_PATH_STYLE", "1")],
            s3("b", true),
        );
        check(
            &[
                ("NOTES_BUCKET", "b"),
                ("NOTES_S3_FORCE_PATH_STYLE", "FALSE"),
            ],
            s3("b", false),
        );
        let dynamo = |table: &str| {
            Ok(StoreConfig::Dynamo {
                table: table.into(),
            })
        };
        check(&[("NOTES_TABLE", "t")], dynamo("t"));
        check(
            &[("NOTES_TABLE", " t "), ("NOTES_BUCKET", "b")],
            dynamo("t"),
        );
        check(
            &[("NOTES_STORE", "dynamodb"), ("NOTES_TABLE", "t")],
            dynamo("t"),
        );
        check(
            &[
                ("NOTES_STORE", "s3"),
                ("NOTES_TABLE", "t"),
                ("NOTES_BUCKET", "b"),
            ],
            s3("b", false),
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
                ("NOTES_BUCKET", "b"),
            ],
            Ok(StoreConfig::Fs {
                dir: PathBuf::from("/d"),
            }),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("NOTES_STORE", "s3")],
            Err("NOTES_STORE=s3 requires NOTES_BUCKET (the notes bucket name)"),
        );
        check(
            &[("NOTES_STORE", "s3"), ("NOTES_BUCKET", "  ")],
            Err("NOTES_STORE=s3 requires NOTES_BUCKET (the notes bucket name)"),
        );
        check(
            &[("NOTES_STORE", "fs")],
            Err("NOTES_STORE=fs requires NOTES_DIR (the directory that holds the notes)"),
        );
        check(
            &[("NOTES_STORE", "dynamodb"), ("NOTES_BUCKET", "b")],
            Err("NOTES_STORE=dynamodb requires NOTES_TABLE (the notes table name)"),
        );
        check(
            &[],
            Err(
                "no notes store configured: set NOTES_TABLE (DynamoDB), NOTES_BUCKET (S3) or NOTES_STORE=fs with NOTES_DIR (filesystem)",
            ),
        );
        check(
            &[("NOTES_STORE", "dynamo"), ("NOTES_BUCKET", "b")],
            Err("NOTES_STORE must be `dynamodb`, `s3` or `fs`, got \"dynamo\""),
        );
        check(
            &[("NOTES_BUCKET", "b"), ("NOTES_S3_FORCE_PATH_STYLE", "yes")],
            Err("NOTES_S3_FORCE_PATH_STYLE must be `true` or `false`, got \"yes\""),
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
