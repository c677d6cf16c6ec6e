//! The agent's turn: one chat request from any transport becomes a
//! generation with the soul files as the system prompt, memory found for
//! the question (untrusted text fenced as data, `prompt.rs`), secrets
//! scrubbed from what the model sees, and the exchange recorded as a
//! session, with the turn kept for learning when the owner consented
//! (`turn.rs`, saved by `recorder.rs`). The owner's own chat continues a session, files "remember
//! that …" notes and can be stopped (`conversation.rs`). Its answers may
//! call tools (`toolbox.rs`): each call is checked, weighed by the gate,
//! asked about when the gate asks (`asking.rs`), run and audited
//! (`acting.rs`); its own tools reach memory and the soul files
//! (`own_tools.rs`). The shared start of its turns can be read into the
//! engine before the first one (`read_ahead.rs`). The app around it is
//! reached only through [`Host`].
#![deny(missing_docs)]

mod acting;
mod asking;
mod conversation;
mod events;
mod own_tools;
mod prompt;
mod read_ahead;
mod recorder;
mod skill_tool;
mod steps;
mod toolbox;
mod turn;

pub use asking::{ToolAnswer, ToolQuestion};
pub use conversation::{OwnerMessage, MAX_STEPS};
pub use events::{tool_calls_from_json, ToolOutcome, TurnEnd, TurnEvent};
pub use pincer_tools::gate::ExactRule;
pub use recorder::Saved;
pub use toolbox::Toolbox;
pub use turn::{title_from, ChatCall, ChatStream};

use pincer_inference::{Engine, InferenceError};
use pincer_learning::Learning;
use pincer_memory::Memory;
use pincer_store::{Store, StoreError};
use pincer_trust::{Protected, Trust};
use std::sync::{Arc, Weak};

/// What a turn needs from the app around it: the serving model, whether
/// the owner halted the agent, and memory once its embedder has loaded.
/// The app implements it; [`Agent`] holds it weakly.
pub trait Host: Send + Sync + 'static {
    /// The model serving chat now, if one is loaded.
    fn serving_engine(&self) -> Option<Arc<Engine>>;
    /// Whether the owner halted the agent.
    fn is_halted(&self) -> bool;
    /// Memory, when it is on and ready.
    fn memory(&self) -> Option<Arc<Memory>>;
}

/// Everything a turn can fail with before its stream starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// From the database (the session to continue does not exist, …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From the trust base (an audit record that could not be written).
    #[error(transparent)]
    Trust(#[from] pincer_trust::TrustError),
    /// From the model (busy, a request it cannot take).
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// No model is loaded.
    #[error("{}", pincer_trust::refusals::NO_MODEL)]
    NoModel,
    /// The owner halted the agent.
    #[error("{}", pincer_trust::refusals::HALTED)]
    Halted,
    /// A message the owner sent cannot be taken (empty, too long, an
    /// answer still being written in its chat).
    #[error("{0}")]
    InvalidInput(String),
    /// The exchange could not be saved (a full disk, a damaged database);
    /// the text names the cause and what to do.
    #[error("{0}")]
    NotSaved(String),
    /// From memory (filing a "remember that …" note).
    #[error(transparent)]
    Memory(#[from] pincer_memory::MemoryError),
}

/// The agent's result type.
pub type Result<T> = std::result::Result<T, AgentError>;

/// What [`Agent`] is built from.
pub struct AgentParts {
    /// The audit log and the leak detector (secrets set since are picked up
    /// before each turn).
    pub trust: Arc<Trust>,
    /// The soul files the system prompt is built from.
    pub protected: Arc<Protected>,
    /// The learning loop: consent, the judge's pause, the turn's record.
    pub learning: Learning,
    /// The app around the agent.
    pub host: Weak<dyn Host>,
    /// The tools its answers may call.
    pub toolbox: Arc<Toolbox>,
    /// Where the owner's "allow always" rules are kept (`None`: not kept).
    pub rules_file: Option<std::path::PathBuf>,
}

/// How long the gate waits for the owner's answer before denying a call.
pub const QUESTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The agent's handle. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    trust: Arc<Trust>,
    protected: Arc<Protected>,
    learning: Learning,
    host: Weak<dyn Host>,
    turns: conversation::Turns,
    toolbox: Arc<Toolbox>,
    questions: asking::Questions,
    rules: asking::Rules,
    question_timeout: std::sync::RwLock<std::time::Duration>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").finish_non_exhaustive()
    }
}

impl Agent {
    /// The agent, ready for turns.
    pub fn new(parts: AgentParts) -> Self {
        let (rules, problem) = asking::Rules::load(parts.rules_file);
        if let Some(problem) = problem {
            tracing::warn!(%problem, "the tool rules were not loaded");
        }
        Self {
            inner: Arc::new(Inner {
                trust: parts.trust,
                protected: parts.protected,
                learning: parts.learning,
                host: parts.host,
                turns: conversation::Turns::default(),
                toolbox: parts.toolbox,
                questions: asking::Questions::default(),
                rules,
                question_timeout: std::sync::RwLock::new(QUESTION_TIMEOUT),
            }),
        }
    }

    /// The tools answers may call.
    pub fn toolbox(&self) -> &Arc<Toolbox> {
        &self.inner.toolbox
    }

    /// Every tool on offer now: the toolbox's and the agent's own
    /// (`memory_search` and `remember` while memory is on, `propose_soul_change`).
    pub fn tool_specs(&self) -> Vec<pincer_tools::ToolSpec> {
        let mut specs = self.inner.toolbox.specs();
        specs.extend(own_tools::specs(self.memory().is_some()));
        specs
    }

    /// [`Agent::tool_specs`] as the model's chat template takes them.
    pub fn tool_definitions(&self) -> Vec<pincer_inference::ToolDefinition> {
        self.tool_specs()
            .into_iter()
            .map(|spec| pincer_inference::ToolDefinition {
                name: spec.name.to_string(),
                description: spec.description.to_string(),
                parameters: spec.parameters,
            })
            .collect()
    }

    /// The gate's questions waiting for the owner, oldest first.
    pub fn tool_questions(&self) -> Vec<ToolQuestion> {
        self.inner.questions.open()
    }

    /// Answers one of the gate's questions; the waiting turn goes on.
    pub fn answer_tool_question(&self, id: &str, answer: ToolAnswer) -> Result<ToolQuestion> {
        self.inner
            .questions
            .answer(id, answer)
            .map_err(AgentError::InvalidInput)
    }

    /// The owner's "allow always" rules.
    pub fn tool_rules(&self) -> Vec<ExactRule> {
        self.inner.rules.list()
    }

    /// Revokes an "allow always" rule (audited); `false` when there was none like it.
    pub fn revoke_tool_rule(&self, rule: &ExactRule) -> Result<bool> {
        let revoked = self.inner.rules.revoke(rule).map_err(|e| {
            AgentError::NotSaved(format!("the tool rules could not be saved ({e})"))
        })?;
        if revoked {
            self.inner.trust.record(
                pincer_trust::Actor::Owner,
                pincer_trust::Action::ToolRule,
                &rule.tool,
                "revoked",
                serde_json::json!({"arguments_sha256": pincer_store::content_sha256(&rule.arguments.to_string())}),
            )?;
        }
        Ok(revoked)
    }

    /// How long a question waits before the call is denied as unanswered.
    pub fn set_question_timeout(&self, timeout: std::time::Duration) {
        *self
            .inner
            .question_timeout
            .write()
            .unwrap_or_else(|p| p.into_inner()) = timeout;
    }

    fn store(&self) -> &Arc<Store> {
        self.inner.trust.store()
    }

    fn host(&self) -> Option<Arc<dyn Host>> {
        self.inner.host.upgrade()
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.host().and_then(|host| host.serving_engine())
    }

    /// Halted, or the app is going away.
    fn is_halted(&self) -> bool {
        self.host().is_none_or(|host| host.is_halted())
    }

    fn memory(&self) -> Option<Arc<Memory>> {
        self.host().and_then(|host| host.memory())
    }

    /// Picks up secrets set or deleted since the leak detector was built (by
    /// `pincer secrets` in another process), before text is written or sent.
    fn refresh_secrets(&self) {
        if let Err(error) = self.inner.trust.refresh_if_secrets_changed() {
            tracing::warn!(%error, "could not check the vault for new secrets");
        }
    }
}
