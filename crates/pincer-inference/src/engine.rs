//! Long because loading, admission and the pump that turns one mistral.rs
//! stream into ours (token names, logprobs, stop strings, cancellation)
//! share the engine's state; sampling and stop strings are apart.
//!
//! The local engine: a loaded mistral.rs model, admission control, and
//! streaming generation that stops when its reader goes away.

use crate::prefill_memory::PrefillMeter;
use crate::sampling::{ForcedScorer, RecordingSampler, Step, Steps};
use crate::script::ForcedText;
use crate::stop::StopFilter;
use crate::tool_request::template_content;
use crate::tool_text::ToolCallScanner;
use crate::types::*;
use crate::{InferenceError, ModelSource, Result};
use futures::Stream;
use mistralrs::{Model, RequestBuilder, Response, SamplingParams, StopTokens, TextMessageRole};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Sequences the engine decodes together (mistral.rs `max_num_seqs`).
    pub max_running: usize,
    /// Requests that may wait beyond those; more are refused with [`InferenceError::Busy`].
    pub max_waiting: usize,
    /// Prompt prefixes kept for reuse across requests (0 turns the cache off).
    pub prefix_cache_sequences: usize,
    /// Run on the CPU even where a GPU backend was compiled in.
    pub force_cpu: bool,
    /// A LoRA adapter in the PEFT layout, merged into the weights as they
    /// load (safetensors models only; see [`crate::loading`]).
    pub adapter: Option<std::path::PathBuf>,
    /// How safetensors weights are held in memory (GGUF files are
    /// quantised on disk already).
    pub quantize: LoadQuantization,
    /// A test setting only: scripted answers the engine is forced to give
    /// (see `script.rs`); `None` in normal use.
    pub script: Option<std::path::PathBuf>,
    /// The most memory reading one prompt may take on the CPU, in bytes
    /// (see [`crate::prefill_memory`]); `None`: half the machine's memory.
    pub prefill_memory_limit: Option<u64>,
}

/// In-memory quantisation of a safetensors model as it loads (mistral.rs's
/// ISQ). A trained adapter is merged into the full-precision weights first,
/// then the merged weights are quantised, so an adapter serves on a
/// quantised model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadQuantization {
    /// By the weights' size on disk: as stored below 1 GB, 8-bit up to
    /// 5 GB (models up to about 2.5B parameters in bf16), 4-bit above.
    #[default]
    Auto,
    /// The weights as stored.
    Off,
    /// 8-bit blocks (GGUF's Q8_0).
    Q8_0,
    /// 4-bit k-quants (GGUF's Q4_K).
    Q4K,
}

impl LoadQuantization {
    /// What `Auto` means for weights of `bytes` on disk; others are themselves.
    pub fn resolve(self, bytes: u64) -> Self {
        const GB: u64 = 1_000_000_000;
        match self {
            Self::Auto if bytes < GB => Self::Off,
            Self::Auto if bytes <= 5 * GB => Self::Q8_0,
            Self::Auto => Self::Q4K,
            other => other,
        }
    }

    /// A name for people (`off`, `q8_0`, `q4k`, `auto`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Off => "off",
            Self::Q8_0 => "q8_0",
            Self::Q4K => "q4k",
        }
    }
}

impl std::str::FromStr for LoadQuantization {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "off" | "none" => Ok(Self::Off),
            "q8_0" | "q8" => Ok(Self::Q8_0),
            "q4k" | "q4_k" => Ok(Self::Q4K),
            other => Err(format!(
                "`{other}` is not a quantisation; use auto, off, q8_0 or q4k"
            )),
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_running: 8,
            max_waiting: 32,
            prefix_cache_sequences: 16,
            force_cpu: false,
            adapter: None,
            quantize: LoadQuantization::Auto,
            script: None,
            prefill_memory_limit: None,
        }
    }
}

/// A loaded model ready to generate.
pub struct Engine {
    model: Arc<Model>,
    id: String,
    source: ModelSource,
    admission: Arc<Semaphore>,
    capacity: usize,
    adapter: Option<std::path::PathBuf>,
    quantized: LoadQuantization,
    meter: Arc<PrefillMeter>,
    script: Option<Arc<std::path::Path>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish()
    }
}

impl Engine {
    /// Loads a checked model (see [`ModelSource::inspect`]) with no network access.
    pub async fn load(source: ModelSource, options: EngineOptions) -> Result<Self> {
        let id = source.default_id();
        let max_running = options.max_running.max(1);
        let prefix = (options.prefix_cache_sequences > 0).then_some(options.prefix_cache_sequences);
        let (model, quantized) =
            crate::loading::build(&source, &options, max_running, prefix).await?;
        let capacity = max_running + options.max_waiting;
        // A GPU backend reads prompts its own way; on the CPU the mask is
        // the bound (see `prefill_memory`).
        let on_cpu = options.force_cpu || !cfg!(any(feature = "cuda", feature = "metal"));
        let limit = on_cpu.then(|| {
            options
                .prefill_memory_limit
                .unwrap_or_else(crate::prefill_memory::default_limit)
        });
        let meter = Arc::new(PrefillMeter::new(limit, prefix.is_some()));
        if let Some(script) = &options.script {
            tracing::warn!(path = %script.display(), "test setting: answers follow a script");
        }
        Ok(Self {
            model: Arc::new(model),
            id,
            source,
            admission: Arc::new(Semaphore::new(capacity)),
            capacity,
            adapter: options.adapter,
            quantized,
            script: options.script.map(Arc::from),
            meter,
        })
    }

    /// The id clients use to name this model.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Renames the model as clients see it.
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.id = id.into();
    }

    /// What was loaded.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// Requests being generated or waiting, and how many may be.
    pub fn load_factor(&self) -> (usize, usize) {
        (
            self.capacity - self.admission.available_permits(),
            self.capacity,
        )
    }

    /// Waits until no generation is running or waiting (for shutdown, and for
    /// tests that check a canceled generation really stopped).
    pub async fn wait_idle(&self) {
        match self.admission.acquire_many(self.capacity as u32).await {
            Ok(all) => drop(all),
            Err(_) => tracing::debug!("admission semaphore closed"),
        }
    }

    /// The prompt's token ids exactly as a generation sees them: the model's
    /// own chat template with the generation prompt, so a trainer can
    /// rebuild what was served.
    pub async fn tokenize_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        self.tokenize_chat_with_tools(messages, &[]).await
    }

    /// [`Engine::tokenize_chat`] for a turn that was offered `tools` (their
    /// schemas are part of the prompt the template makes).
    pub async fn tokenize_chat_with_tools(
        &self,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
    ) -> Result<Vec<u32>> {
        let tools = (!tools.is_empty()).then(|| crate::tool_request::mistral_tools(tools));
        self.model
            .tokenize(
                either::Either::Left(text_messages(messages)),
                tools,
                true,
                true,
                None,
            )
            .await
            .map_err(|e| InferenceError::Generation(format!("tokenizing the prompt: {e}")))
    }

    /// Plain text's token ids, without special tokens (for scoring
    /// reference text and expected answers).
    pub async fn tokenize_text(&self, text: &str) -> Result<Vec<u32>> {
        self.model
            .tokenize(
                either::Either::Right(text.to_string()),
                None,
                false,
                false,
                None,
            )
            .await
            .map_err(|e| InferenceError::Generation(format!("tokenizing text: {e}")))
    }

    /// How the weights are held in memory: `Off` for a GGUF file (quantised
    /// on disk) or a safetensors model kept as stored.
    pub fn quantized(&self) -> LoadQuantization {
        self.quantized
    }

    /// The adapter merged into this model's weights, if any.
    pub fn adapter(&self) -> Option<&std::path::Path> {
        self.adapter.as_deref()
    }

    /// The natural-log probability of each token of `answer` after the
    /// prompt `messages`, under the model exactly as it serves (its weights,
    /// the merged adapter, mistral.rs's numerics): the answer is decoded
    /// by teacher forcing. Training measures what an adapter changed with
    /// this, on answers the model did not choose itself.
    ///
    /// It waits for a place in the engine like any request.
    pub async fn score(&self, messages: &[ChatMessage], answer: &[u32]) -> Result<Vec<f32>> {
        if messages.is_empty() || answer.is_empty() {
            return Err(InferenceError::InvalidRequest(
                "scoring needs at least one message and one answer token".into(),
            ));
        }
        let request = GenerationRequest {
            messages: messages.to_vec(),
            params: GenerationParams {
                max_tokens: Some(answer.len()),
                ..Default::default()
            },
        };
        let Budget { room, .. } = budget(&self.model, &self.meter, &request).await?;
        if room < answer.len() {
            return Err(InferenceError::InvalidRequest(format!(
                "the prompt leaves room for {room} answer tokens, but the answer has {}; shorten it",
                answer.len()
            )));
        }
        let _permit = Arc::clone(&self.admission)
            .acquire_owned()
            .await
            .map_err(|_| InferenceError::Generation("the engine is shutting down".into()))?;
        let (scorer, scores) = ForcedScorer::new(answer.to_vec());
        let mut sampling = SamplingParams::neutral();
        sampling.max_len = Some(answer.len());
        sampling.top_k = Some(1);
        sampling.n_choices = 1;
        let builder = request_builder(&request.messages)
            .add_logits_processor(Arc::new(scorer))
            .set_sampling(sampling);
        self.model
            .send_chat_request(builder)
            .await
            .map_err(|e| InferenceError::Generation(format!("scoring: {e}")))?;
        let scores = std::mem::take(&mut *scores.lock().unwrap_or_else(|p| p.into_inner()));
        if scores.len() != answer.len() {
            return Err(InferenceError::Generation(format!(
                "the engine stopped after {} of the answer's {} tokens (an end-of-turn token inside the answer ends it early)",
                scores.len(),
                answer.len()
            )));
        }
        Ok(scores)
    }

    /// The prompt's size in tokens, or [`InferenceError::ContextExceeded`]
    /// when it leaves no room for an answer: for refusing a request before
    /// anything is recorded or streamed.
    pub async fn check_context(&self, request: &GenerationRequest) -> Result<usize> {
        crate::tool_request::check_tools(&request.params.tools, &request.params.tool_choice)?;
        budget(&self.model, &self.meter, request)
            .await
            .map(|budget| budget.prompt)
    }

    /// Starts a generation, or refuses at once with [`InferenceError::Busy`]
    /// when the engine already holds as many requests as it may.
    ///
    /// Dropping the returned stream cancels the generation.
    pub fn try_generate(&self, request: GenerationRequest) -> Result<GenerationStream> {
        if request.messages.is_empty() {
            return Err(InferenceError::InvalidRequest(
                "a request needs at least one message".into(),
            ));
        }
        crate::tool_request::check_tools(&request.params.tools, &request.params.tool_choice)?;
        let permit = Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| InferenceError::Busy {
                capacity: self.capacity,
            })?;
        // Small buffer: back-pressure reaches the engine, and a reader that
        // leaves is noticed within a token or two.
        let (sender, receiver) = mpsc::channel(8);
        let model = Arc::clone(&self.model);
        let with_tools = !request.params.tools.is_empty();
        tokio::spawn(run_generation(
            model,
            Arc::clone(&self.meter),
            request,
            self.script.clone(),
            sender,
            permit,
        ));
        if !with_tools {
            return Ok(GenerationStream { receiver });
        }
        // With tools, the text passes through the call scanner on its way out.
        let (scanned, out) = mpsc::channel(8);
        tokio::spawn(scan_tool_calls(receiver, scanned));
        Ok(GenerationStream { receiver: out })
    }
}

fn mistral_role(role: Role) -> TextMessageRole {
    match role {
        Role::System => TextMessageRole::System,
        Role::User => TextMessageRole::User,
        Role::Assistant => TextMessageRole::Assistant,
        Role::Tool => TextMessageRole::Tool,
    }
}

fn text_messages(messages: &[ChatMessage]) -> mistralrs::TextMessages {
    messages
        .iter()
        .fold(mistralrs::TextMessages::new(), |all, message| {
            all.add_message(mistral_role(message.role), template_content(message))
        })
}

/// A mistral.rs request holding `messages`.
fn request_builder(messages: &[ChatMessage]) -> RequestBuilder {
    messages
        .iter()
        .fold(RequestBuilder::new(), |builder, message| {
            match (&message.role, &message.tool_call_id) {
                (Role::Tool, Some(id)) => builder.add_tool_message(&message.content, id),
                _ => builder.add_message(mistral_role(message.role), template_content(message)),
            }
        })
}

/// The tools for the template, when there are any.
fn template_tools(request: &GenerationRequest) -> Option<Vec<mistralrs::Tool>> {
    let tools = &request.params.tools;
    (!tools.is_empty()).then(|| crate::tool_request::mistral_tools(tools))
}

/// Passes a generation through the tool-call scanner: call text is kept
/// apart from the content and each call becomes an event of its own.
async fn scan_tool_calls(
    mut input: mpsc::Receiver<Result<GenerationEvent>>,
    output: mpsc::Sender<Result<GenerationEvent>>,
) {
    let mut scanner = ToolCallScanner::default();
    while let Some(event) = input.recv().await {
        let events = match event {
            Ok(GenerationEvent::Delta { text, logprob }) => scanner.push(text, logprob),
            Ok(GenerationEvent::Finished { reason, stats }) => {
                let mut events = scanner.finish();
                let reason = match reason {
                    FinishReason::Stop if scanner.made_calls() => FinishReason::ToolCalls,
                    other => other,
                };
                events.push(GenerationEvent::Finished { reason, stats });
                events
            }
            Ok(other) => vec![other],
            Err(error) => {
                let _ = output.send(Err(error)).await;
                return;
            }
        };
        for event in events {
            // The reader left: dropping `input` cancels the generation.
            if output.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
}

/// The mistral.rs request, and the recorded steps when Pincer samples itself.
fn to_builder(request: GenerationRequest, max_tokens: usize) -> (RequestBuilder, Option<Steps>) {
    let mut builder = request_builder(&request.messages);
    if let Some(tools) = template_tools(&request) {
        // mistral.rs puts the tools into the template; Pincer parses the
        // calls itself (`tool_text.rs`), so mistral.rs is asked for none.
        builder = builder
            .set_tools(tools)
            .set_tool_choice(mistralrs::ToolChoice::None);
        if let Some(constraint) =
            crate::tool_request::call_constraint(&request.params.tools, &request.params.tool_choice)
        {
            builder = builder.set_constraint(constraint);
        }
    }
    let p = request.params;
    let temperature = p.temperature.filter(|t| *t >= 1e-7);
    let mut sampling = SamplingParams::neutral();
    sampling.max_len = Some(max_tokens);
    sampling.stop_toks = (!p.stop.is_empty()).then(|| StopTokens::Seqs(p.stop.clone()));
    sampling.n_choices = 1;
    let mut steps = None;
    if p.logprobs || p.seed.is_some() {
        let top_n = if p.logprobs { p.top_logprobs } else { 0 };
        let (sampler, recorded) = RecordingSampler::new(temperature, p.top_p, top_n, p.seed);
        builder = builder.add_logits_processor(Arc::new(sampler));
        // Only the token our sampler chose survives its mask; mistral.rs
        // just takes it. Its own logprobs are asked for so that every token
        // arrives in a chunk of its own, keeping steps and chunks aligned.
        sampling.top_k = Some(1);
        steps = p.logprobs.then_some(recorded);
    } else {
        sampling.temperature = temperature;
        // Greedy decoding in mistral.rs 0.8.1 needs top_k = 1 to take the argmax.
        sampling.top_k = if temperature.is_none() { Some(1) } else { None };
        sampling.top_p = p.top_p;
    }
    (
        builder
            .set_sampling(sampling)
            .return_logprobs(steps.is_some()),
        steps,
    )
}

/// Counts the prompt with the model's own tokenizer and chat template, and
/// caps the answer to the context that is left (mistral.rs 0.8.1 fails inside
/// the model instead of stopping when a sequence outgrows its context);
/// refuses a prompt too large to read within the memory limit.
async fn budget(
    model: &Model,
    meter: &PrefillMeter,
    request: &GenerationRequest,
) -> Result<Budget> {
    let tokens: Arc<[u32]> = model
        .tokenize(
            either::Either::Left(text_messages(&request.messages)),
            template_tools(request),
            true,
            true,
            None,
        )
        .await
        .map_err(|e| InferenceError::Generation(format!("tokenizing the prompt: {e}")))?
        .into();
    let prompt = tokens.len();
    let context = model
        .max_sequence_length()
        .ok()
        .flatten()
        .unwrap_or(usize::MAX);
    if prompt + 1 >= context {
        return Err(InferenceError::ContextExceeded { prompt, context });
    }
    let cached = meter.check(&tokens).map_err(|over| InferenceError::PromptTooLargeForMemory {
        prompt,
        fits: over.fits.min(context - 1),
        needed_bytes: over.needed,
        limit_bytes: over.limit,
    })?;
    let room = context - prompt - 1;
    Ok(Budget {
        prompt,
        cached,
        room: request.params.max_tokens.map_or(room, |m| m.min(room)),
        tokens,
    })
}

/// What [`budget`] found out about a request.
struct Budget {
    /// Prompt tokens.
    prompt: usize,
    /// Of them, the start the prefix cache holds (a lower bound).
    cached: usize,
    /// The most answer tokens: what the context leaves, or fewer if asked.
    room: usize,
    /// The prompt's tokens themselves.
    tokens: Arc<[u32]>,
}

/// Reads the mistral.rs stream into an unbounded channel, so the engine never
/// waits on us (we may be asking it to detokenize meanwhile). When our side
/// of the channel is dropped, the next send fails, the mistral.rs stream is
/// dropped, and the engine cancels the sequence.
///
/// It holds the admission permit: the engine's place is freed when the
/// mistral.rs stream is handed back, not merely when our reader leaves.
async fn pump(
    model: Arc<Model>,
    builder: RequestBuilder,
    out: mpsc::UnboundedSender<std::result::Result<Response, String>>,
    _permit: OwnedSemaphorePermit,
) {
    let mut stream = match model.stream_chat_request(builder).await {
        Ok(stream) => stream,
        Err(error) => {
            if out.send(Err(error.to_string())).is_err() {
                tracing::debug!("generation failed to start after its reader left");
            }
            return;
        }
    };
    while let Some(response) = stream.next().await {
        if out.send(Ok(response)).is_err() {
            return;
        }
    }
}

async fn run_generation(
    model: Arc<Model>,
    meter: Arc<PrefillMeter>,
    request: GenerationRequest,
    script: Option<Arc<std::path::Path>>,
    sender: mpsc::Sender<Result<GenerationEvent>>,
    permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let mut stop_filter = StopFilter::new(request.params.stop.clone());
    let mut first_token_at: Option<Instant> = None;
    let mut last_token_at = started;
    let mut delta_count = 0usize;
    let Budget {
        prompt: prompt_tokens,
        cached: cached_prompt_tokens,
        room: max_tokens,
        tokens: prompt,
    } = match budget(&model, &meter, &request).await {
        Ok(budget) => budget,
        Err(error) => {
            if sender.send(Err(error)).await.is_err() {
                tracing::debug!("request refused after its reader left");
            }
            return;
        }
    };
    let forced = match &script {
        Some(script) => scripted_tokens(&model, script, &request).await,
        None => None,
    };
    let (mut builder, steps) = to_builder(request, max_tokens);
    if let Some(tokens) = forced {
        // Before any other processor, so a recording sampler sees only the
        // scripted token (its logprob then reads 0).
        builder = builder.add_logits_processor(Arc::new(ForcedText::new(tokens)));
    }
    let (responses_in, mut responses) = mpsc::unbounded_channel();
    tokio::spawn(pump(Arc::clone(&model), builder, responses_in, permit));
    let mut names = TokenNames::default();
    loop {
        let response = tokio::select! {
            // The reader left: dropping `stream` makes the engine's next send
            // fail, and mistral.rs then cancels the sequence.
            _ = sender.closed() => {
                tracing::debug!("generation canceled: its reader went away");
                return;
            }
            response = responses.recv() => response,
        };
        let response = match response {
            Some(Ok(response)) => Some(response),
            Some(Err(message)) => {
                if sender
                    .send(Err(InferenceError::Generation(message)))
                    .await
                    .is_err()
                {
                    tracing::debug!("generation failed after its reader left");
                }
                return;
            }
            None => None,
        };
        let Some(response) = response else {
            // mistral.rs 0.8.1 finishes a sequence without a last chunk when
            // its final allowed token is an incomplete UTF-8 piece; the only
            // way a stream ends silently is reaching max_len.
            let mut events = names.flush(&model, steps.as_ref(), &mut stop_filter).await;
            events.extend(
                stop_filter
                    .finish()
                    .into_iter()
                    .map(|(text, logprob)| Ok(GenerationEvent::Delta { text, logprob })),
            );
            let first = first_token_at.unwrap_or(last_token_at);
            let decode_seconds = last_token_at.duration_since(first).as_secs_f64();
            let stats = GenerationStats {
                prompt_tokens,
                cached_prompt_tokens,
                completion_tokens: max_tokens,
                time_to_first_token: first.duration_since(started),
                prefill_tokens_per_second: 0.0,
                decode_tokens_per_second: if decode_seconds > 0.0 {
                    (max_tokens - 1) as f64 / decode_seconds
                } else {
                    0.0
                },
            };
            events.push(Ok(GenerationEvent::Finished {
                reason: FinishReason::Length,
                stats,
            }));
            meter.finished(prompt);
            for event in events {
                if sender.send(event).await.is_err() {
                    return;
                }
            }
            return;
        };
        let events = match response {
            Response::Chunk(chunk) => {
                let mut events = Vec::new();
                for choice in chunk.choices {
                    let text = choice.delta.content.unwrap_or_default();
                    if !text.is_empty() || choice.logprobs.is_some() {
                        let now = Instant::now();
                        first_token_at.get_or_insert(now);
                        last_token_at = now;
                        delta_count += 1;
                        let mut pieces = Vec::new();
                        if let (Some(steps), Some(_)) = (&steps, choice.logprobs) {
                            let mut taken = names.chunk_steps(&model, steps).await;
                            let last = taken.pop();
                            // Tokens that were only part of a character come
                            // first, each with its own logprob and no text.
                            for step in taken {
                                pieces
                                    .push((String::new(), Some(names.partial(&model, step).await)));
                            }
                            if let Some(step) = last {
                                let logprob = names.logprob(&model, &text, step).await;
                                pieces.push((text.clone(), Some(logprob)));
                            }
                        }
                        if pieces.is_empty() {
                            pieces.push((text, None));
                        }
                        for (text, logprob) in pieces {
                            let released = stop_filter.push(text, logprob);
                            events.extend(released.into_iter().map(|(text, logprob)| {
                                Ok(GenerationEvent::Delta { text, logprob })
                            }));
                        }
                    }
                    if let Some(reason) = choice.finish_reason {
                        events.extend(names.flush(&model, steps.as_ref(), &mut stop_filter).await);
                        if !stop_filter.stopped() {
                            let held = stop_filter.finish();
                            events.extend(held.into_iter().map(|(text, logprob)| {
                                Ok(GenerationEvent::Delta { text, logprob })
                            }));
                        }
                        let usage = chunk.usage.clone();
                        let completion_tokens =
                            usage.as_ref().map_or(delta_count, |u| u.completion_tokens);
                        let first = first_token_at.unwrap_or(last_token_at);
                        let decode_seconds = last_token_at.duration_since(first).as_secs_f64();
                        let stats = GenerationStats {
                            prompt_tokens: usage
                                .as_ref()
                                .map_or(prompt_tokens, |u| u.prompt_tokens),
                            cached_prompt_tokens,
                            completion_tokens,
                            time_to_first_token: first.duration_since(started),
                            prefill_tokens_per_second: usage
                                .as_ref()
                                .map_or(0.0, |u| f64::from(u.avg_prompt_tok_per_sec)),
                            decode_tokens_per_second: if decode_seconds > 0.0
                                && completion_tokens > 1
                            {
                                (completion_tokens - 1) as f64 / decode_seconds
                            } else {
                                0.0
                            },
                        };
                        let reason = if stop_filter.stopped() {
                            FinishReason::Stop
                        } else {
                            FinishReason::from_engine(&reason)
                        };
                        events.push(Ok(GenerationEvent::Finished { reason, stats }));
                        meter.finished(Arc::clone(&prompt));
                    }
                }
                events
            }
            Response::ModelError(message, _) | Response::CompletionModelError(message, _) => {
                // mistral.rs empties its prefix cache on a failed forward pass.
                meter.forget();
                vec![Err(InferenceError::Generation(message))]
            }
            Response::ValidationError(error) => {
                vec![Err(InferenceError::InvalidRequest(error.to_string()))]
            }
            Response::InternalError(error) => {
                vec![Err(InferenceError::Generation(error.to_string()))]
            }
            _ => vec![Err(InferenceError::Generation(
                "the engine sent an unexpected response kind".into(),
            ))],
        };
        for event in events {
            let last = !matches!(event, Ok(GenerationEvent::Delta { .. }));
            if sender.send(event).await.is_err() {
                tracing::debug!("generation canceled: its reader went away");
                return;
            }
            if last {
                return;
            }
        }
    }
}

/// The scripted answer's tokens for this request, ending the turn (test setting).
async fn scripted_tokens(
    model: &Model,
    script: &std::path::Path,
    request: &GenerationRequest,
) -> Option<Vec<u32>> {
    let last = request.messages.last()?;
    let say = crate::script::answer_for(script, &last.content)?;
    match model
        .tokenize(
            either::Either::Right(format!("{say}<|im_end|>")),
            None,
            false,
            false,
            None,
        )
        .await
    {
        Ok(tokens) => Some(tokens),
        Err(error) => {
            tracing::warn!(%error, "the scripted answer cannot be tokenized");
            None
        }
    }
}

/// Token texts for log-probability alternatives, decoded once per id.
#[derive(Default)]
struct TokenNames(HashMap<u32, String>);

impl TokenNames {
    async fn name(&mut self, model: &Model, id: u32) -> String {
        if let Some(name) = self.0.get(&id) {
            return name.clone();
        }
        let name = model
            .detokenize(vec![id], false)
            .await
            .unwrap_or_else(|_| format!("<{id}>"));
        self.0.insert(id, name.clone());
        name
    }

    /// At the end of a sequence: tokens no chunk carried (parts of a
    /// character never completed) still get their logprobs, without text.
    async fn flush(
        &mut self,
        model: &Model,
        steps: Option<&Steps>,
        filter: &mut StopFilter,
    ) -> Vec<Result<GenerationEvent>> {
        let Some(steps) = steps else {
            return Vec::new();
        };
        let left: Vec<Step> = steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        let mut events = Vec::new();
        for step in left {
            let logprob = self.partial(model, step).await;
            events.extend(
                filter
                    .push(String::new(), Some(logprob))
                    .into_iter()
                    .map(|(text, logprob)| Ok(GenerationEvent::Delta { text, logprob })),
            );
        }
        events
    }

    /// The recorded steps one streamed chunk stands for. mistral.rs sends
    /// no chunk for a token that ends inside a UTF-8 character, so a chunk
    /// may complete several tokens: steps are taken until their text is
    /// whole. (Steps of later tokens may already be queued; they stay.)
    async fn chunk_steps(&mut self, model: &Model, steps: &Steps) -> Vec<Step> {
        let mut taken: Vec<Step> = Vec::new();
        loop {
            let next = steps.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(step) = next else {
                return taken;
            };
            let alone = self.name(model, step.id).await;
            taken.push(step);
            if !alone.contains(char::REPLACEMENT_CHARACTER) {
                return taken;
            }
            let ids: Vec<u32> = taken.iter().map(|s| s.id).collect();
            let joined = model.detokenize(ids, false).await.unwrap_or_default();
            if !joined.is_empty() && !joined.ends_with(char::REPLACEMENT_CHARACTER) {
                return taken;
            }
        }
    }

    /// The logprob entry of a token no chunk carried text for (part of a
    /// character): named by its own, lossy, decoding.
    async fn partial(&mut self, model: &Model, step: Step) -> TokenLogprob {
        let piece = self.name(model, step.id).await;
        self.logprob(model, &piece, step).await
    }

    async fn logprob(&mut self, model: &Model, text: &str, step: Step) -> TokenLogprob {
        let mut top_logprobs = Vec::with_capacity(step.top.len());
        for (id, logprob) in step.top {
            let token = self.name(model, id).await;
            top_logprobs.push(TopLogprob {
                bytes: Some(token.as_bytes().to_vec()),
                token,
                logprob,
            });
        }
        TokenLogprob {
            token: text.to_string(),
            id: Some(step.id),
            bytes: Some(text.as_bytes().to_vec()),
            logprob: step.logprob,
            top_logprobs,
        }
    }
}

/// Generated events in order; ends after [`GenerationEvent::Finished`] or an error.
/// Dropping it cancels the generation.
pub struct GenerationStream {
    receiver: mpsc::Receiver<Result<GenerationEvent>>,
}

impl Stream for GenerationStream {
    type Item = Result<GenerationEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
