//! A training run: judged turns in, a PEFT adapter out, resumable at every
//! step. The plan (settings, examples as the token ids that were served,
//! the teacher's and base's logprobs) is fixed and written before the first
//! step, so a run paused tonight resumes tomorrow on exactly the same data
//! and, from its checkpoint, reaches exactly the result of a run never
//! interrupted.

use crate::checkpoint::{self, StepRecord};
use crate::lora::LoraConfig;
use crate::objectives::{loss, ObjectiveConfig, TokenTerms};
use crate::optimizer::{AdamW, AdamWConfig};
use crate::qwen3::Qwen3;
use crate::{Result, TrainingError};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One judged turn as the model saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The trajectory it came from.
    pub trajectory_id: i64,
    /// The prompt's token ids (chat template applied).
    pub prompt: Vec<u32>,
    /// The answer's token ids.
    pub response: Vec<u32>,
    /// Each answer token's natural-log probability when it was served.
    pub served: Vec<f32>,
    /// The judged score: +1, 0 or −1.
    pub score: f64,
    /// The prompt with the hint in it, when the turn has one (for OPD).
    pub teacher_prompt: Option<Vec<u32>>,
}

/// How a run trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The adapter's shape.
    pub lora: LoraConfig,
    /// The objective's weights and clip range.
    pub objective: ObjectiveConfig,
    /// The optimiser.
    pub optimizer: AdamWConfig,
    /// Passes over the examples.
    pub epochs: usize,
    /// Examples whose gradients are summed into one step.
    pub accumulation: usize,
    /// The gradients' global norm is clipped to this (0: no clipping).
    pub clip_norm: f64,
    /// Seeds the adapter's initialisation and the example order.
    pub seed: u64,
    /// Longer turns (prompt + answer, in tokens) are left out.
    pub max_sequence: usize,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            lora: LoraConfig::default(),
            objective: ObjectiveConfig::default(),
            optimizer: AdamWConfig::default(),
            epochs: 2,
            accumulation: 4,
            clip_norm: 1.0,
            seed: 0,
            max_sequence: 2048,
        }
    }
}

/// The fixed part of a run, stored as `run.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// How it trains.
    pub settings: TrainSettings,
    /// The base model's folder.
    pub base_model: PathBuf,
    /// The adapter training starts from (the one serving), if any.
    pub start_adapter: Option<PathBuf>,
    /// What it trains on.
    pub examples: Vec<Example>,
    /// Each example's teacher logprobs (under its hint), when it has a hint.
    pub teacher: Vec<Option<Vec<f32>>>,
    /// Each example's logprobs under the bare base, when the KL term is on.
    pub base: Vec<Option<Vec<f32>>>,
    /// Turns left out for being too long or malformed.
    pub skipped: usize,
    /// Optimiser steps in the whole run.
    pub total_steps: usize,
}

/// Where a run is, for a progress display.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The step just finished.
    pub record: StepRecord,
    /// Steps in the run.
    pub total_steps: usize,
    /// Seconds left at the pace so far.
    pub eta_seconds: f64,
}

/// How a call to [`Trainer::run`] ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every step is done; the adapter is in `adapter`.
    Finished {
        /// The trained adapter (PEFT layout).
        adapter: PathBuf,
        /// Every step.
        history: Vec<StepRecord>,
    },
    /// Asked to pause; the last checkpoint is after `step`.
    Paused {
        /// Steps done and saved.
        step: usize,
    },
}

/// A run in progress: the model with its adapter, the optimiser, the plan.
pub struct Trainer {
    dir: PathBuf,
    plan: Plan,
    model: Qwen3,
    optimizer: AdamW,
    history: Vec<StepRecord>,
    device: Device,
}

impl Trainer {
    /// Plans a new run in `dir` (which must not hold one) and computes the
    /// fixed logprobs it needs: the teacher's under each hint and, with the
    /// KL term on, the bare base's.
    pub fn prepare(
        dir: &Path,
        base_model: &Path,
        start_adapter: Option<&Path>,
        examples: Vec<Example>,
        settings: TrainSettings,
        device: &Device,
    ) -> Result<Self> {
        if dir.join("run.json").exists() {
            return Err(TrainingError::InvalidInput(format!(
                "{} already holds a run; resume it or remove it",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainingError::io(format!("cannot create {}", dir.display()), e))?;
        let fits = |e: &Example| {
            !e.response.is_empty()
                && e.served.len() == e.response.len()
                && e.prompt.len() + e.response.len() <= settings.max_sequence
                && !e.prompt.is_empty()
        };
        let total = examples.len();
        let examples: Vec<Example> = examples.into_iter().filter(fits).collect();
        let skipped = total - examples.len();
        let model = Qwen3::load(
            base_model,
            DType::F32,
            device,
            Some(&settings.lora),
            settings.seed,
        )?;
        let base = match settings.objective.kl_weight != 0.0 {
            true => examples
                .iter()
                .map(|e| logprobs(&model, &e.prompt, &e.response).map(Some))
                .collect::<Result<_>>()?,
            false => vec![None; examples.len()],
        };
        if let Some(start) = start_adapter {
            crate::adapter::load_into(start, &model.adapter_vars())?;
        }
        let teacher = examples
            .iter()
            .map(|e| {
                e.teacher_prompt
                    .as_ref()
                    .map(|prompt| logprobs(&model, prompt, &e.response))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let per_epoch = examples.len().div_ceil(settings.accumulation.max(1));
        let plan = Plan {
            total_steps: per_epoch * settings.epochs,
            settings,
            base_model: base_model.to_path_buf(),
            start_adapter: start_adapter.map(Path::to_path_buf),
            examples,
            teacher,
            base,
            skipped,
        };
        checkpoint::write_json(&dir.join("run.json"), &plan)?;
        let optimizer = AdamW::new(model.adapter_vars(), plan.settings.optimizer.clone())?;
        Ok(Self {
            dir: dir.to_path_buf(),
            plan,
            model,
            optimizer,
            history: Vec::new(),
            device: device.clone(),
        })
    }

    /// Opens the run in `dir` at its latest checkpoint (or its start).
    pub fn resume(dir: &Path, device: &Device) -> Result<Self> {
        let plan: Plan = checkpoint::read_json(&dir.join("run.json"))?;
        let settings = &plan.settings;
        let model = Qwen3::load(
            &plan.base_model,
            DType::F32,
            device,
            Some(&settings.lora),
            settings.seed,
        )?;
        if let Some(start) = &plan.start_adapter {
            crate::adapter::load_into(start, &model.adapter_vars())?;
        }
        let mut optimizer = AdamW::new(model.adapter_vars(), settings.optimizer.clone())?;
        let mut history = Vec::new();
        if let Some((checkpoint_dir, step, saved)) = checkpoint::latest(dir)? {
            checkpoint::restore(&checkpoint_dir, &model.adapter_vars(), &mut optimizer, step)?;
            history = saved;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            plan,
            model,
            optimizer,
            history,
            device: device.clone(),
        })
    }

    /// The plan this run follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Every step done so far (restored from the checkpoint on resume).
    pub fn history(&self) -> &[StepRecord] {
        &self.history
    }

    /// Steps done.
    pub fn step(&self) -> usize {
        self.optimizer.steps
    }

    /// Trains until done or until `pause()` says to stop (asked before each
    /// example; a step cut short is dropped and redone on resume). Each
    /// finished step is checkpointed, then reported to `progress`.
    pub fn run(
        &mut self,
        pause: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Outcome> {
        let order = self.order();
        let batch = self.plan.settings.accumulation.max(1);
        let per_epoch = self.plan.examples.len().div_ceil(batch);
        while self.optimizer.steps < self.plan.total_steps {
            let started = Instant::now();
            let step = self.optimizer.steps;
            let (epoch, within) = (step / per_epoch.max(1), step % per_epoch.max(1));
            let picked =
                &order[epoch][within * batch..((within + 1) * batch).min(self.plan.examples.len())];
            let mut accumulated = self.optimizer.accumulator();
            let (mut total_loss, mut tokens) = (0.0, 0);
            for &index in picked {
                if pause() {
                    return Ok(Outcome::Paused { step });
                }
                let example_loss = self.example_loss(index)?;
                total_loss += example_loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                tokens += self.plan.examples[index].prompt.len()
                    + self.plan.examples[index].response.len();
                self.optimizer.accumulate(&example_loss, &mut accumulated)?;
            }
            let grad_norm =
                self.optimizer
                    .step(accumulated, picked.len(), self.plan.settings.clip_norm)?;
            let record = StepRecord {
                step: step + 1,
                loss: total_loss / picked.len().max(1) as f64,
                grad_norm,
                tokens,
                seconds: started.elapsed().as_secs_f64(),
            };
            self.history.push(record.clone());
            checkpoint::save(
                &self.dir,
                &self.model.adapter_vars(),
                &self.optimizer,
                &self.history,
            )?;
            let pace =
                self.history.iter().map(|r| r.seconds).sum::<f64>() / self.history.len() as f64;
            progress(&Progress {
                record,
                total_steps: self.plan.total_steps,
                eta_seconds: pace * (self.plan.total_steps - self.optimizer.steps) as f64,
            });
        }
        let adapter = self.dir.join("adapter");
        let name = self.plan.base_model.to_string_lossy().into_owned();
        crate::adapter::save(
            &adapter,
            &self.plan.settings.lora,
            &name,
            &self.model.adapter_vars(),
        )?;
        Ok(Outcome::Finished {
            adapter,
            history: self.history.clone(),
        })
    }

    /// The examples' order in each epoch: a seeded shuffle, the same on
    /// every resume.
    fn order(&self) -> Vec<Vec<usize>> {
        (0..self.plan.settings.epochs)
            .map(|epoch| {
                let mut indices: Vec<usize> = (0..self.plan.examples.len()).collect();
                let seed = self
                    .plan
                    .settings
                    .seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(epoch as u64 + 1);
                indices.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
                indices
            })
            .collect()
    }

    fn example_loss(&self, index: usize) -> Result<Tensor> {
        let example = &self.plan.examples[index];
        let policy = self.model.token_logprobs(
            &joined(&example.prompt, &example.response),
            example.prompt.len(),
        )?;
        let vector = |values: &Vec<f32>| Tensor::new(values.as_slice(), &self.device);
        let served = vector(&example.served)?;
        let teacher = self.plan.teacher[index].as_ref().map(vector).transpose()?;
        let base = self.plan.base[index].as_ref().map(vector).transpose()?;
        let terms = TokenTerms {
            policy: &policy,
            served: &served,
            teacher: teacher.as_ref(),
            base: base.as_ref(),
            score: example.score,
        };
        loss(&terms, &self.plan.settings.objective)
    }
}

fn joined(prompt: &[u32], response: &[u32]) -> Vec<u32> {
    prompt.iter().chain(response).copied().collect()
}

/// The response's logprobs after `prompt`, without gradients.
pub fn logprobs(model: &Qwen3, prompt: &[u32], response: &[u32]) -> Result<Vec<f32>> {
    Ok(model
        .token_logprobs(&joined(prompt, response), prompt.len())?
        .detach()
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?)
}
