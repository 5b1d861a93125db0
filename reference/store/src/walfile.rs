//! The write-ahead log on disk: the directory lock, replay on open, durable appends and
//! atomic rewrites.
//!
//! Entry point: [`WalFile::open`], which returns the log ready for appends and the
//! engine rebuilt from it. Files in the directory: `LOCK` (held with an exclusive
//! advisory lock while open) and `wal` (the log, see [`crate::wal`]).
//!
//! The log holds every object, Secrets included, so it is private to the owner: the
//! files are `0600` and a directory the store creates is `0700`, as etcd keeps its data
//! directory. An existing directory open to others is tightened when it holds nothing
//! but the store's files; one shared with other files is left as it is, with a
//! warning (the store's own files are private either way). A store file that cannot be
//! made private is refused.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::StoreError;
use crate::engine::{Engine, Op, Snapshot};
use crate::wal::{self, Record};

const LOCK_FILE: &str = "LOCK";
const WAL_FILE: &str = "wal";
const WAL_TEMP: &str = "wal.tmp";

/// Owner-only modes, as etcd's `PrivateDirMode` and `PrivateFileMode`.
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

/// Why the log on disk could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WalFileError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Another process (or store in this process) holds the directory.
    #[error("store directory {0} is in use by another store (its LOCK file is held)")]
    Locked(PathBuf),
    /// The log cannot be decoded or replayed.
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// An earlier append failed half-way and could not be undone; the log refuses writes
    /// so nothing is acknowledged after a damaged record.
    #[error("write-ahead log {0} is unusable after a failed append; restart the store")]
    Poisoned(PathBuf),
}

impl From<WalFileError> for StoreError {
    fn from(e: WalFileError) -> Self {
        match e {
            WalFileError::Corrupt { .. } => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WalFileError {
    let path = path.to_path_buf();
    move |source| WalFileError::Io { op, path, source }
}

/// The open log of one store directory.
#[derive(Debug)]
pub(crate) struct WalFile {
    dir: PathBuf,
    file: File,
    /// Bytes of valid records; a failed append is cut back to this length.
    len: u64,
    fsync: bool,
    poisoned: bool,
    /// Held for the lifetime of the log: the advisory lock is released on drop.
    _lock: File,
}

impl WalFile {
    /// Locks `dir`, replays its log (cutting a torn final record) and opens it for
    /// appends. `fsync` false skips syncing (for benchmarks only: not crash-safe).
    pub(crate) fn open(dir: &Path, fsync: bool) -> Result<(WalFile, Engine), WalFileError> {
        private_dir(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        private_file(&lock, &lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(WalFileError::Locked(dir.to_path_buf())),
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        let path = dir.join(WAL_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&path)
            .map_err(io_err("open", &path))?;
        private_file(&file, &path)?;
        sync_dir(dir)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err("read", &path))?;
        let decoded = wal::decode_all(&data).map_err(|e| WalFileError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if decoded.valid_len < data.len() {
            tracing::warn!(
                path = %path.display(),
                cut = data.len() - decoded.valid_len,
                "cutting a torn final record left by a crash mid-write"
            );
            file.set_len(decoded.valid_len as u64)
                .map_err(io_err("truncate", &path))?;
            file.sync_all().map_err(io_err("sync", &path))?;
        }
        let engine = replay(decoded.records).map_err(|e| WalFileError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let len = decoded.valid_len as u64;
        let wal = WalFile {
            dir: dir.to_path_buf(),
            file,
            len,
            fsync,
            poisoned: false,
            _lock: lock,
        };
        Ok((wal, engine))
    }

    /// Appends one write and makes it durable before returning.
    pub(crate) fn append(&mut self, op: &Op) -> Result<(), WalFileError> {
        let path = self.dir.join(WAL_FILE);
        if self.poisoned {
            return Err(WalFileError::Poisoned(path));
        }
        let record = wal::encode(&Record::Op(op.clone()));
        let written = self.file.write_all(&record).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Cut the partial record so later appends do not follow garbage.
            let undone = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_all());
            if undone.is_err() {
                self.poisoned = true;
            }
            return Err(io_err("append to", &path)(e));
        }
        self.len += record.len() as u64;
        Ok(())
    }

    /// Whether the log still accepts writes.
    pub(crate) fn check(&self) -> Result<(), WalFileError> {
        if self.poisoned {
            return Err(WalFileError::Poisoned(self.dir.join(WAL_FILE)));
        }
        Ok(())
    }

    /// Replaces the log with `snap` atomically: temp file, fsync, rename, fsync dir.
    pub(crate) fn rewrite(&mut self, snap: &Snapshot) -> Result<(), WalFileError> {
        let temp = self.dir.join(WAL_TEMP);
        let path = self.dir.join(WAL_FILE);
        let data = wal::encode_snapshot(snap);
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&temp)
            .map_err(io_err("create", &temp))?;
        // A temp file left by a crash keeps its old mode: the rename carries it over.
        private_file(&f, &temp)?;
        f.write_all(&data).map_err(io_err("write", &temp))?;
        f.sync_all().map_err(io_err("sync", &temp))?;
        drop(f);
        fs::rename(&temp, &path).map_err(io_err("rename onto", &path))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        self.len = data.len() as u64;
        self.poisoned = false;
        Ok(())
    }
}

/// Creates `dir` (and missing parents) owner-only, or tightens an existing one that
/// holds only the store's files.
fn private_dir(dir: &Path) -> Result<(), WalFileError> {
    if !dir.exists() {
        return fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)
            .map_err(io_err("create directory", dir));
    }
    let mode = fs::metadata(dir)
        .map_err(io_err("stat", dir))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let ours = fs::read_dir(dir)
        .map_err(io_err("read directory", dir))?
        .all(|e| {
            e.is_ok_and(|e| {
                matches!(
                    e.file_name().to_str(),
                    Some(LOCK_FILE | WAL_FILE | WAL_TEMP)
                )
            })
        });
    if ours {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:o}"),
            "store directory was open to other users; making it private (700)"
        );
        fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR_MODE))
            .map_err(io_err("make private", dir))?;
    } else {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:o}"),
            "store directory is open to other users and holds other files, so it is left \
             as it is; the store's own files are private (600), but a directory of its \
             own (700) is recommended"
        );
    }
    Ok(())
}

/// Makes a store file owner-only (a file created earlier, or by an older version, may
/// be readable by others); a file that cannot be made private is refused.
fn private_file(file: &File, path: &Path) -> Result<(), WalFileError> {
    let mode = file
        .metadata()
        .map_err(io_err("stat", path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))
            .map_err(io_err("make private", path))?;
    }
    Ok(())
}

/// Makes a rename or file creation in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), WalFileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

/// Why a decoded log cannot be replayed.
#[derive(Debug, thiserror::Error)]
enum ReplayError {
    /// The engine refused a snapshot or a write.
    #[error(transparent)]
    Engine(#[from] StoreError),
    /// A snapshot record after the log's first write.
    #[error("snapshot record {0:?} after the start of the log")]
    LateSnapshot(Box<Record>),
}

/// Rebuilds the engine: an optional leading snapshot, then every write in order.
fn replay(records: Vec<Record>) -> Result<Engine, ReplayError> {
    let mut records = records.into_iter().peekable();
    let mut engine = match records.peek() {
        Some(Record::Snapshot {
            revision,
            compacted,
        }) => {
            let mut snap = Snapshot {
                revision: *revision,
                compacted: *compacted,
                versions: Vec::new(),
            };
            records.next();
            while let Some(Record::Version(..)) = records.peek() {
                if let Some(Record::Version(key, v)) = records.next() {
                    snap.versions.push((key, v));
                }
            }
            Engine::restore(snap)?
        }
        _ => Engine::default(),
    };
    for record in records {
        match record {
            Record::Op(op) => engine.apply(op)?,
            other => return Err(ReplayError::LateSnapshot(Box::new(other))),
        }
    }
    Ok(engine)
}

#[cfg(test)]
#[path = "walfile_tests.rs"]
mod tests;
