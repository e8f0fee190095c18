//! The storage abstraction ([`Store`]) and the runtime-selected backend ([`AnyStore`]).
//!
//! A store keeps whole [`Note`]s per [`Owner`] and offers conditional writes; the
//! [`NotesService`](crate::NotesService) builds every operation on top of them. Only validated
//! [`Owner`]s and [`NoteId`]s ever reach a store, so backends may put them in keys and paths.
//!
//! The DynamoDB backend (`DynamoStore`, `AnyStore::Dynamo`) is compiled with feature `dynamodb`
//! only; without it [`AnyStore::from_config`] refuses such a configuration
//! ([`ConfigError::NotBuilt`]). (An S3 store existed once; `docs/architecture.md` says why it
//! went: S3 has no transaction that would keep an exact count with the notes.)

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod fs;
mod fs_index;

use std::future::Future;
#[cfg(feature = "dynamodb")]
use std::time::Duration;

#[cfg(feature = "dynamodb")]
use aws_config::retry::RetryConfig;
#[cfg(feature = "dynamodb")]
use aws_config::timeout::TimeoutConfig;

#[cfg(feature = "dynamodb")]
pub use dynamo::DynamoStore;
pub use fs::FsStore;

use crate::config::{ConfigError, StoreConfig};
use crate::error::{PutError, StoreError};
use crate::model::{Note, NoteId, Owner};

#[cfg(feature = "dynamodb")]
/// How long the store's DynamoDB client waits for a connection.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
#[cfg(feature = "dynamodb")]
/// How long one attempt of a store request may take.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
#[cfg(feature = "dynamodb")]
/// How long a store request may take, retries and their back-off included: well inside the
/// functions' 10 s timeout, so that an unreachable store is the function's own 503 instead of
/// the invocation being killed at its timeout.
pub const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
#[cfg(feature = "dynamodb")]
/// Attempts per store request (the SDK's standard retry mode).
pub const AWS_MAX_ATTEMPTS: u32 = 3;

/// A backend's opaque revision token of a stored note (the note's own ETag in both stores). Pass it back to [`Store::put_if`] unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Wraps a backend revision token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page of notes as a store read it ([`Store::list_page`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorePage {
    /// The notes, newest first.
    pub notes: Vec<Note>,
    /// Whether notes older than the last one remain.
    pub more: bool,
}

/// Persistent storage of notes, scoped by owner.
pub trait Store: Send + Sync {
    /// The letter this kind of store signs its cursors with (`f` filesystem, `d` DynamoDB), so
    /// that a cursor of one store is refused by another.
    fn kind(&self) -> char;

    /// Stores a new note.
    ///
    /// # Errors
    /// [`PutError::AlreadyExists`] when a note with this id exists for `owner`.
    fn put_new(
        &self,
        owner: &Owner,
        note: &Note,
    ) -> impl Future<Output = Result<(), PutError>> + Send;

    /// Reads a note and its current [`Version`]; `None` when absent.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails or holds an unreadable note.
    fn get(
        &self,
        owner: &Owner,
        id: &NoteId,
    ) -> impl Future<Output = Result<Option<(Note, Version)>, StoreError>> + Send;

    /// Replaces a note, atomically, only if its current version is `expected`.
    ///
    /// # Errors
    /// [`PutError::PreconditionFailed`] when the version differs, [`PutError::NotFound`] when
    /// the note is gone.
    fn put_if(
        &self,
        owner: &Owner,
        note: &Note,
        expected: &Version,
    ) -> impl Future<Output = Result<(), PutError>> + Send;

    /// Deletes a note; `false` when there was none.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    fn delete(
        &self,
        owner: &Owner,
        id: &NoteId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One page of `owner`'s notes, newest (highest id) first: at most `limit` notes whose id
    /// is below `before` (all when `None`), and whether older ones remain.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails or holds an unreadable note.
    fn list_page(
        &self,
        owner: &Owner,
        before: Option<NoteId>,
        limit: usize,
    ) -> impl Future<Output = Result<StorePage, StoreError>> + Send;

    /// The number of notes of all owners.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    fn count_all(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A store chosen at runtime (see [`StoreConfig`]).
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Files under a directory.
    Fs(FsStore),
    /// Items of a DynamoDB table (feature `dynamodb`).
    #[cfg(feature = "dynamodb")]
    Dynamo(DynamoStore),
}

impl AnyStore {
    /// Builds the configured store. For DynamoDB (feature `dynamodb`) the SDK configuration
    /// (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`) comes from the
    /// environment through `aws_config::load_defaults`; timeouts and retries are bounded
    /// (`AWS_OPERATION_TIMEOUT`).
    ///
    /// # Errors
    /// [`ConfigError::FsRoot`] when the filesystem root cannot be created;
    /// [`ConfigError::NotBuilt`] for a DynamoDB configuration without feature `dynamodb`.
    pub async fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        match config {
            StoreConfig::Fs { dir } => {
                std::fs::create_dir_all(dir).map_err(|source| ConfigError::FsRoot {
                    dir: dir.clone(),
                    source,
                })?;
                Ok(Self::Fs(FsStore::new(dir.clone())))
            }
            #[cfg(not(feature = "dynamodb"))]
            StoreConfig::Dynamo { .. } => Err(ConfigError::NotBuilt("dynamodb")),
            #[cfg(feature = "dynamodb")]
            StoreConfig::Dynamo { table } => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let client = aws_sdk_dynamodb::Client::from_conf(dynamo_config(&sdk));
                Ok(Self::Dynamo(DynamoStore::new(client, table.clone())))
            }
        }
    }
}

impl AnyStore {
    /// Writes `notes` of `owner`, all new (fresh ids), as fast as the store allows: on
    /// DynamoDB in bulk ([`DynamoStore::import_new`]: 25 a call, the counters once per shard),
    /// on the filesystem one create after another. For seeding a benchmark and loading an
    /// export; returns how many were written.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (what was written before stays, and is counted);
    /// on the filesystem an id that exists is an error too.
    pub async fn import_new(&self, owner: &Owner, notes: &[Note]) -> Result<u64, StoreError> {
        match self {
            Self::Fs(s) => {
                for note in notes {
                    s.put_new(owner, note).await.map_err(|e| match e {
                        PutError::Store(e) => e,
                        other => StoreError::new(
                            "fs",
                            "import notes",
                            format!("note {}: {other}", note.id()),
                        ),
                    })?;
                }
                Ok(notes.len() as u64)
            }
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.import_new(owner, notes).await,
        }
    }
}

impl Store for AnyStore {
    fn kind(&self) -> char {
        match self {
            Self::Fs(s) => s.kind(),
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.kind(),
        }
    }

    async fn put_new(&self, owner: &Owner, note: &Note) -> Result<(), PutError> {
        match self {
            Self::Fs(s) => s.put_new(owner, note).await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.put_new(owner, note).await,
        }
    }

    async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Option<(Note, Version)>, StoreError> {
        match self {
            Self::Fs(s) => s.get(owner, id).await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.get(owner, id).await,
        }
    }

    async fn put_if(&self, owner: &Owner, note: &Note, expected: &Version) -> Result<(), PutError> {
        match self {
            Self::Fs(s) => s.put_if(owner, note, expected).await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.put_if(owner, note, expected).await,
        }
    }

    async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<bool, StoreError> {
        match self {
            Self::Fs(s) => s.delete(owner, id).await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.delete(owner, id).await,
        }
    }

    async fn list_page(
        &self,
        owner: &Owner,
        before: Option<NoteId>,
        limit: usize,
    ) -> Result<StorePage, StoreError> {
        match self {
            Self::Fs(s) => s.list_page(owner, before, limit).await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.list_page(owner, before, limit).await,
        }
    }

    async fn count_all(&self) -> Result<u64, StoreError> {
        match self {
            Self::Fs(s) => s.count_all().await,
            #[cfg(feature = "dynamodb")]
            Self::Dynamo(s) => s.count_all().await,
        }
    }
}

/// The bounded timeouts of the store's AWS client.
#[cfg(feature = "dynamodb")]
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(AWS_CONNECT_TIMEOUT)
        .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
        .operation_timeout(AWS_OPERATION_TIMEOUT)
        .build()
}

/// The DynamoDB client's configuration: the SDK's (from the environment, endpoint included:
/// `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL`), bounded timeouts and retries.
#[cfg(feature = "dynamodb")]
pub fn dynamo_config(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Config {
    aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS))
        .build()
}

/// Parses a stored file or object name `{ULID}.json` into a note id.
pub(crate) fn parse_note_file_name(name: &str) -> Option<NoteId> {
    name.strip_suffix(".json")?.parse().ok()
}

#[cfg(all(test, feature = "dynamodb"))]
mod tests {
    use aws_sdk_dynamodb::config::BehaviorVersion;

    use super::*;

    #[test]
    fn timeouts_and_retries_are_bounded() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let config = dynamo_config(&sdk);
        let timeouts = config.timeout_config().expect("timeouts");
        assert_eq!(timeouts.connect_timeout(), Some(AWS_CONNECT_TIMEOUT));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(AWS_ATTEMPT_TIMEOUT)
        );
        assert_eq!(timeouts.operation_timeout(), Some(AWS_OPERATION_TIMEOUT));
        let retries = config.retry_config().expect("retries");
        assert_eq!(retries.max_attempts(), AWS_MAX_ATTEMPTS);
        assert!(
            AWS_OPERATION_TIMEOUT < Duration::from_secs(10),
            "the function timeout"
        );
    }
}
