//! The owner's decisions about skills, in `skills.json` beside the
//! database: each skill's pinned hash and whether it is on. A skill is
//! usable only while its files still hash to the pin; a changed one waits
//! for the owner. The file is written atomically; one that cannot be read
//! leaves every skill off (the safe side) and says so.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Where a skill stands with the owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum SkillState {
    /// On, at the pinned hash.
    Enabled,
    /// The owner turned it off.
    Disabled,
    /// Never seen before: waits for the owner to vet and enable it.
    New,
    /// Its files changed since the owner enabled it: waits again.
    Changed {
        /// The hash the owner enabled.
        pinned_sha256: String,
    },
}

impl SkillState {
    /// Whether the agent may use the skill.
    pub fn usable(&self) -> bool {
        matches!(self, Self::Enabled)
    }
}

/// One pin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pin {
    sha256: String,
    enabled: bool,
}

/// The pins file, loaded, and read again when another process (`pincer
/// skills enable`) changed it.
#[derive(Debug)]
pub(crate) struct Pins {
    path: Option<PathBuf>,
    pins: Mutex<BTreeMap<String, Pin>>,
    /// Why the file could not be read, if it could not: then nothing is
    /// written over it and every skill is off.
    problem: Mutex<Option<String>>,
    /// The file's size and modification time when last read or written.
    seen: Mutex<Option<Stamp>>,
}

/// A file's size, modification time and (on Unix) inode and change time,
/// to notice a change without reading it: a program can put a file's
/// modification time back, but not its change time.
pub(crate) type Stamp = (u64, SystemTime, u64, i64, i64);

/// `path`'s stamp, `None` when it is not there.
pub(crate) fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    #[cfg(unix)]
    let (inode, changed, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (inode, changed, changed_ns) = (0, 0, 0);
    Some((meta.len(), meta.modified().ok()?, inode, changed, changed_ns))
}

impl Pins {
    /// Loads `path` (missing: no pins); a file that cannot be read is a
    /// problem to report, and no skill is on until it is fixed.
    pub(crate) fn load(path: Option<PathBuf>) -> (Self, Option<String>) {
        let (pins, problem) = read(path.as_deref());
        let pins = Self {
            seen: Mutex::new(path.as_deref().and_then(stamp)),
            path,
            pins: Mutex::new(pins),
            problem: Mutex::new(problem.clone()),
        };
        (pins, problem)
    }

    /// Reads the file again when it changed since.
    pub(crate) fn refresh(&self) {
        let Some(path) = self.path.as_deref() else {
            return;
        };
        let now = stamp(path);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if *seen == now {
            return;
        }
        let (pins, problem) = read(Some(path));
        *self.lock() = pins;
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = problem;
        *seen = now;
    }

    /// Why the file cannot be read, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The file's stamp as last seen.
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pin>> {
        self.pins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where `name` at `sha256` stands.
    pub(crate) fn state(&self, name: &str, sha256: &str) -> SkillState {
        match self.lock().get(name) {
            None => SkillState::New,
            Some(pin) if !pin.enabled => SkillState::Disabled,
            Some(pin) if pin.sha256 == sha256 => SkillState::Enabled,
            Some(pin) => SkillState::Changed {
                pinned_sha256: pin.sha256.clone(),
            },
        }
    }

    /// Whether `name` has a pin at all.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Pins `name` at `sha256`, on or off, and saves.
    pub(crate) fn set(&self, name: &str, sha256: &str, enabled: bool) -> std::io::Result<()> {
        if self.problem().is_some() {
            return Err(std::io::Error::other(
                "the skills file cannot be read; fix or delete it first",
            ));
        }
        let mut pins = self.lock();
        pins.insert(
            name.to_string(),
            Pin {
                sha256: sha256.to_string(),
                enabled,
            },
        );
        let Some(path) = &self.path else {
            return Ok(());
        };
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        serde_json::to_writer_pretty(&mut file, &*pins)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        // Released first: `refresh` takes the stamp's lock, then the pins'.
        drop(pins);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = stamp(path);
        Ok(())
    }
}

/// The pins in `path` and the problem with it, if it cannot be read.
fn read(path: Option<&Path>) -> (BTreeMap<String, Pin>, Option<String>) {
    let mut problem = None;
    let pins = match path {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                problem = Some(format!(
                    "{} is not a skills file ({error}); every skill is off until it is fixed or deleted",
                    file.display()
                ));
                BTreeMap::new()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => {
                problem = Some(format!("{} cannot be read ({error})", file.display()));
                BTreeMap::new()
            }
        },
        None => BTreeMap::new(),
    };
    (pins, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_survives_a_reload_and_a_new_hash_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skills.json");
        let (pins, problem) = Pins::load(Some(path.clone()));
        assert!(problem.is_none());
        assert_eq!(pins.state("notes", "aa"), SkillState::New);
        pins.set("notes", "aa", true).unwrap();
        let (pins, _) = Pins::load(Some(path.clone()));
        assert_eq!(pins.state("notes", "aa"), SkillState::Enabled);
        assert_eq!(
            pins.state("notes", "bb"),
            SkillState::Changed { pinned_sha256: "aa".into() }
        );
        pins.set("notes", "bb", false).unwrap();
        assert_eq!(pins.state("notes", "bb"), SkillState::Disabled);
        std::fs::write(&path, "{ not json").unwrap();
        let (pins, problem) = Pins::load(Some(path));
        assert!(problem.unwrap().contains("every skill is off"));
        assert_eq!(pins.state("notes", "bb"), SkillState::New);
        assert!(pins.set("notes", "bb", true).is_err(), "a damaged file is not overwritten");
    }
}
