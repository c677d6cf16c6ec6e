//! The agent's own tools, which reach Pincer itself rather than the world:
//! `memory_search` (a read of the owner's memory; a hit ingested from
//! outside makes the turn untrusted), `remember` (a note appended to
//! today's daily file: a write, so the gate asks) and
//! `propose_soul_change` (a proposal the owner accepts or rejects in the
//! soul editor; never a write, so the proposal itself is the question).

use crate::prompt::blocking;
use crate::Agent;
use pincer_memory::{Provenance, SearchOptions};
use pincer_tools::gate::{Decision, TurnState};
use pincer_tools::{Effect, ToolError, ToolSpec};
use pincer_trust::{Action, Actor};
use pincer_workspace::{BOOTSTRAP_FILE, SOUL_FILES};
use serde_json::{json, Value};

/// `memory_search`.
pub(crate) const MEMORY_SEARCH: &str = "memory_search";
/// `remember`.
pub(crate) const REMEMBER: &str = "remember";
/// `propose_soul_change`.
pub(crate) const PROPOSE_SOUL_CHANGE: &str = "propose_soul_change";

/// The most hits one search returns.
const MOST_HITS: u64 = 10;
/// The longest note `remember` files, in characters.
const MOST_NOTE_CHARS: u64 = 2_000;

/// What one of these tools returned, and whether it brought outside text in.
pub(crate) struct OwnResult {
    pub(crate) value: Value,
    pub(crate) untrusted: bool,
}

/// The gate's decision for `name`, made stricter for a note filed into
/// memory after the turn read outside content: later turns read it back as
/// the agent's own words, so it asks, with no "allow always".
pub(crate) fn weigh_taint(name: &str, turn: TurnState, decided: Decision) -> Decision {
    match decided {
        Decision::Deny { .. } => decided,
        _ if name == REMEMBER && turn.tainted => Decision::Ask {
            why: "filing a note after this turn read untrusted content: its words may not be yours".into(),
            offer_always: false,
        },
        _ => decided,
    }
}

/// Whether `name` is one of the agent's own tools.
pub(crate) fn is_own(name: &str) -> bool {
    [MEMORY_SEARCH, REMEMBER, PROPOSE_SOUL_CHANGE].contains(&name)
}

/// The own tools on offer: the memory ones only while memory is on.
pub(crate) fn specs(memory_on: bool) -> Vec<ToolSpec> {
    let mut specs = Vec::new();
    if memory_on {
        specs.push(ToolSpec {
            name: MEMORY_SEARCH.into(),
            description: "Search the owner's memory (their notes, MEMORY.md and the daily notes) and get the most relevant passages with the file and lines they come from.".into(),
            effect: Effect::Read,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 500, "description": "what to look for"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MOST_HITS, "description": "how many passages (default 5)"}}}),
        });
        specs.push(ToolSpec {
            name: REMEMBER.into(),
            description: "Write a short note into today's daily memory file, for something the owner will want remembered later.".into(),
            effect: Effect::Write,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["text"], "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": MOST_NOTE_CHARS, "description": "the note, in one or a few sentences"}}}),
        });
    }
    specs.push(ToolSpec {
        name: PROPOSE_SOUL_CHANGE.into(),
        description: "Propose a new text for one of your soul files (who you are, the owner's profile, your rules), or an empty BOOTSTRAP.md once its first-run ritual is done. Nothing changes: the owner reads the proposal and accepts or rejects it.".into(),
        effect: Effect::Propose,
        parameters: json!({"type": "object", "additionalProperties": false, "required": ["file", "content", "reason"], "properties": {
            "file": {"type": "string", "enum": proposable(), "description": "the file to change"},
            "content": {"type": "string", "description": "the whole new text of the file"},
            "reason": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "why, in a sentence the owner reads"}}}),
    });
    specs
}

/// The files the agent may propose changes to: the soul files and the
/// first-run ritual (`MEMORY.md` is the owner's, changed with `remember`).
fn proposable() -> Vec<&'static str> {
    SOUL_FILES.iter().copied().chain([BOOTSTRAP_FILE]).collect()
}

fn text<'a>(arguments: &'a Value, field: &str) -> Result<&'a str, ToolError> {
    arguments
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ToolError::InvalidArguments(format!("`{field}` must be a non-empty string")))
}

impl Agent {
    /// Runs one of the agent's own tools (its arguments already checked
    /// against its schema). `untrusted` says the turn read outside content.
    pub(crate) async fn run_own_tool(
        &self,
        name: &str,
        arguments: &Value,
        session_id: &str,
        untrusted: bool,
    ) -> Result<OwnResult, ToolError> {
        let unavailable = || ToolError::Refused("memory is off or still loading; try again once it is on".into());
        match name {
            MEMORY_SEARCH => {
                let memory = self.memory().ok_or_else(unavailable)?;
                let query = text(arguments, "query")?.to_string();
                let limit = arguments.get("limit").and_then(Value::as_u64).unwrap_or(5).min(MOST_HITS);
                let hits = blocking(move || {
                    memory.search(&query, &SearchOptions { limit: limit as usize, ..Default::default() })
                })
                .await
                .map_err(|e| ToolError::Failed(e.to_string()))?;
                let outside = hits.iter().any(|h| h.provenance == Provenance::Untrusted);
                let hits: Vec<Value> = hits
                    .into_iter()
                    .map(|h| json!({"path": h.path, "lines": format!("{}-{}", h.start_line, h.end_line),
                                    "provenance": h.provenance, "day": h.day, "text": h.text}))
                    .collect();
                Ok(OwnResult { value: json!({"hits": hits}), untrusted: outside })
            }
            REMEMBER => {
                let note = text(arguments, "text")?.to_string();
                let (path, line) = self
                    .remember(note)
                    .await
                    .map_err(|e| ToolError::Failed(e.to_string()))?
                    .ok_or_else(unavailable)?;
                Ok(OwnResult { value: json!({"path": path.display().to_string(), "line": line}), untrusted: false })
            }
            PROPOSE_SOUL_CHANGE => {
                let change = self.propose_soul_change(arguments, session_id, untrusted).await?;
                Ok(OwnResult { value: change, untrusted: false })
            }
            other => Err(ToolError::UnknownTool(other.to_string())),
        }
    }

    /// Files a soul change for the owner, as the soul editor shows the
    /// agent's proposals; a proposal made after outside content says so.
    async fn propose_soul_change(
        &self,
        arguments: &Value,
        session_id: &str,
        untrusted: bool,
    ) -> Result<Value, ToolError> {
        let file = text(arguments, "file")?.to_string();
        if !proposable().contains(&file.as_str()) {
            return Err(ToolError::InvalidArguments(format!(
                "`{file}` is not a soul file; use one of {}",
                proposable().join(", ")
            )));
        }
        let content = arguments.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
        if content.len() > pincer_workspace::MAX_FILE_BYTES {
            return Err(ToolError::InvalidArguments(format!(
                "the new text is over {} KiB; propose a shorter one",
                pincer_workspace::MAX_FILE_BYTES / 1024
            )));
        }
        let mut reason = text(arguments, "reason")?.to_string();
        if untrusted {
            reason.push_str(" (proposed after this turn read outside content: check it was your wish)");
        }
        let store = self.store().clone();
        let trust = self.inner.trust.clone();
        let session = session_id.to_string();
        blocking(move || {
            let change = store
                .propose_soul_change(&file, &content, "agent", &reason)
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            trust
                .record(
                    Actor::Agent,
                    Action::SoulPropose,
                    &file,
                    "pending",
                    json!({"change": change.id, "reason": change.reason, "session": session}),
                )
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            Ok(json!({"proposal": change.id, "file": file, "status": "waiting for the owner to accept or reject it"}))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_after_outside_content_always_asks() {
        let run = || Decision::Run { why: "you allowed exactly this call always".into() };
        let tainted = TurnState { tainted: true };
        assert!(matches!(
            weigh_taint(REMEMBER, tainted, run()),
            Decision::Ask { offer_always: false, .. }
        ));
        assert_eq!(weigh_taint(REMEMBER, TurnState::default(), run()), run());
        assert_eq!(weigh_taint(MEMORY_SEARCH, tainted, run()), run());
        let denied = Decision::Deny { why: "a secret".into() };
        assert_eq!(weigh_taint(REMEMBER, tainted, denied.clone()), denied);
    }
}
