//! The notes service: every use case (create, get, list, replace, delete, count), scoped by
//! owner, on top of any [`Store`].

use chrono::{DateTime, Duration, SubsecRound as _, Utc};

use crate::error::NotesError;
use crate::list::{Cursor, ListQuery, Page};
use crate::model::{Note, NoteId, Owner};
use crate::store::Store;
use crate::validate::{IfMatch, NoteInput};

/// The notes use cases over a store.
///
/// Everything is scoped by [`Owner`]: another user's note is indistinguishable from a missing
/// one ([`NotesError::NotFound`]).
#[derive(Debug, Clone)]
pub struct NotesService<S> {
    store: S,
}

impl<S: Store> NotesService<S> {
    /// A service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Creates a note with a new id; `created_at` = `updated_at` = now.
    ///
    /// # Errors
    /// [`NotesError::Validation`] for invalid input, [`NotesError::AlreadyExists`] on an id
    /// collision, [`NotesError::Store`] when the store fails.
    pub async fn create(&self, owner: &Owner, input: NoteInput) -> Result<Note, NotesError> {
        let content = input.validate()?;
        let now = now();
        let note = Note::new(NoteId::new(), content, now, now);
        self.store.put_new(owner, &note).await?;
        Ok(note)
    }

    /// Reads one of `owner`'s notes.
    ///
    /// # Errors
    /// [`NotesError::NotFound`] when `owner` has no such note, [`NotesError::Store`] when the
    /// store fails.
    pub async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Note, NotesError> {
        match self.store.get(owner, id).await? {
            Some((note, _)) => Ok(note),
            None => Err(NotesError::NotFound),
        }
    }

    /// Lists `owner`'s notes, newest first, `query.limit` at a time, continuing after
    /// `query.cursor`. A note deleted while the page is assembled is skipped.
    ///
    /// # Errors
    /// [`NotesError::Validation`] (field `cursor`) for a cursor of another store or user,
    /// [`NotesError::Store`] when the store fails.
    pub async fn list(&self, owner: &Owner, query: ListQuery) -> Result<Page, NotesError> {
        // A cursor of another store or user is refused; and the store reads only `owner`'s own
        // notes whatever position a cursor names.
        let kind = self.store.kind();
        if let Some(cursor) = &query.cursor {
            cursor.check(owner, kind)?;
        }
        let before = query.cursor.map(|cursor| cursor.position());
        let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
        let page = self.store.list_page(owner, before, limit).await?;
        let next_cursor = match page.notes.last() {
            Some(last) if page.more => Some(Cursor::issued(last.id(), owner, kind)),
            _ => None,
        };
        Ok(Page {
            items: page.notes,
            next_cursor,
        })
    }

    /// Replaces the content of one of `owner`'s notes, if `if_match` (see
    /// [`IfMatch`] for the accepted forms) equals its current ETag. Keeps the id
    /// and `created_at`; `updated_at` becomes now, and always moves forward, so the ETag
    /// changes on every replace. The write is an atomic compare-and-swap: of concurrent
    /// replaces with the same ETag exactly one succeeds.
    ///
    /// # Errors
    /// [`NotesError::Validation`] for invalid input or `If-Match`, [`NotesError::NotFound`],
    /// [`NotesError::PreconditionFailed`] when the note has changed, [`NotesError::Store`].
    pub async fn replace(
        &self,
        owner: &Owner,
        id: &NoteId,
        if_match: &str,
        input: NoteInput,
    ) -> Result<Note, NotesError> {
        let content = input.validate()?;
        let if_match = IfMatch::parse(if_match)?;
        let Some((current, version)) = self.store.get(owner, id).await? else {
            return Err(NotesError::NotFound);
        };
        if !if_match.matches(current.etag()) {
            return Err(NotesError::PreconditionFailed);
        }
        let updated_at = next_update_time(current.updated_at());
        let note = Note::new(*id, content, current.created_at(), updated_at);
        self.store.put_if(owner, &note, &version).await?;
        Ok(note)
    }

    /// Deletes one of `owner`'s notes.
    ///
    /// # Errors
    /// [`NotesError::NotFound`] when `owner` has no such note, [`NotesError::Store`].
    pub async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<(), NotesError> {
        if self.store.delete(owner, id).await? {
            Ok(())
        } else {
            Err(NotesError::NotFound)
        }
    }

    /// The number of notes of all users (for administrators).
    ///
    /// # Errors
    /// [`NotesError::Store`] when the store fails.
    pub async fn count_all(&self) -> Result<u64, NotesError> {
        Ok(self.store.count_all().await?)
    }
}

/// The current time, to the millisecond (what timestamps are stored with).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Now, but strictly after `previous` even when the clock has not moved (or went back).
fn next_update_time(previous: DateTime<Utc>) -> DateTime<Utc> {
    now().max(previous + Duration::milliseconds(1))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::store::FsStore;

    fn input(title: &str) -> NoteInput {
        NoteInput {
            title: title.into(),
            body: String::new(),
            tags: Vec::new(),
        }
    }

    fn owner() -> Owner {
        Owner::new("user-1").expect("owner")
    }

    #[tokio::test]
    async fn etag_changes_on_every_replace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let service = NotesService::new(FsStore::new(dir.path().to_path_buf()));
        let owner = owner();
        let mut note = service.create(&owner, input("same")).await.expect("create");
        let mut seen = HashSet::from([note.etag().to_owned()]);
        for _ in 0..20 {
            // Same content every time: only updated_at changes, and it must.
            let next = service
                .replace(&owner, &note.id(), note.etag(), input("same"))
                .await
                .expect("replace");
            assert!(next.updated_at() > note.updated_at());
            assert_eq!(next.created_at(), note.created_at());
            assert!(seen.insert(next.etag().to_owned()), "etag repeated");
            note = next;
        }
        let stored = service.get(&owner, &note.id()).await.expect("get");
        assert_eq!(stored, note);
    }

    #[tokio::test]
    async fn if_match_is_evaluated_as_rfc_9110_says() {
        let dir = tempfile::tempdir().expect("tempdir");
        let service = NotesService::new(FsStore::new(dir.path().to_path_buf()));
        let owner = owner();
        let note = service.create(&owner, input("t")).await.expect("create");
        for bad in ["", "nonsense", "0123456789abcdef0123456789abcdef"] {
            let err = service
                .replace(&owner, &note.id(), bad, input("u"))
                .await
                .expect_err("must fail");
            assert!(
                matches!(err, NotesError::Validation(ref v) if v.field == "if_match"),
                "{bad:?}: {err}"
            );
        }
        let weak = format!("W/{}", note.etag());
        for stale in ["\"anything\"", weak.as_str(), "\"a\", \"b\""] {
            let err = service
                .replace(&owner, &note.id(), stale, input("u"))
                .await
                .expect_err("must fail");
            assert!(
                matches!(err, NotesError::PreconditionFailed),
                "{stale:?}: {err}"
            );
        }
        assert_eq!(service.get(&owner, &note.id()).await.expect("get"), note);
        let listed = format!("\"other\", {}", note.etag());
        let replaced = service
            .replace(&owner, &note.id(), &listed, input("listed"))
            .await
            .expect("a list holding the current tag matches");
        let any = service
            .replace(&owner, &note.id(), "*", input("any"))
            .await
            .expect("* matches an existing note");
        assert_ne!(any.etag(), replaced.etag());
        let missing = service
            .replace(&owner, &NoteId::new(), "*", input("x"))
            .await
            .expect_err("* does not match a missing note");
        assert!(matches!(missing, NotesError::NotFound), "{missing}");
    }

    #[test]
    fn update_time_moves_forward() {
        let future = Utc::now() + Duration::hours(1);
        assert_eq!(next_update_time(future), future + Duration::milliseconds(1));
        let past = Utc::now() - Duration::hours(1);
        assert!(next_update_time(past) > past + Duration::minutes(59));
    }
}
