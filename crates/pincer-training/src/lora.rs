//! LoRA on candle: a frozen linear weight plus a trainable low-rank update
//! `scale · B·A`, as PEFT defines it (`A` uniform in ±1/√in, `B` zero, so a
//! fresh adapter changes nothing; `scale = alpha / rank`). Written here
//! because `candle-lora` pins candle 0.2 (NOTES.md).

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The projections an adapter trains by default: every attention and MLP
/// matrix of a Qwen3 block.
pub const DEFAULT_TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// An adapter's shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraConfig {
    /// The rank of `B·A`.
    pub rank: usize,
    /// The update is scaled by `alpha / rank`.
    pub alpha: f64,
    /// Which projections get an adapter (names as in [`DEFAULT_TARGETS`]).
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 16,
            alpha: 32.0,
            targets: DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// A linear layer `y = x·Wᵀ (+ scale · x·Aᵀ·Bᵀ)` with `W` frozen.
#[derive(Clone, Debug)]
pub struct LoraLinear {
    weight: Tensor,
    adapter: Option<Adapter>,
}

/// The trainable part of a [`LoraLinear`].
#[derive(Clone, Debug)]
pub struct Adapter {
    /// `rank × in`.
    pub a: Var,
    /// `out × rank`.
    pub b: Var,
    /// `alpha / rank`.
    pub scale: f64,
}

impl LoraLinear {
    /// A frozen layer from its `out × in` weight.
    pub fn frozen(weight: Tensor) -> Self {
        Self {
            weight,
            adapter: None,
        }
    }

    /// A layer with a fresh adapter: `A` uniform in ±1/√in from `rng`, `B` zero.
    pub fn with_adapter(weight: Tensor, config: &LoraConfig, rng: &mut StdRng) -> Result<Self> {
        let (out, inp) = weight.dims2()?;
        let bound = 1.0 / (inp as f64).sqrt();
        let values: Vec<f64> = (0..config.rank * inp)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = Tensor::from_vec(values, (config.rank, inp), weight.device())?
            .to_dtype(weight.dtype())?;
        let b = Tensor::zeros((out, config.rank), weight.dtype(), weight.device())?;
        let adapter = Adapter {
            a: Var::from_tensor(&a)?,
            b: Var::from_tensor(&b)?,
            scale: config.alpha / config.rank as f64,
        };
        Ok(Self {
            weight,
            adapter: Some(adapter),
        })
    }

    /// The same frozen weight without the adapter (sharing its memory).
    pub fn without_adapter(&self) -> Self {
        Self {
            weight: self.weight.clone(),
            adapter: None,
        }
    }

    /// The trainable part, if any.
    pub fn adapter(&self) -> Option<&Adapter> {
        self.adapter.as_ref()
    }

    /// `x` is `… × in`; the result is `… × out`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let base = x.broadcast_matmul(&self.weight.t()?)?;
        match &self.adapter {
            None => Ok(base),
            Some(adapter) => {
                let low = x.broadcast_matmul(&adapter.a.as_tensor().t()?)?;
                let update = low.broadcast_matmul(&adapter.b.as_tensor().t()?)?;
                base + (update * adapter.scale)?
            }
        }
    }
}

/// A seeded generator for adapter initialisation, so a run is reproducible.
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Reads a weight as `dtype` on `device` (dequantised upstream when needed).
pub(crate) fn to(weight: Tensor, dtype: DType, device: &Device) -> Result<Tensor> {
    weight.to_device(device)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_adapter_changes_nothing_and_a_trained_one_adds_scaled_ba() -> Result<()> {
        let device = Device::Cpu;
        let weight = Tensor::new(&[[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]], &device)?;
        let x = Tensor::new(&[[1.0f64, -1.0]], &device)?;
        let config = LoraConfig {
            rank: 1,
            alpha: 2.0,
            targets: vec![],
        };
        let layer = LoraLinear::with_adapter(weight.clone(), &config, &mut seeded(7))?;
        assert_eq!(
            layer.forward(&x)?.to_vec2::<f64>()?,
            LoraLinear::frozen(weight).forward(&x)?.to_vec2::<f64>()?
        );
        let adapter = layer.adapter().unwrap();
        adapter.a.set(&Tensor::new(&[[1.0f64, 0.0]], &device)?)?;
        adapter
            .b
            .set(&Tensor::new(&[[1.0f64], [0.0], [-1.0]], &device)?)?;
        // x·Wᵀ = [-1, -1, -1]; x·Aᵀ = [1]; ·Bᵀ = [1, 0, -1]; scale 2.
        assert_eq!(
            layer.forward(&x)?.to_vec2::<f64>()?,
            vec![vec![1.0, -1.0, -3.0]]
        );
        Ok(())
    }
}
