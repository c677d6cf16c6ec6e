//! The tools the agent may call in the owner's chat: the file tools inside
//! the workspace and the folders the owner granted, and `run_command` in
//! the sandbox where one works on this machine (without one, commands are
//! refused and the tool is not offered).

use pincer_inference::ToolDefinition;
use pincer_sandbox::{Budget, Sandbox};
use pincer_tools::{Access, Effect, Places, ToolError, ToolSpec};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The agent's tools and where they may reach.
#[derive(Debug)]
pub struct Toolbox {
    workspace: PathBuf,
    places: RwLock<Places>,
    sandbox: Option<Sandbox>,
    budget: Budget,
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
        })
    }

    /// Grants another folder, read only or writable.
    pub fn grant(&self, folder: &Path, writable: bool) -> Result<(), ToolError> {
        let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
        *places = std::mem::take(&mut *places).grant(folder, writable)?;
        Ok(())
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
        specs
    }

    /// The tools as the model's chat template takes them.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.specs()
            .into_iter()
            .map(|spec| ToolDefinition {
                name: spec.name.to_string(),
                description: spec.description.to_string(),
                parameters: spec.parameters,
            })
            .collect()
    }

    /// The tool called `name`, or why there is none.
    pub(crate) fn spec(&self, name: &str) -> Result<ToolSpec, ToolError> {
        self.specs()
            .into_iter()
            .find(|spec| spec.name == name)
            .ok_or_else(|| ToolError::UnknownTool(name.to_string()))
    }

    /// Checks a call's arguments against the tool's schema before the gate
    /// weighs it.
    pub(crate) fn check(&self, spec: &ToolSpec, arguments: &Value) -> Result<(), ToolError> {
        match spec.effect {
            Effect::Exec => pincer_tools::check_command(arguments),
            _ => pincer_tools::check_file_args(spec.name, arguments),
        }
    }

    /// Whether a read stays inside the owner's own notes (the workspace),
    /// which does not bring untrusted content into the turn.
    pub(crate) fn reads_inside_workspace(&self, arguments: &Value) -> bool {
        let path = arguments.get("path").and_then(Value::as_str).unwrap_or(".");
        let workspace_only = Places::none().grant(&self.workspace, false);
        workspace_only.is_ok_and(|places| places.resolve(path, Access::Read).is_ok())
    }

    /// Runs a checked, allowed call. Dropping the future stops a command.
    pub(crate) async fn run(&self, spec: &ToolSpec, arguments: Value) -> Result<Value, ToolError> {
        let places = self.places();
        match spec.effect {
            Effect::Exec => {
                let sandbox = self.sandbox.as_ref().ok_or_else(|| {
                    ToolError::Refused("no sandbox works on this machine, so commands do not run; see `pincer doctor`".into())
                })?;
                pincer_tools::run_command(sandbox, &places, arguments, self.budget).await
            }
            _ => {
                let name = spec.name;
                tokio::task::spawn_blocking(move || {
                    pincer_tools::run_file_tool(&places, name, arguments)
                })
                .await
                .map_err(|e| ToolError::Failed(format!("the tool stopped unexpectedly ({e})")))?
            }
        }
    }
}
