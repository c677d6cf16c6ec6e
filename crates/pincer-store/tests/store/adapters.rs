//! The adapter registry: every version kept, at most one serving, and a
//! rollback that changes only which one serves.

use pincer_store::{NewAdapter, StoreError};

fn adapter(path: &str, parent: Option<i64>) -> NewAdapter {
    NewAdapter {
        base_model: "/models/tiny".into(),
        parent_id: parent,
        path: path.into(),
        settings: serde_json::json!({"rank": 16}),
        data: serde_json::json!({"trained": [1, 2], "held_out": [3]}),
        metrics: serde_json::json!({"drift": 0.01}),
    }
}

#[test]
fn one_adapter_serves_at_a_time_and_rollback_moves_only_that() {
    let (_dir, store) = crate::fresh();
    assert_eq!(store.serving_adapter().unwrap(), None);
    let first = store
        .add_adapter(&adapter("/a/1", None), true, "(a) better")
        .unwrap();
    assert_eq!(first.status, "serving");
    let rejected = store
        .add_adapter(
            &adapter("/a/2", Some(first.id)),
            false,
            "(b) tool_call worse",
        )
        .unwrap();
    assert_eq!(
        (rejected.status.as_str(), rejected.reason.as_str()),
        ("rejected", "(b) tool_call worse")
    );
    assert_eq!(
        store.serving_adapter().unwrap().unwrap().id,
        first.id,
        "a rejected adapter never serves by itself"
    );
    let second = store
        .add_adapter(&adapter("/a/3", Some(first.id)), true, "(a) better")
        .unwrap();
    assert_eq!(store.adapter(first.id).unwrap().unwrap().status, "kept");
    assert_eq!(store.serving_adapter().unwrap().unwrap().id, second.id);

    store
        .serve_adapter(Some(first.id), "rollback by the owner")
        .unwrap();
    let listed = store.adapters().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|a| (a.id, a.status.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (second.id, "kept"),
            (rejected.id, "rejected"),
            (first.id, "serving")
        ]
    );
    assert_eq!(
        listed[2].adapter,
        adapter("/a/1", None),
        "settings, data and metrics read back as written"
    );
    store.serve_adapter(None, "back to the base").unwrap();
    assert_eq!(store.serving_adapter().unwrap(), None);
    assert!(matches!(
        store.serve_adapter(Some(99), "x"),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.serving_adapter().unwrap(),
        None,
        "a failed switch changes nothing"
    );
}

#[test]
fn turns_ready_for_training_count_only_those_no_adapter_trained_on() {
    use pincer_store::{purpose, Judgment, NewSession, NewTrajectory, Vote};
    let (_dir, store) = crate::fresh();
    let grant = store
        .set_consent("app", purpose::TRAINING, true, "ui")
        .unwrap();
    let session = store.create_session(NewSession::default()).unwrap();
    let mut ids = vec![];
    for n in 0..4 {
        let turn = NewTrajectory {
            session_id: session.id.clone(),
            source: "app".into(),
            model: "tiny".into(),
            response: format!("answer {n}"),
            ..Default::default()
        };
        let id = store.record_trajectory(&turn, &grant).unwrap();
        store
            .set_next_state(&session.id, "user_reply", "ok")
            .unwrap();
        ids.push(id);
    }
    assert_eq!(
        store.training_ready().unwrap(),
        (0, 0),
        "nothing judged yet"
    );
    let judgment = Judgment {
        score: 1,
        votes: vec![Vote {
            score: 1,
            reasoning: "r".into(),
            hint: None,
        }],
        hint: None,
        judge: "tiny".into(),
    };
    for id in &ids[..3] {
        store.record_judgment(*id, &judgment).unwrap();
    }
    assert_eq!(store.training_ready().unwrap(), (3, 3));

    let mut trained = adapter("/a/1", None);
    trained.data = serde_json::json!({"trained": [ids[0], ids[1]], "skipped": 0});
    store.add_adapter(&trained, false, "(a) no gain").unwrap();
    assert_eq!(
        store.training_ready().unwrap(),
        (3, 1),
        "a rejected round's turns are not new either"
    );
    store.record_judgment(ids[3], &judgment).unwrap();
    assert_eq!(store.training_ready().unwrap(), (4, 2));

    store
        .set_consent("app", purpose::TRAINING, false, "ui")
        .unwrap();
    assert_eq!(
        store.training_ready().unwrap(),
        (0, 0),
        "a withdrawal counts nothing"
    );
}
