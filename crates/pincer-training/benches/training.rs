//! Training benchmark (a bench binary, run by `benches/training.py` beside
//! PyTorch + PEFT on the same model folder and shapes):
//!
//! `training <model dir> <sequence tokens> <response tokens> <steps> <rank>`
//!
//! Loads the model with LoRA adapters on every attention and MLP
//! projection (rank `rank`, alpha 2·rank), then times `steps` optimiser
//! steps after one warm-up step. Each step is one sequence: the
//! trainer's forward pass over it, the binary-RL loss on its last
//! `response tokens` (score +1, served logprobs = the policy's own), the
//! backward pass and an AdamW update: what one example costs in a round.
//! Prints one JSON object: seconds per step (and its forward, backward and
//! update parts), tokens per second, resident memory once the model is
//! loaded and the process's peak.

use candle_core::{DType, Device};
use pincer_training::lora::LoraConfig;
use pincer_training::objectives::{loss, ObjectiveConfig, TokenTerms};
use pincer_training::optimizer::{AdamW, AdamWConfig};
use pincer_training::qwen3::Qwen3;
use std::path::PathBuf;
use std::time::Instant;

/// A figure from `/proc/self/status` in bytes: `VmHWM` (peak resident
/// set) or `VmRSS` (resident now).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn arg<T: std::str::FromStr>(args: &[String], index: usize, name: &str) -> T {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: training <model dir> <sequence tokens> <response tokens> <steps> <rank>; bad or missing {name}");
            std::process::exit(2)
        })
}

fn main() -> pincer_training::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    let dir: PathBuf = arg(&args, 0, "model dir");
    let sequence: usize = arg(&args, 1, "sequence tokens");
    let response: usize = arg(&args, 2, "response tokens");
    let steps: usize = arg(&args, 3, "steps");
    let rank: usize = arg(&args, 4, "rank");
    let device = Device::Cpu;
    let lora = LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
        ..Default::default()
    };
    let loaded = Instant::now();
    let model = Qwen3::load(&dir, DType::F32, &device, Some(&lora), 0)?;
    let load_seconds = loaded.elapsed().as_secs_f64();
    let loaded_rss = status_bytes("VmRSS:");
    let mut optimizer = AdamW::new(model.adapter_vars(), AdamWConfig::default())?;
    let vocab = model.config().vocab_size as u32;
    let tokens: Vec<u32> = (0..sequence as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) % vocab)
        .collect();
    let start = sequence - response;
    let (mut seconds, mut forward, mut backward, mut update) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for step in 0..=steps {
        let began = Instant::now();
        let policy = model.token_logprobs(&tokens, start)?;
        let served = policy.detach();
        let terms = TokenTerms {
            policy: &policy,
            served: &served,
            teacher: None,
            base: None,
            score: 1.0,
        };
        let example_loss = loss(&terms, &ObjectiveConfig::default())?;
        let forwarded = Instant::now();
        let mut accumulated = optimizer.accumulator();
        optimizer.accumulate(&example_loss, &mut accumulated)?;
        let backpropagated = Instant::now();
        optimizer.step(accumulated, 1, 1.0)?;
        // Step 0 warms caches and the allocator; it is not counted.
        if step > 0 {
            seconds.push(began.elapsed().as_secs_f64());
            forward.push(forwarded.duration_since(began).as_secs_f64());
            backward.push(backpropagated.duration_since(forwarded).as_secs_f64());
            update.push(backpropagated.elapsed().as_secs_f64());
        }
    }
    let step_median = median(&mut seconds.clone());
    let trainable: usize = model
        .adapter_vars()
        .iter()
        .map(|(_, v)| v.elem_count())
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "engine": "pincer (candle 0.10.2)",
            "sequence_tokens": sequence,
            "response_tokens": response,
            "rank": rank,
            "trainable_parameters": trainable,
            "load_seconds": load_seconds,
            "step_seconds": seconds,
            "median_step_seconds": step_median,
            "forward_seconds": median(&mut forward),
            "backward_seconds": median(&mut backward),
            "update_seconds": median(&mut update),
            "tokens_per_second": sequence as f64 / step_median,
            "loaded_rss_bytes": loaded_rss,
            "peak_rss_bytes": status_bytes("VmHWM:"),
        })
    );
    Ok(())
}
