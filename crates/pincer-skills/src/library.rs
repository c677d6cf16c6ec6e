//! The skills Pincer can see: each root scanned in precedence order, every
//! `<root>/<name>/SKILL.md` parsed, gated and vetted, the first of a name
//! kept and the rest listed as shadowed, and the owner's pins applied. A
//! bundled skill is on at the hash it shipped with; any other waits for
//! the owner. A malformed skill is skipped with the file and the problem.

use crate::pins::Pins;
use crate::{Eligibility, Host, Result, Skill, SkillError, SkillState, Skipped, Source};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A folder skills are found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// Which kind of place it is.
    pub source: Source,
    /// The folder.
    pub dir: PathBuf,
}

impl Root {
    /// OpenClaw's roots in precedence order: the workspace's `skills/` and
    /// `.agents/skills/`, `~/.agents/skills/`, then the bundled folder.
    pub fn standard(workspace: &Path, home: Option<&Path>, bundled: Option<&Path>) -> Vec<Self> {
        let mut roots = vec![
            Self {
                source: Source::Workspace,
                dir: workspace.join("skills"),
            },
            Self {
                source: Source::WorkspaceAgents,
                dir: workspace.join(".agents").join("skills"),
            },
        ];
        if let Some(home) = home {
            roots.push(Self {
                source: Source::User,
                dir: home.join(".agents").join("skills"),
            });
        }
        if let Some(bundled) = bundled {
            roots.push(Self {
                source: Source::Bundled,
                dir: bundled.to_path_buf(),
            });
        }
        roots
    }
}

/// What one scan found.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// The skills, one per name, in name order.
    pub skills: Vec<Skill>,
    /// Folders that are not usable skills, with why (malformed, shadowed).
    pub skipped: Vec<Skipped>,
    /// Problems with the skills setup itself (an unreadable pins file).
    pub problems: Vec<String>,
}

/// The skills on this machine and the owner's decisions about them.
#[derive(Debug)]
pub struct SkillLibrary {
    roots: Vec<Root>,
    pins: Pins,
    host: Host,
    /// The last scan and what its files and the pins looked like then:
    /// every turn asks, and hashing and scanning every skill each time
    /// would be wasted while nothing changed.
    last: Mutex<Option<(Fingerprint, Discovery)>>,
}

/// Every file under the roots with its size and modification time, and
/// the pins file's: a change to any of them means a new scan.
type Fingerprint = (Vec<(PathBuf, Option<crate::pins::Stamp>)>, Option<crate::pins::Stamp>);

impl SkillLibrary {
    /// Skills in `roots` (precedence order), with the owner's pins in
    /// `pins_file` (`None`: kept in memory only).
    pub fn new(roots: Vec<Root>, pins_file: Option<PathBuf>, host: Host) -> Self {
        let (pins, _problem) = Pins::load(pins_file);
        Self {
            roots,
            pins,
            host,
            last: Mutex::new(None),
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        let files = self
            .roots
            .iter()
            .flat_map(|root| walkdir::WalkDir::new(&root.dir).sort_by_file_name())
            .flatten()
            .map(|entry| {
                let stamp = crate::pins::stamp(entry.path());
                (entry.into_path(), stamp)
            })
            .collect();
        (files, self.pins.stamp())
    }

    /// The roots, in precedence order.
    pub fn roots(&self) -> &[Root] {
        &self.roots
    }

    /// The skills as they are on disk now (they change while Pincer runs):
    /// scanned again when any file under the roots or the pins changed.
    pub fn discover(&self) -> Discovery {
        self.pins.refresh();
        let fingerprint = self.fingerprint();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, found)) = last.as_ref() {
            if *seen == fingerprint {
                return found.clone();
            }
        }
        let found = self.scan();
        // Kept under the fingerprint from before the scan: a decision saved
        // while it ran (or a bundled skill pinned by it) means a new scan.
        *last = Some((fingerprint, found.clone()));
        found
    }

    fn scan(&self) -> Discovery {
        let mut found = Discovery::default();
        found.problems.extend(self.pins.problem());
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for root in &self.roots {
            let Ok(entries) = std::fs::read_dir(&root.dir) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join(crate::SKILL_FILE).is_file())
                .collect();
            dirs.sort();
            for dir in dirs {
                match self.load(root.source, &dir) {
                    Ok(skill) if seen.contains(skill.name()) => found.skipped.push(Skipped {
                        path: skill.file(),
                        problem: format!(
                            "shadowed: a skill named {:?} comes first in the search order",
                            skill.name()
                        ),
                    }),
                    Ok(skill) => {
                        seen.insert(skill.name().to_string());
                        found.skills.push(skill);
                    }
                    Err(error) => found.skipped.push(Skipped {
                        path: dir.join(crate::SKILL_FILE),
                        problem: match error {
                            SkillError::Malformed { problem, .. } => problem,
                            other => other.to_string(),
                        },
                    }),
                }
            }
        }
        found.skills.sort_by(|a, b| a.name().cmp(b.name()));
        found
    }

    fn load(&self, source: Source, dir: &Path) -> Result<Skill> {
        let (front, body) = crate::parse_skill(dir)?;
        let vetting = crate::vet(dir).map_err(|problem| SkillError::Malformed {
            path: dir.join(crate::SKILL_FILE),
            problem,
        })?;
        if source == Source::Bundled && !self.pins.knows(&front.name) {
            // What ships with the app is on at the hash it shipped with.
            if let Err(error) = self.pins.set(&front.name, &vetting.sha256, true) {
                tracing::warn!(%error, "cannot pin the bundled skill {}", front.name);
            }
        }
        let state = self.pins.state(&front.name, &vetting.sha256);
        let eligibility = self.host.check(&front.metadata);
        Ok(Skill {
            front,
            source,
            dir: dir.to_path_buf(),
            body,
            eligibility,
            vetting,
            state,
        })
    }

    /// The skills the agent may use now.
    pub fn usable(&self) -> Vec<Skill> {
        self.discover()
            .skills
            .into_iter()
            .filter(Skill::usable)
            .collect()
    }

    fn find(&self, name: &str) -> Result<Skill> {
        let found = self.discover();
        if let Some(skill) = found.skills.into_iter().find(|s| s.name() == name) {
            return Ok(skill);
        }
        match found
            .skipped
            .into_iter()
            .find(|s| s.path.parent().and_then(Path::file_name) == Some(name.as_ref()))
        {
            Some(skipped) => Err(SkillError::NotUsable(format!(
                "{}: {}",
                skipped.path.display(),
                skipped.problem
            ))),
            None => Err(SkillError::Unknown(name.to_string())),
        }
    }

    /// The owner enables `name` at the hash its files have now (after
    /// seeing its vetting); returns it as enabled.
    pub fn enable(&self, name: &str) -> Result<Skill> {
        let mut skill = self.find(name)?;
        self.pin(&skill, true)?;
        skill.state = SkillState::Enabled;
        Ok(skill)
    }

    /// The owner turns `name` off.
    pub fn disable(&self, name: &str) -> Result<Skill> {
        let mut skill = self.find(name)?;
        self.pin(&skill, false)?;
        skill.state = SkillState::Disabled;
        Ok(skill)
    }

    fn pin(&self, skill: &Skill, enabled: bool) -> Result<()> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.pins
            .set(skill.name(), &skill.vetting.sha256, enabled)
            .map_err(|source| SkillError::Io {
                context: format!("cannot save the decision about {}", skill.name()),
                source,
            })
    }

    /// The skill the model activates, if it may: enabled at its pin and
    /// meant for this machine; otherwise why not.
    pub fn activate(&self, name: &str) -> Result<Skill> {
        let skill = self.find(name)?;
        let why = match (&skill.state, &skill.eligibility) {
            (SkillState::Enabled, Eligibility::Eligible) => return Ok(skill),
            (SkillState::Enabled, Eligibility::Ineligible { why }) => {
                format!("it does not work on this machine: {why}")
            }
            (SkillState::Disabled, _) => "the owner turned it off".to_string(),
            (SkillState::New, _) => "the owner has not enabled it yet".to_string(),
            (SkillState::Changed { .. }, _) => {
                "its files changed since the owner enabled it; it waits for the owner".to_string()
            }
        };
        Err(SkillError::NotUsable(format!("the skill {name:?} cannot be used: {why}")))
    }
}
