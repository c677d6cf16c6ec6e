//! `pincer mcp …`: the MCP servers in the data folder's `mcp.json`
//! (OpenClaw's shape). A running Pincer starts them at its next start.

use anyhow::Result;
use pincer_app::{HttpServer, ServerConfig, StdioServer};
use std::path::{Path, PathBuf};

/// The mcp subcommands.
#[derive(clap::Subcommand)]
pub enum McpCommand {
    /// List the configured servers.
    List,
    /// Add (or replace) a server: a command run on stdio
    /// (`pincer mcp add notes -- notes-mcp --dir ~/notes`) or a URL.
    Add {
        /// Its name (its tools become `<name>__<tool>`).
        name: String,
        /// A streamable-HTTP endpoint instead of a command.
        #[arg(long, conflicts_with = "command")]
        url: Option<String>,
        /// The folder the command runs in.
        #[arg(long)]
        cwd: Option<PathBuf>,
        /// The command and its arguments, after `--`.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Remove a server.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Runs one mcp subcommand.
pub fn run(data_dir: &Path, command: McpCommand) -> Result<()> {
    match command {
        McpCommand::List => {
            let config = pincer_app::read_mcp_config(data_dir)?;
            if config.servers().is_empty() {
                println!("no MCP servers ({})", pincer_app::mcp_config_path(data_dir).display());
            }
            for (name, server) in config.servers() {
                match server {
                    ServerConfig::Stdio(s) => println!("{name:<16} stdio {} {}", s.command, s.args.join(" ")),
                    ServerConfig::Http(h) => println!("{name:<16} http  {}", h.url),
                }
            }
        }
        McpCommand::Add { name, url, cwd, command } => {
            let server = match (url, command.split_first()) {
                (Some(url), _) => ServerConfig::Http(HttpServer { url, headers: Default::default() }),
                (None, Some((program, args))) => ServerConfig::Stdio(StdioServer {
                    command: program.clone(),
                    args: args.to_vec(),
                    env: Default::default(),
                    cwd,
                }),
                (None, None) => anyhow::bail!(
                    "give the server's command after `--` (`pincer mcp add {name} -- <command> [args]`) or --url <endpoint>"
                ),
            };
            pincer_app::add_mcp_server(data_dir, &name, server)?;
            println!("added {name}; it starts with Pincer (restart a running one)");
        }
        McpCommand::Remove { name } => {
            if !pincer_app::remove_mcp_server(data_dir, &name)? {
                anyhow::bail!("no MCP server named {name}; `pincer mcp list` shows them");
            }
            println!("removed {name}");
        }
    }
    Ok(())
}
