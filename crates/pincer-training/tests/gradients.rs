//! The trainable Qwen3 on the generated tiny model: its gradients through
//! every adapter match finite differences, so no op without a backward
//! pass (candle's fused kernels) slipped in.

use candle_core::{DType, Device, Tensor, Var};
use pincer_training::lora::LoraConfig;
use pincer_training::qwen3::Qwen3;

/// Tests mix candle's errors, the trainer's and the file system's.
type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

const TOKENS: [u32; 9] = [3, 41, 7, 200, 15, 99, 64, 8, 120];

fn loss(model: &Qwen3) -> TestResult<Tensor> {
    Ok(model.token_logprobs(&TOKENS, 4)?.mean_all()?.neg()?)
}

fn nudge(var: &Var, index: usize, by: f64) -> TestResult<()> {
    let shape = var.as_tensor().shape().clone();
    let mut values = var.as_tensor().flatten_all()?.to_vec1::<f64>()?;
    values[index] += by;
    Ok(var.set(&Tensor::from_vec(values, shape, &Device::Cpu)?)?)
}

#[test]
fn adapter_gradients_match_finite_differences() -> TestResult<()> {
    let dir = xtask::shared_tiny_model();
    let config = LoraConfig {
        rank: 4,
        ..Default::default()
    };
    let model = Qwen3::load(dir, DType::F64, &Device::Cpu, Some(&config), 11)?;
    let vars = model.adapter_vars();
    assert_eq!(
        vars.len(),
        2 * 7 * 2,
        "A and B on seven projections in each of two blocks"
    );
    // B starts at zero (a fresh adapter changes nothing); give it values so
    // that A's gradients are not trivially zero.
    for (i, (name, var)) in vars.iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            let shape = var.as_tensor().shape().clone();
            let values: Vec<f64> = (0..shape.elem_count())
                .map(|j| (((i * 31 + j * 17) % 23) as f64 - 11.0) * 0.003)
                .collect();
            var.set(&Tensor::from_vec(values, shape, &Device::Cpu)?)?;
        }
    }
    let grads = loss(&model)?.backward()?;
    let eps = 1e-5;
    let mut checked = 0;
    for (name, var) in vars.iter().filter(|(n, _)| {
        n.contains("layers.0.self_attn.q_proj")
            || n.contains("layers.1.mlp.down_proj")
            || n.contains("layers.1.self_attn.k_proj")
    }) {
        let analytic = grads
            .get(var)
            .expect("every adapter matrix has a gradient")
            .flatten_all()?
            .to_vec1::<f64>()?;
        for index in [0, analytic.len() / 3, analytic.len() - 1] {
            nudge(var, index, eps)?;
            let up = loss(&model)?.to_scalar::<f64>()?;
            nudge(var, index, -2.0 * eps)?;
            let down = loss(&model)?.to_scalar::<f64>()?;
            nudge(var, index, eps)?;
            let numeric = (up - down) / (2.0 * eps);
            let error = (numeric - analytic[index]).abs()
                / numeric.abs().max(analytic[index].abs()).max(1e-6);
            assert!(
                error < 1e-4,
                "{name}[{index}]: analytic {} vs numeric {numeric} (relative error {error:e})",
                analytic[index]
            );
            assert!(
                numeric.abs() > 1e-9,
                "{name}[{index}] has no influence on the loss: the check would be vacuous"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
    Ok(())
}

#[test]
fn a_fresh_adapter_leaves_the_base_model_unchanged() -> TestResult<()> {
    let dir = xtask::shared_tiny_model();
    let base = Qwen3::load(dir, DType::F32, &Device::Cpu, None, 0)?;
    let adapted = Qwen3::load(
        dir,
        DType::F32,
        &Device::Cpu,
        Some(&LoraConfig::default()),
        5,
    )?;
    let a = base.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?;
    let b = adapted.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?;
    assert_eq!(a, b);
    assert!(a.iter().all(|l| *l < 0.0 && l.is_finite()));
    Ok(())
}

/// Mean log-probability of the response after `steps` AdamW steps of the
/// binary-RL objective with `score`, and before.
fn train(score: f64, steps: usize) -> TestResult<(f32, f32)> {
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};
    use pincer_training::objectives::{loss, ObjectiveConfig, TokenTerms};
    let model = Qwen3::load(
        xtask::shared_tiny_model(),
        DType::F32,
        &Device::Cpu,
        Some(&LoraConfig {
            rank: 8,
            ..Default::default()
        }),
        3,
    )?;
    let vars = model
        .adapter_vars()
        .into_iter()
        .map(|(_, var)| var)
        .collect();
    let mut optimizer = AdamW::new(
        vars,
        ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let served = model.token_logprobs(&TOKENS, 4)?.detach();
    let before = served.mean_all()?.to_scalar::<f32>()?;
    for _ in 0..steps {
        let policy = model.token_logprobs(&TOKENS, 4)?;
        let terms = TokenTerms {
            policy: &policy,
            served: &served,
            teacher: None,
            base: None,
            score,
        };
        optimizer.backward_step(&loss(&terms, &ObjectiveConfig::default())?)?;
    }
    Ok((
        before,
        model
            .token_logprobs(&TOKENS, 4)?
            .mean_all()?
            .to_scalar::<f32>()?,
    ))
}

#[test]
fn a_few_steps_move_the_answer_the_way_its_score_says() -> TestResult<()> {
    let (before, after) = train(1.0, 5)?;
    assert!(
        after > before + 0.5,
        "a +1 answer becomes likelier: {before} → {after}"
    );
    let (before, after) = train(-1.0, 5)?;
    assert!(
        after < before - 0.5,
        "a −1 answer becomes less likely: {before} → {after}"
    );
    Ok(())
}

#[test]
fn a_trained_adapter_saves_in_the_peft_layout_and_loads_back_exactly() -> TestResult<()> {
    use pincer_training::adapter;
    let dir = xtask::shared_tiny_model();
    let config = LoraConfig {
        rank: 4,
        ..Default::default()
    };
    let trained = Qwen3::load(dir, DType::F32, &Device::Cpu, Some(&config), 1)?;
    for (_, var) in trained
        .adapter_vars()
        .iter()
        .filter(|(n, _)| n.ends_with("lora_B.weight"))
    {
        var.set(&(var.as_tensor().ones_like()? * 0.01)?)?;
    }
    let out = tempfile::tempdir()?;
    adapter::save(out.path(), &config, "tiny-qwen3", &trained.adapter_vars())?;
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("adapter_config.json"))?).unwrap();
    assert_eq!(
        (
            written["peft_type"].as_str(),
            written["r"].as_u64(),
            written["lora_alpha"].as_f64()
        ),
        (Some("LORA"), Some(4), Some(32.0))
    );
    let names: Vec<String> =
        candle_core::safetensors::load(out.path().join("adapter_model.safetensors"), &Device::Cpu)?
            .into_keys()
            .collect();
    assert!(
        names.contains(&"base_model.model.model.layers.1.mlp.down_proj.lora_B.weight".to_string()),
        "{names:?}"
    );
    assert_eq!(names.len(), 28);

    let fresh = Qwen3::load(dir, DType::F32, &Device::Cpu, Some(&config), 99)?;
    assert_ne!(
        fresh.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?,
        trained.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?
    );
    adapter::load_into(out.path(), &fresh.adapter_vars())?;
    assert_eq!(
        fresh.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?,
        trained.token_logprobs(&TOKENS, 2)?.to_vec1::<f32>()?
    );
    // Another rank does not fit, and says so.
    let other = Qwen3::load(
        dir,
        DType::F32,
        &Device::Cpu,
        Some(&LoraConfig {
            rank: 8,
            ..Default::default()
        }),
        0,
    )?;
    let error = adapter::load_into(out.path(), &other.adapter_vars())
        .unwrap_err()
        .to_string();
    assert!(error.contains("the model needs"), "{error}");
    Ok(())
}

#[test]
fn a_sharded_model_loads_like_its_single_file() -> TestResult<()> {
    let single = xtask::shared_tiny_model();
    let sharded = tempfile::tempdir()?;
    let tensors = candle_core::safetensors::load(single.join("model.safetensors"), &Device::Cpu)?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (shard, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", shard + 1);
        let subset: std::collections::HashMap<String, Tensor> = part
            .iter()
            .map(|&name| (name.clone(), tensors[name].clone()))
            .collect();
        candle_core::safetensors::save(&subset, sharded.path().join(&file))?;
        for name in part {
            weight_map.insert((*name).clone(), file.clone().into());
        }
    }
    std::fs::write(
        sharded.path().join("model.safetensors.index.json"),
        serde_json::json!({ "weight_map": weight_map }).to_string(),
    )?;
    std::fs::copy(
        single.join("config.json"),
        sharded.path().join("config.json"),
    )?;
    let one = Qwen3::load(single, DType::F32, &Device::Cpu, None, 0)?;
    let two = Qwen3::load(sharded.path(), DType::F32, &Device::Cpu, None, 0)?;
    let gap = (one.token_logprobs(&TOKENS, 4)? - two.token_logprobs(&TOKENS, 4)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert_eq!(gap, 0.0, "the same weights from two shards");

    std::fs::remove_file(sharded.path().join("model.safetensors.index.json"))?;
    let missing = Qwen3::load(sharded.path(), DType::F32, &Device::Cpu, None, 0)
        .err()
        .expect("no weights named")
        .to_string();
    assert!(
        missing.contains("model.safetensors.index.json"),
        "{missing}"
    );
    Ok(())
}
