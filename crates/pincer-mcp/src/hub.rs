//! The hub: every configured server, the tools they offer now, a way to
//! call them, and each server's status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::connect::{service_error, Secrets};
use crate::supervisor::{lock, supervise, EventHook, Options, Shared, Slot};
use crate::{McpConfig, McpError, McpEvent, McpOutput, McpServerStatus, McpTool};

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 64;

/// Every configured MCP server, kept running: the tools they offer now, a
/// way to call them, and each server's status. A server that cannot start
/// or dies is reported in its status; the hub and the other servers go on.
pub struct McpHub {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for McpHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHub")
            .field("servers", &self.statuses())
            .finish_non_exhaustive()
    }
}

/// Sets up a hub: where secrets come from, who hears about status changes,
/// and its timings.
pub struct McpHubBuilder {
    config: McpConfig,
    secrets: Secrets,
    on_event: Option<EventHook>,
    options: Options,
}

impl McpHub {
    /// Starts setting up a hub for `config`'s servers.
    pub fn builder(config: McpConfig) -> McpHubBuilder {
        McpHubBuilder {
            config,
            secrets: Arc::new(|_: &str| None),
            on_event: None,
            options: Options {
                start_timeout: Duration::from_secs(30),
                first_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
            },
        }
    }

    /// Each server's status, by name.
    pub fn statuses(&self) -> BTreeMap<String, McpServerStatus> {
        self.shared
            .slots
            .iter()
            .map(|(name, slot)| (name.clone(), lock(slot).status.clone()))
            .collect()
    }

    /// One server's status, if it is configured.
    pub fn status(&self, server: &str) -> Option<McpServerStatus> {
        self.shared
            .slots
            .get(server)
            .map(|slot| lock(slot).status.clone())
    }

    /// Every status change from now on. A subscriber that falls more than
    /// 64 events behind misses the oldest; [`McpHub::statuses`] is always
    /// current. For an audit trail that must miss nothing, use
    /// [`McpHubBuilder::on_event`].
    pub fn subscribe(&self) -> broadcast::Receiver<McpEvent> {
        self.shared.events.subscribe()
    }

    /// The tools of every running server, ordered by qualified name.
    pub fn tools(&self) -> Vec<McpTool> {
        let mut tools: Vec<McpTool> = self
            .shared
            .slots
            .values()
            .filter_map(|slot| lock(slot).live.as_ref().map(|live| live.tools.clone()))
            .flat_map(|tools| tools.as_ref().clone())
            .collect();
        tools.sort_by(|a, b| a.qualified_name.cmp(&b.qualified_name));
        tools
    }

    /// Waits until every server's first start has ended: running, failed,
    /// or waiting to try again.
    pub async fn ready(&self) {
        let mut pending = self.shared.pending.subscribe();
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    /// Calls `qualified_name` (`<server>__<tool>`) with `arguments` (a JSON
    /// object, or null for none), cancelling it on the server after `timeout`.
    /// A tool that ran and failed is `Ok` with `is_error` set.
    pub async fn call(
        &self,
        qualified_name: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<McpOutput, McpError> {
        let unknown = || McpError::UnknownTool {
            name: qualified_name.to_string(),
        };
        let (server, tool) = qualified_name.split_once("__").ok_or_else(unknown)?;
        let slot = self.shared.slots.get(server).ok_or_else(unknown)?;
        let peer = {
            let slot = lock(slot);
            let Some(live) = &slot.live else {
                return Err(McpError::NotRunning {
                    server: server.to_string(),
                    status: slot.status.to_string(),
                });
            };
            if !live.tools.iter().any(|t| t.tool == tool) {
                return Err(unknown());
            }
            live.peer.clone()
        };
        let mut params = CallToolRequestParams::new(tool.to_string());
        match arguments {
            Value::Object(map) => params = params.with_arguments(map),
            Value::Null => {}
            other => {
                return Err(McpError::InvalidArguments {
                    tool: qualified_name.to_string(),
                    got: kind(&other),
                })
            }
        }
        match tokio::time::timeout(timeout, peer.call_tool(params)).await {
            Err(_) => Err(McpError::Timeout {
                tool: qualified_name.to_string(),
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(Err(e)) => Err(McpError::Call {
                tool: qualified_name.to_string(),
                reason: service_error(&e),
            }),
            Ok(Ok(result)) => Ok(result.into()),
        }
    }

    /// Closes every server (a child gets its stdin closed, then SIGTERM,
    /// then SIGKILL) and waits until each is gone.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl Drop for McpHub {
    /// A hub dropped without [`McpHub::shutdown`] still closes its servers
    /// in the background; children are also killed when their handles drop
    /// (`kill_on_drop`), so none outlives the runtime.
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl McpHubBuilder {
    /// Where `{"secret": …}` values come from: the vault, looked up by name
    /// each time a server starts. Without it, servers needing a secret fail.
    pub fn secrets(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.secrets = Arc::new(lookup);
        self
    }

    /// Called with every status change, in order, from the server's task
    /// (keep it quick): the place to write the audit log.
    pub fn on_event(mut self, hook: impl Fn(&McpEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// How long a server may take to start, shake hands and list its tools
    /// (30 s by default).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.options.start_timeout = timeout;
        self
    }

    /// The wait before the first restart, doubled each failed try up to
    /// `max` (1 s and 60 s by default). A server that ran for `max` or
    /// longer before dying starts over at `first`.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.options.first_backoff = first;
        self.options.max_backoff = max.max(first);
        self
    }

    /// Starts every server in the background and returns at once, each
    /// server `Starting`. Must be called within a Tokio runtime.
    pub fn spawn(self) -> McpHub {
        let servers = self.config.servers();
        let slots = servers
            .keys()
            .map(|name| {
                (
                    name.clone(),
                    Mutex::new(Slot {
                        status: McpServerStatus::Starting,
                        live: None,
                        first_done: false,
                    }),
                )
            })
            .collect();
        let shared = Arc::new(Shared {
            slots,
            events: broadcast::channel(EVENT_BUFFER).0,
            on_event: self.on_event,
            pending: watch::Sender::new(servers.len()),
        });
        let (stop, _) = watch::channel(false);
        let tasks = servers
            .iter()
            .map(|(name, config)| {
                let job = supervise(
                    shared.clone(),
                    name.clone(),
                    config.clone(),
                    self.secrets.clone(),
                    self.options,
                    stop.subscribe(),
                );
                tokio::spawn(job)
            })
            .collect();
        McpHub {
            shared,
            stop,
            tasks: Mutex::new(tasks),
        }
    }

    /// Starts every server and waits until each has started or failed
    /// ([`McpHub::ready`]), so [`McpHub::statuses`] says how each start went.
    pub async fn start(self) -> McpHub {
        let hub = self.spawn();
        hub.ready().await;
        hub
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
