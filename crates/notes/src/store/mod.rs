//! The storage abstraction ([`Store`]) and the runtime-selected backend ([`AnyStore`]).
//!
//! A store keeps whole [`Note`]s per [`Owner`] and offers conditional writes; the
//! [`NotesService`](crate::NotesService) builds every operation on top of them. Only validated
//! [`Owner`]s and [`NoteId`]s ever reach a store, so backends may put them in keys and paths.

pub mod fs;
pub mod s3;

use std::future::Future;

pub use fs::FsStore;
pub use s3::S3Store;

use crate::config::{ConfigError, StoreConfig};
use crate::error::{PutError, StoreError};
use crate::model::{Note, NoteId, Owner};

/// A backend's opaque revision token of a stored note (the S3 object ETag, or for the
/// filesystem the note's own ETag). Pass it back to [`Store::put_if`] unchanged.
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

/// Persistent storage of notes, scoped by owner.
pub trait Store: Send + Sync {
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

    /// All note ids of `owner`, in no particular order.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    fn list_ids(
        &self,
        owner: &Owner,
    ) -> impl Future<Output = Result<Vec<NoteId>, StoreError>> + Send;

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
    /// Objects in an S3 bucket.
    S3(S3Store),
}

impl AnyStore {
    /// Builds the configured store. For S3 the SDK configuration (region, credentials,
    /// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`) comes from the environment through
    /// `aws_config::load_defaults`.
    ///
    /// # Errors
    /// [`ConfigError::FsRoot`] when the filesystem root cannot be created.
    pub async fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        match config {
            StoreConfig::Fs { dir } => {
                std::fs::create_dir_all(dir).map_err(|source| ConfigError::FsRoot {
                    dir: dir.clone(),
                    source,
                })?;
                Ok(Self::Fs(FsStore::new(dir.clone())))
            }
            StoreConfig::S3 {
                bucket,
                force_path_style,
            } => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
                    .force_path_style(*force_path_style)
                    .build();
                let client = aws_sdk_s3::Client::from_conf(s3_config);
                Ok(Self::S3(S3Store::new(client, bucket.clone())))
            }
        }
    }
}

impl Store for AnyStore {
    async fn put_new(&self, owner: &Owner, note: &Note) -> Result<(), PutError> {
        match self {
            Self::Fs(s) => s.put_new(owner, note).await,
            Self::S3(s) => s.put_new(owner, note).await,
        }
    }

    async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Option<(Note, Version)>, StoreError> {
        match self {
            Self::Fs(s) => s.get(owner, id).await,
            Self::S3(s) => s.get(owner, id).await,
        }
    }

    async fn put_if(&self, owner: &Owner, note: &Note, expected: &Version) -> Result<(), PutError> {
        match self {
            Self::Fs(s) => s.put_if(owner, note, expected).await,
            Self::S3(s) => s.put_if(owner, note, expected).await,
        }
    }

    async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<bool, StoreError> {
        match self {
            Self::Fs(s) => s.delete(owner, id).await,
            Self::S3(s) => s.delete(owner, id).await,
        }
    }

    async fn list_ids(&self, owner: &Owner) -> Result<Vec<NoteId>, StoreError> {
        match self {
            Self::Fs(s) => s.list_ids(owner).await,
            Self::S3(s) => s.list_ids(owner).await,
        }
    }

    async fn count_all(&self) -> Result<u64, StoreError> {
        match self {
            Self::Fs(s) => s.count_all().await,
            Self::S3(s) => s.count_all().await,
        }
    }
}

/// Parses a stored file or object name `{ULID}.json` into a note id.
pub(crate) fn parse_note_file_name(name: &str) -> Option<NoteId> {
    name.strip_suffix(".json")?.parse().ok()
}
