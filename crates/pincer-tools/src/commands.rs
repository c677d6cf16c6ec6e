//! `run_command`: a shell command in the sandbox, with no network, the
//! system read only, a scratch folder of its own, the granted places (read
//! only, or writable where they are) and a time and output budget.

use crate::{Effect, Places, Result, ToolError, ToolSpec};
use pincer_sandbox::{Budget, Job, Sandbox};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// The longest a command may be given, in seconds.
const MOST_SECONDS: u64 = 300;

/// The command tool's spec.
pub fn command_tool() -> ToolSpec {
    ToolSpec {
        name: "run_command".into(),
        description: "Run a shell command (sh -c) in a sandbox: no network, the system read only, the workspace and granted folders visible, a scratch folder as the working directory. With `skill`, it runs on behalf of that enabled skill and sees only the skill's own folder (read only) besides the scratch folder. Returns its exit code and output.".into(),
        effect: Effect::Exec,
        parameters: json!({"type": "object", "additionalProperties": false, "required": ["command"], "properties": {
            "command": {"type": "string", "minLength": 1, "description": "the shell command"},
            "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": MOST_SECONDS},
            "skill": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$", "description": "run a script of this skill (its folder is the `location` use_skill gave)"}}}),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandArgs {
    command: String,
    timeout_seconds: Option<u64>,
    /// Checked here; the caller gives a skill's command its own places.
    skill: Option<String>,
}

/// The skill a `run_command` call runs as, if it names one: the caller
/// runs it with [`Places`] of that skill's folder alone.
pub fn command_skill(arguments: &Value) -> Option<&str> {
    arguments.get("skill").and_then(Value::as_str)
}

/// Checks a `run_command` call's arguments (before the gate asks about it).
pub fn check_command(arguments: &Value) -> Result<()> {
    parse(arguments.clone()).map(|_| ())
}

fn parse(arguments: Value) -> Result<CommandArgs> {
    let args: CommandArgs = serde_json::from_value(arguments)
        .map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
    if args.command.trim().is_empty() {
        return Err(ToolError::InvalidArguments("the command is empty".into()));
    }
    if let Some(skill) = &args.skill {
        let fits = !skill.is_empty()
            && skill.len() <= 64
            && skill.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !fits {
            return Err(ToolError::InvalidArguments(format!(
                "`{skill}` is not a skill name (lowercase letters, digits and -)"
            )));
        }
    }
    if args
        .timeout_seconds
        .is_some_and(|t| t == 0 || t > MOST_SECONDS)
    {
        return Err(ToolError::InvalidArguments(format!(
            "timeout_seconds must be 1 to {MOST_SECONDS}"
        )));
    }
    Ok(args)
}

/// Runs the command in `sandbox`, starting in a fresh scratch folder that
/// is removed afterwards; `budget` is the default the call may shorten or
/// lengthen within [`MOST_SECONDS`]. Dropping the future kills the command.
pub async fn run_command(
    sandbox: &Sandbox,
    places: &Places,
    arguments: Value,
    budget: Budget,
) -> Result<Value> {
    let args = parse(arguments)?;
    let scratch = tempfile::Builder::new()
        .prefix("pincer-command-")
        .tempdir()
        .map_err(|e| ToolError::Failed(format!("making the command's scratch folder: {e}")))?;
    let (writable, read_only): (Vec<_>, Vec<_>) =
        places.list().iter().partition(|place| place.writable);
    let job = Job {
        program: "sh".into(),
        args: vec!["-c".into(), args.command],
        scratch: scratch.path().to_path_buf(),
        read_only: read_only.into_iter().map(|p| p.root.clone()).collect(),
        writable: writable.into_iter().map(|p| p.root.clone()).collect(),
        env: Vec::new(),
        budget: Budget {
            time: args
                .timeout_seconds
                .map_or(budget.time, Duration::from_secs),
            ..budget
        },
    };
    let finished = sandbox
        .run(&job)
        .await
        .map_err(|e| ToolError::Failed(e.to_string()))?;
    Ok(json!({
        "exit_code": finished.exit_code,
        "stdout": finished.stdout,
        "stderr": finished.stderr,
        "truncated": finished.truncated,
        "timed_out": finished.timed_out,
        "took_ms": finished.took_ms,
    }))
}
