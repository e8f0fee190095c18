//! Structured logging: JSON lines on stdout, which Lambda ships to CloudWatch Logs.
//!
//! Call [`init_tracing`] once at the top of a function's `main`. The filter comes from the
//! environment:
//!
//! - `RUST_LOG`, when set: a full `tracing` filter directive for experts (e.g.
//!   `info,notes=debug,aws_smithy_runtime=debug`), applied to every crate as written;
//! - else `LOG_LEVEL` (what `IaC/variables.tf`'s `log_level` and `cargo xtask dev -- --log-level`
//!   set), else `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls): a bare level
//!   (`off`, `error`, `warn`, `info`, `debug`, `trace`, any case). It applies to this
//!   project's own crates only ([`OWN_TARGETS`]: `http_api`, `notes_http`, `notes`,
//!   `cognito_claims` and every function binary); every other crate logs at `warn` at most.
//!   `LOG_LEVEL=trace` is therefore `warn,http_api=trace,notes_http=trace,notes=trace,…`
//!   (and every other one of them at `trace`), with the crate names matched exactly (a module
//!   of the crate, `notes::store`, counts; `notesy` would not);
//! - nothing set: `info` for this project's crates, `warn` for the others.
//!
//! A value that is no valid filter (or no bare level, for `LOG_LEVEL`) is reported in one
//! warning and replaced by that default.
//!
//! Whatever the filter, even a `RUST_LOG` that names them or a span they run in, the events that
//! dump a request's payload or credentials stay off ([`PAYLOAD_TARGETS`]; only their events more
//! verbose than `debug` are dropped, their warnings and errors carry no payload):
//!
//! | target | what it would log at `trace` |
//! |---|---|
//! | `lambda_runtime::layers::api_response` | the raw invocation event: every header (`Authorization`, `Cookie`), the `cookies`, the authorizer's claims and the body |
//! | `lambda_runtime::requests` | a streaming response's metadata prelude (its headers and cookies) |
//! | `aws_smithy_runtime::client::orchestrator` | every AWS SDK request and response, bodies included (the notes written to and read from S3) |
//! | `aws_sigv4` | the request being signed, with unredacted header values (the session token) |
//!
//! No span of those crates carries such fields (their spans hold request ids, trace ids and
//! operation names), so spans need no extra rule. This project's own crates log ids, routes,
//! paths, statuses, durations and error kinds, never a note's title or body, a header value,
//! a claim other than `sub`, or a token, at any level.

use tracing::{Metadata, level_filters::LevelFilter, span, subscriber::Interest};
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::MakeWriter,
    layer::{Context, Filter, SubscriberExt},
    registry::LookupSpan,
};

/// The level of this project's crates when no environment variable sets one, or the one set
/// is invalid.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// The `tracing` targets of this project's own crates (crate names with `_`): the shared
/// crates every function links, and every function binary under `crates/functions`.
pub const OWN_TARGETS: &[&str] = &[
    "http_api",
    "notes_http",
    "notes",
    "cognito_claims",
    "admin_stats",
    "create_note",
    "delete_note",
    "get_note",
    "health",
    "list_notes",
    "me",
    "replace_note",
];

/// Targets whose events more verbose than `debug` carry a request's payload or credentials:
/// always off (see the module docs for what each would log).
pub const PAYLOAD_TARGETS: &[&str] = &[
    "lambda_runtime::layers::api_response",
    "lambda_runtime::requests",
    "aws_smithy_runtime::client::orchestrator",
    "aws_sigv4",
];

/// The most verbose level [`PAYLOAD_TARGETS`] may log at.
const PAYLOAD_TARGETS_MAX: LevelFilter = LevelFilter::DEBUG;

/// The most verbose level other crates log at under a bare level.
const OTHERS_MAX: LevelFilter = LevelFilter::WARN;

/// Installs the global JSON-lines subscriber. Safe to call more than once: later calls (and
/// calls after another subscriber was installed) do nothing.
pub fn init_tracing() {
    let (filter, rejected) = LogFilter::from_env(|name| std::env::var(name).ok());
    let installed =
        tracing::subscriber::set_global_default(subscriber(filter, std::io::stdout)).is_ok();
    if installed && let Some(rejected) = rejected {
        tracing::warn!(
            variable = rejected.variable,
            filter = %rejected.value,
            error = %rejected.error,
            "invalid log filter; using {DEFAULT_LOG_LEVEL} for this project's crates"
        );
    }
}

/// The subscriber [`init_tracing`] installs, writing to `writer`: one JSON object per line,
/// with the fields of the current span (the request ids, method and route) on every line.
pub(crate) fn subscriber<W>(filter: LogFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer)
        .with_filter(filter);
    tracing_subscriber::registry().with(layer)
}

/// An environment variable whose value could not be used.
#[derive(Debug)]
pub(crate) struct Rejected {
    variable: &'static str,
    value: String,
    error: String,
}

/// The filter of the subscriber: what the environment asks for (see the module docs), with
/// [`PAYLOAD_TARGETS`] capped at `debug` on top.
#[derive(Debug)]
pub(crate) struct LogFilter {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// A bare level: `own` for [`OWN_TARGETS`], `others` for every other target.
    Levels {
        own: LevelFilter,
        others: LevelFilter,
    },
    /// A `RUST_LOG` directive.
    Directive(Box<EnvFilter>),
}

impl LogFilter {
    /// The filter for a bare level: `level` for this project's crates, at most `warn` for
    /// the others.
    #[must_use]
    pub(crate) fn level(level: LevelFilter) -> Self {
        Self {
            mode: Mode::Levels {
                own: level,
                others: level.min(OTHERS_MAX),
            },
        }
    }

    /// The filter the environment asks for (`var` reads a variable), and the variable that
    /// was rejected, if one was. Empty values count as unset.
    pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>) -> (Self, Option<Rejected>) {
        let set = |name: &str| {
            var(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let default = || Self::level(LevelFilter::INFO);
        if let Some(value) = set("RUST_LOG") {
            return match EnvFilter::try_new(&value) {
                Ok(filter) => (
                    Self {
                        mode: Mode::Directive(Box::new(filter)),
                    },
                    None,
                ),
                Err(error) => (
                    default(),
                    Some(Rejected {
                        variable: "RUST_LOG",
                        value,
                        error: error.to_string(),
                    }),
                ),
            };
        }
        for variable in ["LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"] {
            if let Some(value) = set(variable) {
                return match value.parse::<LevelFilter>() {
                    Ok(level) => (Self::level(level), None),
                    Err(error) => (
                        default(),
                        Some(Rejected {
                            variable,
                            value,
                            error: format!(
                                "{error} (a bare level; a full filter goes in RUST_LOG)"
                            ),
                        }),
                    ),
                };
            }
        }
        (default(), None)
    }

    /// Whether the mode alone (without the payload cap) lets `meta` through.
    fn mode_allows_statically(&self, meta: &Metadata<'_>) -> Option<bool> {
        match &self.mode {
            Mode::Levels { own, others } => {
                let max = if is_under(meta.target(), OWN_TARGETS) {
                    own
                } else {
                    others
                };
                Some(meta.level() <= max)
            }
            Mode::Directive(_) => None,
        }
    }
}

/// Whether `target` is one of `crates` or a module inside one (`notes::store` is in `notes`,
/// `notesy` is not).
fn is_under(target: &str, crates: &[&str]) -> bool {
    crates.iter().any(|name| {
        target
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Whether `meta` is one of the payload-carrying events or spans that stay off.
fn is_payload(meta: &Metadata<'_>) -> bool {
    meta.level() > &PAYLOAD_TARGETS_MAX && is_under(meta.target(), PAYLOAD_TARGETS)
}

impl<S> Filter<S> for LogFilter
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if is_payload(meta) {
            return false;
        }
        match &self.mode {
            Mode::Directive(filter) => Filter::<S>::enabled(filter.as_ref(), meta, cx),
            Mode::Levels { .. } => self.mode_allows_statically(meta).unwrap_or(false),
        }
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if is_payload(meta) {
            return Interest::never();
        }
        match &self.mode {
            Mode::Directive(filter) => Filter::<S>::callsite_enabled(filter.as_ref(), meta),
            Mode::Levels { .. } => {
                if self.mode_allows_statically(meta).unwrap_or(false) {
                    Interest::always()
                } else {
                    Interest::never()
                }
            }
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        match &self.mode {
            Mode::Directive(filter) => Filter::<S>::max_level_hint(filter.as_ref()),
            Mode::Levels { own, others } => Some((*own).max(*others)),
        }
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, S>) {
        if let Mode::Directive(filter) = &self.mode {
            Filter::<S>::on_new_span(filter.as_ref(), attrs, id, cx);
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, cx: Context<'_, S>) {
        if let Mode::Directive(filter) = &self.mode {
            Filter::<S>::on_record(filter.as_ref(), id, values, cx);
        }
    }

    fn on_enter(&self, id: &span::Id, cx: Context<'_, S>) {
        if let Mode::Directive(filter) = &self.mode {
            Filter::<S>::on_enter(filter.as_ref(), id, cx);
        }
    }

    fn on_exit(&self, id: &span::Id, cx: Context<'_, S>) {
        if let Mode::Directive(filter) = &self.mode {
            Filter::<S>::on_exit(filter.as_ref(), id, cx);
        }
    }

    fn on_close(&self, id: span::Id, cx: Context<'_, S>) {
        if let Mode::Directive(filter) = &self.mode {
            Filter::<S>::on_close(filter.as_ref(), id, cx);
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::testing::Capture;

    fn from(vars: &[(&str, &str)]) -> (LogFilter, Option<Rejected>) {
        LogFilter::from_env(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// What the filter for `vars` lets through of one event per (target, level), emitted
    /// with `tracing`'s macros (so through the callsite cache and `enabled` both), optionally
    /// inside a span named `request`: the `(target, level)` pairs that were written.
    fn written(vars: &[(&str, &str)], in_span: bool) -> Vec<(String, String)> {
        let (filter, rejected) = from(vars);
        assert!(rejected.is_none(), "{vars:?}: {rejected:?}");
        let capture = Capture::default();
        let subscriber = subscriber(filter, capture.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(target: "http_api", "request", request_id = "r-1");
            let _entered = in_span.then(|| span.enter());
            emit_everywhere();
        });
        capture
            .json_lines()
            .iter()
            .map(|line| {
                (
                    line["target"].as_str().unwrap_or_default().to_owned(),
                    line["level"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// One event per level for each target the tests look at (the target of an event must
    /// be a literal, hence the macro).
    fn emit_everywhere() {
        macro_rules! at_every_level {
            ($($target:literal),*) => {$(
                tracing::error!(target: $target, body = "payload", "e");
                tracing::warn!(target: $target, body = "payload", "w");
                tracing::info!(target: $target, body = "payload", "i");
                tracing::debug!(target: $target, body = "payload", "d");
                tracing::trace!(target: $target, body = "payload", "t");
            )*};
        }
        at_every_level!(
            "http_api",
            "notes_http::init",
            "notes::store::s3",
            "cognito_claims::verify::jwks",
            "get_note",
            "me",
            "memchr",
            "notesy",
            "hyper_util::client",
            "lambda_runtime::layers::api_response",
            "lambda_runtime::requests",
            "lambda_runtime::runtime",
            "aws_smithy_runtime::client::orchestrator",
            "aws_smithy_runtime::client::orchestrator::http",
            "aws_sigv4::http_request::sign"
        );
    }

    fn levels_of(written: &[(String, String)], target: &str) -> Vec<String> {
        written
            .iter()
            .filter(|(t, _)| t == target)
            .map(|(_, level)| level.clone())
            .collect()
    }

    const ALL: [&str; 5] = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
    const TO_DEBUG: [&str; 4] = ["ERROR", "WARN", "INFO", "DEBUG"];
    const TO_WARN: [&str; 2] = ["ERROR", "WARN"];

    #[test]
    fn trace_is_trace_for_our_crates_and_never_dumps_payloads() {
        for vars in [
            &[("LOG_LEVEL", "trace")][..],
            &[("LOG_LEVEL", "TRACE")],
            &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
        ] {
            for in_span in [false, true] {
                let written = written(vars, in_span);
                for target in [
                    "http_api",
                    "notes_http::init",
                    "notes::store::s3",
                    "cognito_claims::verify::jwks",
                    "get_note",
                    "me",
                ] {
                    assert_eq!(levels_of(&written, target), ALL, "{vars:?} {target}");
                }
                for target in [
                    "memchr",
                    "notesy",
                    "hyper_util::client",
                    "lambda_runtime::runtime",
                    "lambda_runtime::layers::api_response",
                    "lambda_runtime::requests",
                    "aws_smithy_runtime::client::orchestrator",
                    "aws_smithy_runtime::client::orchestrator::http",
                    "aws_sigv4::http_request::sign",
                ] {
                    assert_eq!(levels_of(&written, target), TO_WARN, "{vars:?} {target}");
                }
            }
        }
    }

    #[test]
    fn rust_log_is_for_experts_but_payload_targets_stay_off() {
        for (rust_log, in_span) in [
            ("trace", false),
            ("trace", true),
            (
                "lambda_runtime=trace,aws_smithy_runtime=trace,aws_sigv4=trace",
                false,
            ),
            ("lambda_runtime::layers::api_response=trace", false),
            // A span directive enables everything inside the span, the runtime's dump included
            // if nothing stopped it.
            ("[request]=trace", true),
        ] {
            let written = written(&[("RUST_LOG", rust_log), ("LOG_LEVEL", "error")], in_span);
            for target in PAYLOAD_TARGETS {
                let levels: Vec<String> = written
                    .iter()
                    .filter(|(t, _)| is_under(t, &[target]))
                    .map(|(_, level)| level.clone())
                    .collect();
                assert!(
                    !levels.iter().any(|level| level == "TRACE"),
                    "RUST_LOG={rust_log}: {target} wrote {levels:?}"
                );
            }
            assert_eq!(
                levels_of(&written, "lambda_runtime::layers::api_response"),
                TO_DEBUG,
                "RUST_LOG={rust_log}: the runtime's errors still show"
            );
        }
        // Everything else is as the directive says.
        let written = written(&[("RUST_LOG", "warn,hyper_util=trace,notes=error")], false);
        assert_eq!(levels_of(&written, "hyper_util::client"), ALL);
        assert_eq!(levels_of(&written, "notes::store::s3"), ["ERROR"]);
        assert_eq!(levels_of(&written, "http_api"), TO_WARN);
    }

    #[test]
    fn bare_levels_and_defaults() {
        let written_at = |vars: &[(&str, &str)]| {
            let written = written(vars, false);
            (
                levels_of(&written, "http_api"),
                levels_of(&written, "hyper_util::client"),
            )
        };
        let strings = |levels: &[&str]| levels.iter().map(|l| (*l).to_owned()).collect();
        for (vars, own, others) in [
            (&[][..], &["ERROR", "WARN", "INFO"][..], &TO_WARN[..]),
            (&[("LOG_LEVEL", "DEBUG")], &TO_DEBUG, &TO_WARN),
            (
                &[("LOG_LEVEL", " info ")],
                &["ERROR", "WARN", "INFO"],
                &TO_WARN,
            ),
            (&[("LOG_LEVEL", "warn")], &TO_WARN, &TO_WARN),
            (&[("LOG_LEVEL", "error")], &["ERROR"], &["ERROR"]),
            (&[("LOG_LEVEL", "off")], &[], &[]),
            (
                &[("RUST_LOG", " "), ("LOG_LEVEL", "error")],
                &["ERROR"],
                &["ERROR"],
            ),
            (
                &[("LOG_LEVEL", "warn"), ("AWS_LAMBDA_LOG_LEVEL", "debug")],
                &TO_WARN,
                &TO_WARN,
            ),
            (&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")], &TO_DEBUG, &TO_WARN),
        ] {
            assert_eq!(
                written_at(vars),
                (strings(own), strings(others)),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn invalid_values_fall_back_to_the_default_and_say_so() {
        for (vars, variable) in [
            (&[("LOG_LEVEL", "info,notes=trace")][..], "LOG_LEVEL"),
            (&[("LOG_LEVEL", "verbose")], "LOG_LEVEL"),
            (&[("AWS_LAMBDA_LOG_LEVEL", "loud")], "AWS_LAMBDA_LOG_LEVEL"),
            (&[("RUST_LOG", "notes=[")], "RUST_LOG"),
        ] {
            let (filter, rejected) = from(vars);
            let rejected = rejected.expect("rejected");
            assert_eq!(rejected.variable, variable, "{vars:?}");
            assert!(
                matches!(
                    filter.mode,
                    Mode::Levels {
                        own: LevelFilter::INFO,
                        others: LevelFilter::WARN
                    }
                ),
                "{vars:?}: {filter:?}"
            );
        }
    }

    #[test]
    fn own_targets_are_exactly_the_shared_crates_and_the_functions() {
        let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let mut expected = vec![
            "cognito_claims".to_owned(),
            "http_api".into(),
            "notes".into(),
            "notes_http".into(),
        ];
        for entry in std::fs::read_dir(&functions).expect("crates/functions") {
            let manifest = entry.expect("a directory entry").path().join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).expect("a function's Cargo.toml");
            let name = text
                .lines()
                .find_map(|line| line.strip_prefix("name = \""))
                .and_then(|rest| rest.strip_suffix('"'))
                .expect("a package name");
            expected.push(name.replace('-', "_"));
        }
        expected.sort();
        let mut own: Vec<String> = OWN_TARGETS.iter().map(|t| (*t).to_owned()).collect();
        own.sort();
        assert_eq!(own, expected);
    }

    #[test]
    fn init_is_idempotent() {
        init_tracing();
        init_tracing();
        assert!(tracing::dispatcher::has_been_set());
    }
}
