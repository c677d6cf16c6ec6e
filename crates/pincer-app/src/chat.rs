//! Chat: run a generation and record the exchange as a session.

use crate::{App, Result};
use futures::{Stream, StreamExt};
use pincer_inference::{FinishReason, GenerationEvent, GenerationRequest, GenerationStats};
use pincer_store::{MessageStats, NewMessage, NewSession, Store};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// One chat request from any transport.
#[derive(Clone, Debug)]
pub struct ChatCall {
    /// The client's key grouping requests into one session (`x-session-id`);
    /// `None` starts a new session.
    pub session_key: Option<String>,
    /// Which surface asked (`gateway`, `desktop`, `cli`).
    pub source: String,
    /// What to generate.
    pub request: GenerationRequest,
}

/// The events of one chat; dropping it cancels generation, and what was
/// generated until then is still recorded (finish reason `canceled`).
pub struct ChatStream {
    session_id: String,
    receiver: mpsc::Receiver<pincer_inference::Result<GenerationEvent>>,
}

impl ChatStream {
    /// The session the exchange is recorded in.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }
}

impl Stream for ChatStream {
    type Item = pincer_inference::Result<GenerationEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl App {
    /// Starts a chat. Fails at once when the engine is busy or the request is invalid.
    pub async fn chat(&self, call: ChatCall) -> Result<ChatStream> {
        let store = Arc::clone(&self.store);
        let key = call.session_key.clone();
        let source = call.source.clone();
        let session = blocking(move || store.create_session(NewSession { client_key: key, source, title: None })).await?;
        let request_messages: Vec<NewMessage> = call
            .request
            .messages
            .iter()
            .map(|m| NewMessage::new(m.role.as_str(), m.content.clone()))
            .collect();
        let generation = self.engine.try_generate(call.request)?;
        let (sender, receiver) = mpsc::channel(8);
        let recorder = Recorder {
            store: Arc::clone(&self.store),
            session_id: session.id.clone(),
            model: self.model_id().to_string(),
            request_messages,
        };
        tokio::spawn(recorder.run(generation, sender));
        Ok(ChatStream { session_id: session.id, receiver })
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> pincer_store::Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Forwards a generation to its reader and saves the exchange when it ends.
struct Recorder {
    store: Arc<Store>,
    session_id: String,
    model: String,
    request_messages: Vec<NewMessage>,
}

impl Recorder {
    async fn run(
        self,
        mut generation: pincer_inference::GenerationStream,
        sender: mpsc::Sender<pincer_inference::Result<GenerationEvent>>,
    ) {
        let mut answer = String::new();
        let mut deltas = 0usize;
        let mut outcome: Option<(FinishReason, GenerationStats)> = None;
        loop {
            let event = tokio::select! {
                _ = sender.closed() => break,
                event = generation.next() => event,
            };
            let Some(event) = event else { break };
            match &event {
                Ok(GenerationEvent::Delta { text, .. }) => {
                    answer.push_str(text);
                    deltas += 1;
                }
                Ok(GenerationEvent::Finished { reason, stats }) => outcome = Some((reason.clone(), stats.clone())),
                Err(error) => outcome = Some((FinishReason::Other(format!("error: {error}")), GenerationStats::default())),
            }
            if sender.send(event).await.is_err() {
                break;
            }
        }
        // Dropping the generation now cancels it if it is still running.
        drop(generation);
        let (reason, stats) = outcome.unwrap_or_else(|| {
            (FinishReason::Canceled, GenerationStats { completion_tokens: deltas, ..Default::default() })
        });
        let answer = NewMessage {
            role: "assistant".into(),
            content: answer,
            stats: MessageStats {
                model: Some(self.model),
                finish_reason: Some(reason.as_str().to_string()),
                prompt_tokens: (stats.prompt_tokens > 0).then_some(stats.prompt_tokens as i64),
                completion_tokens: Some(stats.completion_tokens as i64),
                time_to_first_token_ms: (stats.time_to_first_token.as_nanos() > 0)
                    .then(|| stats.time_to_first_token.as_secs_f64() * 1000.0),
                decode_tokens_per_second: (stats.decode_tokens_per_second > 0.0).then_some(stats.decode_tokens_per_second),
            },
        };
        let store = self.store;
        let session_id = self.session_id;
        let request = self.request_messages;
        let saved = tokio::task::spawn_blocking(move || store.record_exchange(&session_id, &request, &answer)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "could not record a chat exchange"),
            Err(join) => tracing::error!(%join, "recording a chat exchange panicked"),
        }
    }
}
