//! Trajectories and consent in the real database: nothing without a grant,
//! next states and feedback attach to the right turn, a judgment is written
//! once, and a withdrawal keeps a source out of training.

use pincer_store::{purpose, Judgment, NewSession, NewTrajectory, Store, TokenRecord, Vote};

fn turn(session_id: &str, source: &str, response: &str) -> NewTrajectory {
    NewTrajectory {
        session_id: session_id.into(),
        source: source.into(),
        model: "tiny".into(),
        prompt: serde_json::json!({"messages": [{"role": "user", "content": "hi"}]}),
        response: response.into(),
        tokens: vec![TokenRecord {
            id: Some(7),
            text: response.into(),
            logprob: -0.5,
        }],
        ..Default::default()
    }
}

fn judged(score: i8) -> Judgment {
    Judgment {
        score,
        votes: vec![Vote {
            score,
            reasoning: "r".into(),
            hint: None,
        }],
        hint: None,
        judge: "tiny".into(),
    }
}

#[test]
fn consent_gates_records_and_withdrawal_empties_the_training_set() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    let session = store.create_session(NewSession::default()).unwrap();
    assert_eq!(
        store
            .consent_for(
                &[&format!("session:{}", session.id), "app"],
                purpose::TRAINING
            )
            .unwrap(),
        None,
        "off until asked"
    );
    let withdrawn = store
        .set_consent("app", purpose::TRAINING, false, "ui")
        .unwrap();
    assert!(
        store
            .record_trajectory(&turn(&session.id, "app", "x"), &withdrawn)
            .is_err(),
        "a withdrawal is no grant"
    );

    let grant = store
        .set_consent("app", purpose::TRAINING, true, "ui")
        .unwrap();
    let first = store
        .record_trajectory(&turn(&session.id, "app", "Paris."), &grant)
        .unwrap();
    assert_eq!(
        store
            .set_next_state(&session.id, "user_reply", "thanks!")
            .unwrap(),
        Some(first)
    );
    let second = store
        .record_trajectory(&turn(&session.id, "app", "It is 5."), &grant)
        .unwrap();
    assert_eq!(
        store
            .set_next_state(&session.id, "user_reply", "no, 4")
            .unwrap(),
        Some(second),
        "the newest turn gets it"
    );
    assert_eq!(
        store
            .set_next_state(&session.id, "user_reply", "again")
            .unwrap(),
        None,
        "each turn has one next state"
    );
    assert_eq!(
        store.trajectory(first).unwrap().next_text.as_deref(),
        Some("thanks!")
    );

    // The judge's queue, written once each.
    let queue: Vec<i64> = store
        .trajectories_to_judge(10)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(queue, [first, second]);
    assert!(store.record_judgment(first, &judged(1)).unwrap());
    assert!(
        !store.record_judgment(first, &judged(-1)).unwrap(),
        "a judged turn is not judged again"
    );
    assert!(store.record_judgment(second, &judged(-1)).unwrap());
    assert!(store.trajectories_to_judge(10).unwrap().is_empty());
    assert_eq!(store.trajectory(first).unwrap().judgment.unwrap().score, 1);
    assert_eq!(store.training_set(10).unwrap().len(), 2);

    // A session withdrawn on its own, then the whole source.
    store
        .set_consent(
            &format!("session:{}", session.id),
            purpose::TRAINING,
            false,
            "ui",
        )
        .unwrap();
    assert!(
        store.training_set(10).unwrap().is_empty(),
        "the session's withdrawal holds over the app's grant"
    );
    store
        .set_consent(
            &format!("session:{}", session.id),
            purpose::TRAINING,
            true,
            "ui",
        )
        .unwrap();
    store
        .set_consent("app", purpose::TRAINING, false, "ui")
        .unwrap();
    assert_eq!(
        store.training_set(10).unwrap().len(),
        2,
        "the session's own grant is more specific"
    );
    store
        .set_consent(
            &format!("session:{}", session.id),
            purpose::TRAINING,
            false,
            "ui",
        )
        .unwrap();
    assert!(store.training_set(10).unwrap().is_empty());
    let ledger = store.consents().unwrap();
    assert_eq!(
        ledger.len(),
        2,
        "the latest decision per source: {ledger:?}"
    );

    // Feedback and deletion.
    let with_feedback = store
        .set_feedback(second, "edit", Some("It is 4."))
        .unwrap();
    assert_eq!(
        (
            with_feedback.feedback.as_deref(),
            with_feedback.edited_answer.as_deref()
        ),
        (Some("edit"), Some("It is 4."))
    );
    assert!(store.set_feedback(999, "up", None).is_err());
    let stats = store.trajectory_stats().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (stats[0].source.as_str(), stats[0].total, stats[0].judged),
        ("app", 2, 2)
    );
    assert_eq!(
        (stats[0].positive, stats[0].neutral, stats[0].negative),
        (1, 0, 1)
    );
    assert_eq!(store.delete_trajectories(Some(first), None).unwrap(), 1);
    assert_eq!(store.delete_trajectories(None, Some("app")).unwrap(), 1);
    assert!(store.trajectories(None, 10).unwrap().is_empty());
}

#[test]
fn the_judges_queue_follows_consent_and_feedback_after_judging_rescores() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    let session = store.create_session(NewSession::default()).unwrap();
    let grant = store
        .set_consent("client:editor", purpose::TRAINING, true, "cli")
        .unwrap();
    let id = store
        .record_trajectory(&turn(&session.id, "client:editor", "Paris."), &grant)
        .unwrap();
    store
        .set_next_state(&session.id, "user_reply", "wrong")
        .unwrap();
    assert_eq!(store.trajectories_waiting().unwrap(), 1);
    store
        .set_consent("client:editor", purpose::TRAINING, false, "cli")
        .unwrap();
    assert_eq!(
        store.trajectories_waiting().unwrap(),
        0,
        "a withdrawn source is not judged"
    );
    assert!(store.trajectories_to_judge(10).unwrap().is_empty());
    store
        .set_consent("client:editor", purpose::TRAINING, true, "cli")
        .unwrap();
    assert_eq!(store.trajectories_to_judge(10).unwrap().len(), 1);

    assert!(
        !store.rescore(id, &judged(1)).unwrap(),
        "only a judged turn is rescored"
    );
    assert!(store.record_judgment(id, &judged(0)).unwrap());
    let corrected = Judgment {
        hint: Some("Check the capital first.".into()),
        ..judged(-1)
    };
    assert!(store.rescore(id, &corrected).unwrap());
    let judgment = store.trajectory(id).unwrap().judgment.unwrap();
    assert_eq!(
        (judgment.score, judgment.hint.as_deref()),
        (-1, Some("Check the capital first."))
    );
    assert_eq!(
        judgment.votes,
        judged(0).votes,
        "the votes stay as the judge cast them"
    );

    let message = store
        .record_exchange(
            &session.id,
            &[pincer_store::NewMessage::new("user", "q")],
            &pincer_store::NewMessage::new("assistant", "a"),
        )
        .unwrap();
    let with_message = NewTrajectory {
        message_id: Some(message),
        ..turn(&session.id, "client:editor", "a")
    };
    let linked = store.record_trajectory(&with_message, &grant).unwrap();
    assert_eq!(
        store.trajectory_for_message(message).unwrap().map(|t| t.id),
        Some(linked)
    );
    store.set_feedback(linked, "down", None).unwrap();
    assert_eq!(
        store.feedback_in_session(&session.id).unwrap(),
        [(message, Some("down".to_string()))]
    );
    assert_eq!(store.consent_ledger().unwrap().len(), 3);
    assert_eq!(store.consent(grant.id).unwrap(), Some(grant));
    // Deleting the chat deletes its records.
    store.delete_session(&session.id).unwrap();
    assert!(store.trajectories(None, 10).unwrap().is_empty());
}
