//! Files of the state directory: private (0700) directories, private (0600) atomic writes and
//! JSON documents updated under a lock file, so that a running server and a separate command
//! can share them safely. Files get their mode when they are created (a temporary file opened
//! with mode 0600, then renamed or linked into place), never a wider one first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::IssuerError;

/// Opens `path` for writing with mode 0600 on Unix.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `dir` (and missing parents) with mode 0700, and narrows an existing `dir` that
/// others can read, write or enter to 0700 (on Unix).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Whether others than the owner may read or write `path` (Unix mode bits 0o077).
pub(crate) fn readable_by_others(metadata: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        metadata.permissions().mode() & 0o077 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        false
    }
}

/// A fresh temporary path next to `path` (same directory, so that a rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce = super::users::random_bytes::<6>()
        .map(hex::encode)
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{nonce}.tmp", std::process::id()))
}

/// Writes `bytes` to a new private temporary file next to `path` and syncs it.
fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let temp = temp_path(path);
    let result = private_options()
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    match result {
        Ok(()) => Ok(temp),
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(err)
        }
    }
}

/// Replaces `path` with `bytes` atomically (temporary file + rename), mode 0600.
pub(crate) fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    let io_error = |source| IssuerError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let temp = write_temp(path, bytes).map_err(io_error)?;
    fs::rename(&temp, path).map_err(|err| {
        let _ = fs::remove_file(&temp);
        io_error(err)
    })
}

/// Creates `path` with `bytes` (mode 0600) unless it already exists; `Ok(false)` when another
/// process created it first. The file appears complete or not at all.
pub(crate) fn create_private_exclusive(path: &Path, bytes: &[u8]) -> Result<bool, IssuerError> {
    let io_error = |source| IssuerError::Io {
        action: "create",
        path: path.to_owned(),
        source,
    };
    let temp = write_temp(path, bytes).map_err(io_error)?;
    let linked = match fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
        // Some file systems have no hard links: fall back to a plain rename.
        Err(_) if !path.exists() => fs::rename(&temp, path).map(|()| true),
        Err(err) => Err(err),
    };
    let _ = fs::remove_file(&temp);
    linked.map_err(io_error)
}

/// A JSON document in the state directory, read whole and rewritten atomically.
#[derive(Debug, Clone)]
pub(crate) struct JsonStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl JsonStore {
    /// The document at `path`, locked through `{path}.lock`.
    pub(crate) fn new(path: PathBuf) -> Self {
        let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(lock_name);
        Self { path, lock_path }
    }

    /// Where the document lives.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the document; the default value when the file does not exist yet.
    pub(crate) fn load<T: DeserializeOwned + Default>(&self) -> Result<T, IssuerError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| IssuerError::CorruptFile {
                path: self.path.clone(),
                reason: err.to_string(),
            }),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(T::default()),
            Err(source) => Err(IssuerError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Writes the default document when the file does not exist yet, and checks that an
    /// existing one parses.
    pub(crate) fn create_if_missing<T: DeserializeOwned + Serialize + Default>(
        &self,
    ) -> Result<(), IssuerError> {
        if self.path.exists() {
            return self.load::<T>().map(drop);
        }
        self.update(|_: &mut T| Ok(()))
    }

    /// Read-modify-write under an exclusive lock: `change` sees the current document and the
    /// result is written back only when it succeeds.
    pub(crate) fn update<T, R>(
        &self,
        change: impl FnOnce(&mut T) -> Result<R, IssuerError>,
    ) -> Result<R, IssuerError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        let _lock = self.lock()?;
        let mut document = self.load::<T>()?;
        let result = change(&mut document)?;
        let mut bytes =
            serde_json::to_vec_pretty(&document).map_err(|err| IssuerError::CorruptFile {
                path: self.path.clone(),
                reason: err.to_string(),
            })?;
        bytes.push(b'\n');
        write_private_atomic(&self.path, &bytes)?;
        Ok(result)
    }

    /// Takes the exclusive lock; it is released when the returned file is dropped.
    fn lock(&self) -> Result<File, IssuerError> {
        let io_error = |source| IssuerError::Io {
            action: "lock",
            path: self.lock_path.clone(),
            source,
        };
        let file = private_options()
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(io_error)?;
        file.lock().map_err(io_error)?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn updates_are_atomic_private_and_keep_failed_changes_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JsonStore::new(dir.path().join("doc.json"));
        let empty: BTreeMap<String, u32> = store.load().expect("load missing");
        assert!(empty.is_empty());
        store
            .update(|doc: &mut BTreeMap<String, u32>| {
                doc.insert("a".into(), 1);
                Ok(())
            })
            .expect("update");
        let failed = store.update(|doc: &mut BTreeMap<String, u32>| {
            doc.insert("b".into(), 2);
            Err::<(), _>(IssuerError::InvalidGroup(String::new()))
        });
        assert!(failed.is_err());
        let doc: BTreeMap<String, u32> = store.load().expect("load");
        assert_eq!(doc, BTreeMap::from([("a".to_owned(), 1)]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path())
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn exclusive_creation_keeps_the_first_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        assert!(create_private_exclusive(&path, b"first").expect("create"));
        assert!(!create_private_exclusive(&path, b"second").expect("create again"));
        assert_eq!(fs::read(&path).expect("read"), b"first");
    }

    #[test]
    fn a_corrupt_document_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JsonStore::new(dir.path().join("doc.json"));
        fs::write(store.path(), b"{not json").expect("write");
        let err = store.load::<BTreeMap<String, u32>>().expect_err("corrupt");
        assert!(matches!(err, IssuerError::CorruptFile { .. }), "{err}");
    }
}
