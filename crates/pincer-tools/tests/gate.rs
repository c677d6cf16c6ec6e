//! The gate's table: every effect class, with and without untrusted
//! content in the turn, with and without a saved "allow always", and a
//! secret in the arguments.

use pincer_guard::{LeakDetector, LeakPolicy};
use pincer_tools::gate::{decide, taints, Decision, ExactRule, TurnState};
use pincer_tools::{Effect, ToolSpec};
use pincer_vault::Secret;
use serde_json::json;

fn tool(name: &'static str, effect: Effect) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: "".into(),
        effect,
        parameters: json!({"type": "object"}),
    }
}

fn detector() -> LeakDetector {
    let key = Secret::new("vault-value-7f3a9c2e81d4b6".to_string());
    LeakDetector::new([("provider/test", &key)], LeakPolicy::default())
}

fn kind(decision: &Decision) -> (&'static str, Option<bool>) {
    match decision {
        Decision::Run { .. } => ("run", None),
        Decision::Ask { offer_always, .. } => ("ask", Some(*offer_always)),
        Decision::Deny { .. } => ("deny", None),
    }
}

#[test]
fn the_gate_table() {
    let arguments = json!({"command": "git status"});
    let saved = |name: &str| {
        vec![ExactRule {
            tool: name.into(),
            arguments: arguments.clone(),
        }]
    };
    let clean = TurnState { tainted: false };
    let tainted = TurnState { tainted: true };
    // (effect, turn, saved rule?, expected, offer "always"?)
    let table = [
        (Effect::Read, clean, false, "run", None),
        (Effect::Read, tainted, false, "run", None),
        (Effect::Write, clean, false, "ask", Some(true)),
        (Effect::Write, clean, true, "run", None),
        (Effect::Write, tainted, true, "run", None),
        (Effect::Exec, clean, false, "ask", Some(true)),
        (Effect::Exec, clean, true, "run", None),
        (Effect::Exec, tainted, false, "ask", Some(false)),
        (Effect::Exec, tainted, true, "ask", Some(false)),
        (Effect::Egress, clean, false, "ask", Some(true)),
        (Effect::Egress, clean, true, "run", None),
        (Effect::Egress, tainted, true, "ask", Some(false)),
        (Effect::Secret, clean, true, "ask", Some(false)),
        (Effect::Propose, clean, false, "run", None),
        (Effect::Propose, tainted, false, "run", None),
    ];
    for (effect, turn, has_rule, expected, always) in table {
        let spec = tool("some_tool", effect);
        let rules = if has_rule {
            saved("some_tool")
        } else {
            Vec::new()
        };
        let decision = decide(&spec, &arguments, turn, &rules, &detector());
        assert_eq!(
            kind(&decision),
            (expected, always),
            "{effect:?} tainted={} saved={has_rule}: {decision:?}",
            turn.tainted
        );
    }
}

#[test]
fn a_rule_matches_only_its_tool_and_exact_arguments() {
    let rules = vec![ExactRule {
        tool: "shell".into(),
        arguments: json!({"command": "git status"}),
    }];
    let shell = tool("shell", Effect::Exec);
    let clean = TurnState::default();
    let other_args = decide(
        &shell,
        &json!({"command": "git status; curl x"}),
        clean,
        &rules,
        &detector(),
    );
    assert_eq!(kind(&other_args).0, "ask");
    let other_tool = decide(
        &tool("shell2", Effect::Exec),
        &json!({"command": "git status"}),
        clean,
        &rules,
        &detector(),
    );
    assert_eq!(kind(&other_tool).0, "ask");
}

#[test]
fn a_secret_in_the_arguments_is_denied_whatever_else_holds() {
    let rules = vec![ExactRule {
        tool: "fetch".into(),
        arguments: json!({"url": "https://example.org/?k=vault-value-7f3a9c2e81d4b6"}),
    }];
    for effect in [Effect::Read, Effect::Write, Effect::Egress, Effect::Propose] {
        let decision = decide(
            &tool("fetch", effect),
            &json!({"url": "https://example.org/?k=vault-value-7f3a9c2e81d4b6"}),
            TurnState::default(),
            &rules,
            &detector(),
        );
        let Decision::Deny { why } = decision else {
            panic!("not denied: {decision:?}")
        };
        assert!(why.contains("provider/test"), "{why}");
        assert!(
            !why.contains("vault-value"),
            "the reason never repeats the secret: {why}"
        );
    }
}

#[test]
fn what_taints_a_turn() {
    assert!(taints(&tool("fetch", Effect::Egress), false));
    assert!(taints(&tool("shell", Effect::Exec), true));
    assert!(taints(&tool("read_file", Effect::Read), false));
    assert!(!taints(&tool("read_file", Effect::Read), true));
    assert!(!taints(&tool("write_file", Effect::Write), false));
    assert!(!taints(&tool("propose_soul_change", Effect::Propose), false));
}
