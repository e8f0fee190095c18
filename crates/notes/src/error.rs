//! Errors of the service ([`NotesError`], classified by [`ErrorKind`]) and of the stores
//! ([`StoreError`], [`PutError`]).

use crate::validate::ValidationError;

/// Everything a [`NotesService`](crate::NotesService) operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    /// The client sent something invalid.
    #[error("invalid request: {0}")]
    Validation(#[from] ValidationError),
    /// No such note for this owner (another user's note is reported the same way).
    #[error("note not found")]
    NotFound,
    /// A note with the generated id already exists (practically impossible with ULIDs).
    #[error("a note with this id already exists; retry the request")]
    AlreadyExists,
    /// `If-Match` does not match the note's current ETag: fetch the note again and retry.
    #[error("the note has changed since it was read: fetch it again and retry with its new ETag")]
    PreconditionFailed,
    /// The storage backend failed: unavailable for now ([`StoreError::unavailable`], e.g. an
    /// I/O error or an unreachable DynamoDB) or a bug. Log it; never show the details to clients.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NotesError {
    /// The class of this error, for mapping to an HTTP status.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Validation(_) => ErrorKind::Validation,
            Self::NotFound => ErrorKind::NotFound,
            Self::AlreadyExists => ErrorKind::Conflict,
            Self::PreconditionFailed => ErrorKind::PreconditionFailed,
            Self::Store(e) if e.unavailable => ErrorKind::Unavailable,
            Self::Store(_) => ErrorKind::Internal,
        }
    }
}

impl From<PutError> for NotesError {
    fn from(err: PutError) -> Self {
        match err {
            PutError::AlreadyExists => Self::AlreadyExists,
            PutError::PreconditionFailed => Self::PreconditionFailed,
            PutError::NotFound => Self::NotFound,
            PutError::Store(e) => Self::Store(e),
        }
    }
}

/// Classes of [`NotesError`], each with one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400 Bad Request.
    Validation,
    /// 404 Not Found.
    NotFound,
    /// 409 Conflict.
    Conflict,
    /// 412 Precondition Failed.
    PreconditionFailed,
    /// 500 Internal Server Error.
    Internal,
    /// 503 Service Unavailable: the store cannot be reached or used right now; a retry may
    /// succeed.
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status code for this class.
    #[must_use]
    pub fn http_status(self) -> u16 {
        match self {
            Self::Validation => 400,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }
}

/// A storage backend failure, for logs.
///
/// The message names the backend, the operation and the backend's own error (for DynamoDB the
/// service error code and request id). It never contains credentials.
///
/// `unavailable` separates the store being out of reach for now (an I/O error of the
/// filesystem, a DynamoDB request that could not be sent or timed out, DynamoDB answering 5xx
/// or throttling: HTTP 503, a retry may succeed) from a bug (a note that cannot be serialised or
/// read back, DynamoDB refusing the request: HTTP 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notes store ({backend}) failed to {operation}: {detail}")]
pub struct StoreError {
    /// `fs` or `dynamodb` (or another backend's name).
    pub backend: &'static str,
    /// What was being done, e.g. `read a note`.
    pub operation: &'static str,
    /// The backend's error message.
    pub detail: String,
    /// Whether the store is unavailable (transient) rather than broken.
    pub unavailable: bool,
}

impl StoreError {
    /// Builds a store error for a failure that is a bug (HTTP 500).
    pub fn new(backend: &'static str, operation: &'static str, detail: impl Into<String>) -> Self {
        Self {
            backend,
            operation,
            detail: detail.into(),
            unavailable: false,
        }
    }

    /// Builds a store error for a store that is unavailable right now (HTTP 503).
    pub fn unavailable(
        backend: &'static str,
        operation: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            unavailable: true,
            ..Self::new(backend, operation, detail)
        }
    }
}

/// Why a conditional write ([`Store::put_new`](crate::Store::put_new),
/// [`Store::put_if`](crate::Store::put_if)) did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// `put_new`: the note already exists.
    #[error("the note already exists")]
    AlreadyExists,
    /// `put_if`: the stored version is not the expected one (a concurrent write won).
    #[error("the note was changed concurrently")]
    PreconditionFailed,
    /// `put_if`: the note no longer exists.
    #[error("the note no longer exists")]
    NotFound,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses() {
        let check = |err: NotesError, status: u16| {
            assert_eq!(err.kind().http_status(), status, "{err}");
        };
        check(ValidationError::new("title", "x").into(), 400);
        check(NotesError::NotFound, 404);
        check(NotesError::AlreadyExists, 409);
        check(NotesError::PreconditionFailed, 412);
        check(StoreError::new("fs", "read a note", "boom").into(), 500);
        check(
            StoreError::unavailable("fs", "read a note", "Not a directory").into(),
            503,
        );
        check(
            PutError::Store(StoreError::unavailable(
                "dynamodb",
                "create a note",
                "timeout",
            ))
            .into(),
            503,
        );
        check(PutError::PreconditionFailed.into(), 412);
        check(PutError::NotFound.into(), 404);
        check(PutError::AlreadyExists.into(), 409);
    }

    #[test]
    fn messages() {
        let e: NotesError = ValidationError::new("title", "must be short").into();
        assert_eq!(e.to_string(), "invalid request: title: must be short");
        let e: NotesError = StoreError::new("dynamodb", "list notes", "timeout").into();
        assert_eq!(
            e.to_string(),
            "notes store (dynamodb) failed to list notes: timeout"
        );
        let e: NotesError = StoreError::unavailable("dynamodb", "list notes", "timeout").into();
        assert_eq!(
            e.to_string(),
            "notes store (dynamodb) failed to list notes: timeout"
        );
    }
}
