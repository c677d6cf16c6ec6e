//! Tool calls in the model's text: the Qwen / Hermes form that Qwen3's chat
//! template asks for, `<tool_call>{"name": …, "arguments": {…}}</tool_call>`,
//! any number of them in one answer.
//!
//! mistral.rs has its own parser, but it reads only the first call, stops
//! sampling once one is complete and hands an unparsable call back as plain
//! text; Pincer asks it for no parsing (`ToolChoice::None`, so the tools
//! still reach the template) and scans the stream here instead, token by
//! token, so every token keeps its log-probability for training and a bad
//! call is named as one.

use crate::types::{GenerationEvent, TokenLogprob, ToolCall};
use serde_json::Value;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

type Piece = (String, Option<TokenLogprob>);

/// Splits generated text into the answer's content, call text and calls.
#[derive(Debug, Default)]
pub(crate) struct ToolCallScanner {
    /// Outside a call: tokens that may be the start of `<tool_call>`.
    pending: Vec<Piece>,
    /// Inside a call: its text so far, from the opening tag.
    call: Option<String>,
    /// Calls parsed so far.
    calls: usize,
}

impl ToolCallScanner {
    /// Whether the answer made at least one well-formed call.
    pub(crate) fn made_calls(&self) -> bool {
        self.calls > 0
    }

    /// Takes one piece of generated text (usually one token).
    pub(crate) fn push(
        &mut self,
        text: String,
        logprob: Option<TokenLogprob>,
    ) -> Vec<GenerationEvent> {
        let mut events = Vec::new();
        self.take(text, logprob, &mut events);
        events
    }

    fn take(
        &mut self,
        text: String,
        logprob: Option<TokenLogprob>,
        events: &mut Vec<GenerationEvent>,
    ) {
        if let Some(call) = &mut self.call {
            let before = call.len();
            call.push_str(&text);
            let Some(at) = call.find(CLOSE) else {
                events.push(GenerationEvent::CallText { text, logprob });
                return;
            };
            // The piece may run past the closing tag: what follows is the
            // answer's again.
            let end = at + CLOSE.len();
            let inside = end.saturating_sub(before).min(text.len());
            let (mine, rest) = text.split_at(inside);
            let whole = call[..end].to_string();
            self.call = None;
            events.push(GenerationEvent::CallText {
                text: mine.to_string(),
                logprob,
            });
            events.push(self.parse(&whole));
            if !rest.is_empty() {
                self.take(rest.to_string(), None, events);
            }
            return;
        }
        self.pending.push((text, logprob));
        let joined: String = self.pending.iter().map(|(t, _)| t.as_str()).collect();
        if let Some(at) = joined.find(OPEN) {
            // Tokens before the tag are content; the one holding its start
            // is split, and the rest goes to the call.
            let pieces = std::mem::take(&mut self.pending);
            let mut offset = 0;
            let mut after: Vec<Piece> = Vec::new();
            for (text, logprob) in pieces {
                let end = offset + text.len();
                if end <= at {
                    events.push(GenerationEvent::Delta { text, logprob });
                } else if offset < at {
                    let (head, tail) = text.split_at(at - offset);
                    events.push(GenerationEvent::Delta {
                        text: head.to_string(),
                        logprob: None,
                    });
                    after.push((tail.to_string(), logprob));
                } else {
                    after.push((text, logprob));
                }
                offset = end;
            }
            self.call = Some(String::new());
            for (text, logprob) in after {
                self.take(text, logprob, events);
            }
            return;
        }
        // Keep back only tokens that may still grow into the tag.
        let keep_from = joined.len() - longest_tag_prefix_suffix(&joined);
        let mut offset = 0;
        let mut kept = Vec::new();
        for (text, logprob) in std::mem::take(&mut self.pending) {
            let end = offset + text.len();
            if end <= keep_from {
                events.push(GenerationEvent::Delta { text, logprob });
            } else {
                kept.push((text, logprob));
            }
            offset = end;
        }
        self.pending = kept;
    }

    /// At the end of the answer: held text is content, an open call is malformed.
    pub(crate) fn finish(&mut self) -> Vec<GenerationEvent> {
        let mut events: Vec<GenerationEvent> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(text, logprob)| GenerationEvent::Delta { text, logprob })
            .collect();
        if let Some(call) = self.call.take() {
            events.push(GenerationEvent::MalformedToolCall {
                text: call,
                problem: format!("the call was not closed with {CLOSE}"),
            });
        }
        events
    }

    fn parse(&mut self, whole: &str) -> GenerationEvent {
        let inner = &whole[OPEN.len()..whole.len() - CLOSE.len()];
        match parse_call(inner) {
            Ok((name, arguments)) => {
                self.calls += 1;
                GenerationEvent::ToolCall(ToolCall {
                    id: new_call_id(),
                    name,
                    arguments,
                })
            }
            Err(problem) => GenerationEvent::MalformedToolCall {
                text: whole.to_string(),
                problem,
            },
        }
    }
}

/// The name and the arguments (as compact JSON) of one call's JSON body.
pub(crate) fn parse_call(inner: &str) -> Result<(String, String), String> {
    let value: Value = serde_json::from_str(inner.trim()).map_err(|e| {
        format!("the call is not valid JSON ({e}); write {{\"name\": …, \"arguments\": {{…}}}}")
    })?;
    let Value::Object(mut object) = value else {
        return Err("the call must be a JSON object with \"name\" and \"arguments\"".into());
    };
    let name = match object.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        _ => return Err("the call has no \"name\" naming the tool".into()),
    };
    let arguments = match object
        .remove("arguments")
        .or_else(|| object.remove("parameters"))
    {
        None => Value::Object(Default::default()),
        // Some models write the arguments as a JSON string.
        Some(Value::String(text)) => serde_json::from_str(&text).map_err(|e| {
            format!("the arguments of `{name}` are a string that is not JSON ({e})")
        })?,
        Some(other) => other,
    };
    if !arguments.is_object() {
        return Err(format!("the arguments of `{name}` must be a JSON object"));
    }
    Ok((name, arguments.to_string()))
}

/// The text a call is replayed as in the conversation, as Qwen3's template
/// renders an assistant's `tool_calls`.
pub fn call_text(name: &str, arguments: &str) -> String {
    let arguments: Value =
        serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()));
    format!(
        "{OPEN}\n{}\n{CLOSE}",
        serde_json::json!({ "name": name, "arguments": arguments })
    )
}

fn new_call_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let id: String = (0..24)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect();
    format!("call_{id}")
}

/// How many trailing bytes of `text` are a proper start of the opening tag.
fn longest_tag_prefix_suffix(text: &str) -> usize {
    (1..OPEN.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && OPEN.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(pieces: &[&str]) -> Vec<GenerationEvent> {
        let mut scanner = ToolCallScanner::default();
        let mut events: Vec<GenerationEvent> = pieces
            .iter()
            .flat_map(|p| scanner.push(p.to_string(), None))
            .collect();
        events.extend(scanner.finish());
        events
    }

    fn content(events: &[GenerationEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                GenerationEvent::Delta { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn calls(events: &[GenerationEvent]) -> Vec<(String, String)> {
        events
            .iter()
            .filter_map(|e| match e {
                GenerationEvent::ToolCall(call) => {
                    Some((call.name.clone(), call.arguments.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_text_passes_through_whole() {
        let events = scan(&["Hello", " <", "b>", " and < tool"]);
        assert_eq!(content(&events), "Hello <b> and < tool");
        assert!(calls(&events).is_empty());
    }

    #[test]
    fn a_call_split_over_tokens_is_parsed_and_kept_out_of_the_content() {
        let events = scan(&[
            "Let me look.",
            "<tool",
            "_call>\n{\"name\": \"read_file\", ",
            "\"arguments\": {\"path\": \"a.md\"}}\n</tool_",
            "call>",
        ]);
        assert_eq!(content(&events), "Let me look.");
        assert_eq!(
            calls(&events),
            vec![("read_file".into(), r#"{"path":"a.md"}"#.into())]
        );
        let call_text: String = events
            .iter()
            .filter_map(|e| match e {
                GenerationEvent::CallText { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(call_text.starts_with("<tool_call>") && call_text.ends_with("</tool_call>"));
    }

    #[test]
    fn several_calls_in_one_answer_are_all_read() {
        let text = format!("{}\n{}", call_text("a", "{}"), call_text("b", r#"{"x":1}"#));
        let events = scan(&[&text]);
        assert_eq!(
            calls(&events),
            vec![("a".into(), "{}".into()), ("b".into(), r#"{"x":1}"#.into())]
        );
        assert_eq!(content(&events), "\n");
    }

    #[test]
    fn bad_calls_are_named_not_dropped() {
        for (text, problem) in [
            (
                "<tool_call>{\"name\": \"x\", </tool_call>",
                "not valid JSON",
            ),
            ("<tool_call>{\"arguments\": {}}</tool_call>", "no \"name\""),
            (
                "<tool_call>{\"name\": \"x\", \"arguments\": [1]}</tool_call>",
                "must be a JSON object",
            ),
            ("<tool_call>{\"name\": \"x\"", "not closed"),
        ] {
            let events = scan(&[text]);
            let found = events.iter().find_map(|e| match e {
                GenerationEvent::MalformedToolCall { problem, .. } => Some(problem.clone()),
                _ => None,
            });
            assert!(
                found.as_deref().is_some_and(|p| p.contains(problem)),
                "{text}: {found:?}"
            );
            assert!(calls(&events).is_empty());
        }
    }

    #[test]
    fn string_arguments_are_read_as_json() {
        let events =
            scan(&["<tool_call>{\"name\": \"x\", \"arguments\": \"{\\\"a\\\": 2}\"}</tool_call>"]);
        assert_eq!(calls(&events), vec![("x".into(), r#"{"a":2}"#.into())]);
    }
}
