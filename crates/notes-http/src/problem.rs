//! The problem a notes error is answered with: [`problem`].
//!
//! A function, not `impl From<NotesError> for Problem`: neither type is this crate's, so the
//! orphan rule allows such an impl only in `http-api` or `notes`, and either would tie the
//! generic HTTP layer and the domain together again. Handlers write
//! `service.get(&owner, &id).await.map_err(notes_http::problem)?`.

use http_api::Problem;
use notes::NotesError;

/// The problem for a notes error (or anything that converts into one, such as a
/// `notes::ValidationError`): 400 `validation` with the field, 404, 409, 412, and for a store
/// failure 503 when the store is out of reach for now, else 500. A store failure is logged
/// here; its details never reach the client.
pub fn problem(error: impl Into<NotesError>) -> Problem {
    let error = error.into();
    // The domain's messages are written for clients, except a store failure's.
    match error {
        NotesError::Validation(error) => Problem::validation(error.field, error.message),
        NotesError::NotFound => Problem::not_found(error.to_string()),
        NotesError::AlreadyExists => Problem::conflict(error.to_string()),
        NotesError::PreconditionFailed => Problem::precondition_failed(error.to_string()),
        // The store out of reach for now (I/O, DynamoDB unreachable, throttled or timing out): a 503 the
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

#[cfg(test)]
mod tests {
    use http_api::testing::capture_logs;
    use notes::{StoreError, ValidationError};

    use super::*;

    #[test]
    fn notes_errors() {
        fn check(error: NotesError, status: u16, slug: &str, field: Option<&str>) {
            let (problem, _) = capture_logs(|| problem(error));
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
            StoreError::new(
                "dynamodb",
                "read a note",
                "AccessDeniedException table=secret-table",
            )
            .into(),
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
            problem(NotesError::from(StoreError::unavailable(
                "dynamodb",
                "create a note",
                "dispatch failure: connection refused http://10.0.0.7:9000 table=secret-table",
            )))
        });
        assert_eq!(problem.status(), 503);
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["level"], "ERROR");
        let body = serde_json::to_string(&problem).unwrap_or_default();
        for secret in ["secret-table", "10.0.0.7", "dynamodb", "dispatch"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }

    #[test]
    fn store_failures_are_logged_not_shown() {
        let (problem, logs) = capture_logs(|| {
            problem(NotesError::from(StoreError::new(
                "dynamodb",
                "read a note",
                "AccessDeniedException table=secret-table",
            )))
        });
        assert_eq!(problem, Problem::internal());
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["level"], "ERROR");
        assert_eq!(
            logs[0]["fields"]["error"],
            "notes store (dynamodb) failed to read a note: AccessDeniedException table=secret-table"
        );
        let body = serde_json::to_string(&problem).unwrap_or_default();
        assert!(
            !body.contains("secret-table") && !body.contains("dynamodb"),
            "{body}"
        );
    }

    #[test]
    fn validation_errors_keep_field_and_message() {
        let problem = problem(ValidationError::new("tags", "at most 20 tags"));
        assert_eq!(problem.status(), 400);
        assert_eq!(problem.field(), Some("tags"));
        assert_eq!(problem.detail(), "at most 20 tags");
    }
}
