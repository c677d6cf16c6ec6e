//! Long because sources, sync and reading back run through `Memory`'s one
//! connection and in-memory codes (chunking, indexing, vectors and search
//! are apart); the sync loop is the next part to move out.
//!
//! [`Memory`]: sources, syncing files into the index, and reading back.

use crate::files::{self, SourceKind};
use crate::index::{self, PreparedFile};
use crate::vectors::{ChunkTags, VectorIndex};
use crate::{
    chunk_markdown, io_error, notes, ChunkOptions, Embedder, Guarded, MemoryError, ProtectedFiles,
    Provenance, Result, SqliteContext,
};
use pincer_store::Store;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// How memory is set up.
#[derive(Clone, Debug)]
pub struct MemoryOptions {
    /// The workspace folder (`MEMORY.md`, `memory/`).
    pub workspace: PathBuf,
    /// The chunk token budget.
    pub chunking: ChunkOptions,
}

/// A place memory reads from: the workspace or something the owner added.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    /// Its id.
    pub id: i64,
    /// The absolute path.
    pub path: String,
    /// `workspace`, `folder` or `file`.
    pub kind: String,
    /// The provenance of what it holds (the workspace mixes owner and agent).
    pub provenance: Provenance,
    /// Files indexed from it.
    pub files: i64,
    /// Chunks indexed from it.
    pub chunks: i64,
}

/// What the background sync is doing, for progress bars.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    /// Whether a sync is running.
    pub running: bool,
    /// Files looked at so far in this sync.
    pub files_done: usize,
    /// Files this sync will look at.
    pub files_total: usize,
    /// The file being indexed.
    pub current: Option<String>,
    /// Files that could not be indexed, with why (last sync).
    pub errors: Vec<String>,
}

/// What a sync did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    /// Files (re)indexed.
    pub files_indexed: usize,
    /// Files already up to date.
    pub files_unchanged: usize,
    /// Files gone from disk whose chunks were dropped.
    pub files_removed: usize,
    /// Chunks embedded.
    pub chunks_embedded: usize,
    /// Chunks whose vector was re-used because their text was unchanged.
    pub chunks_reused: usize,
    /// Files that failed, with why.
    pub errors: Vec<String>,
    /// The failures that were not the file's own (the database, the disk,
    /// the embedder): the owner is told of these, not only the Memory pane.
    pub faults: Vec<String>,
}

/// Counts over the whole index, and its health.
#[derive(Clone, Debug, Serialize)]
pub struct MemoryStats {
    /// Sources.
    pub sources: i64,
    /// Files indexed.
    pub files: i64,
    /// Chunk rows.
    pub chunks: i64,
    /// Rows in the vec0 table (always equal to `chunks`).
    pub vectors: i64,
    /// Rows in the FTS5 table (always equal to `chunks`).
    pub keyword_rows: i64,
    /// The embedding model's folder.
    pub embedder: String,
    /// Vector length.
    pub dimensions: usize,
    /// Bytes the in-memory quantised vectors take.
    pub vector_cache_bytes: usize,
    /// `PRAGMA integrity_check` of the database: `ok` when healthy.
    pub integrity: String,
}

/// Memory: the index over the workspace and the owner's sources.
pub struct Memory {
    pub(crate) store: Arc<Store>,
    pub(crate) embedder: Arc<Embedder>,
    pub(crate) options: MemoryOptions,
    pub(crate) vectors: RwLock<VectorIndex>,
    /// `PRAGMA data_version` when `vectors` was last in step with the file;
    /// it changes when another process (a `pincer memory` command) commits.
    pub(crate) data_version: Mutex<i64>,
    write_lock: Mutex<()>,
    progress: Mutex<Progress>,
    pub(crate) word_counts: Mutex<crate::search::WordCounts>,
    protection: RwLock<Option<Arc<dyn ProtectedFiles>>>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("workspace", &self.options.workspace)
            .finish()
    }
}

enum Outcome {
    Unchanged,
    Indexed { embedded: usize, reused: usize },
}

/// How close a file's time may be to its indexing before the time is not
/// trusted to show a change (coarse file-system clocks tick in seconds).
const RACY_MS: i64 = 2_000;

impl Memory {
    /// Opens memory over `store`, creating the vector table for `embedder`
    /// (rebuilding it if the embedder changed) and registering the workspace.
    pub fn open(
        store: Arc<Store>,
        embedder: Arc<Embedder>,
        options: MemoryOptions,
    ) -> Result<Self> {
        let embedder_id = format!("{}:{}", embedder.id(), embedder.dimensions());
        store
            .with_connection(|c| index::ensure_vec_table(c, &embedder_id, embedder.dimensions()))?;
        let workspace = options.workspace.to_string_lossy().into_owned();
        store.with_connection(|c| {
            c.execute(
                "INSERT INTO memory_sources(path, kind, provenance, added_at) VALUES (?1, 'workspace', 'owner', ?2)
                 ON CONFLICT(path) DO NOTHING",
                params![workspace, index::now_ms()],
            )
            .context("registering the workspace as a memory source")
        })?;
        let memory = Self {
            vectors: RwLock::new(VectorIndex::new(embedder.dimensions())),
            store,
            embedder,
            options,
            data_version: Mutex::new(-1),
            write_lock: Mutex::new(()),
            progress: Mutex::new(Progress::default()),
            word_counts: Mutex::default(),
            protection: RwLock::new(None),
        };
        memory.reload_vectors()?;
        Ok(memory)
    }

    /// Installs the gate for protected files (the app's `MEMORY.md`): from
    /// now on they are indexed as it says. Re-index them after a change.
    pub fn set_protection(&self, protection: Arc<dyn ProtectedFiles>) {
        *self.protection.write().unwrap_or_else(|p| p.into_inner()) = Some(protection);
    }

    fn guarded(&self, path: &Path) -> Guarded {
        let protection = self
            .protection
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        protection.map_or(Guarded::Open, |p| p.guard(path))
    }

    /// The embedder, for `/v1/embeddings`.
    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// The workspace folder.
    pub fn workspace(&self) -> &Path {
        &self.options.workspace
    }

    /// Rebuilds the in-memory vector codes from the vec0 table.
    pub(crate) fn reload_vectors(&self) -> Result<()> {
        let mut fresh = VectorIndex::new(self.embedder.dimensions());
        let version = self.store.with_connection(|c| -> Result<i64> {
            let mut statement = c
                .prepare(&format!(
                    "SELECT v.chunk_id, v.embedding, f.source_id, c.provenance, f.day
                     FROM {} v JOIN memory_chunks c ON c.id = v.chunk_id JOIN memory_files f ON f.id = c.file_id",
                    index::VEC_TABLE
                ))
                .context("reading the vectors")?;
            let mut rows = statement.query([]).context("reading the vectors")?;
            while let Some(row) = rows.next().context("reading the vectors")? {
                let blob: Vec<u8> = row.get(1).context("reading a vector")?;
                let provenance: String = row.get(3).context("reading a vector")?;
                let tags = ChunkTags {
                    source_id: row.get(2).context("reading a vector")?,
                    provenance: Provenance::parse(&provenance).unwrap_or(Provenance::Untrusted).index(),
                    day: row.get(4).context("reading a vector")?,
                };
                fresh.insert(row.get(0).context("reading a vector")?, tags, &index::blob_vector(&blob));
            }
            c.query_row("PRAGMA data_version", [], |r| r.get(0)).context("reading the data version")
        })?;
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        *self.data_version.lock().unwrap_or_else(|p| p.into_inner()) = version;
        Ok(())
    }

    /// Reloads the vector codes if another process changed the database.
    pub(crate) fn refresh_if_changed_elsewhere(&self) -> Result<()> {
        let now: i64 = self
            .store
            .with_connection(|c| c.query_row("PRAGMA data_version", [], |r| r.get(0)))
            .context("reading the data version")?;
        let known = *self.data_version.lock().unwrap_or_else(|p| p.into_inner());
        if now != known {
            self.reload_vectors()?;
        }
        Ok(())
    }

    /// Adds a folder or file as a source; [`Memory::sync`] indexes it.
    /// Outside documents default to `untrusted`: fenced as data in prompts.
    pub fn add_source(&self, path: &Path, provenance: Provenance) -> Result<Source> {
        let path = std::fs::canonicalize(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => MemoryError::NotFound(format!(
                "{} does not exist; give the path of a folder or file to remember",
                path.display()
            )),
            _ => io_error(path)(source),
        })?;
        let kind = if path.is_dir() {
            SourceKind::Folder
        } else {
            SourceKind::File
        };
        if kind == SourceKind::File && !files::is_indexable(&path) {
            return Err(MemoryError::Invalid(format!(
                "{} is not a kind of file memory reads (markdown, plain text, source code or PDF)",
                path.display()
            )));
        }
        self.ensure_room_to_index(kind, &path)?;
        let text = path.to_string_lossy().into_owned();
        self.store.with_connection(|c| {
            c.execute(
                "INSERT INTO memory_sources(path, kind, provenance, added_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(path) DO NOTHING",
                params![text, kind.as_str(), provenance.as_str(), index::now_ms()],
            )
            .context("adding a memory source")
        })?;
        self.source_paths()?
            .into_iter()
            .find(|s| s.path == text)
            .ok_or_else(|| {
                MemoryError::NotFound(format!("source {text} vanished while being added"))
            })
    }

    /// Refuses a source whose index the database's disk cannot hold,
    /// before anything is written: its text, the full-text index and a
    /// vector per chunk take about four times a text file's size (a PDF's
    /// text is far smaller than the file, so its size counts once).
    fn ensure_room_to_index(&self, kind: SourceKind, path: &Path) -> Result<()> {
        const MARGIN: u64 = 1024 * 1024;
        let needed: u64 = files::list(kind, path)
            .iter()
            .filter_map(|file| {
                let bytes = std::fs::metadata(file)
                    .ok()?
                    .len()
                    .min(files::MAX_FILE_BYTES);
                let pdf = file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
                Some(if pdf { bytes } else { 4 * bytes })
            })
            .sum::<u64>()
            + MARGIN;
        let folder = self.store.path().parent().unwrap_or(self.store.path());
        match pincer_store::free_bytes(folder) {
            Some(free) if free < needed => Err(MemoryError::NoSpace {
                source_path: path.display().to_string(),
                folder: folder.display().to_string(),
                needed: pincer_store::human_bytes(needed),
                free: pincer_store::human_bytes(free),
            }),
            _ => Ok(()),
        }
    }

    /// Forgets a source the owner added: its files' chunks and vectors go.
    /// The workspace itself cannot be forgotten. Returns the source's path.
    pub fn forget_source(&self, id: i64) -> Result<PathBuf> {
        let _writing = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (path, removed) = self.store.with_connection(|c| -> Result<(PathBuf, Vec<i64>)> {
            let found: Option<(String, String)> = c
                .query_row("SELECT kind, path FROM memory_sources WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .context("finding a source")?;
            let path = match found {
                None => return Err(MemoryError::NotFound(format!("memory source {id} does not exist"))),
                Some((kind, _)) if kind == "workspace" => {
                    return Err(MemoryError::Invalid("the workspace is always remembered; delete notes from it instead".into()))
                }
                Some((_, path)) => PathBuf::from(path),
            };
            let transaction = c.transaction().context("starting to forget a source")?;
            let ids = {
                let mut statement = transaction
                    .prepare("SELECT c.id FROM memory_chunks c JOIN memory_files f ON f.id = c.file_id WHERE f.source_id = ?1")
                    .context("listing a source's chunks")?;
                let ids = statement.query_map([id], |r| r.get(0)).context("listing a source's chunks")?;
                ids.collect::<std::result::Result<Vec<i64>, _>>().context("listing a source's chunks")?
            };
            transaction.execute("DELETE FROM memory_sources WHERE id = ?1", [id]).context("forgetting a source")?;
            transaction.commit().context("committing a forgotten source")?;
            Ok((path, ids))
        })?;
        let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        removed.iter().for_each(|id| vectors.remove(*id));
        Ok(path)
    }

    /// Every source with its counts (which cost a pass over its chunks).
    pub fn sources(&self) -> Result<Vec<Source>> {
        self.query_sources(
            "(SELECT count(*) FROM memory_files f WHERE f.source_id = s.id),
             (SELECT count(*) FROM memory_chunks c JOIN memory_files f ON f.id = c.file_id WHERE f.source_id = s.id)",
        )
    }

    /// Every source without counts (zero): for syncing and routing a
    /// watcher event to its source, which run on every change.
    pub(crate) fn source_paths(&self) -> Result<Vec<Source>> {
        self.query_sources("0, 0")
    }

    fn query_sources(&self, counts: &str) -> Result<Vec<Source>> {
        self.store.with_connection(|c| {
            let mut statement = c
                .prepare(&format!("SELECT s.id, s.path, s.kind, s.provenance, {counts} FROM memory_sources s ORDER BY s.id"))
                .context("listing sources")?;
            let rows = statement
                .query_map([], |r| {
                    let provenance: String = r.get(3)?;
                    Ok(Source {
                        id: r.get(0)?,
                        path: r.get(1)?,
                        kind: r.get(2)?,
                        provenance: Provenance::parse(&provenance).unwrap_or(Provenance::Untrusted),
                        files: r.get(4)?,
                        chunks: r.get(5)?,
                    })
                })
                .context("listing sources")?;
            rows.collect::<std::result::Result<_, _>>().context("listing sources")
        })
    }

    /// The current sync's progress.
    pub fn progress(&self) -> Progress {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Brings the index in step with every source: new and changed files are
    /// indexed, files gone from disk are dropped. Each file commits on its
    /// own, so a sync cut short (a kill, `cancel`) resumes where it stopped.
    pub fn sync(&self, cancel: &AtomicBool) -> Result<SyncReport> {
        let sources = self.source_paths()?;
        let mut plan: Vec<(Source, Vec<PathBuf>)> = Vec::new();
        for source in sources {
            let listed = files::list(SourceKind::parse(&source.kind), Path::new(&source.path));
            plan.push((source, listed));
        }
        {
            let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
            *progress = Progress {
                running: true,
                files_total: plan.iter().map(|(_, f)| f.len()).sum(),
                ..Default::default()
            };
        }
        let mut report = SyncReport::default();
        for (source, listed) in &plan {
            let on_disk: HashSet<&PathBuf> = listed.iter().collect();
            let known = self.known_files(source.id)?;
            for gone in known.iter().filter(|k| !on_disk.contains(k)) {
                self.drop_path(gone)?;
                report.files_removed += 1;
            }
            for path in listed {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                self.set_current(Some(path));
                match self.index_file(source, path) {
                    Ok(Outcome::Unchanged) => report.files_unchanged += 1,
                    Ok(Outcome::Indexed { embedded, reused }) => {
                        report.files_indexed += 1;
                        report.chunks_embedded += embedded;
                        report.chunks_reused += reused;
                    }
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "memory could not index a file");
                        if error.is_fault() {
                            report.faults.push(error.to_string());
                        }
                        report.errors.push(error.to_string());
                    }
                }
                let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
                progress.files_done += 1;
            }
        }
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        progress.running = false;
        progress.current = None;
        progress.errors = report.errors.clone();
        Ok(report)
    }

    /// Drops the whole index and builds it again from the files.
    pub fn reindex(&self, cancel: &AtomicBool) -> Result<SyncReport> {
        {
            let _writing = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
            self.store.with_connection(|c| {
                let transaction = c.transaction().context("starting a reindex")?;
                transaction
                    .execute_batch(&format!(
                        "DELETE FROM memory_files; DELETE FROM memory_fts; DELETE FROM {};",
                        index::VEC_TABLE
                    ))
                    .context("clearing the index")?;
                transaction.commit().context("committing a cleared index")
            })?;
            *self.vectors.write().unwrap_or_else(|p| p.into_inner()) =
                VectorIndex::new(self.embedder.dimensions());
        }
        self.sync(cancel)
    }

    /// Re-indexes one path after a change on disk (or drops it if deleted).
    /// Paths no source covers are ignored. Returns whether anything changed.
    pub fn index_path(&self, path: &Path) -> Result<bool> {
        if !path.exists() {
            return Ok(!self.drop_path(path)?.is_empty());
        }
        let Some(source) = self
            .source_paths()?
            .into_iter()
            .find(|s| files::belongs(SourceKind::parse(&s.kind), Path::new(&s.path), path))
        else {
            return Ok(false);
        };
        Ok(matches!(
            self.index_file(&source, path)?,
            Outcome::Indexed { .. }
        ))
    }

    /// Appends a "remember that …" note to today's daily note and indexes
    /// it at once. Returns the note's path and the line it was written on.
    pub fn remember(&self, text: &str) -> Result<(PathBuf, usize)> {
        let (path, line) = notes::append_to_daily_note(&self.options.workspace, text)?;
        self.index_path(&path)?;
        Ok((path, line))
    }

    /// Lines of a remembered file, read from disk (the source of truth):
    /// `from` is 1-based; `count` lines at most. Only files memory indexes
    /// can be read, so the tool cannot be pointed elsewhere on the disk.
    pub fn get(&self, path: &str, from: usize, count: usize) -> Result<String> {
        let known: Option<i64> = self.store.with_connection(|c| {
            c.query_row("SELECT id FROM memory_files WHERE path = ?1", [path], |r| {
                r.get(0)
            })
            .optional()
            .context("looking up a file")
        })?;
        if known.is_none() {
            return Err(MemoryError::NotFound(format!(
                "{path} is not in memory; search first and use a hit's path"
            )));
        }
        let text = match self.guarded(Path::new(path)) {
            Guarded::Open => {
                files::read_text(Path::new(path), &files::read_bytes(Path::new(path))?)?
            }
            Guarded::Accepted(text) => text,
            Guarded::Withheld => {
                return Err(MemoryError::NotFound(format!("{path} is not in memory")))
            }
        };
        Ok(text
            .lines()
            .skip(from.saturating_sub(1))
            .take(count.max(1))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Counts over the index.
    pub fn stats(&self) -> Result<MemoryStats> {
        let count = |sql: &str| -> Result<i64> {
            self.store.with_connection(|c| {
                c.query_row(sql, [], |r| r.get(0))
                    .context("counting the index")
            })
        };
        Ok(MemoryStats {
            sources: count("SELECT count(*) FROM memory_sources")?,
            files: count("SELECT count(*) FROM memory_files")?,
            chunks: count("SELECT count(*) FROM memory_chunks")?,
            vectors: count(&format!("SELECT count(*) FROM {}", index::VEC_TABLE))?,
            keyword_rows: count("SELECT count(*) FROM memory_fts")?,
            embedder: self.embedder.folder().display().to_string(),
            dimensions: self.embedder.dimensions(),
            vector_cache_bytes: self
                .vectors
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .memory_bytes(),
            integrity: self
                .store
                .with_connection(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
                .context("checking the database's integrity")?,
        })
    }

    /// Writes ready-made chunks and vectors as one file's index, through the
    /// same transaction as real ingestion. For the search benchmark, which
    /// needs 100k chunks without embedding 100k texts; not for the app.
    #[doc(hidden)]
    pub fn bench_insert(
        &self,
        path: &Path,
        texts: &[String],
        vectors: &[Vec<f32>],
        day: i32,
    ) -> Result<()> {
        let source = self
            .source_paths()?
            .into_iter()
            .next()
            .ok_or_else(|| MemoryError::NotFound("no source".into()))?;
        let chunks: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let chunk = crate::Chunk {
                    start_line: i + 1,
                    end_line: i + 1,
                    heading_path: Vec::new(),
                    text: text.clone(),
                    tokens: text.split_whitespace().count(),
                    content_hash: String::new(),
                };
                (chunk, hex::encode(Sha256::digest(text.as_bytes())))
            })
            .collect();
        let prepared = PreparedFile {
            source_id: source.id,
            path,
            content_hash: "bench",
            modified_ms: 0,
            size: 0,
            day,
            provenance: Provenance::Owner,
            chunks: &chunks,
            vectors,
        };
        let written = self
            .store
            .with_connection(|c| index::write_file(c, &prepared))?;
        let mut index = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        let tags = ChunkTags {
            source_id: source.id,
            provenance: Provenance::Owner.index(),
            day,
        };
        for (id, vector) in written.added.iter().zip(vectors) {
            index.insert(*id, tags, vector);
        }
        Ok(())
    }

    fn set_current(&self, path: Option<&Path>) {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .current = path.map(|p| p.display().to_string());
    }

    fn known_files(&self, source_id: i64) -> Result<Vec<PathBuf>> {
        self.store.with_connection(|c| {
            let mut statement = c
                .prepare("SELECT path FROM memory_files WHERE source_id = ?1")
                .context("listing files")?;
            let rows = statement
                .query_map([source_id], |r| r.get::<_, String>(0))
                .context("listing files")?;
            rows.map(|r| r.map(PathBuf::from))
                .collect::<std::result::Result<_, _>>()
                .context("listing files")
        })
    }

    fn drop_path(&self, path: &Path) -> Result<Vec<i64>> {
        let _writing = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.store.with_connection(|c| index::drop_file(c, path))?;
        let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        removed.iter().for_each(|id| vectors.remove(*id));
        Ok(removed)
    }

    fn index_file(&self, source: &Source, path: &Path) -> Result<Outcome> {
        let guarded = self.guarded(path);
        if guarded == Guarded::Withheld {
            let removed = self.drop_path(path)?;
            return Ok(if removed.is_empty() {
                Outcome::Unchanged
            } else {
                Outcome::Indexed {
                    embedded: 0,
                    reused: 0,
                }
            });
        }
        let _writing = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Stat before reading: if the file changes in between, the stored
        // time is older than the content and the next sync looks again.
        let metadata = std::fs::metadata(path).map_err(io_error(path))?;
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let path_text = path.to_string_lossy().into_owned();
        let stored: Option<(String, i64, i64, i64)> = self.store.with_connection(|c| {
            c.query_row("SELECT content_hash, modified_ms, size, indexed_at FROM memory_files WHERE path = ?1", [&path_text], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .context("reading a file's indexed state")
        })?;
        // Same time and size as indexed: a sync over a large folder stats
        // its files instead of reading them all. Only when the file's time
        // was well before it was indexed: a write in the same clock tick as
        // the indexing leaves the time unchanged ("racily clean", as git
        // calls it), so such a file is hashed again.
        let trusted =
            |time: i64, indexed_at: i64| time == modified_ms && time < indexed_at - RACY_MS;
        // A protected file is always compared by its accepted text: its
        // accepted version can change while the disk does not.
        let accepted = match guarded {
            Guarded::Accepted(text) => Some(text.into_bytes()),
            _ => None,
        };
        let unchanged_on_disk = stored.as_ref().is_some_and(|(_, time, size, at)| {
            trusted(*time, *at) && *size == metadata.len() as i64
        });
        if accepted.is_none() && unchanged_on_disk {
            return Ok(Outcome::Unchanged);
        }
        let bytes = match accepted {
            Some(bytes) => bytes,
            None => files::read_bytes(path)?,
        };
        let content_hash = hex::encode(Sha256::digest(&bytes));
        if stored
            .as_ref()
            .is_some_and(|(hash, _, _, _)| *hash == content_hash)
        {
            // Touched, not changed: remember the new time so the stat check holds next time.
            self.store.with_connection(|c| {
                c.execute(
                    "UPDATE memory_files SET modified_ms = ?2, indexed_at = ?3 WHERE path = ?1",
                    rusqlite::params![path_text, modified_ms, index::now_ms()],
                )
                .context("recording a file's new time")
            })?;
            return Ok(Outcome::Unchanged);
        }
        let text = files::read_text(path, &bytes)?;
        let chunks: Vec<_> = chunk_markdown(&text, &self.options.chunking, &|t| {
            self.embedder.count_tokens(t)
        })
        .into_iter()
        .map(|mut chunk| {
            // Secrets in a file stay in the file: the index keeps (and
            // embeds) the scrubbed text.
            let place = format!("memory: {}", path.display());
            chunk.text = self.store.scrub(&place, &chunk.text).into_owned();
            for heading in &mut chunk.heading_path {
                *heading = self.store.scrub(&place, heading).into_owned();
            }
            let input = embedding_input(&chunk.heading_path, &chunk.text);
            let hash = hex::encode(Sha256::digest(input.as_bytes()));
            (chunk, hash)
        })
        .collect();
        let mut vectors: Vec<Option<Vec<f32>>> = self.store.with_connection(|c| {
            chunks
                .iter()
                .map(|(_, hash)| index::vector_for_hash(c, hash))
                .collect::<Result<_>>()
        })?;
        let reused = vectors.iter().filter(|v| v.is_some()).count();
        let missing: Vec<usize> = (0..chunks.len())
            .filter(|&i| vectors[i].is_none())
            .collect();
        let inputs: Vec<String> = missing
            .iter()
            .map(|&i| embedding_input(&chunks[i].0.heading_path, &chunks[i].0.text))
            .collect();
        let fresh = self
            .embedder
            .embed(&inputs.iter().map(String::as_str).collect::<Vec<_>>())?;
        for (i, vector) in missing.iter().zip(fresh) {
            vectors[*i] = Some(vector);
        }
        let vectors: Vec<Vec<f32>> = vectors.into_iter().map(Option::unwrap_or_default).collect();
        let provenance = file_provenance(source, path);
        let day = files::file_day(path, modified_ms);
        let prepared = PreparedFile {
            source_id: source.id,
            path,
            content_hash: &content_hash,
            modified_ms,
            size: bytes.len() as i64,
            day,
            provenance,
            chunks: &chunks,
            vectors: &vectors,
        };
        let written = self
            .store
            .with_connection(|c| index::write_file(c, &prepared))?;
        let mut index = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        written.removed.iter().for_each(|id| index.remove(*id));
        let tags = ChunkTags {
            source_id: source.id,
            provenance: provenance.index(),
            day,
        };
        for (id, vector) in written.added.iter().zip(&vectors) {
            index.insert(*id, tags, vector);
        }
        Ok(Outcome::Indexed {
            embedded: missing.len(),
            reused,
        })
    }
}

/// What is embedded for a chunk: its heading path gives short chunks
/// ("- 9:30, bring the forms") the context that makes them findable.
pub(crate) fn embedding_input(heading_path: &[String], text: &str) -> String {
    if heading_path.is_empty() {
        text.to_owned()
    } else {
        format!("{}\n{}", heading_path.join(" > "), text)
    }
}

/// The workspace mixes authors: `MEMORY.md` is the owner's, the daily notes
/// are what the agent wrote down. Added sources carry their own.
fn file_provenance(source: &Source, path: &Path) -> Provenance {
    if source.kind == "workspace" && path.starts_with(Path::new(&source.path).join("memory")) {
        Provenance::Agent
    } else {
        source.provenance
    }
}
