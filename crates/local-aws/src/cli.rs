//! What the local stack's command lines (`local-aws`, the bench's `soak`) share around their
//! async work: logs on stderr filtered by `LOCAL_AWS_LOG`, a multi-threaded runtime, and an
//! error printed with its whole chain and a failing exit code.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Logs to stderr (colours only on a terminal, no targets), filtered by `LOCAL_AWS_LOG` or, when
/// unset or invalid, by `default` (e.g. `"info"`).
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCAL_AWS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// Runs `work` on a multi-threaded tokio runtime: success is exit code 0; an error is printed
/// as `error: …` (with an `anyhow` error's causes, each after a colon) and is exit code 1.
pub fn block_on<E: Display>(work: impl Future<Output = Result<(), E>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_become_exit_codes() {
        assert_eq!(block_on(async { Ok::<(), String>(()) }), ExitCode::SUCCESS);
        assert_eq!(
            block_on(async { Err::<(), _>(anyhow::anyhow!("no").context("while testing")) }),
            ExitCode::FAILURE
        );
    }
}
