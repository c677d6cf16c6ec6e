//! AdamW over the adapter matrices, with gradient accumulation and
//! global-norm clipping. Written here rather than taken from `candle-nn`
//! because a checkpoint must hold the moments, and candle's `AdamW` keeps
//! them private; a run resumed from its moments continues exactly.

use crate::{Result, TrainingError};
use candle_core::{Tensor, Var};
use std::collections::HashMap;

/// AdamW's settings (the decoupled weight decay of Loshchilov & Hutter).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// Step size.
    pub learning_rate: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// The optimiser and its state: one pair of moments per named matrix.
pub struct AdamW {
    config: AdamWConfig,
    vars: Vec<(String, Var)>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    /// Optimiser steps taken.
    pub steps: usize,
}

/// Gradients summed over a step's examples, by matrix.
pub struct Accumulated(Vec<Option<Tensor>>);

impl AdamW {
    /// Fresh moments (zero) for `vars`.
    pub fn new(vars: Vec<(String, Var)>, config: AdamWConfig) -> Result<Self> {
        let first = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let second = first.clone();
        Ok(Self {
            config,
            vars,
            first,
            second,
            steps: 0,
        })
    }

    /// An empty accumulator for this optimiser's matrices.
    pub fn accumulator(&self) -> Accumulated {
        Accumulated(vec![None; self.vars.len()])
    }

    /// Adds one loss's gradients to `into`.
    pub fn accumulate(&self, loss: &Tensor, into: &mut Accumulated) -> Result<()> {
        let grads = loss.backward()?;
        for (slot, (_, var)) in into.0.iter_mut().zip(&self.vars) {
            if let Some(grad) = grads.get(var) {
                *slot = Some(match slot.take() {
                    None => grad.clone(),
                    Some(sum) => (sum + grad)?,
                });
            }
        }
        Ok(())
    }

    /// Scales the accumulated gradients by `1/count`, clips their global
    /// norm to `max_norm` (0 = no clipping), takes one step, and returns
    /// the norm before clipping.
    pub fn step(&mut self, accumulated: Accumulated, count: usize, max_norm: f64) -> Result<f64> {
        let scale = 1.0 / count.max(1) as f64;
        let grads: Vec<Option<Tensor>> = accumulated
            .0
            .into_iter()
            .map(|g| g.map(|g| g * scale).transpose())
            .collect::<candle_core::Result<_>>()?;
        let mut squares = 0.0;
        for grad in grads.iter().flatten() {
            squares += grad
                .sqr()?
                .sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()?;
        }
        let norm = squares.sqrt();
        let clip = if max_norm > 0.0 && norm > max_norm {
            max_norm / norm
        } else {
            1.0
        };
        self.steps += 1;
        let c = &self.config;
        let t = self.steps as i32;
        let (correct1, correct2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (i, grad) in grads.into_iter().enumerate() {
            let Some(grad) = grad else { continue };
            let grad = (grad * clip)?;
            let var = &self.vars[i].1;
            self.first[i] = ((&self.first[i] * c.beta1)? + (&grad * (1.0 - c.beta1))?)?;
            self.second[i] = ((&self.second[i] * c.beta2)? + (grad.sqr()? * (1.0 - c.beta2))?)?;
            let update =
                ((&self.first[i] / correct1)? / ((&self.second[i] / correct2)?.sqrt()? + c.eps)?)?;
            let decayed = (var.as_tensor() * (1.0 - c.learning_rate * c.weight_decay))?;
            var.set(&(decayed - (update * c.learning_rate)?)?)?;
        }
        Ok(norm)
    }

    /// The moments by name (`first.<name>`, `second.<name>`), for a checkpoint.
    pub fn moments(&self) -> HashMap<String, Tensor> {
        let mut all = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            all.insert(format!("first.{name}"), self.first[i].clone());
            all.insert(format!("second.{name}"), self.second[i].clone());
        }
        all
    }

    /// Restores moments written by [`AdamW::moments`] after `steps` steps.
    pub fn restore(&mut self, moments: &HashMap<String, Tensor>, steps: usize) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (kind, slot) in [
                ("first", &mut self.first[i]),
                ("second", &mut self.second[i]),
            ] {
                let saved = moments.get(&format!("{kind}.{name}")).ok_or_else(|| {
                    TrainingError::Damaged(format!(
                        "the checkpoint has no {kind} moment for {name}; start the run again"
                    ))
                })?;
                *slot = saved.to_device(var.device())?.to_dtype(var.dtype())?;
            }
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn one_step_matches_the_adamw_formula_and_clipping_caps_the_norm() -> Result<()> {
        let var = Var::new(&[1.0f64, -2.0], &Device::Cpu)?;
        let config = AdamWConfig {
            learning_rate: 0.1,
            weight_decay: 0.5,
            ..Default::default()
        };
        let mut adam = AdamW::new(vec![("w".into(), var.clone())], config)?;
        let mut acc = adam.accumulator();
        // loss = 3·w0 + 4·w1 twice: summed gradient (6, 8), averaged (3, 4), norm 5.
        for _ in 0..2 {
            let loss =
                (var.as_tensor() * &Tensor::new(&[3.0f64, 4.0], &Device::Cpu)?)?.sum_all()?;
            adam.accumulate(&loss, &mut acc)?;
        }
        let norm = adam.step(acc, 2, 1.0)?;
        assert!((norm - 5.0).abs() < 1e-12);
        // The first bias-corrected step moves each weight by lr·sign(g), after decay 1 − 0.05.
        let got = var.as_tensor().to_vec1::<f64>()?;
        let want = [1.0 * 0.95 - 0.1, -2.0 * 0.95 - 0.1];
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6),
            "{got:?} vs {want:?}"
        );
        assert!(adam.moments().contains_key("first.w") && adam.steps == 1);
        Ok(())
    }
}
