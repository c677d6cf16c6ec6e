//! What the store knows of its own condition: a full disk, a damaged file.
//!
//! Every SQLite error raised while a thread holds the store's connection is
//! seen here, whichever crate ran the statement (the memory index uses the
//! connection directly): SQLite's error log reports it on that thread, and
//! the lock says which store it belongs to. A full disk or an I/O error
//! marks the store *degraded* until a write succeeds again; corruption marks
//! it *damaged*, which stops every later write (the connection turns
//! `query_only`) and keeps the file exactly as it is for a restore.

use serde::Serialize;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The store's condition, for `/health`, `pincer doctor` and the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum StoreCondition {
    /// Every write so far succeeded.
    Healthy,
    /// Writes fail for a cause that can pass (a full disk, an I/O error);
    /// nothing is lost, and saving resumes once the cause is gone.
    Degraded {
        /// What failed and what to do.
        cause: String,
    },
    /// The file is damaged: writes are stopped and the file is kept as it
    /// is; the way out is a restore from a backup.
    Damaged {
        /// What was found and what to do.
        cause: String,
    },
}

impl StoreCondition {
    /// `ok`, `degraded` or `damaged`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Healthy => "ok",
            Self::Degraded { .. } => "degraded",
            Self::Damaged { .. } => "damaged",
        }
    }
}

/// What the owner is told to do about a damaged database.
pub const RESTORE_ADVICE: &str = "Pincer stopped writing to it and kept the file as it is; \
    quit Pincer and run `pincer backup restore latest` (or restore a backup in Settings)";

/// The condition of one store, shared with the thread-local lock marker.
#[derive(Debug)]
pub(crate) struct Health {
    path: PathBuf,
    condition: Mutex<StoreCondition>,
    damaged: AtomicBool,
    writes_stopped: AtomicBool,
}

/// The fault an SQLite error code stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    DiskFull,
    Io,
    Damaged,
}

impl Fault {
    /// The fault of a (possibly extended) SQLite result code, if any.
    pub(crate) fn of_code(code: i32, message: &str) -> Option<Self> {
        match code & 0xff {
            rusqlite::ffi::SQLITE_FULL => Some(Self::DiskFull),
            rusqlite::ffi::SQLITE_CORRUPT | rusqlite::ffi::SQLITE_NOTADB => Some(Self::Damaged),
            rusqlite::ffi::SQLITE_IOERR if is_no_space(message) => Some(Self::DiskFull),
            rusqlite::ffi::SQLITE_IOERR => Some(Self::Io),
            _ => None,
        }
    }

    /// The fault of a rusqlite error, if any.
    pub(crate) fn of(error: &rusqlite::Error) -> Option<Self> {
        match error {
            rusqlite::Error::SqliteFailure(failure, message) => Self::of_code(
                failure.extended_code,
                message.as_deref().unwrap_or_default(),
            ),
            _ => None,
        }
    }
}

fn is_no_space(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("no space") || message.contains("disk is full") || message.contains("(28)")
}

/// Free bytes on the filesystem holding `path` (or its nearest existing
/// folder), when the platform says.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut probe = path;
    while !probe.exists() {
        probe = probe.parent()?;
    }
    fs2::available_space(probe).ok()
}

/// `12.3 MB`, `512 KB`: sizes as the owner reads them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl Health {
    pub(crate) fn new(path: &Path) -> Arc<Self> {
        Arc::new(Self {
            path: path.to_path_buf(),
            condition: Mutex::new(StoreCondition::Healthy),
            damaged: AtomicBool::new(false),
            writes_stopped: AtomicBool::new(false),
        })
    }

    pub(crate) fn condition(&self) -> StoreCondition {
        self.condition
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn is_degraded(&self) -> bool {
        matches!(self.condition(), StoreCondition::Degraded { .. })
    }

    pub(crate) fn is_damaged(&self) -> bool {
        self.damaged.load(Ordering::Acquire)
    }

    /// Whether writes still have to be stopped on the connection (once).
    pub(crate) fn take_stop_writes(&self) -> bool {
        self.is_damaged() && !self.writes_stopped.swap(true, Ordering::AcqRel)
    }

    /// The condition's cause, or a generic one when healthy.
    pub(crate) fn cause(&self) -> String {
        match self.condition() {
            StoreCondition::Damaged { cause } | StoreCondition::Degraded { cause } => cause,
            StoreCondition::Healthy => format!("the database {} is healthy", self.path.display()),
        }
    }

    /// The sentence naming a full disk: where, and how much is free.
    pub(crate) fn disk_full_cause(&self) -> String {
        let folder = self.path.parent().unwrap_or(&self.path);
        let free = free_bytes(folder)
            .map(|free| format!(" ({} free)", human_bytes(free)))
            .unwrap_or_default();
        format!(
            "the disk holding {} is full{free}; free some space and Pincer saves again",
            folder.display()
        )
    }

    /// Marks the store damaged (for good, in this process) with `found`.
    pub(crate) fn mark_damaged(&self, found: &str) {
        let mut condition = self.condition.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*condition, StoreCondition::Damaged { .. }) {
            return;
        }
        let cause = format!(
            "the database {} is damaged ({found}). {RESTORE_ADVICE}",
            self.path.display()
        );
        tracing::error!("{cause}");
        *condition = StoreCondition::Damaged { cause };
        self.damaged.store(true, Ordering::Release);
    }

    /// Notes an SQLite error seen while this store's connection was held.
    pub(crate) fn note(&self, fault: Fault, message: &str) {
        match fault {
            Fault::Damaged => self.mark_damaged(message),
            Fault::DiskFull | Fault::Io => {
                let cause = match fault {
                    Fault::DiskFull => self.disk_full_cause(),
                    _ => format!(
                        "the database {} could not be written ({message}); check the disk",
                        self.path.display()
                    ),
                };
                let mut condition = self.condition.lock().unwrap_or_else(|p| p.into_inner());
                if matches!(*condition, StoreCondition::Healthy) {
                    tracing::error!("{cause}");
                }
                if !matches!(*condition, StoreCondition::Damaged { .. }) {
                    *condition = StoreCondition::Degraded { cause };
                }
            }
        }
    }

    /// A write committed: a passing fault is over.
    pub(crate) fn note_write_succeeded(&self) {
        let mut condition = self.condition.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*condition, StoreCondition::Degraded { .. }) {
            tracing::info!("the database saves again");
            *condition = StoreCondition::Healthy;
        }
    }
}

thread_local! {
    /// The stores whose connection this thread holds, innermost last, each
    /// with whether a fault was seen during this hold.
    static HELD: RefCell<Vec<(Arc<Health>, bool)>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as holding `health`'s connection until dropped.
pub(crate) struct Holding;

impl Holding {
    pub(crate) fn start(health: &Arc<Health>) -> Self {
        HELD.with(|held| held.borrow_mut().push((health.clone(), false)));
        Self
    }

    /// Whether a fault was seen since this hold started.
    pub(crate) fn faulted(&self) -> bool {
        HELD.with(|held| held.borrow().last().is_some_and(|(_, faulted)| *faulted))
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HELD.with(|held| {
            held.borrow_mut().pop();
        });
    }
}

/// Notes `fault` against the store this thread holds; `false` when it holds none.
pub(crate) fn note_held(fault: Fault, message: &str) -> bool {
    let Some(health) = HELD.with(|held| {
        let mut held = held.borrow_mut();
        held.last_mut().map(|(health, faulted)| {
            *faulted = true;
            health.clone()
        })
    }) else {
        return false;
    };
    health.note(fault, message);
    true
}

/// The store's error for `source` met while `context`: a fault is noted
/// against the store this thread holds and named in its own variant.
pub(crate) fn classify(context: &'static str, source: rusqlite::Error) -> crate::StoreError {
    let fault = Fault::of(&source);
    let message = source.to_string();
    if let Some(fault) = fault {
        note_held(fault, &message);
    }
    let health = HELD.with(|held| held.borrow().last().map(|(health, _)| health.clone()));
    let read_only = matches!(&source, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ReadOnly);
    match (fault, health) {
        (Some(Fault::DiskFull), Some(health)) => crate::StoreError::DiskFull {
            context,
            cause: health.disk_full_cause(),
        },
        (Some(Fault::Damaged), Some(health)) => crate::StoreError::Damaged {
            context,
            cause: health.cause(),
        },
        (_, Some(health)) if read_only && health.is_damaged() => crate::StoreError::Damaged {
            context,
            cause: health.cause(),
        },
        (Some(Fault::DiskFull), None) => crate::StoreError::DiskFull {
            context,
            cause: format!("the disk is full ({message}); free some space and Pincer saves again"),
        },
        _ => crate::StoreError::Sqlite { context, source },
    }
}

/// SQLite's error log: every error, on the thread that hit it.
pub(crate) fn sqlite_log(code: std::os::raw::c_int, message: &str) {
    let Some(fault) = Fault::of_code(code, message) else {
        return;
    };
    // SQLite's own sentence for damage, not the line of its source it was found at.
    let message = match (fault, code & 0xff) {
        (Fault::Damaged, rusqlite::ffi::SQLITE_NOTADB) => "file is not a database",
        (Fault::Damaged, _) => "database disk image is malformed",
        _ => message,
    };
    // No SQLite call may run in here; noting only takes our own locks.
    if !note_held(fault, message) {
        tracing::warn!(code, message, "SQLite reported a fault outside the store");
    }
}
