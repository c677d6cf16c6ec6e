//! The local sentence embedder: a BERT encoder in candle, mean-pooled and
//! L2-normalised, which is what sentence-transformers does for
//! `all-MiniLM-L6-v2`.
//!
//! The encoder is written here on `candle-nn` (about a hundred lines) rather
//! than taken from `candle-transformers`, which would compile a hundred model
//! families for this one. Work runs in its own rayon pool of
//! [`EmbedderOptions::threads`] threads: candle's matmuls run on the current
//! rayon pool, so the budget keeps indexing off the cores the chat uses.

use crate::{MemoryError, Result};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// How the embedder runs.
#[derive(Clone, Debug)]
pub struct EmbedderOptions {
    /// Threads the embedder may use (its own pool; the chat keeps the rest).
    pub threads: usize,
    /// Texts encoded together; larger batches amortise the matmuls.
    pub batch_size: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            threads: (cores / 2).max(1),
            batch_size: 16,
        }
    }
}

#[derive(Deserialize)]
struct BertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_act")]
    hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

/// sentence-transformers' `sentence_bert_config.json`: the input length cap.
#[derive(Deserialize)]
struct SentenceConfig {
    max_seq_length: usize,
}

struct Layer {
    /// Query, key and value projections fused into one matmul.
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// A linear layer applied as one 2-D matmul over every token of the batch,
/// with its weight stored transposed and contiguous. candle-nn's `Linear`
/// multiplies a 3-D input batch element by batch element, repacking the
/// weight each time.
struct Dense {
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn new(parts: &[Linear]) -> candle_core::Result<Self> {
        let weights: Vec<Tensor> = parts.iter().map(|l| l.weight().clone()).collect();
        let biases = parts.iter().map(|l| {
            l.bias()
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg("a bias is missing".into()))
        });
        let bias = Tensor::cat(&biases.collect::<candle_core::Result<Vec<_>>>()?, 0)?;
        Ok(Self {
            weight_t: Tensor::cat(&weights, 0)?.t()?.contiguous()?,
            bias,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, len, width) = x.dims3()?;
        let flat = x
            .reshape((batch * len, width))?
            .matmul(&self.weight_t)?
            .broadcast_add(&self.bias)?;
        flat.reshape((batch, len, self.bias.dim(0)?))
    }
}

/// A loaded sentence embedder. Cheap to share behind an `Arc`.
pub struct Embedder {
    folder: PathBuf,
    tokenizer: Tokenizer,
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    dimensions: usize,
    pool: rayon::ThreadPool,
    options: EmbedderOptions,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("folder", &self.folder)
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

impl Embedder {
    /// The Hugging Face repository the default embedder comes from.
    pub const DEFAULT_REPO: &'static str = "sentence-transformers/all-MiniLM-L6-v2";
    /// The files a model folder must hold.
    pub const FILES: [&'static str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

    /// Loads a BERT sentence embedder from a folder holding
    /// [`Embedder::FILES`] (and optionally `sentence_bert_config.json`).
    pub fn load(folder: &Path, options: EmbedderOptions) -> Result<Self> {
        for file in Self::FILES {
            if !folder.join(file).is_file() {
                return Err(MemoryError::EmbedderFiles {
                    folder: folder.to_path_buf(),
                    detail: format!("{file} is missing"),
                });
            }
        }
        let bad = |detail: String| MemoryError::EmbedderFiles {
            folder: folder.to_path_buf(),
            detail,
        };
        let config: BertConfig = read_json(&folder.join("config.json")).map_err(bad)?;
        if config.hidden_act != "gelu" {
            return Err(bad(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                config.hidden_act
            )));
        }
        if config.hidden_size % config.num_attention_heads != 0 {
            return Err(bad(
                "hidden_size is not a multiple of num_attention_heads".into()
            ));
        }
        let max_len = read_json::<SentenceConfig>(&folder.join("sentence_bert_config.json"))
            .map(|c| c.max_seq_length)
            .unwrap_or(256)
            .min(config.max_position_embeddings);

        let mut tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))
            .map_err(|e| bad(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| bad(format!("tokenizer truncation: {e}")))?;

        // Read the file into memory (the model is ~90 MB) rather than mmap it,
        // so a file changed underneath cannot fault us.
        let weights = std::fs::read(folder.join("model.safetensors"))
            .map_err(|e| bad(format!("model.safetensors: {e}")))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| bad(format!("model.safetensors: {e}")))?;
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let weights_error = |e: candle_core::Error| {
            bad(format!("model.safetensors does not match config.json: {e}"))
        };
        let eps = config.layer_norm_eps;
        let hidden = config.hidden_size;
        let e = vb.pp("embeddings");
        let word =
            embedding(config.vocab_size, hidden, e.pp("word_embeddings")).map_err(weights_error)?;
        let position = embedding(
            config.max_position_embeddings,
            hidden,
            e.pp("position_embeddings"),
        )
        .map_err(weights_error)?;
        let token_type = embedding(
            config.type_vocab_size,
            hidden,
            e.pp("token_type_embeddings"),
        )
        .map_err(weights_error)?;
        let embedding_norm = layer_norm(hidden, eps, e.pp("LayerNorm")).map_err(weights_error)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                Ok(Layer {
                    qkv: Dense::new(&[
                        linear(hidden, hidden, a.pp("self.query"))?,
                        linear(hidden, hidden, a.pp("self.key"))?,
                        linear(hidden, hidden, a.pp("self.value"))?,
                    ])?,
                    attention_out: Dense::new(&[linear(hidden, hidden, a.pp("output.dense"))?])?,
                    attention_norm: layer_norm(hidden, eps, a.pp("output.LayerNorm"))?,
                    intermediate: Dense::new(&[linear(
                        hidden,
                        config.intermediate_size,
                        l.pp("intermediate.dense"),
                    )?])?,
                    output: Dense::new(&[linear(
                        config.intermediate_size,
                        hidden,
                        l.pp("output.dense"),
                    )?])?,
                    output_norm: layer_norm(hidden, eps, l.pp("output.LayerNorm"))?,
                })
            })
            .collect::<std::result::Result<Vec<_>, candle_core::Error>>()
            .map_err(weights_error)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads.max(1))
            .thread_name(|i| format!("pincer-embed-{i}"))
            .build()
            .map_err(|e| MemoryError::Embedding(format!("starting the embedder's threads: {e}")))?;
        Ok(Self {
            folder: folder.to_path_buf(),
            tokenizer,
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            heads: config.num_attention_heads,
            dimensions: hidden,
            pool,
            options,
        })
    }

    /// The length of each vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The name clients use for it: `org/name` for a Hugging Face cache
    /// snapshot, otherwise the folder's name (its parent's, if it is `model`).
    pub fn id(&self) -> String {
        let from_hub = self.folder.components().find_map(|c| {
            let part = c.as_os_str().to_string_lossy();
            part.strip_prefix("models--")
                .map(|repo| repo.replacen("--", "/", 1))
        });
        // A folder called just "model" (as inside a Python package) says
        // nothing; its parent names it.
        let named = self
            .folder
            .components()
            .rev()
            .map(|c| c.as_os_str().to_string_lossy())
            .find(|name| name != "model");
        from_hub.unwrap_or_else(|| named.map_or_else(|| "embedder".into(), |n| n.into_owned()))
    }

    /// Where the model was loaded from.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The model's own token count of a text (what chunk budgets use).
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode_fast(text, false)
            .map_or_else(|_| text.split_whitespace().count(), |e| e.len())
    }

    /// Embeds texts in batches; each vector is unit length.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // Texts of similar length are batched together so little is padding;
        // the vectors go back in the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.options.batch_size.max(1)) {
            let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            let vectors = self.pool.install(|| self.embed_batch(&batch_texts))?;
            for (&i, vector) in batch.iter().zip(vectors) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| MemoryError::Embedding(format!("tokenizing: {e}")))?;
        let len = encodings.first().map_or(0, |e| e.len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let shape = (texts.len(), len);
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), shape, &Device::Cpu)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), shape, &Device::Cpu)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), shape, &Device::Cpu)?
            .to_dtype(DType::F32)?;
        let hidden = self.encode(&ids, &types, &mask)?;
        // Mean over real tokens, then L2 normalisation.
        let mask3 = mask.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask3)?.sum(1)?;
        let counts = mask3.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }

    fn encode(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, &Device::Cpu)?
            .unsqueeze(0)?
            .broadcast_as((batch, len))?;
        let x = (self.word.forward(ids)? + self.token_type.forward(types)?)?;
        let mut x = self
            .embedding_norm
            .forward(&(x + self.position.forward(&positions)?)?)?;
        // Padding gets a large negative score so softmax ignores it.
        let bias = ((mask.ones_like()? - mask)? * -1e4)?.reshape((batch, 1, 1, len))?;
        let head_dim = self.dimensions / self.heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        for layer in &self.layers {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((batch, len, self.heads, head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let qkv = layer.qkv.forward(&x)?;
            let hidden = self.dimensions;
            let q = split(qkv.narrow(2, 0, hidden)?)?;
            let k = split(qkv.narrow(2, hidden, hidden)?)?;
            let v = split(qkv.narrow(2, 2 * hidden, hidden)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context =
                probs
                    .matmul(&v)?
                    .transpose(1, 2)?
                    .reshape((batch, len, self.dimensions))?;
            let attended = layer
                .attention_norm
                .forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let inner = layer.intermediate.forward(&attended)?.gelu_erf()?;
            x = layer
                .output_norm
                .forward(&(layer.output.forward(&inner)? + attended)?)?;
        }
        Ok(x)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> std::result::Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
