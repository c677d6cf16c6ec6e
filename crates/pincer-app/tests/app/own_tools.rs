//! The agent's own tools in the owner's chat on the tiny model (forced by
//! the test script): `memory_search` reads memory unasked, `remember`
//! asks (here denied), `propose_soul_change` files a proposal and writes
//! nothing; with training consent each step is a learning record whose
//! next state is the result (or the error) of the call it made.

use super::tools::{answering_sink, call, outcomes, start_scripted_with, workspace, write_script};
use pincer_app::ipc::SetConsent;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_soul_tools_run_through_the_gate_and_teach_with_their_results() {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(workspace(data.path())).unwrap();
    std::fs::write(
        workspace(data.path()).join("MEMORY.md"),
        "# Places\n\n## The cabin\n\nThe wifi password at the cabin is larch-ribbon-42.\n",
    )
    .unwrap();
    let script = data.path().join("script.json");
    let proposed = "# USER\n\nPrefers short answers.\n";
    // Matched against the last message, later steps first.
    write_script(
        &script,
        json!([
            {"when": "waiting for the owner", "say": "I filed the change for you to review."},
            {"when": "owner denied", "say": call("propose_soul_change", json!({
                "file": "USER.md", "content": proposed, "reason": "You said you prefer short answers."}))},
            {"when": "larch-ribbon", "say": call("remember", json!({"text": "The owner asked about the cabin wifi."}))},
            {"when": "cabin wifi", "say": call("memory_search", json!({"query": "wifi password at the cabin"}))},
        ]),
    );
    let app = start_scripted_with(data.path(), &script, Some(xtask::test_embedding_model())).await;
    app.memory_ready()
        .await
        .unwrap()
        .sync(&std::sync::atomic::AtomicBool::new(false))
        .unwrap();
    app.learning()
        .set_consent(SetConsent {
            source: "app".into(),
            purpose: None,
            granted: true,
        })
        .await
        .unwrap();
    let user_before = std::fs::read_to_string(workspace(data.path()).join("USER.md")).unwrap();
    let offered: Vec<String> = app
        .tools_overview()
        .await
        .unwrap()
        .tools
        .into_iter()
        .map(|t| format!("{}:{}", t.name, t.effect))
        .collect();
    for own in ["memory_search:read", "remember:write", "propose_soul_change:propose"] {
        assert!(offered.contains(&own.to_string()), "{own} in {offered:?}");
    }

    let (sink, events) = answering_sink(&app, "deny");
    let summary = app
        .send_message(super::message(None, "what is the cabin wifi?", 300), sink)
        .await
        .unwrap();
    assert_eq!(summary.answer, "I filed the change for you to review.");
    let done = outcomes(&events);
    let seen: Vec<(&str, &str, bool)> = done
        .iter()
        .map(|o| (o.tool.as_str(), o.decision.as_str(), o.ok))
        .collect();
    assert_eq!(
        seen,
        [
            ("memory_search", "ran", true),
            ("remember", "denied", false),
            ("propose_soul_change", "ran", true),
        ]
    );
    assert!(done[0].output.contains("larch-ribbon-42"), "{}", done[0].output);

    // The proposal waits for the owner; the file is as it was, and the
    // denied note was never written.
    let pending = app.store().pending_soul_proposals(Some("USER.md")).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].origin.as_str(), pending[0].content.as_str()),
        ("agent", proposed)
    );
    assert_eq!(
        std::fs::read_to_string(workspace(data.path()).join("USER.md")).unwrap(),
        user_before
    );
    let memory_dir = workspace(data.path()).join("memory");
    let notes: String = std::fs::read_dir(&memory_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect();
    assert!(!notes.contains("asked about the cabin wifi"), "{notes}");
    let audit = app.store().all_audit_records().unwrap();
    assert!(audit.iter().any(|r| r.event.action == "soul.propose"
        && r.event.target == "USER.md"
        && r.event.details["session"] == summary.session_id.as_str()));

    // Each step is a record; its next state is what its call returned.
    let steps: Vec<i64> = app
        .store()
        .messages(&summary.session_id)
        .unwrap()
        .into_iter()
        .filter(|m| m.role == "assistant")
        .map(|m| m.id)
        .collect();
    assert_eq!(steps.len(), 4);
    let next: Vec<(Option<String>, Option<String>)> = steps
        .iter()
        .map(|&id| {
            let record = app
                .store()
                .trajectory_for_message(id)
                .unwrap()
                .expect("each step is kept under consent");
            (record.next_kind, record.next_text)
        })
        .collect();
    let kinds: Vec<Option<&str>> = next.iter().map(|(k, _)| k.as_deref()).collect();
    assert_eq!(
        kinds,
        [Some("tool_result"), Some("tool_error"), Some("tool_result"), None]
    );
    let first = next[0].1.as_deref().unwrap();
    assert!(
        first.contains("larch-ribbon-42") && first.starts_with("<untrusted-data source=\"tool:memory_search\">"),
        "the result, in its fence for the judge: {first}"
    );
    assert!(next[1].1.as_deref().unwrap().contains("owner denied"));
}
