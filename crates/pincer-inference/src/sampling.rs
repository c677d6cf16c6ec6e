//! Sampling done by Pincer when a request asks for log-probabilities or a seed.
//!
//! mistral.rs 0.8.1 reports base-10 log-probabilities, masks every
//! alternative under greedy decoding, and samples from one engine-wide random
//! generator, so neither `logprobs` nor `seed` would mean what OpenAI clients
//! expect. Instead this logits processor sees the raw logits of each step,
//! computes natural-log probabilities over the whole vocabulary, picks the
//! token itself (argmax, or a seeded draw with temperature and top-p), records
//! the step, and hands mistral.rs a mask that only the chosen token survives.

use mistralrs::{CustomLogitsProcessor, DType, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What was chosen at one step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    /// The chosen token's id in the model's vocabulary.
    pub(crate) id: u32,
    pub(crate) logprob: f32,
    /// The most likely tokens and their natural-log probabilities, best first.
    pub(crate) top: Vec<(u32, f32)>,
}

/// Steps recorded by the processor, consumed in order by the stream.
pub(crate) type Steps = Arc<Mutex<VecDeque<Step>>>;

/// A per-request sampler, installed as a mistral.rs logits processor.
pub(crate) struct RecordingSampler {
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_n: usize,
    rng: Mutex<StdRng>,
    steps: Steps,
}

impl RecordingSampler {
    pub(crate) fn new(
        temperature: Option<f64>,
        top_p: Option<f64>,
        top_n: usize,
        seed: Option<u64>,
    ) -> (Self, Steps) {
        let steps: Steps = Arc::default();
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let sampler = Self {
            temperature,
            top_p,
            top_n,
            rng: Mutex::new(rng),
            steps: Arc::clone(&steps),
        };
        (sampler, steps)
    }

    fn choose(&self, logits: &[f32], log_probs: &[f32]) -> usize {
        let Some(temperature) = self.temperature else {
            return argmax(logits);
        };
        // Probabilities at this temperature, then the smallest nucleus whose
        // mass reaches top_p, then one seeded draw from it.
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f64> = logits
            .iter()
            .map(|&l| f64::from((l - max) / temperature as f32).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_unstable_by(|&a, &b| log_probs[b].total_cmp(&log_probs[a]));
        let nucleus = self.top_p.unwrap_or(1.0);
        let mut kept = Vec::new();
        let mut mass = 0.0;
        for index in order {
            kept.push(index);
            mass += weights[index] / total;
            if mass >= nucleus {
                break;
            }
        }
        let kept_total: f64 = kept.iter().map(|&i| weights[i]).sum();
        let mut draw = self
            .rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
            * kept_total;
        for &index in &kept {
            draw -= weights[index];
            if draw <= 0.0 {
                return index;
            }
        }
        kept[kept.len() - 1]
    }
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index)
}

/// Natural-log softmax.
fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let log_sum = max + sum.ln();
    logits.iter().map(|&l| l - log_sum).collect()
}

impl CustomLogitsProcessor for RecordingSampler {
    fn apply(&self, logits: &Tensor, _context: &[u32]) -> mistralrs::Result<Tensor> {
        let values: Vec<f32> = logits.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let log_probs = log_softmax(&values);
        let chosen = self.choose(&values, &log_probs);
        let mut order: Vec<usize> = (0..log_probs.len()).collect();
        let n = self.top_n.min(order.len());
        if n > 0 {
            order.select_nth_unstable_by(n - 1, |&a, &b| log_probs[b].total_cmp(&log_probs[a]));
        }
        let mut top: Vec<(u32, f32)> = order[..n]
            .iter()
            .map(|&i| (i as u32, log_probs[i]))
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Step {
                id: chosen as u32,
                logprob: log_probs[chosen],
                top,
            });
        let mut mask = vec![f32::NEG_INFINITY; values.len()];
        mask[chosen] = 0.0;
        Tensor::from_vec(mask, logits.shape(), logits.device())?.to_dtype(logits.dtype())
    }
}

/// Teacher forcing through the served model: at each step it records the
/// natural-log probability of the next token of a fixed answer, then masks
/// every other token so mistral.rs decodes exactly that answer. This is how
/// Pincer measures a model *as served* (weights, merged adapter, numerics)
/// on an answer it did not generate.
pub(crate) struct ForcedScorer {
    answer: Vec<u32>,
    scores: Arc<Mutex<Vec<f32>>>,
}

impl ForcedScorer {
    pub(crate) fn new(answer: Vec<u32>) -> (Self, Arc<Mutex<Vec<f32>>>) {
        let scores: Arc<Mutex<Vec<f32>>> = Arc::default();
        let scorer = Self {
            answer,
            scores: Arc::clone(&scores),
        };
        (scorer, scores)
    }
}

impl CustomLogitsProcessor for ForcedScorer {
    fn apply(&self, logits: &Tensor, _context: &[u32]) -> mistralrs::Result<Tensor> {
        let mut scores = self.scores.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&next) = self.answer.get(scores.len()) else {
            return Ok(logits.clone());
        };
        let values: Vec<f32> = logits.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let Some(&score) = log_softmax(&values).get(next as usize) else {
            return Err(candle_core::Error::Msg(format!(
                "token {next} is outside the model's vocabulary of {}",
                values.len()
            )));
        };
        scores.push(score);
        let mut mask = vec![f32::NEG_INFINITY; values.len()];
        mask[next as usize] = 0.0;
        Tensor::from_vec(mask, logits.shape(), logits.device())?.to_dtype(logits.dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_is_normalised() {
        let lp = log_softmax(&[1.0, 2.0, 3.0]);
        let total: f32 = lp.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!(lp[2] > lp[1] && lp[1] > lp[0]);
    }

    #[test]
    fn the_same_seed_draws_the_same_tokens() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 / 3.0).collect();
        let lp = log_softmax(&logits);
        let draws = |seed| {
            let (sampler, _) = RecordingSampler::new(Some(1.0), Some(0.95), 0, Some(seed));
            (0..20)
                .map(|_| sampler.choose(&logits, &lp))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7), "a seed makes sampling reproducible");
        assert_ne!(draws(7), draws(8), "different seeds give different draws");
    }

    #[test]
    fn a_tiny_nucleus_keeps_only_the_best_token() {
        let logits = [0.1, 5.0, 0.2];
        let (sampler, _) = RecordingSampler::new(Some(1.0), Some(0.01), 0, Some(1));
        assert!((0..10).all(|_| sampler.choose(&logits, &log_softmax(&logits)) == 1));
    }
}
