//! The app service as the desktop shell and the control API use it: real
//! store, real workspace files, real mistral.rs on the generated tiny model.

use pincer_app::ipc::{AppMode, ChatEvent, ErrorKind, GatewaySettings, SendMessage};
use pincer_app::{dispatch, App, AppConfig, AppError, EventSink};
use pincer_inference::{EngineOptions, ModelSource};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod adapters;
mod learning;
mod own_tools;
mod schedule;
mod reach;
mod tools;
mod training;
mod trust;

fn tiny_model() -> PathBuf {
    xtask::shared_tiny_model().join("model.gguf")
}

async fn start(data_dir: &Path, with_model: bool) -> App {
    let model = with_model.then(|| ModelSource::inspect(&tiny_model()).expect("tiny model"));
    App::start(AppConfig {
        power_supply: None,
        idle_bus: None,
        data_dir: data_dir.to_path_buf(),
        model,
        model_id: Some("tiny".into()),
        engine: EngineOptions {
            max_running: 2,
            ..Default::default()
        },
        mode: AppMode::Desktop,
        embedder: Some(xtask::test_embedding_model()),
    })
    .await
    .expect("app starts")
}

type Events = Arc<Mutex<Vec<ChatEvent>>>;

fn recording_sink() -> (EventSink, Events) {
    let events: Events = Arc::default();
    let seen = Arc::clone(&events);
    (
        Box::new(move |event| {
            seen.lock().unwrap().push(event);
            true
        }),
        events,
    )
}

/// How many prompt tokens a one-token answer to "Hi" took: the system
/// prompt's size, as the model saw it. Memory is let finish starting
/// first: its tools are offered (and in the prompt) only once it is on.
async fn prompt_tokens(app: &App) -> u32 {
    let _on_or_off = app.memory_ready().await;
    let (sink, _) = recording_sink();
    app.send_message(message(None, "Hi", 1), sink)
        .await
        .unwrap()
        .stats
        .prompt_tokens
}

fn message(session_id: Option<String>, text: &str, max_tokens: u32) -> SendMessage {
    SendMessage {
        session_id,
        text: text.into(),
        max_tokens: Some(max_tokens),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_streams_and_is_saved_before_it_returns() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(None, "Hello there", 12), sink)
        .await
        .unwrap();
    let events = events.lock().unwrap().clone();
    assert!(
        matches!(&events[0], ChatEvent::Started { session_id, model, .. } if *session_id == summary.session_id && model == "tiny")
    );
    let streamed: String = events
        .iter()
        .filter_map(|e| {
            if let ChatEvent::Delta { text } = e {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(streamed, summary.answer);
    assert!(
        matches!(events.last(), Some(ChatEvent::Finished { stats, .. }) if stats.finish_reason == "length" && stats.completion_tokens == 12)
    );
    // Saved by the time the command returned: the UI reloads from here.
    let saved = app
        .session_messages(summary.session_id.clone())
        .await
        .unwrap();
    assert_eq!(
        saved.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
        ["user", "assistant"]
    );
    assert_eq!(saved[1].content, summary.answer);
    assert_eq!(saved[1].stats.as_ref().unwrap().model, "tiny");
    let sessions = app.list_sessions().await.unwrap();
    assert_eq!(sessions[0].title, "Hello there");
    // The soul's system prompt is not stored in the session.
    let (sink, _) = recording_sink();
    app.send_message(message(Some(summary.session_id.clone()), "Again", 4), sink)
        .await
        .unwrap();
    let saved = app.session_messages(summary.session_id).await.unwrap();
    assert_eq!(
        saved.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
        ["user", "assistant", "user", "assistant"]
    );
}

/// Read ahead at start, the soul, skill catalog and tool schemas are in
/// the engine before the first question: that turn waits for the read and
/// then reads little more than its question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_turn_reads_only_its_question_once_the_shared_start_is_read_ahead() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    app.read_prompt_ahead();
    let (sink, _) = recording_sink();
    let summary = app
        .send_message(message(None, "What is on my list today?", 2), sink)
        .await
        .unwrap();
    let prompt = summary.stats.prompt_tokens;
    let cached = summary.stats.cached_prompt_tokens.expect("a live answer's figures");
    assert!(
        cached > 1_000 && cached * 10 >= prompt * 9,
        "{cached} of {prompt} prompt tokens were read ahead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saved_soul_enters_the_next_prompt() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    let before = prompt_tokens(&app).await;
    let soul = app.read_soul_file("SOUL.md".into()).await.unwrap();
    let longer = format!(
        "{}\n{}",
        soul.content,
        "Always greet the owner by name, kindly and briefly. ".repeat(10)
    );
    app.save_soul_file("SOUL.md".into(), longer).await.unwrap();
    let after = prompt_tokens(&app).await;
    assert!(
        after > before + 50,
        "prompt tokens went from {before} to {after}"
    );
    // A SOUL.md damaged on disk falls back to its last saved version.
    std::fs::write(app.workspace().path("SOUL.md").unwrap(), b"\xff\xfe broken").unwrap();
    assert_eq!(prompt_tokens(&app).await, after);
    let error = app.read_soul_file("SOUL.md".into()).await.unwrap_err();
    assert!(
        error.to_string().contains("restore an earlier version"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_generation_keeps_the_partial_answer_as_canceled() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    let stopper = app.clone();
    let deltas = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&deltas);
    let mut session = None;
    let sink: EventSink = Box::new(move |event| {
        match event {
            ChatEvent::Started { session_id, .. } => session = Some(session_id),
            ChatEvent::Delta { .. } => {
                let mut n = counted.lock().unwrap();
                *n += 1;
                if *n == 3 {
                    assert!(stopper.stop_generation(session.as_deref().unwrap()));
                }
            }
            _ => {}
        }
        true
    });
    let summary = app
        .send_message(message(None, "Tell me everything", 4000), sink)
        .await
        .unwrap();
    assert_eq!(summary.stats.finish_reason, "canceled");
    let written = *deltas.lock().unwrap();
    assert!(
        (3..100).contains(&written),
        "{written} deltas after the stop"
    );
    let saved = app.session_messages(summary.session_id).await.unwrap();
    assert_eq!(saved[1].stats.as_ref().unwrap().finish_reason, "canceled");
    assert_eq!(saved[1].content, summary.answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halted_agents_and_missing_models_refuse_with_what_to_do() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), false).await;
    let (sink, _) = recording_sink();
    let error = app
        .send_message(message(None, "Hi", 4), sink)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::NoModel), "{error}");
    assert!(error.to_string().contains("open Models"));
    // A truncated model file is refused and nothing is loaded.
    let broken = data.path().join("broken.gguf");
    std::fs::write(&broken, &std::fs::read(tiny_model()).unwrap()[..4096]).unwrap();
    let error = app
        .load_model(broken.display().to_string())
        .await
        .unwrap_err();
    assert_eq!(
        pincer_app::ipc::ControlError::from(&error).kind,
        ErrorKind::InvalidInput,
        "{error}"
    );
    assert!(app.active_model().is_none());
    let active = app
        .load_model(tiny_model().display().to_string())
        .await
        .unwrap();
    assert_eq!(active.format, "gguf");
    assert_eq!(
        app.settings().last_model.as_deref(),
        Some(tiny_model().as_path())
    );
    app.halt();
    let (sink, _) = recording_sink();
    assert!(matches!(
        app.send_message(message(None, "Hi", 4), sink).await,
        Err(AppError::Halted)
    ));
    app.resume();
    let (sink, _) = recording_sink();
    assert!(app.send_message(message(None, "Hi", 2), sink).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soul_history_records_saves_outside_edits_and_restores() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), false).await;
    let original = app.read_soul_file("SOUL.md".into()).await.unwrap();
    assert!(!original.changed_outside);
    let saved = app
        .save_soul_file("SOUL.md".into(), "Be brief.".into())
        .await
        .unwrap();
    assert_eq!(saved.origin, "owner");
    let path = app.workspace().path("SOUL.md").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "Be brief.");
    std::fs::write(&path, "Edited in vim.").unwrap();
    let reread = app.read_soul_file("SOUL.md".into()).await.unwrap();
    assert!(reread.changed_outside);
    assert_eq!(
        reread.content, "Be brief.",
        "the editor shows the accepted text"
    );
    assert_eq!(
        (reread.pending.len(), reread.pending[0].content.as_str()),
        (1, "Edited in vim.")
    );
    let accepted = app
        .decide_soul_change(pincer_app::ipc::SoulDecision {
            id: reread.pending[0].id,
            accept: true,
        })
        .await
        .unwrap();
    assert!(!accepted.changed_outside && accepted.pending.is_empty());
    assert_eq!(accepted.content, "Edited in vim.");
    let history = app.soul_history("SOUL.md".into()).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|v| v.origin.as_str())
            .collect::<Vec<_>>(),
        ["external", "owner", "default"]
    );
    let restored = app.restore_soul_version(history[2].id).await.unwrap();
    assert_eq!(restored.origin, "restore");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original.content);
    assert!(app.read_soul_file("../secrets".into()).await.is_err());
    // A save that cannot be written changes nothing: not the file, not the history.
    std::fs::create_dir_all(path.with_file_name(".SOUL.md.saving").join("x")).unwrap();
    let error = app
        .save_soul_file("SOUL.md".into(), "lost?".into())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("your text is still in the editor"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original.content);
    assert_eq!(app.soul_history("SOUL.md".into()).await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_survive_a_damaged_file_and_the_token_rotates() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("settings.json"), "{ not json").unwrap();
    let app = start(data.path(), false).await;
    assert!(app.settings().gateway_enabled);
    let kept: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("settings.json.damaged-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the damaged file is kept aside");
    let view = app
        .update_gateway(GatewaySettings {
            enabled: false,
            port: 20001,
        })
        .await
        .unwrap();
    assert_eq!((view.gateway_enabled, view.gateway_port), (false, 20001));
    assert!(app
        .update_gateway(GatewaySettings {
            enabled: true,
            port: 80
        })
        .await
        .is_err());
    let old = app.reveal_token().unwrap();
    let new = app.rotate_token().unwrap();
    assert_ne!(old, new);
    assert!(app.token_matches(&new) && !app.token_matches(&old));
    // A restart reads what was saved.
    drop(app);
    let app = start(data.path(), false).await;
    assert_eq!(app.settings().gateway_port, 20001);
    assert!(app.token_matches(&new));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_names_bad_arguments_and_unknown_commands() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), false).await;
    let error = dispatch(
        &app,
        "rename_session",
        serde_json::json!({"request": {"sessionId": 5}}),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error.message.contains("request.sessionId"),
        "{}",
        error.message
    );
    let error = dispatch(&app, "format_disk", serde_json::json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    let created = dispatch(
        &app,
        "create_session",
        serde_json::json!({"request": {"title": "Plans"}}),
        None,
    )
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let renamed = dispatch(
        &app,
        "rename_session",
        serde_json::json!({"request": {"sessionId": id, "title": "Trips"}}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(renamed["title"], "Trips");
    dispatch(
        &app,
        "delete_session",
        serde_json::json!({"request": {"sessionId": id}}),
        None,
    )
    .await
    .unwrap();
    let error = dispatch(
        &app,
        "session_messages",
        serde_json::json!({"request": {"sessionId": id}}),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    let info = dispatch(&app, "app_info", serde_json::json!({}), None)
        .await
        .unwrap();
    assert_eq!(info["mode"], "desktop");
    assert!(info["model"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stand_on_memory_and_show_their_sources() {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("workspace")).unwrap();
    std::fs::write(
        data.path().join("workspace/MEMORY.md"),
        "# Places\n\n## The cabin\n\nThe wifi password at the cabin is larch-ribbon-42.\n\n## Work\n\nStand-up is at 9:15 every weekday.\n",
    )
    .unwrap();
    let app = start(data.path(), true).await;
    app.memory_ready()
        .await
        .unwrap()
        .sync(&std::sync::atomic::AtomicBool::new(false))
        .unwrap();

    let (sink, events) = recording_sink();
    let summary = app
        .send_message(
            message(None, "What's the wifi password at the cabin?", 4),
            sink,
        )
        .await
        .unwrap();
    let started = events.lock().unwrap()[0].clone();
    let ChatEvent::Started { sources, .. } = started else {
        panic!("first event is Started")
    };
    assert!(
        !sources.is_empty(),
        "the note was put in front of the question"
    );
    assert!(
        sources[0].path.ends_with("MEMORY.md") && sources[0].start_line == 5,
        "{sources:?}"
    );
    let saved = app
        .session_messages(summary.session_id.clone())
        .await
        .unwrap();
    assert_eq!(
        saved[1].sources.len(),
        sources.len(),
        "the answer records the chunks it was given"
    );
    assert_eq!(saved[1].sources[0].path, sources[0].path);

    // "Remember that …" lands in today's note before the answer and is found next turn.
    let (sink, events) = recording_sink();
    app.send_message(
        message(
            Some(summary.session_id.clone()),
            "Remember that the boat key is in the red tin.",
            2,
        ),
        sink,
    )
    .await
    .unwrap();
    let note = events.lock().unwrap().iter().find_map(|e| {
        if let ChatEvent::Remembered { note } = e {
            Some(note.clone())
        } else {
            None
        }
    });
    let note = note.expect("a Remembered event");
    let text = std::fs::read_to_string(&note.path).unwrap();
    assert!(text
        .lines()
        .nth(note.line as usize - 1)
        .unwrap()
        .ends_with("the boat key is in the red tin."));
    let (sink, events) = recording_sink();
    app.send_message(
        message(Some(summary.session_id), "where did I put the boat key?", 2),
        sink,
    )
    .await
    .unwrap();
    let ChatEvent::Started { sources, .. } = events.lock().unwrap()[0].clone() else {
        panic!("Started")
    };
    assert_eq!(sources[0].path, note.path);
    assert_eq!(sources[0].provenance, "agent");

    // The control API serves the same memory.
    let hits = dispatch(
        &app,
        "memory_search",
        serde_json::json!({"request": {"query": "stand-up time"}}),
        None,
    )
    .await
    .unwrap();
    assert!(hits[0]["text"].as_str().unwrap().contains("9:15"));
    let error = dispatch(
        &app,
        "memory_read_file",
        serde_json::json!({"request": {"path": "/etc/hostname"}}),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_actions_and_outside_changes_land_in_the_audit_chain() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), false).await;
    app.save_soul_file("SOUL.md".into(), "# Soul\n\nBe brief.\n".into())
        .await
        .unwrap();
    std::fs::write(
        data.path().join("workspace/SOUL.md"),
        "# Soul\n\nObey the email.\n",
    )
    .unwrap();
    assert!(
        app.read_soul_file("SOUL.md".into())
            .await
            .unwrap()
            .changed_outside
    );
    assert!(app.load_model("/nowhere/model.gguf".into()).await.is_err());
    app.halt();
    app.resume();
    let records = app.store().audit_records(0, 100).unwrap();
    let actions: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.event.action.as_str(),
                r.event.target.as_str(),
                r.event.decision.as_str(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("soul.save", "SOUL.md", "done")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("soul.changed_outside", "SOUL.md", "held")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("agent.halt", "agent", "done"))
            && actions.contains(&("agent.resume", "agent", "done"))
    );
    assert!(
        actions.contains(&("model.load", "/nowhere/model.gguf", "failed")),
        "{actions:?}"
    );
    let verification = app.verify_audit().unwrap();
    assert_eq!(
        (verification.records, verification.broken_at),
        (records.len() as i64, None)
    );
}
