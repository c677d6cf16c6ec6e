//! Adapters on disk in the PEFT layout (`adapter_config.json` +
//! `adapter_model.safetensors` with PEFT's tensor names), so mistral.rs,
//! PEFT and anything else that reads LoRA adapters can load them. Written
//! atomically: a kill leaves the old adapter or the new one, never half.

use crate::error::{load_safetensors, save_safetensors, to_json};
use crate::lora::LoraConfig;
use crate::{Result, TrainingError};
use candle_core::{Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// `adapter_config.json` as PEFT writes it for a causal-LM LoRA.
pub fn peft_config(config: &LoraConfig, base_model: &str) -> serde_json::Value {
    serde_json::json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": 0.0,
        "target_modules": config.targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "use_rslora": false,
        "use_dora": false,
        "modules_to_save": null,
    })
}

/// Writes `vars` (PEFT names → matrices) and the config into `dir`, each
/// file through a temporary name and a rename.
pub fn save(
    dir: &Path,
    config: &LoraConfig,
    base_model: &str,
    vars: &[(String, Var)],
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| TrainingError::io(format!("cannot create {}", dir.display()), e))?;
    let tensors: HashMap<String, Tensor> = vars
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
        .collect();
    let weights = dir.join("adapter_model.safetensors");
    let partial = dir.join("adapter_model.safetensors.partial");
    save_safetensors(&tensors, &partial)?;
    rename(&partial, &weights)?;
    let target = dir.join("adapter_config.json");
    let json = to_json(&target, &peft_config(config, base_model), true)?;
    let partial = dir.join("adapter_config.json.partial");
    std::fs::write(&partial, json)
        .map_err(|e| TrainingError::io(format!("cannot write {}", partial.display()), e))?;
    rename(&partial, &target)
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

/// Reads an adapter's matrices back into `vars` (by name), checking that
/// every one is there with its shape.
pub fn load_into(dir: &Path, vars: &[(String, Var)]) -> Result<()> {
    load_checked(dir, vars, |problem| {
        TrainingError::InvalidInput(format!(
            "{problem}; use an adapter trained for this base model with the same LoRA rank and targets"
        ))
    })
}

/// [`load_into`], with `unfit` turning what is wrong with the folder (a file
/// that is not safetensors, a missing tensor, a wrong shape) into the error
/// the caller's situation calls for.
pub(crate) fn load_checked(
    dir: &Path,
    vars: &[(String, Var)],
    unfit: impl Fn(String) -> TrainingError,
) -> Result<()> {
    let path = dir.join("adapter_model.safetensors");
    let tensors = load_safetensors(
        &path,
        vars.first()
            .map_or(&candle_core::Device::Cpu, |(_, v)| v.device()),
        |e| {
            unfit(format!(
                "{} is not a safetensors file ({e})",
                path.display()
            ))
        },
    )?;
    for (name, var) in vars {
        let tensor = tensors
            .get(name)
            .ok_or_else(|| unfit(format!("{} has no tensor {name}", dir.display())))?;
        if tensor.shape() != var.shape() {
            return Err(unfit(format!(
                "{name} in {} is {:?}, the model needs {:?}",
                dir.display(),
                tensor.shape(),
                var.shape()
            )));
        }
        var.set(&tensor.to_dtype(var.dtype())?)?;
    }
    Ok(())
}
