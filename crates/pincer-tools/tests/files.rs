//! The file tools stay inside the places the owner granted: `..`, absolute
//! paths and links that lead outside are refused, read-only places are not
//! written, and a bad call is an error result naming what to do.

use pincer_tools::{file_tools, run_file_tool, Effect, Places, ToolError};
use serde_json::json;
use std::os::unix::fs::symlink;

struct Fixture {
    workspace: tempfile::TempDir,
    shared: tempfile::TempDir,
    outside: tempfile::TempDir,
    places: Places,
}

fn fixture() -> Fixture {
    let workspace = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("notes.md"),
        "one\ntwo apples\nthree\n",
    )
    .unwrap();
    std::fs::write(shared.path().join("recipes.md"), "Apple pie\n").unwrap();
    std::fs::write(outside.path().join("secret.txt"), "the diary\n").unwrap();
    let places = Places::none()
        .grant(workspace.path(), true)
        .unwrap()
        .grant(shared.path(), false)
        .unwrap();
    Fixture {
        workspace,
        shared,
        outside,
        places,
    }
}

fn refused(result: pincer_tools::Result<serde_json::Value>) -> String {
    match result {
        Err(ToolError::Refused(why)) => why,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn reads_inside_the_places_and_lines_as_asked() {
    let f = fixture();
    let read = run_file_tool(
        &f.places,
        "read_file",
        json!({"path": "notes.md", "start_line": 2, "end_line": 2}),
    )
    .unwrap();
    assert_eq!(read["text"], "two apples");
    assert_eq!(read["lines"], 3);
    let shared = f.shared.path().join("recipes.md");
    let read = run_file_tool(&f.places, "read_file", json!({"path": shared})).unwrap();
    assert_eq!(read["text"], "Apple pie");
    let listed = run_file_tool(&f.places, "list_files", json!({})).unwrap();
    assert_eq!(listed["entries"][0]["name"], "notes.md");
    let found = run_file_tool(&f.places, "search_files", json!({"query": "APPLE"})).unwrap();
    assert_eq!(found["hits"].as_array().unwrap().len(), 1);
    assert_eq!(found["hits"][0]["line"], 2);
}

#[test]
fn dot_dot_absolute_paths_and_links_out_are_refused() {
    let f = fixture();
    let escape = format!(
        "../{}/secret.txt",
        f.outside.path().file_name().unwrap().to_string_lossy()
    );
    let why = refused(run_file_tool(
        &f.places,
        "read_file",
        json!({"path": escape}),
    ));
    assert!(why.contains("outside the folders granted"), "{why}");
    let absolute = f.outside.path().join("secret.txt");
    refused(run_file_tool(
        &f.places,
        "read_file",
        json!({"path": absolute}),
    ));
    refused(run_file_tool(
        &f.places,
        "read_file",
        json!({"path": "/etc/passwd"}),
    ));
    symlink(
        f.outside.path().join("secret.txt"),
        f.workspace.path().join("link.txt"),
    )
    .unwrap();
    refused(run_file_tool(
        &f.places,
        "read_file",
        json!({"path": "link.txt"}),
    ));
    symlink(f.outside.path(), f.workspace.path().join("door")).unwrap();
    refused(run_file_tool(
        &f.places,
        "list_files",
        json!({"path": "door"}),
    ));
    refused(run_file_tool(
        &f.places,
        "write_file",
        json!({"path": "door/new.txt", "content": "x"}),
    ));
    refused(run_file_tool(
        &f.places,
        "write_file",
        json!({"path": "link.txt", "content": "x"}),
    ));
    symlink(
        f.outside.path().join("planted.txt"),
        f.workspace.path().join("dangling"),
    )
    .unwrap();
    refused(run_file_tool(
        &f.places,
        "write_file",
        json!({"path": "dangling", "content": "x"}),
    ));
    assert_eq!(
        std::fs::read_to_string(f.outside.path().join("secret.txt")).unwrap(),
        "the diary\n"
    );
    assert!(!f.outside.path().join("planted.txt").exists());
    assert!(!f.outside.path().join("new.txt").exists());
}

#[test]
fn a_read_only_place_is_not_written_and_a_writable_one_is() {
    let f = fixture();
    let recipes = f.shared.path().join("recipes.md");
    let why = refused(run_file_tool(
        &f.places,
        "write_file",
        json!({"path": recipes, "content": "gone"}),
    ));
    assert!(why.contains("read only"), "{why}");
    assert_eq!(std::fs::read_to_string(&recipes).unwrap(), "Apple pie\n");
    let wrote = run_file_tool(
        &f.places,
        "write_file",
        json!({"path": "drafts.md", "content": "a draft\n"}),
    )
    .unwrap();
    assert_eq!(wrote["bytes"], 8);
    assert_eq!(
        std::fs::read_to_string(f.workspace.path().join("drafts.md")).unwrap(),
        "a draft\n"
    );
}

#[test]
fn a_folder_granted_again_changes_in_place_and_a_revoked_one_is_refused() {
    let f = fixture();
    let recipes = f.shared.path().join("recipes.md");
    // Spelt another way (through `..`), the same folder: made writable.
    let respelt = f.shared.path().join("..").join(f.shared.path().file_name().unwrap());
    let mut places = f.places.clone().grant(&respelt, true).unwrap();
    assert_eq!(places.list().len(), 2, "no second entry for the same folder");
    run_file_tool(&places, "write_file", json!({"path": recipes, "content": "Plum pie\n"})).unwrap();
    assert_eq!(std::fs::read_to_string(&recipes).unwrap(), "Plum pie\n");

    assert!(places.revoke(&respelt));
    assert!(!places.revoke(&respelt), "revoked once");
    let why = refused(run_file_tool(&places, "read_file", json!({"path": recipes})));
    assert!(why.contains("outside the folders granted"), "{why}");
    assert!(run_file_tool(&places, "read_file", json!({"path": "notes.md"})).is_ok());
}

#[test]
fn an_edit_must_name_text_that_occurs_once() {
    let f = fixture();
    let notes = f.workspace.path().join("notes.md");
    std::fs::write(&notes, "tea\ncoffee\ntea\n").unwrap();
    let twice = run_file_tool(
        &f.places,
        "edit_file",
        json!({"path": "notes.md", "old_text": "tea", "new_text": "juice"}),
    );
    assert!(
        matches!(&twice, Err(ToolError::InvalidArguments(why)) if why.contains("occurs 2 times")),
        "{twice:?}"
    );
    let absent = run_file_tool(
        &f.places,
        "edit_file",
        json!({"path": "notes.md", "old_text": "milk", "new_text": "x"}),
    );
    assert!(
        matches!(&absent, Err(ToolError::InvalidArguments(why)) if why.contains("not in")),
        "{absent:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "tea\ncoffee\ntea\n"
    );
    run_file_tool(
        &f.places,
        "edit_file",
        json!({"path": "notes.md", "old_text": "coffee", "new_text": "cocoa"}),
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "tea\ncocoa\ntea\n"
    );
}

#[test]
fn a_malformed_call_is_an_error_result_naming_the_problem() {
    let f = fixture();
    let unknown = run_file_tool(&f.places, "delete_everything", json!({}));
    assert_eq!(
        unknown,
        Err(ToolError::UnknownTool("delete_everything".into()))
    );
    let extra = run_file_tool(
        &f.places,
        "read_file",
        json!({"path": "notes.md", "mode": "raw"}),
    )
    .unwrap_err();
    assert!(
        extra.to_string().contains("unknown field `mode`"),
        "{extra}"
    );
    let wrong = run_file_tool(&f.places, "read_file", json!({"path": 7})).unwrap_err();
    assert!(wrong.to_string().contains("invalid type"), "{wrong}");
    let missing = run_file_tool(&f.places, "read_file", json!({"path": "nope.md"})).unwrap_err();
    assert!(matches!(missing, ToolError::NotFound(_)), "{missing:?}");
    let nothing =
        run_file_tool(&Places::none(), "read_file", json!({"path": "notes.md"})).unwrap_err();
    assert!(
        nothing.to_string().contains("no folder is granted"),
        "{nothing}"
    );
}

#[test]
fn every_file_tool_declares_its_effect_and_an_object_schema() {
    let tools = file_tools();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), tools.len(), "names are unique");
    for tool in &tools {
        assert_eq!(tool.parameters["type"], "object", "{}", tool.name);
        assert_eq!(
            tool.parameters["additionalProperties"], false,
            "{}",
            tool.name
        );
        let writes = tool.name.starts_with("write") || tool.name.starts_with("edit");
        assert_eq!(tool.effect == Effect::Write, writes, "{}", tool.name);
    }
}
