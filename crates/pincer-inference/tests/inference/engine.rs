//! Real generation with mistral.rs on the tiny model.

use crate::tiny_model;
use futures::StreamExt;
use pincer_inference::*;

fn ask(text: &str, params: GenerationParams) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage {
            role: Role::User,
            content: text.into(),
            ..Default::default()
        }],
        params,
    }
}

fn greedy(max_tokens: usize) -> GenerationParams {
    GenerationParams {
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ..Default::default()
    }
}

async fn load(path: std::path::PathBuf, options: EngineOptions) -> Engine {
    let source = ModelSource::inspect(&path).expect("inspect");
    Engine::load(source, options).await.expect("load")
}

async fn run(
    engine: &Engine,
    request: GenerationRequest,
) -> (String, Vec<TokenLogprob>, FinishReason, GenerationStats) {
    let mut stream = engine.try_generate(request).expect("start");
    let (mut text, mut logprobs, mut finish) = (String::new(), Vec::new(), None);
    while let Some(event) = stream.next().await {
        match event.expect("event") {
            GenerationEvent::Delta {
                text: piece,
                logprob,
            } => {
                assert!(finish.is_none(), "no text may follow Finished");
                text.push_str(&piece);
                logprobs.extend(logprob);
            }
            GenerationEvent::Finished { reason, stats } => finish = Some((reason, stats)),
            other => panic!("no tools were offered, yet {other:?}"),
        }
    }
    let (reason, stats) = finish.expect("every stream ends with Finished");
    (text, logprobs, reason, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gguf_generates_exactly_max_tokens_with_counts_and_timings() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    assert_eq!(engine.id(), "model");
    let (text, _, reason, stats) = run(&engine, ask("Hello there", greedy(12))).await;
    assert_eq!(
        reason,
        FinishReason::Length,
        "the tiny model never picks end-of-turn greedily"
    );
    assert_eq!(stats.completion_tokens, 12);
    assert!(
        stats.prompt_tokens >= 5,
        "the chat template adds role markers: {}",
        stats.prompt_tokens
    );
    assert!(!text.is_empty());
    assert!(
        stats.time_to_first_token.as_nanos() > 0 && stats.decode_tokens_per_second > 0.0,
        "{stats:?}"
    );
    let (again, _, _, _) = run(&engine, ask("Hello there", greedy(12))).await;
    assert_eq!(text, again, "greedy decoding is deterministic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safetensors_folder_generates_too() {
    let engine = load(tiny_model(), EngineOptions::default()).await;
    let (text, _, reason, stats) = run(&engine, ask("Hi", greedy(6))).await;
    assert_eq!((reason, stats.completion_tokens), (FinishReason::Length, 6));
    assert!(!text.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logprobs_come_with_every_token_and_alternatives_are_ranked() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let params = GenerationParams {
        logprobs: true,
        top_logprobs: 3,
        ..greedy(5)
    };
    let (_, logprobs, _, stats) = run(&engine, ask("Count", params)).await;
    assert_eq!(
        logprobs.len(),
        stats.completion_tokens,
        "one logprob entry per generated token"
    );
    for entry in &logprobs {
        assert!(
            entry.logprob <= 0.0,
            "a log-probability is never positive: {}",
            entry.logprob
        );
        assert_eq!(entry.top_logprobs.len(), 3);
        let ranked = entry
            .top_logprobs
            .windows(2)
            .all(|w| w[0].logprob >= w[1].logprob);
        assert!(
            ranked,
            "alternatives are sorted best first: {:?}",
            entry.top_logprobs
        );
        assert!(
            (entry.top_logprobs[0].logprob - entry.logprob).abs() < 1e-4,
            "greedy picks the top alternative"
        );
        assert!(
            entry.top_logprobs[2].logprob > -100.0,
            "greedy decoding must not mask the alternatives' probabilities: {:?}",
            entry.top_logprobs
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_makes_sampling_reproducible() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let seeded = |seed| GenerationParams {
        temperature: Some(1.0),
        seed: Some(seed),
        max_tokens: Some(16),
        ..Default::default()
    };
    let (a, _, _, _) = run(&engine, ask("Tell me", seeded(42))).await;
    let (b, _, _, _) = run(&engine, ask("Tell me", seeded(42))).await;
    let (c, _, _, _) = run(&engine, ask("Tell me", seeded(43))).await;
    assert_eq!(a, b, "the same seed must give the same answer");
    assert_ne!(a, c, "another seed samples differently");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_strings_end_generation_early() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let (full, _, _, _) = run(&engine, ask("stop test", greedy(20))).await;
    // Stop on a piece of what greedy decoding is known to produce.
    let stop: String = full.chars().skip(3).take(2).collect();
    let params = GenerationParams {
        stop: vec![stop.clone()],
        ..greedy(20)
    };
    let (text, _, reason, stats) = run(&engine, ask("stop test", params)).await;
    assert_eq!(reason, FinishReason::Stop, "text {full:?}, stop {stop:?}");
    assert!(stats.completion_tokens < 20);
    assert!(
        !text.contains(&stop),
        "the stop string is not part of the answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_engine_refuses_and_a_dropped_stream_frees_its_place() {
    let options = EngineOptions {
        max_running: 1,
        max_waiting: 0,
        ..Default::default()
    };
    let engine = load(tiny_model().join("model.gguf"), options).await;
    let mut first = engine
        .try_generate(ask("long", greedy(4000)))
        .expect("first request");
    assert!(
        matches!(first.next().await, Some(Ok(GenerationEvent::Delta { .. }))),
        "generation started"
    );
    let refused = engine.try_generate(ask("second", greedy(4)));
    assert!(
        matches!(refused, Err(InferenceError::Busy { capacity: 1 })),
        "got {:?}",
        refused.err()
    );
    drop(first);
    // Returns once the engine's stream for the dropped request is handed back,
    // which is what makes mistral.rs cancel the sequence (it stops when a
    // send to a dropped receiver fails); a leaked place would hang here.
    engine.wait_idle().await;
    let (_, _, reason, _) = run(&engine, ask("third", greedy(3))).await;
    assert_eq!(reason, FinishReason::Length);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_conversation_is_an_invalid_request() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let error = engine
        .try_generate(GenerationRequest {
            messages: vec![],
            params: greedy(3),
        })
        .err();
    assert!(matches!(error, Some(InferenceError::InvalidRequest(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_max_tokens_generation_stops_at_the_context_edge() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let unbounded = GenerationParams {
        temperature: Some(0.0),
        ..Default::default()
    };
    let (_, _, reason, stats) = run(&engine, ask("go on forever", unbounded)).await;
    assert_eq!(
        reason,
        FinishReason::Length,
        "mistral.rs would fail inside the model past its context"
    );
    assert_eq!(
        stats.prompt_tokens + stats.completion_tokens,
        16_383,
        "the tiny model's context is 16384 tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_longer_than_the_context_is_refused_with_its_size() {
    let engine = load(tiny_model().join("model.gguf"), EngineOptions::default()).await;
    let mut stream = engine
        .try_generate(ask(&"many words ".repeat(12_000), greedy(4)))
        .expect("start");
    match stream.next().await {
        Some(Err(
            error @ InferenceError::ContextExceeded {
                context: 16_384, ..
            },
        )) => {
            assert!(error.to_string().contains("context holds 16384"), "{error}")
        }
        other => panic!("expected an invalid request, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_too_large_to_read_in_memory_is_refused_until_its_start_is_cached() {
    // Each turn is about 290 tokens: four turns (~1,150) fit cold, six
    // (~1,730) do not; six after four cached read ~580 new ones, which fit.
    let limit = pincer_inference::prefill_memory::prefill_mask_bytes(0, 1_300);
    let options = EngineOptions {
        prefill_memory_limit: Some(limit),
        ..Default::default()
    };
    let engine = load(tiny_model().join("model.gguf"), options).await;
    let conversation = |turns: usize| GenerationRequest {
        messages: (0..turns)
            .map(|turn| ChatMessage {
                role: if turn % 2 == 0 { Role::User } else { Role::Assistant },
                content: format!("turn {turn}: {}", "abcdefgh ".repeat(30)),
                ..Default::default()
            })
            .collect(),
        params: greedy(2),
    };
    let long = conversation(6);
    let tokens = engine.check_context(&long).await;
    match tokens {
        Err(error @ InferenceError::PromptTooLargeForMemory { prompt, fits, needed_bytes, limit_bytes }) => {
            assert!(prompt > 1_300 && fits == 1_300 && needed_bytes > limit_bytes, "{error}");
            assert!(error.to_string().contains("up to 1300 tokens fit now"), "{error}");
        }
        other => panic!("expected a refusal for memory, got {other:?}"),
    }
    // The first half of the conversation is read and cached; the whole one
    // then only reads what is new, which fits.
    let (_, _, finish, _) = run(&engine, conversation(4)).await;
    assert_eq!(finish, FinishReason::Length);
    let prompt = engine.check_context(&long).await.expect("fits once its start is cached");
    assert!(prompt > 1_300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoring_an_answer_gives_the_logprobs_the_engine_serves_it_with() {
    let engine = load(tiny_model(), EngineOptions::default()).await;
    let params = GenerationParams {
        logprobs: true,
        top_logprobs: 2,
        ..greedy(6)
    };
    let request = ask("Score me", params);
    let messages = request.messages.clone();
    let (_, served, _, _) = run(&engine, request).await;
    let greedy_ids: Vec<u32> = served.iter().map(|t| t.id.expect("ids")).collect();
    let scored = engine.score(&messages, &greedy_ids).await.expect("score");
    for (token, score) in served.iter().zip(&scored) {
        assert!(
            (token.logprob - score).abs() < 1e-4,
            "forced decoding of the greedy answer gives its served logprobs: {} vs {score}",
            token.logprob
        );
    }

    // A forced token the model would not choose scores below greedy and no
    // higher than the runner-up the engine ranked second.
    let other = greedy_ids[0] ^ 1;
    let forced = engine.score(&messages, &[other]).await.expect("score");
    assert!(forced[0] < scored[0], "{forced:?} vs greedy {}", scored[0]);
    assert!(
        forced[0] <= served[0].top_logprobs[1].logprob + 1e-4,
        "{forced:?} vs runner-up {:?}",
        served[0].top_logprobs[1]
    );

    let empty = engine.score(&messages, &[]).await.unwrap_err().to_string();
    assert!(empty.contains("one answer token"), "{empty}");
    let outside = engine
        .score(&messages, &[u32::MAX - 1])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        outside.contains("outside the model's vocabulary"),
        "{outside}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_split_a_character_keep_their_own_logprobs() {
    // A seeded sample from the random model's byte-level vocabulary: many
    // tokens are single bytes of multi-byte characters, for which mistral.rs
    // streams no text until the character is whole.
    let engine = load(tiny_model(), EngineOptions::default()).await;
    let params = GenerationParams {
        max_tokens: Some(48),
        temperature: Some(1.0),
        seed: Some(5),
        logprobs: true,
        ..Default::default()
    };
    let request = ask("Say something in any script", params);
    let messages = request.messages.clone();
    let (text, logprobs, _, stats) = run(&engine, request).await;
    assert_eq!(
        logprobs.len(),
        stats.completion_tokens,
        "one logprob entry per generated token"
    );
    assert!(
        logprobs.iter().any(|t| t.token.contains(char::REPLACEMENT_CHARACTER)),
        "the sample holds a token that is part of a character (pick another seed if the model changed): {text:?}"
    );
    // Each entry is its own token: forcing the ids gives the same logprobs.
    let ids: Vec<u32> = logprobs.iter().map(|t| t.id.expect("ids")).collect();
    let scored = engine.score(&messages, &ids).await.expect("score");
    for (entry, score) in logprobs.iter().zip(&scored) {
        assert!(
            (entry.logprob - score).abs() < 1e-4,
            "{entry:?} vs forced {score}"
        );
    }
}
