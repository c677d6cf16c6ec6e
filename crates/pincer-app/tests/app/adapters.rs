//! The trainer and the engine agree: the candle forward pass Pincer trains
//! with gives the log-probabilities mistral.rs serves, for the bare base and
//! with an adapter merged in; and an adapter never outlives its model.

use candle_core::{DType, Device, Tensor};
use futures::StreamExt;
use pincer_inference::*;
use pincer_training::lora::LoraConfig;
use pincer_training::qwen3::Qwen3;
use rand::{Rng, SeedableRng};
use std::path::Path;

fn folder() -> &'static Path {
    xtask::shared_tiny_model()
}

fn prompt() -> Vec<ChatMessage> {
    vec![
        ChatMessage {
            role: Role::System,
            content: "You are terse.".into(),
            ..Default::default()
        },
        ChatMessage {
            role: Role::User,
            content: "Name three rivers".into(),
            ..Default::default()
        },
    ]
}

/// Greedy tokens with their served log-probabilities, and the prompt's ids.
async fn served(engine: &Engine) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let params = GenerationParams {
        max_tokens: Some(10),
        temperature: Some(0.0),
        logprobs: true,
        ..Default::default()
    };
    let mut stream = engine
        .try_generate(GenerationRequest {
            messages: prompt(),
            params,
        })
        .expect("start");
    let (mut ids, mut logprobs) = (Vec::new(), Vec::new());
    while let Some(event) = stream.next().await {
        if let GenerationEvent::Delta {
            logprob: Some(token),
            ..
        } = event.expect("event")
        {
            ids.push(token.id.expect("the engine reports token ids"));
            logprobs.push(token.logprob);
        }
    }
    (
        engine.tokenize_chat(&prompt()).await.expect("tokenize"),
        ids,
        logprobs,
    )
}

async fn engine(adapter: Option<&Path>) -> Engine {
    let source = ModelSource::inspect(folder()).expect("the safetensors folder");
    let options = EngineOptions {
        max_running: 1,
        adapter: adapter.map(Path::to_path_buf),
        ..Default::default()
    };
    Engine::load(source, options).await.expect("load")
}

/// The trainer's log-probability of each response token.
fn trained_logprobs(model: &Qwen3, prompt: &[u32], response: &[u32]) -> Vec<f32> {
    let tokens: Vec<u32> = prompt.iter().chain(response).copied().collect();
    model
        .token_logprobs(&tokens, prompt.len())
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn max_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_computes_the_served_logprobs_with_and_without_an_adapter_and_rollback_is_exact(
) {
    // The bare base: candle's forward pass against mistral.rs's.
    let base = engine(None).await;
    let (prompt_ids, base_ids, base_served) = served(&base).await;
    drop(base);
    assert_eq!(base_ids.len(), 10);
    let frozen = Qwen3::load(folder(), DType::F32, &Device::Cpu, None, 0).unwrap();
    let gap_base = max_gap(
        &trained_logprobs(&frozen, &prompt_ids, &base_ids),
        &base_served,
    );
    assert!(
        gap_base < 5e-3,
        "the trainer's logprobs differ from the served ones by {gap_base}"
    );

    // An adapter with weight in it, saved in the PEFT layout and served.
    let lora = LoraConfig::default();
    let adapted = Qwen3::load(folder(), DType::F32, &Device::Cpu, Some(&lora), 7).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for (name, var) in adapted.adapter_vars() {
        if name.ends_with("lora_B.weight") {
            let values: Vec<f32> = (0..var.elem_count())
                .map(|_| rng.random_range(-0.05..0.05))
                .collect();
            var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap())
                .unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    pincer_training::adapter::save(dir.path(), &lora, "tiny", &adapted.adapter_vars()).unwrap();
    let with_adapter = engine(Some(dir.path())).await;
    assert_eq!(with_adapter.adapter(), Some(dir.path()));
    let (same_prompt, ids, served_logprobs) = served(&with_adapter).await;
    drop(with_adapter);
    assert_eq!(same_prompt, prompt_ids);
    let gap = max_gap(
        &trained_logprobs(&adapted, &prompt_ids, &ids),
        &served_logprobs,
    );
    assert!(
        gap < 5e-3,
        "with the adapter, trainer and engine differ by {gap}"
    );
    let moved = max_gap(
        &trained_logprobs(&frozen, &prompt_ids, &ids),
        &served_logprobs,
    );
    assert!(
        moved > 0.05,
        "the served adapter changes the model (moved {moved})"
    );
    eprintln!("trainer vs engine: base {gap_base:.2e}, adapter {gap:.2e}; the adapter moved logprobs by up to {moved:.3}");

    // Quantised in memory as it loads (ISQ Q8_0), the merged adapter still
    // serves: the same tokens score as under the full-precision adapter,
    // far closer to it than to the bare base.
    let quantized = Engine::load(
        ModelSource::inspect(folder()).unwrap(),
        EngineOptions {
            max_running: 1,
            adapter: Some(dir.path().to_path_buf()),
            quantize: LoadQuantization::Q8_0,
            ..Default::default()
        },
    )
    .await
    .expect("load quantised with the adapter");
    assert_eq!(quantized.quantized(), LoadQuantization::Q8_0);
    let scored = quantized.score(&prompt(), &ids).await.unwrap();
    drop(quantized);
    let quantization_error = max_gap(&scored, &served_logprobs);
    eprintln!("Q8_0 with the adapter vs full precision: {quantization_error:.2e}");
    assert!(
        quantization_error < moved / 2.0,
        "quantising moved the adapted model by {quantization_error}, the adapter itself moved it by {moved}"
    );

    // Back to the bare base in the same process: exactly the first answer.
    let again = engine(None).await;
    let (_, ids, logprobs) = served(&again).await;
    assert_eq!(
        (ids, logprobs),
        (base_ids, base_served),
        "no trace of the adapter survives a reload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_is_refused_with_a_reason_on_gguf_and_when_its_files_are_missing() {
    let empty = tempfile::tempdir().unwrap();
    let gguf = ModelSource::inspect(&folder().join("model.gguf")).unwrap();
    let options = EngineOptions {
        adapter: Some(empty.path().to_path_buf()),
        ..Default::default()
    };
    let error = Engine::load(gguf, options.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GGUF") && error.contains("safetensors folder"),
        "{error}"
    );
    let folder_source = ModelSource::inspect(folder()).unwrap();
    let error = Engine::load(folder_source, options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("adapter_config.json cannot be read"),
        "{error}"
    );
}
