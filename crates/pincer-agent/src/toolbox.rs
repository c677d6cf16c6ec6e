//! The tools the agent may call in the owner's chat: the file tools inside
//! the workspace and the folders the owner granted, `run_command` in the
//! sandbox where one works on this machine (without one, commands are
//! refused and the tool is not offered), `fetch_url` (egress: the gate
//! always asks), `use_skill` while the owner has skills enabled, and the
//! tools of the MCP servers running now as `<server>__<tool>` (read class
//! when the server marks them read-only, else they ask; their results are
//! outside content).

use crate::skill_tool::{self, USE_SKILL};
use pincer_sandbox::{Budget, Sandbox};
use pincer_mcp::McpHub;
use pincer_skills::SkillLibrary;
use pincer_tools::{Access, Effect, Places, ToolError, ToolSpec};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The longest an MCP tool call may take.
const MCP_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The agent's tools and where they may reach.
#[derive(Debug)]
pub struct Toolbox {
    workspace: PathBuf,
    places: RwLock<Places>,
    sandbox: Option<Sandbox>,
    budget: Budget,
    skills: Option<Arc<SkillLibrary>>,
    mcp: Option<Arc<McpHub>>,
}

/// Whether `name` is an MCP tool's (`<server>__<tool>`; no built-in has `__`).
fn is_mcp(name: &str) -> bool {
    name.contains("__")
}

impl Toolbox {
    /// Tools reaching the workspace (writable); `sandbox` is where commands
    /// run, `None` where no sandbox can be made here.
    pub fn new(workspace: &Path, sandbox: Option<Sandbox>) -> Result<Self, ToolError> {
        let places = Places::none().grant(workspace, true)?;
        let workspace = places.list()[0].root.clone();
        Ok(Self {
            workspace,
            places: RwLock::new(places),
            sandbox,
            budget: Budget::default(),
            skills: None,
            mcp: None,
        })
    }

    /// Offers the tools of the MCP servers `hub` runs.
    pub fn with_mcp(mut self, hub: Arc<McpHub>) -> Self {
        self.mcp = Some(hub);
        self
    }

    /// The MCP servers, when there are any.
    pub fn mcp(&self) -> Option<&Arc<McpHub>> {
        self.mcp.as_ref()
    }

    /// Offers the skills of `library` (those the owner enabled).
    pub fn with_skills(mut self, library: Arc<SkillLibrary>) -> Self {
        self.skills = Some(library);
        self
    }

    /// The skills, when they are on offer.
    pub fn skills(&self) -> Option<&Arc<SkillLibrary>> {
        self.skills.as_ref()
    }

    /// The skill catalog for the system prompt; `None` without usable skills.
    pub fn skill_catalog(&self) -> Option<String> {
        let skills = self.skills.as_ref()?.usable();
        pincer_skills::catalog_prompt(&skills)
    }

    /// Grants another folder, read only or writable.
    pub fn grant(&self, folder: &Path, writable: bool) -> Result<(), ToolError> {
        let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
        *places = std::mem::take(&mut *places).grant(folder, writable)?;
        Ok(())
    }

    /// Takes a granted folder back; the workspace itself stays. Whether it
    /// was granted.
    pub fn revoke(&self, folder: &Path) -> Result<bool, ToolError> {
        if folder.canonicalize().is_ok_and(|f| f == self.workspace) {
            return Err(ToolError::Refused(
                "the workspace is where the agent keeps its notes and cannot be revoked; halt the agent to stop it acting".into(),
            ));
        }
        let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
        Ok(places.revoke(folder))
    }

    /// The workspace, resolved (always the first place).
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The places tools may touch now.
    pub fn places(&self) -> Places {
        self.places
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The sandbox commands run in, if any.
    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// Every tool on offer, with its effect class.
    pub fn specs(&self) -> Vec<ToolSpec> {
        let mut specs = pincer_tools::file_tools();
        if self.sandbox.is_some() {
            specs.push(pincer_tools::command_tool());
        }
        specs.push(pincer_tools::fetch_tool());
        if self.skills.as_ref().is_some_and(|s| !s.usable().is_empty()) {
            specs.push(skill_tool::spec());
        }
        if let Some(hub) = &self.mcp {
            for tool in hub.tools() {
                if let Err(why) = pincer_tools::usable_schema(&tool.input_schema) {
                    tracing::warn!(tool = %tool.qualified_name, %why, "an MCP tool with an unusable schema is not offered");
                    continue;
                }
                specs.push(ToolSpec {
                    name: tool.qualified_name.into(),
                    description: format!("{} (from the MCP server {})", tool.description, tool.server).into(),
                    effect: if tool.read_only { Effect::Read } else { Effect::Egress },
                    parameters: tool.input_schema,
                });
            }
        }
        specs
    }

    /// Checks a call's arguments against the tool's schema before the gate
    /// weighs it.
    pub(crate) fn check(&self, spec: &ToolSpec, arguments: &Value) -> Result<(), ToolError> {
        match spec.effect {
            _ if is_mcp(&spec.name) => pincer_tools::check_against_schema(&spec.parameters, arguments),
            Effect::Exec => pincer_tools::check_command(arguments),
            Effect::Egress => pincer_tools::check_fetch(arguments),
            _ if spec.name == USE_SKILL => skill_tool::check(arguments).map(|_| ()),
            _ => pincer_tools::check_file_args(&spec.name, arguments),
        }
    }

    /// Whether a call's result brings untrusted content into the turn.
    pub(crate) fn taints(&self, spec: &ToolSpec, arguments: &Value) -> bool {
        // A skill's text is the owner's, vetted and pinned; an MCP server's
        // answer is another program's.
        is_mcp(&spec.name)
            || (spec.name != USE_SKILL
                && pincer_tools::gate::taints(spec, self.reads_inside_workspace(arguments)))
    }

    /// The result of `tool` as the model sees it: a skill as the owner's
    /// instructions, anything else fenced as outside data.
    pub(crate) fn present(&self, tool: &str, text: &str) -> String {
        match tool {
            USE_SKILL => skill_tool::wrap(text),
            _ => crate::acting::fence(tool, text),
        }
    }

    /// Where an enabled skill's command may look: its folder, read only.
    fn skill_places(&self, name: &str) -> Result<Places, ToolError> {
        let skills = self.skills.as_ref().ok_or_else(|| ToolError::NotFound("no skills are enabled".into()))?;
        let skill = skills.activate(name).map_err(|e| ToolError::Refused(e.to_string()))?;
        let file = skill.file();
        let folder = file.parent().ok_or_else(|| ToolError::NotFound(format!("the skill {name} has no folder")))?;
        Places::none().grant(folder, false)
    }

    /// Whether a read stays inside the owner's own notes (the workspace),
    /// which does not bring untrusted content into the turn.
    fn reads_inside_workspace(&self, arguments: &Value) -> bool {
        let path = arguments.get("path").and_then(Value::as_str).unwrap_or(".");
        let workspace_only = Places::none().grant(&self.workspace, false);
        workspace_only.is_ok_and(|places| places.resolve(path, Access::Read).is_ok())
    }

    /// Runs a checked, allowed call. Dropping the future stops a command.
    pub(crate) async fn run(&self, spec: &ToolSpec, arguments: Value) -> Result<Value, ToolError> {
        let places = self.places();
        match spec.effect {
            _ if is_mcp(&spec.name) => {
                let hub = self.mcp.as_ref().ok_or_else(|| ToolError::UnknownTool(spec.name.to_string()))?;
                let output = hub
                    .call(&spec.name, arguments, MCP_CALL_TIMEOUT)
                    .await
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                match output.is_error {
                    true => Err(ToolError::Failed(output.text)),
                    false => Ok(match output.structured {
                        Some(structured) => serde_json::json!({"text": output.text, "structured": structured}),
                        None => serde_json::json!({"text": output.text}),
                    }),
                }
            }
            Effect::Exec => {
                let sandbox = self.sandbox.as_ref().ok_or_else(|| {
                    ToolError::Refused("no sandbox works on this machine, so commands do not run; see `pincer doctor`".into())
                })?;
                // A skill's command sees its own folder (read only) and
                // its scratch folder, none of the owner's places.
                let places = match pincer_tools::command_skill(&arguments) {
                    Some(name) => self.skill_places(name)?,
                    None => places,
                };
                pincer_tools::run_command(sandbox, &places, arguments, self.budget).await
            }
            Effect::Egress => pincer_tools::fetch_url(&arguments).await,
            _ if spec.name == USE_SKILL => {
                let skills = self.skills.clone().ok_or_else(|| {
                    ToolError::NotFound("no skills are enabled".into())
                })?;
                tokio::task::spawn_blocking(move || skill_tool::run(&skills, &arguments))
                    .await
                    .map_err(|e| ToolError::Failed(format!("the tool stopped unexpectedly ({e})")))?
            }
            _ => {
                let name = spec.name.clone();
                tokio::task::spawn_blocking(move || {
                    pincer_tools::run_file_tool(&places, &name, arguments)
                })
                .await
                .map_err(|e| ToolError::Failed(format!("the tool stopped unexpectedly ({e})")))?
            }
        }
    }
}
