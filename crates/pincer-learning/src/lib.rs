//! The learning loop as a service that owns its state: with the owner's
//! consent each turn is kept ([`recording`]), the background judge scores
//! it ([`judging`]), the owner sees, exports and deletes the records
//! ([`TrainingData`]), a round trains, gates and serves an adapter or rolls
//! back ([`round`]), and the nightly schedule starts rounds unattended
//! ([`schedule`]). [`pincer_training`] stays the pure trainer; the app
//! around this crate is reached only through [`Host`].
#![deny(missing_docs)]

mod error;
mod inputs;
mod judging;
mod recording;
mod round;
mod schedule;
mod settings;
mod status;
mod training_data;
mod view;

pub use error::{HostError, LearningError, Result};
pub use judging::ChatInProgress;
pub use recording::{record_turn, TurnRecording};
pub use round::{RoundReport, TrainOptions};
pub use settings::{LearningSettings, TrainerSettings};
pub use status::{
    AdapterView, ConditionCheck, RollbackRequest, RoundSummary, TrainingPhase, TrainingProgress,
    TrainingSchedule, TrainingStatus,
};
pub use training_data::{client_source, TrainingData, APP_SOURCE};
pub use view::{
    ConsentView, DataOverview, DeleteTrainingData, GiveFeedback, RecordMessage, SetConsent,
    SourceData, TrajectoryQuery, TrajectoryRef, TrajectorySummary, TrajectoryView, VoteView,
};

use futures::future::BoxFuture;
use pincer_inference::{Engine, EngineOptions};
use pincer_store::Store;
use pincer_trust::Trust;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// What the learning loop needs from the app around it, and nothing more:
/// the serving model, whether the owner halted the agent, the learning
/// part of `settings.json`, and a reload once a new adapter serves. The
/// app implements it; [`Learning`] holds it weakly, so the loop never
/// keeps the app alive.
pub trait Host: Send + Sync + 'static {
    /// The model serving chat now, if one is loaded.
    fn serving_engine(&self) -> Option<Arc<Engine>>;
    /// Whether the owner halted the agent.
    fn is_halted(&self) -> bool;
    /// The learning settings as `settings.json` holds them now.
    fn learning_settings(&self) -> LearningSettings;
    /// Changes the learning settings and saves `settings.json`.
    fn update_learning_settings(
        &self,
        change: Box<dyn FnOnce(&mut LearningSettings) + Send>,
    ) -> std::result::Result<(), HostError>;
    /// Loads the serving model again, so the adapter now chosen serves.
    fn reload_serving_engine(
        self: Arc<Self>,
    ) -> BoxFuture<'static, std::result::Result<(), HostError>>;
}

/// What [`Learning`] is built from.
pub struct LearningParts {
    /// The database with the turns, consent, verdicts and adapters.
    pub store: Arc<Store>,
    /// The audit log every learning action lands in.
    pub trust: Arc<Trust>,
    /// The data folder (`training/round`, `adapters/`).
    pub data_dir: PathBuf,
    /// Engine settings, for a separate judge model.
    pub engine_options: EngineOptions,
    /// Where the power supplies are read.
    pub power: pincer_schedule::PowerReader,
    /// Where the owner's input idle time is read.
    pub idle: pincer_schedule::IdleReader,
    /// The app around the loop.
    pub host: Weak<dyn Host>,
}

/// The learning loop's handle. Cheap to clone.
#[derive(Clone)]
pub struct Learning {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    trust: Arc<Trust>,
    data_dir: PathBuf,
    engine_options: EngineOptions,
    host: Weak<dyn Host>,
    judging: Arc<judging::Judging>,
    training: status::TrainingState,
}

impl std::fmt::Debug for Learning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learning")
            .field("data_dir", &self.inner.data_dir)
            .finish_non_exhaustive()
    }
}

impl Learning {
    /// The loop, idle until the shells start its judge and schedule.
    pub fn new(parts: LearningParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: parts.store,
                trust: parts.trust,
                data_dir: parts.data_dir,
                engine_options: parts.engine_options,
                host: parts.host,
                judging: Arc::default(),
                training: status::TrainingState::new(parts.power, parts.idle),
            }),
        }
    }

    fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    fn host(&self) -> Option<Arc<dyn Host>> {
        self.inner.host.upgrade()
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.host().and_then(|host| host.serving_engine())
    }

    /// The app this loop served is gone (it is shutting down).
    fn closing(&self) -> bool {
        self.inner.host.strong_count() == 0
    }

    /// Halted, or the app is going away: nothing new starts.
    fn is_halted(&self) -> bool {
        self.host().is_none_or(|host| host.is_halted())
    }

    fn settings(&self) -> LearningSettings {
        self.host()
            .map(|host| host.learning_settings())
            .unwrap_or_default()
    }

    async fn update_settings(
        &self,
        change: impl FnOnce(&mut LearningSettings) + Send + 'static,
    ) -> Result<()> {
        let host = self.host().ok_or(LearningError::Closing)?;
        blocking(move || {
            host.update_learning_settings(Box::new(change))
                .map_err(LearningError::Host)
        })
        .await
    }

    /// A chat turn starts: a running judge sample is dropped at once, and
    /// the judge waits until the returned guard is dropped.
    pub fn chat_started(&self) -> ChatInProgress {
        self.note_owner_activity();
        self.inner.judging.chat_started()
    }

    /// The owner halted the agent: a running judge sample stops now.
    pub fn halted(&self) {
        self.inner.judging.interrupt();
    }

    /// The owner resumed the agent: the judge looks at its queue again.
    pub fn resumed(&self) {
        self.inner.judging.wake();
    }
}

/// Runs blocking store or file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}
