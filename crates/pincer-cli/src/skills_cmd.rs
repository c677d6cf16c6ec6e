//! `pincer skills …`: the skills found, their vetting, and the owner's
//! decision to enable (at the hash their files have now) or disable one.

use anyhow::Result;
use pincer_app::Maintenance;
use std::path::Path;

/// The skills subcommands.
#[derive(clap::Subcommand)]
pub enum SkillsCommand {
    /// List the skills found, where from, and whether each is usable.
    List,
    /// Show one skill's files, hash and what the vetting scan flagged.
    Vet {
        /// The skill's name.
        name: String,
    },
    /// Enable a skill at the hash its files have now (vet it first).
    Enable {
        /// The skill's name.
        name: String,
    },
    /// Disable a skill.
    Disable {
        /// The skill's name.
        name: String,
    },
}

/// Runs one skills subcommand.
pub fn run(data_dir: &Path, command: SkillsCommand) -> Result<()> {
    let admin = Maintenance::open(data_dir)?;
    match command {
        SkillsCommand::List => {
            let (skills, skipped, problems) = admin.skills();
            for skill in &skills {
                let note = skill.ineligible.as_deref().map(|why| format!(" (not here: {why})"));
                println!(
                    "{:<20} {:<9} {:<16} {} finding(s){}",
                    skill.name,
                    skill.state,
                    skill.source,
                    skill.findings.len(),
                    note.unwrap_or_default()
                );
            }
            if skills.is_empty() {
                println!("no skills found");
            }
            for skip in skipped {
                println!("skipped {}: {}", skip.path, skip.problem);
            }
            for problem in problems {
                println!("problem: {problem}");
            }
        }
        SkillsCommand::Vet { name } => {
            let (skills, skipped, _) = admin.skills();
            let Some(skill) = skills.into_iter().find(|s| s.name == name) else {
                if let Some(skip) = skipped.iter().find(|s| s.path.contains(&format!("/{name}/"))) {
                    anyhow::bail!("{}: {}", skip.path, skip.problem);
                }
                anyhow::bail!("there is no skill {name:?}; `pincer skills list` shows the skills found");
            };
            println!("{} ({}, {})\n{}", skill.name, skill.source, skill.state, skill.description);
            println!("location: {}\nsha256:   {}", skill.location, skill.sha256);
            println!("files:    {}", skill.files.join(", "));
            if !skill.allowed_tools.is_empty() {
                println!("asks for: {} (shown, never granted)", skill.allowed_tools.join(" "));
            }
            if skill.findings.is_empty() {
                println!("findings: none");
            }
            for finding in &skill.findings {
                println!("finding:  {} {}:{} {}", finding.kind, finding.file, finding.line, finding.excerpt);
            }
        }
        SkillsCommand::Enable { name } => {
            let skill = admin.set_skill_enabled(&name, true)?;
            println!("enabled {} at {}", skill.name, &skill.sha256[..12]);
        }
        SkillsCommand::Disable { name } => {
            let skill = admin.set_skill_enabled(&name, false)?;
            println!("disabled {}", skill.name);
        }
    }
    Ok(())
}
