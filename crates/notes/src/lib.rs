//! Per-user notes: the domain types, their validation, the [`NotesService`] use cases, and the
//! [`Store`] trait with a filesystem ([`FsStore`]) and a DynamoDB (`DynamoStore`) backend,
//! selected at runtime through [`AnyStore`] and [`StoreConfig`].
//!
//! With feature `dynamodb`, the DynamoDB store and the AWS SDK it is built on are compiled in;
//! the note functions enable it. Without it (the fuzz targets, crates that only need the domain
//! types) nothing of the SDK is built, and a DynamoDB configuration fails at init with
//! [`ConfigError::NotBuilt`].
//!
//! With feature `openapi`, the types the API (de)serializes implement `utoipa::ToSchema`
//! (see `openapi`); crates/api-spec builds the OpenAPI document from them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use notes::{AnyStore, NoteInput, NotesService, Owner, StoreConfig};
//!
//! let store = AnyStore::from_config(&StoreConfig::from_env()?).await?;
//! let service = NotesService::new(store);
//! let owner = Owner::new("3f8e2c1a-0b4d-4c6e-9a7b-1d2e3f4a5b6c")?;
//! let input = NoteInput { title: "Hello".into(), body: "World".into(), tags: vec![] };
//! let note = service.create(&owner, input).await?;
//! assert_eq!(service.get(&owner, &note.id()).await?, note);
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod error;
pub mod list;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod service;
pub mod store;
pub mod validate;

pub use config::{ConfigError, StoreConfig};
pub use error::{ErrorKind, NotesError, PutError, StoreError};
pub use list::{Cursor, Limit, ListQuery, Page};
pub use model::{Note, NoteId, Owner};
pub use service::NotesService;
pub use store::{AnyStore, FsStore, Store, StorePage, Version};
#[cfg(feature = "dynamodb")]
pub use store::{DynamoStore, dynamo_config};
pub use validate::{EntityTag, IfMatch, NoteInput, ValidNote, ValidationError};
