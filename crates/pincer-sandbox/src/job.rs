//! One command in the sandbox: what it may see, its budget, and running it
//! with its output capped and its time bounded.

use crate::{Result, SandboxError};
use serde::Serialize;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How long a command may run and how much output is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Killed when it runs longer.
    pub time: Duration,
    /// Bytes kept of stdout and of stderr each; the rest is read and dropped.
    pub output_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(30),
            output_bytes: 64 * 1024,
        }
    }
}

/// A command and what it may see.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// The program (looked up on the sandbox's `PATH`: `/usr/local/bin`,
    /// `/usr/bin`, `/bin`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The folder it may write and starts in (also its `HOME`).
    pub scratch: PathBuf,
    /// Folders and files it may read.
    pub read_only: Vec<PathBuf>,
    /// Folders it may write besides the scratch folder.
    pub writable: Vec<PathBuf>,
    /// Environment variables besides `PATH`, `HOME`, `TMPDIR` and `LANG`.
    pub env: Vec<(String, String)>,
    /// Its time and output budget.
    pub budget: Budget,
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finished {
    /// Its exit code (`None` when it was killed).
    pub exit_code: Option<i32>,
    /// Its standard output, up to the budget (lossy UTF-8).
    pub stdout: String,
    /// Its standard error, up to the budget (lossy UTF-8).
    pub stderr: String,
    /// Whether output past the budget was dropped.
    pub truncated: bool,
    /// Whether it was killed for running past its time.
    pub timed_out: bool,
    /// How long it ran, in milliseconds.
    pub took_ms: u64,
}

/// Runs the sandbox's `command`; kills it past the budget or when the
/// future is dropped (bubblewrap's command dies with its parent; with
/// `group`, the command leads a process group that is killed whole).
pub(crate) async fn run(mut command: Command, budget: &Budget, group: bool) -> Result<Finished> {
    let started = Instant::now();
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SandboxError::Io {
            context: format!("starting {program}"),
            source,
        })?;
    #[cfg(target_os = "linux")]
    let mut group = crate::landlock::GroupKill(child.id().filter(|_| group));
    #[cfg(not(target_os = "linux"))]
    let _ = group;
    let stdout = tokio::spawn(capped(child.stdout.take(), budget.output_bytes));
    let stderr = tokio::spawn(capped(child.stderr.take(), budget.output_bytes));
    let (status, timed_out) = match tokio::time::timeout(budget.time, child.wait()).await {
        Ok(status) => (Some(status), false),
        Err(_) => {
            // The group first, while its leader is not yet reaped.
            #[cfg(target_os = "linux")]
            group.kill();
            // `kill` waits for bubblewrap; the command gets SIGKILL with it.
            let _already_gone = child.kill().await;
            (None, true)
        }
    };
    // What the command left running would hold its output open.
    #[cfg(target_os = "linux")]
    group.kill();
    let status = status.transpose().map_err(|source| SandboxError::Io {
        context: "waiting for the command".into(),
        source,
    })?;
    let joined = |part: std::result::Result<(Vec<u8>, bool), tokio::task::JoinError>| {
        part.map_err(|error| SandboxError::Io {
            context: "reading the command's output".into(),
            source: std::io::Error::other(error),
        })
    };
    let (out, out_cut) = joined(stdout.await)?;
    let (err, err_cut) = joined(stderr.await)?;
    Ok(Finished {
        exit_code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        truncated: out_cut || err_cut,
        timed_out,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// Reads a pipe to its end, keeping the first `limit` bytes; reading on
/// past them keeps the command from blocking on a full pipe.
async fn capped(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> (Vec<u8>, bool) {
    let Some(mut pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buffer = [0u8; 8192];
    while let Ok(read) = pipe.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..read.min(room)]);
        cut |= read > room;
    }
    (kept, cut)
}
