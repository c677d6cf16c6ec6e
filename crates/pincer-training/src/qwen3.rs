//! A Qwen3 forward pass that can be differentiated: the frozen base read
//! from the same `model.safetensors` the engine serves, LoRA on the chosen
//! projections, and only ops with a backward pass (`rms_norm_slow`,
//! `rope_slow`, `softmax` written out; candle's fused kernels have none).

use crate::error::load_safetensors;
use crate::lora::{to, LoraConfig, LoraLinear};
use crate::{Result, TrainingError};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::ops::{rms_norm_slow, softmax};
use candle_nn::rotary_emb::rope_slow;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The fields of a Qwen3 `config.json` the forward pass needs.
#[derive(Clone, Debug, Deserialize)]
pub struct Qwen3Config {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub num_key_value_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Whether the output projection is the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

#[derive(Clone)]
struct Block {
    input_norm: Tensor,
    q: LoraLinear,
    k: LoraLinear,
    v: LoraLinear,
    o: LoraLinear,
    q_norm: Tensor,
    k_norm: Tensor,
    post_norm: Tensor,
    gate: LoraLinear,
    up: LoraLinear,
    down: LoraLinear,
}

/// The model, frozen but for its adapters.
pub struct Qwen3 {
    config: Qwen3Config,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Tensor,
    device: Device,
    dtype: DType,
}

/// What to do about a model folder that is not a Qwen3 safetensors model.
const PASS_THE_FOLDER: &str = "pass the model's Hugging Face folder";

/// Every tensor of the model in `dir`: `model.safetensors`, or the shards
/// `model.safetensors.index.json` names (how models above a few GB ship).
fn load_weights(dir: &Path) -> Result<HashMap<String, Tensor>> {
    let weights = |path: &Path| {
        load_safetensors(path, &Device::Cpu, |e| {
            TrainingError::InvalidInput(format!(
                "{} is not a safetensors file ({e}); {PASS_THE_FOLDER}",
                path.display()
            ))
        })
    };
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return weights(&single);
    }
    let index_path = dir.join("model.safetensors.index.json");
    let bytes = std::fs::read(&index_path).map_err(|e| {
        TrainingError::InvalidInput(format!(
            "{} has neither model.safetensors nor model.safetensors.index.json ({e}); {PASS_THE_FOLDER}",
            dir.display()
        ))
    })?;
    let index: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        TrainingError::InvalidInput(format!(
            "{} is not valid JSON: {e}; {PASS_THE_FOLDER}",
            index_path.display()
        ))
    })?;
    let mut shards: Vec<&str> = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| {
            TrainingError::InvalidInput(format!(
                "{} has no weight_map; {PASS_THE_FOLDER}",
                index_path.display()
            ))
        })?
        .values()
        .filter_map(|v| v.as_str())
        .collect();
    shards.sort_unstable();
    shards.dedup();
    let mut tensors = HashMap::new();
    for shard in shards {
        tensors.extend(weights(&dir.join(shard))?);
    }
    Ok(tensors)
}

impl Qwen3 {
    /// Loads `dir/config.json` and the weights (`model.safetensors` or its
    /// shards) as `dtype` on
    /// `device`, with adapters on `lora.targets` initialised from `seed`
    /// (none when `lora` is `None`).
    pub fn load(
        dir: &Path,
        dtype: DType,
        device: &Device,
        lora: Option<&LoraConfig>,
        seed: u64,
    ) -> Result<Self> {
        let config_path = dir.join("config.json");
        let bytes = std::fs::read(&config_path).map_err(|e| {
            TrainingError::InvalidInput(format!(
                "{} cannot be read ({e}); {PASS_THE_FOLDER}",
                config_path.display()
            ))
        })?;
        let config: Qwen3Config = serde_json::from_slice(&bytes).map_err(|e| {
            TrainingError::InvalidInput(format!(
                "{} is not a Qwen3 config ({e}); {PASS_THE_FOLDER}",
                config_path.display()
            ))
        })?;
        let mut tensors = load_weights(dir)?;
        let mut take = |name: &str| -> Result<Tensor> {
            let tensor = tensors.remove(name).ok_or_else(|| {
                TrainingError::InvalidInput(format!(
                    "{} has no tensor {name}; pass the Hugging Face folder of a Qwen3 model",
                    dir.display()
                ))
            })?;
            to(tensor, dtype, device)
        };
        let mut rng = crate::lora::seeded(seed);
        let mut linear = |weight: Tensor, name: &str| -> Result<LoraLinear> {
            match lora {
                Some(config) if config.targets.iter().any(|t| t == name) => {
                    LoraLinear::with_adapter(weight, config, &mut rng)
                }
                _ => Ok(LoraLinear::frozen(weight)),
            }
        };
        let embed = take("model.embed_tokens.weight")?;
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = |s: &str| format!("model.layers.{i}.{s}");
            blocks.push(Block {
                input_norm: take(&p("input_layernorm.weight"))?,
                q: linear(take(&p("self_attn.q_proj.weight"))?, "q_proj")?,
                k: linear(take(&p("self_attn.k_proj.weight"))?, "k_proj")?,
                v: linear(take(&p("self_attn.v_proj.weight"))?, "v_proj")?,
                o: linear(take(&p("self_attn.o_proj.weight"))?, "o_proj")?,
                q_norm: take(&p("self_attn.q_norm.weight"))?,
                k_norm: take(&p("self_attn.k_norm.weight"))?,
                post_norm: take(&p("post_attention_layernorm.weight"))?,
                gate: linear(take(&p("mlp.gate_proj.weight"))?, "gate_proj")?,
                up: linear(take(&p("mlp.up_proj.weight"))?, "up_proj")?,
                down: linear(take(&p("mlp.down_proj.weight"))?, "down_proj")?,
            });
        }
        let norm = take("model.norm.weight")?;
        let lm_head = if config.tie_word_embeddings {
            embed.clone()
        } else {
            take("lm_head.weight")?
        };
        Ok(Self {
            config,
            embed,
            blocks,
            norm,
            lm_head,
            device: device.clone(),
            dtype,
        })
    }

    /// The model's dimensions, as read from `config.json`.
    pub fn config(&self) -> &Qwen3Config {
        &self.config
    }

    /// The bare base: the same weights (shared, not copied) with every
    /// adapter left out, for the KL term and the gate's drift measure.
    pub fn without_adapters(&self) -> Self {
        let blocks = self
            .blocks
            .iter()
            .map(|b| Block {
                q: b.q.without_adapter(),
                k: b.k.without_adapter(),
                v: b.v.without_adapter(),
                o: b.o.without_adapter(),
                gate: b.gate.without_adapter(),
                up: b.up.without_adapter(),
                down: b.down.without_adapter(),
                ..b.clone()
            })
            .collect();
        Self {
            config: self.config.clone(),
            embed: self.embed.clone(),
            blocks,
            norm: self.norm.clone(),
            lm_head: self.lm_head.clone(),
            device: self.device.clone(),
            dtype: self.dtype,
        }
    }

    /// Every adapter matrix by its PEFT name
    /// (`base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`).
    pub fn adapter_vars(&self) -> Vec<(String, Var)> {
        let mut vars = Vec::new();
        for (i, block) in self.blocks.iter().enumerate() {
            let named = [
                ("self_attn.q_proj", &block.q),
                ("self_attn.k_proj", &block.k),
                ("self_attn.v_proj", &block.v),
                ("self_attn.o_proj", &block.o),
                ("mlp.gate_proj", &block.gate),
                ("mlp.up_proj", &block.up),
                ("mlp.down_proj", &block.down),
            ];
            for (name, layer) in named {
                if let Some(adapter) = layer.adapter() {
                    let prefix = format!("base_model.model.model.layers.{i}.{name}");
                    vars.push((format!("{prefix}.lora_A.weight"), adapter.a.clone()));
                    vars.push((format!("{prefix}.lora_B.weight"), adapter.b.clone()));
                }
            }
        }
        vars
    }

    fn rope(&self, seq: usize) -> Result<(Tensor, Tensor)> {
        let half = self.config.head_dim / 2;
        let inv: Vec<f64> = (0..half)
            .map(|i| {
                1.0 / self
                    .config
                    .rope_theta
                    .powf(2.0 * i as f64 / self.config.head_dim as f64)
            })
            .collect();
        let angles: Vec<f64> = (0..seq)
            .flat_map(|p| inv.iter().map(move |f| p as f64 * f))
            .collect();
        let angles = Tensor::from_vec(angles, (seq, half), &self.device)?.to_dtype(self.dtype)?;
        Ok((angles.cos()?, angles.sin()?))
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &Tensor,
    ) -> Result<Tensor> {
        let c = &self.config;
        let seq = x.dim(0)?;
        let eps = c.rms_norm_eps as f32;
        let heads = |t: Tensor, n: usize| {
            t.reshape((1, seq, n, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = heads(block.q.forward(x)?, c.num_attention_heads)?;
        let k = heads(block.k.forward(x)?, c.num_key_value_heads)?;
        let v = heads(block.v.forward(x)?, c.num_key_value_heads)?;
        let q = rope_slow(&rms_norm_slow(&q, &block.q_norm, eps)?, cos, sin)?;
        let k = rope_slow(&rms_norm_slow(&k, &block.k_norm, eps)?, cos, sin)?;
        let group = c.num_attention_heads / c.num_key_value_heads;
        let repeat = |t: Tensor| -> candle_core::Result<Tensor> {
            t.unsqueeze(2)?
                .broadcast_as((1, c.num_key_value_heads, group, seq, c.head_dim))?
                .reshape((1, c.num_attention_heads, seq, c.head_dim))
        };
        let (k, v) = (repeat(k)?, repeat(v)?);
        let scores =
            (q.matmul(&k.t()?.contiguous()?)? / (c.head_dim as f64).sqrt())?.broadcast_add(mask)?;
        let weights = softmax(&scores, D::Minus1)?;
        let out = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((seq, c.num_attention_heads * c.head_dim))?;
        block.o.forward(&out)
    }

    /// The logits (`seq × vocab`) for one sequence of token ids.
    pub fn forward(&self, tokens: &[u32]) -> Result<Tensor> {
        self.head(&self.hidden(tokens)?)
    }

    /// The vocabulary projection of final hidden states (`n × hidden`).
    fn head(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(crate::lora::frozen_matmul(hidden, &self.lm_head)?)
    }

    /// The final, normalised hidden state at every position (`seq × hidden`).
    fn hidden(&self, tokens: &[u32]) -> Result<Tensor> {
        let seq = tokens.len();
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?;
        let (cos, sin) = self.rope(seq)?;
        let mask: Vec<f64> = (0..seq)
            .flat_map(|i| (0..seq).map(move |j| if j > i { f64::NEG_INFINITY } else { 0.0 }))
            .collect();
        let mask = Tensor::from_vec(mask, (seq, seq), &self.device)?.to_dtype(self.dtype)?;
        let eps = self.config.rms_norm_eps as f32;
        for block in &self.blocks {
            let attended = self.attention(
                block,
                &rms_norm_slow(&x, &block.input_norm, eps)?,
                &cos,
                &sin,
                &mask,
            )?;
            x = (x + attended)?;
            let h = rms_norm_slow(&x, &block.post_norm, eps)?;
            let mlp = block
                .down
                .forward(&(block.gate.forward(&h)?.silu()? * block.up.forward(&h)?)?)?;
            x = (x + mlp)?;
        }
        Ok(rms_norm_slow(&x, &self.norm, eps)?)
    }

    /// The log-probability of each of `tokens[start..]` given the tokens
    /// before it: the per-token quantity every objective is built from.
    pub fn token_logprobs(&self, tokens: &[u32], start: usize) -> Result<Tensor> {
        if start == 0 || start >= tokens.len() {
            return Err(TrainingError::InvalidInput(format!(
                "token_logprobs needs a prompt and at least one response token (start {start} of {}); pass a non-empty prompt and answer",
                tokens.len()
            )));
        }
        // Only the positions that predict a response token go through the
        // vocabulary projection (a quarter of the model's work at 150k words).
        let hidden = self.hidden(&tokens[..tokens.len() - 1])?;
        let logits = self.head(&hidden.narrow(0, start - 1, tokens.len() - start)?)?;
        let logprobs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let targets = Tensor::new(&tokens[start..], &self.device)?.unsqueeze(1)?;
        Ok(logprobs.gather(&targets, 1)?.squeeze(1)?)
    }
}
