//! Tools on the way in: definitions checked and handed to mistral.rs (which
//! puts them into the model's chat template), `tool_choice` `required` or a
//! named tool turned into a grammar the decoder must follow, and past calls
//! replayed as the text the template expects.

use crate::tool_text::call_text;
use crate::types::{ChatMessage, Role, ToolChoice, ToolDefinition};
use crate::{InferenceError, Result};
use mistralrs::{Constraint, Function, Tool, ToolType};
use serde_json::{json, Value};

/// Checks the definitions: a name of letters, digits, `_` and `-`, unique,
/// and an object schema for the arguments.
pub(crate) fn check_tools(tools: &[ToolDefinition], choice: &ToolChoice) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for tool in tools {
        let name = &tool.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(InferenceError::InvalidRequest(format!(
                "the tool name `{name}` is not usable: use 1 to 64 letters, digits, `_` or `-`"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(InferenceError::InvalidRequest(format!(
                "the tool `{name}` is defined twice; give each tool one definition"
            )));
        }
        let schema = &tool.parameters;
        let is_object = schema.as_object().is_some_and(|o| {
            o.get("type").is_none_or(|t| t == "object")
                && o.get("properties").is_none_or(Value::is_object)
        });
        if !is_object {
            return Err(InferenceError::InvalidRequest(format!(
                "the parameters of tool `{name}` are not a usable JSON schema: they must be an object schema (`{{\"type\": \"object\", \"properties\": {{…}}}}`)"
            )));
        }
    }
    if let ToolChoice::Named(name) = choice {
        if !tools.iter().any(|t| &t.name == name) {
            return Err(InferenceError::InvalidRequest(format!(
                "tool_choice names `{name}`, which is not among the tools sent"
            )));
        }
    }
    if matches!(choice, ToolChoice::Required | ToolChoice::Named(_)) && tools.is_empty() {
        return Err(InferenceError::InvalidRequest(
            "tool_choice asks for a tool call but no tools were sent".into(),
        ));
    }
    Ok(())
}

/// The definitions as mistral.rs takes them.
pub(crate) fn mistral_tools(tools: &[ToolDefinition]) -> Vec<Tool> {
    tools
        .iter()
        .map(|tool| Tool {
            tp: ToolType::Function,
            function: Function {
                name: tool.name.clone(),
                description: Some(tool.description.clone()),
                parameters: tool
                    .parameters
                    .as_object()
                    .map(|o| o.clone().into_iter().collect()),
            },
        })
        .collect()
}

/// The grammar that makes decoding produce one call, for `required` or a
/// named tool; `None` when the model may answer in text.
pub(crate) fn call_constraint(tools: &[ToolDefinition], choice: &ToolChoice) -> Option<Constraint> {
    let candidates: Vec<&ToolDefinition> = match choice {
        ToolChoice::Auto | ToolChoice::None => return None,
        ToolChoice::Required => tools.iter().collect(),
        ToolChoice::Named(name) => tools.iter().filter(|t| &t.name == name).collect(),
    };
    let shapes: Vec<Value> = candidates
        .iter()
        .map(|tool| {
            json!({
                "type": "object",
                "properties": {
                    "name": {"const": tool.name},
                    "arguments": tool.parameters,
                },
                "required": ["name", "arguments"],
                "additionalProperties": false,
            })
        })
        .collect();
    let mut schema = match shapes.len() {
        1 => shapes.into_iter().next().unwrap_or_default(),
        _ => json!({ "anyOf": shapes }),
    };
    // Compact JSON: free whitespace would let a weak model pad for ever.
    schema["x-guidance"] = json!({"whitespace_flexible": false});
    Some(Constraint::Lark(format!(
        "start: \"<tool_call>\\n\" call \"\\n</tool_call>\"\ncall: %json {schema}\n"
    )))
}

/// A message's text as the model's template should see it: an assistant's
/// calls follow its text as call text (mistral.rs stores calls under a key
/// Qwen3's template does not read).
pub(crate) fn template_content(message: &ChatMessage) -> String {
    if message.role != Role::Assistant || message.tool_calls.is_empty() {
        return message.content.clone();
    }
    let calls: Vec<String> = message
        .tool_calls
        .iter()
        .map(|call| call_text(&call.name, &call.arguments))
        .collect();
    let mut text = message.content.trim_end().to_string();
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&calls.join("\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, parameters: Value) -> ToolDefinition {
        ToolDefinition {
            name: name.into(),
            description: "d".into(),
            parameters,
        }
    }

    #[test]
    fn unusable_definitions_are_named() {
        let good = json!({"type": "object", "properties": {}});
        for (tools, choice, needle) in [
            (
                vec![tool("bad name", good.clone())],
                ToolChoice::Auto,
                "bad name",
            ),
            (
                vec![tool("a", json!({"type": "string"}))],
                ToolChoice::Auto,
                "tool `a`",
            ),
            (
                vec![tool("a", good.clone()), tool("a", good.clone())],
                ToolChoice::Auto,
                "twice",
            ),
            (
                vec![tool("a", good.clone())],
                ToolChoice::Named("b".into()),
                "`b`",
            ),
            (vec![], ToolChoice::Required, "no tools"),
        ] {
            let error = check_tools(&tools, &choice).unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
        assert!(check_tools(&[tool("read_file", good)], &ToolChoice::Required).is_ok());
    }

    #[test]
    fn a_named_choice_constrains_to_that_tool_only() {
        let tools = [
            tool("a", json!({"type": "object"})),
            tool("b", json!({"type": "object"})),
        ];
        assert!(call_constraint(&tools, &ToolChoice::Auto).is_none());
        let Some(Constraint::Lark(grammar)) =
            call_constraint(&tools, &ToolChoice::Named("b".into()))
        else {
            panic!("a grammar");
        };
        assert!(
            grammar.contains(r#""const":"b""#) && !grammar.contains(r#""const":"a""#),
            "{grammar}"
        );
    }
}
