//! `use_skill`: the model loads an enabled skill's instructions when one
//! fits the request (the catalog in the system prompt lists them). Only a
//! skill the owner enabled at its pinned hash loads; its text is the
//! owner's vetted instructions, so it is not fenced as outside data, and it
//! grants nothing: every call it leads to goes through the gate.

use pincer_skills::SkillLibrary;
use pincer_tools::{Effect, ToolError, ToolSpec};
use serde_json::{json, Value};

/// The tool's name.
pub(crate) const USE_SKILL: &str = "use_skill";

/// Its spec.
pub(crate) fn spec() -> ToolSpec {
    ToolSpec {
        name: USE_SKILL.into(),
        description: "Load the instructions of one of the available skills (listed in the system prompt) by its name, then follow them.".into(),
        effect: Effect::Read,
        parameters: json!({"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$", "description": "the skill's name"}}}),
    }
}

/// The skill's name in a checked call.
pub(crate) fn check(arguments: &Value) -> Result<&str, ToolError> {
    let object = arguments
        .as_object()
        .ok_or_else(|| ToolError::InvalidArguments("expected an object with `name`".into()))?;
    if let Some(extra) = object.keys().find(|k| *k != "name") {
        return Err(ToolError::InvalidArguments(format!(
            "unknown field `{extra}`, expected `name`"
        )));
    }
    object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidArguments("missing field `name`".into()))
}

/// Loads the skill: its instructions, where it is and its other files.
pub(crate) fn run(skills: &SkillLibrary, arguments: &Value) -> Result<Value, ToolError> {
    let name = check(arguments)?;
    let skill = skills.activate(name).map_err(|e| match e {
        pincer_skills::SkillError::Unknown(_) => ToolError::NotFound(e.to_string()),
        other => ToolError::Refused(other.to_string()),
    })?;
    Ok(json!({
        "skill": skill.name(),
        "location": skill.file().display().to_string(),
        "files": skill.vetting.files,
        "instructions": skill.body,
    }))
}

/// The loaded skill as the model sees it: the owner's instructions, in a
/// tag its text cannot close.
pub(crate) fn wrap(text: &str) -> String {
    let text = text.replace("</skill", "<\\/skill");
    format!("<skill>\n{text}\n</skill>")
}
