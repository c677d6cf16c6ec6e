//! Reading the `mcp` config: OpenClaw's shape, and clear errors for bad entries.

use pincer_mcp::{ConfigValue, McpConfig, McpServerStatus, SecretRef, ServerConfig};
use serde_json::{json, Value};

fn error(servers: Value) -> String {
    McpConfig::from_json(json!({ "servers": servers }))
        .expect_err("a bad config")
        .to_string()
}

#[test]
fn openclaw_entries_are_read() {
    let config = McpConfig::from_json(json!({"servers": {
        "files": {"command": "npx", "args": ["-y", "server-files", "/tmp"], "env": {"DEBUG": "1", "API_KEY": {"secret": "mcp/files/key"}}, "cwd": "/tmp"},
        "git-hub": {"url": "https://example.com/mcp", "transport": "streamable-http", "headers": {"Authorization": {"secret": "mcp/git-hub/token", "prefix": "Bearer "}}},
    }}))
    .expect("valid");
    let ServerConfig::Stdio(files) = &config.servers()["files"] else {
        panic!("stdio")
    };
    assert_eq!((files.command.as_str(), files.args.len()), ("npx", 3));
    assert_eq!(
        files.env["API_KEY"],
        ConfigValue::Secret(SecretRef {
            secret: "mcp/files/key".into(),
            prefix: None
        })
    );
    let ServerConfig::Http(hub) = &config.servers()["git-hub"] else {
        panic!("http")
    };
    assert_eq!(hub.url, "https://example.com/mcp");

    // It reads through serde as part of a larger config, and writes back the same.
    let round: McpConfig =
        serde_json::from_value(serde_json::to_value(&config).expect("serialises"))
            .expect("reads back");
    assert_eq!(round, config);
}

#[test]
fn bad_names_are_refused_with_the_rule() {
    for name in [
        "Notes",
        "my server",
        "a__b",
        "_x",
        "x-",
        "",
        "this-name-is-far-too-long-for-a-prefix",
    ] {
        let message = error(json!({ name: {"command": "x"} }));
        assert!(
            message.contains(&format!("MCP server '{name}'")) && message.contains("rename it"),
            "{message}"
        );
    }
}

#[test]
fn entries_must_say_how_to_reach_the_server() {
    let neither = error(json!({"notes": {"args": ["x"]}}));
    assert!(
        neither.contains("'notes'")
            && neither.contains("neither `command` nor `url`")
            && neither.contains("add `command`"),
        "{neither}"
    );
    let both = error(json!({"notes": {"command": "x", "url": "https://example.com"}}));
    assert!(both.contains("both `command` and `url`"), "{both}");
    let sse = error(json!({"old": {"url": "https://example.com/sse", "transport": "sse"}}));
    assert!(
        sse.contains("transport \"sse\" is not supported") && sse.contains("streamable-http"),
        "{sse}"
    );
    let typo = error(json!({"notes": {"comand": "x"}}));
    assert!(
        typo.contains("'notes'") && typo.contains("comand"),
        "{typo}"
    );
    let url = error(json!({"web": {"url": "not a url"}}));
    assert!(url.contains("is not a URL"), "{url}");
    let empty = error(json!({"notes": {"command": " "}}));
    assert!(empty.contains("`command` is empty"), "{empty}");
}

#[test]
fn secrets_stay_with_their_server_and_off_plain_http() {
    let foreign =
        error(json!({"notes": {"command": "x", "env": {"KEY": {"secret": "provider/openai"}}}}));
    assert!(
        foreign.contains("'provider/openai'") && foreign.contains("mcp/notes/<name>"),
        "{foreign}"
    );
    let clear = error(
        json!({"web": {"url": "http://example.com/mcp", "headers": {"Authorization": {"secret": "mcp/web/token"}}}}),
    );
    assert!(
        clear.contains("clear text") && clear.contains("https://"),
        "{clear}"
    );
    let reserved = error(
        json!({"web": {"url": "https://example.com/mcp", "headers": {"Mcp-Session-Id": "x"}}}),
    );
    assert!(reserved.contains("set by the MCP transport"), "{reserved}");
    // Loopback servers may take a token over plain http.
    McpConfig::from_json(json!({"servers": {"local": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": {"secret": "mcp/local/token"}}}}}))
        .expect("loopback is fine");
}

#[test]
fn a_bad_config_read_through_serde_names_the_server() {
    let message = serde_json::from_value::<McpConfig>(json!({"servers": {"x": {}}}))
        .expect_err("bad")
        .to_string();
    assert!(
        message.contains("MCP server 'x'") && message.contains("neither"),
        "{message}"
    );
}

#[test]
fn statuses_serialise_in_camel_case_for_the_ui() {
    let status = McpServerStatus::Restarting {
        attempt: 2,
        next_in_ms: 2000,
        reason: "it exited".into(),
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"state": "restarting", "attempt": 2, "nextInMs": 2000, "reason": "it exited"})
    );
    assert_eq!(
        serde_json::to_value(McpServerStatus::Running { tools: 3 }).unwrap(),
        json!({"state": "running", "tools": 3})
    );
    // The state's name, as the pane and the audit log spell it, is the tag.
    for status in [
        McpServerStatus::Starting,
        McpServerStatus::Running { tools: 1 },
        McpServerStatus::Failed { reason: "no such program".into() },
        status,
        McpServerStatus::Stopped,
    ] {
        assert_eq!(serde_json::to_value(&status).unwrap()["state"], status.state());
    }
}
