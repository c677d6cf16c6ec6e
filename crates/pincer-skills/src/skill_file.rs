//! `SKILL.md`: YAML frontmatter between `---` lines, then the body. The
//! frontmatter follows the AgentSkills spec (`name` of `[a-z0-9-]` equal
//! to the folder's name, `description`, optional `license`,
//! `compatibility`, `metadata`, `allowed-tools`); OpenClaw's gating lives
//! in `metadata.openclaw`, which may also be written as a JSON string.

use crate::{Result, SkillError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The file that makes a folder a skill.
pub const SKILL_FILE: &str = "SKILL.md";
/// The longest `SKILL.md` read, in bytes.
const MAX_SKILL_BYTES: u64 = 256 * 1024;
/// The spec's limits.
const MAX_NAME: usize = 64;
const MAX_DESCRIPTION: usize = 1024;
const MAX_COMPATIBILITY: usize = 500;

/// A skill's frontmatter, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frontmatter {
    /// Its name (`[a-z0-9-]`, equal to its folder's name).
    pub name: String,
    /// What it is for and when to use it (goes into the catalog).
    pub description: String,
    /// Its licence, if it says.
    pub license: Option<String>,
    /// What it needs to work, in words.
    pub compatibility: Option<String>,
    /// Free-form metadata (OpenClaw's gating is `metadata.openclaw`).
    pub metadata: Value,
    /// The tools it says it wants: shown to the owner, never granted.
    pub allowed_tools: Vec<String>,
}

/// The frontmatter as written, before checking.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Written {
    name: Option<String>,
    description: Option<String>,
    license: Option<String>,
    compatibility: Option<String>,
    metadata: Option<Value>,
    allowed_tools: Option<ToolList>,
}

/// `allowed-tools` as the spec writes it (space separated) or as a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum ToolList {
    Spaced(String),
    Listed(Vec<String>),
}

/// Reads and checks the `SKILL.md` in `dir`: its frontmatter and its body.
pub fn parse_skill(dir: &Path) -> Result<(Frontmatter, String)> {
    let path = dir.join(SKILL_FILE);
    let malformed = |problem: String| SkillError::Malformed {
        path: path.clone(),
        problem,
    };
    let size = std::fs::metadata(&path)
        .map_err(|source| SkillError::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })?
        .len();
    if size > MAX_SKILL_BYTES {
        return Err(malformed(format!(
            "it is {size} bytes, over the {MAX_SKILL_BYTES} a skill may have; move reference material into other files of the skill"
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| SkillError::Io {
        context: format!("cannot read {} as UTF-8 text", path.display()),
        source,
    })?;
    let (yaml, body) = split(&text).ok_or_else(|| {
        malformed("it does not start with YAML frontmatter between `---` lines; add `---`, `name: …`, `description: …`, `---` at the top".into())
    })?;
    let written: Written = serde_saphyr::from_str(yaml)
        .map_err(|error| malformed(format!("its frontmatter is not valid YAML: {error}")))?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let front = check(written, folder).map_err(malformed)?;
    Ok((front, body.trim().to_string()))
}

/// The frontmatter and the body of `text`, when it has frontmatter.
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..at], &rest[at + line.len()..]));
        }
        at += line.len();
    }
    None
}

fn check(written: Written, folder: &str) -> std::result::Result<Frontmatter, String> {
    let name = written
        .name
        .ok_or("its frontmatter has no `name`; add one equal to the folder's name")?;
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || name.starts_with('-')
        || name.ends_with('-')
        || name.contains("--")
    {
        return Err(format!(
            "its name {name:?} is not 1 to {MAX_NAME} of a-z, 0-9 and single inner hyphens; rename it (and its folder)"
        ));
    }
    if name != folder {
        return Err(format!(
            "its name {name:?} differs from its folder {folder:?}; a skill's name is its folder's name"
        ));
    }
    let description = written
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .ok_or("its frontmatter has no `description`; say what the skill does and when to use it")?;
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "its description is over {MAX_DESCRIPTION} characters; shorten it (details belong in the body)"
        ));
    }
    if let Some(compatibility) = &written.compatibility {
        if compatibility.chars().count() > MAX_COMPATIBILITY {
            return Err(format!(
                "its compatibility is over {MAX_COMPATIBILITY} characters; shorten it"
            ));
        }
    }
    let metadata = match written.metadata {
        // OpenClaw writes `metadata` as one line of JSON.
        Some(Value::String(json)) => serde_json::from_str(&json)
            .map_err(|error| format!("its metadata is a string that is not JSON ({error})"))?,
        Some(value @ Value::Object(_)) | Some(value @ Value::Null) => value,
        Some(_) => return Err("its metadata is not a mapping".into()),
        None => Value::Null,
    };
    let allowed_tools = match written.allowed_tools {
        Some(ToolList::Spaced(text)) => text.split_whitespace().map(str::to_string).collect(),
        Some(ToolList::Listed(list)) => list,
        None => Vec::new(),
    };
    Ok(Frontmatter {
        name,
        description,
        license: written.license,
        compatibility: written.compatibility,
        metadata,
        allowed_tools,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(folder: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(folder);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(SKILL_FILE), text).unwrap();
        (root, dir)
    }

    #[test]
    fn reads_the_spec_fields_and_openclaw_json_metadata() {
        let (_root, dir) = skill(
            "git-inspect",
            "---\nname: git-inspect\ndescription: Look at a git repository.\nlicense: MIT\nallowed-tools: Bash(git:*) Read\nmetadata: '{\"openclaw\": {\"requires\": {\"bins\": [\"git\"]}}}'\n---\n\n# Steps\nRun git status.\n",
        );
        let (front, body) = parse_skill(&dir).unwrap();
        assert_eq!(front.name, "git-inspect");
        assert_eq!(front.license.as_deref(), Some("MIT"));
        assert_eq!(front.allowed_tools, ["Bash(git:*)", "Read"]);
        assert_eq!(front.metadata["openclaw"]["requires"]["bins"][0], "git");
        assert_eq!(body, "# Steps\nRun git status.");
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            ("a", "no frontmatter here", "does not start with YAML frontmatter"),
            ("a", "---\ndescription: x\n---\n", "has no `name`"),
            ("b", "---\nname: a\ndescription: x\n---\n", "differs from its folder"),
            ("Bad", "---\nname: Bad\ndescription: x\n---\n", "is not 1 to 64"),
            ("a", "---\nname: a\n---\nbody", "has no `description`"),
            ("a", "---\nname: [a\n---\n", "not valid YAML"),
            ("a", "---\nname: a\ndescription: x\nmetadata: 3\n---\n", "metadata is not a mapping"),
        ];
        for (folder, text, expected) in cases {
            let (_root, dir) = skill(folder, text);
            let error = parse_skill(&dir).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.contains("SKILL.md"), "{error}");
        }
    }
}
