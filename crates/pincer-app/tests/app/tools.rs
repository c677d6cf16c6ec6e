//! The agent acting in the owner's chat, on the tiny model: the real engine
//! is forced by the test script (`PINCER_TEST_SCRIPT`'s file, set here
//! through `EngineOptions::script`) to write `<tool_call>` text, so the real
//! template, scanner, loop, gate, tools, recording and audit all run.

use super::{message, recording_sink, tiny_model, Events};
use pincer_app::ipc::{AnswerToolQuestion, AppMode, ChatEvent, ToolOutcomeView};
use pincer_app::{App, AppConfig, EventSink};
use pincer_inference::{EngineOptions, ModelSource};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Starts the app with answers following `script` (a JSON list of `{when, say}`).
pub(super) async fn start_scripted(data_dir: &Path, script: &Path) -> App {
    start_scripted_with(data_dir, script, None).await
}

/// [`start_scripted`] with memory on `embedder`.
pub(super) async fn start_scripted_with(
    data_dir: &Path,
    script: &Path,
    embedder: Option<PathBuf>,
) -> App {
    App::start(AppConfig {
        power_supply: None,
        idle_bus: None,
        data_dir: data_dir.to_path_buf(),
        model: Some(ModelSource::inspect(&tiny_model()).expect("tiny model")),
        model_id: Some("tiny".into()),
        engine: EngineOptions {
            max_running: 2,
            script: Some(script.to_path_buf()),
            ..Default::default()
        },
        mode: AppMode::Desktop,
        embedder,
    })
    .await
    .expect("app starts")
}

pub(super) fn write_script(path: &Path, lines: serde_json::Value) {
    std::fs::write(path, lines.to_string()).unwrap();
}

pub(super) fn call(tool: &str, arguments: serde_json::Value) -> String {
    pincer_inference::call_text(tool, &arguments.to_string())
}

pub(super) fn outcomes(events: &Events) -> Vec<ToolOutcomeView> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ToolResult { outcome } => Some(outcome.clone()),
            _ => None,
        })
        .collect()
}

/// A sink that answers every question of the gate with `answer`.
pub(super) fn answering_sink(app: &App, answer: &'static str) -> (EventSink, Events) {
    deciding_sink(app, move |_| answer)
}

/// A sink that records every event and answers each question the gate
/// asks with what `decide` says for that tool.
pub(super) fn deciding_sink(
    app: &App,
    decide: impl Fn(&str) -> &'static str + Send + Sync + 'static,
) -> (EventSink, Events) {
    let events: Events = Arc::default();
    let seen = Arc::clone(&events);
    let app = app.clone();
    (
        Box::new(move |event| {
            if let ChatEvent::ToolAsk { question } = &event {
                app.answer_tool_question(AnswerToolQuestion {
                    question_id: question.id.clone(),
                    answer: decide(&question.tool).into(),
                })
                .expect("the question is open while it is shown");
            }
            seen.lock().unwrap().push(event);
            true
        }),
        events,
    )
}

pub(super) fn workspace(data: &Path) -> PathBuf {
    data.join("workspace")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_runs_and_its_result_reaches_the_next_step() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("script.json");
    write_script(
        &script,
        json!([
            {"when": "what do my notes say", "say": format!("Let me look.\n{}", call("read_file", json!({"path": "plans.md"})))},
            {"when": "the plan is 42", "say": "Your notes say the plan is 42."},
        ]),
    );
    let app = start_scripted(data.path(), &script).await;
    std::fs::write(workspace(data.path()).join("plans.md"), "the plan is 42\n").unwrap();
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(None, "what do my notes say?", 200), sink)
        .await
        .unwrap();
    assert_eq!(
        summary.answer,
        "Let me look.\nYour notes say the plan is 42."
    );
    assert_eq!(summary.stats.finish_reason, "stop");
    let done = outcomes(&events);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        (done[0].tool.as_str(), done[0].decision.as_str(), done[0].ok),
        ("read_file", "ran", true)
    );
    assert!(
        done[0].output.contains("the plan is 42"),
        "{}",
        done[0].output
    );
    assert!(
        !events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, ChatEvent::ToolAsk { .. })),
        "a read inside the workspace does not ask"
    );

    // The session holds the call and its result as OpenAI messages.
    let saved = app
        .session_messages(summary.session_id.clone())
        .await
        .unwrap();
    let roles: Vec<&str> = saved.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
    assert_eq!(saved[1].tool_calls.len(), 1);
    assert_eq!(saved[1].tool_calls[0].tool, "read_file");
    assert_eq!(
        saved[2].tool_call_id.as_deref(),
        Some(saved[1].tool_calls[0].call_id.as_str())
    );
    assert!(saved[2]
        .content
        .contains("<untrusted-data source=\"tool:read_file\">"));

    // And the audit log holds the call, with a hash of its arguments.
    let records = app.store().audit_records(0, 1000).unwrap();
    let calls: Vec<_> = records
        .iter()
        .filter(|r| r.event.action == "tool.call")
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].event.target.as_str(),
            calls[0].event.decision.as_str()
        ),
        ("read_file", "ran")
    );
    assert_eq!(calls[0].event.details["outcome"], "ok");
    assert_eq!(
        calls[0].event.details["arguments_sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_asks_first_and_runs_only_when_allowed() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("script.json");
    write_script(
        &script,
        json!([
            {"when": "write the list", "say": call("write_file", json!({"path": "list.md", "content": "milk\n"}))},
            {"when": "\"bytes\"", "say": "Written."},
            {"when": "denied", "say": "I did not write it."},
        ]),
    );
    let app = start_scripted(data.path(), &script).await;
    let target = workspace(data.path()).join("list.md");

    let (sink, events) = answering_sink(&app, "deny");
    let denied = app
        .send_message(message(None, "write the list", 200), sink)
        .await
        .unwrap();
    assert!(!target.exists(), "a denied write writes nothing");
    assert_eq!(denied.answer, "I did not write it.");
    assert_eq!(outcomes(&events)[0].decision, "denied");
    let asked = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            ChatEvent::ToolAsk { question } => Some(question.clone()),
            _ => None,
        })
        .expect("the gate asked");
    assert_eq!(
        (
            asked.tool.as_str(),
            asked.effect.as_str(),
            asked.offer_always
        ),
        ("write_file", "write", true)
    );

    let (sink, events) = answering_sink(&app, "allowOnce");
    let allowed = app
        .send_message(message(None, "write the list", 200), sink)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "milk\n");
    assert_eq!(allowed.answer, "Written.");
    assert_eq!(outcomes(&events)[0].decision, "allowed");

    let answers: Vec<String> = app
        .store()
        .audit_records(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.event.action == "tool.answer")
        .map(|r| format!("{}:{}", r.event.actor, r.event.decision))
        .collect();
    assert_eq!(answers, ["owner:deny", "owner:allow_once"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_question_is_a_timeout_and_allow_always_is_remembered() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("script.json");
    let write = call("write_file", json!({"path": "a.md", "content": "a"}));
    write_script(
        &script,
        json!([
            {"when": "write a", "say": write},
            {"when": "did not answer", "say": "Nobody answered."},
            {"when": "\"bytes\"", "say": "Done."},
        ]),
    );
    let app = start_scripted(data.path(), &script).await;
    app.agent()
        .set_question_timeout(std::time::Duration::from_millis(200));
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(None, "write a", 200), sink)
        .await
        .unwrap();
    assert_eq!(summary.answer, "Nobody answered.");
    assert_eq!(outcomes(&events)[0].decision, "timeout");
    assert!(
        app.tool_questions().is_empty(),
        "the question was withdrawn"
    );
    assert!(!workspace(data.path()).join("a.md").exists());
    let timeout = app
        .store()
        .audit_records(0, 1000)
        .unwrap()
        .into_iter()
        .find(|r| r.event.action == "tool.answer")
        .expect("recorded");
    assert_eq!(
        (
            timeout.event.actor.as_str(),
            timeout.event.decision.as_str()
        ),
        ("system", "timeout")
    );

    // "Allow always" saves the exact call: the next identical one runs
    // without asking, also after a restart.
    let (sink, _) = answering_sink(&app, "allowAlways");
    app.send_message(message(None, "write a", 200), sink)
        .await
        .unwrap();
    drop(app);
    let app = start_scripted(data.path(), &script).await;
    std::fs::remove_file(workspace(data.path()).join("a.md")).unwrap();
    let (sink, events) = recording_sink();
    app.send_message(message(None, "write a", 200), sink)
        .await
        .unwrap();
    assert_eq!(outcomes(&events)[0].decision, "ran");
    assert!(outcomes(&events)[0].why.contains("always"));
    assert!(workspace(data.path()).join("a.md").exists());
    assert_eq!(app.agent().tool_rules().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_go_back_to_the_model_and_never_end_the_turn() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("script.json");
    write_script(
        &script,
        json!([
            {"when": "try a broken call", "say": "<tool_call>\n{\"name\": \"read_file\", \"arguments\": \n</tool_call>"},
            {"when": "could not be read", "say": call("delete_everything", json!({}))},
            {"when": "there is no tool", "say": call("read_file", json!({"path": "x", "mode": "fast"}))},
            {"when": "do not fit the tool", "say": call("read_file", json!({"path": "/etc/passwd"}))},
            {"when": "outside", "say": "I will stop trying."},
        ]),
    );
    let app = start_scripted(data.path(), &script).await;
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(None, "try a broken call", 300), sink)
        .await
        .unwrap();
    assert!(
        summary.answer.ends_with("I will stop trying."),
        "{}",
        summary.answer
    );
    let done = outcomes(&events);
    let decisions: Vec<(&str, &str)> = done
        .iter()
        .map(|o| (o.tool.as_str(), o.decision.as_str()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("delete_everything", "invalid"),
            ("read_file", "invalid"),
            ("read_file", "ran")
        ],
        "{done:?}"
    );
    assert!(
        !done[2].ok,
        "a path outside the workspace is refused: {}",
        done[2].output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_keeps_calling_tools_ends_at_the_step_limit() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("script.json");
    // Every result leads to another call: only the limit ends it.
    write_script(
        &script,
        json!([
            {"when": "loop", "say": call("list_files", json!({}))},
            {"when": "untrusted-data", "say": call("list_files", json!({}))},
        ]),
    );
    let app = start_scripted(data.path(), &script).await;
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(None, "loop", 100), sink)
        .await
        .unwrap();
    let calls = outcomes(&events).len();
    assert_eq!(
        calls,
        pincer_agent::MAX_STEPS - 1,
        "the last step is offered no tools"
    );
    let saved = app.session_messages(summary.session_id).await.unwrap();
    assert_eq!(saved.iter().filter(|m| m.role == "tool").count(), calls);
}
