//! Debian packages the tests run from, unpacked into `.tools/debs/root/` (git-ignored) without
//! installing them system-wide: `apt-get download` fetches the `.deb` files and `dpkg-deb -x`
//! unpacks them. Two sets: qemu-user with the arm64 glibc (to run the packaged arm64
//! `bootstrap` on an x86_64 machine), and Chromium with chromedriver and the few libraries the
//! machine image lacks (the browser test), run with `LD_LIBRARY_PATH` pointing into the root.
//!
//! A marker file per set records the package list that was unpacked, so an unchanged list costs
//! nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{Cmd, CmdError};

/// The packages unpacked for the arm64 test: the emulator and the arm64 C runtime (glibc and
/// libgcc_s, which the dynamically linked binaries need).
pub const ARM64_PACKAGES: &[&str] = &[
    "qemu-user-static",
    "libc6-arm64-cross",
    "libgcc-s1-arm64-cross",
];

/// Headless Chromium, its WebDriver, and the shared libraries of theirs that the machine image
/// (Debian 12 with the Rust toolchain) does not carry; `ldd` found these.
pub const CHROMIUM_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-common",
    "chromium-driver",
    "libopenh264-7",
    "libdouble-conversion3",
    "libharfbuzz-subset0",
    "libpulse0",
    "libflac12",
    "libopus0",
    "libxnvctrl0",
    "libminizip1",
    "libopenjp2-7",
    "libogg0",
    "libsndfile1",
    "libasyncns0",
    "libvorbis0a",
    "libvorbisenc2",
    "libmpg123-0",
    "libmp3lame0",
];

/// The Chromium binary, once unpacked (the real one, not Debian's wrapper script).
pub fn chromium(root: &Path) -> PathBuf {
    unpack_root(root).join("usr/lib/chromium/chromium")
}

/// chromedriver, once unpacked.
pub fn chromedriver(root: &Path) -> PathBuf {
    unpack_root(root).join("usr/bin/chromedriver")
}

/// The library path Chromium needs from the unpacked root.
pub fn library_path(root: &Path) -> String {
    let lib = unpack_root(root).join("usr/lib/x86_64-linux-gnu");
    format!("{}:{}", lib.display(), lib.join("pulseaudio").display())
}

/// Why the packages could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    /// A command could not start or failed (its standard error included).
    #[error("{source}; {hint}")]
    Command {
        /// What went wrong, with the command line.
        source: CmdError,
        /// What to try.
        hint: &'static str,
    },
    /// A file could not be written or read.
    #[error("{path}: {cause}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        cause: String,
    },
}

/// Where the packages are unpacked: `<root>/.tools/debs/root`.
pub fn unpack_root(root: &Path) -> PathBuf {
    root.join(".tools/debs/root")
}

/// The qemu-user emulator for arm64 binaries, once unpacked.
pub fn qemu_aarch64(root: &Path) -> PathBuf {
    unpack_root(root).join("usr/bin/qemu-aarch64-static")
}

/// The arm64 sysroot qemu loads the dynamic linker and libraries from (`QEMU_LD_PREFIX`).
pub fn arm64_sysroot(root: &Path) -> PathBuf {
    unpack_root(root).join("usr/aarch64-linux-gnu")
}

/// Downloads and unpacks the set `name` of `packages` unless its marker says they already are;
/// returns whether it did anything. Runs `apt-get update` once (as root only) when the package
/// lists lack them.
pub fn ensure(root: &Path, name: &str, packages: &[&str]) -> Result<bool, DebError> {
    let dir = root.join(".tools/debs");
    let marker = dir.join(format!("{name}.installed"));
    let want = packages.join("\n") + "\n";
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == want) {
        return Ok(false);
    }
    eprintln!(
        "xtask: unpacking {} into .tools/debs (first run only)…",
        packages.join(", ")
    );
    let download = dir.join(format!("download-{name}"));
    let _ = std::fs::remove_dir_all(&download);
    std::fs::create_dir_all(&download).map_err(|e| io_error(&download, &e))?;
    let fetch = || {
        let mut command = Command::new("apt-get");
        command
            .arg("download")
            .args(packages)
            .current_dir(&download);
        run(command, "")
    };
    if fetch().is_err() {
        // A fresh machine may have no package lists yet; only root can refresh them.
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        run(
            update,
            "the package lists lack these packages and could not be refreshed: run `apt-get update` as root",
        )?;
        fetch().map_err(|e| match e {
            DebError::Command { source, .. } => DebError::Command {
                source,
                hint: "check that apt can reach the Debian archive",
            },
            other => other,
        })?;
    }
    let target = unpack_root(root);
    let entries = std::fs::read_dir(&download).map_err(|e| io_error(&download, &e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error(&download, &e))?.path();
        if path.extension().is_some_and(|e| e == "deb") {
            let mut unpack = Command::new("dpkg-deb");
            unpack.arg("-x").arg(&path).arg(&target);
            run(
                unpack,
                "dpkg-deb comes with dpkg: is this a Debian-based machine?",
            )?;
        }
    }
    std::fs::write(&marker, want).map_err(|e| io_error(&marker, &e))?;
    let _ = std::fs::remove_dir_all(&download);
    Ok(true)
}

/// Runs `command` with its output captured; a failure (standard error included) has `hint`.
fn run(command: Command, hint: &'static str) -> Result<(), DebError> {
    Cmd::from(command)
        .output()
        .map(drop)
        .map_err(|source| DebError::Command { source, hint })
}

fn io_error(path: &Path, error: &std::io::Error) -> DebError {
    DebError::Io {
        path: path.display().to_string(),
        cause: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_carries_its_stderr_and_the_hint() {
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo no such package >&2; exit 100"]);
        let err = run(failing, "check apt").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(
                "`sh -c 'echo no such package >&2; exit 100'` failed (exit status: 100):\n\
                 no such package; check apt"
                    .to_owned()
            )
        );
        assert!(run(Command::new("true"), "unused").is_ok());
    }
}
