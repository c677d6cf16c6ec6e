//! What the hub hands out: tools, call results, and each server's status.

use std::fmt;

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde::{Deserialize, Serialize};

/// One tool of one MCP server, as the agent offers it to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpTool {
    /// The server's name in the config.
    pub server: String,
    /// The tool's name on its server.
    pub tool: String,
    /// `<server>__<tool>`: unique across servers, the name the model calls.
    pub qualified_name: String,
    /// What the server says the tool does (empty when it says nothing).
    pub description: String,
    /// The JSON Schema of its arguments.
    pub input_schema: serde_json::Value,
    /// The server's `readOnlyHint`: a hint from a server, not a guarantee,
    /// so permission checks may relax for it but never trust it blindly.
    pub read_only: bool,
}

/// What a tool call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpOutput {
    /// The text content joined by newlines; other content (images, blobs)
    /// is named in brackets.
    pub text: String,
    /// Whether the tool reported a failure (`isError`).
    pub is_error: bool,
    /// The structured result, when the tool gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<serde_json::Value>,
}

/// Where one server stands, for the UI and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum McpServerStatus {
    /// Being started for the first time.
    Starting,
    /// Connected, with this many tools.
    Running {
        /// How many tools it offers.
        tools: usize,
    },
    /// Given up on until the config changes: the reason says what to fix.
    Failed {
        /// What went wrong and what to do.
        reason: String,
    },
    /// It stopped or could not be reached; another try follows.
    Restarting {
        /// Which try this is since it last ran steadily (1, 2, …).
        attempt: u32,
        /// How long until that try, in milliseconds.
        next_in_ms: u64,
        /// Why it is not running.
        reason: String,
    },
    /// Shut down with the hub.
    Stopped,
}

impl McpServerStatus {
    /// The state's name as the UI and the audit log spell it (the serde tag).
    pub fn state(&self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running { .. } => "running",
            Self::Failed { .. } => "failed",
            Self::Restarting { .. } => "restarting",
            Self::Stopped => "stopped",
        }
    }
}

/// A change of one server's status, sent to the event hook and subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpEvent {
    /// The server.
    pub server: String,
    /// Its new status.
    pub status: McpServerStatus,
}

impl fmt::Display for McpServerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => write!(f, "starting"),
            Self::Running { tools } => write!(f, "running with {tools} tools"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            Self::Restarting {
                attempt,
                next_in_ms,
                reason,
            } => {
                write!(f, "restarting, try {attempt} in {next_in_ms} ms: {reason}")
            }
            Self::Stopped => write!(f, "stopped"),
        }
    }
}

impl McpTool {
    pub(crate) fn from_rmcp(server: &str, tool: rmcp::model::Tool) -> Self {
        let description = tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or_default()
            .to_string();
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        Self {
            server: server.to_string(),
            qualified_name: format!("{server}__{}", tool.name),
            tool: tool.name.into_owned(),
            description,
            input_schema: serde_json::Value::Object(tool.input_schema.as_ref().clone()),
            read_only,
        }
    }
}

impl From<CallToolResult> for McpOutput {
    fn from(result: CallToolResult) -> Self {
        let parts: Vec<String> = result.content.iter().map(describe).collect();
        let mut text = parts.join("\n");
        if text.is_empty() {
            if let Some(structured) = &result.structured_content {
                text = structured.to_string();
            }
        }
        Self {
            text,
            is_error: result.is_error == Some(true),
            structured: result.structured_content,
        }
    }
}

/// One content block as text: text as is, anything else named.
fn describe(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(t) => t.text.clone(),
        ContentBlock::Image(i) => {
            format!("[image: {}, {} bytes base64]", i.mime_type, i.data.len())
        }
        ContentBlock::Audio(a) => {
            format!("[audio: {}, {} bytes base64]", a.mime_type, a.data.len())
        }
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { text, .. } => text.clone(),
            ResourceContents::BlobResourceContents { uri, blob, .. } => {
                format!("[resource {uri}: {} bytes base64]", blob.len())
            }
            _ => "[resource]".to_string(),
        },
        ContentBlock::ResourceLink(link) => format!("[resource link: {}]", link.uri),
        _ => "[content of a kind this client does not read]".to_string(),
    }
}
