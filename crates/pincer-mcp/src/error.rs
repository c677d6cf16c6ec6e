//! What the MCP client can fail with, each message naming the problem and
//! what to do about it.

/// What configuring MCP servers or calling their tools can fail with. A
/// server that fails to start is not an error of the hub: its status says why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The `mcp` section of the config is malformed.
    #[error("{}", config_message(server.as_deref(), problem, fix))]
    InvalidConfig {
        /// The server whose entry is wrong, when it is one entry.
        server: Option<String>,
        /// What is wrong.
        problem: String,
        /// How to put it right.
        fix: String,
    },
    /// No running server offers a tool by that name.
    #[error(
        "no MCP tool is called '{name}'; MCP tools are named <server>__<tool>, as the hub's tool list gives them"
    )]
    UnknownTool {
        /// The name asked for.
        name: String,
    },
    /// The tool's server is not running now.
    #[error(
        "MCP server '{server}' is not running ({status}); fix what its status names, or wait for its restart"
    )]
    NotRunning {
        /// The server.
        server: String,
        /// Its status, in words.
        status: String,
    },
    /// The arguments are not a JSON object.
    #[error("the arguments for MCP tool '{tool}' must be a JSON object, not {got}")]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What kind of JSON value was given.
        got: &'static str,
    },
    /// The tool did not answer in time; the call was cancelled on the server.
    #[error(
        "MCP tool '{tool}' did not answer within {after_ms} ms and was cancelled; try again with a longer timeout, or check the server"
    )]
    Timeout {
        /// The tool.
        tool: String,
        /// The time allowed.
        after_ms: u64,
    },
    /// The server refused the call or the connection broke during it.
    #[error("MCP tool '{tool}' could not be called: {reason}; the server's status says whether it is restarting")]
    Call {
        /// The tool.
        tool: String,
        /// What the SDK reported.
        reason: String,
    },
}

fn config_message(server: Option<&str>, problem: &str, fix: &str) -> String {
    match server {
        Some(server) => format!("MCP server '{server}' in the config: {problem}; {fix}"),
        None => format!("the MCP config: {problem}; {fix}"),
    }
}

impl McpError {
    pub(crate) fn config(server: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::InvalidConfig {
            server: Some(server.to_string()),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
