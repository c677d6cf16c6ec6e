//! MCP servers as the agent's tools. Each server configured under
//! `mcp.servers.<name>` (OpenClaw's shape: a `command` run as a child on
//! stdio, or a streamable-HTTP `url`) is started through the official Rust
//! SDK, `rmcp`, and its tools are offered as `<server>__<tool>`.
//!
//! The [`McpHub`] supervises every server: one that cannot start, speaks
//! badly or dies is reported in its [`McpServerStatus`] and restarted with a
//! backoff (1 s, 2 s, 4 s … up to 60 s), never taking the hub or the other
//! servers down. Children get a minimal environment (no Pincer secrets),
//! secrets reach headers and env only from the caller's vault lookup, and
//! [`McpHub::shutdown`] (or dropping the hub) leaves no child running.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pincer_mcp::McpError> {
//! use pincer_mcp::{McpConfig, McpHub};
//! let config = McpConfig::from_json(serde_json::json!({
//!     "servers": {"notes": {"command": "notes-mcp", "args": ["--dir", "/tmp/notes"]}}
//! }))?;
//! let hub = McpHub::builder(config).secrets(|_name| None).start().await;
//! for tool in hub.tools() {
//!     println!("{} (read only: {})", tool.qualified_name, tool.read_only);
//! }
//! let out = hub
//!     .call("notes__read_note", serde_json::json!({"title": "x"}), std::time::Duration::from_secs(30))
//!     .await?;
//! println!("{}", out.text);
//! hub.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod config;
mod connect;
mod error;
mod hub;
mod supervisor;
mod types;

pub use config::{ConfigValue, HttpServer, McpConfig, SecretRef, ServerConfig, StdioServer};
pub use error::McpError;
pub use hub::{McpHub, McpHubBuilder};
pub use types::{McpEvent, McpOutput, McpServerStatus, McpTool};
