//! The agent's workspace: a folder of plain markdown the owner can read and
//! edit with any tool. Its soul files keep OpenClaw's names and meaning:
//! `SOUL.md` (who the agent is), `AGENTS.md` (how it works), `USER.md` (who
//! it works for) and `IDENTITY.md` (its name and manner).
//!
//! Saves are atomic (temporary file, fsync, rename), so a killed process or
//! a full disk leaves the previous file whole.
#![deny(missing_docs)]

mod defaults;

use std::io::Write;
use std::path::{Path, PathBuf};

/// The soul files, in the order they enter the system prompt.
pub const SOUL_FILES: &[&str] = &["SOUL.md", "IDENTITY.md", "USER.md", "AGENTS.md"];

/// Largest soul file accepted: 256 KiB, far beyond any prompt a local model holds.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// What can go wrong with the workspace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// A file name outside [`SOUL_FILES`].
    #[error("`{0}` is not a soul file; expected one of SOUL.md, IDENTITY.md, USER.md, AGENTS.md")]
    UnknownFile(String),
    /// The file on disk is not UTF-8 text.
    #[error("{path} is not valid UTF-8 text (byte {valid_up_to} is not); open it in a text editor to repair it, or restore an earlier version from the history")]
    NotText {
        /// The file.
        path: PathBuf,
        /// Bytes that decoded before the bad one.
        valid_up_to: usize,
    },
    /// Content larger than [`MAX_FILE_BYTES`].
    #[error("{file} would be {bytes} bytes; the limit is {limit} bytes, so shorten it")]
    TooLarge {
        /// The file name.
        file: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing failed (permissions, full disk, read-only folder).
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `save`).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The workspace's result type.
pub type Result<T> = std::result::Result<T, WorkspaceError>;

/// A workspace folder.
#[derive(Clone, Debug)]
pub struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    /// Opens (creating when needed) the workspace at `dir`, writing the
    /// default text of any soul file that does not exist yet. Returns the
    /// names of the files it created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Self, Vec<&'static str>)> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| WorkspaceError::Io { action: "create", path: dir.clone(), source })?;
        let workspace = Self { dir };
        let mut created = Vec::new();
        for &name in SOUL_FILES {
            if !workspace.path_of(name).exists() {
                workspace.write(name, defaults::text_of(name))?;
                created.push(name);
            }
        }
        Ok((workspace, created))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a soul file, after checking its name.
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.path_of(name))
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The text of a soul file; a missing file reads as empty.
    pub fn read(&self, name: &str) -> Result<String> {
        let path = self.path(name)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(source) => return Err(WorkspaceError::Io { action: "read", path, source }),
        };
        String::from_utf8(bytes)
            .map_err(|error| WorkspaceError::NotText { path, valid_up_to: error.utf8_error().valid_up_to() })
    }

    /// Saves a soul file atomically: the old text stays whole if anything fails.
    pub fn write(&self, name: &str, content: &str) -> Result<()> {
        let path = self.path(name)?;
        if content.len() > MAX_FILE_BYTES {
            return Err(WorkspaceError::TooLarge { file: name.to_string(), bytes: content.len(), limit: MAX_FILE_BYTES });
        }
        let temporary = self.dir.join(format!(".{name}.saving"));
        let io = |source| WorkspaceError::Io { action: "save", path: path.clone(), source };
        let result = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(content.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            // Make the rename itself durable.
            if let Ok(folder) = std::fs::File::open(&self.dir) {
                let _ = folder.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result.map_err(io)
    }
}

/// Joins soul texts into one system prompt, each under its file name as
/// OpenClaw does; blank files are left out. `None` when all are blank.
pub fn system_prompt<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let parts: Vec<String> = files
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(name, text)| format!("## {name}\n\n{}", text.trim()))
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "The following workspace files define who you are and how you work. Follow them.\n\n{}",
            parts.join("\n\n")
        )
    })
}

fn check_name(name: &str) -> Result<()> {
    if SOUL_FILES.contains(&name) {
        Ok(())
    } else {
        Err(WorkspaceError::UnknownFile(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_writes_defaults_once_and_keeps_owner_edits() {
        let dir = tempfile::tempdir().unwrap();
        let (workspace, created) = Workspace::open(dir.path().join("ws")).unwrap();
        assert_eq!(created.len(), SOUL_FILES.len());
        workspace.write("SOUL.md", "Be brief.").unwrap();
        let (again, created) = Workspace::open(dir.path().join("ws")).unwrap();
        assert!(created.is_empty());
        assert_eq!(again.read("SOUL.md").unwrap(), "Be brief.");
        assert!(!dir.path().join("ws/.SOUL.md.saving").exists());
    }

    #[test]
    fn bad_names_and_bad_bytes_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (workspace, _) = Workspace::open(dir.path()).unwrap();
        assert!(matches!(workspace.read("../etc/passwd"), Err(WorkspaceError::UnknownFile(_))));
        std::fs::write(dir.path().join("SOUL.md"), b"ok \xff\xfe broken").unwrap();
        let error = workspace.read("SOUL.md").unwrap_err();
        assert!(matches!(error, WorkspaceError::NotText { valid_up_to: 3, .. }), "{error}");
        assert!(error.to_string().contains("restore an earlier version"));
        let big = "x".repeat(MAX_FILE_BYTES + 1);
        assert!(matches!(workspace.write("SOUL.md", &big), Err(WorkspaceError::TooLarge { .. })));
        // The failed save left the file as it was.
        assert_eq!(std::fs::read(dir.path().join("SOUL.md")).unwrap(), b"ok \xff\xfe broken");
    }

    #[test]
    fn system_prompt_skips_blank_files() {
        assert_eq!(system_prompt([("SOUL.md", "  \n"), ("USER.md", "")]), None);
        let prompt = system_prompt([("SOUL.md", "Be kind.\n"), ("USER.md", " ")]).unwrap();
        assert!(prompt.ends_with("## SOUL.md\n\nBe kind."), "{prompt}");
        assert!(!prompt.contains("USER.md"));
    }
}
