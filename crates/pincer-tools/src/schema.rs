//! A call's arguments checked against the JSON schema its tool declared
//! (MCP tools bring their own), so a call that does not fit goes back to
//! the model as an error naming what is wrong, before the gate weighs it.

use crate::{Result, ToolError};
use serde_json::Value;

/// The most problems named in one error.
const MOST_PROBLEMS: usize = 5;

/// Whether `schema` can check anything at all (a tool whose schema does not
/// compile is not offered); the reason when it cannot.
pub fn usable_schema(schema: &Value) -> std::result::Result<(), String> {
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks `arguments` against `schema`.
pub fn check_against_schema(schema: &Value, arguments: &Value) -> Result<()> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        ToolError::InvalidArguments(format!("the tool's own schema is unusable ({e})"))
    })?;
    let problems: Vec<String> = validator
        .iter_errors(arguments)
        .take(MOST_PROBLEMS)
        .map(|error| {
            let at = error.instance_path().to_string();
            match at.is_empty() {
                true => error.to_string(),
                false => format!("at {at}: {error}"),
            }
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ToolError::InvalidArguments(problems.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_problem_of_a_call() {
        let schema = json!({"type": "object", "required": ["title"], "additionalProperties": false,
            "properties": {"title": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}}});
        assert!(check_against_schema(&schema, &json!({"title": "a", "limit": 2})).is_ok());
        let error = check_against_schema(&schema, &json!({"limit": 0, "x": 1})).unwrap_err().to_string();
        assert!(error.contains("\"title\" is a required property"), "{error}");
        assert!(error.contains("/limit"), "{error}");
        assert!(usable_schema(&json!({"type": "nonsense"})).is_err());
    }
}
