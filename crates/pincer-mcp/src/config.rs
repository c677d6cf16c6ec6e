//! The `mcp` section of the config, in OpenClaw's shape: `servers.<name>` is
//! either `{command, args, env, cwd}` (a child process on stdio) or
//! `{url, transport: "streamable-http", headers}`. Everything is checked
//! when the config is read, so a bad entry is one clear error up front.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::McpError;

/// Headers the HTTP transport sets itself; a config may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];
/// The longest server name: `<server>__<tool>` must stay within the 64
/// characters model APIs allow for a tool name.
const MAX_SERVER_NAME: usize = 32;

/// Which MCP servers to start, by name; the names prefix their tools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct McpConfig {
    servers: BTreeMap<String, ServerConfig>,
}

/// How to reach one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerConfig {
    /// A child process that speaks MCP on its stdin and stdout.
    Stdio(StdioServer),
    /// A server reached over MCP's streamable HTTP transport.
    Http(HttpServer),
}

/// A server run as a child process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioServer {
    /// The program: a name looked up on `PATH`, or a path.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables it gets on top of a minimal safe set (`PATH`,
    /// `HOME`, …); nothing else of Pincer's environment is passed on.
    pub env: BTreeMap<String, ConfigValue>,
    /// The folder it runs in; Pincer's own when absent.
    pub cwd: Option<PathBuf>,
}

/// A server reached over streamable HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpServer {
    /// Its endpoint, `http(s)://host[:port]/path`.
    pub url: String,
    /// Headers sent with every request (an `Authorization` token, say).
    pub headers: BTreeMap<String, ConfigValue>,
}

/// A value in `env` or `headers`: written out, or taken from the vault so
/// tokens never sit in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConfigValue {
    /// The value itself.
    Plain(String),
    /// A vault secret, read each time the server is started.
    Secret(SecretRef),
}

/// Names a vault secret, `{"secret": "mcp/<server>/<name>"}`, with an
/// optional text put before it (`"prefix": "Bearer "`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's name in the vault. A server may only name secrets under
    /// `mcp/<server>/`, so a config cannot send the owner's other keys away.
    pub secret: String,
    /// Text put before the secret, e.g. `"Bearer "`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl McpConfig {
    /// Reads and checks the `mcp` section, `{"servers": {"<name>": {…}}}`.
    pub fn from_json(value: serde_json::Value) -> Result<Self, McpError> {
        let raw: RawConfig =
            serde_json::from_value(value).map_err(|e| McpError::InvalidConfig {
                server: None,
                problem: e.to_string(),
                fix: "write it as {\"servers\": {\"<name>\": {\"command\": …} or {\"url\": …}}}"
                    .into(),
            })?;
        raw.try_into()
    }

    /// Checks servers given in code, as [`McpConfig::from_json`] checks a file.
    pub fn new(servers: BTreeMap<String, ServerConfig>) -> Result<Self, McpError> {
        for (name, server) in &servers {
            check_name(name)?;
            server.check(name)?;
        }
        Ok(Self { servers })
    }

    /// The configured servers, by name.
    pub fn servers(&self) -> &BTreeMap<String, ServerConfig> {
        &self.servers
    }
}

impl ServerConfig {
    fn check(&self, name: &str) -> Result<(), McpError> {
        match self {
            ServerConfig::Stdio(s) => {
                if s.command.trim().is_empty() {
                    return Err(McpError::config(
                        name,
                        "`command` is empty",
                        "name the program that runs the server",
                    ));
                }
                for (key, value) in &s.env {
                    if key.is_empty() || key.contains(['=', '\0']) {
                        return Err(McpError::config(
                            name,
                            format!("`env` has the variable name '{key}'"),
                            "use names without '=' (e.g. API_TOKEN)",
                        ));
                    }
                    check_value(name, &format!("env {key}"), value)?;
                }
            }
            ServerConfig::Http(h) => {
                let url = reqwest::Url::parse(&h.url).map_err(|e| {
                    McpError::config(
                        name,
                        format!("`url` '{}' is not a URL ({e})", h.url),
                        "write it as https://host/path",
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(McpError::config(
                        name,
                        format!("`url` '{}' is not http(s)", h.url),
                        "use an http:// or https:// endpoint",
                    ));
                }
                let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                for (key, value) in &h.headers {
                    let header = HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
                        McpError::config(
                            name,
                            format!("`headers` has '{key}', which is not a header name"),
                            "use a name like Authorization",
                        )
                    })?;
                    if RESERVED_HEADERS.contains(&header.as_str())
                        || header.as_str().starts_with("mcp-")
                    {
                        return Err(McpError::config(
                            name,
                            format!("header '{key}' is set by the MCP transport itself"),
                            "remove it from `headers`",
                        ));
                    }
                    check_value(name, &format!("header {key}"), value)?;
                    match value {
                        ConfigValue::Plain(text) if HeaderValue::from_str(text).is_err() => {
                            return Err(McpError::config(
                                name,
                                format!("header '{key}' has characters a header cannot carry"),
                                "use printable ASCII",
                            ));
                        }
                        ConfigValue::Secret(_) if url.scheme() == "http" && !loopback => {
                            return Err(McpError::config(
                                name,
                                format!(
                                    "header '{key}' would send a secret in clear text to {}",
                                    h.url
                                ),
                                "use the server's https:// endpoint",
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// Server names prefix tool names (`<server>__<tool>`), so they must keep
/// that split unambiguous: `[a-z0-9_-]`, no `__`, a letter or digit at both
/// ends.
fn check_name(name: &str) -> Result<(), McpError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SERVER_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !name.contains("__")
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(McpError::config(
            name,
            "the name is not 1-32 characters of a-z, 0-9, '_' and '-' (no '__', a letter or digit at both ends)",
            "rename it, e.g. 'notes' or 'git-hub'; it prefixes the server's tool names",
        ))
    }
}

fn check_value(server: &str, place: &str, value: &ConfigValue) -> Result<(), McpError> {
    let ConfigValue::Secret(SecretRef { secret, .. }) = value else {
        return Ok(());
    };
    let prefix = format!("mcp/{server}/");
    let well_formed = secret.len() <= 64
        && secret
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
    if !secret.starts_with(&prefix) || secret.len() == prefix.len() || !well_formed {
        return Err(McpError::config(
            server,
            format!("{place} names the secret '{secret}'; a server may only use secrets named {prefix}<name>"),
            format!("store the value as e.g. {prefix}token (`pincer secrets set {prefix}token`) and name that"),
        ));
    }
    Ok(())
}

/// The config as written, before it is checked.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    servers: BTreeMap<String, serde_json::Value>,
}

/// One server's entry as written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, ConfigValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cwd: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transport: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, ConfigValue>,
}

impl TryFrom<RawConfig> for McpConfig {
    type Error = McpError;

    fn try_from(raw: RawConfig) -> Result<Self, McpError> {
        let mut servers = BTreeMap::new();
        for (name, value) in raw.servers {
            check_name(&name)?;
            let entry: RawServer = serde_json::from_value(value).map_err(|e| {
                McpError::config(&name, e.to_string(), "an entry takes command, args, env, cwd (stdio) or url, transport, headers (HTTP)")
            })?;
            servers.insert(name.clone(), entry.into_server(&name)?);
        }
        Self::new(servers)
    }
}

impl RawServer {
    fn into_server(self, name: &str) -> Result<ServerConfig, McpError> {
        let bad = |problem: &str, fix: &str| McpError::config(name, problem, fix);
        let transport = self.transport.as_deref();
        match (self.command, self.url) {
            (Some(_), Some(_)) => Err(bad(
                "it has both `command` and `url`",
                "keep `command` for a local program or `url` for a remote server",
            )),
            (None, None) => Err(bad(
                "it has neither `command` nor `url`",
                "add `command` (a program speaking MCP on stdio) or `url` (a streamable-http endpoint)",
            )),
            (Some(command), None) => {
                if !matches!(transport, None | Some("stdio")) || !self.headers.is_empty() {
                    return Err(bad(
                        "a `command` server takes no `headers` and no transport but \"stdio\"",
                        "remove them, or use `url` for an HTTP server",
                    ));
                }
                let (args, env, cwd) = (self.args, self.env, self.cwd);
                Ok(ServerConfig::Stdio(StdioServer { command, args, env, cwd }))
            }
            (None, Some(url)) => {
                if let Some(other) = transport.filter(|t| !matches!(*t, "streamable-http" | "http")) {
                    return Err(bad(
                        &format!("transport \"{other}\" is not supported"),
                        "use the server's streamable-http endpoint (\"transport\": \"streamable-http\")",
                    ));
                }
                if !self.args.is_empty() || !self.env.is_empty() || self.cwd.is_some() {
                    return Err(bad(
                        "a `url` server takes no `args`, `env` or `cwd`",
                        "remove them, or use `command` for a local program",
                    ));
                }
                let headers = self.headers;
                Ok(ServerConfig::Http(HttpServer { url, headers }))
            }
        }
    }
}

impl From<McpConfig> for RawConfig {
    fn from(config: McpConfig) -> Self {
        let servers = config
            .servers
            .into_iter()
            .map(|(name, server)| {
                let raw = match server {
                    ServerConfig::Stdio(s) => RawServer {
                        command: Some(s.command),
                        args: s.args,
                        env: s.env,
                        cwd: s.cwd,
                        ..RawServer::default()
                    },
                    ServerConfig::Http(h) => RawServer {
                        url: Some(h.url),
                        transport: Some("streamable-http".into()),
                        headers: h.headers,
                        ..RawServer::default()
                    },
                };
                (name, serde_json::to_value(raw).unwrap_or_default())
            })
            .collect();
        RawConfig { servers }
    }
}
