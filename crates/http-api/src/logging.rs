//! Structured logging: JSON lines on stdout, which Lambda ships to CloudWatch Logs.
//!
//! Call [`init_tracing`] once at the top of a function's `main`. The level comes from
//! `RUST_LOG` (full `tracing` filter syntax, e.g. `info,notes=debug`), else `LOG_LEVEL`,
//! else `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), else `info`.

use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

/// The filter used when no environment variable sets one, or the one set is invalid.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Installs the global JSON-lines subscriber. Safe to call more than once: later calls (and
/// calls after another subscriber was installed) do nothing.
pub fn init_tracing() {
    let directive = filter_directive(|name| std::env::var(name).ok());
    let (filter, rejected) = match EnvFilter::try_new(&directive) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(DEFAULT_LOG_FILTER), Some(error)),
    };
    let installed =
        tracing::subscriber::set_global_default(subscriber(filter, std::io::stdout)).is_ok();
    if installed && let Some(error) = rejected {
        tracing::warn!(
            filter = %directive,
            %error,
            "invalid log filter in RUST_LOG / LOG_LEVEL; using {DEFAULT_LOG_FILTER}"
        );
    }
}

/// The subscriber [`init_tracing`] installs, writing to `writer`: one JSON object per line,
/// with the fields of the current span (the request ids, method and route) on every line.
pub(crate) fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// The filter directive the environment asks for (see the module docs for the order).
/// Empty values count as unset.
fn filter_directive(var: impl Fn(&str) -> Option<String>) -> String {
    ["RUST_LOG", "LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"]
        .into_iter()
        .filter_map(var)
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)], expected: &str) {
        let directive = filter_directive(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(directive, expected, "{vars:?}");
    }

    #[test]
    fn filter_precedence() {
        check(&[], "info");
        check(&[("LOG_LEVEL", "DEBUG")], "DEBUG");
        check(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")], "WARN");
        check(
            &[("RUST_LOG", "info,notes=trace"), ("LOG_LEVEL", "error")],
            "info,notes=trace",
        );
        check(&[("RUST_LOG", " "), ("LOG_LEVEL", "error")], "error");
        check(
            &[("LOG_LEVEL", "warn"), ("AWS_LAMBDA_LOG_LEVEL", "debug")],
            "warn",
        );
    }

    #[test]
    fn upper_case_levels_are_valid_filters() {
        for level in ["DEBUG", "Info", "WARN", "error", "info,notes=TRACE"] {
            assert!(EnvFilter::try_new(level).is_ok(), "{level}");
        }
    }

    #[test]
    fn init_is_idempotent() {
        init_tracing();
        init_tracing();
        assert!(tracing::dispatcher::has_been_set());
    }
}
