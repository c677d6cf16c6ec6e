//! A full disk, a damaged file and backups, on real files (and a real
//! size-limited filesystem where the machine lets the test mount one).

use pincer_store::backup::{self, BACKUP_FILE_NAME};
use pincer_store::{CheckDepth, NewSession, Store, StoreCondition, StoreError, SCHEMA_VERSION};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

fn session(store: &Store, title: &str) -> Result<String, StoreError> {
    store
        .create_session(NewSession {
            title: Some(title.into()),
            source: "test".into(),
            ..Default::default()
        })
        .map(|s| s.id)
}

/// A store with enough rows to span many pages, closed.
fn filled(dir: &Path) -> Vec<String> {
    let store = Store::open_in(dir).expect("open");
    let ids = (0..300)
        .map(|i| {
            session(&store, &format!("conversation {i} {}", "words ".repeat(20))).expect("session")
        })
        .collect();
    store.flush_wal().expect("checkpoint");
    ids
}

fn sha(path: &Path) -> String {
    backup::hash_file(path).expect("hash").1
}

#[test]
fn overwritten_pages_are_caught_at_start_and_the_file_is_kept() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path());
    let file = dir.path().join(Store::FILE_NAME);
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open file");
    handle.seek(SeekFrom::Start(4096 * 2)).expect("seek");
    handle.write_all(&[0xA5; 4096]).expect("overwrite a page");
    drop(handle);
    let before = sha(&file);

    let store = Store::open_in(dir.path()).expect("a damaged store still opens, to say so");
    let StoreCondition::Damaged { cause } = store.condition() else {
        panic!("damage not caught: {:?}", store.condition());
    };
    assert!(
        cause.contains("damaged") && cause.contains("pincer backup restore"),
        "{cause}"
    );
    let refused = session(&store, "after the damage").expect_err("writes are stopped");
    assert!(matches!(refused, StoreError::Damaged { .. }), "{refused}");
    assert!(
        refused.is_not_saved() && refused.to_string().contains("pincer backup restore"),
        "{refused}"
    );
    drop(store);
    assert_eq!(
        sha(&file),
        before,
        "the damaged file is kept exactly as it was"
    );
}

#[test]
fn a_truncated_file_is_caught_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path());
    let file = dir.path().join(Store::FILE_NAME);
    let length = std::fs::metadata(&file).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open")
        .set_len(length / 2)
        .expect("truncate");
    let before = sha(&file);
    // Cut this short, SQLite cannot even turn on WAL: opening is refused,
    // naming the damage and the way out.
    match Store::open_in(dir.path()) {
        Ok(store) => assert!(
            matches!(store.condition(), StoreCondition::Damaged { .. }),
            "{:?}",
            store.condition()
        ),
        Err(error) => {
            assert!(matches!(error, StoreError::Damaged { .. }), "{error}");
            assert!(
                error.to_string().contains("pincer backup restore"),
                "{error}"
            );
        }
    }
    assert_eq!(
        sha(&file),
        before,
        "the damaged file is kept exactly as it was"
    );
}

#[test]
fn a_whole_file_passes_both_checks() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path());
    let store = Store::open_in(dir.path()).expect("open");
    assert_eq!(store.condition(), StoreCondition::Healthy);
    for depth in [CheckDepth::Quick, CheckDepth::Full] {
        let found = store.check_integrity(depth).expect("check");
        assert!(found.finished && found.problems.is_empty(), "{found:?}");
    }
}

#[test]
fn an_online_backup_holds_every_row_and_a_changed_copy_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let ids = filled(dir.path());
    let store = Store::open_in(dir.path()).expect("open");
    let folder = dir.path().join("backups").join("one");
    let copy = backup::copy_online(store.path(), &folder, "manual").expect("backup");
    assert_eq!(copy.schema_version, SCHEMA_VERSION);
    assert_eq!(backup::check_files(&folder).expect("whole"), copy);

    let restored = Store::open(&folder.join(BACKUP_FILE_NAME)).expect("the copy opens");
    assert_eq!(
        restored.recent_sessions(1000).expect("sessions").len(),
        ids.len()
    );
    drop(restored);
    // Opening it wrote to it (WAL mode): the copy no longer matches its manifest.
    let refused = backup::check_files(&folder).expect_err("a changed copy is refused");
    assert!(
        refused.to_string().contains("changed since it was taken"),
        "{refused}"
    );
}

#[test]
fn a_migration_is_preceded_by_a_backup_of_the_old_file() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path());
    // Make the file look one release older: the newest migration undone.
    let file = dir.path().join(Store::FILE_NAME);
    let old = rusqlite::Connection::open(&file).expect("open raw");
    old.execute_batch(&format!(
        "ALTER TABLE messages DROP COLUMN tool_calls; ALTER TABLE messages DROP COLUMN tool_call_id; PRAGMA user_version = {};",
        SCHEMA_VERSION - 1
    ))
    .expect("roll back a migration");
    drop(old);

    let store = Store::open_in(dir.path()).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let backups: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .expect("a backups folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let name = backups[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.ends_with(&format!("before-schema-{}", SCHEMA_VERSION - 1)),
        "{name}"
    );
    let copy = backup::check_files(&backups[0]).expect("the pre-migration copy is whole");
    assert_eq!(copy.schema_version, SCHEMA_VERSION - 1);
    // Opening again migrates nothing and copies nothing.
    drop(store);
    Store::open_in(dir.path()).expect("reopen");
    assert_eq!(
        std::fs::read_dir(dir.path().join("backups"))
            .unwrap()
            .count(),
        1
    );
}

/// A tmpfs of `megabytes` mounted on a fresh folder, unmounted on drop;
/// `None` (with the reason printed) where the machine does not allow it.
struct SmallDisk {
    mount: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<Self> {
        let mount = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(mount.path())
            .stderr(std::process::Stdio::piped())
            .output();
        match status {
            Ok(output) if output.status.success() => Some(Self { mount }),
            Ok(output) => {
                eprintln!(
                    "SKIPPED: cannot mount a small filesystem here ({}); the disk-full test needs root or CAP_SYS_ADMIN",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("SKIPPED: no `mount` to make a small filesystem ({error})");
                None
            }
        }
    }

    /// Writes a filler file until the filesystem is full.
    fn fill(&self) -> std::path::PathBuf {
        let filler = self.mount.path().join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let block = vec![0x5Au8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.flush();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.mount.path())
            .status();
    }
}

#[test]
fn a_full_disk_is_named_nothing_saved_is_lost_and_saving_resumes() {
    let Some(disk) = SmallDisk::mount(8) else {
        return;
    };
    let data = disk.mount.path().join("data");
    let store = Store::open_in(&data).expect("open");
    let before: Vec<String> = (0..20)
        .map(|i| session(&store, &format!("saved before {i}")).expect("session"))
        .collect();
    let filler = disk.fill();

    // Until one fails: SQLite may still have room in pages it already holds.
    let mut refused = None;
    for i in 0..2000 {
        if let Err(error) = session(&store, &format!("while full {i} {}", "x".repeat(2000))) {
            refused = Some(error);
            break;
        }
    }
    let refused = refused.expect("a write on a full disk fails");
    assert!(matches!(refused, StoreError::DiskFull { .. }), "{refused}");
    assert!(refused.to_string().contains("is full"), "{refused}");
    assert!(
        refused.to_string().contains(&data.display().to_string()),
        "names the folder: {refused}"
    );
    assert!(
        matches!(store.condition(), StoreCondition::Degraded { .. }),
        "{:?}",
        store.condition()
    );

    std::fs::remove_file(filler).expect("free the disk");
    let after = session(&store, "saved after").expect("saving resumes");
    assert_eq!(store.condition(), StoreCondition::Healthy);
    for id in before.iter().chain([&after]) {
        store
            .session(id)
            .expect("every session saved before or after is there");
    }
    assert!(store
        .check_integrity(CheckDepth::Full)
        .expect("check")
        .problems
        .is_empty());
}
