//! The evaluation gate: an adapter serves only if it is better on the
//! owner's own held-out turns and no worse where the owner did not ask for
//! change.
//!
//! - **(a) The owner's turns**, held out of training: the mean per-token
//!   logprob of answers scored +1 should rise, of answers scored −1 fall,
//!   and on hinted turns the gap to the teacher (the same turn with the hint
//!   in context) should shrink. One number sums them: `positive − negative
//!   − teacher_gap`; it must beat the serving adapter's.
//! - **(b) The regression set** shipped with Pincer (reference text, well-
//!   formed tool calls, following the soul's rules), against the bare base:
//!   the reference text's negative log-likelihood per token may rise by at
//!   most `max_perplexity_rise` of the base's (any learned preference moves
//!   some probability away from other text; a little is the price of
//!   learning), and tool calls and the soul's rules may not lose more than
//!   `max_targeted_rise` nats per token beyond what reference text lost: a
//!   capability damaged more than language in general is a targeted
//!   regression, what poisoned feedback does.
//! - **(c) Drift**: the mean per-token KL(adapter ‖ base) over the
//!   regression answers stays under `max_drift`.

use crate::qwen3::Qwen3;
use crate::trainer::{logprobs, Example};
use crate::Result;
use candle_core::D;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The regression kind that measures language in general.
pub const REFERENCE: &str = "reference";

/// One item of the regression set shipped with Pincer, before tokenising:
/// plain `text` (scored from its second token on), or chat `messages` and
/// the `answer` they should get.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionItem {
    /// `reference`, `tool_call` or `soul_rule`.
    pub kind: String,
    /// Its name in reports.
    pub name: String,
    /// Reference text, for perplexity.
    #[serde(default)]
    pub text: Option<String>,
    /// The conversation, as `{role, content}` objects.
    #[serde(default)]
    pub messages: Vec<serde_json::Value>,
    /// The answer the conversation should get.
    #[serde(default)]
    pub answer: Option<String>,
}

/// The regression set every adapter is checked on (`regression/regression.json`).
pub fn regression_items() -> Vec<RegressionItem> {
    serde_json::from_str(include_str!("../regression/regression.json"))
        .expect("the shipped regression set is valid JSON")
}

/// A fixed sequence the gate scores: a prompt and the answer it should get.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Which check it belongs to (`reference`, `tool_call`, `soul_rule`).
    pub kind: String,
    /// Its name in reports.
    pub name: String,
    /// The context's token ids.
    pub prompt: Vec<u32>,
    /// The expected answer's token ids.
    pub answer: Vec<u32>,
}

/// What the gate scores on.
#[derive(Clone, Debug, Default)]
pub struct GateSet {
    /// The owner's judged turns left out of training.
    pub held_out: Vec<Example>,
    /// Fixed sequences shipped with Pincer.
    pub regression: Vec<Sequence>,
}

/// One model's scores on a [`GateSet`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean per-token logprob of held-out answers scored +1.
    pub positive: Option<f64>,
    /// Mean per-token logprob of held-out answers scored −1.
    pub negative: Option<f64>,
    /// Mean per-token (teacher − model) logprob on hinted held-out turns.
    pub teacher_gap: Option<f64>,
    /// Held-out turns scored.
    pub held_out: usize,
    /// Negative log-likelihood per token, by regression kind.
    pub regression: BTreeMap<String, f64>,
    /// Mean per-token KL(model ‖ base) over the regression answers.
    pub drift: f64,
}

impl Metrics {
    /// The owner-facing score (a): higher is better.
    pub fn owner_score(&self) -> f64 {
        self.positive.unwrap_or(0.0)
            - self.negative.unwrap_or(0.0)
            - self.teacher_gap.unwrap_or(0.0)
    }
}

/// How much worse than the base an adapter may be, and how far it may move.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateBounds {
    /// (a) must beat the serving adapter by more than this.
    pub min_gain: f64,
    /// (b) reference text's NLL may rise by at most this fraction of the base's.
    pub max_perplexity_rise: f64,
    /// (b) tool calls' and rules' NLL may rise at most this many nats per
    /// token more than reference text's did.
    pub max_targeted_rise: f64,
    /// (c) the most KL per token from the base.
    pub max_drift: f64,
}

impl Default for GateBounds {
    fn default() -> Self {
        Self {
            min_gain: 0.0,
            max_perplexity_rise: 0.05,
            max_targeted_rise: 0.1,
            max_drift: 0.5,
        }
    }
}

/// The gate's answer, with every reason it gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the adapter may serve.
    pub promote: bool,
    /// Why (each failed check, or what passed).
    pub reasons: Vec<String>,
}

/// Scores `model` (with its adapter) against `base` (without) on `set`.
/// Teacher logprobs come with the examples (computed by the serving model).
pub fn measure(
    model: &Qwen3,
    base: &Qwen3,
    set: &GateSet,
    teacher: &[Option<Vec<f32>>],
) -> Result<Metrics> {
    let mean = |values: &[f64]| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let (mut positive, mut negative, mut gap) = (Vec::new(), Vec::new(), Vec::new());
    for (example, teacher) in set
        .held_out
        .iter()
        .zip(teacher.iter().chain(std::iter::repeat(&None)))
    {
        let own = logprobs(model, &example.prompt, &example.response)?;
        let per_token = own.iter().map(|&l| l as f64).sum::<f64>() / own.len().max(1) as f64;
        if example.score > 0.0 {
            positive.push(per_token);
        } else if example.score < 0.0 {
            negative.push(per_token);
        }
        if let Some(teacher) = teacher {
            gap.extend(teacher.iter().zip(&own).map(|(t, s)| (t - s) as f64));
        }
    }
    let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut kl = Vec::new();
    for sequence in &set.regression {
        let own = logprobs(model, &sequence.prompt, &sequence.answer)?;
        by_kind
            .entry(sequence.kind.clone())
            .or_default()
            .extend(own.iter().map(|&l| -(l as f64)));
        kl.extend(drift(model, base, sequence)?);
    }
    Ok(Metrics {
        positive: mean(&positive),
        negative: mean(&negative),
        teacher_gap: mean(&gap),
        held_out: set.held_out.len(),
        regression: by_kind
            .into_iter()
            .map(|(kind, nll)| (kind, mean(&nll).unwrap_or(0.0)))
            .collect(),
        drift: mean(&kl).unwrap_or(0.0),
    })
}

/// KL(model ‖ base) over the vocabulary at each answer position.
fn drift(model: &Qwen3, base: &Qwen3, sequence: &Sequence) -> Result<Vec<f64>> {
    let tokens: Vec<u32> = sequence
        .prompt
        .iter()
        .chain(&sequence.answer)
        .copied()
        .collect();
    let (start, count) = (sequence.prompt.len() - 1, sequence.answer.len());
    let log_softmax = |m: &Qwen3| -> Result<candle_core::Tensor> {
        Ok(candle_nn::ops::log_softmax(
            &m.forward(&tokens[..tokens.len() - 1])?
                .narrow(0, start, count)?,
            D::Minus1,
        )?)
    };
    let (own, bare) = (log_softmax(model)?, log_softmax(base)?);
    let kl = (own.exp()? * (&own - &bare)?)?.sum(D::Minus1)?;
    Ok(kl.to_dtype(candle_core::DType::F64)?.to_vec1::<f64>()?)
}

/// Compares a candidate with the serving adapter (or the base when none
/// serves) and with the bare base, within `bounds`.
pub fn decide(
    candidate: &Metrics,
    serving: &Metrics,
    base: &Metrics,
    bounds: &GateBounds,
) -> Decision {
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    if candidate.held_out == 0 {
        failed.push(
            "(a) no held-out turns to judge it on; collect more judged turns first".to_string(),
        );
    } else {
        let (new, old) = (candidate.owner_score(), serving.owner_score());
        let line = format!("(a) owner score {new:.4} vs {old:.4} serving");
        if new > old + bounds.min_gain {
            passed.push(line)
        } else {
            failed.push(format!("{line}: not better on the owner's held-out turns"))
        }
    }
    let rise = |kind: &str| -> Option<(f64, f64)> {
        let (new, old) = (candidate.regression.get(kind)?, base.regression.get(kind)?);
        Some((new - old, *old))
    };
    let general = rise(REFERENCE).map_or(0.0, |(r, _)| r);
    if let Some((reference, old)) = rise(REFERENCE) {
        let line = format!(
            "(b) reference NLL {:+.4} nats/token vs base {old:.4}",
            reference
        );
        if reference <= bounds.max_perplexity_rise * old {
            passed.push(line)
        } else {
            failed.push(format!(
                "{line}: more than {:.0}% worse",
                bounds.max_perplexity_rise * 100.0
            ))
        }
    }
    for kind in candidate
        .regression
        .keys()
        .filter(|k| k.as_str() != REFERENCE)
    {
        let Some((own, _)) = rise(kind) else { continue };
        let line = format!("(b) {kind} NLL {own:+.4} vs reference text {general:+.4}");
        if own - general <= bounds.max_targeted_rise {
            passed.push(line)
        } else {
            failed.push(format!(
                "{line}: a targeted regression of more than {} nats/token",
                bounds.max_targeted_rise
            ))
        }
    }
    let line = format!("(c) drift {:.4} nats/token", candidate.drift);
    if candidate.drift <= bounds.max_drift {
        passed.push(line)
    } else {
        failed.push(format!("{line}: more than {}", bounds.max_drift))
    }
    let promote = failed.is_empty();
    Decision {
        promote,
        reasons: if promote { passed } else { failed },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(positive: f64, negative: f64, tool: f64, drift: f64) -> Metrics {
        Metrics {
            positive: Some(positive),
            negative: Some(negative),
            held_out: 4,
            regression: [
                ("tool_call".to_string(), tool),
                (REFERENCE.to_string(), 2.0),
            ]
            .into(),
            drift,
            ..Default::default()
        }
    }

    #[test]
    fn the_shipped_regression_set_has_each_kind_and_every_item_is_whole() {
        let items = regression_items();
        for kind in ["reference", "tool_call", "soul_rule"] {
            assert!(
                items.iter().filter(|i| i.kind == kind).count() >= 2,
                "{kind}"
            );
        }
        assert!(items
            .iter()
            .all(|i| i.text.is_some() != (i.answer.is_some() && !i.messages.is_empty())));
    }

    #[test]
    fn promotes_only_a_better_adapter_within_every_bound_and_names_each_failure() {
        let (base, bounds) = (metrics(-5.0, -5.0, 2.0, 0.0), GateBounds::default());
        assert!(decide(&metrics(-4.0, -6.0, 2.05, 0.1), &base, &base, &bounds).promote);
        let worse = decide(&metrics(-6.0, -4.0, 2.05, 0.1), &base, &base, &bounds);
        assert!(
            !worse.promote && worse.reasons[0].contains("not better"),
            "{worse:?}"
        );
        let broken = decide(&metrics(-4.0, -6.0, 2.5, 0.9), &base, &base, &bounds);
        assert_eq!(broken.reasons.len(), 2, "{broken:?}");
        assert!(broken.reasons[0].contains("tool_call") && broken.reasons[1].contains("drift"));
        // Language in general 4% worse, tool calls with it: the price of learning, allowed.
        let shifted = Metrics {
            regression: [
                ("tool_call".to_string(), 2.13),
                (REFERENCE.to_string(), 2.08),
            ]
            .into(),
            ..metrics(-4.0, -6.0, 0.0, 0.1)
        };
        let allowed = decide(&shifted, &base, &base, &bounds);
        assert!(allowed.promote, "{allowed:?}");
        let blunt = Metrics {
            regression: [("tool_call".to_string(), 2.2), (REFERENCE.to_string(), 2.2)].into(),
            ..shifted
        };
        assert!(decide(&blunt, &base, &base, &bounds).reasons[0].contains("more than 5% worse"));
        let unjudged = Metrics {
            held_out: 0,
            ..metrics(0.0, 0.0, 2.0, 0.0)
        };
        assert!(decide(&unjudged, &base, &base, &bounds).reasons[0].contains("no held-out turns"));
    }
}
