//! The agent's built-in tools (issue 20). Each declares its effect class,
//! which the gate decides on (reads inside granted places run; writes,
//! commands and egress ask the owner), and a JSON schema the model sees in
//! its chat template. Arguments are checked before anything runs: a
//! malformed call is an error result for the model, never a crash.
//!
//! The file tools, confined to [`Places`] (read, list and search files,
//! write and edit them), `run_command` in the sandbox, `fetch_url` (an
//! HTTP GET, egress), and the gate's decisions ([`gate`]).
#![deny(missing_docs)]

mod commands;
mod fetch;
mod files;
pub mod gate;
mod places;
mod schema;

pub use commands::{check_command, command_skill, command_tool, run_command};
pub use fetch::{check_fetch, fetch_tool, fetch_url};
pub use files::{check_file_args, file_tools, run_file_tool};
pub use schema::{check_against_schema, usable_schema};
pub use places::{Access, Place, Places};

use serde::Serialize;
use std::borrow::Cow;

/// What a tool does to the world, which decides how the gate treats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Effect {
    /// Reads what is already granted.
    Read,
    /// Changes files.
    Write,
    /// Runs a command (in the sandbox).
    Exec,
    /// Sends something off the machine.
    Egress,
    /// Uses a secret from the vault.
    Secret,
    /// Leaves a proposal the owner accepts or rejects (a soul change):
    /// nothing changes until they do, so the proposal is the question.
    Propose,
}

impl Effect {
    /// Its name on the wire and in questions (`read`, `write`, `exec`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Exec => "exec",
            Self::Egress => "egress",
            Self::Secret => "secret",
            Self::Propose => "propose",
        }
    }
}

/// A tool as the model and the gate see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// Its name in calls (`read_file`, `<server>__<tool>` for MCP).
    pub name: Cow<'static, str>,
    /// What it does, for the model.
    pub description: Cow<'static, str>,
    /// Its effect class.
    pub effect: Effect,
    /// The JSON schema of its arguments.
    pub parameters: serde_json::Value,
}

/// What a tool call can fail with; each goes back to the model as the
/// call's error result, naming what to do instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolError {
    /// No tool has that name.
    #[error("there is no tool {0:?}; use one of the tools listed")]
    UnknownTool(String),
    /// The arguments do not fit the tool's schema.
    #[error("the arguments do not fit the tool: {0}")]
    InvalidArguments(String),
    /// The place is not granted, or not for this.
    #[error("{0}")]
    Refused(String),
    /// What it names is not there.
    #[error("{0}")]
    NotFound(String),
    /// The file system failed.
    #[error("{0}")]
    Failed(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ToolError>;
