//! LoRA on candle: a frozen linear weight plus a trainable low-rank update
//! `scale · B·A`, as PEFT defines it (`A` uniform in ±1/√in, `B` zero, so a
//! fresh adapter changes nothing; `scale = alpha / rank`). Written here
//! because `candle-lora` pins candle 0.2 (NOTES.md).

use crate::Result;
use candle_core::{DType, Device, Tensor, Var};
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
        let base = frozen_matmul(x, &self.weight)?;
        match &self.adapter {
            None => Ok(base),
            Some(adapter) => {
                let low = x.broadcast_matmul(&adapter.a.as_tensor().t()?)?;
                let update = low.broadcast_matmul(&adapter.b.as_tensor().t()?)?;
                Ok((base + (update * adapter.scale)?)?)
            }
        }
    }
}

/// `x · Wᵀ` for a frozen `W`. candle's matmul always computes the gradient
/// of both operands, so every frozen matrix would get a full-size gradient
/// that nothing reads: as much backward work again as the input's gradient,
/// and a weight-sized buffer per layer (measured on the Qwen3-0.6B shape:
/// the backward pass 2.4× the forward's). On the CPU this op computes only
/// the input's gradient; elsewhere the plain matmul serves.
pub(crate) fn frozen_matmul(x: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && x.rank() == 2 && x.dtype() == weight.dtype() {
        x.apply_op1(FrozenMatmul {
            weight: weight.clone(),
        })
    } else {
        x.broadcast_matmul(&weight.t()?)
    }
}

/// The custom op behind [`frozen_matmul`]: `x` (`m × k`) times the
/// transposed `weight` (`n × k`).
struct FrozenMatmul {
    weight: Tensor,
}

impl candle_core::CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use candle_core::backend::BackendStorage;
        let transposed = self.weight.t()?;
        let (weight_storage, weight_layout) = transposed.storage_and_layout();
        let candle_core::Storage::Cpu(weight) = &*weight_storage else {
            candle_core::bail!("frozen-matmul: the weight is not on the CPU");
        };
        let (m, k) = layout.shape().dims2()?;
        let (k2, n) = weight_layout.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("frozen-matmul: {m}×{k} times {k2}×{n}");
        }
        let product = storage.matmul(weight, (1, m, n, k), layout, weight_layout)?;
        Ok((product, candle_core::Shape::from((m, n))))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _result: &Tensor,
        gradient: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(gradient.matmul(&self.weight)?))
    }
}

/// A seeded generator for adapter initialisation, so a run is reproducible.
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Reads a weight as `dtype` on `device` (dequantised upstream when needed).
pub(crate) fn to(weight: Tensor, dtype: DType, device: &Device) -> Result<Tensor> {
    Ok(weight.to_device(device)?.to_dtype(dtype)?)
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
