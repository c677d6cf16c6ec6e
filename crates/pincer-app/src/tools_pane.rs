//! The Tools & Skills commands: what the agent can call, the skills found
//! with their vetting, the MCP servers and their status, and the owner's
//! decision to enable or disable a skill (audited with the hash it was
//! decided at).

use crate::ipc::{
    McpServerView, SetSkillEnabled, SkillFindingView, SkillView, SkippedSkillView, ToolView, ToolsOverview,
};
use crate::{App, AppError, Maintenance, Result};
use pincer_skills::{Discovery, Eligibility, Root, Skill, SkillLibrary, SkillState};
use pincer_trust::Trust;
use std::path::{Path, PathBuf};

impl App {
    /// The tools on offer, the skills found and where they were looked for.
    pub async fn tools_overview(&self) -> Result<ToolsOverview> {
        let agent = self.inner.agent.clone();
        let toolbox = agent.toolbox().clone();
        let mcp_problem = self.inner.mcp_problem.clone();
        let settings = self.inner.settings.get();
        let data_dir = self.inner.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let tools = agent
                .tool_specs()
                .into_iter()
                .map(|spec| ToolView {
                    name: spec.name.to_string(),
                    description: spec.description.to_string(),
                    effect: spec.effect.name().to_string(),
                })
                .collect();
            let (skills, skipped, problems, skill_roots) = match toolbox.skills() {
                Some(library) => {
                    let (skills, skipped, problems) = discovery_views(library.discover());
                    (
                        skills,
                        skipped,
                        problems,
                        library
                            .roots()
                            .iter()
                            .map(|r| r.dir.display().to_string())
                            .collect(),
                    )
                }
                None => Default::default(),
            };
            let mut problems = problems;
            problems.extend(mcp_problem);
            let mcp_servers = toolbox.mcp().map(|hub| {
                let tools = hub.tools();
                hub.statuses()
                    .into_iter()
                    .map(|(name, status)| McpServerView {
                        state: status.state().to_string(),
                        detail: status.to_string(),
                        tools: tools
                            .iter()
                            .filter(|t| t.server == name)
                            .map(|t| t.qualified_name.clone())
                            .collect(),
                        name,
                    })
                    .collect()
            });
            let sandbox = match toolbox.sandbox() {
                Some(_) => "bubblewrap: no network, the system read only".to_string(),
                None => "none: commands are refused (see `pincer doctor`)".to_string(),
            };
            ToolsOverview {
                tools,
                skills,
                skipped,
                problems,
                skill_roots,
                sandbox,
                mcp_servers: mcp_servers.unwrap_or_default(),
                folders: crate::folders::folder_views(&data_dir, &toolbox, &settings),
            }
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("listing the tools failed ({e})")))
    }

    /// Turns a skill on at the hash its files have now, or off.
    pub async fn set_skill_enabled(&self, request: SetSkillEnabled) -> Result<SkillView> {
        let library = self
            .inner
            .agent
            .toolbox()
            .skills()
            .cloned()
            .ok_or_else(|| AppError::Unavailable("skills are off in this app".into()))?;
        let trust = self.inner.trust.clone();
        tokio::task::spawn_blocking(move || {
            decide_skill(&library, &trust, &request.name, request.enabled)
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("the skill decision failed ({e})")))?
    }
}

impl Maintenance {
    /// The skills found for this data folder, what was skipped and why,
    /// and problems with the setup (`pincer skills list|vet`).
    pub fn skills(&self) -> (Vec<SkillView>, Vec<SkippedSkillView>, Vec<String>) {
        discovery_views(skill_library(self.data_dir()).discover())
    }

    /// Turns a skill on or off (`pincer skills enable|disable`); a running
    /// Pincer sees it at its next turn.
    pub fn set_skill_enabled(&self, name: &str, enabled: bool) -> Result<SkillView> {
        decide_skill(&skill_library(self.data_dir()), self.trust(), name, enabled)
    }
}

/// The skill library of `data_dir`: its workspace's skills, the owner's
/// `~/.agents/skills`, the bundled ones, and the pins in `skills.json`.
pub(crate) fn skill_library(data_dir: &Path) -> SkillLibrary {
    SkillLibrary::new(
        Root::standard(
            &data_dir.join("workspace"),
            dirs::home_dir().as_deref(),
            bundled_skills_dir().as_deref(),
        ),
        Some(data_dir.join("skills.json")),
        pincer_skills::Host::default(),
    )
}

/// The owner's decision about a skill, pinned and audited.
fn decide_skill(library: &SkillLibrary, trust: &Trust, name: &str, enabled: bool) -> Result<SkillView> {
    let skill = match enabled {
        true => library.enable(name),
        false => library.disable(name),
    }
    .map_err(|e| AppError::InvalidInput(e.to_string()))?;
    trust.record(
        pincer_trust::Actor::Owner,
        pincer_trust::Action::SkillDecision,
        skill.name(),
        if enabled { "enabled" } else { "disabled" },
        serde_json::json!({
            "sha256": skill.vetting.sha256,
            "source": skill.source.name(),
            "findings": skill.vetting.findings.len(),
        }),
    )?;
    Ok(skill_view(&skill))
}

fn skill_view(skill: &Skill) -> SkillView {
    SkillView {
        name: skill.name().to_string(),
        description: skill.front.description.clone(),
        source: skill.source.name().to_string(),
        location: skill.file().display().to_string(),
        sha256: skill.vetting.sha256.clone(),
        files: skill.vetting.files.clone(),
        findings: skill
            .vetting
            .findings
            .iter()
            .map(|f| SkillFindingView {
                kind: serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                file: f.file.clone(),
                line: u32::try_from(f.line).unwrap_or(u32::MAX),
                excerpt: f.excerpt.clone(),
            })
            .collect(),
        state: match skill.state {
            SkillState::Enabled => "enabled",
            SkillState::Disabled => "disabled",
            SkillState::New => "new",
            SkillState::Changed { .. } => "changed",
        }
        .to_string(),
        usable: skill.usable(),
        ineligible: match &skill.eligibility {
            Eligibility::Eligible => None,
            Eligibility::Ineligible { why } => Some(why.clone()),
        },
        allowed_tools: skill.front.allowed_tools.clone(),
        license: skill.front.license.clone(),
    }
}

/// Where the skills shipped with Pincer are: `PINCER_BUNDLED_SKILLS`, a
/// `skills` folder beside the executable or in `../share/pincer/`, else
/// the source tree's `skills/` (a developer build).
pub(crate) fn bundled_skills_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PINCER_BUNDLED_SKILLS").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from));
    let candidates = exe_dir
        .iter()
        .flat_map(|dir| [dir.join("skills"), dir.join("../share/pincer/skills")])
        .chain([PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../skills"))]);
    candidates
        .into_iter()
        .find(|dir| dir.is_dir())
        .and_then(|dir| dir.canonicalize().ok())
}

/// One scan's skills, skipped folders and problems as the pane shows them.
fn discovery_views(found: Discovery) -> (Vec<SkillView>, Vec<SkippedSkillView>, Vec<String>) {
    let skipped = found
        .skipped
        .into_iter()
        .map(|s| SkippedSkillView {
            path: s.path.display().to_string(),
            problem: s.problem,
        })
        .collect();
    (found.skills.iter().map(skill_view).collect(), skipped, found.problems)
}
