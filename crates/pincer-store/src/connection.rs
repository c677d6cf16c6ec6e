//! Opening the database: extension registration, pragmas, migrations.

use crate::{migrations, Result, SqliteContext, StoreError};
use rusqlite::Connection;
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

/// Makes sqlite-vec available on every connection opened after this call.
fn register_sqlite_vec() {
    REGISTER_SQLITE_VEC.call_once(|| {
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
        let mut connection = Connection::open(path).context("opening the database")?;
        configure(&connection)?;
        migrations::apply(&mut connection, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
            redactor: RwLock::new(None),
            sealing: RwLock::default(),
            audit_observer: RwLock::new(None),
        })
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
    /// shares it.
    pub fn with_connection<T>(&self, work: impl FnOnce(&mut Connection) -> T) -> T {
        work(&mut self.lock())
    }

    /// Runs `work` with the connection. A poisoned lock only means another
    /// thread panicked mid-call; SQLite's own transactions kept the file whole.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        // free pages.
        .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 1073741824; PRAGMA secure_delete = ON;")
        .context("setting pragmas")
}
