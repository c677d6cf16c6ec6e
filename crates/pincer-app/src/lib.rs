//! The composition root: one config builds the store and the engine, and
//! [`App`] is the command set every transport (HTTP gateway, Tauri IPC,
//! CLI) calls, so each behaves the same.
#![deny(missing_docs)]

mod backups;
mod command_table;
pub mod commands;
mod control;
mod error;
mod hosts;
pub mod ipc;
mod maintenance;
mod mcp;
mod memory;
mod memory_upkeep;
mod models;
mod paths;
mod read_ahead;
mod sessions;
mod folders;
mod settings;
mod tools_pane;
mod soul;
mod trust;
mod turns;

pub use backups::{backups_of, restore_backup, BACKUP_EVERY};
pub use commands::{dispatch, COMMANDS, STREAMING};
pub use control::EventSink;
pub use error::{AppError, ErrorCode, Result};
pub use maintenance::Maintenance;
pub use mcp::{add_mcp_server, mcp_config_path, read_mcp_config, remove_mcp_server};
pub use memory::find_embedder;
pub use pincer_mcp::{HttpServer, McpConfig, ServerConfig, StdioServer};
pub use paths::resolve_data_dir;
pub use pincer_agent::{Agent, ChatCall, ChatStream, Saved};
pub use pincer_inference as inference;
pub use pincer_learning::{
    client_source, Learning, RoundReport, TrainOptions, TrainingData, APP_SOURCE,
};
pub use pincer_store as store;
pub use pincer_trust::backups::{Backup, BackupCheck, Backups, Restored};
pub use pincer_trust::{logging, open_vault, Action, Actor};
pub use pincer_vault::{Secret, SecretInfo, VaultBackend, VaultError};
pub use settings::Settings;

use ipc::AppMode;
use pincer_inference::{Engine, EngineOptions, ModelSource};
use pincer_store::Store;
use pincer_workspace::Workspace;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What the app is built from.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Where the database, settings and workspace live.
    pub data_dir: PathBuf,
    /// The checked model to load at start; `None` starts without one (the
    /// desktop app loads the last used model in the background).
    pub model: Option<ModelSource>,
    /// The id clients use for it (defaults to the file or folder name).
    pub model_id: Option<String>,
    /// Engine settings, for this model and any loaded later.
    pub engine: EngineOptions,
    /// Which shell runs the app.
    pub mode: AppMode,
    /// The embedding model folder for memory; `None` uses the hub cache's
    /// all-MiniLM-L6-v2 if it was downloaded, else memory starts off.
    pub embedder: Option<PathBuf>,
    /// Where the power supplies are read (the kernel's
    /// `/sys/class/power_supply` when `None`); tests point it at a fixture.
    pub power_supply: Option<PathBuf>,
    /// The D-Bus address the desktop's input idle time is read from (the
    /// session bus when `None`); tests point it at a bus with a fixture.
    pub idle_bus: Option<String>,
}

/// The running services, shared by every transport. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<Store>,
    data_dir: PathBuf,
    mode: AppMode,
    engine_options: EngineOptions,
    engine: RwLock<Option<Arc<Engine>>>,
    trust: Arc<pincer_trust::Trust>,
    protected: Arc<pincer_trust::Protected>,
    settings: settings::SettingsFile,
    gateway_status: Mutex<settings::GatewayStatus>,
    learning: Learning,
    agent: Agent,
    downloads: models::Downloads,
    halted: AtomicBool,
    /// Why no MCP server runs, when `mcp.json` is not usable.
    mcp_problem: Option<String>,
    memory: memory::MemoryState,
    read_ahead: read_ahead::ReadAhead,
    /// Held while this app runs on the data folder, so a restore waits
    /// for it to quit (`None` when another Pincer already holds it).
    _serving_lock: Option<std::fs::File>,
}

impl App {
    /// Opens the store and the workspace, and loads the model when one is given.
    pub async fn start(mut config: AppConfig) -> Result<Self> {
        // A test setting only: scripted model answers (see pincer-inference's
        // `script.rs`); normal use never sets it.
        if config.engine.script.is_none() {
            config.engine.script = std::env::var_os("PINCER_TEST_SCRIPT").map(PathBuf::from);
        }
        // Before anything opens the database: a restore the owner asked
        // for in Settings (its outcome shows there).
        pincer_trust::backups::restore_pending(&config.data_dir)?;
        // Warned, not refused: an app dropped a moment ago in this process
        // may still be letting go of it.
        let serving_lock = pincer_trust::backups::lock_data_dir(&config.data_dir)?;
        if serving_lock.is_none() {
            tracing::warn!(
                "another Pincer (or a `pincer backup restore`) holds {}; both write the same database",
                config.data_dir.display()
            );
        }
        let store = Arc::new(Store::open_in(&config.data_dir)?);
        let trust = pincer_trust::Trust::open(&config.data_dir, &store)?;
        let settings = settings::SettingsFile::load(&config.data_dir)?;
        let protected = pincer_trust::Protected::open(
            &config.data_dir.join("workspace"),
            trust.clone(),
            settings.get().seal_protected_files,
        )?;
        let power = pincer_schedule::PowerReader::new(
            config
                .power_supply
                .unwrap_or_else(|| pincer_schedule::SYSFS_POWER_SUPPLY.into()),
        );
        let idle = config
            .idle_bus
            .map_or_else(pincer_schedule::IdleReader::session, |address| {
                pincer_schedule::IdleReader::at_address(address)
            });
        let sandbox = pincer_sandbox::Sandbox::detect()
            .inspect_err(|error| tracing::warn!(%error, "commands will not run"))
            .ok();
        let skill_library = tools_pane::skill_library(&config.data_dir);
        let (mcp_hub, mcp_problem) = mcp::start_hub(&config.data_dir, &trust);
        let toolbox = pincer_agent::Toolbox::new(protected.workspace().dir(), sandbox)
            .map(|toolbox| {
                folders::grant_saved(&config.data_dir, &toolbox, &settings.get());
                let toolbox = toolbox.with_skills(Arc::new(skill_library));
                Arc::new(match mcp_hub {
                    Some(hub) => toolbox.with_mcp(hub),
                    None => toolbox,
                })
            })
            .map_err(|e| {
                AppError::Unavailable(format!("the agent's tools cannot reach the workspace: {e}"))
            })?;
        let rules_file = config.data_dir.join("tool-rules.json");
        let inner = Arc::new_cyclic(|host: &std::sync::Weak<Inner>| {
            let learning = Learning::new(pincer_learning::LearningParts {
                store: store.clone(),
                trust: trust.clone(),
                data_dir: config.data_dir.clone(),
                engine_options: config.engine.clone(),
                power,
                idle,
                host: host.clone(),
            });
            let agent = Agent::new(pincer_agent::AgentParts {
                trust: trust.clone(),
                protected: protected.clone(),
                learning: learning.clone(),
                host: host.clone(),
                toolbox,
                rules_file: Some(rules_file),
            });
            Inner {
                learning,
                agent,
                store,
                data_dir: config.data_dir,
                mode: config.mode,
                engine_options: config.engine,
                engine: RwLock::new(None),
                trust,
                protected,
                settings,
                gateway_status: Mutex::new(settings::GatewayStatus::default()),
                downloads: models::Downloads::default(),
                halted: AtomicBool::new(false),
                mcp_problem,
                memory: memory::MemoryState::default(),
                read_ahead: read_ahead::ReadAhead::default(),
                _serving_lock: serving_lock,
            }
        });
        backups::schedule(Arc::downgrade(&inner));
        let app = Self { inner };
        app.start_memory_in_background(config.embedder).await;
        if let Some(model) = config.model {
            app.load_engine(model, config.model_id).await?;
        }
        Ok(app)
    }

    /// The learning loop: consent and records, the judge, training rounds
    /// and the nightly schedule.
    pub fn learning(&self) -> &Learning {
        &self.inner.learning
    }

    /// The agent: a chat turn with the soul files, memory and recording.
    pub fn agent(&self) -> &Agent {
        &self.inner.agent
    }

    /// Starts a chat turn (see [`Agent::chat`]). Fails at once when the
    /// engine is busy or the request is invalid.
    pub async fn chat(&self, call: ChatCall) -> Result<ChatStream> {
        Ok(self.inner.agent.chat(call).await?)
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The workspace folder with the soul files.
    pub fn workspace(&self) -> &Workspace {
        self.inner.protected.workspace()
    }

    /// The loaded engine, if any.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.inner
            .engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The loaded model's id, if a model is loaded.
    pub fn model_id(&self) -> Option<String> {
        self.engine().map(|engine| engine.id().to_string())
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Desktop or web.
    pub fn mode(&self) -> AppMode {
        self.inner.mode
    }

    /// Requests running or waiting, and how many may be (zeros with no model).
    pub fn engine_load(&self) -> (usize, usize) {
        self.engine().map_or((0, 0), |engine| engine.load_factor())
    }

    /// Checks a bearer token presented by a client.
    pub fn token_matches(&self, presented: &str) -> bool {
        self.inner.trust.token().matches(presented)
    }

    /// The API token's text, for the owner to copy into a client (audited).
    pub fn reveal_token(&self) -> Result<String> {
        Ok(self.inner.trust.reveal_token()?)
    }

    /// A one-time code that a browser trades for the token (`POST
    /// /api/pair`), so the address `pincer serve` prints carries no secret.
    pub fn new_pairing_code(&self) -> String {
        self.inner.trust.new_pairing_code()
    }

    /// Trades a pairing code for the token (see [`pincer_trust::Trust`]).
    pub fn redeem_pairing_code(&self, presented: &str) -> Result<String> {
        Ok(self.inner.trust.redeem_pairing_code(presented)?)
    }

    /// Replaces the API token; the old one stops working at once.
    pub fn rotate_token(&self) -> Result<String> {
        let token = self.inner.trust.rotate_token()?;
        Ok(token.expose().to_string())
    }

    /// Appends an event to the audit chain. `details` names things, never
    /// secret values. A failed append is returned (an action that cannot
    /// be recorded is not reported done) and shown as the audit problem.
    pub fn record(
        &self,
        actor: Actor,
        action: Action,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        self.inner
            .trust
            .record(actor, action, target, decision, details)?;
        Ok(())
    }

    /// [`App::record`] for what nobody waits on (a refused request): a
    /// failure is kept as the audit problem the banner and `/health` show.
    pub fn note(
        &self,
        actor: Actor,
        action: Action,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) {
        self.inner
            .trust
            .note(actor, action, target, decision, details);
    }

    /// Background work that failed and has not succeeded since.
    pub fn problems(&self) -> Vec<pincer_trust::problems::Problem> {
        self.inner.trust.problems().list()
    }

    /// Signs the audit chain's head now (at shutdown and before an export),
    /// so no record is left unsigned.
    pub fn checkpoint_audit(&self) -> Result<()> {
        Ok(self.inner.trust.checkpoint()?)
    }

    /// Verifies the audit chain with this install's checkpoint key and the
    /// anchor the keychain keeps.
    pub fn verify_audit(&self) -> Result<pincer_store::AuditVerification> {
        Ok(self.inner.trust.verify()?)
    }

    /// Where the vault keeps secrets.
    pub fn vault_backend(&self) -> pincer_vault::VaultBackend {
        self.inner.trust.vault().backend()
    }

    /// The vault's secrets by name and use, never values.
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        Ok(self.inner.trust.vault().list()?)
    }

    /// Checks a request to another host for secrets before it is sent;
    /// a hit blocks it and is audited.
    pub fn check_outbound(&self, url: &str) -> Result<()> {
        Ok(self.inner.trust.check_outbound(url)?)
    }

    /// Whether the owner halted the agent.
    pub fn is_halted(&self) -> bool {
        self.inner.halted.load(Ordering::SeqCst)
    }

    /// Halts the agent: every running answer is stopped (and saved as
    /// canceled) and no new one starts until [`App::resume`].
    pub fn halt(&self) {
        self.inner.halted.store(true, Ordering::SeqCst);
        self.inner.agent.stop_all();
        self.inner.learning.halted();
        // A halt never fails: one that cannot be audited is still a halt.
        self.note(
            Actor::Owner,
            Action::AgentHalt,
            "agent",
            "done",
            serde_json::json!({}),
        );
    }

    /// Lets the agent answer again after [`App::halt`].
    pub fn resume(&self) {
        self.inner.halted.store(false, Ordering::SeqCst);
        self.inner.learning.resumed();
        self.note(
            Actor::Owner,
            Action::AgentResume,
            "agent",
            "done",
            serde_json::json!({}),
        );
    }
}

/// Runs blocking store or file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}
