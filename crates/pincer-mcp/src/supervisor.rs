//! One supervisor task per server: it starts the server, publishes its
//! tools while it runs, restarts it with a backoff when it dies, and closes
//! it when the hub stops.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rmcp::service::{Peer, QuitReason, RoleClient};
use tokio::sync::{broadcast, watch};

use crate::config::ServerConfig;
use crate::connect::{connect, Connected, Secrets};
use crate::{McpEvent, McpServerStatus, McpTool};

/// How long a server may take to close on shutdown before it is killed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Hears every status change, in order.
pub(crate) type EventHook = Arc<dyn Fn(&McpEvent) + Send + Sync>;

/// The hub's timings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) start_timeout: Duration,
    pub(crate) first_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

/// What the hub and its supervisors share: each server's slot, and who
/// hears of changes.
pub(crate) struct Shared {
    pub(crate) slots: BTreeMap<String, Mutex<Slot>>,
    pub(crate) events: broadcast::Sender<McpEvent>,
    pub(crate) on_event: Option<EventHook>,
    /// How many servers have not finished their first start.
    pub(crate) pending: watch::Sender<usize>,
}

/// One server's status and, while it runs, its session.
pub(crate) struct Slot {
    pub(crate) status: McpServerStatus,
    pub(crate) live: Option<Live>,
    pub(crate) first_done: bool,
}

/// A running server's session and tools.
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    pub(crate) tools: Arc<Vec<McpTool>>,
}

impl Shared {
    /// Sets a server's status and live session, then tells the hook and
    /// subscribers.
    pub(crate) fn set(&self, name: &str, status: McpServerStatus, live: Option<Live>) {
        let Some(slot) = self.slots.get(name) else {
            return;
        };
        let first_start_ended = {
            let mut slot = lock(slot);
            slot.status = status.clone();
            slot.live = live;
            let ended = !slot.first_done && status != McpServerStatus::Starting;
            slot.first_done |= ended;
            ended
        };
        match &status {
            McpServerStatus::Failed { .. } | McpServerStatus::Restarting { .. } => {
                tracing::warn!(server = name, "MCP server {status}")
            }
            _ => tracing::info!(server = name, "MCP server {status}"),
        }
        let event = McpEvent {
            server: name.to_string(),
            status,
        };
        if let Some(hook) = &self.on_event {
            hook(&event);
        }
        let _ = self.events.send(event);
        if first_start_ended {
            self.pending.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

/// Keeps one server running until the hub stops.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    name: String,
    config: ServerConfig,
    secrets: Secrets,
    options: Options,
    mut stop: watch::Receiver<bool>,
) {
    let mut attempt: u32 = 0;
    loop {
        let started = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            started = connect(&name, &config, &secrets, options.start_timeout) => started,
        };
        let reason = match started {
            Err(e) if e.permanent => {
                shared.set(&name, McpServerStatus::Failed { reason: e.reason }, None);
                stopped(&mut stop).await;
                break;
            }
            Err(e) => e.reason,
            Ok(connected) => {
                let since = Instant::now();
                let Some(reason) = run(&shared, &name, connected, &mut stop).await else {
                    break;
                };
                if since.elapsed() >= options.max_backoff {
                    attempt = 0;
                }
                reason
            }
        };
        attempt = attempt.saturating_add(1);
        let delay = backoff(options, attempt);
        let next_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        shared.set(
            &name,
            McpServerStatus::Restarting {
                attempt,
                next_in_ms,
                reason,
            },
            None,
        );
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    shared.set(&name, McpServerStatus::Stopped, None);
}

/// Publishes a started server and waits for it to end: `None` when the hub
/// stopped it, else why it died.
async fn run(
    shared: &Shared,
    name: &str,
    connected: Connected,
    stop: &mut watch::Receiver<bool>,
) -> Option<String> {
    let Connected {
        client,
        tools,
        stderr,
    } = connected;
    let live = Live {
        peer: client.peer().clone(),
        tools: Arc::new(tools),
    };
    shared.set(
        name,
        McpServerStatus::Running {
            tools: live.tools.len(),
        },
        Some(live),
    );
    let cancel = client.cancellation_token();
    let waiting = client.waiting();
    tokio::pin!(waiting);
    tokio::select! {
        biased;
        () = stopped(stop) => {
            cancel.cancel();
            if tokio::time::timeout(CLOSE_TIMEOUT, &mut waiting).await.is_err() {
                tracing::warn!(server = name, "MCP server did not close in time; it is killed as its handle drops");
            }
            None
        }
        quit = &mut waiting => {
            let mut reason = match quit {
                Ok(QuitReason::JoinError(e)) | Err(e) => format!("its connection failed ({e})"),
                Ok(_) => "it exited or closed its connection".to_string(),
            };
            if let Some(tail) = stderr {
                reason.push_str(&tail.finish().await);
            }
            Some(reason)
        }
    }
}

/// Resolves once the hub stops (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn backoff(options: Options, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    options
        .first_backoff
        .saturating_mul(factor)
        .min(options.max_backoff)
}

pub(crate) fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let options = Options {
            start_timeout: Duration::from_secs(1),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (1..=8).map(|n| backoff(options, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(options, u32::MAX), Duration::from_secs(60));
    }
}
