//! The local engine: a loaded mistral.rs model, admission control, and
//! streaming generation that stops when its reader goes away.

use crate::stop::StopFilter;
use crate::types::*;
use crate::{InferenceError, ModelSource, Result};
use futures::Stream;
use mistralrs::{
    GgufModelBuilder, Model, RequestBuilder, Response, SamplingParams, StopTokens, TextMessageRole, TextModelBuilder,
    TokenSource,
};
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
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self { max_running: 8, max_waiting: 32, prefix_cache_sequences: 16, force_cpu: false }
    }
}

/// A loaded model ready to generate.
pub struct Engine {
    model: Arc<Model>,
    id: String,
    source: ModelSource,
    admission: Arc<Semaphore>,
    capacity: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("id", &self.id).field("source", &self.source).finish()
    }
}

impl Engine {
    /// Loads a checked model (see [`ModelSource::inspect`]) with no network access.
    pub async fn load(source: ModelSource, options: EngineOptions) -> Result<Self> {
        let id = source.default_id();
        let load_source = source.clone();
        let max_running = options.max_running.max(1);
        let prefix = (options.prefix_cache_sequences > 0).then_some(options.prefix_cache_sequences);
        let force_cpu = options.force_cpu;
        // Loading runs in its own task so that a panic inside the loader
        // becomes an error here instead of taking the process down.
        let loaded = tokio::spawn(async move {
            match &load_source {
                ModelSource::Gguf { path, .. } => {
                    let dir = path.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
                    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                    let mut builder = GgufModelBuilder::new(dir, vec![file])
                        .with_token_source(TokenSource::None)
                        .with_max_num_seqs(max_running)
                        .with_prefix_cache_n(prefix);
                    if force_cpu {
                        builder = builder.with_force_cpu();
                    }
                    builder.build().await
                }
                ModelSource::Safetensors { dir, .. } => {
                    let mut builder = TextModelBuilder::new(dir.to_string_lossy())
                        .with_token_source(TokenSource::None)
                        .with_max_num_seqs(max_running)
                        .with_prefix_cache_n(prefix);
                    if force_cpu {
                        builder = builder.with_force_cpu();
                    }
                    builder.build().await
                }
            }
        })
        .await;
        let path = match &source {
            ModelSource::Gguf { path, .. } => path.clone(),
            ModelSource::Safetensors { dir, .. } => dir.clone(),
        };
        let model = match loaded {
            Ok(Ok(model)) => model,
            Ok(Err(error)) => return Err(InferenceError::LoadFailed { path, message: format!("{error:#}") }),
            Err(join) => {
                let message = join
                    .try_into_panic()
                    .ok()
                    .and_then(|p| p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())))
                    .unwrap_or_else(|| "the loader stopped unexpectedly".into());
                return Err(InferenceError::LoadFailed { path, message });
            }
        };
        let capacity = max_running + options.max_waiting;
        Ok(Self { model: Arc::new(model), id, source, admission: Arc::new(Semaphore::new(capacity)), capacity })
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
        (self.capacity - self.admission.available_permits(), self.capacity)
    }

    /// Waits until no generation is running or waiting (for shutdown, and for
    /// tests that check a canceled generation really stopped).
    pub async fn wait_idle(&self) {
        match self.admission.acquire_many(self.capacity as u32).await {
            Ok(all) => drop(all),
            Err(_) => tracing::debug!("admission semaphore closed"),
        }
    }

    /// Starts a generation, or refuses at once with [`InferenceError::Busy`]
    /// when the engine already holds as many requests as it may.
    ///
    /// Dropping the returned stream cancels the generation.
    pub fn try_generate(&self, request: GenerationRequest) -> Result<GenerationStream> {
        if request.messages.is_empty() {
            return Err(InferenceError::InvalidRequest("a request needs at least one message".into()));
        }
        let permit = Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| InferenceError::Busy { capacity: self.capacity })?;
        // Small buffer: back-pressure reaches the engine, and a reader that
        // leaves is noticed within a token or two.
        let (sender, receiver) = mpsc::channel(8);
        let model = Arc::clone(&self.model);
        tokio::spawn(run_generation(model, request, sender, permit));
        Ok(GenerationStream { receiver })
    }
}

fn to_builder(request: GenerationRequest) -> RequestBuilder {
    let mut builder = RequestBuilder::new();
    for message in request.messages {
        let role = match message.role {
            Role::System => TextMessageRole::System,
            Role::User => TextMessageRole::User,
            Role::Assistant => TextMessageRole::Assistant,
            Role::Tool => TextMessageRole::Tool,
        };
        builder = builder.add_message(role, message.content);
    }
    let p = request.params;
    let mut sampling = SamplingParams::neutral();
    sampling.temperature = p.temperature.filter(|t| *t >= 1e-7);
    sampling.top_k = if sampling.temperature.is_none() { Some(1) } else { None };
    sampling.top_p = p.top_p;
    sampling.max_len = p.max_tokens;
    sampling.stop_toks = (!p.stop.is_empty()).then(|| StopTokens::Seqs(p.stop.clone()));
    sampling.top_n_logprobs = if p.logprobs { p.top_logprobs } else { 0 };
    sampling.n_choices = 1;
    builder.set_sampling(sampling).return_logprobs(p.logprobs)
}

async fn run_generation(
    model: Arc<Model>,
    request: GenerationRequest,
    sender: mpsc::Sender<Result<GenerationEvent>>,
    _permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let mut stop_filter = StopFilter::new(request.params.stop.clone());
    let mut first_token_at: Option<Instant> = None;
    let mut last_token_at = started;
    let mut delta_count = 0usize;
    let mut stream = match model.stream_chat_request(to_builder(request)).await {
        Ok(stream) => stream,
        Err(error) => {
            // The reader may be gone already; nothing else to tell.
            if sender.send(Err(InferenceError::Generation(error.to_string()))).await.is_err() {
                tracing::debug!("generation failed after its reader left");
            }
            return;
        }
    };
    loop {
        let response = tokio::select! {
            // The reader left: dropping `stream` makes the engine's next send
            // fail, and mistral.rs then cancels the sequence.
            _ = sender.closed() => {
                tracing::debug!("generation canceled: its reader went away");
                return;
            }
            response = stream.next() => response,
        };
        let Some(response) = response else {
            let error = InferenceError::Generation("the engine ended the stream without finishing".into());
            if sender.send(Err(error)).await.is_err() {
                tracing::debug!("stream ended after its reader left");
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
                        let released = stop_filter.push(text, choice.logprobs.map(convert_logprob));
                        events.extend(released.into_iter().map(|(text, logprob)| Ok(GenerationEvent::Delta { text, logprob })));
                    }
                    if let Some(reason) = choice.finish_reason {
                        if !stop_filter.stopped() {
                            let held = stop_filter.finish();
                            events.extend(held.into_iter().map(|(text, logprob)| Ok(GenerationEvent::Delta { text, logprob })));
                        }
                        let usage = chunk.usage.clone();
                        let completion_tokens = usage.as_ref().map_or(delta_count, |u| u.completion_tokens);
                        let first = first_token_at.unwrap_or(last_token_at);
                        let decode_seconds = last_token_at.duration_since(first).as_secs_f64();
                        let stats = GenerationStats {
                            prompt_tokens: usage.as_ref().map_or(0, |u| u.prompt_tokens),
                            completion_tokens,
                            time_to_first_token: first.duration_since(started),
                            prefill_tokens_per_second: usage.as_ref().map_or(0.0, |u| f64::from(u.avg_prompt_tok_per_sec)),
                            decode_tokens_per_second: if decode_seconds > 0.0 && completion_tokens > 1 {
                                (completion_tokens - 1) as f64 / decode_seconds
                            } else {
                                0.0
                            },
                        };
                        let reason = if stop_filter.stopped() { FinishReason::Stop } else { FinishReason::from_engine(&reason) };
                        events.push(Ok(GenerationEvent::Finished { reason, stats }));
                    }
                }
                events
            }
            Response::ModelError(message, _) | Response::CompletionModelError(message, _) => {
                vec![Err(InferenceError::Generation(message))]
            }
            Response::ValidationError(error) => vec![Err(InferenceError::InvalidRequest(error.to_string()))],
            Response::InternalError(error) => vec![Err(InferenceError::Generation(error.to_string()))],
            _ => vec![Err(InferenceError::Generation("the engine sent an unexpected response kind".into()))],
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

fn convert_logprob(logprob: mistralrs::core::ResponseLogprob) -> TokenLogprob {
    TokenLogprob {
        bytes: Some(logprob.token.as_bytes().to_vec()),
        token: logprob.token,
        logprob: logprob.logprob,
        top_logprobs: logprob
            .top_logprobs
            .into_iter()
            .map(|top| {
                let token = top.bytes.clone().unwrap_or_else(|| format!("<{}>", top.token));
                TopLogprob { bytes: Some(token.as_bytes().to_vec()), token, logprob: top.logprob }
            })
            .collect(),
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
