//! Tools in the chat: a call the model made, the gate's question to the
//! owner and its answer, and what became of the call.

use serde::{Deserialize, Serialize};
use specta::Type;

/// A tool call the model made.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallView {
    /// The call's id in the conversation.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
}

/// The gate asks the owner before a call runs.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolQuestionView {
    /// Names the question in [`AnswerToolQuestion`].
    pub id: String,
    /// The chat it was asked in.
    pub session_id: String,
    /// The call's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
    /// Its effect class: `write`, `exec`, `egress`, `secret`.
    pub effect: String,
    /// Why the gate asks.
    pub why: String,
    /// Whether "Allow always" may be chosen.
    pub offer_always: bool,
}

/// What became of a call.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutcomeView {
    /// The call's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// `ran`, `allowed`, `denied`, `timeout`, `invalid` or `stopped`.
    pub decision: String,
    /// Why, in words.
    pub why: String,
    /// Whether it ran and succeeded.
    pub ok: bool,
    /// Its result or error, shortened.
    pub output: String,
    /// How long it ran, in milliseconds.
    pub took_ms: f64,
}

/// The owner's answer to one of the gate's questions.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AnswerToolQuestion {
    /// The question's id.
    pub question_id: String,
    /// `allowOnce`, `allowAlways` or `deny`.
    pub answer: String,
}

/// A tool on offer and its effect class.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolView {
    /// Its name in calls.
    pub name: String,
    /// What it does.
    pub description: String,
    /// `read`, `write`, `exec`, `egress`, `secret` or `propose`.
    pub effect: String,
}

/// One flag of a skill's vetting scan.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SkillFindingView {
    /// `shellOut`, `network`, `obfuscated` or `permissionClaim`.
    pub kind: String,
    /// The file, relative to the skill's folder.
    pub file: String,
    /// The line (0: the file as a whole).
    pub line: u32,
    /// The text that raised it.
    pub excerpt: String,
}

/// A skill found on this machine.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SkillView {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// `workspace`, `workspace-agents`, `user` or `bundled`.
    pub source: String,
    /// Its `SKILL.md`.
    pub location: String,
    /// The hash of its files.
    pub sha256: String,
    /// Its files.
    pub files: Vec<String>,
    /// What the vetting scan flagged.
    pub findings: Vec<SkillFindingView>,
    /// `enabled`, `disabled`, `new` (waits for the owner) or `changed` (waits again).
    pub state: String,
    /// Whether the agent may use it now.
    pub usable: bool,
    /// Why it cannot work on this machine, if it cannot.
    pub ineligible: Option<String>,
    /// The tools it says it wants (shown, never granted).
    pub allowed_tools: Vec<String>,
    /// Its licence, if it says.
    pub license: Option<String>,
}

/// A folder that is not a usable skill, and why.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSkillView {
    /// The file.
    pub path: String,
    /// What is wrong and what to do.
    pub problem: String,
}

/// The Tools & Skills pane: the tools, the skills and where they come from.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolsOverview {
    /// The tools on offer now.
    pub tools: Vec<ToolView>,
    /// The skills found, one per name.
    pub skills: Vec<SkillView>,
    /// Skill folders that are skipped, with why.
    pub skipped: Vec<SkippedSkillView>,
    /// Problems with the skills setup.
    pub problems: Vec<String>,
    /// The folders searched for skills, in precedence order.
    pub skill_roots: Vec<String>,
    /// The sandbox commands run in, or why there is none.
    pub sandbox: String,
    /// The MCP servers configured in `mcp.json`.
    pub mcp_servers: Vec<McpServerView>,
    /// Where the file tools and commands may reach: the workspace first,
    /// then the folders the owner granted.
    pub folders: Vec<FolderView>,
}

/// A folder the agent's tools may reach.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    /// The folder.
    pub path: String,
    /// Whether tools may write there.
    pub writable: bool,
    /// The workspace (always there, never revoked).
    pub workspace: bool,
    /// Why a granted folder cannot be reached now, if it cannot.
    pub problem: Option<String>,
}

/// The owner grants a folder to the agent's tools (or changes how).
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GrantFolder {
    /// The folder's full path.
    pub path: String,
    /// Let tools write there too.
    pub writable: bool,
}

/// A granted folder, by its path.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FolderRef {
    /// The folder's path, as listed.
    pub path: String,
}

/// One MCP server and how it is doing.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct McpServerView {
    /// Its name (its tools are `<name>__<tool>`).
    pub name: String,
    /// `starting`, `running`, `failed`, `restarting` or `stopped`.
    pub state: String,
    /// The status in words (why it failed, when it restarts).
    pub detail: String,
    /// Its tools, by their names in calls.
    pub tools: Vec<String>,
}

/// The owner turns a skill on (at the hash its files have now) or off.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SetSkillEnabled {
    /// The skill.
    pub name: String,
    /// On or off.
    pub enabled: bool,
}
