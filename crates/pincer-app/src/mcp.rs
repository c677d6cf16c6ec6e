//! The MCP servers of this data folder: `mcp.json` in OpenClaw's shape
//! (`{"servers": {"<name>": {"command", "args", "env", "cwd"} | {"url",
//! "headers"}}}`, or a whole `openclaw.json` with its `mcp` section), the
//! hub that runs them with secrets from the vault, and every server's
//! start, failure and restart in the audit log. A bad file is reported and
//! runs no server; it never stops the app. Changes apply at the next start.

use crate::{AppError, Result};
use pincer_mcp::{McpConfig, McpHub, McpServerStatus, ServerConfig};
use pincer_trust::{Action, Actor, Trust};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The MCP config file in `data_dir`.
pub fn mcp_config_path(data_dir: &Path) -> PathBuf {
    data_dir.join("mcp.json")
}

/// Reads `data_dir`'s MCP config (no file: no servers).
pub fn read_mcp_config(data_dir: &Path) -> Result<McpConfig> {
    let path = mcp_config_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
        Err(source) => {
            return Err(AppError::Io {
                context: format!("cannot read {}", path.display()),
                source,
            })
        }
    };
    let bad = |problem: String| {
        AppError::InvalidInput(format!(
            "{} is not usable: {problem}; fix it or run `pincer mcp remove <name>`",
            path.display()
        ))
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    // A whole openclaw.json keeps its servers under `mcp`.
    let section = match value.get("mcp") {
        Some(mcp) => mcp.clone(),
        None => value,
    };
    McpConfig::from_json(section).map_err(|e| bad(e.to_string()))
}

fn empty() -> McpConfig {
    McpConfig::new(Default::default()).expect("no servers is a valid config")
}

/// Saves `config` as `data_dir`'s MCP config, atomically.
pub fn write_mcp_config(data_dir: &Path, config: &McpConfig) -> Result<()> {
    let path = mcp_config_path(data_dir);
    let io = |source| AppError::Io {
        context: format!("cannot save {}", path.display()),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut file = tempfile::NamedTempFile::new_in(data_dir).map_err(io)?;
    serde_json::to_writer_pretty(&mut file, config).map_err(|e| io(e.into()))?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Adds (or replaces) one server in `data_dir`'s config.
pub fn add_mcp_server(data_dir: &Path, name: &str, server: ServerConfig) -> Result<McpConfig> {
    let mut servers = read_mcp_config(data_dir)?.servers().clone();
    servers.insert(name.to_string(), server);
    let config = McpConfig::new(servers).map_err(|e| AppError::InvalidInput(e.to_string()))?;
    write_mcp_config(data_dir, &config)?;
    Ok(config)
}

/// Removes one server; `false` when there was none of that name.
pub fn remove_mcp_server(data_dir: &Path, name: &str) -> Result<bool> {
    let mut servers = read_mcp_config(data_dir)?.servers().clone();
    if servers.remove(name).is_none() {
        return Ok(false);
    }
    let config = McpConfig::new(servers).map_err(|e| AppError::InvalidInput(e.to_string()))?;
    write_mcp_config(data_dir, &config)?;
    Ok(true)
}

/// Starts the configured servers in the background; `None` without any.
/// The problem with the config, if any, is returned for the UI.
pub(crate) fn start_hub(data_dir: &Path, trust: &Arc<Trust>) -> (Option<Arc<McpHub>>, Option<String>) {
    let config = match read_mcp_config(data_dir) {
        Ok(config) if config.servers().is_empty() => return (None, None),
        Ok(config) => config,
        Err(error) => {
            tracing::warn!(%error, "no MCP server runs");
            return (None, Some(error.to_string()));
        }
    };
    let secrets = Arc::clone(trust);
    let audit = Arc::clone(trust);
    let hub = McpHub::builder(config)
        .secrets(move |name| {
            let secret = secrets.vault().get(name).ok().flatten()?;
            secrets.note(Actor::System, Action::SecretUse, name, "mcp", json!({}));
            Some(secret.expose().to_string())
        })
        .on_event(move |event| {
            // A first start is not news; every later state is.
            if event.status == McpServerStatus::Starting {
                return;
            }
            audit.note(
                Actor::System,
                Action::McpServer,
                &event.server,
                event.status.state(),
                json!({"status": event.status.to_string()}),
            );
        })
        .spawn();
    (Some(Arc::new(hub)), None)
}
