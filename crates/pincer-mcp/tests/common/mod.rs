//! Helpers for tests against real MCP servers (the official Python SDK).

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use pincer_mcp::{McpHub, McpServerStatus};
use serde_json::{json, Value};
use tokio::time::Instant;

/// How long anything in these tests may take before it counts as broken.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The Python that runs the test servers: `PINCER_TEST_PYTHON`, else the
/// workspace's `.venv`, which `scripts/install.sh` creates.
pub fn python() -> PathBuf {
    let path = std::env::var_os("PINCER_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python for the MCP test servers at {}: run `bash scripts/install.sh` (it installs tests/requirements.txt, with the `mcp` SDK, into .venv), or set PINCER_TEST_PYTHON",
        path.display()
    );
    path
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The notes server's script.
pub fn script() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/servers/notes_server.py")
        .display()
        .to_string()
}

/// A stdio entry running the notes server with `flags`.
pub fn notes(flags: &[&str]) -> Value {
    let mut args = vec![script()];
    args.extend(flags.iter().map(|f| f.to_string()));
    json!({"command": python().display().to_string(), "args": args})
}

/// Waits, on the hub's events, until `server`'s status satisfies `want`.
pub async fn wait_for(
    hub: &McpHub,
    server: &str,
    want: impl Fn(&McpServerStatus) -> bool,
) -> McpServerStatus {
    let deadline = Instant::now() + DEADLINE;
    let mut events = hub.subscribe();
    loop {
        let now = hub.status(server).expect("the server is configured");
        if want(&now) {
            return now;
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!("{server} never reached the awaited status; it is {now:?}"),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => panic!("the hub is gone"),
            Ok(_) => {}
        }
    }
}

/// Whether process `pid` is still running (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                != Some("Z")
        }
    }
}

/// Waits until process `pid` is gone.
pub async fn wait_gone(pid: u32) {
    let deadline = Instant::now() + DEADLINE;
    while alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} is still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's process id, from its `pid` tool.
pub async fn server_pid(hub: &McpHub, server: &str) -> u32 {
    let out = hub
        .call(
            &format!("{server}__pid"),
            json!({}),
            Duration::from_secs(20),
        )
        .await
        .expect("the pid tool answers");
    out.text
        .trim()
        .parse()
        .expect("the pid tool returns a number")
}
