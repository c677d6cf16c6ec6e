//! A whole training round in one folder: train on the owner's turns, then
//! put the new adapter through the gate against the serving one and the
//! bare base. The held-out turns and the regression set are written into
//! the folder with the plan, so a round resumed after a kill trains and is
//! judged on exactly what it started with.

use crate::gate::{self, Decision, GateBounds, GateSet, Metrics, Sequence};
use crate::qwen3::Qwen3;
use crate::trainer::{logprobs, Example, Outcome, Progress, TrainSettings, Trainer};
use crate::Result;
use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a new round starts from.
pub struct RoundInputs {
    /// The base model's safetensors folder (the one the engine serves).
    pub base_model: PathBuf,
    /// The adapter serving now; training continues from it.
    pub serving_adapter: Option<PathBuf>,
    /// Turns to train on.
    pub train: Vec<Example>,
    /// Turns held out for the gate.
    pub held_out: Vec<Example>,
    /// The regression set, tokenised.
    pub regression: Vec<Sequence>,
    /// How to train.
    pub settings: TrainSettings,
    /// How strict the gate is.
    pub bounds: GateBounds,
}

/// The gate's part of a round, stored as `gate.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GatePlan {
    held_out: Vec<Example>,
    regression: Vec<Sequence>,
    bounds: GateBounds,
}

/// What the gate found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The new adapter's scores.
    pub candidate: Metrics,
    /// The serving adapter's (the base's when none serves).
    pub serving: Metrics,
    /// The bare base's.
    pub base: Metrics,
    /// Promote or not, and why.
    pub decision: Decision,
}

/// How a call to [`Round::run`] ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RoundEnd {
    /// Trained and judged; the adapter is in the round's `adapter` folder.
    Judged {
        /// The adapter (PEFT layout).
        adapter: PathBuf,
        /// Every training step.
        history: Vec<crate::checkpoint::StepRecord>,
        /// The gate's findings.
        report: GateReport,
    },
    /// Paused; [`Round::resume`] goes on from step `step`.
    Paused {
        /// Steps done and saved.
        step: usize,
    },
}

/// A round in its folder.
pub struct Round {
    dir: PathBuf,
    trainer: Trainer,
    gate: GatePlan,
    device: Device,
}

impl Round {
    /// Starts a round in `dir`.
    pub fn start(dir: &Path, inputs: RoundInputs, device: &Device) -> Result<Self> {
        let trainer = Trainer::prepare(
            dir,
            &inputs.base_model,
            inputs.serving_adapter.as_deref(),
            inputs.train,
            inputs.settings,
            device,
        )?;
        let gate = GatePlan {
            held_out: inputs.held_out,
            regression: inputs.regression,
            bounds: inputs.bounds,
        };
        crate::checkpoint::write_json(&dir.join("gate.json"), &gate)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            trainer,
            gate,
            device: device.clone(),
        })
    }

    /// Opens the round in `dir` where it stopped.
    pub fn resume(dir: &Path, device: &Device) -> Result<Self> {
        let trainer = Trainer::resume(dir, device)?;
        let gate = crate::checkpoint::read_json(&dir.join("gate.json"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            trainer,
            gate,
            device: device.clone(),
        })
    }

    /// Whether `dir` holds a round that can be resumed.
    pub fn exists(dir: &Path) -> bool {
        dir.join("run.json").is_file() && dir.join("gate.json").is_file()
    }

    /// The training plan.
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// Trains (pausing when `pause()` says so), then judges the adapter.
    pub fn run(
        &mut self,
        pause: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<RoundEnd> {
        let (adapter, history) = match self.trainer.run(pause, progress)? {
            Outcome::Paused { step } => return Ok(RoundEnd::Paused { step }),
            Outcome::Finished { adapter, history } => (adapter, history),
        };
        let report = self.judge(&adapter)?;
        crate::checkpoint::write_json(&self.dir.join("report.json"), &report)?;
        Ok(RoundEnd::Judged {
            adapter,
            history,
            report,
        })
    }

    fn judge(&self, candidate: &Path) -> Result<GateReport> {
        let plan = self.trainer.plan();
        let model = Qwen3::load(
            &plan.base_model,
            DType::F32,
            &self.device,
            Some(&plan.settings.lora),
            plan.settings.seed,
        )?;
        let base = model.without_adapters();
        let vars = model.adapter_vars();
        let set = GateSet {
            held_out: self.gate.held_out.clone(),
            regression: self.gate.regression.clone(),
        };
        // The serving model is the teacher: the hint in its context.
        let serving_model = match &plan.start_adapter {
            Some(serving) => {
                crate::adapter::load_into(serving, &vars)?;
                &model
            }
            None => &base,
        };
        let teacher = set
            .held_out
            .iter()
            .map(|e| {
                e.teacher_prompt
                    .as_ref()
                    .map(|prompt| logprobs(serving_model, prompt, &e.response))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let serving = gate::measure(serving_model, &base, &set, &teacher)?;
        let base_metrics = gate::measure(&base, &base, &set, &teacher)?;
        crate::adapter::load_into(candidate, &vars)?;
        let candidate = gate::measure(&model, &base, &set, &teacher)?;
        let decision = gate::decide(&candidate, &serving, &base_metrics, &self.gate.bounds);
        Ok(GateReport {
            candidate,
            serving,
            base: base_metrics,
            decision,
        })
    }
}
