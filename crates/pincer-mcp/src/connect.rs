//! Starting one server: the child process or the HTTP connection, the MCP
//! handshake, and its tool list, each bounded by the start timeout.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{ClientInitializeError, RoleClient, RunningService, ServiceError};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio::task::JoinHandle;

use crate::config::{ConfigValue, HttpServer, SecretRef, ServerConfig, StdioServer};
use crate::McpTool;

/// Looks a vault secret up by name; the caller owns the vault.
pub(crate) type Secrets = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// A connected MCP client session.
pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

/// The environment a child gets from Pincer's own: enough to run, nothing
/// that could carry a secret (the vault's env fallback lives in `PINCER_*`).
#[cfg(not(windows))]
const INHERITED_ENV: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR",
    "TZ",
];
#[cfg(windows)]
const INHERITED_ENV: &[&str] = &[
    "APPDATA",
    "HOMEDRIVE",
    "HOMEPATH",
    "LOCALAPPDATA",
    "PATH",
    "PATHEXT",
    "PROCESSOR_ARCHITECTURE",
    "SYSTEMDRIVE",
    "SYSTEMROOT",
    "TEMP",
    "TMP",
    "USERNAME",
    "USERPROFILE",
    "PROGRAMFILES",
];
/// How many of a child's last stderr lines are kept for its status.
const STDERR_LINES: usize = 6;

/// A started server.
pub(crate) struct Connected {
    pub client: Client,
    pub tools: Vec<McpTool>,
    pub stderr: Option<StderrTail>,
}

/// Why a start failed, and whether trying again could help.
#[derive(Debug)]
pub(crate) struct StartError {
    pub reason: String,
    /// Nothing changes without the owner (a missing program or secret).
    pub permanent: bool,
}

impl StartError {
    fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }
    fn transient(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
        }
    }
}

/// Starts `config` as server `name`, completes the MCP handshake and lists
/// its tools.
pub(crate) async fn connect(
    name: &str,
    config: &ServerConfig,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<Connected, StartError> {
    match config {
        ServerConfig::Stdio(server) => {
            let (transport, stderr) = spawn(name, server, secrets)?;
            let stderr = stderr.map(StderrTail::collect(name));
            match handshake(name, transport, timeout).await {
                Ok((client, tools)) => Ok(Connected {
                    client,
                    tools,
                    stderr,
                }),
                Err(mut e) => {
                    if let Some(tail) = stderr {
                        e.reason.push_str(&tail.finish().await);
                    }
                    Err(e)
                }
            }
        }
        ServerConfig::Http(server) => {
            let transport = http_transport(name, server, secrets)?;
            let (client, tools) = handshake(name, transport, timeout).await?;
            Ok(Connected {
                client,
                tools,
                stderr: None,
            })
        }
    }
}

fn spawn(
    name: &str,
    server: &StdioServer,
    secrets: &Secrets,
) -> Result<(TokioChildProcess, Option<ChildStderr>), StartError> {
    let mut command = Command::new(&server.command);
    command.args(&server.args).env_clear().kill_on_drop(true);
    for key in INHERITED_ENV {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    for (key, value) in &server.env {
        command.env(key, resolve(name, &format!("env {key}"), value, secrets)?.0);
    }
    if let Some(cwd) = &server.cwd {
        if !cwd.is_dir() {
            return Err(StartError::permanent(format!(
                "its working folder {} does not exist; create it or fix mcp.servers.{name}.cwd",
                cwd.display()
            )));
        }
        command.current_dir(cwd);
    }
    TokioChildProcess::builder(command).stderr(Stdio::piped()).spawn().map_err(|e| {
        let program = &server.command;
        match e.kind() {
            std::io::ErrorKind::NotFound => StartError::permanent(format!(
                "the command '{program}' was not found; install it, or set mcp.servers.{name}.command to its full path"
            )),
            std::io::ErrorKind::PermissionDenied => StartError::permanent(format!(
                "the command '{program}' may not be run (permission denied); make it executable or fix mcp.servers.{name}.command"
            )),
            _ => StartError::transient(format!("the command '{program}' could not be started: {e}")),
        }
    })
}

fn http_transport(
    name: &str,
    server: &HttpServer,
    secrets: &Secrets,
) -> Result<StreamableHttpClientTransport<reqwest::Client>, StartError> {
    let mut headers = HashMap::new();
    for (key, value) in &server.headers {
        let place = format!("header {key}");
        let (text, secret) = resolve(name, &place, value, secrets)?;
        let mut header = HeaderValue::from_str(&text).map_err(|_| {
            StartError::permanent(format!("the value for {place} has characters a header cannot carry; store it again without them"))
        })?;
        header.set_sensitive(secret);
        let key = HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
            StartError::permanent(format!(
                "'{key}' is not a header name; fix mcp.servers.{name}.headers"
            ))
        })?;
        headers.insert(key, header);
    }
    let config =
        StreamableHttpClientTransportConfig::with_uri(server.url.as_str()).custom_headers(headers);
    Ok(StreamableHttpClientTransport::from_config(config))
}

/// A config value as text, and whether it came from the vault.
fn resolve(
    name: &str,
    place: &str,
    value: &ConfigValue,
    secrets: &Secrets,
) -> Result<(String, bool), StartError> {
    match value {
        ConfigValue::Plain(text) => Ok((text.clone(), false)),
        ConfigValue::Secret(SecretRef { secret, prefix }) => match secrets(secret) {
            Some(value) => Ok((format!("{}{value}", prefix.as_deref().unwrap_or_default()), true)),
            None => Err(StartError::permanent(format!(
                "{place} needs the secret '{secret}', which the vault does not hold; store it with `pincer secrets set {secret}` (server '{name}')"
            ))),
        },
    }
}

async fn handshake<T, E, A>(
    name: &str,
    transport: T,
    timeout: Duration,
) -> Result<(Client, Vec<McpTool>), StartError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("pincer", env!("CARGO_PKG_VERSION")),
    );
    let client = match tokio::time::timeout_at(deadline, info.serve(transport)).await {
        Err(_) => {
            return Err(StartError::transient(format!(
                "it did not complete the MCP handshake within {} s; check that it speaks MCP (JSON-RPC) and nothing else on its output",
                timeout.as_secs_f32()
            )))
        }
        Ok(Err(e)) if e.is_authorization_required() => {
            return Err(StartError::permanent(format!(
                "it refused the credentials ({}); check the token in mcp.servers.{name}.headers",
                init_error(&e)
            )))
        }
        Ok(Err(e)) => return Err(StartError::transient(format!("the MCP handshake failed: {}", init_error(&e)))),
        Ok(Ok(client)) => client,
    };
    let tools = match tokio::time::timeout_at(deadline, client.list_all_tools()).await {
        Err(_) => {
            return Err(StartError::transient(format!(
                "it did not list its tools within {} s",
                timeout.as_secs_f32()
            )))
        }
        Ok(Err(e)) => {
            return Err(StartError::transient(format!(
                "listing its tools failed: {}",
                service_error(&e)
            )))
        }
        Ok(Ok(tools)) => tools,
    };
    let tools = tools
        .into_iter()
        .map(|tool| McpTool::from_rmcp(name, tool))
        .collect();
    Ok((client, tools))
}

/// A handshake error without the SDK's transport type names.
fn init_error(e: &ClientInitializeError) -> String {
    match e {
        ClientInitializeError::TransportError { error, context } => {
            format!("{} ({context})", error.error)
        }
        other => other.to_string(),
    }
}

/// A request error without the SDK's transport type names.
pub(crate) fn service_error(e: &ServiceError) -> String {
    match e {
        ServiceError::TransportSend(error) => error.error.to_string(),
        other => other.to_string(),
    }
}

/// The last lines a child wrote on stderr, logged as they come and kept
/// so a status can say why the child died.
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    reader: JoinHandle<()>,
}

impl StderrTail {
    fn collect(name: &str) -> impl FnOnce(ChildStderr) -> StderrTail {
        let name = name.to_string();
        move |stderr| {
            let lines = Arc::new(Mutex::new(VecDeque::new()));
            let kept = lines.clone();
            let reader = tokio::spawn(async move {
                let mut reader = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    tracing::debug!(server = %name, "{line}");
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() == STDERR_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line.chars().take(300).collect());
                }
            });
            StderrTail { lines, reader }
        }
    }

    /// Waits briefly for the child's stderr to end, then gives its last
    /// lines as a clause to add to a reason (empty when there were none).
    pub(crate) async fn finish(mut self) -> String {
        if tokio::time::timeout(Duration::from_millis(500), &mut self.reader)
            .await
            .is_err()
        {
            self.reader.abort();
        }
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.is_empty() {
            String::new()
        } else {
            format!(
                "; its last words on stderr: {}",
                lines
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        }
    }
}
