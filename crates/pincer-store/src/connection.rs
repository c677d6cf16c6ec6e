//! Opening the database: extension registration, pragmas, migrations.

use crate::health::{Health, Holding};
use crate::{integrity, migrations, Result, SqliteContext, StoreCondition, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Once, RwLock};

/// The database handle shared by every service.
///
/// One connection behind a mutex: writes are small and SQLite serialises them
/// anyway; WAL lets other processes (`pincer` subcommands, backups) read while
/// the server writes.
pub struct Store {
    path: PathBuf,
    connection: Mutex<Connection>,
    health: Arc<Health>,
    /// Whether this open created the file.
    created: bool,
    pub(crate) redactor: RwLock<Option<Arc<dyn crate::Redactor>>>,
    pub(crate) sealing: RwLock<pincer_seal::Sealing>,
    /// Told of every audit record once it is committed (the trust base
    /// moves its keychain anchor with the head).
    pub(crate) audit_observer: RwLock<Option<crate::AuditObserver>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

static REGISTER_SQLITE_VEC: Once = Once::new();

/// Makes sqlite-vec available on every connection opened after this call,
/// and routes SQLite's error log to the store's health (before SQLite
/// initialises, which registering the extension does).
fn register_sqlite_vec() {
    REGISTER_SQLITE_VEC.call_once(|| {
        // SAFETY: called once, before any connection of ours exists; the
        // callback calls no SQLite function.
        #[allow(unsafe_code)]
        if let Err(error) = unsafe { rusqlite::trace::config_log(Some(crate::health::sqlite_log)) } {
            tracing::warn!(%error, "SQLite's error log is not available; faults are seen where they are returned");
        }
        // SAFETY: `sqlite3_vec_init` is the extension's entry point with the
        // signature SQLite expects of an auto-extension; the crate declares it
        // without arguments, hence the pointer cast. Registration happens once,
        // before any connection of ours is opened.
        #[allow(unsafe_code)]
        unsafe {
            type EntryPoint = unsafe extern "C" fn(
                *mut rusqlite::ffi::sqlite3,
                *mut *mut std::os::raw::c_char,
                *const rusqlite::ffi::sqlite3_api_routines,
            ) -> std::os::raw::c_int;
            let entry: EntryPoint = std::mem::transmute(sqlite_vec::sqlite3_vec_init as *const ());
            rusqlite::ffi::sqlite3_auto_extension(Some(entry));
        }
    });
}

impl Store {
    /// The file name of the database inside a data folder.
    pub const FILE_NAME: &'static str = "pincer.db";

    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        register_sqlite_vec();
        let existed = path.exists();
        let health = Health::new(path);
        let connection = Connection::open(path).context("opening the database")?;
        let store = Self {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
            health,
            created: !existed,
            redactor: RwLock::new(None),
            sealing: RwLock::default(),
            audit_observer: RwLock::new(None),
        };
        store.configure()?;
        if existed {
            // A quick look at the file before anything writes to it; damage
            // marks the store (writes stop), other failures refuse to open.
            match store.check_integrity(crate::CheckDepth::Quick) {
                Ok(found) if !found.finished => tracing::warn!(
                    took_ms = found.took_ms,
                    "the check at start looked at part of the database; run `pincer doctor --check` for all of it"
                ),
                Ok(_) => {}
                Err(_) if store.health.is_damaged() => {}
                Err(error) => return Err(error),
            }
        }
        if store.health.is_damaged() {
            tracing::error!(
                "not migrating or writing {}: {}",
                path.display(),
                store.health.cause()
            );
            return Ok(store);
        }
        store.migrate(existed)?;
        Ok(store)
    }

    /// Brings the schema up to date; a file that has data is backed up
    /// first, beside itself, so a migration that goes wrong loses nothing.
    fn migrate(&self, existed: bool) -> Result<()> {
        let mut connection = self.lock();
        let found = migrations::version(&connection)?;
        if existed && found > 0 && found < migrations::SCHEMA_VERSION {
            let folder = crate::backup::pre_migration_folder(&self.path, found);
            drop(connection);
            crate::backup::copy_online(
                &self.path,
                &folder,
                &format!("before migrating from schema {found}"),
            )?;
            connection = self.lock();
        }
        migrations::apply(&mut connection, &self.path)
    }

    /// Whether opening it created the file (a first start, or a file that
    /// was deleted): nothing in it can have been lost.
    pub fn created_now(&self) -> bool {
        self.created
    }

    /// The store's condition: healthy, degraded (a full disk) or damaged.
    pub fn condition(&self) -> StoreCondition {
        self.health.condition()
    }

    /// Checks the file: `Quick` is SQLite's `quick_check`, bounded by
    /// [`crate::QUICK_CHECK_BUDGET`] on a large file; `Full` is the whole
    /// `integrity_check` plus the foreign keys. Damage found marks the
    /// store damaged, which stops its writes.
    pub fn check_integrity(&self, depth: crate::CheckDepth) -> Result<crate::Integrity> {
        let found = integrity::check(&self.lock(), depth)?;
        if let Some(problem) = found.problem() {
            self.health.mark_damaged(&problem);
        }
        Ok(found)
    }

    /// Marks the store damaged with `found` (a check outside the store, such
    /// as the audit chain against its keychain anchor, saw records lost):
    /// writes stop and the owner is told to restore.
    pub fn mark_damaged(&self, found: &str) {
        self.health.mark_damaged(found);
    }

    /// Opens the database in `data_dir`, named [`Store::FILE_NAME`].
    pub fn open_in(data_dir: &Path) -> Result<Self> {
        Self::open(&data_dir.join(Self::FILE_NAME))
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sqlite-vec version compiled in, proving the extension is loaded.
    pub fn sqlite_vec_version(&self) -> Result<String> {
        self.lock()
            .query_row("SELECT vec_version()", [], |row| row.get(0))
            .context("asking sqlite-vec for its version")
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64> {
        self.lock()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .context("reading the schema version")
    }

    /// Copies the write-ahead log into the database and empties it, so
    /// pages that held text since overwritten (sealed mode) are gone from
    /// the log too. Readers in other processes can keep it from finishing;
    /// the next checkpoint completes it.
    pub fn flush_wal(&self) -> Result<()> {
        let busy: i64 = self
            .lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .context("checkpointing the write-ahead log")?;
        if busy != 0 {
            tracing::warn!(
                "the write-ahead log could not be emptied now (another process is reading)"
            );
        }
        Ok(())
    }

    /// Runs `work` with the connection, for crates that own their own tables
    /// in this database (the memory index). Hold it briefly: every service
    /// shares it. Faults it meets count against this store's condition.
    pub fn with_connection<T>(&self, work: impl FnOnce(&mut Connection) -> T) -> T {
        work(&mut self.lock())
    }

    /// The connection, held by this thread until the guard drops. A
    /// poisoned lock only means another thread panicked mid-call; SQLite's
    /// own transactions kept the file whole.
    pub(crate) fn lock(&self) -> Held<'_> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let holding = Holding::start(&self.health);
        if self.health.take_stop_writes() {
            if let Err(error) = connection.pragma_update(None, "query_only", true) {
                tracing::error!(%error, "could not stop writes to the damaged database");
            }
        }
        Held {
            changes_before: connection.total_changes(),
            connection,
            health: &self.health,
            holding,
        }
    }

    /// One row from a write that returns it (`INSERT … RETURNING`), inside
    /// a transaction so the commit's failure (a full disk) reaches the
    /// caller: rusqlite's `query_row` commits when it resets the statement
    /// and drops that error.
    pub(crate) fn write_returning<T>(
        &self,
        sql: &str,
        parameters: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
        what: &'static str,
    ) -> Result<Option<T>> {
        let connection = self.lock();
        let transaction = connection.unchecked_transaction().context(what)?;
        let value = transaction
            .query_row(sql, parameters, row)
            .optional()
            .context(what)?;
        transaction.commit().context(what)?;
        Ok(value)
    }

    /// [`Store::write_returning`] for a write that always returns its row.
    pub(crate) fn write_row<T>(
        &self,
        sql: &str,
        parameters: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
        what: &'static str,
    ) -> Result<T> {
        self.write_returning(sql, parameters, row, what)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)
            .context(what)
    }

    /// Every row of `sql`, each read by `row`; `what` names the read in errors.
    pub(crate) fn query_rows<T>(
        &self,
        sql: &str,
        parameters: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        what: &'static str,
    ) -> Result<Vec<T>> {
        let connection = self.lock();
        let mut statement = connection.prepare(sql).context(what)?;
        let rows = statement.query_map(parameters, row).context(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().context(what)
    }
}

impl Store {
    fn configure(&self) -> Result<()> {
        configure(&self.lock())
    }
}

/// The store's connection, held by this thread. When it is let go after a
/// write that changed rows and met no fault, a full disk is over.
pub(crate) struct Held<'a> {
    connection: MutexGuard<'a, Connection>,
    health: &'a Arc<Health>,
    holding: Holding,
    changes_before: u64,
}

impl std::ops::Deref for Held<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.connection
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.connection
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.health.is_degraded()
            && !self.holding.faulted()
            && self.connection.is_autocommit()
            && self.connection.total_changes() > self.changes_before
        {
            self.health.note_write_succeeded();
        }
    }
}

fn configure(connection: &Connection) -> Result<()> {
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .context("setting the busy timeout")?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .context("turning on WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite refused WAL mode; continuing with {mode}");
    }
    connection
        // Memory-mapped reads: sqlite-vec reads single vectors out of 1.5 MB
        // chunk blobs, which through read() means walking overflow pages
        // one syscall at a time. Address space only; pages stay shared.
        // Deleted and overwritten rows are zeroed, so text that was removed
        // (a redaction, sealed mode, a forgotten source) leaves no copy in
        // free pages. Every commit is synced (`FULL`): the keychain anchor
        // follows the audit head right after a commit, so a commit a power
        // cut could undo would read at the next start as records lost.
        .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA mmap_size = 1073741824; PRAGMA secure_delete = ON;")
        .context("setting pragmas")
}
