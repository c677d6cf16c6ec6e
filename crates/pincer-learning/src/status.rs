//! The Training pane's payloads (IPC, the control API, `pincer train`)
//! and the live state behind them: the phase, the running round's steps
//! and losses, how the last round ended, and the unattended schedule.

use pincer_store::AdapterVersion;
use pincer_training::gate::Metrics;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// "Train tonight while charging", as kept in settings.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainingSchedule {
    /// A round waits for the window; cleared when a round ends.
    pub armed: bool,
    /// Local time, `HH:MM-HH:MM`; may wrap past midnight.
    pub window: String,
    /// The owner must have been away this long (no chat) before a round
    /// starts; coming back pauses it.
    pub min_idle_minutes: u32,
    /// Judged, consented turns no adapter has trained on yet.
    pub min_new_records: u32,
}

impl Default for TrainingSchedule {
    fn default() -> Self {
        Self {
            armed: false,
            window: pincer_schedule::TimeWindow::default().to_string(),
            min_idle_minutes: 15,
            min_new_records: 20,
        }
    }
}

/// What training is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum TrainingPhase {
    /// Nothing runs.
    #[default]
    Idle,
    /// Collecting and tokenising the turns, or loading the model.
    Preparing,
    /// Taking steps.
    Training,
    /// Scoring the adapter against the serving one.
    Gating,
    /// A round waits in its checkpoint for conditions (or the owner) to let it go on.
    Paused,
}

/// One condition of the schedule, checked now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConditionCheck {
    /// `window`, `power`, `idle`, `records`, `model` or `agent`.
    pub name: String,
    /// Met now.
    pub ok: bool,
    /// What was read, in words.
    pub detail: String,
}

/// The running round's steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrainingProgress {
    /// Steps done.
    pub step: u32,
    /// Steps in the round.
    pub total_steps: u32,
    /// The loss of every step so far, in order.
    pub losses: Vec<f64>,
    /// Seconds left at the pace so far.
    pub eta_seconds: Option<f64>,
}

/// How a round ended (or why it stopped).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RoundSummary {
    /// Unix seconds.
    pub at: f64,
    /// The adapter version it registered.
    pub version: Option<f64>,
    /// Whether that version serves now.
    pub promoted: bool,
    /// The gate's reasons, why it paused, or the error.
    pub reasons: Vec<String>,
    /// Started by the schedule rather than by the owner.
    pub scheduled: bool,
    /// Paused in its checkpoint (resumes later).
    pub paused: bool,
    /// Failed; `reasons` says why.
    pub failed: bool,
    /// Steps done and in all.
    pub steps: u32,
    /// Steps in the round.
    pub total_steps: u32,
    /// The last step's loss.
    pub final_loss: Option<f64>,
    /// Turns trained on, held out for the gate, and left out.
    pub trained: u32,
    /// Turns held out for the gate.
    pub held_out: u32,
    /// Turns left out (too long, no token ids).
    pub skipped: u32,
}

impl RoundSummary {
    /// A notification's title and body: what happened and why.
    pub fn notification(&self) -> (String, String) {
        let version = self.version.map(|v| format!(" v{v}")).unwrap_or_default();
        let title = if self.failed {
            "Training failed".to_string()
        } else if self.paused {
            "Training paused".to_string()
        } else if self.promoted {
            format!("Adapter{version} promoted: now serving")
        } else {
            format!("Adapter{version} rejected: the current one keeps serving")
        };
        let mut body = self.reasons.join("; ");
        if !self.failed && !self.paused {
            let loss = self
                .final_loss
                .map(|l| format!(", final loss {l:.3}"))
                .unwrap_or_default();
            body = format!(
                "{} steps on {} turns ({} held out){loss}. {body}",
                self.total_steps, self.trained, self.held_out
            );
        }
        (title, body)
    }
}

/// Everything the Training pane shows at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrainingStatus {
    /// What runs now.
    pub phase: TrainingPhase,
    /// The schedule in force.
    pub schedule: TrainingSchedule,
    /// Each condition of the schedule, checked now.
    pub conditions: Vec<ConditionCheck>,
    /// Local time the window next opens (RFC 3339), when armed.
    pub next_window: Option<String>,
    /// Judged, consented turns in all.
    pub ready_records: u32,
    /// Of those, turns no adapter trained on yet.
    pub new_records: u32,
    /// A round paused in its checkpoint, waiting to resume.
    pub round_waiting: bool,
    /// The running (or paused) round's steps.
    pub progress: Option<TrainingProgress>,
    /// How the last round ended.
    pub last: Option<RoundSummary>,
    /// Whether sleep is held off now, or why it could not be.
    pub sleep_hold: Option<String>,
    /// The adapter serving now.
    pub serving: Option<AdapterView>,
}

/// An adapter version as the history list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AdapterView {
    /// Its version number.
    pub id: f64,
    /// `serving`, `kept` or `rejected`.
    pub status: String,
    /// The gate's verdict or the owner's rollback reason.
    pub reason: String,
    /// Unix seconds.
    pub created_at: f64,
    /// The version it was trained from.
    pub parent_id: Option<f64>,
    /// Turns it trained on.
    pub trained: u32,
    /// Its owner score on held-out turns: +1 answers' logprob minus −1
    /// answers' minus the gap to the hinted teacher (higher is better).
    pub owner_score: Option<f64>,
    /// The adapter it was compared with, on the same turns.
    pub serving_owner_score: Option<f64>,
    /// Reference-text NLL per token (the regression set's prose).
    pub reference_nll: Option<f64>,
    /// KL to the base, nats per token.
    pub drift: Option<f64>,
    /// The last step's loss.
    pub final_loss: Option<f64>,
}

impl From<AdapterVersion> for AdapterView {
    fn from(version: AdapterVersion) -> Self {
        let metrics = &version.adapter.metrics;
        let number = |pointer: &str| metrics.pointer(pointer).and_then(|v| v.as_f64());
        let owner = |pointer: &str| {
            metrics
                .pointer(pointer)
                .and_then(|m| serde_json::from_value::<Metrics>(m.clone()).ok())
                .map(|m| m.owner_score())
        };
        Self {
            id: version.id as f64,
            status: version.status,
            reason: version.reason,
            created_at: version.created_at_ms as f64 / 1000.0,
            parent_id: version.adapter.parent_id.map(|p| p as f64),
            trained: version
                .adapter
                .data
                .get("trained")
                .and_then(|t| t.as_array())
                .map_or(0, |t| t.len() as u32),
            owner_score: owner("/gate/candidate"),
            serving_owner_score: owner("/gate/serving"),
            reference_nll: number("/gate/candidate/regression/reference"),
            drift: number("/gate/candidate/drift"),
            final_loss: metrics
                .get("history")
                .and_then(|h| h.as_array())
                .and_then(|h| h.last())
                .and_then(|r| r.get("loss"))
                .and_then(|l| l.as_f64()),
        }
    }
}

/// Which adapter to serve: a version, or none for the bare base.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRequest {
    /// The version; absent for the bare base.
    pub version: Option<f64>,
}

/// Live training state shared by the round, the schedule and the pane.
#[derive(Debug)]
pub(crate) struct TrainingState {
    pub(crate) running: AtomicBool,
    pub(crate) pause: Arc<AtomicBool>,
    pub(crate) live: Mutex<Live>,
    pub(crate) last_activity: Mutex<Instant>,
    pub(crate) schedule_started: AtomicBool,
    pub(crate) power: pincer_schedule::PowerReader,
    pub(crate) idle: pincer_schedule::IdleReader,
    pub(crate) options: Mutex<crate::TrainOptions>,
    pub(crate) ends: tokio::sync::broadcast::Sender<RoundSummary>,
}

/// The parts of the state that change together.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) phase: TrainingPhase,
    pub(crate) progress: Option<TrainingProgress>,
    pub(crate) last: Option<RoundSummary>,
    pub(crate) sleep_hold: Option<String>,
}

impl TrainingState {
    pub(crate) fn new(
        power: pincer_schedule::PowerReader,
        idle: pincer_schedule::IdleReader,
    ) -> Self {
        Self {
            running: AtomicBool::new(false),
            pause: Arc::default(),
            live: Mutex::default(),
            last_activity: Mutex::new(Instant::now()),
            schedule_started: AtomicBool::new(false),
            power,
            idle,
            options: Mutex::default(),
            ends: tokio::sync::broadcast::channel(8).0,
        }
    }

    pub(crate) fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}
