//! The gate, safe by default (issue 20; issue 21 makes it progressive):
//! reads inside granted places run; writes, commands and egress ask the
//! owner unless an exact "allow always" rule matches; a call whose
//! arguments carry a secret is denied; and once the turn has read
//! untrusted content (a fetched page, a file outside the owner's notes, a
//! tool's result), egress and commands always ask and "allow always" is
//! neither offered nor honoured for them, so nothing the agent reads can
//! grant itself authority. Pure decisions: no I/O.

use crate::{Effect, ToolSpec};
use pincer_guard::LeakDetector;
use serde::Serialize;
use serde_json::Value;

/// What the gate decided for one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "decision")]
pub enum Decision {
    /// It runs.
    Run {
        /// Why (shown in the chat and the audit log).
        why: String,
    },
    /// The owner is asked first.
    Ask {
        /// Why it asks.
        why: String,
        /// Whether "Allow always" may be offered.
        offer_always: bool,
    },
    /// It does not run.
    Deny {
        /// Why not.
        why: String,
    },
}

/// An "allow always" the owner saved: one tool with exactly these
/// arguments (revocable; issue 21 adds patterns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactRule {
    /// The tool.
    pub tool: String,
    /// Its arguments, as the model sent them.
    pub arguments: Value,
}

/// What the turn has done so far that the gate weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TurnState {
    /// Untrusted content has entered the turn's context.
    pub tainted: bool,
}

/// Decides one call of `tool` with `arguments`.
pub fn decide(
    tool: &ToolSpec,
    arguments: &Value,
    turn: TurnState,
    rules: &[ExactRule],
    detector: &LeakDetector,
) -> Decision {
    let leaks = detector.scan(&arguments.to_string());
    if !leaks.is_empty() {
        let found: Vec<&str> = leaks.iter().map(|l| l.kind.label()).collect();
        return Decision::Deny {
            why: format!(
                "its arguments carry {}; a secret never leaves the vault through a tool",
                found.join(", ")
            ),
        };
    }
    let outward = matches!(tool.effect, Effect::Exec | Effect::Egress);
    let saved = rules
        .iter()
        .any(|r| r.tool == tool.name && &r.arguments == arguments);
    match tool.effect {
        Effect::Read => Decision::Run {
            why: "a read inside the granted folders".into(),
        },
        Effect::Propose => Decision::Run {
            why: "a proposal: nothing changes until you accept it".into(),
        },
        _ if outward && turn.tainted => Decision::Ask {
            why: format!(
                "{} after this turn read untrusted content: its instructions may not be yours",
                what(tool.effect)
            ),
            offer_always: false,
        },
        Effect::Secret => Decision::Ask {
            why: "it uses a secret from the vault".into(),
            offer_always: false,
        },
        _ if saved => Decision::Run {
            why: "you allowed exactly this call always".into(),
        },
        effect => Decision::Ask {
            why: format!("{} asks first", what(effect)),
            offer_always: true,
        },
    }
}

fn what(effect: Effect) -> &'static str {
    match effect {
        Effect::Read => "a read",
        Effect::Write => "a change to files",
        Effect::Exec => "running a command",
        Effect::Egress => "sending something off this machine",
        Effect::Secret => "using a secret",
        Effect::Propose => "a proposal",
    }
}

/// Whether a call's result brings untrusted content into the turn: what
/// comes from off the machine or a command always does, a read does unless
/// it is of the owner's own notes (the workspace).
pub fn taints(tool: &ToolSpec, read_inside_workspace: bool) -> bool {
    match tool.effect {
        Effect::Egress | Effect::Exec => true,
        Effect::Read => !read_inside_workspace,
        Effect::Write | Effect::Secret | Effect::Propose => false,
    }
}
