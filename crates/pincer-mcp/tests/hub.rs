//! The hub against real MCP servers: the official Python SDK's MCPServer
//! (tests/servers/notes_server.py) over stdio and streamable HTTP.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{alive, notes, python, script, server_pid, wait_for, wait_gone, DEADLINE};
use pincer_mcp::{McpConfig, McpError, McpEvent, McpHub, McpServerStatus};
use serde_json::json;
use tokio::time::Instant;

const CALL: Duration = Duration::from_secs(20);

fn config(servers: serde_json::Value) -> McpConfig {
    McpConfig::from_json(json!({ "servers": servers })).expect("a valid config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_lists_its_tools_and_answers_calls() {
    let hub = McpHub::builder(config(json!({"notes": notes(&[])})))
        .start()
        .await;
    assert_eq!(
        hub.status("notes"),
        Some(McpServerStatus::Running { tools: 5 })
    );

    let tools = hub.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.qualified_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "notes__fail",
            "notes__pid",
            "notes__read_note",
            "notes__slow",
            "notes__write_note"
        ]
    );
    let read_only = |name: &str| tools.iter().find(|t| t.tool == name).map(|t| t.read_only);
    assert_eq!(
        read_only("read_note"),
        Some(true),
        "readOnlyHint=True is read only"
    );
    assert_eq!(
        read_only("write_note"),
        Some(false),
        "no hint is not read only"
    );
    let write = tools
        .iter()
        .find(|t| t.tool == "write_note")
        .expect("write_note");
    assert_eq!(write.server, "notes");
    assert_eq!(write.description, "Writes text as the note called title.");
    assert_eq!(write.input_schema["required"], json!(["title", "text"]));

    let saved = hub
        .call(
            "notes__write_note",
            json!({"title": "plan", "text": "buy rope"}),
            CALL,
        )
        .await
        .expect("write");
    assert_eq!((saved.text.as_str(), saved.is_error), ("saved plan", false));
    let read = hub
        .call("notes__read_note", json!({"title": "plan"}), CALL)
        .await
        .expect("read");
    assert_eq!(read.text, "buy rope");

    let failed = hub
        .call(
            "notes__fail",
            json!({"message": "the disk is on fire"}),
            CALL,
        )
        .await
        .expect("a tool error is an answer");
    assert!(failed.is_error, "{failed:?}");
    assert!(
        failed.text.contains("the disk is on fire"),
        "{}",
        failed.text
    );

    let unknown = hub
        .call("notes__nope", json!({}), CALL)
        .await
        .expect_err("no such tool");
    assert!(matches!(unknown, McpError::UnknownTool { .. }), "{unknown}");
    let bad = hub
        .call("notes__read_note", json!(["plan"]), CALL)
        .await
        .expect_err("arguments must be an object");
    assert!(
        bad.to_string()
            .contains("must be a JSON object, not an array"),
        "{bad}"
    );

    let late = hub
        .call(
            "notes__slow",
            json!({"seconds": 30}),
            Duration::from_millis(300),
        )
        .await
        .expect_err("too slow");
    assert!(
        matches!(late, McpError::Timeout { after_ms: 300, .. }),
        "{late}"
    );
    let quick = hub.call("notes__slow", json!({"seconds": 0}), CALL).await;
    assert_eq!(
        quick
            .expect("the server goes on after a cancelled call")
            .text,
        "done"
    );

    let pid = server_pid(&hub, "notes").await;
    hub.shutdown().await;
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "shutdown leaves no child process (not even a zombie)"
    );
    assert_eq!(hub.status("notes"), Some(McpServerStatus::Stopped));
    let after = hub
        .call("notes__read_note", json!({"title": "plan"}), CALL)
        .await
        .expect_err("stopped");
    assert!(matches!(after, McpError::NotRunning { .. }), "{after}");
}

/// The notes server over streamable HTTP, killed when the test ends.
struct HttpServer {
    child: tokio::process::Child,
    port: u16,
}

impl HttpServer {
    async fn start(required_header: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = tokio::process::Command::new(python())
            .args([
                script(),
                "--transport".into(),
                "streamable-http".into(),
                "--port".into(),
                port.to_string(),
            ])
            .args(["--require-header", required_header])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the HTTP server starts");
        let deadline = Instant::now() + DEADLINE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                child.try_wait().expect("status").is_none(),
                "the HTTP test server exited"
            );
            assert!(
                Instant::now() < deadline,
                "the HTTP test server never listened on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_gets_its_header_from_the_secret_lookup() {
    let mut server = HttpServer::start("authorization=Bearer s3cret-token").await;
    let url = server.url();
    let token = |name: &str| json!({"secret": format!("mcp/{name}/token"), "prefix": "Bearer "});
    let config = config(json!({
        "remote": {"url": url, "transport": "streamable-http", "headers": {"Authorization": token("remote")}},
        "nokey": {"url": url, "headers": {"Authorization": token("nokey")}},
        "wrongkey": {"url": url, "headers": {"Authorization": token("wrongkey")}},
    }));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let hub = McpHub::builder(config)
        .secrets(move |name| {
            seen.lock().unwrap().push(name.to_string());
            match name {
                "mcp/remote/token" => Some("s3cret-token".into()),
                "mcp/wrongkey/token" => Some("guessed".into()),
                _ => None,
            }
        })
        .backoff(Duration::from_secs(60), Duration::from_secs(60))
        .start()
        .await;

    assert_eq!(
        hub.status("remote"),
        Some(McpServerStatus::Running { tools: 5 })
    );
    let saved = hub
        .call(
            "remote__write_note",
            json!({"title": "t", "text": "over http"}),
            CALL,
        )
        .await
        .expect("write");
    assert_eq!(saved.text, "saved t");
    let read = hub
        .call("remote__read_note", json!({"title": "t"}), CALL)
        .await
        .expect("read");
    assert_eq!((read.text.as_str(), read.is_error), ("over http", false));
    let failed = hub
        .call("remote__fail", json!({"message": "nope"}), CALL)
        .await
        .expect("a tool error is an answer");
    assert!(failed.is_error);

    let Some(McpServerStatus::Failed { reason }) = hub.status("nokey") else {
        panic!("{:?}", hub.status("nokey"))
    };
    assert!(
        reason.contains("mcp/nokey/token") && reason.contains("pincer secrets set"),
        "{reason}"
    );
    let wrong = hub.status("wrongkey").expect("configured");
    assert!(
        !matches!(wrong, McpServerStatus::Running { .. }),
        "a wrong token is refused: {wrong:?}"
    );
    assert!(
        wrong.to_string().contains("HTTP 401"),
        "the reason names the refusal: {wrong}"
    );
    assert!(
        !wrong.to_string().contains("rmcp::"),
        "no SDK type names in a reason: {wrong}"
    );
    assert!(
        !wrong.to_string().contains("guessed"),
        "a secret never shows in a status: {wrong}"
    );

    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(
        asked,
        ["mcp/nokey/token", "mcp/remote/token", "mcp/wrongkey/token"]
    );
    hub.shutdown().await;
    server.child.kill().await.expect("the HTTP server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_cannot_start_are_reported_and_the_others_run() {
    let hub = McpHub::builder(config(json!({
        "good": notes(&[]),
        "missing": {"command": "/nonexistent/bin/mcp-server-that-is-not-there"},
        "garbage": notes(&["--garbage"]),
    })))
    .start_timeout(Duration::from_secs(8))
    .backoff(Duration::from_secs(60), Duration::from_secs(60))
    .start()
    .await;

    let Some(McpServerStatus::Failed { reason }) = hub.status("missing") else {
        panic!("{:?}", hub.statuses())
    };
    assert!(
        reason.contains("mcp-server-that-is-not-there' was not found"),
        "{reason}"
    );
    assert!(
        reason.contains("mcp.servers.missing.command"),
        "it says what to fix: {reason}"
    );
    let Some(McpServerStatus::Restarting {
        attempt: 1,
        next_in_ms: 60_000,
        reason,
    }) = hub.status("garbage")
    else {
        panic!("{:?}", hub.statuses())
    };
    assert!(
        reason.contains("did not complete the MCP handshake"),
        "{reason}"
    );

    assert_eq!(
        hub.status("good"),
        Some(McpServerStatus::Running { tools: 5 })
    );
    assert!(hub.tools().iter().all(|t| t.server == "good"));
    let read = hub
        .call("good__read_note", json!({"title": "x"}), CALL)
        .await
        .expect("the good server answers");
    assert_eq!(read.text, "no note called x");
    let down = hub
        .call("garbage__read_note", json!({}), CALL)
        .await
        .expect_err("not running");
    assert!(
        down.to_string()
            .contains("'garbage' is not running (restarting"),
        "{down}"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_server_is_restarted() {
    let events = Arc::new(Mutex::new(Vec::<McpEvent>::new()));
    let log = events.clone();
    let hub = McpHub::builder(config(json!({"flaky": notes(&["--crash-after", "1"])})))
        .backoff(Duration::from_millis(200), Duration::from_secs(5))
        .on_event(move |e| log.lock().unwrap().push(e.clone()))
        .start()
        .await;
    let first = server_pid(&hub, "flaky").await;

    let crash = hub
        .call("flaky__read_note", json!({"title": "x"}), CALL)
        .await
        .expect_err("the server dies mid-call");
    assert!(matches!(crash, McpError::Call { .. }), "{crash}");
    let restarting = wait_for(&hub, "flaky", |s| {
        matches!(s, McpServerStatus::Restarting { .. })
    })
    .await;
    wait_for(&hub, "flaky", |s| {
        matches!(s, McpServerStatus::Running { .. })
    })
    .await;
    wait_gone(first).await;
    let second = server_pid(&hub, "flaky").await;
    assert_ne!(first, second, "a new process");

    let seen: Vec<McpServerStatus> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.status.clone())
        .collect();
    assert!(
        matches!(
            seen.as_slice(),
            [
                McpServerStatus::Running { tools: 5 },
                McpServerStatus::Restarting { attempt: 1, .. },
                McpServerStatus::Running { tools: 5 }
            ]
        ),
        "{seen:?}"
    );
    let McpServerStatus::Restarting { reason, .. } = restarting else {
        unreachable!()
    };
    assert!(
        reason.contains("crashing on call 2 as asked"),
        "the reason quotes its stderr: {reason}"
    );
    hub.shutdown().await;
    assert!(!alive(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_hub_leaves_no_child_running() {
    let hub = McpHub::builder(config(json!({"notes": notes(&["--linger"])})))
        .start()
        .await;
    let pid = server_pid(&hub, "notes").await;
    assert!(alive(pid));
    drop(hub);
    wait_gone(pid).await;
}

#[test]
fn a_runtime_that_ends_with_the_hub_still_running_kills_its_children() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let pid = runtime.block_on(async {
        // --linger: closing its stdin is not enough, only a kill ends it.
        let hub = McpHub::builder(config(json!({"notes": notes(&["--linger"])})))
            .start()
            .await;
        let pid = server_pid(&hub, "notes").await;
        // The hub lives on in a task the runtime drops as it shuts down.
        tokio::spawn(async move {
            let _hub = hub;
            std::future::pending::<()>().await;
        });
        pid
    });
    assert!(alive(pid));
    drop(runtime);
    let deadline = std::time::Instant::now() + DEADLINE;
    while alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} outlived the runtime"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hub can be shared across tasks and its calls spawned.
#[allow(dead_code)]
fn the_hub_is_send_and_sync(hub: Arc<McpHub>) {
    fn send<T: Send>(_: T) {}
    send(async move { hub.call("a__b", json!({}), CALL).await });
}
