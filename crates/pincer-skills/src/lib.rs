//! Skills in the AgentSkills format OpenClaw uses (issue 20): a folder with
//! a `SKILL.md` whose YAML frontmatter names and describes it, and whose
//! body tells the model how to do one kind of task with the tools it has.
//!
//! A skill is text, never code Pincer runs: nothing in its folder executes
//! when it is found or enabled. Before one is usable its files are hashed
//! and pinned and a static scan flags what the owner should look at (shell
//! outs, network use, obfuscated text, instructions aimed at the model's
//! permissions). A skill from outside the app waits for the owner to enable
//! it, and a changed one waits again, like a soul file changed on disk.
//! `allowed-tools` is shown, never obeyed: a skill grants nothing.
//!
//! Skills are found in OpenClaw's precedence order: the workspace's
//! `skills/`, its `.agents/skills/`, `~/.agents/skills/`, then the ones
//! bundled with the app; a name found twice is the first one's.
#![deny(missing_docs)]

mod catalog;
mod gating;
mod library;
mod pins;
mod skill_file;
mod vetting;

pub use catalog::catalog_prompt;
pub use gating::{Eligibility, Host};
pub use library::{Discovery, Root, SkillLibrary};
pub use pins::SkillState;
pub use skill_file::{parse_skill, Frontmatter, SKILL_FILE};
pub use vetting::{vet, Finding, FindingKind, Vetting};

use serde::Serialize;
use std::path::PathBuf;

/// Where a skill was found, in precedence order (first wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// The workspace's `skills/` (OpenClaw's workspace skills).
    Workspace,
    /// The workspace's `.agents/skills/`.
    WorkspaceAgents,
    /// The owner's `~/.agents/skills/`.
    User,
    /// Shipped with Pincer.
    Bundled,
}

impl Source {
    /// Its name in lists and the pins file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::WorkspaceAgents => "workspace-agents",
            Self::User => "user",
            Self::Bundled => "bundled",
        }
    }
}

/// One skill as found on disk, parsed, gated and vetted.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    /// Its frontmatter.
    #[serde(flatten)]
    pub front: Frontmatter,
    /// Where it was found.
    pub source: Source,
    /// Its folder.
    pub dir: PathBuf,
    /// Its instructions (the text after the frontmatter).
    pub body: String,
    /// Whether this machine meets its OpenClaw requirements.
    pub eligibility: Eligibility,
    /// Its files' hash and the scan's findings.
    pub vetting: Vetting,
    /// Where it stands with the owner.
    pub state: SkillState,
}

impl Skill {
    /// Whether the agent may use it now: on at its pinned hash and meant
    /// for this machine.
    pub fn usable(&self) -> bool {
        self.state.usable() && self.eligibility == Eligibility::Eligible
    }
}

impl Skill {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.front.name
    }

    /// Its `SKILL.md`.
    pub fn file(&self) -> PathBuf {
        self.dir.join(SKILL_FILE)
    }
}

/// A folder that looked like a skill and is not usable, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub problem: String,
}

/// What reading skills can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SkillError {
    /// A `SKILL.md` is malformed.
    #[error("{path}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// No skill has that name.
    #[error("there is no skill {0:?}; `pincer skills list` shows the skills found")]
    Unknown(String),
    /// The skill cannot be used (not enabled, changed, not for this machine).
    #[error("{0}")]
    NotUsable(String),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, SkillError>;
