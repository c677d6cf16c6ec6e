//! `pincer secrets …`: the vault by name. Values go in through stdin or a
//! hidden prompt, never as arguments (which other users can see in `ps`).

use anyhow::{Context, Result};
use pincer_app::{Maintenance, Secret};
use std::io::{IsTerminal, Read};
use std::path::Path;

/// The secrets subcommands.
#[derive(clap::Subcommand)]
pub enum SecretsCommand {
    /// Store a secret (e.g. `provider/openai`); the value is read from a
    /// hidden prompt, or from stdin when piped.
    Set {
        /// The secret's name: a-z, 0-9, '-', '_', '.', '/'.
        name: String,
    },
    /// List the secrets by name and use; values are never shown.
    List,
    /// Remove a secret.
    Delete {
        /// The secret's name.
        name: String,
    },
}

/// Runs one secrets subcommand.
pub fn run(data_dir: &Path, command: SecretsCommand) -> Result<()> {
    let admin = Maintenance::open(data_dir)?;
    match command {
        SecretsCommand::Set { name } => {
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!("value for {name} (hidden): "))
                    .context("reading the value")?
            } else {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the value from stdin")?;
                text.trim_end_matches(['\r', '\n']).to_string()
            };
            anyhow::ensure!(
                !value.is_empty(),
                "no value given for {name}; type it at the prompt or pipe it on stdin"
            );
            admin.set_secret(&name, &Secret::new(value))?;
            println!("stored {name} in the {:?} vault", admin.vault_backend());
        }
        SecretsCommand::List => {
            for info in admin.secrets()? {
                println!("{:<24} {}", info.name, info.purpose);
            }
        }
        SecretsCommand::Delete { name } => {
            if admin.delete_secret(&name)? {
                println!("deleted {name}");
            } else {
                anyhow::bail!("no secret named {name}; `pincer secrets list` shows them");
            }
        }
    }
    Ok(())
}
