//! Conversions from the sibling crates' errors into [`Problem`]s, and building the notes
//! service from the environment.
//!
//! Everything that depends on the exact shape of `cognito-claims` and `notes` lives here.

use cognito_claims::ClaimsError;
use notes::{AnyStore, ConfigError, NotesError, NotesService, StoreConfig, ValidationError};

use crate::Problem;

/// Why a function could not start: its configuration is missing or invalid.
///
/// The message names what to fix; a function's `main` prints it and exits non-zero, and
/// Lambda reports it as an init error.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The store configuration in the environment is missing or invalid.
    #[error("invalid notes store configuration: {0}")]
    Config(#[from] ConfigError),
}

/// Builds the notes service over the store the process environment describes (see
/// `notes::config` for the variables), failing at init on bad configuration.
pub async fn notes_service_from_env() -> Result<NotesService<AnyStore>, InitError> {
    notes_service_from_vars(|name| std::env::var(name).ok()).await
}

/// A note function's start-up: installs the JSON log subscriber, then builds the notes service
/// from the environment; a configuration error is logged once, clearly, and returned so that
/// `main` exits non-zero (Lambda reports it as an init error).
pub async fn init_notes_function() -> Result<NotesService<AnyStore>, InitError> {
    crate::init_tracing();
    notes_service_from_env()
        .await
        .inspect_err(|error| tracing::error!(%error, "function init failed"))
}

/// [`notes_service_from_env`] with the variables read through `var` (for tests).
pub async fn notes_service_from_vars(
    var: impl Fn(&str) -> Option<String>,
) -> Result<NotesService<AnyStore>, InitError> {
    let config = StoreConfig::from_vars(var)?;
    let store = AnyStore::from_config(&config).await?;
    Ok(NotesService::new(store))
}

impl From<ClaimsError> for Problem {
    fn from(error: ClaimsError) -> Self {
        match error.status() {
            403 => Problem::forbidden(error.to_string()),
            _ => Problem::unauthorized(error.to_string()),
        }
    }
}

impl From<ValidationError> for Problem {
    fn from(error: ValidationError) -> Self {
        Problem::validation(error.field, error.message)
    }
}

impl From<NotesError> for Problem {
    fn from(error: NotesError) -> Self {
        // The domain's messages are written for clients, except a store failure's.
        match error {
            NotesError::Validation(error) => error.into(),
            NotesError::NotFound => Problem::not_found(error.to_string()),
            NotesError::AlreadyExists => Problem::conflict(error.to_string()),
            NotesError::PreconditionFailed => Problem::precondition_failed(error.to_string()),
            // The store out of reach for now (I/O, S3 unreachable or timing out): a 503 the
            // client may retry; anything else is a bug: 500.
            NotesError::Store(error) if error.unavailable => {
                tracing::error!(error = %error, "notes store unavailable");
                Problem::service_unavailable(
                    "the notes storage is temporarily unavailable; try again later",
                )
            }
            NotesError::Store(error) => {
                tracing::error!(error = %error, "notes store failed");
                Problem::internal()
            }
        }
    }
}

/// The whole `main` of a function that works on notes: [`init_notes_function`], then
/// [`run`](crate::run) with `handler(&service, request)` for every request.
///
/// ```text
/// http_api::notes_main!(handler);
/// async fn handler(service: &NotesService<AnyStore>, req: Request) -> Result<Response<Body>, Problem> { … }
/// ```
#[macro_export]
macro_rules! notes_main {
    ($handler:ident) => {
        #[tokio::main]
        async fn main() -> ::std::result::Result<(), $crate::LambdaError> {
            let service = $crate::init_notes_function().await?;
            $crate::run(|req| $handler(&service, req)).await
        }
    };
}

#[cfg(test)]
mod tests {
    use notes::StoreError;

    use super::*;
    use crate::test_support::capture_logs;

    #[test]
    fn notes_errors() {
        fn check(error: NotesError, status: u16, slug: &str, field: Option<&str>) {
            let (problem, _) = capture_logs(|| Problem::from(error));
            assert_eq!(problem.status(), status, "{problem}");
            assert!(problem.type_uri().ends_with(slug), "{problem:?}");
            assert_eq!(problem.field(), field, "{problem:?}");
        }
        check(
            ValidationError::new("title", "must not be empty").into(),
            400,
            "/validation",
            Some("title"),
        );
        check(NotesError::NotFound, 404, "/not-found", None);
        check(NotesError::AlreadyExists, 409, "/conflict", None);
        check(
            NotesError::PreconditionFailed,
            412,
            "/precondition-failed",
            None,
        );
        check(
            StoreError::new("s3", "read a note", "AccessDenied bucket=secret-bucket").into(),
            500,
            "/internal",
            None,
        );
        check(
            StoreError::unavailable("fs", "create a note", "/data/notes: Not a directory").into(),
            503,
            "/service-unavailable",
            None,
        );
    }

    #[test]
    fn an_unavailable_store_is_a_503_that_is_logged_not_shown() {
        let (problem, logs) = capture_logs(|| {
            Problem::from(NotesError::from(StoreError::unavailable(
                "s3",
                "create a note",
                "dispatch failure: connection refused http://10.0.0.7:9000 bucket=secret-bucket",
            )))
        });
        assert_eq!(problem.status(), 503);
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["level"], "ERROR");
        let body = serde_json::to_string(&problem).unwrap_or_default();
        for secret in ["secret-bucket", "10.0.0.7", "s3", "dispatch"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }

    #[test]
    fn store_failures_are_logged_not_shown() {
        let (problem, logs) = capture_logs(|| {
            Problem::from(NotesError::from(StoreError::new(
                "s3",
                "read a note",
                "AccessDenied bucket=secret-bucket",
            )))
        });
        assert_eq!(problem, Problem::internal());
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["level"], "ERROR");
        assert_eq!(
            logs[0]["fields"]["error"],
            "notes store (s3) failed to read a note: AccessDenied bucket=secret-bucket"
        );
        let body = serde_json::to_string(&problem).unwrap_or_default();
        assert!(
            !body.contains("secret-bucket") && !body.contains("s3"),
            "{body}"
        );
    }

    #[test]
    fn validation_errors_keep_field_and_message() {
        let problem = Problem::from(ValidationError::new("tags", "at most 20 tags"));
        assert_eq!(problem.status(), 400);
        assert_eq!(problem.field(), Some("tags"));
        assert_eq!(problem.detail(), "at most 20 tags");
    }

    #[test]
    fn claims_errors() {
        fn check(error: ClaimsError, status: u16) {
            let detail = error.to_string();
            let problem = Problem::from(error);
            assert_eq!(problem.status(), status, "{problem}");
            assert_eq!(problem.detail(), detail);
        }
        check(ClaimsError::MissingContext, 401);
        check(ClaimsError::MissingClaim { claim: "sub" }, 401);
        check(
            ClaimsError::MissingGroup {
                group: "admin".into(),
            },
            403,
        );
        check(
            ClaimsError::MissingScope {
                scope: "notes/write".into(),
            },
            403,
        );
    }

    #[tokio::test]
    async fn service_from_vars() {
        let Err(error) = notes_service_from_vars(|_| None).await else {
            panic!("an unconfigured store must fail at init");
        };
        let message = error.to_string();
        assert!(
            message.starts_with("invalid notes store configuration: "),
            "{message}"
        );
        assert!(message.contains("NOTES_BUCKET"), "{message}");

        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().join("notes");
        let vars = |name: &str| match name {
            "NOTES_STORE" => Some("fs".to_owned()),
            "NOTES_DIR" => Some(root.display().to_string()),
            _ => None,
        };
        let service = notes_service_from_vars(vars).await;
        assert!(service.is_ok(), "{:?}", service.err());
        assert!(root.is_dir());
    }
}
