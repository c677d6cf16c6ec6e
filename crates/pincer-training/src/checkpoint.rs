//! A run's files, so that a kill at any moment loses at most one step:
//!
//! - `run.json`: the plan, written once before the first step (settings,
//!   the examples as token ids, the teacher's and the base's logprobs);
//! - `checkpoints/step-NNNNNN/`: the adapter, the optimiser's moments and
//!   the history after that step, complete before it is named;
//! - `checkpoints/latest`: the name of the newest complete checkpoint,
//!   replaced by a rename, so it always names a whole one.

use crate::error::{load_safetensors, save_safetensors, to_json};
use crate::optimizer::AdamW;
use crate::{Result, TrainingError};
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What one optimiser step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step number.
    pub step: usize,
    /// The mean loss over the step's examples.
    pub loss: f64,
    /// The gradients' global norm before clipping.
    pub grad_norm: f64,
    /// Tokens passed through the model in the step.
    pub tokens: usize,
    /// Seconds the step took.
    pub seconds: f64,
}

/// The state after a step, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    step: usize,
    history: Vec<StepRecord>,
}

/// Writes a checkpoint after `history.last()`'s step and names it latest;
/// older checkpoints are removed once the new one is named.
pub fn save(
    run: &Path,
    vars: &[(String, Var)],
    optimizer: &AdamW,
    history: &[StepRecord],
) -> Result<()> {
    let step = optimizer.steps;
    let root = run.join("checkpoints");
    ensure_space(run, vars)?;
    let name = format!("step-{step:06}");
    let dir = root.join(&name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| TrainingError::io(format!("cannot remove {}", dir.display()), e))?;
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| TrainingError::io(format!("cannot create {}", dir.display()), e))?;
    let adapter: HashMap<String, Tensor> = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().detach()))
        .collect();
    save_safetensors(&adapter, &dir.join("adapter_model.safetensors"))?;
    save_safetensors(&optimizer.moments(), &dir.join("optimizer.safetensors"))?;
    write_json(
        &dir.join("state.json"),
        &State {
            step,
            history: history.to_vec(),
        },
    )?;
    sync_dir(&dir);
    let partial = root.join("latest.partial");
    write(&partial, name.as_bytes())?;
    rename(&partial, &root.join("latest"))?;
    sync_dir(&root);
    let entries = std::fs::read_dir(&root)
        .map_err(|e| TrainingError::io(format!("cannot list {}", root.display()), e))?;
    for entry in entries.flatten() {
        let other = entry.file_name().to_string_lossy().into_owned();
        if other.starts_with("step-") && other != name {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// Room for one more checkpoint beside the one kept until it is named
/// latest: the adapter and the optimizer's two moments, plus a margin for
/// the JSON and the file system.
fn ensure_space(run: &Path, vars: &[(String, Var)]) -> Result<()> {
    const MARGIN: u64 = 4 * 1024 * 1024;
    let adapter: u64 = vars
        .iter()
        .map(|(_, v)| (v.elem_count() * v.dtype().size_in_bytes()) as u64)
        .sum();
    let needed = 3 * adapter + MARGIN;
    match pincer_store::free_bytes(run) {
        Some(free) if free < needed => Err(TrainingError::NoSpace {
            folder: run.display().to_string(),
            needed: pincer_store::human_bytes(needed),
            free: pincer_store::human_bytes(free),
        }),
        _ => Ok(()),
    }
}

/// The newest complete checkpoint, if any: its folder, step and history.
pub fn latest(run: &Path) -> Result<Option<(PathBuf, usize, Vec<StepRecord>)>> {
    let root = run.join("checkpoints");
    let Ok(name) = std::fs::read_to_string(root.join("latest")) else {
        return Ok(None);
    };
    let dir = root.join(name.trim());
    let state: State = read_json(&dir.join("state.json"))?;
    Ok(Some((dir, state.step, state.history)))
}

/// Puts a checkpoint's adapter and moments back.
pub fn restore(
    dir: &Path,
    vars: &[(String, Var)],
    optimizer: &mut AdamW,
    step: usize,
) -> Result<()> {
    crate::adapter::load_checked(dir, vars, |problem| {
        TrainingError::Damaged(format!(
            "the checkpoint does not fit its run ({problem}); start the run again"
        ))
    })?;
    let device = vars
        .first()
        .map_or(candle_core::Device::Cpu, |(_, v)| v.device().clone());
    let path = dir.join("optimizer.safetensors");
    let moments = load_safetensors(&path, &device, |e| {
        TrainingError::Damaged(format!(
            "{} is damaged ({e}); start the run again",
            path.display()
        ))
    })?;
    optimizer.restore(&moments, step)
}

/// Writes JSON through a temporary name and a rename.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let partial = path.with_extension("json.partial");
    write(&partial, &to_json(path, value, false)?)?;
    rename(&partial, path)
}

/// Writes `bytes` to `path`, naming it on failure.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| TrainingError::io(format!("cannot write {}", path.display()), e))
}

/// Renames `from` to `to`, naming both on failure.
fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| {
        TrainingError::io(
            format!("cannot rename {} to {}", from.display(), to.display()),
            e,
        )
    })
}

/// Reads JSON, naming the file when it is not what was written.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path)
        .map_err(|e| TrainingError::io(format!("cannot read {}", path.display()), e))?;
    serde_json::from_slice(&bytes).map_err(|source| TrainingError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Flushes a folder's entries to disk where the platform allows.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}
