//! Training rounds as the owner sees them: collect the consented, judged
//! turns, rebuild each as the token ids that were served (the engine's own
//! tokenizer and chat template), train and gate in `data/training/round`,
//! keep every adapter under `data/adapters/`, serve the one that passes,
//! and roll back to any version or to the bare base. Every step is audited.

use crate::training_status::{RoundSummary, TrainingPhase, TrainingProgress};
use crate::{blocking, Action, Actor, App, AppError, Result};
use pincer_inference::{ChatMessage, Engine, ModelSource, Role};
use pincer_store::{AdapterVersion, NewAdapter, Trajectory};
use pincer_training::gate::{regression_items, GateBounds, Sequence};
use pincer_training::judge::{teacher_messages, Message};
use pincer_training::pipeline::{Round, RoundEnd, RoundInputs};
use pincer_training::trainer::Progress;
use pincer_training::trainer::{Example, TrainSettings};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// One turn in this many is held out of training for the gate.
const HOLD_OUT_EVERY: usize = 5;

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

impl App {
    /// Runs a training round now (or resumes the one a kill or a pause
    /// left), gates the adapter and serves it if it passes. Sleep is held
    /// off meanwhile; the end is broadcast to [`App::training_ends`].
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
            return Err(AppError::Unavailable(
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
            self.record(
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
    /// and [`App::train_now`] resumes it.
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
        self.record(
            Actor::Owner,
            Action::AdapterRollback,
            "adapter",
            "done",
            serde_json::json!({"version": version}),
        );
        Ok(self.store().serving_adapter()?)
    }

    /// The adapter to serve on `source`: the serving version, when it was
    /// trained on this model's folder.
    pub(crate) fn adapter_for(&self, source: &ModelSource) -> Option<PathBuf> {
        let ModelSource::Safetensors { dir, .. } = source else {
            return None;
        };
        let serving = self.store().serving_adapter().ok().flatten()?;
        (Path::new(&serving.adapter.base_model) == dir).then(|| PathBuf::from(serving.adapter.path))
    }

    async fn reload_with_serving_adapter(&self) -> Result<()> {
        let Some(engine) = self.engine() else {
            return Ok(());
        };
        self.load_engine(engine.source().clone(), Some(engine.id().to_string()))
            .await
            .map(|_| ())
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
            let _ = std::fs::remove_dir_all(&dir);
            let inputs = self.round_inputs(&options).await?;
            self.record(
                Actor::Owner,
                Action::TrainingStart,
                "adapter",
                "done",
                serde_json::json!({"train": inputs.train.len(), "heldOut": inputs.held_out.len()}),
            );
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
        let app = self.clone();
        let (end, round) = blocking(move || {
            let pause = || app.pause_reason(scheduled).is_some();
            let mut progress = |p: &Progress| app.note_progress(p);
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
                self.record(
                    if scheduled {
                        Actor::System
                    } else {
                        Actor::Owner
                    },
                    Action::TrainingPause,
                    "adapter",
                    "done",
                    serde_json::json!({"step": step, "why": why}),
                );
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
                self.record(Actor::System, Action::TrainingRound, &format!("adapter:{}", version.id), decision, serde_json::json!({"reasons": report.reasons, "steps": report.steps, "finalLoss": report.final_loss}));
                let _ = std::fs::remove_dir_all(&dir);
                if report.promoted {
                    self.reload_with_serving_adapter().await?;
                }
                Ok(report)
            }
        }
    }

    /// The round's data: judged, consented turns as served token ids, one in
    /// [`HOLD_OUT_EVERY`] held out, and the regression set tokenised.
    async fn round_inputs(&self, options: &TrainOptions) -> Result<RoundInputs> {
        let engine = self.engine().ok_or(AppError::NoModel)?;
        let ModelSource::Safetensors { dir, .. } = engine.source().clone() else {
            return Err(AppError::Unavailable("training needs the model as a safetensors folder (mistral.rs cannot serve an adapter on a Qwen3 GGUF file); load the model's folder in Models".into()));
        };
        let store = self.store().clone();
        let turns = blocking(move || Ok(store.training_set(100_000)?)).await?;
        if turns.len() < options.min_records {
            return Err(too_few_turns(turns.len(), options.min_records));
        }
        let (mut train, mut held_out) = (Vec::new(), Vec::new());
        for (index, turn) in turns.iter().enumerate() {
            let Some(example) = example(&engine, turn).await? else {
                continue;
            };
            if index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 {
                held_out.push(example)
            } else {
                train.push(example)
            }
        }
        Ok(RoundInputs {
            base_model: dir,
            serving_adapter: engine.adapter().map(Path::to_path_buf),
            train,
            held_out,
            regression: regression(&engine).await?,
            settings: options.settings.clone(),
            bounds: options.bounds.clone(),
        })
    }
}

/// Why a round cannot start yet, and what to do about it.
pub(crate) fn too_few_turns(ready: usize, needed: usize) -> AppError {
    AppError::Unavailable(format!(
        "{ready} judged turns with consent are ready; a round needs at least {needed}. Chat more, or give feedback, and try again"
    ))
}

/// A stored turn as the token ids that were served; `None` when its tokens
/// carry no ids (recorded before ids were kept) or it has no score.
async fn example(engine: &Engine, turn: &Trajectory) -> Result<Option<Example>> {
    let Some(judgment) = &turn.judgment else {
        return Ok(None);
    };
    let Some(response) = turn
        .turn
        .tokens
        .iter()
        .map(|t| t.id)
        .collect::<Option<Vec<u32>>>()
    else {
        return Ok(None);
    };
    let messages = crate::training_data::prompt_messages(turn);
    let prompt = engine.tokenize_chat(&chat(&messages)).await?;
    let teacher_prompt = match &judgment.hint {
        Some(hint) => Some(
            engine
                .tokenize_chat(&chat(&teacher_messages(&messages, hint)))
                .await?,
        ),
        None => None,
    };
    Ok(Some(Example {
        trajectory_id: turn.id,
        prompt,
        response,
        served: turn.turn.tokens.iter().map(|t| t.logprob).collect(),
        score: f64::from(judgment.score),
        teacher_prompt,
    }))
}

async fn regression(engine: &Engine) -> Result<Vec<Sequence>> {
    let mut sequences = Vec::new();
    for item in regression_items() {
        let (prompt, answer) = match (&item.text, &item.answer) {
            (Some(text), _) => {
                let tokens = engine.tokenize_text(text).await?;
                (tokens[..1].to_vec(), tokens[1..].to_vec())
            }
            (None, Some(answer)) => {
                let messages: Vec<Message> =
                    serde_json::from_value(serde_json::Value::Array(item.messages.clone()))
                        .unwrap_or_default();
                (
                    engine.tokenize_chat(&chat(&messages)).await?,
                    engine.tokenize_text(answer).await?,
                )
            }
            (None, None) => continue,
        };
        sequences.push(Sequence {
            kind: item.kind,
            name: item.name,
            prompt,
            answer,
        });
    }
    Ok(sequences)
}

fn chat(messages: &[Message]) -> Vec<ChatMessage> {
    messages
        .iter()
        .map(|m| ChatMessage {
            role: match m.role.as_str() {
                "system" => Role::System,
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => Role::User,
            },
            content: m.content.clone(),
        })
        .collect()
}

fn move_adapter(from: &Path, to: &Path) -> Result<()> {
    let io = |source| AppError::Io {
        context: format!("keeping the adapter in {}", to.display()),
        source,
    };
    std::fs::create_dir_all(to.parent().unwrap_or(to)).map_err(io)?;
    std::fs::rename(from, to).map_err(io)
}

fn candle_device() -> candle_core::Device {
    candle_core::Device::Cpu
}

fn training_error(error: candle_core::Error) -> AppError {
    AppError::Training(error.to_string())
}

impl App {
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
