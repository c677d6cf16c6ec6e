//! The learning signal on the generated tiny model: consented turns become
//! records with their tokens, the next message scores the previous answer,
//! the judge votes, feedback overrides, and consent governs every step.

use super::{message, recording_sink, start};
use pincer_app::ipc::{ChatEvent, DeleteTrainingData, GiveFeedback, SetConsent, TrajectoryQuery};
use pincer_app::{App, ChatCall};
use pincer_inference::{ChatMessage, GenerationParams, GenerationRequest, Role};

/// Sends `text` in `session` and returns the session, the answer's message
/// id and whether it became a training record.
async fn turn(app: &App, session: Option<String>, text: &str) -> (String, i64, bool) {
    let (sink, events) = recording_sink();
    let summary = app
        .send_message(message(session, text, 6), sink)
        .await
        .unwrap();
    let events = events.lock().unwrap().clone();
    let Some(ChatEvent::Finished {
        message_id: Some(id),
        learnable,
        ..
    }) = events.last().cloned()
    else {
        panic!("no finished event with a message id: {events:?}");
    };
    (summary.session_id, id as i64, learnable)
}

async fn consent(app: &App, source: &str, granted: bool) {
    app.learning()
        .set_consent(SetConsent {
            source: source.into(),
            purpose: None,
            granted,
        })
        .await
        .unwrap();
}

fn audited(app: &App, action: &str) -> Vec<(String, String)> {
    let records = app.store().all_audit_records().unwrap();
    records
        .into_iter()
        .filter(|r| r.event.action == action)
        .map(|r| (r.event.target, r.event.decision))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consented_conversations_become_judged_and_hinted_records() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;

    // Off by default: nothing is kept, and the first-run question is open.
    assert!(!app.learning().data_overview().await.unwrap().asked);
    let (_, off_id, learnable) = turn(&app, None, "Hello").await;
    assert!(!learnable);
    assert!(app
        .store()
        .trajectory_for_message(off_id)
        .unwrap()
        .is_none());
    let refused = app
        .learning()
        .give_feedback(GiveFeedback {
            message_id: off_id as f64,
            feedback: "up".into(),
            edited_answer: None,
        })
        .await;
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("Turn it on in Training data"));

    consent(&app, "app", true).await;
    assert!(app.learning().data_overview().await.unwrap().asked);
    let (session, first, learnable) = turn(&app, None, "What is 2+2?").await;
    assert!(learnable);
    let record = app
        .store()
        .trajectory_for_message(first)
        .unwrap()
        .expect("a record for the answer");
    let answer = &app
        .store()
        .messages(&session)
        .unwrap()
        .last()
        .unwrap()
        .content
        .clone();
    assert_eq!(&record.turn.response, answer);
    assert!(
        !record.turn.tokens.is_empty() && record.turn.tokens.len() <= 6,
        "{:?}",
        record.turn.tokens
    );
    assert_eq!(
        record
            .turn
            .tokens
            .iter()
            .map(|t| t.text.as_str())
            .collect::<String>(),
        *answer
    );
    assert!(record
        .turn
        .tokens
        .iter()
        .all(|t| t.logprob <= 0.0 && t.id.is_some()));
    assert_eq!(record.turn.soul_sha256.as_ref().map(String::len), Some(64));
    let prompt = record.turn.prompt["messages"].as_array().unwrap();
    assert_eq!(
        prompt.first().unwrap()["role"],
        "system",
        "the soul is part of the prompt"
    );
    assert_eq!(prompt.last().unwrap()["content"], "What is 2+2?");
    assert!(record.next_kind.is_none());

    // The next message is the first answer's next state.
    let (_, second, _) = turn(
        &app,
        Some(session.clone()),
        "No, that is wrong. Shorter please.",
    )
    .await;
    let record = app.store().trajectory_for_message(first).unwrap().unwrap();
    assert_eq!(
        (record.next_kind.as_deref(), record.next_text.as_deref()),
        (
            Some("user_reply"),
            Some("No, that is wrong. Shorter please.")
        )
    );

    // The judge takes three samples of the tiny model (noise: each a
    // malformed answer, so a 0 vote, never a crash), once.
    assert_eq!(
        app.learning().judge_pending(10).await.unwrap(),
        1,
        "only the answer with a next state waits"
    );
    let judged = app
        .store()
        .trajectory_for_message(first)
        .unwrap()
        .unwrap()
        .judgment
        .expect("judged");
    assert_eq!((judged.votes.len(), judged.judge.as_str()), (3, "tiny"));
    let up = judged.votes.iter().filter(|v| v.score == 1).count();
    let down = judged.votes.iter().filter(|v| v.score == -1).count();
    let expected = if up >= 2 {
        1
    } else if down >= 2 {
        -1
    } else {
        0
    };
    assert_eq!(judged.score, expected, "{judged:?}");
    assert_eq!(
        app.learning().judge_pending(10).await.unwrap(),
        0,
        "a judged turn is not judged again"
    );
    assert_eq!(audited(&app, "learning.judge").len(), 1);

    // An edit overrides the vote and becomes the hint; the teacher context
    // carries it.
    let edited = app
        .learning()
        .give_feedback(GiveFeedback {
            message_id: first as f64,
            feedback: "edit".into(),
            edited_answer: Some("4.".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        (edited.score, edited.feedback.as_deref()),
        (Some(-1), Some("edit"))
    );
    assert!(edited.hint.as_deref().unwrap().contains("4."));
    let opened = app.learning().open_trajectory(edited.id).await.unwrap();
    let teacher = opened
        .teacher
        .expect("a hinted record has a teacher context");
    assert!(teacher
        .last()
        .unwrap()
        .content
        .ends_with(&format!("[Hint: {}]", edited.hint.unwrap())));
    assert!(opened
        .consent
        .is_some_and(|c| c.granted && c.source == "app"));
    assert_eq!(opened.tokens as usize, record.turn.tokens.len());

    // Thumbs up is the second answer's next state and fixes its score.
    app.learning()
        .give_feedback(GiveFeedback {
            message_id: second as f64,
            feedback: "up".into(),
            edited_answer: None,
        })
        .await
        .unwrap();
    assert_eq!(app.learning().judge_pending(10).await.unwrap(), 1);
    assert_eq!(
        app.store()
            .trajectory_for_message(second)
            .unwrap()
            .unwrap()
            .judgment
            .unwrap()
            .score,
        1
    );
    let shown = app.session_messages(session.clone()).await.unwrap();
    assert_eq!(shown.iter().filter(|m| m.learnable).count(), 2);
    assert_eq!(
        shown
            .iter()
            .find(|m| m.id as i64 == second)
            .unwrap()
            .feedback
            .as_deref(),
        Some("up")
    );

    // Export: one line per record, with its consent and teacher context.
    let exported = app.learning().training_data("ui").export(None).unwrap();
    let lines: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["consent"]["granted"], true);
    assert!(lines[0]["teacher"].is_array() && lines[1]["teacher"].is_null());
    assert_eq!(app.store().training_set(10).unwrap().len(), 2);

    // Withdrawn: old records leave the training set, new turns are not kept.
    consent(&app, "app", false).await;
    assert!(app.store().training_set(10).unwrap().is_empty());
    let (_, _, learnable) = turn(&app, Some(session.clone()), "Thanks").await;
    assert!(!learnable);
    let overview = app.learning().data_overview().await.unwrap();
    let source = overview.sources.iter().find(|s| s.source == "app").unwrap();
    assert_eq!(
        (source.training, source.total, source.judged, source.hinted),
        (Some(false), 2, 2, 1)
    );
    assert_eq!(
        audited(&app, "learning.consent"),
        [
            ("app".into(), "granted".into()),
            ("app".into(), "withdrawn".into())
        ]
    );

    // Deleting: one record, then the source; both audited.
    let bad = app
        .learning()
        .delete_training_data(DeleteTrainingData {
            id: None,
            source: None,
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("name either one record"));
    let removed = app
        .learning()
        .delete_training_data(DeleteTrainingData {
            id: Some(edited.id),
            source: None,
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let removed = app
        .learning()
        .delete_training_data(DeleteTrainingData {
            id: None,
            source: Some("app".into()),
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(app
        .learning()
        .list_trajectories(TrajectoryQuery {
            source: None,
            limit: None
        })
        .await
        .unwrap()
        .is_empty());
    let deletions = audited(&app, "learning.delete");
    assert_eq!(
        deletions,
        [
            (format!("trajectory:{}", edited.id), "done".into()),
            ("app".into(), "done".into())
        ]
    );
    assert!(app.verify_audit().unwrap().broken_at.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_gives_way_to_chat_and_resumes_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    consent(&app, "app", true).await;
    let (session, _, _) = turn(&app, None, "one").await;
    for text in ["two", "three", "four"] {
        turn(&app, Some(session.clone()), text).await;
    }
    assert_eq!(app.store().trajectories_waiting().unwrap(), 3);

    // While a chat is being answered, the judge does nothing.
    let request = GenerationRequest {
        messages: vec![ChatMessage {
            role: Role::User,
            content: "a long answer".into(),
            ..Default::default()
        }],
        params: GenerationParams {
            max_tokens: Some(64),
            ..Default::default()
        },
    };
    let mut chat = app
        .chat(ChatCall {
            session_key: None,
            session_id: None,
            source: "test".into(),
            request,
            with_soul: false,
            with_memory: false,
            learning_source: "client:test".into(),
            side_turn: false,
        })
        .await
        .unwrap();
    assert_eq!(
        app.learning().judge_pending(10).await.unwrap(),
        0,
        "the judge waits while a chat runs"
    );
    let saved = chat.saved();
    drop(chat);
    saved.await;

    // Nor while the agent is halted.
    app.halt();
    assert_eq!(
        app.learning().judge_pending(10).await.unwrap(),
        0,
        "a halted agent does not judge"
    );
    app.resume();

    // One turn judged, then the process goes away.
    assert_eq!(app.learning().judge_pending(1).await.unwrap(), 1);
    let first = app
        .store()
        .trajectories(None, 10)
        .unwrap()
        .into_iter()
        .filter(|t| t.judgment.is_some())
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 1);
    drop(app);

    let app = start(data.path(), true).await;
    assert_eq!(
        app.store().trajectories_waiting().unwrap(),
        2,
        "the queue survives the restart"
    );
    assert_eq!(app.learning().judge_pending(10).await.unwrap(), 2);
    let again = app.store().trajectory(first[0].id).unwrap();
    assert_eq!(
        again.judgment, first[0].judgment,
        "the turn judged before the restart is not judged again"
    );
    assert_eq!(audited(&app, "learning.judge").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_turns_and_other_sources_follow_their_own_consent() {
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), true).await;
    consent(&app, "client:editor", true).await;
    let ask = |side_turn: bool, source: &str, key: &str| ChatCall {
        session_key: Some(key.into()),
        session_id: None,
        source: "gateway".into(),
        request: GenerationRequest {
            messages: vec![ChatMessage {
                role: Role::User,
                content: "name this chat".into(),
                ..Default::default()
            }],
            params: GenerationParams {
                max_tokens: Some(4),
                ..Default::default()
            },
        },
        with_soul: false,
        with_memory: false,
        learning_source: source.into(),
        side_turn,
    };
    for (side, source, key) in [
        (true, "client:editor", "s1"),
        (false, "client:editor", "s2"),
        (false, "client:other", "s3"),
    ] {
        let mut chat = app.chat(ask(side, source, key)).await.unwrap();
        let saved = chat.saved();
        while futures::StreamExt::next(&mut chat).await.is_some() {}
        let saved = saved.await;
        assert_eq!(
            saved.learnable,
            !side && source == "client:editor",
            "{side} {source}"
        );
    }
    let records = app.store().trajectories(None, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].turn.source, "client:editor");
    // A session's own withdrawal wins over its client's grant.
    consent(
        &app,
        &format!("session:{}", records[0].turn.session_id),
        false,
    )
    .await;
    let mut chat = app.chat(ask(false, "client:editor", "s2")).await.unwrap();
    let saved = chat.saved();
    while futures::StreamExt::next(&mut chat).await.is_some() {}
    assert!(!saved.await.learnable);
    let bad = app
        .learning()
        .set_consent(SetConsent {
            source: "everyone".into(),
            purpose: None,
            granted: true,
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("not a consent source"), "{bad}");
}

/// The learning loop holds the app only weakly: once the last `App` is
/// dropped nothing keeps it alive (its trust base flushes the audit anchor
/// when it goes), and the loop says Pincer is shutting down instead of
/// starting a round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learning_loop_does_not_keep_the_app_alive() {
    let data = tempfile::tempdir().unwrap();
    let app = super::start(data.path(), true).await;
    let _ = app.memory_ready().await;
    let learning = app.learning().clone();
    drop(app);
    let error = learning.start_training().await.unwrap_err();
    assert!(
        matches!(error, pincer_learning::LearningError::Closing),
        "{error}"
    );
}
