//! Filesystem store: one JSON file per note at `{root}/notes/{owner}/{id}.json`.
//!
//! - every write and every page happen under an exclusive lock on `{root}/notes/{owner}/.lock`
//!   (`File::lock`, which also excludes other processes);
//! - create: add the id to the owner's index (`fs_index`: sorted ids, so a page is a binary
//!   search and a read of its own records, never a directory listing), write a uniquely named
//!   temp file, fsync it, `hard_link` it to the target name (atomic create-if-absent), remove
//!   the temp file;
//! - replace: read the current note, compare, write a temp file and `rename` it over the target
//!   (readers see the old or the new file, never half);
//! - delete: remove the file, then the id from the index;
//! - a page: the index's ids below the cursor, newest first, each note read; an id whose file
//!   is gone (a create or delete cut short) is skipped, so a page still holds `limit` notes;
//! - the count: the sum of the owners' index lengths (one read per owner, no note listed).
//!
//! All blocking work runs on `tokio::task::spawn_blocking`. Only validated [`Owner`]s and
//! [`NoteId`]s are ever used to build paths.
//!
//! On Unix the store is private to its user: directories are created with mode 0700 and note
//! files (and their temporary files, and the lock file) with mode 0600, from the first byte
//! (the modes are given when the file or directory is created, never widened then narrowed).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ulid::Ulid;

use super::fs_index::Index;
use super::{Store, StorePage, Version, parse_note_file_name};
use crate::error::{PutError, StoreError};
use crate::model::{Note, NoteId, Owner};

const BACKEND: &str = "fs";
const LOCK_FILE: &str = ".lock";

/// Notes stored as files under a root directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: Arc<Path>,
}

impl FsStore {
    /// A store rooted at `root` (created on first write if missing).
    #[must_use]
    pub fn new(root: PathBuf) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn notes_dir(&self) -> PathBuf {
        self.root.join("notes")
    }

    fn owner_dir(&self, owner: &Owner) -> PathBuf {
        self.notes_dir().join(owner.as_str())
    }
}

impl Store for FsStore {
    fn kind(&self) -> char {
        'f'
    }

    async fn put_new(&self, owner: &Owner, note: &Note) -> Result<(), PutError> {
        const OP: &str = "create a note";
        let json = to_json(note, OP)?;
        let dir = self.owner_dir(owner);
        let id = note.id();
        let target = dir.join(file_name(&id));
        blocking(OP, move || {
            create_private_dir(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            let Some(_lock) = lock_owner_dir(&dir).map_err(|e| io_error(OP, &dir, &e))? else {
                return Err(io_error(OP, &dir, &io::Error::from(io::ErrorKind::NotFound)).into());
            };
            let mut index = open_index(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            if !index.insert(&id).map_err(|e| io_error(OP, &dir, &e))? {
                return Err(PutError::AlreadyExists);
            }
            let tmp = write_temp(&dir, &json).map_err(|e| io_error(OP, &dir, &e));
            let linked = tmp.and_then(|tmp| {
                let linked = fs::hard_link(&tmp, &target);
                remove_temp(&tmp);
                linked
                    .map_err(|e| (e, target.clone()))
                    .map_err(|(e, path)| {
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            StoreError::new(BACKEND, OP, "exists")
                        } else {
                            io_error(OP, &path, &e)
                        }
                    })
            });
            match linked {
                Ok(()) => {
                    sync_dir(&dir).map_err(|e| io_error(OP, &dir, &e))?;
                    Ok(())
                }
                // A file of this id outside the index (a create cut short): it exists.
                Err(e) if e.detail == "exists" => Err(PutError::AlreadyExists),
                Err(e) => {
                    // Nothing was written: the index forgets the id again.
                    let _ = index.remove(&id);
                    Err(e.into())
                }
            }
        })
        .await?
    }

    async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Option<(Note, Version)>, StoreError> {
        const OP: &str = "read a note";
        let path = self.owner_dir(owner).join(file_name(id));
        blocking(OP, move || read_note(&path, OP)).await?
    }

    async fn put_if(&self, owner: &Owner, note: &Note, expected: &Version) -> Result<(), PutError> {
        const OP: &str = "replace a note";
        let json = to_json(note, OP)?;
        let dir = self.owner_dir(owner);
        let target = dir.join(file_name(&note.id()));
        let expected = expected.clone();
        blocking(OP, move || {
            let Some(_lock) = lock_owner_dir(&dir).map_err(|e| io_error(OP, &dir, &e))? else {
                return Err(PutError::NotFound);
            };
            let Some((current, _)) = read_note(&target, OP)? else {
                return Err(PutError::NotFound);
            };
            if current.etag() != expected.as_str() {
                return Err(PutError::PreconditionFailed);
            }
            let tmp = write_temp(&dir, &json).map_err(|e| io_error(OP, &dir, &e))?;
            if let Err(e) = fs::rename(&tmp, &target) {
                remove_temp(&tmp);
                return Err(io_error(OP, &target, &e).into());
            }
            sync_dir(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            Ok(())
        })
        .await?
    }

    async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<bool, StoreError> {
        const OP: &str = "delete a note";
        let dir = self.owner_dir(owner);
        let target = dir.join(file_name(id));
        let id = *id;
        blocking(OP, move || {
            let Some(_lock) = lock_owner_dir(&dir).map_err(|e| io_error(OP, &dir, &e))? else {
                return Ok(false);
            };
            let removed = match fs::remove_file(&target) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(io_error(OP, &target, &e)),
            };
            // Also when the file was gone already: the index drops the id either way.
            let mut index = open_index(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            index.remove(&id).map_err(|e| io_error(OP, &dir, &e))?;
            if removed {
                sync_dir(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            }
            Ok(removed)
        })
        .await?
    }

    async fn list_page(
        &self,
        owner: &Owner,
        before: Option<NoteId>,
        limit: usize,
    ) -> Result<StorePage, StoreError> {
        const OP: &str = "list notes";
        let dir = self.owner_dir(owner);
        blocking(OP, move || {
            let Some(_lock) = lock_owner_dir(&dir).map_err(|e| io_error(OP, &dir, &e))? else {
                return Ok(StorePage::default());
            };
            let mut index = open_index(&dir).map_err(|e| io_error(OP, &dir, &e))?;
            // One more than the page says whether older notes remain.
            let wanted = limit.saturating_add(1);
            let mut notes = Vec::with_capacity(wanted.min(128));
            let (mut ids, mut next) = index
                .newest_below(before.as_ref(), wanted as u64)
                .map_err(|e| io_error(OP, &dir, &e))?;
            loop {
                for id in &ids {
                    if let Some((note, _)) = read_note(&dir.join(file_name(id)), OP)? {
                        notes.push(note);
                        if notes.len() == wanted {
                            break;
                        }
                    }
                }
                if notes.len() == wanted || next == 0 {
                    break;
                }
                let missing = (wanted - notes.len()) as u64;
                (ids, next) = index
                    .older_than(next, missing)
                    .map_err(|e| io_error(OP, &dir, &e))?;
            }
            let more = notes.len() > limit;
            notes.truncate(limit);
            Ok(StorePage { notes, more })
        })
        .await?
    }

    async fn count_all(&self) -> Result<u64, StoreError> {
        const OP: &str = "count notes";
        let notes_dir = self.notes_dir();
        blocking(OP, move || {
            let entries = match fs::read_dir(&notes_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io_error(OP, &notes_dir, &e)),
            };
            let mut total: u64 = 0;
            for entry in entries {
                let entry = entry.map_err(|e| io_error(OP, &notes_dir, &e))?;
                let is_owner_dir = entry.file_type().is_ok_and(|t| t.is_dir())
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|name| Owner::new(name).is_ok());
                if !is_owner_dir {
                    continue;
                }
                let dir = entry.path();
                let Some(_lock) = lock_owner_dir(&dir).map_err(|e| io_error(OP, &dir, &e))? else {
                    continue;
                };
                let index = open_index(&dir).map_err(|e| io_error(OP, &dir, &e))?;
                total += index.len();
            }
            Ok(total)
        })
        .await?
    }
}

/// Runs blocking filesystem work off the async runtime.
async fn blocking<T, F>(operation: &'static str, work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::new(BACKEND, operation, format!("background task failed: {e}")))
}

fn file_name(id: &NoteId) -> String {
    format!("{id}.json")
}

/// An I/O error of the store's directory (missing permissions, not a directory, read-only or
/// full filesystem, a failing disk): the store is unavailable, not broken (HTTP 503).
fn io_error(operation: &'static str, path: &Path, err: &io::Error) -> StoreError {
    StoreError::unavailable(BACKEND, operation, format!("{}: {err}", path.display()))
}

fn to_json(note: &Note, operation: &'static str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(note)
        .map_err(|e| StoreError::new(BACKEND, operation, format!("cannot serialize note: {e}")))
}

fn read_note(path: &Path, operation: &'static str) -> Result<Option<(Note, Version)>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(operation, path, &e)),
    };
    let note: Note = serde_json::from_slice(&bytes).map_err(|e| {
        StoreError::new(
            BACKEND,
            operation,
            format!("{} is not a valid note: {e}", path.display()),
        )
    })?;
    let version = Version::new(note.etag());
    Ok(Some((note, version)))
}

/// Creates `dir` and its missing parents with mode 0700 (on Unix).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file with mode 0600 (on Unix).
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Writes `contents` to a new, uniquely named hidden file in `dir` (mode 0600) and fsyncs it.
fn write_temp(dir: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), Ulid::new()));
    let result = private_file()
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            remove_temp(&tmp);
            Err(e)
        }
    }
}

fn remove_temp(tmp: &Path) {
    if let Err(e) = fs::remove_file(tmp)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary note file");
    }
}

/// Takes the owner's exclusive lock; `None` when the owner has no directory (hence no notes).
/// The lock is released when the returned file is dropped.
fn lock_owner_dir(dir: &Path) -> io::Result<Option<File>> {
    let file = match private_file()
        .read(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    file.lock()?;
    Ok(Some(file))
}

/// The owner's index (the lock held), built from the directory's note files the first time.
fn open_index(dir: &Path) -> io::Result<Index> {
    Index::open(dir, &private_file(), || list_dir_ids(dir))
}

fn list_dir_ids(dir: &Path) -> io::Result<Vec<NoteId>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_note_file_name) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Makes a directory's entries (a new link, a rename, a removal) durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing on this platform; entries are durable enough.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::validate::NoteInput;

    fn note(title: &str) -> Note {
        let content = NoteInput {
            title: title.into(),
            body: String::new(),
            tags: Vec::new(),
        }
        .validate()
        .expect("valid");
        let now = Utc::now();
        Note::new(NoteId::new(), content, now, now)
    }

    fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
        result.expect_err("the store must fail").unavailable
    }

    #[tokio::test]
    async fn an_unusable_directory_is_unavailable_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::new(dir.path().to_path_buf());
        let owner = Owner::new("user-1").expect("owner");
        let kept = note("kept");
        store.put_new(&owner, &kept).await.expect("create");
        // `notes` becomes a regular file: nobody, root included, can write through it.
        fs::rename(store.notes_dir(), dir.path().join("away")).expect("move");
        fs::write(store.notes_dir(), b"not a directory").expect("write");

        let err = store
            .put_new(&owner, &note("new"))
            .await
            .expect_err("create");
        assert!(
            matches!(err, PutError::Store(ref e) if e.unavailable),
            "{err:?}"
        );
        let version = Version::new(kept.etag());
        let err = store
            .put_if(&owner, &kept, &version)
            .await
            .expect_err("replace");
        assert!(
            matches!(err, PutError::Store(ref e) if e.unavailable),
            "{err:?}"
        );
        assert!(unavailable(store.get(&owner, &kept.id()).await));
        assert!(unavailable(store.delete(&owner, &kept.id()).await));
        assert!(unavailable(store.list_page(&owner, None, 10).await));
        assert!(unavailable(store.count_all().await));

        let mut left = Vec::new();
        for entry in fs::read_dir(dir.path().join("away").join("user-1")).expect("read") {
            left.push(entry.expect("entry").file_name());
        }
        left.sort();
        let want: Vec<std::ffi::OsString> = [".index", LOCK_FILE, file_name(&kept.id()).as_str()]
            .into_iter()
            .map(Into::into)
            .collect();
        assert_eq!(
            left, want,
            "the note, its index and lock, and no temporary file"
        );
    }

    #[tokio::test]
    async fn a_page_skips_ids_whose_file_is_gone_and_still_fills() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::new(dir.path().to_path_buf());
        let owner = Owner::new("user-1").expect("owner");
        let mut created = Vec::new();
        for i in 0..3 {
            let n = note(&format!("n{i}"));
            store.put_new(&owner, &n).await.expect("create");
            created.push(n);
        }
        // Ids newer than every note, in the index without a file (a create cut short).
        let owner_dir = store.owner_dir(&owner);
        {
            let mut index = open_index(&owner_dir).expect("index");
            for _ in 0..2 {
                assert!(index.insert(&NoteId::new()).expect("insert"));
            }
            assert_eq!(index.len(), 5);
        }
        let page = store.list_page(&owner, None, 2).await.expect("page");
        let titles: Vec<&str> = page.notes.iter().map(Note::title).collect();
        assert_eq!(titles, ["n2", "n1"]);
        assert!(page.more);
        let page = store
            .list_page(&owner, Some(created[1].id()), 2)
            .await
            .expect("page");
        let titles: Vec<&str> = page.notes.iter().map(Note::title).collect();
        assert_eq!(titles, ["n0"]);
        assert!(!page.more);
        // A directory written before the index existed gets one from its files.
        fs::remove_file(owner_dir.join(super::super::fs_index::INDEX_FILE)).expect("remove");
        let page = store.list_page(&owner, None, 10).await.expect("page");
        assert_eq!(page.notes.len(), 3);
        assert_eq!(store.count_all().await.expect("count"), 3);
    }

    #[tokio::test]
    async fn a_corrupt_note_is_a_bug_not_unavailability() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::new(dir.path().to_path_buf());
        let owner = Owner::new("user-1").expect("owner");
        let id = NoteId::new();
        let owner_dir = store.owner_dir(&owner);
        fs::create_dir_all(&owner_dir).expect("mkdir");
        fs::write(owner_dir.join(file_name(&id)), b"{").expect("write");
        assert!(!unavailable(store.get(&owner, &id).await));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn directories_are_0700_and_note_files_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path| {
            fs::metadata(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions()
                .mode()
                & 0o777
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::new(dir.path().join("data"));
        let owner = Owner::new("user-1").expect("owner");
        let first = note("first");
        store.put_new(&owner, &first).await.expect("create");
        let version = Version::new(first.etag());
        let replaced = Note::new(
            first.id(),
            NoteInput {
                title: "replaced".into(),
                body: String::new(),
                tags: Vec::new(),
            }
            .validate()
            .expect("valid"),
            first.created_at(),
            Utc::now(),
        );
        store
            .put_if(&owner, &replaced, &version)
            .await
            .expect("replace");
        for path in [
            store.root().to_path_buf(),
            store.notes_dir(),
            store.owner_dir(&owner),
        ] {
            assert_eq!(mode(&path), 0o700, "{}", path.display());
        }
        let owner_dir = store.owner_dir(&owner);
        for path in [
            owner_dir.join(file_name(&first.id())),
            owner_dir.join(LOCK_FILE),
        ] {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}
