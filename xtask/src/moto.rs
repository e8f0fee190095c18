//! moto server, the local AWS the tests run against (installed by [`crate::pytool::MOTO`]):
//! started on a free loopback port, probed until it answers, and stopped when
//! the [`MotoServer`] guard is dropped.
//!
//! On Ctrl-C the terminal sends SIGINT to the whole foreground process group, moto included,
//! so moto stops with xtask even though the guard's `Drop` does not run then.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, CmdError, Running};

/// How long [`MotoServer::wait_ready`] waits by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`MotoServer::wait_ready`] probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long one probe may take to connect and to read the status line.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The path moto answers on once it is up.
pub const READY_PATH: &str = "/moto-api/";

/// Why moto could not be installed or started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or program.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// moto_server could not be started.
    #[error(transparent)]
    Start(#[from] CmdError),
    /// No free loopback port could be found.
    #[error("could not pick a free port on 127.0.0.1: {0}")]
    Port(io::Error),
    /// moto exited before it answered.
    #[error(
        "moto_server exited ({status}) before answering; last lines of {}:\n{tail}",
        log.display()
    )]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// The log file.
        log: PathBuf,
        /// The end of the log.
        tail: String,
    },
    /// moto did not answer in time.
    #[error(
        "moto_server did not answer GET {url} within {timeout:?}; last lines of {}:\n{tail}",
        log.display()
    )]
    Timeout {
        /// The URL probed.
        url: String,
        /// How long we waited.
        timeout: Duration,
        /// The log file.
        log: PathBuf,
        /// The end of the log.
        tail: String,
    },
}

/// Picks a free port on 127.0.0.1 (binds port 0, reads the port, releases it).
pub fn free_port() -> Result<u16, MotoError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(MotoError::Port)
}

/// A running moto server; dropping it kills the process.
#[derive(Debug)]
pub struct MotoServer {
    child: Running,
    addr: SocketAddr,
    log: PathBuf,
}

impl MotoServer {
    /// Starts `program -H 127.0.0.1 -p <port>` with stdout and stderr appended to `log`
    /// (its directory is created). Does not wait for it: see [`Self::wait_ready`].
    pub fn start(program: &Path, port: u16, log: &Path) -> Result<Self, MotoError> {
        let io_error = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| MotoError::Io {
                action,
                path,
                source,
            }
        };
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(io_error("could not create", dir))?;
        }
        let out = File::create(log).map_err(io_error("could not create", log))?;
        let err = out.try_clone().map_err(io_error("could not open", log))?;
        let mut command = Cmd::new(program).args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        command
            .command_mut()
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command.spawn()?;
        Ok(Self {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log: log.to_path_buf(),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:5123` (what tests read from `MOTO_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Polls `GET /moto-api/` every [`POLL_INTERVAL`] until it answers 2xx; fails with the log's
    /// tail if moto exits first or `timeout` passes.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), MotoError> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait() {
                return Err(MotoError::Exited {
                    status,
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            if probe(self.addr, PROBE_TIMEOUT) {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(MotoError::Timeout {
                    url: format!("{}{READY_PATH}", self.endpoint()),
                    timeout,
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn log_tail(&self) -> String {
        match std::fs::read_to_string(&self.log) {
            Ok(text) => tail(&text, 20),
            Err(e) => format!("(could not read the log: {e})"),
        }
    }
}

/// Sends `GET /moto-api/` to `addr` over plain TCP; true when the answer is a 2xx.
pub fn probe(addr: SocketAddr, timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let request = format!("GET {READY_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
        || stream.write_all(request.as_bytes()).is_err()
    {
        return false;
    }
    // The status line is all we need.
    let mut head = [0; 64];
    let mut len = 0;
    while len < head.len() {
        match stream.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
        if head[..len].contains(&b'\n') {
            break;
        }
    }
    is_success(&head[..len])
}

/// Whether an HTTP response starts with a `HTTP/1.x 2xx` status line.
pub fn is_success(response: &[u8]) -> bool {
    let line = response.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().unwrap_or_default();
    version.starts_with(b"HTTP/1.")
        && status.len() == 3
        && status.starts_with(b"2")
        && status.iter().all(u8::is_ascii_digit)
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn status_lines() {
        for (response, want) in [
            (&b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"[..], true),
            (b"HTTP/1.0 204 No Content\r\n", true),
            (b"HTTP/1.1 200", true),
            (b"HTTP/1.1 404 Not Found\r\n", false),
            (b"HTTP/1.1 500 Internal Server Error\r\n", false),
            (b"HTTP/1.1 2000 Nonsense\r\n", false),
            (b"HTTP/2 200\r\n", false),
            (b"SSH-2.0-OpenSSH\r\n", false),
            (b"", false),
        ] {
            assert_eq!(
                is_success(response),
                want,
                "for {:?}",
                String::from_utf8_lossy(response)
            );
        }
    }

    #[test]
    fn tails() {
        for (text, n, want) in [
            ("a\nb\nc\n", 2, "b\nc"),
            ("a\nb\nc", 5, "a\nb\nc"),
            ("", 3, ""),
            ("a\nb", 0, ""),
        ] {
            assert_eq!(tail(text, n), want, "for {text:?}, {n}");
        }
    }

    /// Serves one canned response on a loopback port and probes it.
    fn probe_answer(response: &'static [u8]) -> bool {
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            panic!("cannot bind a loopback port");
        };
        let Ok(addr) = listener.local_addr() else {
            panic!("no local address");
        };
        let server = thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0; 512];
                let n = stream.read(&mut request).unwrap_or(0);
                let _ = stream.write_all(response);
                String::from_utf8_lossy(&request[..n]).into_owned()
            } else {
                String::new()
            }
        });
        let ok = probe(addr, Duration::from_secs(5));
        let request = server.join().unwrap_or_default();
        assert!(
            request.starts_with("GET /moto-api/ HTTP/1.1\r\n"),
            "unexpected request {request:?}"
        );
        ok
    }

    #[test]
    fn probes() {
        assert!(probe_answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!probe_answer(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"));
        assert!(!probe_answer(b""));
    }

    #[test]
    fn probe_of_a_closed_port_is_false() {
        let port = free_port();
        let Ok(port) = port else {
            panic!("free_port failed: {port:?}");
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        assert!(!probe(addr, Duration::from_secs(1)));
    }

    /// Starts a shell script standing in for moto_server on a closed port and waits for it;
    /// returns the error message.
    #[cfg(unix)]
    fn fake_moto(script: &str, timeout: Duration) -> String {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir");
        };
        let log = dir.path().join("logs").join("moto.log");
        let program = dir.path().join("fake-moto");
        let written = std::fs::write(&program, format!("#!/bin/sh\n{script}\n"));
        assert!(written.is_ok(), "{written:?}");
        let chmod = std::fs::set_permissions(&program, PermissionsExt::from_mode(0o755));
        assert!(chmod.is_ok(), "chmod failed: {chmod:?}");
        let port = free_port();
        let Ok(port) = port else {
            panic!("free_port failed: {port:?}");
        };
        let server = MotoServer::start(&program, port, &log);
        let Ok(mut server) = server else {
            panic!("start failed: {server:?}");
        };
        assert_eq!(server.endpoint(), format!("http://127.0.0.1:{port}"));
        match server.wait_ready(timeout) {
            Ok(()) => panic!("a fake server cannot be ready"),
            Err(e) => e.to_string().replace(&port.to_string(), "PORT"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn server_that_exits_is_reported_with_its_log() {
        let message = fake_moto(
            "echo \"fake moto: args $*\"\nexit 3",
            Duration::from_secs(30),
        );
        assert!(
            message.starts_with(
                "moto_server exited (exit status: 3) before answering; last lines of "
            ),
            "{message}"
        );
        assert!(
            message.ends_with("moto.log:\nfake moto: args -H 127.0.0.1 -p PORT"),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn server_that_never_answers_times_out_with_its_log() {
        // Prints, then waits without listening; dropping the guard kills it.
        let message = fake_moto("echo still starting\nexec sleep 60", Duration::from_secs(1));
        assert!(
            message.starts_with(
                "moto_server did not answer GET http://127.0.0.1:PORT/moto-api/ within 1s; last lines of "
            ),
            "{message}"
        );
        assert!(message.ends_with("moto.log:\nstill starting"), "{message}");
    }
}
