//! The agent's workspace: a folder of plain markdown the owner can read and
//! edit with any tool. Its soul files keep OpenClaw's names and meaning:
//! `SOUL.md` (who the agent is), `AGENTS.md` (how it works), `USER.md` (who
//! it works for), `IDENTITY.md` (its name and manner) and `TOOLS.md` (notes on
//! the owner's tools). `MEMORY.md` (long-term notes, found by memory search)
//! is protected the same way but is not part of every prompt.
//!
//! Saves are atomic (temporary file, fsync, rename), so a killed process or
//! a full disk leaves the previous file whole. In sealed mode the files are
//! written as sealed text ([`pincer_seal`]) and opened on read.
#![deny(missing_docs)]

mod defaults;

use pincer_seal::{SealError, Sealer, Sealing};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The soul files, in the order they enter the system prompt.
pub const SOUL_FILES: &[&str] = &["SOUL.md", "IDENTITY.md", "USER.md", "AGENTS.md", "TOOLS.md"];

/// The owner's long-term notes: protected like the soul files, read by
/// memory search rather than put in every prompt.
pub const MEMORY_FILE: &str = "MEMORY.md";

/// OpenClaw's one-time first-run ritual: in the prompt while it has text,
/// never created by Pincer, emptied (through the owner) once it is done.
pub const BOOTSTRAP_FILE: &str = "BOOTSTRAP.md";

/// Every file whose changes wait for the owner: the soul files,
/// `MEMORY.md` and `BOOTSTRAP.md`.
pub const PROTECTED_FILES: &[&str] = &[
    "SOUL.md",
    "IDENTITY.md",
    "USER.md",
    "AGENTS.md",
    "TOOLS.md",
    MEMORY_FILE,
    BOOTSTRAP_FILE,
];

/// The most characters of one file the system prompt takes (OpenClaw's
/// `bootstrapMaxChars` default); a longer file keeps its head and tail.
pub const PROMPT_FILE_CHARS: usize = 12_000;

/// The most characters of all the files together (OpenClaw's
/// `bootstrapTotalMaxChars` default).
pub const PROMPT_TOTAL_CHARS: usize = 60_000;

/// Largest soul file accepted: 256 KiB, far beyond any prompt a local model holds.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// What can go wrong with the workspace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// A file name outside [`SOUL_FILES`].
    #[error("`{0}` is not a protected workspace file; expected one of SOUL.md, IDENTITY.md, USER.md, AGENTS.md, TOOLS.md, MEMORY.md, BOOTSTRAP.md")]
    UnknownFile(String),
    /// A sealed file that does not open.
    #[error("{path} is sealed, and {source}")]
    Sealed {
        /// The file.
        path: PathBuf,
        /// Why it does not open.
        #[source]
        source: SealError,
    },
    /// A sealed file met with no key loaded (a tool that opened the folder
    /// without the keychain).
    #[error("{path} is sealed and no key to open it is loaded; open it through Pincer with the keychain unlocked")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
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
    sealing: Arc<RwLock<Sealing>>,
}

impl Workspace {
    /// Opens (creating when needed) the workspace at `dir`. A new workspace
    /// gets the default text of each soul file; one that already holds any
    /// of OpenClaw's bootstrap files (an OpenClaw workspace, an earlier
    /// Pincer's) is opened as it is, and a file it lacks stays absent
    /// (reads as empty). Returns the names of the files it created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Self, Vec<&'static str>)> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| WorkspaceError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        let workspace = Self {
            dir,
            sealing: Arc::default(),
        };
        let mut created = Vec::new();
        // OpenClaw's test for a workspace that is not new: any of its
        // bootstrap files (MEMORY.md and notes do not count).
        let existing = SOUL_FILES
            .iter()
            .chain([BOOTSTRAP_FILE, "HEARTBEAT.md"].iter())
            .any(|name| workspace.path_of(name).exists());
        if !existing {
            for &name in SOUL_FILES {
                workspace.write(name, defaults::text_of(name))?;
                created.push(name);
            }
        }
        Ok((workspace, created))
    }

    /// Sets the key that opens sealed files (always, so a half-finished
    /// unseal still reads) and whether saves are sealed from now on.
    pub fn set_sealing(&self, sealer: Option<Sealer>, seal_saves: bool) {
        *self.sealing.write().unwrap_or_else(|p| p.into_inner()) = Sealing::new(sealer, seal_saves);
    }

    /// Whether saves are sealed.
    pub fn seals_saves(&self) -> bool {
        self.sealing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .seals()
    }

    /// Whether `name` is sealed on disk now (`false` when absent or unreadable).
    pub fn is_sealed_on_disk(&self, name: &str) -> bool {
        self.path(name)
            .ok()
            .and_then(|path| std::fs::read(path).ok())
            .is_some_and(|bytes| bytes.starts_with(pincer_seal::SEALED_PREFIX.as_bytes()))
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

    /// The text of a protected file (opened when sealed); a missing file
    /// reads as empty.
    pub fn read(&self, name: &str) -> Result<String> {
        let path = self.path(name)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(source) => {
                return Err(WorkspaceError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        let text = String::from_utf8(bytes).map_err(|error| WorkspaceError::NotText {
            path: path.clone(),
            valid_up_to: error.utf8_error().valid_up_to(),
        })?;
        self.sealing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .open(name, text)
            .map_err(|source| match source {
                SealError::NoKey => WorkspaceError::NoKey { path },
                source => WorkspaceError::Sealed { path, source },
            })
    }

    /// Saves a protected file atomically (sealed in sealed mode): the old
    /// text stays whole if anything fails.
    pub fn write(&self, name: &str, content: &str) -> Result<()> {
        let path = self.path(name)?;
        if content.len() > MAX_FILE_BYTES {
            return Err(WorkspaceError::TooLarge {
                file: name.to_string(),
                bytes: content.len(),
                limit: MAX_FILE_BYTES,
            });
        }
        let sealing = self
            .sealing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let content = sealing.seal(name, content);
        let temporary = self.dir.join(format!(".{name}.saving"));
        let io = |source| WorkspaceError::Io {
            action: "save",
            path: path.clone(),
            source,
        };
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
/// OpenClaw does; blank files are left out, and OpenClaw's caps apply
/// ([`PROMPT_FILE_CHARS`] a file, [`PROMPT_TOTAL_CHARS`] in all), a cut
/// file keeping its head and tail around a note naming what was left out.
/// `None` when all are blank.
pub fn system_prompt<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let mut left = PROMPT_TOTAL_CHARS;
    let parts: Vec<String> = files
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(name, text)| {
            let cap = PROMPT_FILE_CHARS.min(left);
            let text = capped(name, text.trim(), cap);
            left = left.saturating_sub(text.chars().count());
            format!("## {name}\n\n{text}")
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "The following workspace files define who you are and how you work. Follow them.\n\n{}",
            parts.join("\n\n")
        )
    })
}

/// `text` within `cap` characters: 70% of it from the head and 20% from
/// the tail around a note saying how much was left out and where it is.
fn capped(name: &str, text: &str, cap: usize) -> String {
    let total = text.chars().count();
    if total <= cap {
        return text.to_string();
    }
    let head: String = text.chars().take(cap * 7 / 10).collect();
    let tail: String = text.chars().skip(total - cap / 5).collect();
    let omitted = total - head.chars().count() - tail.chars().count();
    format!("{head}\n\n[… {omitted} characters of {name} left out here; read the file for all of it …]\n\n{tail}")
}

fn check_name(name: &str) -> Result<()> {
    if PROTECTED_FILES.contains(&name) {
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
        assert!(matches!(
            workspace.read("../etc/passwd"),
            Err(WorkspaceError::UnknownFile(_))
        ));
        std::fs::write(dir.path().join("SOUL.md"), b"ok \xff\xfe broken").unwrap();
        let error = workspace.read("SOUL.md").unwrap_err();
        assert!(
            matches!(error, WorkspaceError::NotText { valid_up_to: 3, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("restore an earlier version"));
        let big = "x".repeat(MAX_FILE_BYTES + 1);
        assert!(matches!(
            workspace.write("SOUL.md", &big),
            Err(WorkspaceError::TooLarge { .. })
        ));
        // The failed save left the file as it was.
        assert_eq!(
            std::fs::read(dir.path().join("SOUL.md")).unwrap(),
            b"ok \xff\xfe broken"
        );
    }

    #[test]
    fn sealed_saves_hide_the_text_and_read_back_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (workspace, _) = Workspace::open(dir.path()).unwrap();
        workspace.set_sealing(Some(Sealer::new([3; 32])), true);
        workspace
            .write("MEMORY.md", "The safe's code is 4711.")
            .unwrap();
        let on_disk = std::fs::read_to_string(dir.path().join("MEMORY.md")).unwrap();
        assert!(!on_disk.contains("4711") && workspace.is_sealed_on_disk("MEMORY.md"));
        assert_eq!(
            workspace.read("MEMORY.md").unwrap(),
            "The safe's code is 4711."
        );
        // Saves turned off still open what is sealed; without a key it is a clear error.
        workspace.set_sealing(Some(Sealer::new([3; 32])), false);
        assert_eq!(
            workspace.read("MEMORY.md").unwrap(),
            "The safe's code is 4711."
        );
        workspace.set_sealing(None, true);
        assert!(!workspace.seals_saves());
        assert!(matches!(
            workspace.read("MEMORY.md"),
            Err(WorkspaceError::NoKey { .. })
        ));
        workspace.set_sealing(Some(Sealer::new([4; 32])), true);
        let error = workspace.read("MEMORY.md").unwrap_err();
        assert!(
            error.to_string().contains("restore an earlier version"),
            "{error}"
        );
    }

    #[test]
    fn an_existing_workspace_opens_as_it_is() {
        // An OpenClaw workspace keeps its tool notes in AGENTS.md and has
        // no TOOLS.md: none is written, nor any other default.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "# AGENTS\nTools: use imsg.\n").unwrap();
        std::fs::write(dir.path().join("BOOTSTRAP.md"), "Ask the owner their name.\n").unwrap();
        let notes_only = dir.path().join("notes-only");
        std::fs::create_dir_all(&notes_only).unwrap();
        std::fs::write(notes_only.join("MEMORY.md"), "notes").unwrap();
        let (_, created) = Workspace::open(&notes_only).unwrap();
        assert_eq!(created.len(), SOUL_FILES.len(), "notes alone do not make a workspace old");
        let (workspace, created) = Workspace::open(dir.path()).unwrap();
        assert!(created.is_empty(), "{created:?}");
        for absent in ["TOOLS.md", "SOUL.md", "USER.md", "IDENTITY.md"] {
            assert!(!dir.path().join(absent).exists(), "{absent} was written");
            assert_eq!(workspace.read(absent).unwrap(), "");
        }
        assert_eq!(workspace.read(BOOTSTRAP_FILE).unwrap(), "Ask the owner their name.\n");
    }

    #[test]
    fn long_files_are_capped_as_openclaw_caps_them() {
        let long = format!("HEAD{}TAIL", "x".repeat(PROMPT_FILE_CHARS * 2));
        let prompt = system_prompt([("AGENTS.md", long.as_str())]).unwrap();
        let body = prompt.split_once("## AGENTS.md\n\n").unwrap().1;
        assert!(body.starts_with("HEAD") && body.ends_with("TAIL"));
        assert!(body.contains("characters of AGENTS.md left out here"), "{}", &body[..100]);
        assert!(body.chars().count() < PROMPT_FILE_CHARS + 200);
        // Six long files together stay within the total cap.
        let texts: Vec<(String, String)> = (0..6).map(|i| (format!("F{i}.md"), "y".repeat(PROMPT_FILE_CHARS))).collect();
        let all = system_prompt(texts.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
        assert!(all.chars().count() < PROMPT_TOTAL_CHARS + 1_000, "{}", all.chars().count());
        assert!(all.contains("characters of F5.md left out here"));
    }

    #[test]
    fn system_prompt_skips_blank_files() {
        assert_eq!(system_prompt([("SOUL.md", "  \n"), ("USER.md", "")]), None);
        let prompt = system_prompt([("SOUL.md", "Be kind.\n"), ("USER.md", " ")]).unwrap();
        assert!(prompt.ends_with("## SOUL.md\n\nBe kind."), "{prompt}");
        assert!(!prompt.contains("USER.md"));
    }
}
