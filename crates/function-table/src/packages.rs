//! The package manifest `cargo xtask package` writes to `<target>/lambda/packages.json` and
//! `deploy` reads, and [`Arch`], the architecture its zips were built for. One set of types
//! writes and reads it.
//!
//! ```json
//! {"arch":"arm64","packages":[{"function":"get-note","zip":"target/lambda/get-note/bootstrap.zip",
//!   "size":123,"sha256":"<hex>","code_sha256":"<base64 of the raw digest>"}]}
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// A CPU architecture Lambda runs functions on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Arch {
    /// AWS Graviton (`aarch64-unknown-linux-gnu`), what the stack deploys.
    #[default]
    #[serde(rename = "arm64")]
    #[cfg_attr(feature = "clap", value(name = "arm64"))]
    Arm64,
    /// x86-64 (`x86_64-unknown-linux-gnu`).
    #[serde(rename = "x86_64")]
    #[cfg_attr(feature = "clap", value(name = "x86_64", alias = "x86-64"))]
    X86_64,
}

impl Arch {
    /// The name Lambda uses (`Architectures`): `arm64` or `x86_64`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Arm64 => "arm64",
            Self::X86_64 => "x86_64",
        }
    }

    /// The Rust target triple the functions are built for.
    #[must_use]
    pub fn triple(self) -> &'static str {
        match self {
            Self::Arm64 => "aarch64-unknown-linux-gnu",
            Self::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// The ELF header's `e_machine` for this architecture (`EM_AARCH64`, `EM_X86_64`).
    #[must_use]
    pub fn elf_machine(self) -> u16 {
        match self {
            Self::Arm64 => 0xB7,
            Self::X86_64 => 0x3E,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One function's zip, as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The function (crate) name, e.g. `get-note`.
    pub function: String,
    /// The zip's path (relative paths in the manifest are resolved against the workspace root).
    pub zip: PathBuf,
    /// The zip's size in bytes.
    pub size: u64,
    /// The zip's SHA-256, lowercase hex (the S3 key is `<function>/<sha256>.zip`).
    pub sha256: String,
    /// The zip's SHA-256 as Lambda reports it in `CodeSha256`: base64 of the raw digest.
    pub code_sha256: String,
}

/// The parsed and checked `packages.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The architecture every package was built for.
    pub arch: Arch,
    /// The packages, in manifest order.
    pub packages: Vec<Package>,
}

/// Why the manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file cannot be read.
    #[error(
        "cannot read the package manifest {path}: {cause}; hint: run `cargo xtask package` first"
    )]
    Read {
        /// The manifest's path.
        path: String,
        /// The I/O error.
        cause: String,
    },
    /// The JSON does not have the manifest's shape.
    #[error(
        "the package manifest is not valid: {cause}; hint: rerun `cargo xtask package` (it \
         rewrites packages.json)"
    )]
    Json {
        /// serde_json's description, with line and column.
        cause: String,
    },
    /// One package's entry is inconsistent.
    #[error("package `{function}` in the manifest: {detail}; hint: rerun `cargo xtask package`")]
    Invalid {
        /// The function name.
        function: String,
        /// What is wrong.
        detail: String,
    },
    /// A function appears twice.
    #[error(
        "package `{function}` appears twice in the manifest; hint: rerun `cargo xtask package`"
    )]
    Duplicate {
        /// The function name.
        function: String,
    },
    /// A selected function is not in the manifest.
    #[error(
        "function `{function}` is not in the package manifest (it has: {known}); hint: run \
         `cargo xtask package` for it, or check the name"
    )]
    NotPackaged {
        /// The name asked for.
        function: String,
        /// The functions the manifest has, comma-separated.
        known: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    arch: Arch,
    packages: Vec<RawPackage>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    function: String,
    zip: PathBuf,
    size: u64,
    sha256: String,
    code_sha256: String,
}

impl Manifest {
    /// Reads and checks the manifest at `path`; relative zip paths are resolved against `root`
    /// (the workspace root).
    ///
    /// # Errors
    /// [`ManifestError::Read`] when the file cannot be read, else as [`Manifest::from_json`].
    pub fn load(path: &Path, root: &Path) -> Result<Self, ManifestError> {
        let json = std::fs::read_to_string(path).map_err(|e| ManifestError::Read {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        Self::from_json(&json, root)
    }

    /// Parses and checks a manifest; relative zip paths are resolved against `root`.
    ///
    /// Checks: the JSON shape (no unknown fields), function names non-empty and unique,
    /// `sha256` is 64 hex digits, `code_sha256` is the base64 of that same digest.
    ///
    /// # Errors
    /// [`ManifestError::Json`], [`ManifestError::Invalid`] or [`ManifestError::Duplicate`].
    pub fn from_json(json: &str, root: &Path) -> Result<Self, ManifestError> {
        let raw: RawManifest = serde_json::from_str(json).map_err(|e| ManifestError::Json {
            cause: e.to_string(),
        })?;
        let mut seen = BTreeSet::new();
        let mut packages = Vec::with_capacity(raw.packages.len());
        for p in raw.packages {
            let invalid = |detail: String| ManifestError::Invalid {
                function: p.function.clone(),
                detail,
            };
            if p.function.is_empty() {
                return Err(invalid("the function name is empty".into()));
            }
            if !seen.insert(p.function.clone()) {
                return Err(ManifestError::Duplicate {
                    function: p.function,
                });
            }
            let digest = match hex::decode(&p.sha256) {
                Ok(d) if d.len() == 32 && p.sha256.len() == 64 => d,
                _ => {
                    return Err(invalid(format!(
                        "sha256 `{}` is not 64 hex digits",
                        p.sha256
                    )));
                }
            };
            let expected = BASE64.encode(&digest);
            if p.code_sha256 != expected {
                return Err(invalid(format!(
                    "code_sha256 `{}` is not the base64 of sha256 (expected `{expected}`)",
                    p.code_sha256
                )));
            }
            if p.zip.as_os_str().is_empty() {
                return Err(invalid("the zip path is empty".into()));
            }
            packages.push(Package {
                zip: root.join(&p.zip),
                function: p.function,
                size: p.size,
                sha256: p.sha256.to_ascii_lowercase(),
                code_sha256: p.code_sha256,
            });
        }
        Ok(Self {
            arch: raw.arch,
            packages,
        })
    }

    /// The manifest restricted to `functions` (in manifest order); an empty list selects all.
    ///
    /// # Errors
    /// [`ManifestError::NotPackaged`] naming the first function the manifest lacks.
    pub fn select(&self, functions: &[String]) -> Result<Self, ManifestError> {
        if let Some(missing) = functions
            .iter()
            .find(|f| !self.packages.iter().any(|p| &p.function == *f))
        {
            return Err(ManifestError::NotPackaged {
                function: missing.clone(),
                known: self
                    .packages
                    .iter()
                    .map(|p| p.function.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(Self {
            arch: self.arch,
            packages: self
                .packages
                .iter()
                .filter(|p| functions.is_empty() || functions.contains(&p.function))
                .cloned()
                .collect(),
        })
    }
}

/// Renders a manifest for `arch` (pretty JSON ending with a newline); each zip path is written
/// as given (relative to the workspace root where it is below it).
///
/// # Errors
/// serde_json's error (not expected with these types).
pub fn render(arch: Arch, packages: &[Package]) -> Result<String, serde_json::Error> {
    let raw = RawManifest {
        arch,
        packages: packages
            .iter()
            .map(|p| RawPackage {
                function: p.function.clone(),
                zip: p.zip.clone(),
                size: p.size,
                sha256: p.sha256.clone(),
                code_sha256: p.code_sha256.clone(),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&raw)? + "\n")
}
