//! `pincer bench`: prefill and decode speed of a model run in-process, the
//! baseline the gateway and llama.cpp are compared against (BENCHMARKS.md).

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use pincer_inference::{
    ChatMessage, Engine, EngineOptions, GenerationEvent, GenerationParams, GenerationRequest,
    ModelSource, Role,
};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// A .gguf file or a Hugging Face model folder.
    #[arg(long)]
    model: PathBuf,
    /// Words in the prefill prompt (about one token each on Qwen vocabularies).
    #[arg(long, default_value_t = 256)]
    prompt_words: usize,
    /// Tokens to decode greedily.
    #[arg(long, default_value_t = 64)]
    max_tokens: usize,
    /// Timed runs after one warm-up; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// The shared benchmark prompt: the same text for every engine compared.
pub fn prompt(words: usize) -> String {
    const WORDS: &[&str] = &[
        "local",
        "models",
        "answer",
        "questions",
        "about",
        "the",
        "owner's",
        "notes",
        "and",
        "plans",
        "every",
        "day",
    ];
    (0..words)
        .map(|i| WORDS[i % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Peak resident memory of this process, from the kernel.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if args.runs == 0 || args.max_tokens < 2 {
        bail!("--runs must be at least 1 and --max-tokens at least 2");
    }
    let source = ModelSource::inspect(&args.model)?;
    let loading = Instant::now();
    let engine = Engine::load(
        source,
        EngineOptions {
            max_running: 1,
            max_waiting: 0,
            prefix_cache_sequences: 0,
            force_cpu: false,
            adapter: None,
            quantize: pincer_inference::LoadQuantization::Off,
            script: None,
            prefill_memory_limit: None,
        },
    )
    .await?;
    let load_seconds = loading.elapsed().as_secs_f64();
    let text = prompt(args.prompt_words);
    let (mut prefill, mut decode, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    let mut prompt_tokens = 0;
    // Run 0 warms caches and is not counted.
    for run in 0..=args.runs {
        // A different first word each run, so no prompt prefix is reused.
        let request = GenerationRequest {
            messages: vec![ChatMessage {
                role: Role::User,
                content: format!("run{run} {text}"),
                ..Default::default()
            }],
            params: GenerationParams {
                max_tokens: Some(args.max_tokens),
                temperature: Some(0.0),
                ..Default::default()
            },
        };
        let started = Instant::now();
        let mut stream = engine.try_generate(request)?;
        let mut first = None;
        let mut finished = None;
        while let Some(event) = stream.next().await {
            match event? {
                GenerationEvent::Delta { .. } => {
                    first.get_or_insert_with(Instant::now);
                }
                GenerationEvent::Finished { stats, .. } => finished = Some((stats, Instant::now())),
                _ => {}
            }
        }
        let (stats, ended) = finished.context("generation ended without finishing")?;
        let first = first.context("no token was generated")?;
        if run == 0 {
            continue;
        }
        prompt_tokens = stats.prompt_tokens;
        let to_first = first.duration_since(started).as_secs_f64();
        ttft.push(to_first * 1000.0);
        prefill.push(stats.prompt_tokens as f64 / to_first);
        decode
            .push((stats.completion_tokens - 1) as f64 / ended.duration_since(first).as_secs_f64());
    }
    let report = serde_json::json!({
        "engine": "mistral.rs in-process (pincer-inference)",
        "model": args.model,
        "load_seconds": load_seconds,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": args.max_tokens,
        "runs": args.runs,
        "time_to_first_token_ms": median(ttft),
        "prefill_tokens_per_second": median(prefill),
        "decode_tokens_per_second": median(decode),
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{report}");
    Ok(())
}
