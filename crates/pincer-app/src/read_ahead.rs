//! Reading the owner's chat ahead: once memory and the MCP servers are up
//! (their tools are part of every turn's prompt), the start all chat turns
//! share is read into the engine, and again after every model load. A
//! turn sent meanwhile waits for it rather than read the same start too.

use crate::App;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest wait for the MCP servers' first start before reading ahead
/// without the tools of those still starting.
const MCP_WAIT: Duration = Duration::from_secs(30);

/// Whether the app reads ahead, and the read in flight.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead {
    enabled: AtomicBool,
    running: Arc<tokio::sync::Mutex<()>>,
}

impl App {
    /// Reads the start of the owner's chat turns into the engine now (when
    /// a model is loaded) and after every model load. The desktop app and
    /// `pincer serve --ui` turn it on; an API-only server does not.
    pub fn read_prompt_ahead(&self) {
        self.inner.read_ahead.enabled.store(true, Ordering::SeqCst);
        self.start_read_ahead();
    }

    /// Starts a read ahead if it is on and a model is loaded.
    pub(crate) fn start_read_ahead(&self) {
        let state = &self.inner.read_ahead;
        if !state.enabled.load(Ordering::SeqCst) || self.engine().is_none() {
            return;
        }
        // Taken before the task starts, so a turn sent right after waits.
        let Ok(running) = Arc::clone(&state.running).try_lock_owned() else {
            return;
        };
        let app = self.clone();
        tokio::spawn(async move {
            let _memory = app.memory_ready().await;
            if let Some(hub) = app.inner.agent.toolbox().mcp() {
                let _ = tokio::time::timeout(MCP_WAIT, hub.ready()).await;
            }
            let started = Instant::now();
            match app.inner.agent.read_prompt_ahead().await {
                Ok(stats) => tracing::info!(
                    prompt_tokens = stats.prompt_tokens,
                    seconds = started.elapsed().as_secs_f64(),
                    "the chat's shared start is read ahead"
                ),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the chat's shared start ahead")
                }
            }
            drop(running);
        });
    }

    /// Waits for a read ahead in flight (at once when there is none).
    pub(crate) async fn read_ahead_done(&self) {
        let _done = self.inner.read_ahead.running.lock().await;
    }
}
