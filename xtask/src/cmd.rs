//! The command runner of xtask: a [`Cmd`] is run with its output streamed ([`Cmd::status`],
//! [`Cmd::run`]) or captured ([`Cmd::output`]), or started in the background ([`Cmd::spawn`], a
//! [`Running`] that is killed when dropped unless waited for); it is timed, and a failure is a
//! [`CmdError`] that names the whole command line (shell-quoted), the exit status and the working
//! directory.

use std::ffi::OsStr;
use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Output};
use std::time::{Duration, Instant};

/// A command to run: program, arguments, working directory, environment.
#[derive(Debug)]
pub struct Cmd {
    command: Command,
}

/// Why a command did not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// The program does not exist (or is not on `PATH`).
    #[error("could not run `{line}`{}: `{program}` is missing (not installed, or not on PATH)", in_dir(.dir))]
    Missing {
        /// The command line, shell-quoted.
        line: String,
        /// The program.
        program: String,
        /// The working directory, when one was set.
        dir: Option<PathBuf>,
    },
    /// The program exists but could not be started.
    #[error("could not run `{line}`{}: {source}", in_dir(.dir))]
    Spawn {
        /// The command line, shell-quoted.
        line: String,
        /// The working directory, when one was set.
        dir: Option<PathBuf>,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The command ran and exited unsuccessfully.
    #[error("`{line}`{} failed ({status}){}", in_dir(.dir), stderr_tail(.stderr))]
    Failed {
        /// The command line, shell-quoted.
        line: String,
        /// The working directory, when one was set.
        dir: Option<PathBuf>,
        /// How it exited.
        status: ExitStatus,
        /// Its standard error, when it was captured.
        stderr: String,
    },
}

fn in_dir(dir: &Option<PathBuf>) -> String {
    dir.as_ref()
        .map(|d| format!(" (in {})", d.display()))
        .unwrap_or_default()
}

fn stderr_tail(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(":\n{trimmed}")
    }
}

/// What a streamed command did: its status and how long it ran.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// How it exited.
    pub status: ExitStatus,
    /// Wall-clock time from spawn to exit.
    pub elapsed: Duration,
}

impl Cmd {
    /// A command running `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            command: Command::new(program),
        }
    }

    /// Adds one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Runs in `dir`.
    #[must_use]
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// The underlying [`Command`], for settings this type does not wrap.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// The command line, shell-quoted: `cargo run -p 'a b'`.
    #[must_use]
    pub fn line(&self) -> String {
        let words = std::iter::once(self.command.get_program())
            .chain(self.command.get_args())
            .map(|w| w.to_string_lossy().into_owned())
            .collect::<Vec<_>>();
        shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
    }

    fn dir_of(&self) -> Option<PathBuf> {
        self.command.get_current_dir().map(Path::to_path_buf)
    }

    fn spawn_error(&self, source: std::io::Error) -> CmdError {
        if source.kind() == ErrorKind::NotFound {
            CmdError::Missing {
                line: self.line(),
                program: self.command.get_program().to_string_lossy().into_owned(),
                dir: self.dir_of(),
            }
        } else {
            CmdError::Spawn {
                line: self.line(),
                dir: self.dir_of(),
                source,
            }
        }
    }

    /// Runs with inherited stdio and returns its status and duration, whatever the status.
    ///
    /// # Errors
    /// [`CmdError::Missing`] or [`CmdError::Spawn`].
    pub fn timed(mut self) -> Result<Ran, CmdError> {
        let started = Instant::now();
        let status = self
            .command
            .status()
            .map_err(|source| self.spawn_error(source))?;
        Ok(Ran {
            status,
            elapsed: started.elapsed(),
        })
    }

    /// Runs with inherited stdio and returns its exit status, whatever it is.
    ///
    /// # Errors
    /// [`CmdError::Missing`] or [`CmdError::Spawn`].
    pub fn status(self) -> Result<ExitStatus, CmdError> {
        self.timed().map(|ran| ran.status)
    }

    /// Runs with inherited stdio; an unsuccessful exit is an error.
    ///
    /// # Errors
    /// [`CmdError::Missing`], [`CmdError::Spawn`] or [`CmdError::Failed`].
    pub fn run(self) -> Result<Duration, CmdError> {
        let line = self.line();
        let dir = self.dir_of();
        let ran = self.timed()?;
        if ran.status.success() {
            Ok(ran.elapsed)
        } else {
            Err(CmdError::Failed {
                line,
                dir,
                status: ran.status,
                stderr: String::new(),
            })
        }
    }

    /// Runs with stdout and stderr captured; an unsuccessful exit is an error carrying stderr.
    ///
    /// # Errors
    /// [`CmdError::Missing`], [`CmdError::Spawn`] or [`CmdError::Failed`].
    pub fn output(mut self) -> Result<Output, CmdError> {
        let output = self
            .command
            .output()
            .map_err(|source| self.spawn_error(source))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(CmdError::Failed {
                line: self.line(),
                dir: self.dir_of(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// Starts it in the background (stdio as set, inherited by default).
    ///
    /// # Errors
    /// [`CmdError::Missing`] or [`CmdError::Spawn`].
    pub fn spawn(mut self) -> Result<Running, CmdError> {
        let started = Instant::now();
        let child = self
            .command
            .spawn()
            .map_err(|source| self.spawn_error(source))?;
        Ok(Running {
            child,
            line: self.line(),
            dir: self.dir_of(),
            started,
        })
    }

    /// [`Cmd::output`]'s stdout as text.
    ///
    /// # Errors
    /// As [`Cmd::output`].
    pub fn read(self) -> Result<String, CmdError> {
        self.output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

/// A command started by [`Cmd::spawn`]. Dropping it kills and reaps the process unless it was
/// waited for, so that nothing started by xtask outlives an error.
#[derive(Debug)]
pub struct Running {
    child: Child,
    line: String,
    dir: Option<PathBuf>,
    started: Instant,
}

impl Running {
    /// The command line it runs, shell-quoted.
    #[must_use]
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Its exit status if it has exited (a failure to ask counts as still running).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for it to exit; its status and how long it ran since it was started.
    ///
    /// # Errors
    /// [`CmdError::Spawn`] when the operating system cannot wait for it.
    pub fn wait(&mut self) -> Result<Ran, CmdError> {
        let status = self.child.wait().map_err(|source| CmdError::Spawn {
            line: self.line.clone(),
            dir: self.dir.clone(),
            source,
        })?;
        Ok(Ran {
            status,
            elapsed: self.started.elapsed(),
        })
    }
}

impl Drop for Running {
    /// Kills the process unless it was waited for (a reaped child is not signalled again).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl From<Command> for Cmd {
    /// A [`Command`] built elsewhere, run the way every xtask command is.
    fn from(command: Command) -> Self {
        Self { command }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())
    }
}

/// The process exit code for a finished command's status: its own code where it has one in
/// 1..=255, else 1 for any failure.
#[must_use]
pub fn exit_code(status: ExitStatus) -> ExitCode {
    if status.success() {
        return ExitCode::SUCCESS;
    }
    status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .filter(|&code| code != 0)
        .map_or(ExitCode::FAILURE, ExitCode::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_names_its_command_line_status_and_directory() {
        let dir = std::env::temp_dir();
        let err = Cmd::new("sh")
            .args(["-c", "echo oops >&2; exit 3", "two words"])
            .dir(&dir)
            .output();
        let Err(err) = err else {
            panic!("exit 3 should fail");
        };
        let text = err.to_string();
        assert!(
            text.contains("`sh -c 'echo oops >&2; exit 3' 'two words'`"),
            "{text}"
        );
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains(&format!("(in {})", dir.display())), "{text}");
        assert!(text.contains("oops"), "{text}");
        let streamed = Cmd::new("sh").args(["-c", "exit 4"]).run();
        let Err(streamed) = streamed else {
            panic!("exit 4 should fail");
        };
        assert!(
            streamed.to_string().contains("exit status: 4"),
            "{streamed}"
        );
    }

    #[test]
    fn a_missing_program_says_it_is_missing() {
        let err = Cmd::new("no-such-program-xtask").arg("--flag").status();
        let Err(err) = err else {
            panic!("the program does not exist");
        };
        assert!(matches!(err, CmdError::Missing { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("`no-such-program-xtask --flag`")
                && text.contains("`no-such-program-xtask` is missing"),
            "{text}"
        );
    }

    #[test]
    fn a_background_command_is_waited_for_or_killed_when_dropped() {
        let done = Cmd::new("sh").args(["-c", "exit 6"]).spawn();
        let Ok(mut done) = done else {
            panic!("sh should start: {done:?}");
        };
        assert_eq!(done.line(), "sh -c 'exit 6'");
        let ran = done.wait();
        assert_eq!(ran.ok().and_then(|r| r.status.code()), Some(6));
        assert_eq!(done.try_wait().and_then(|s| s.code()), Some(6));

        let sleeper = Cmd::new("sleep").arg("30").spawn();
        let Ok(mut sleeper) = sleeper else {
            panic!("sh should start: {sleeper:?}");
        };
        assert!(sleeper.try_wait().is_none(), "it is still sleeping");
        let pid = sleeper.child.id();
        drop(sleeper);
        // Dropped: killed and reaped, so its pid is no longer a process of ours.
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the dropped command (pid {pid}) still runs or was not reaped"
        );

        let missing = Cmd::new("no-such-program-xtask").spawn();
        assert!(
            matches!(missing, Err(CmdError::Missing { .. })),
            "{missing:?}"
        );
    }

    #[test]
    fn exit_codes_pass_through_and_a_signal_is_a_failure() {
        for (script, want) in [
            ("exit 0", ExitCode::SUCCESS),
            ("exit 101", ExitCode::from(101)),
            ("exit 1", ExitCode::FAILURE),
            ("kill -9 $$", ExitCode::FAILURE),
        ] {
            let status = Cmd::new("sh").args(["-c", script]).status();
            let Ok(status) = status else {
                panic!("sh failed to start: {status:?}");
            };
            assert_eq!(exit_code(status), want, "for {script}");
        }
    }

    #[test]
    fn success_is_timed_and_captured() {
        let out = Cmd::new("sh").args(["-c", "printf hi"]).read();
        assert_eq!(out.ok().as_deref(), Some("hi"));
        assert!(Cmd::new("true").run().is_ok());
        assert_eq!(
            Cmd::new("sh")
                .args(["-c", "exit 5"])
                .status()
                .ok()
                .map(exit_code),
            Some(ExitCode::from(5))
        );
    }
}
