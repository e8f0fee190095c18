//! Test support for the note functions (feature `testing`): a notes service on a fresh
//! filesystem store, and notes seeded straight through it. The API Gateway event builder and
//! the response readers are `http_api::testing`'s.
//!
//! Helpers here panic on misuse or a broken set-up (that is a failing test).

use notes::{AnyStore, Note, NoteInput, NotesService, Owner};

/// A notes service on the filesystem store in a fresh temporary directory (kept alive by the
/// returned guard), configured through the same variables a deployed function reads.
pub async fn fs_service() -> (tempfile::TempDir, NotesService<AnyStore>) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().to_string_lossy().into_owned();
    let service = crate::notes_service_from_vars(|name| match name {
        "NOTES_STORE" => Some("fs".to_owned()),
        "NOTES_DIR" => Some(path.clone()),
        _ => None,
    })
    .await
    .expect("filesystem store configuration");
    (dir, service)
}

/// Creates a note titled `title` owned by `sub`, straight through the service (test set-up).
pub async fn seed_note(service: &NotesService<AnyStore>, sub: &str, title: &str) -> Note {
    let owner = Owner::new(sub).expect("a valid sub");
    let input = NoteInput {
        title: title.to_owned(),
        body: format!("body of {title}"),
        tags: vec!["test".to_owned()],
    };
    service.create(&owner, input).await.expect("create a note")
}
