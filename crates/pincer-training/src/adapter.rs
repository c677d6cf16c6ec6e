//! Adapters on disk in the PEFT layout (`adapter_config.json` +
//! `adapter_model.safetensors` with PEFT's tensor names), so mistral.rs,
//! PEFT and anything else that reads LoRA adapters can load them. Written
//! atomically: a kill leaves the old adapter or the new one, never half.

use crate::lora::LoraConfig;
use candle_core::{Result, Tensor, Var};
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
    std::fs::create_dir_all(dir)?;
    let tensors: HashMap<String, Tensor> = vars
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
        .collect();
    let weights = dir.join("adapter_model.safetensors");
    let partial = dir.join("adapter_model.safetensors.partial");
    candle_core::safetensors::save(&tensors, &partial)?;
    std::fs::rename(&partial, &weights)?;
    let json = serde_json::to_vec_pretty(&peft_config(config, base_model))
        .map_err(candle_core::Error::wrap)?;
    let partial = dir.join("adapter_config.json.partial");
    std::fs::write(&partial, json)?;
    std::fs::rename(&partial, dir.join("adapter_config.json"))?;
    Ok(())
}

/// Reads an adapter's matrices back into `vars` (by name), checking that
/// every one is there with its shape.
pub fn load_into(dir: &Path, vars: &[(String, Var)]) -> Result<()> {
    let tensors = candle_core::safetensors::load(
        dir.join("adapter_model.safetensors"),
        vars.first()
            .map_or(&candle_core::Device::Cpu, |(_, v)| v.device()),
    )?;
    for (name, var) in vars {
        let tensor = tensors.get(name).ok_or_else(|| {
            candle_core::Error::Msg(format!("{} has no tensor {name}", dir.display()))
        })?;
        if tensor.shape() != var.shape() {
            candle_core::bail!(
                "{name} in {} is {:?}, the model needs {:?}",
                dir.display(),
                tensor.shape(),
                var.shape()
            );
        }
        var.set(&tensor.to_dtype(var.dtype())?)?;
    }
    Ok(())
}
