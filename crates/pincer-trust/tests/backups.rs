//! Backups in a folder the owner picks, and a restore asked for while
//! Pincer runs that happens at the next start, before the database opens.
//! Runs against the real OS keychain (a private GNOME Keyring in the test
//! session) and real SQLite files.

use pincer_store::Store;
use pincer_trust::backups::{self, Backups};
use pincer_trust::{Action, Actor, Trust};
use std::path::Path;
use std::sync::Arc;

fn open(dir: &Path) -> Arc<Trust> {
    let store = Arc::new(Store::open_in(dir).unwrap());
    Trust::open(dir, &store).unwrap()
}

fn note(trust: &Trust, target: &str) {
    trust
        .record(
            Actor::Owner,
            Action::ConfigGateway,
            target,
            "done",
            serde_json::json!({}),
        )
        .unwrap();
}

fn targets(trust: &Trust) -> Vec<String> {
    trust
        .store()
        .all_audit_records()
        .unwrap()
        .into_iter()
        .map(|r| r.event.target)
        .collect()
}

#[test]
fn a_chosen_folder_takes_new_backups_and_the_data_folders_own_stay_listed() {
    let data = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let trust = open(data.path());
    let first = Backups::new(data.path()).take(&trust, "manual").unwrap();
    assert!(first.folder.starts_with(data.path().join("backups")));

    let chosen = backups::check_folder(data.path(), &elsewhere.path().join("pincer")).unwrap();
    let moved = Backups::in_folder(data.path(), Some(&chosen));
    let second = moved.take(&trust, "manual").unwrap();
    assert!(second.folder.starts_with(&chosen), "{:?}", second.folder);
    assert!(second.folder.join("manifest.json").is_file());
    let listed: Vec<String> = moved.list().unwrap().into_iter().map(|b| b.id).collect();
    assert_eq!(listed, vec![first.id.clone(), second.id.clone()]);
    // Keeping the newest N only prunes in the chosen folder.
    assert_eq!(moved.prune("manual", 0).unwrap(), vec![second.id]);
    assert!(first.folder.is_dir());
}

#[test]
fn a_folder_that_cannot_hold_backups_is_refused_with_why() {
    let data = tempfile::tempdir().unwrap();
    let trust = open(data.path());
    drop(trust);
    let relative = backups::check_folder(data.path(), Path::new("backups-here")).unwrap_err();
    assert!(relative.to_string().contains("full path"), "{relative}");
    let inside =
        backups::check_folder(data.path(), &data.path().join("workspace/old")).unwrap_err();
    assert!(
        inside.to_string().contains("inside the workspace"),
        "{inside}"
    );
    let file = data.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let not_a_folder = backups::check_folder(data.path(), &file).unwrap_err();
    assert!(
        not_a_folder
            .to_string()
            .contains("cannot make the backup folder"),
        "{not_a_folder}"
    );
}

#[test]
fn a_restore_asked_for_while_running_happens_once_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let trust = open(data.path());
    note(&trust, "before the backup");
    let taken = Backups::new(data.path()).take(&trust, "manual").unwrap();
    note(&trust, "after the backup");
    let request = backups::restore_at_start(&trust, &Backups::new(data.path()), "latest").unwrap();
    assert_eq!(request.id, taken.id);
    assert_eq!(backups::pending(data.path()).unwrap(), Some(request));
    trust.checkpoint().unwrap();
    drop(trust);

    let outcome = backups::restore_pending(data.path())
        .unwrap()
        .expect("the asked-for restore ran");
    assert!(outcome.restored, "{}", outcome.message);
    assert!(outcome.message.contains(&taken.id), "{}", outcome.message);
    assert_eq!(backups::pending(data.path()).unwrap(), None);
    assert_eq!(
        backups::last_restore(data.path()).unwrap(),
        Some(outcome.clone())
    );
    let aside = outcome.kept_aside.expect("the replaced files were kept");
    assert!(aside.join(Store::FILE_NAME).is_file());
    // Used up: the next start restores nothing.
    assert_eq!(backups::restore_pending(data.path()).unwrap(), None);

    let trust = open(data.path());
    let kept = targets(&trust);
    assert!(kept.iter().any(|t| t == "before the backup"));
    assert!(!kept.iter().any(|t| t == "after the backup"));
    let last = trust.store().all_audit_records().unwrap().pop().unwrap();
    assert_eq!(last.event.action, Action::BackupRestore.as_str());
    assert_eq!(trust.verify().unwrap().broken_at, None);
}

#[test]
fn a_changed_backup_is_refused_when_asked_for_and_nothing_waits() {
    let data = tempfile::tempdir().unwrap();
    let trust = open(data.path());
    note(&trust, "kept");
    let taken = Backups::new(data.path()).take(&trust, "manual").unwrap();
    let copy = taken.folder.join(pincer_store::backup::BACKUP_FILE_NAME);
    let mut bytes = std::fs::read(&copy).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&copy, bytes).unwrap();
    let refused = backups::restore_at_start(&trust, &Backups::new(data.path()), &taken.id)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("cannot be restored"), "{refused}");
    assert_eq!(backups::pending(data.path()).unwrap(), None);
    // Taking back what was never asked for is a no.
    assert!(!backups::cancel_restore_at_start(&trust, data.path()).unwrap());
}

#[test]
fn in_sealed_mode_a_backup_keeps_the_soul_files_sealed() {
    let data = tempfile::tempdir().unwrap();
    let trust = open(data.path());
    let protected =
        pincer_trust::Protected::open(&data.path().join("workspace"), trust.clone(), true).unwrap();
    protected
        .save("SOUL.md", "# Soul\n\nA private rule.\n", "owner")
        .unwrap();
    let taken = Backups::new(data.path()).take(&trust, "manual").unwrap();
    let kept = std::fs::read_to_string(taken.folder.join("workspace/SOUL.md")).unwrap();
    assert!(kept.starts_with(pincer_seal::SEALED_PREFIX), "{kept}");
    assert!(!kept.contains("A private rule"));
    let copy = std::fs::read(taken.folder.join(pincer_store::backup::BACKUP_FILE_NAME)).unwrap();
    assert!(
        !copy.windows(14).any(|w| w == b"A private rule"),
        "the soul history in the copied database is sealed too"
    );
}
