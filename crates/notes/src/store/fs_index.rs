//! The filesystem store's per-owner index: `{owner dir}/.index`, every note id of the owner as
//! 26 ASCII bytes, sorted, nothing else (no separator, no header), so that record `i` is at
//! byte `26 i`. A page finds its place by binary search and reads just its records, so it costs
//! O(log n + page) reads however many notes there are; the directory is never listed for it.
//!
//! Inserting and removing keep the file sorted by rewriting the records after the place: new
//! ids are the newest (ULIDs grow with time), so a create appends, and deleting a note rewrites
//! only the ids newer than it (26 bytes each). Every use happens under the owner's exclusive
//! lock (`fs.rs`). An owner directory written before the index existed gets one, built from a
//! listing of the directory, the first time it is used.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use crate::model::NoteId;

/// The index's name in the owner's directory.
pub(crate) const INDEX_FILE: &str = ".index";
/// Bytes per record: a ULID in its canonical text form.
const RECORD: u64 = 26;

/// An owner's open index.
pub(crate) struct Index {
    file: File,
    records: u64,
}

impl Index {
    /// Opens the index of `dir` (holding the owner's lock), building it from `ids` (the
    /// directory's note ids, asked for only then) when there is none yet.
    pub(crate) fn open(
        dir: &Path,
        options: &std::fs::OpenOptions,
        ids: impl FnOnce() -> io::Result<Vec<NoteId>>,
    ) -> io::Result<Self> {
        let path = dir.join(INDEX_FILE);
        let file = options
            .clone()
            .read(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let len = file.metadata()?.len();
        if len % RECORD != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is {len} bytes, not whole records", path.display()),
            ));
        }
        let mut index = Self {
            file,
            records: len / RECORD,
        };
        if index.records == 0 {
            let mut ids = ids()?;
            if !ids.is_empty() {
                ids.sort_unstable();
                ids.dedup();
                let bytes: Vec<u8> = ids
                    .iter()
                    .flat_map(|id| id.to_string().into_bytes())
                    .collect();
                index.file.seek(SeekFrom::Start(0))?;
                index.file.write_all(&bytes)?;
                index.file.sync_all()?;
                index.records = ids.len() as u64;
            }
        }
        Ok(index)
    }

    /// How many ids it holds.
    pub(crate) fn len(&self) -> u64 {
        self.records
    }

    fn read(&mut self, at: u64, count: u64) -> io::Result<Vec<NoteId>> {
        let mut bytes = vec![0_u8; usize::try_from(count * RECORD).unwrap_or(0)];
        self.file.seek(SeekFrom::Start(at * RECORD))?;
        self.file.read_exact(&mut bytes)?;
        bytes
            .chunks(RECORD as usize)
            .map(|chunk| {
                std::str::from_utf8(chunk)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "an index record is no note id")
                    })
            })
            .collect()
    }

    /// The place of `id`: the first record not below it, and whether it is `id`.
    fn search(&mut self, id: &NoteId) -> io::Result<(u64, bool)> {
        let (mut low, mut high) = (0, self.records);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.read(middle, 1)?[0] < *id {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let found = low < self.records && self.read(low, 1)?[0] == *id;
        Ok((low, found))
    }

    /// Rewrites everything from record `at` on as `records`.
    fn rewrite_from(&mut self, at: u64, records: &[NoteId]) -> io::Result<()> {
        let bytes: Vec<u8> = records
            .iter()
            .flat_map(|id| id.to_string().into_bytes())
            .collect();
        self.file.seek(SeekFrom::Start(at * RECORD))?;
        self.file.write_all(&bytes)?;
        let records = at + records.len() as u64;
        self.file.set_len(records * RECORD)?;
        self.file.sync_all()?;
        self.records = records;
        Ok(())
    }

    /// Adds `id`; `false` when it is there already.
    pub(crate) fn insert(&mut self, id: &NoteId) -> io::Result<bool> {
        let (at, found) = self.search(id)?;
        if found {
            return Ok(false);
        }
        let mut tail = self.read(at, self.records - at)?;
        tail.insert(0, *id);
        self.rewrite_from(at, &tail)?;
        Ok(true)
    }

    /// Removes `id`; `false` when it was not there.
    pub(crate) fn remove(&mut self, id: &NoteId) -> io::Result<bool> {
        let (at, found) = self.search(id)?;
        if !found {
            return Ok(false);
        }
        let tail = self.read(at + 1, self.records - at - 1)?;
        self.rewrite_from(at, &tail)?;
        Ok(true)
    }

    /// Up to `count` ids below `before` (all ids when `None`), newest first, and the place to
    /// continue from (pass it to [`Index::older_than`] for the next ones).
    pub(crate) fn newest_below(
        &mut self,
        before: Option<&NoteId>,
        count: u64,
    ) -> io::Result<(Vec<NoteId>, u64)> {
        let end = match before {
            Some(id) => self.search(id)?.0,
            None => self.records,
        };
        self.older_than(end, count)
    }

    /// Up to `count` ids of the records before place `end`, newest first, and the place of the
    /// oldest of them.
    pub(crate) fn older_than(&mut self, end: u64, count: u64) -> io::Result<(Vec<NoteId>, u64)> {
        let start = end.saturating_sub(count);
        let mut ids = self.read(start, end - start)?;
        ids.reverse();
        Ok((ids, start))
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;

    fn options() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.write(true);
        options
    }

    #[test]
    fn the_index_stays_sorted_and_pages_read_only_their_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ids: Vec<NoteId> = (0..50).map(|_| NoteId::new()).collect();
        // Built from a listing in any order, the first time.
        let mut shuffled = ids.clone();
        shuffled.reverse();
        let mut index = Index::open(dir.path(), &options(), || Ok(shuffled.clone())).expect("open");
        assert_eq!(index.len(), 50);
        ids.sort_unstable();
        let (page, next) = index.newest_below(None, 10).expect("page");
        let newest: Vec<NoteId> = ids.iter().rev().take(10).copied().collect();
        assert_eq!(page, newest);
        let (page, _) = index.older_than(next, 10).expect("page");
        assert_eq!(
            page,
            ids.iter()
                .rev()
                .skip(10)
                .take(10)
                .copied()
                .collect::<Vec<_>>()
        );
        // A cursor that names no id of the index positions the same way.
        let (page, _) = index.newest_below(Some(&ids[5]), 100).expect("page");
        assert_eq!(page, ids[..5].iter().rev().copied().collect::<Vec<_>>());

        // Insert in the middle and at the end, remove from the middle; reopening reads it back.
        let middle = ids[20];
        assert!(index.remove(&middle).expect("remove"));
        assert!(!index.remove(&middle).expect("remove again"));
        assert!(index.insert(&middle).expect("insert"));
        assert!(!index.insert(&middle).expect("insert again"));
        let newer = NoteId::new();
        assert!(index.insert(&newer).expect("append"));
        assert!(index.remove(&ids[0]).expect("remove the oldest"));
        drop(index);
        let mut reopened =
            Index::open(dir.path(), &options(), || panic!("no rebuild: it exists")).expect("open");
        let (all, _) = reopened.newest_below(None, 1000).expect("all");
        let mut want: Vec<NoteId> = ids[1..].to_vec();
        want.push(newer);
        want.reverse();
        assert_eq!(all, want);
    }

    #[test]
    fn a_torn_index_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(INDEX_FILE), b"short").expect("write");
        let err = Index::open(dir.path(), &options(), || Ok(Vec::new()))
            .err()
            .expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
