//! `cargo xtask package`: builds the function binaries for Lambda (release, cross-compiled by
//! cargo-lambda with Zig as the linker) and zips each one as a deterministic
//! `<target>/lambda/<function>/bootstrap.zip`, the path Terraform reads (IaC variable
//! `package_dir`), plus a manifest `<target>/lambda/packages.json` that `deploy` reads.
//!
//! The zips are reproducible: one entry, `bootstrap`, mode 0755, the DOS epoch as its timestamp,
//! Deflate at a fixed level and no extra fields, so identical binaries give byte-identical zips
//! (and the same `CodeSha256` in Lambda, which is how `deploy` skips unchanged functions).
//!
//! The rendering and checking parts ([`zip_bootstrap`], [`select_functions`], [`render_table`],
//! [`render_manifest`], …) are pure and unit-tested; [`package`] runs the build and writes files.

use std::io::{self, Cursor, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::cmd::{Cmd, CmdError};
use crate::pytool::{self, CARGO_LAMBDA, ToolError};
use crate::workspace::{self, WorkspaceError};

/// The only entry of every zip: the executable Lambda's `provided.al2023` runtime starts.
pub const ENTRY_NAME: &str = "bootstrap";

/// The entry's unix permissions (`rwxr-xr-x`); the zip records it as a regular file, 0o100755.
pub const ENTRY_MODE: u32 = 0o755;

/// The Deflate level of every zip: the maximum. Measured on the eight arm64 binaries here (with
/// zlib-rs, the zip crate's backend), 9 gives 4.5 % smaller zips than the default 6 (19.2 MB
/// against 20.1 MB in all) for about 1.4 times the compression time.
pub const DEFLATE_LEVEL: i64 = 9;

/// The name of the zip in each function's directory under [`lambda_dir`].
pub const ZIP_NAME: &str = "bootstrap.zip";

/// The manifest's file name in [`lambda_dir`].
pub const MANIFEST_NAME: &str = "packages.json";

/// The architecture to build for (the function table crate owns it; `packages.json` names it).
pub use function_table::Arch;

/// The `cargo lambda build` flag selecting `arch`.
pub fn cargo_lambda_flag(arch: Arch) -> &'static str {
    match arch {
        Arch::Arm64 => "--arm64",
        Arch::X86_64 => "--x86-64",
    }
}

/// What to package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageOptions {
    /// The architecture to build for.
    pub arch: Arch,
    /// The functions (package names) to package; empty means every function.
    pub functions: Vec<String>,
    /// The cargo profile to build with; `None` is `release` (what ships).
    pub profile: Option<String>,
}

/// One packaged function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The function's name (its package and binary name).
    pub function: String,
    /// The architecture it was built for.
    pub arch: Arch,
    /// The zip's absolute path, `<target>/lambda/<function>/bootstrap.zip`.
    pub zip: PathBuf,
    /// The zip's size in bytes.
    pub size: u64,
    /// The SHA-256 of the zip.
    pub sha256: [u8; 32],
}

impl Package {
    /// The zip's SHA-256 as lower-case hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// The zip's SHA-256 in standard base64: what Lambda reports as `CodeSha256`.
    pub fn code_sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sha256)
    }
}

/// Why packaging failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The route table (the list of functions) could not be read.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// `-f` named functions that do not exist.
    #[error(
        "unknown function{} {}; the functions are: {} (see `cargo xtask routes`)",
        if unknown.len() == 1 { "" } else { "s" },
        quoted(unknown),
        known.join(", ")
    )]
    UnknownFunctions {
        /// The names that matched no function.
        unknown: Vec<String>,
        /// Every function's name, sorted.
        known: Vec<String>,
    },
    /// The workspace has no function crates, so there is nothing to package.
    #[error(
        "no function crates found (crates/functions/*/Cargo.toml with [package.metadata.function])"
    )]
    NoFunctions,
    /// The Rust standard library for the target is not installed.
    #[error(
        "the Rust target {triple} is not installed and `rustup target add {triple}` failed; run it by hand to see why"
    )]
    MissingTarget {
        /// The target triple.
        triple: &'static str,
    },
    /// cargo-lambda could not be installed.
    #[error("could not install cargo-lambda: {0}")]
    Tool(#[from] ToolError),
    /// `cargo lambda build` could not start, or ran and failed (its output above says why).
    #[error("{source}; if cargo-lambda itself is broken, delete .tools/cargo-lambda and retry")]
    Build {
        /// What went wrong, with the command line.
        source: CmdError,
    },
    /// The build succeeded but a binary is not where cargo-lambda puts it.
    #[error(
        "`cargo lambda build` succeeded but did not produce {}; is `{function}` a binary crate \
         whose binary has the package's name?",
        path.display()
    )]
    MissingBinary {
        /// The function.
        function: String,
        /// Where its binary was expected.
        path: PathBuf,
    },
    /// A built binary is not an ELF executable for the requested architecture.
    #[error("{} is not an ELF executable for {arch} ({found}); run `cargo clean` and retry", path.display())]
    WrongBinary {
        /// The binary.
        path: PathBuf,
        /// The architecture it should be for.
        arch: Arch,
        /// What it is instead.
        found: String,
    },
    /// Writing the zip failed (in memory, so this means a bug or an absurdly large binary).
    #[error("could not build the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The manifest could not be rendered.
    #[error("could not render {MANIFEST_NAME}: {0}")]
    Json(#[from] serde_json::Error),
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

/// `<target>/lambda`: where cargo-lambda puts the binaries (`<function>/bootstrap`) and this
/// command the zips and the manifest.
pub fn lambda_dir(root: &Path) -> PathBuf {
    workspace::target_dir(root).join("lambda")
}

/// `<target>/lambda/<function>/bootstrap.zip`.
pub fn zip_path(root: &Path, function: &str) -> PathBuf {
    lambda_dir(root).join(function).join(ZIP_NAME)
}

/// `<target>/lambda/<function>/bootstrap`: where `cargo lambda build` leaves the binary (it moves
/// it there from `<target>/<triple>/release/<function>`).
pub fn binary_path(root: &Path, function: &str) -> PathBuf {
    lambda_dir(root).join(function).join(ENTRY_NAME)
}

/// `<target>/lambda/packages.json`.
pub fn manifest_path(root: &Path) -> PathBuf {
    lambda_dir(root).join(MANIFEST_NAME)
}

/// Builds and zips the chosen functions, writes the manifest, and returns the packages in
/// route-table order. The build's output goes to stderr.
pub fn package(root: &Path, options: &PackageOptions) -> Result<Vec<Package>, PackageError> {
    let known: Vec<String> = workspace::load_routes(root)?
        .names()
        .map(str::to_owned)
        .collect();
    let functions = select_functions(&known, &options.functions)?;
    let arch = options.arch;
    check_target(root, arch)?;
    CARGO_LAMBDA.ensure(root)?;

    // A binary left by an earlier build must never be zipped in place of this build's.
    for function in &functions {
        remove_if_exists(&binary_path(root, function))?;
    }
    build(root, arch, &functions, options.profile.as_deref())?;

    // Compression dominates the time (xtask is built unoptimised): one worker per core, each
    // taking the next function until none are left; the results keep the functions' order.
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(functions.len());
    let mut results: Vec<(usize, Result<Package, PackageError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(function) = functions.get(i) else {
                            return done;
                        };
                        done.push((i, zip_function(root, arch, function)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    let packages = results
        .into_iter()
        .map(|(_, result)| result)
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = manifest_path(root);
    write_atomically(
        &manifest,
        render_manifest(root, arch, &packages)?.as_bytes(),
    )?;
    eprintln!(
        "xtask: wrote {} zips and {}",
        packages.len(),
        pytool::rel(&manifest).display()
    );
    Ok(packages)
}

/// Writes the manifest for zips already in `target/lambda` (CI's per-function matrix jobs
/// upload them as artifacts; the deploy job downloads them all), without building. Every chosen
/// function (default: all) must have its `bootstrap.zip`, holding one `bootstrap` for `arch`.
pub fn index(root: &Path, options: &PackageOptions) -> Result<Vec<Package>, PackageError> {
    let known: Vec<String> = workspace::load_routes(root)?
        .names()
        .map(str::to_owned)
        .collect();
    let functions = select_functions(&known, &options.functions)?;
    let mut packages = Vec::with_capacity(functions.len());
    for function in &functions {
        let path = zip_path(root, function);
        let zip = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(PackageError::MissingBinary {
                    function: function.clone(),
                    path,
                });
            }
            Err(source) => return Err(io_error("could not read", path, source)),
        };
        let binary = unzip_bootstrap(&zip).map_err(|found| PackageError::WrongBinary {
            path: path.clone(),
            arch: options.arch,
            found,
        })?;
        check_elf(&binary, options.arch).map_err(|found| PackageError::WrongBinary {
            path: path.clone(),
            arch: options.arch,
            found,
        })?;
        packages.push(Package {
            function: function.clone(),
            arch: options.arch,
            size: zip.len() as u64,
            sha256: Sha256::digest(&zip).into(),
            zip: path,
        });
    }
    let manifest = manifest_path(root);
    write_atomically(
        &manifest,
        render_manifest(root, options.arch, &packages)?.as_bytes(),
    )?;
    eprintln!(
        "xtask: indexed {} zips into {}",
        packages.len(),
        pytool::rel(&manifest).display()
    );
    Ok(packages)
}

/// The single `bootstrap` entry of a package zip.
fn unzip_bootstrap(zip: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| format!("not a zip: {e}"))?;
    if archive.len() != 1 {
        return Err(format!(
            "{} entries, expected only `bootstrap`",
            archive.len()
        ));
    }
    let mut entry = archive
        .by_name("bootstrap")
        .map_err(|e| format!("no `bootstrap` entry: {e}"))?;
    let mut binary = Vec::new();
    entry
        .read_to_end(&mut binary)
        .map_err(|e| format!("unreadable `bootstrap`: {e}"))?;
    Ok(binary)
}

/// Zips one function's freshly built binary into its `bootstrap.zip`.
fn zip_function(root: &Path, arch: Arch, function: &str) -> Result<Package, PackageError> {
    let binary_path = binary_path(root, function);
    let binary = match std::fs::read(&binary_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(PackageError::MissingBinary {
                function: function.to_owned(),
                path: binary_path,
            });
        }
        Err(source) => return Err(io_error("could not read", binary_path, source)),
    };
    check_elf(&binary, arch).map_err(|found| PackageError::WrongBinary {
        path: binary_path.clone(),
        arch,
        found,
    })?;
    let zip = zip_bootstrap(&binary)?;
    let path = zip_path(root, function);
    write_atomically(&path, &zip)?;
    Ok(Package {
        function: function.to_owned(),
        arch,
        zip: path,
        size: zip.len() as u64,
        sha256: Sha256::digest(&zip).into(),
    })
}

/// The functions to package: every known one when `requested` is empty, else the requested
/// ones (in `known`'s order, duplicates ignored). Unknown names are an error listing the known
/// ones; an empty `known` is [`PackageError::NoFunctions`].
pub fn select_functions(
    known: &[String],
    requested: &[String],
) -> Result<Vec<String>, PackageError> {
    if known.is_empty() {
        return Err(PackageError::NoFunctions);
    }
    if requested.is_empty() {
        return Ok(known.to_vec());
    }
    let mut unknown: Vec<String> = Vec::new();
    for name in requested {
        if !known.contains(name) && !unknown.contains(name) {
            unknown.push(name.clone());
        }
    }
    if !unknown.is_empty() {
        let mut known = known.to_vec();
        known.sort_unstable();
        return Err(PackageError::UnknownFunctions { unknown, known });
    }
    Ok(known
        .iter()
        .filter(|k| requested.contains(k))
        .cloned()
        .collect())
}

/// Adds the target's standard library with `rustup target add` when rustup says it is missing
/// (a fresh machine whose toolchain predates `rust-toolchain.toml`'s `targets`); fails with the
/// hint when that does not work. Without rustup the check is skipped: the build reports it then.
fn check_target(root: &Path, arch: Arch) -> Result<(), PackageError> {
    let mut list = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .dir(root);
    list.command_mut().stderr(Stdio::null());
    match list.read() {
        Ok(installed) if !target_installed(&installed, arch.triple()) => {
            let add = Cmd::new("rustup")
                .args(["target", "add", arch.triple()])
                .dir(root);
            eprintln!(
                "xtask: the Rust target {} is missing; running `{add}`",
                arch.triple()
            );
            add.run()
                .map(drop)
                .map_err(|_| PackageError::MissingTarget {
                    triple: arch.triple(),
                })
        }
        _ => Ok(()),
    }
}

/// Whether `rustup target list --installed` output lists `triple`.
pub fn target_installed(list: &str, triple: &str) -> bool {
    list.lines().any(|line| line.trim() == triple)
}

/// Runs `cargo lambda build --release <arch> --lambda-dir <target>/lambda -p …` once for all the
/// functions, with cargo-lambda's virtualenv first on `PATH` (for `python-zig`). Its output goes
/// to stderr, so stdout holds only the table.
fn build(
    root: &Path,
    arch: Arch,
    functions: &[String],
    profile: Option<&str>,
) -> Result<(), PackageError> {
    let program = CARGO_LAMBDA.program_path(root);
    let mut command = Command::new(&program);
    command.args(["lambda", "build"]);
    match profile {
        Some(profile) => command.args(["--profile", profile]),
        None => command.arg("--release"),
    };
    command
        .arg(cargo_lambda_flag(arch))
        .arg("--lambda-dir")
        .arg(lambda_dir(root));
    for function in functions {
        command.args(["-p", function]);
    }
    let bin_dir = CARGO_LAMBDA.bin_dir(root);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let paths = std::iter::once(bin_dir).chain(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(paths) {
        command.env("PATH", joined);
    }
    command.current_dir(root).stdout(io::stderr());
    let build = Cmd::from(command);
    eprintln!("xtask: {build}");
    build
        .run()
        .map(drop)
        .map_err(|source| PackageError::Build { source })
}

/// Checks that `binary` is a 64-bit little-endian ELF for `arch`; the error says what it is.
pub fn check_elf(binary: &[u8], arch: Arch) -> Result<(), String> {
    if binary.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF file".to_owned());
    }
    if binary.get(4..6) != Some([2, 1].as_slice()) {
        return Err("not a 64-bit little-endian ELF file".to_owned());
    }
    let machine = match binary.get(18..20) {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => return Err("a truncated ELF header".to_owned()),
    };
    if machine == arch.elf_machine() {
        return Ok(());
    }
    let found = [Arch::Arm64, Arch::X86_64]
        .into_iter()
        .find(|a| a.elf_machine() == machine);
    Err(match found {
        Some(other) => format!("it is built for {other}"),
        None => format!("ELF machine {machine:#x}"),
    })
}

/// Zips `binary` as the single entry `bootstrap` (regular file, mode 0755, timestamp
/// 1980-01-01 00:00:00, Deflate level [`DEFLATE_LEVEL`], no extra fields, "made by" Unix).
/// The same input always gives the same bytes, on any host.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>, PackageError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(ENTRY_MODE)
        .system(System::Unix)
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file(ENTRY_NAME, options)?;
    writer
        .write_all(binary)
        .map_err(zip::result::ZipError::Io)?;
    Ok(writer.finish()?.into_inner())
}

/// Renders the packages as an aligned text table with a header: function, arch, size (human
/// and bytes) and the zip's SHA-256 in hex.
pub fn render_table(packages: &[Package]) -> String {
    let header = ["FUNCTION", "ARCH", "SIZE", "BYTES", "SHA-256"].map(str::to_owned);
    // Numbers are right-aligned, text left-aligned.
    let right = [false, false, true, true, false];
    let rows: Vec<[String; 5]> = packages
        .iter()
        .map(|p| {
            [
                p.function.clone(),
                p.arch.to_string(),
                human_size(p.size),
                p.size.to_string(),
                p.sha256_hex(),
            ]
        })
        .collect();
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for ((cell, width), right) in row.iter().zip(widths).zip(right) {
            if right {
                line.push_str(&format!("{cell:>width$}  "));
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A byte count for people: `512 B`, `1.5 KiB`, `3.1 MiB`, `1.0 GiB` (one decimal).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Exact enough: sizes here are far below 2^53.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Renders the manifest `deploy` reads (pretty JSON, ending with a newline):
/// `{"arch", "packages": [{"function", "zip", "size", "sha256", "code_sha256"}]}`, where `zip`
/// is relative to `root` (with `/` separators) when the zip is below it, `sha256` is hex and
/// `code_sha256` base64 (Lambda's `CodeSha256`).
pub fn render_manifest(
    root: &Path,
    arch: Arch,
    packages: &[Package],
) -> Result<String, PackageError> {
    let entries: Vec<function_table::Package> = packages
        .iter()
        .map(|p| function_table::Package {
            function: p.function.clone(),
            zip: PathBuf::from(relative(root, &p.zip)),
            size: p.size,
            sha256: p.sha256_hex(),
            code_sha256: p.code_sha256(),
        })
        .collect();
    Ok(function_table::packages::render(arch, &entries)?)
}

/// `path` relative to `root` with `/` separators, or the whole path when it is not below `root`.
fn relative(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `` `a`, `b` `` for error messages.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn io_error(action: &'static str, path: PathBuf, source: io::Error) -> PackageError {
    PackageError::Io {
        action,
        path,
        source,
    }
}

fn remove_if_exists(path: &Path) -> Result<(), PackageError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io_error("could not remove", path.to_path_buf(), e))
        }
        _ => Ok(()),
    }
}

/// Writes `content` to a temporary file next to `path`, then renames it over `path`, so a
/// reader (Terraform, deploy) never sees a half-written file.
fn write_atomically(path: &Path, content: &[u8]) -> Result<(), PackageError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error("could not create", dir.to_path_buf(), e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(content)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error("could not write", temp, e));
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io_error("could not rename into place", path.to_path_buf(), e)
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn index_reads_back_what_package_zips() {
        let binary = b"\x7fELF pretend binary".to_vec();
        let Ok(zip) = zip_bootstrap(&binary) else {
            panic!("zip the binary");
        };
        assert_eq!(unzip_bootstrap(&zip), Ok(binary));
        let Err(garbage) = unzip_bootstrap(b"not a zip") else {
            panic!("garbage must not unzip");
        };
        assert!(garbage.contains("not a zip"), "{garbage}");

        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default();
        for name in ["bootstrap", "extra"] {
            let Ok(()) = writer.start_file(name, options) else {
                panic!("start {name}");
            };
        }
        let Ok(two) = writer.finish() else {
            panic!("finish the zip");
        };
        let Err(two) = unzip_bootstrap(&two.into_inner()) else {
            panic!("a zip with two entries is not a package");
        };
        assert!(two.contains("2 entries"), "{two}");
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn zip_of(binary: &[u8]) -> Vec<u8> {
        match zip_bootstrap(binary) {
            Ok(bytes) => bytes,
            Err(e) => panic!("zip_bootstrap failed: {e}"),
        }
    }

    #[test]
    fn zip_is_deterministic_and_holds_one_executable_bootstrap() {
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let first = zip_of(&binary);
        let second = zip_of(&binary);
        assert_eq!(first, second, "same input, different zip bytes");

        let other = zip_of(b"\x7fELF something else");
        assert_ne!(first, other, "different input, same zip bytes");

        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(first.clone())) else {
            panic!("the zip does not read back");
        };
        assert_eq!(archive.len(), 1);
        let Ok(mut entry) = archive.by_index(0) else {
            panic!("no entry 0");
        };
        assert_eq!(entry.name().ok().as_deref(), Some("bootstrap"));
        assert_eq!(entry.unix_mode(), Some(0o100_755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
        let Some(modified) = entry.last_modified() else {
            panic!("no timestamp");
        };
        assert_eq!(
            (modified.year(), modified.month(), modified.day()),
            (1980, 1, 1)
        );
        assert_eq!(
            (modified.hour(), modified.minute(), modified.second()),
            (0, 0, 0)
        );
        assert_eq!(entry.extra_data().unwrap_or_default(), Vec::<u8>::new());
        let mut content = Vec::new();
        let Ok(_) = entry.read_to_end(&mut content) else {
            panic!("could not read the entry");
        };
        assert_eq!(content, binary);
        assert!(
            (entry.compressed_size() as usize) < binary.len(),
            "not compressed"
        );
        drop(entry);

        // The raw local file header: version 2.0, no flags, Deflate, DOS time 0, date 1980-01-01,
        // name length 9, extra field length 0, then the name.
        assert_eq!(&first[..4], b"PK\x03\x04");
        assert_eq!(&first[6..8], &[0, 0], "general purpose flags");
        assert_eq!(&first[8..10], &[8, 0], "compression method");
        assert_eq!(&first[10..14], &[0, 0, 0x21, 0], "DOS time and date");
        assert_eq!(&first[26..28], &[9, 0], "name length");
        assert_eq!(&first[28..30], &[0, 0], "extra field length");
        assert_eq!(&first[30..39], b"bootstrap");
    }

    #[test]
    fn unknown_functions_are_named_with_the_known_ones() {
        let known = names(&["health", "me", "get-note"]);
        let Err(err) = select_functions(&known, &names(&["me", "nope", "nope", "helth"])) else {
            panic!("unknown names were accepted");
        };
        assert_eq!(
            err.to_string(),
            "unknown functions `nope`, `helth`; the functions are: get-note, health, me \
             (see `cargo xtask routes`)"
        );
        let Err(err) = select_functions(&known, &names(&["x"])) else {
            panic!("an unknown name was accepted");
        };
        assert_eq!(
            err.to_string(),
            "unknown function `x`; the functions are: get-note, health, me (see `cargo xtask routes`)"
        );
    }

    #[test]
    fn selection_keeps_route_order_and_defaults_to_all() {
        let known = names(&["health", "me", "get-note"]);
        let pick = |requested: &[&str]| {
            select_functions(&known, &names(requested)).map_err(|e| e.to_string())
        };
        assert_eq!(pick(&[]), Ok(known.clone()));
        assert_eq!(
            pick(&["get-note", "health", "get-note"]),
            Ok(names(&["health", "get-note"]))
        );
        assert_eq!(
            select_functions(&[], &[]).map_err(|e| e.to_string()),
            Err(PackageError::NoFunctions.to_string())
        );
    }

    fn sample() -> Vec<Package> {
        let root = Path::new("/repo");
        let mut sha = [0u8; 32];
        for (i, b) in sha.iter_mut().enumerate() {
            *b = i as u8;
        }
        vec![
            Package {
                function: "health".to_owned(),
                arch: Arch::Arm64,
                zip: root.join("target/lambda/health/bootstrap.zip"),
                size: 1_059_567,
                sha256: sha,
            },
            Package {
                function: "list-notes".to_owned(),
                arch: Arch::Arm64,
                zip: root.join("target/lambda/list-notes/bootstrap.zip"),
                size: 2_913_881,
                sha256: [0xff; 32],
            },
        ]
    }

    #[test]
    fn table() {
        let want = "\
FUNCTION    ARCH      SIZE    BYTES  SHA-256
health      arm64  1.0 MiB  1059567  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
list-notes  arm64  2.8 MiB  2913881  ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
";
        assert_eq!(render_table(&sample()), want);
        assert_eq!(render_table(&[]), "FUNCTION  ARCH  SIZE  BYTES  SHA-256\n");
    }

    #[test]
    fn human_sizes() {
        for (bytes, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (3_250_586, "3.1 MiB"),
            (1 << 30, "1.0 GiB"),
            (5 << 40, "5120.0 GiB"),
        ] {
            assert_eq!(human_size(bytes), want, "for {bytes}");
        }
    }

    #[test]
    fn manifest_shape() {
        let packages = sample();
        let Ok(text) = render_manifest(Path::new("/repo"), Arch::Arm64, &packages) else {
            panic!("render_manifest failed");
        };
        assert!(text.ends_with("}\n"));
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            panic!("not JSON: {text}");
        };
        let want = serde_json::json!({
            "arch": "arm64",
            "packages": [
                {
                    "function": "health",
                    "zip": "target/lambda/health/bootstrap.zip",
                    "size": 1_059_567,
                    "sha256": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                    "code_sha256": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                },
                {
                    "function": "list-notes",
                    "zip": "target/lambda/list-notes/bootstrap.zip",
                    "size": 2_913_881,
                    "sha256": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                    "code_sha256": "//////////////////////////////////////////8=",
                },
            ],
        });
        assert_eq!(value, want);

        // A zip outside the workspace keeps its absolute path; x86_64 is spelled as Lambda does.
        let Ok(text) = render_manifest(Path::new("/elsewhere"), Arch::X86_64, &packages[..1])
        else {
            panic!("render_manifest failed");
        };
        assert!(text.contains(r#""arch": "x86_64""#), "{text}");
        assert!(
            text.contains(r#""zip": "/repo/target/lambda/health/bootstrap.zip""#),
            "{text}"
        );
    }

    #[test]
    fn code_sha256_is_base64_of_the_digest() {
        // SHA-256 of the empty string, as Lambda would report it for an empty file.
        let package = Package {
            function: "f".to_owned(),
            arch: Arch::Arm64,
            zip: PathBuf::from("f.zip"),
            size: 0,
            sha256: Sha256::digest(b"").into(),
        };
        assert_eq!(
            package.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            package.code_sha256(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn arch_names() {
        assert_eq!(Arch::default(), Arch::Arm64);
        assert_eq!(Arch::Arm64.to_string(), "arm64");
        assert_eq!(Arch::X86_64.to_string(), "x86_64");
        assert_eq!(Arch::Arm64.triple(), "aarch64-unknown-linux-gnu");
        assert_eq!(cargo_lambda_flag(Arch::X86_64), "--x86-64");
        use clap::ValueEnum;
        assert_eq!(Arch::from_str("arm64", false), Ok(Arch::Arm64));
        assert_eq!(Arch::from_str("x86_64", false), Ok(Arch::X86_64));
        assert_eq!(Arch::from_str("x86-64", false), Ok(Arch::X86_64));
        assert!(Arch::from_str("aarch64", false).is_err());
    }

    #[test]
    fn elf_checks() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2; // ELFCLASS64
        header[5] = 1; // little-endian
        header[18] = 0xB7; // EM_AARCH64
        assert_eq!(check_elf(&header, Arch::Arm64), Ok(()));
        assert_eq!(
            check_elf(&header, Arch::X86_64),
            Err("it is built for arm64".to_owned())
        );
        header[18] = 0x28; // EM_ARM
        assert_eq!(
            check_elf(&header, Arch::Arm64),
            Err("ELF machine 0x28".to_owned())
        );
        assert_eq!(
            check_elf(b"#!/bin/sh\n", Arch::Arm64),
            Err("not an ELF file".to_owned())
        );
        assert_eq!(
            check_elf(b"\x7fELF\x02\x01", Arch::Arm64),
            Err("a truncated ELF header".to_owned())
        );
    }

    #[test]
    fn rustup_target_list() {
        let list = "aarch64-unknown-linux-gnu\nx86_64-unknown-linux-gnu\n";
        assert!(target_installed(list, "aarch64-unknown-linux-gnu"));
        assert!(!target_installed(
            "x86_64-unknown-linux-gnu\n",
            "aarch64-unknown-linux-gnu"
        ));
        assert!(!target_installed("", "x86_64-unknown-linux-gnu"));
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir");
        };
        let path = dir.path().join("f").join(ZIP_NAME);
        for content in [b"one".as_slice(), b"two"] {
            let Ok(()) = write_atomically(&path, content) else {
                panic!("write_atomically failed");
            };
            assert_eq!(std::fs::read(&path).ok().as_deref(), Some(content));
        }
        let Ok(entries) = std::fs::read_dir(dir.path().join("f")) else {
            panic!("no dir");
        };
        let names: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(ZIP_NAME)]);
    }

    #[test]
    fn paths_under_the_target_dir() {
        let root = Path::new("/repo");
        let lambda = lambda_dir(root);
        assert!(lambda.ends_with("lambda"));
        assert_eq!(
            zip_path(root, "me"),
            lambda.join("me").join("bootstrap.zip")
        );
        assert_eq!(binary_path(root, "me"), lambda.join("me").join("bootstrap"));
        assert_eq!(manifest_path(root), lambda.join("packages.json"));
    }
}
