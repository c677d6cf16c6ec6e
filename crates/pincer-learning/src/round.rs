//! Training rounds as the owner sees them: take the round's inputs
//! (`inputs.rs`: the consented, judged turns as served token ids), train
//! and gate in `data/training/round`,
//! keep every adapter under `data/adapters/`, serve the one that passes,
//! and roll back to any version or to the bare base. Every step is audited.

use crate::status::{RoundSummary, TrainingPhase, TrainingProgress};
use crate::{blocking, Learning, LearningError, Result};
use pincer_inference::ModelSource;
use pincer_store::{AdapterVersion, NewAdapter};
use pincer_training::gate::GateBounds;
use pincer_training::pipeline::{Round, RoundEnd};
use pincer_training::trainer::{Progress, TrainSettings};
use pincer_trust::problems::Area;
use pincer_trust::{Action, Actor};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// How a round trains and how strict its gate is.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Fewer judged turns than this and no round starts.
    pub min_records: usize,
    /// The trainer's settings.
    pub settings: TrainSettings,
    /// The gate's bounds.
    pub bounds: GateBounds,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            min_records: 20,
            settings: TrainSettings::default(),
            bounds: GateBounds::default(),
        }
    }
}

/// What a round did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundReport {
    /// The registered version (absent when paused).
    pub version: Option<i64>,
    /// Whether it now serves.
    pub promoted: bool,
    /// The gate's reasons, or why the round paused.
    pub reasons: Vec<String>,
    /// Steps done and in all.
    pub steps: (usize, usize),
    /// The last step's loss.
    pub final_loss: Option<f64>,
    /// Turns trained on, held out, and left out as unusable.
    pub trained: usize,
    /// Turns held out for the gate.
    pub held_out: usize,
    /// Turns left out (too long, no token ids).
    pub skipped: usize,
    /// Stopped in its checkpoint; the next round resumes it.
    pub paused: bool,
}

impl Learning {
    /// Runs a training round now (or resumes the one a kill or a pause
    /// left), gates the adapter and serves it if it passes. Sleep is held
    /// off meanwhile; the end is broadcast to [`Learning::training_ends`].
    pub async fn train_now(&self, options: TrainOptions) -> Result<RoundReport> {
        self.run_round(options, false).await
    }

    /// One round, by the owner (`scheduled` false: only halting or the
    /// owner's pause stops it) or by the schedule (which also pauses on
    /// unplugging, the owner's return and the window closing).
    pub(crate) async fn run_round(
        &self,
        options: TrainOptions,
        scheduled: bool,
    ) -> Result<RoundReport> {
        let state = &self.inner.training;
        if state.running.swap(true, Ordering::SeqCst) {
            return Err(LearningError::Unavailable(
                "a training round is already running; wait for it or pause it".into(),
            ));
        }
        state.pause.store(false, Ordering::SeqCst);
        {
            let mut live = state.live();
            live.phase = TrainingPhase::Preparing;
            live.progress = None;
        }
        let hold = pincer_schedule::SleepGuard::hold("Pincer is training an adapter");
        state.live().sleep_hold = Some(match &hold {
            Ok(_) => "sleep is held off while the round runs".into(),
            Err(error) => error.to_string(),
        });
        let result = self.train_round(options, scheduled).await;
        drop(hold);
        state.running.store(false, Ordering::SeqCst);
        if let Err(error) = &result {
            // The round's own error goes back to whoever started it.
            self.inner.trust.note(
                Actor::Owner,
                Action::TrainingRound,
                "adapter",
                "failed",
                serde_json::json!({"error": error.to_string()}),
            );
        }
        let summary = summarise(&result, scheduled);
        self.disarm_after(&summary).await;
        {
            let mut live = state.live();
            live.sleep_hold = None;
            live.phase = if summary.paused {
                TrainingPhase::Paused
            } else {
                TrainingPhase::Idle
            };
            live.last = Some(summary.clone());
        }
        let _ = state.ends.send(summary);
        result
    }

    /// Asks a running round to pause at the next example; it checkpoints
    /// and [`Learning::train_now`] resumes it.
    pub fn pause_training(&self) {
        self.inner.training.pause.store(true, Ordering::SeqCst);
    }

    /// Every adapter version, newest first.
    pub async fn adapter_versions(&self) -> Result<Vec<AdapterVersion>> {
        let store = self.store().clone();
        blocking(move || Ok(store.adapters()?)).await
    }

    /// Serves adapter `version`, or the bare base with `None`, and reloads
    /// the model with it.
    pub async fn rollback_adapter(&self, version: Option<i64>) -> Result<Option<AdapterVersion>> {
        let store = self.store().clone();
        let reason = match version {
            Some(v) => format!("the owner chose version {v}"),
            None => "the owner chose the bare base".into(),
        };
        blocking(move || Ok(store.serve_adapter(version, &reason)?)).await?;
        self.reload_with_serving_adapter().await?;
        self.inner.trust.record(
            Actor::Owner,
            Action::AdapterRollback,
            "adapter",
            "done",
            serde_json::json!({"version": version}),
        )?;
        Ok(self.store().serving_adapter()?)
    }

    /// The adapter to serve on `source`: the serving version, when it was
    /// trained on this model's folder.
    pub fn adapter_for(&self, source: &ModelSource) -> Option<PathBuf> {
        let ModelSource::Safetensors { dir, .. } = source else {
            return None;
        };
        let serving = self.store().serving_adapter().ok().flatten()?;
        (Path::new(&serving.adapter.base_model) == dir).then(|| PathBuf::from(serving.adapter.path))
    }

    async fn reload_with_serving_adapter(&self) -> Result<()> {
        if self.engine().is_none() {
            return Ok(());
        }
        let host = self.host().ok_or(LearningError::Closing)?;
        host.reload_serving_engine()
            .await
            .map_err(LearningError::Host)
    }

    async fn train_round(&self, options: TrainOptions, scheduled: bool) -> Result<RoundReport> {
        let dir = self.data_dir().join("training").join("round");
        let mut round = if Round::exists(&dir) {
            blocking({
                let dir = dir.clone();
                move || Round::resume(&dir, &candle_device()).map_err(training_error)
            })
            .await?
        } else {
            remove_run_folder(&dir)?;
            let inputs = self.round_inputs(&options).await?;
            self.inner.trust.record(
                Actor::Owner,
                Action::TrainingStart,
                "adapter",
                "done",
                serde_json::json!({"train": inputs.train.len(), "heldOut": inputs.held_out.len()}),
            )?;
            blocking({
                let dir = dir.clone();
                move || Round::start(&dir, inputs, &candle_device()).map_err(training_error)
            })
            .await?
        };
        {
            let trainer = round.trainer();
            let mut live = self.inner.training.live();
            live.phase = TrainingPhase::Training;
            live.progress = Some(TrainingProgress {
                step: trainer.step() as u32,
                total_steps: trainer.plan().total_steps as u32,
                losses: trainer.history().iter().map(|r| r.loss).collect(),
                eta_seconds: None,
            });
        }
        let learning = self.clone();
        let (end, round) = blocking(move || {
            let pause = || learning.pause_reason(scheduled).is_some();
            let mut progress = |p: &Progress| learning.note_progress(p);
            let end = round.run(&pause, &mut progress).map_err(training_error)?;
            Ok((end, round))
        })
        .await?;
        let plan = round.trainer().plan();
        let mut report = RoundReport {
            version: None,
            promoted: false,
            reasons: vec![],
            steps: (round.trainer().step(), plan.total_steps),
            final_loss: None,
            trained: plan.examples.len(),
            held_out: 0,
            skipped: plan.skipped,
            paused: false,
        };
        match end {
            RoundEnd::Paused { step } => {
                let why = self
                    .pause_reason(scheduled)
                    .unwrap_or_else(|| "the owner paused it".into());
                report.reasons.push(format!(
                    "paused after step {step}: {why}; it resumes from its checkpoint"
                ));
                report.paused = true;
                self.inner.trust.record(
                    if scheduled {
                        Actor::System
                    } else {
                        Actor::Owner
                    },
                    Action::TrainingPause,
                    "adapter",
                    "done",
                    serde_json::json!({"step": step, "why": why}),
                )?;
                Ok(report)
            }
            RoundEnd::Judged {
                adapter,
                history,
                report: gate,
            } => {
                self.inner.training.live().phase = TrainingPhase::Idle;
                report.final_loss = history.last().map(|r| r.loss);
                report.held_out = gate.candidate.held_out;
                report.promoted = gate.decision.promote;
                report.reasons = gate.decision.reasons.clone();
                let kept = self
                    .data_dir()
                    .join("adapters")
                    .join(format!("round-{}", pincer_store::unix_now_ms()));
                move_adapter(&adapter, &kept)?;
                let new = NewAdapter {
                    base_model: plan.base_model.to_string_lossy().into_owned(),
                    parent_id: self.store().serving_adapter()?.map(|a| a.id),
                    path: kept.to_string_lossy().into_owned(),
                    settings: serde_json::to_value(&plan.settings).unwrap_or_default(),
                    data: serde_json::json!({
                        "trained": plan.examples.iter().map(|e| e.trajectory_id).collect::<Vec<_>>(),
                        "skipped": plan.skipped,
                    }),
                    metrics: serde_json::json!({"gate": gate, "history": history}),
                };
                let version = self.store().add_adapter(
                    &new,
                    gate.decision.promote,
                    &gate.decision.reasons.join("; "),
                )?;
                report.version = Some(version.id);
                let decision = if report.promoted {
                    "promoted"
                } else {
                    "rejected"
                };
                self.inner.trust.record(Actor::System, Action::TrainingRound, &format!("adapter:{}", version.id), decision, serde_json::json!({"reasons": report.reasons, "steps": report.steps, "finalLoss": report.final_loss}))?;
                // The adapter is kept; a run folder left behind only costs
                // disk, and the next round clears it before it starts.
                if let Err(error) = remove_run_folder(&dir) {
                    self.inner.trust.problems().report(Area::Training, &error);
                }
                if report.promoted {
                    self.reload_with_serving_adapter().await?;
                }
                Ok(report)
            }
        }
    }
}

fn move_adapter(from: &Path, to: &Path) -> Result<()> {
    let io = |source| LearningError::Io {
        context: format!("keeping the adapter in {}", to.display()),
        source,
    };
    std::fs::create_dir_all(to.parent().unwrap_or(to)).map_err(io)?;
    std::fs::rename(from, to).map_err(io)
}

fn candle_device() -> candle_core::Device {
    candle_core::Device::Cpu
}

fn training_error(error: impl std::fmt::Display) -> LearningError {
    LearningError::Training(error.to_string())
}

impl Learning {
    /// A finished step: the pane's progress, and the gate's turn after the last.
    fn note_progress(&self, progress: &Progress) {
        let mut live = self.inner.training.live();
        let shown = live.progress.get_or_insert_with(TrainingProgress::default);
        shown.step = progress.record.step as u32;
        shown.total_steps = progress.total_steps as u32;
        shown.losses.push(progress.record.loss);
        shown.eta_seconds = Some(progress.eta_seconds);
        if progress.record.step >= progress.total_steps {
            live.phase = TrainingPhase::Gating;
        }
    }
}

/// The end of a round as the pane and the notification tell it.
fn summarise(result: &Result<RoundReport>, scheduled: bool) -> RoundSummary {
    let at = pincer_store::unix_now_ms() as f64 / 1000.0;
    match result {
        Ok(report) => RoundSummary {
            at,
            version: report.version.map(|v| v as f64),
            promoted: report.promoted,
            reasons: report.reasons.clone(),
            scheduled,
            paused: report.paused,
            failed: false,
            steps: report.steps.0 as u32,
            total_steps: report.steps.1 as u32,
            final_loss: report.final_loss,
            trained: report.trained as u32,
            held_out: report.held_out as u32,
            skipped: report.skipped as u32,
        },
        Err(error) => RoundSummary {
            at,
            reasons: vec![error.to_string()],
            scheduled,
            failed: true,
            ..RoundSummary::default()
        },
    }
}

/// Removes a finished or abandoned round's run folder (absent is fine).
fn remove_run_folder(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LearningError::Io {
            context: format!(
                "removing the training run folder {} (free the disk or fix its permissions)",
                dir.display()
            ),
            source,
        }),
    }
}
