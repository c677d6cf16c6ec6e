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
