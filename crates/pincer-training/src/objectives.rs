//! The training objectives over one response's tokens, as in OpenClaw-RL:
//!
//! - **Binary RL**: the judged score is every token's advantage, in a
//!   PPO-style clipped ratio objective against the logprobs recorded when
//!   the answer was served (clip 0.2 below, 0.28 above).
//! - **OPD** (on-policy distillation): each token's advantage is the
//!   teacher's logprob (the same model with the hint in its context) minus
//!   the student's, in the same clipped objective.
//! - **Combined**: a weighted sum, 1.0 each by default.
//!
//! An optional KL penalty to the base model uses the k3 estimator
//! (`exp(r) − r − 1` with `r = base − policy`), which is never negative.

use crate::Result;
use candle_core::Tensor;

/// How the objectives are weighed and clipped.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObjectiveConfig {
    /// Weight of the binary-RL term.
    pub rl_weight: f64,
    /// Weight of the OPD term.
    pub opd_weight: f64,
    /// The ratio may fall this far below 1 before it is clipped.
    pub clip_low: f64,
    /// The ratio may rise this far above 1 before it is clipped.
    pub clip_high: f64,
    /// Weight of the KL penalty to the base (0 turns it off).
    pub kl_weight: f64,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        Self {
            rl_weight: 1.0,
            opd_weight: 1.0,
            clip_low: 0.2,
            clip_high: 0.28,
            kl_weight: 0.0,
        }
    }
}

/// One response's per-token log-probabilities (each a 1-D tensor over its tokens).
pub struct TokenTerms<'a> {
    /// Under the policy being trained (carries gradients).
    pub policy: &'a Tensor,
    /// Recorded at serving time (the behaviour policy).
    pub served: &'a Tensor,
    /// Under the teacher context, when the turn has a hint.
    pub teacher: Option<&'a Tensor>,
    /// Under the base model without adapter, for the KL penalty.
    pub base: Option<&'a Tensor>,
    /// The judged score (+1, 0, −1).
    pub score: f64,
}

/// `−mean(min(ratio·A, clip(ratio)·A))` with `ratio = exp(policy − served)`.
pub fn clipped(
    policy: &Tensor,
    served: &Tensor,
    advantage: &Tensor,
    config: &ObjectiveConfig,
) -> Result<Tensor> {
    let ratio = (policy - served)?.exp()?;
    let unclipped = (&ratio * advantage)?;
    let clipped = (ratio.clamp(1.0 - config.clip_low, 1.0 + config.clip_high)? * advantage)?;
    Ok(unclipped.minimum(&clipped)?.mean_all()?.neg()?)
}

/// The k3 estimate of KL(policy ‖ base), averaged over tokens.
pub fn kl_to_base(policy: &Tensor, base: &Tensor) -> Result<Tensor> {
    let r = (base - policy)?;
    Ok(((r.exp()? - &r)? - 1.0)?.mean_all()?)
}

/// The loss for one response: the weighted binary-RL and OPD terms, plus
/// the KL penalty when a base is given and weighted.
pub fn loss(terms: &TokenTerms, config: &ObjectiveConfig) -> Result<Tensor> {
    let policy = terms.policy;
    let served = terms.served.detach();
    let mut total = policy.zeros_like()?.mean_all()?;
    if config.rl_weight != 0.0 && terms.score != 0.0 {
        let advantage = (policy.ones_like()? * terms.score)?.detach();
        total = (total + (clipped(policy, &served, &advantage, config)? * config.rl_weight)?)?;
    }
    if let (Some(teacher), true) = (terms.teacher, config.opd_weight != 0.0) {
        let advantage = (teacher - policy)?.detach();
        total = (total + (clipped(policy, &served, &advantage, config)? * config.opd_weight)?)?;
    }
    if let (Some(base), true) = (terms.base, config.kl_weight != 0.0) {
        total = (total + (kl_to_base(policy, &base.detach())? * config.kl_weight)?)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(values: &[f64]) -> Tensor {
        Tensor::new(values, &Device::Cpu).unwrap()
    }

    #[test]
    fn inside_the_clip_the_gradient_follows_the_advantage_and_outside_it_stops() -> Result<()> {
        let config = ObjectiveConfig::default();
        // Token 0: ratio 1 (inside); token 1: ratio e^0.5 ≈ 1.65 (above 1.28).
        let policy = Var::new(&[-1.0f64, -0.5], &Device::Cpu)?;
        let served = t(&[-1.0, -1.0]);
        let up = clipped(policy.as_tensor(), &served, &t(&[1.0, 1.0]), &config)?;
        let grad = up.backward()?.get(&policy).unwrap().to_vec1::<f64>()?;
        assert!(
            grad[0] < 0.0,
            "a positive advantage pushes the token's logprob up: {grad:?}"
        );
        assert_eq!(grad[1], 0.0, "clipped above: no more push");
        // With a negative advantage the clipped term is the smaller one only below 1 − 0.2.
        let down = clipped(policy.as_tensor(), &served, &t(&[-1.0, -1.0]), &config)?;
        let grad = down.backward()?.get(&policy).unwrap().to_vec1::<f64>()?;
        assert!(
            grad[0] > 0.0 && grad[1] > 0.0,
            "a negative advantage pushes down, unclipped above: {grad:?}"
        );
        Ok(())
    }

    #[test]
    fn opd_moves_each_token_toward_the_teacher_and_kl_is_zero_at_the_base() -> Result<()> {
        let config = ObjectiveConfig {
            rl_weight: 0.0,
            ..Default::default()
        };
        let policy = Var::new(&[-2.0f64, -1.0], &Device::Cpu)?;
        let teacher = t(&[-1.0, -3.0]);
        let terms = TokenTerms {
            policy: policy.as_tensor(),
            served: &t(&[-2.0, -1.0]),
            teacher: Some(&teacher),
            base: None,
            score: 1.0,
        };
        let grad = loss(&terms, &config)?
            .backward()?
            .get(&policy)
            .unwrap()
            .to_vec1::<f64>()?;
        assert!(
            grad[0] < 0.0 && grad[1] > 0.0,
            "up where the teacher is likelier, down where it is not: {grad:?}"
        );
        assert_eq!(
            kl_to_base(&t(&[-1.0, -2.0]), &t(&[-1.0, -2.0]))?.to_scalar::<f64>()?,
            0.0
        );
        assert!(kl_to_base(&t(&[-1.0, -2.0]), &t(&[-2.0, -1.0]))?.to_scalar::<f64>()? > 0.0);
        // A zero score with no teacher is no signal at all.
        let none = TokenTerms {
            policy: policy.as_tensor(),
            served: &t(&[-2.0, -1.0]),
            teacher: None,
            base: None,
            score: 0.0,
        };
        assert_eq!(
            loss(&none, &ObjectiveConfig::default())?.to_scalar::<f64>()?,
            0.0
        );
        Ok(())
    }
}
