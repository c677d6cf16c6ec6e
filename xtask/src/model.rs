//! Random-weight Qwen3-architecture models, written as a Hugging Face folder
//! (safetensors) and as GGUF from the same weights.

use crate::vocab::{Vocab, CHAT_TEMPLATE};
use anyhow::{Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::fs;
use std::io::BufWriter;
use std::path::Path;

/// The dimensions of a Qwen3 decoder.
#[derive(Clone, Copy, Debug)]
pub struct Qwen3Shape {
    /// Tokens in the vocabulary (special tokens included).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Longest context the config advertises.
    pub context_length: usize,
}

impl Qwen3Shape {
    /// A few-MB model for tests: every dimension a multiple of 256 where
    /// quantised GGUF blocks need it.
    pub const TINY: Self = Self {
        vocab_size: 512,
        hidden_size: 256,
        intermediate_size: 512,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        head_dim: 64,
        context_length: 16_384,
    };

    /// The shape of Qwen3-0.6B, for benchmarks.
    pub const QWEN3_0_6B: Self = Self {
        vocab_size: 151_936,
        hidden_size: 1024,
        intermediate_size: 3072,
        layers: 28,
        heads: 16,
        kv_heads: 8,
        head_dim: 128,
        context_length: 40_960,
    };
}

/// How GGUF stores the matrices (norms always stay f32).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum GgufType {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (the input llama.cpp's quantizer expects).
    F16,
    /// 8-bit blocks.
    Q8_0,
    /// 4-bit k-quants.
    Q4k,
}

impl GgufType {
    fn ggml(self) -> GgmlDType {
        match self {
            Self::F32 => GgmlDType::F32,
            Self::F16 => GgmlDType::F16,
            Self::Q8_0 => GgmlDType::Q8_0,
            Self::Q4k => GgmlDType::Q4K,
        }
    }
}

/// One named weight in Hugging Face naming, row-major `[out, in]`.
struct Weight {
    hf_name: String,
    gguf_name: String,
    dims: Vec<usize>,
    values: Vec<f32>,
    is_matrix: bool,
}

fn random_weights(shape: &Qwen3Shape, vocab: &Vocab, seed: u64) -> Vec<Weight> {
    let mut rng = StdRng::seed_from_u64(seed);
    // Uniform with standard deviation 0.02, as a freshly initialised model.
    let bound = 0.02f32 * 3f32.sqrt();
    let mut matrix = |hf: String, gguf: String, out: usize, inp: usize| Weight {
        hf_name: hf,
        gguf_name: gguf,
        dims: vec![out, inp],
        values: (0..out * inp)
            .map(|_| rng.random_range(-bound..bound))
            .collect(),
        is_matrix: true,
    };
    let norm = |hf: String, gguf: String, size: usize| Weight {
        hf_name: hf,
        gguf_name: gguf,
        dims: vec![size],
        values: vec![1.0; size],
        is_matrix: false,
    };
    let (h, q, kv) = (
        shape.hidden_size,
        shape.heads * shape.head_dim,
        shape.kv_heads * shape.head_dim,
    );
    let mut embedding = matrix(
        "model.embed_tokens.weight".into(),
        "token_embd.weight".into(),
        shape.vocab_size,
        h,
    );
    // Special tokens get zero rows: with tied embeddings their logit is 0 while
    // the regular tokens' greedy maximum is positive, so greedy decoding never
    // ends early and tests see the token counts they ask for.
    for id in vocab.regular..shape.vocab_size {
        embedding.values[id * h..(id + 1) * h].fill(0.0);
    }
    let mut weights = vec![embedding];
    for layer in 0..shape.layers {
        let hf = |s: &str| format!("model.layers.{layer}.{s}");
        let gg = |s: &str| format!("blk.{layer}.{s}");
        weights.push(norm(
            hf("input_layernorm.weight"),
            gg("attn_norm.weight"),
            h,
        ));
        weights.push(matrix(
            hf("self_attn.q_proj.weight"),
            gg("attn_q.weight"),
            q,
            h,
        ));
        weights.push(matrix(
            hf("self_attn.k_proj.weight"),
            gg("attn_k.weight"),
            kv,
            h,
        ));
        weights.push(matrix(
            hf("self_attn.v_proj.weight"),
            gg("attn_v.weight"),
            kv,
            h,
        ));
        weights.push(matrix(
            hf("self_attn.o_proj.weight"),
            gg("attn_output.weight"),
            h,
            q,
        ));
        weights.push(norm(
            hf("self_attn.q_norm.weight"),
            gg("attn_q_norm.weight"),
            shape.head_dim,
        ));
        weights.push(norm(
            hf("self_attn.k_norm.weight"),
            gg("attn_k_norm.weight"),
            shape.head_dim,
        ));
        weights.push(norm(
            hf("post_attention_layernorm.weight"),
            gg("ffn_norm.weight"),
            h,
        ));
        weights.push(matrix(
            hf("mlp.gate_proj.weight"),
            gg("ffn_gate.weight"),
            shape.intermediate_size,
            h,
        ));
        weights.push(matrix(
            hf("mlp.up_proj.weight"),
            gg("ffn_up.weight"),
            shape.intermediate_size,
            h,
        ));
        weights.push(matrix(
            hf("mlp.down_proj.weight"),
            gg("ffn_down.weight"),
            h,
            shape.intermediate_size,
        ));
    }
    weights.push(norm(
        "model.norm.weight".into(),
        "output_norm.weight".into(),
        h,
    ));
    weights
}

/// What to write, and where.
pub struct Plan<'a> {
    /// The folder to write into.
    pub dir: &'a Path,
    /// Model dimensions.
    pub shape: Qwen3Shape,
    /// Seed for weights and vocabulary.
    pub seed: u64,
    /// How GGUF stores the matrices.
    pub gguf_type: GgufType,
    /// Also write `model.safetensors`.
    pub write_safetensors: bool,
}

/// Writes the model folder and `model.gguf` into `plan.dir`.
pub fn write(plan: &Plan) -> Result<()> {
    fs::create_dir_all(plan.dir).with_context(|| format!("creating {}", plan.dir.display()))?;
    let vocab = Vocab::generate(plan.shape.vocab_size, plan.seed);
    let weights = random_weights(&plan.shape, &vocab, plan.seed);
    write_json(plan.dir, "tokenizer.json", &vocab.tokenizer_json())?;
    write_json(
        plan.dir,
        "tokenizer_config.json",
        &vocab.tokenizer_config_json(plan.shape.context_length),
    )?;
    write_json(plan.dir, "config.json", &hf_config(&plan.shape, &vocab))?;
    write_json(
        plan.dir,
        "generation_config.json",
        &json!({"bos_token_id": vocab.special_id("<|endoftext|>"),
                "eos_token_id": [vocab.special_id("<|im_end|>"), vocab.special_id("<|endoftext|>")]}),
    )?;
    if plan.write_safetensors {
        write_safetensors(&plan.dir.join("model.safetensors"), &weights)?;
    }
    write_gguf(&plan.dir.join("model.gguf"), plan, &vocab, &weights)
}

fn write_json(dir: &Path, name: &str, value: &serde_json::Value) -> Result<()> {
    let path = dir.join(name);
    fs::write(&path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn hf_config(shape: &Qwen3Shape, vocab: &Vocab) -> serde_json::Value {
    json!({
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": shape.vocab_size,
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "head_dim": shape.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": shape.context_length,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "rope_scaling": null,
        "attention_bias": false,
        "attention_dropout": 0.0,
        "sliding_window": null,
        "use_sliding_window": false,
        "max_window_layers": shape.layers,
        "tie_word_embeddings": true,
        "torch_dtype": "float32",
        "bos_token_id": vocab.special_id("<|endoftext|>"),
        "eos_token_id": vocab.special_id("<|im_end|>")
    })
}

fn write_safetensors(path: &Path, weights: &[Weight]) -> Result<()> {
    let bytes: Vec<Vec<u8>> = weights
        .iter()
        .map(|w| w.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = weights
        .iter()
        .zip(&bytes)
        .map(|(w, data)| {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                w.dims.clone(),
                data,
            )?;
            Ok((w.hf_name.clone(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, None, path)
        .with_context(|| format!("writing {}", path.display()))
}

fn write_gguf(path: &Path, plan: &Plan, vocab: &Vocab, weights: &[Weight]) -> Result<()> {
    let shape = &plan.shape;
    let mut tensors = Vec::with_capacity(weights.len());
    for weight in weights {
        let tensor = Tensor::from_slice(&weight.values, weight.dims.as_slice(), &Device::Cpu)?;
        let dtype = if weight.is_matrix {
            plan.gguf_type.ggml()
        } else {
            GgmlDType::F32
        };
        tensors.push((
            weight.gguf_name.as_str(),
            QTensor::quantize(&tensor, dtype)?,
        ));
    }
    use gguf_file::Value as V;
    let strings = |items: &[String]| V::Array(items.iter().map(|s| V::String(s.clone())).collect());
    let token_types = V::Array(
        (0..vocab.tokens.len())
            .map(|id| V::I32(if id < vocab.regular { 1 } else { 3 }))
            .collect(),
    );
    let u32v = |n: usize| V::U32(n as u32);
    let metadata: Vec<(&str, V)> = vec![
        ("general.architecture", V::String("qwen3".into())),
        ("general.name", V::String("pincer-random-qwen3".into())),
        ("qwen3.context_length", u32v(shape.context_length)),
        ("qwen3.embedding_length", u32v(shape.hidden_size)),
        ("qwen3.feed_forward_length", u32v(shape.intermediate_size)),
        ("qwen3.block_count", u32v(shape.layers)),
        ("qwen3.attention.head_count", u32v(shape.heads)),
        ("qwen3.attention.head_count_kv", u32v(shape.kv_heads)),
        ("qwen3.attention.key_length", u32v(shape.head_dim)),
        ("qwen3.attention.value_length", u32v(shape.head_dim)),
        ("qwen3.attention.layer_norm_rms_epsilon", V::F32(1e-6)),
        ("qwen3.rope.freq_base", V::F32(1_000_000.0)),
        ("tokenizer.ggml.model", V::String("gpt2".into())),
        ("tokenizer.ggml.pre", V::String("qwen2".into())),
        ("tokenizer.ggml.tokens", strings(&vocab.tokens)),
        ("tokenizer.ggml.token_type", token_types),
        ("tokenizer.ggml.merges", strings(&vocab.merges)),
        (
            "tokenizer.ggml.eos_token_id",
            V::U32(vocab.special_id("<|im_end|>")),
        ),
        (
            "tokenizer.ggml.padding_token_id",
            V::U32(vocab.special_id("<|endoftext|>")),
        ),
        (
            "tokenizer.ggml.bos_token_id",
            V::U32(vocab.special_id("<|endoftext|>")),
        ),
        ("tokenizer.ggml.add_bos_token", V::Bool(false)),
        ("tokenizer.chat_template", V::String(CHAT_TEMPLATE.into())),
    ];
    let metadata_refs: Vec<(&str, &V)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (*k, v)).collect();
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = BufWriter::new(file);
    gguf_file::write(&mut writer, &metadata_refs, &tensor_refs)?;
    Ok(())
}
