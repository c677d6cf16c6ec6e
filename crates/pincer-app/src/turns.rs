//! The app's own chat turns: continue a session with the owner's message,
//! stream the answer to the UI, and stop it on request.

use crate::control::EventSink;
use crate::ipc::{AnswerStats, ChatEvent, ControlError, SendMessage, TurnSummary};
use crate::{blocking, App, AppError, Result};
use futures::StreamExt;
use pincer_agent::ChatCall;
use pincer_inference::{
    ChatMessage, GenerationEvent, GenerationParams, GenerationRequest, GenerationStats, Role,
};
use pincer_store::NewSession;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Longest message the owner may send, in characters.
const MAX_MESSAGE_CHARS: usize = 100_000;
/// Answer length when the UI does not say.
const DEFAULT_MAX_TOKENS: u32 = 512;

/// The answers being written now, by session, with the switch that stops each.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    next: AtomicU64,
    running: Mutex<HashMap<String, (u64, oneshot::Sender<()>)>>,
}

impl Turns {
    fn begin(&self, session_id: &str) -> Result<(u64, oneshot::Receiver<()>)> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.contains_key(session_id) {
            return Err(AppError::InvalidInput(
                "an answer is still being written in this chat; stop it or wait for it to finish"
                    .into(),
            ));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (stop, stopped) = oneshot::channel();
        running.insert(session_id.to_string(), (id, stop));
        Ok((id, stopped))
    }

    fn end(&self, session_id: &str, id: u64) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running
            .get(session_id)
            .is_some_and(|(current, _)| *current == id)
        {
            running.remove(session_id);
        }
    }

    fn stop(&self, session_id: &str) -> bool {
        let entry = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session_id);
        entry.is_some_and(|(_, stop)| stop.send(()).is_ok())
    }

    pub(crate) fn stop_all(&self) {
        let entries: Vec<_> = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (_, (_, stop)) in entries {
            let _ = stop.send(());
        }
    }
}

impl App {
    /// Sends the owner's message and streams the answer into `sink`; returns
    /// when the answer has ended (finished, stopped or failed) and is saved.
    pub async fn send_message(
        &self,
        request: SendMessage,
        mut sink: EventSink,
    ) -> Result<TurnSummary> {
        let text = request.text.trim().to_string();
        if text.is_empty() {
            return Err(AppError::InvalidInput(
                "the message is empty; type something to send".into(),
            ));
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AppError::InvalidInput(format!(
                "the message is longer than {MAX_MESSAGE_CHARS} characters; shorten it or split it"
            )));
        }
        if self.is_halted() {
            return Err(AppError::Halted);
        }
        self.refresh_secrets();
        let engine = self.engine().ok_or(AppError::NoModel)?;
        let store = self.store().clone();
        let title = pincer_agent::title_from(&text);
        let (session, history) = blocking(move || {
            let session = match request.session_id {
                Some(id) => store.session(&id)?,
                None => store.create_session(NewSession {
                    client_key: None,
                    source: "desktop".into(),
                    title: Some(title),
                })?,
            };
            let history = store.messages(&session.id)?;
            Ok((session, history))
        })
        .await?;
        let mut messages: Vec<ChatMessage> = history
            .into_iter()
            .filter_map(|m| {
                let role = match m.role.as_str() {
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "tool" => Role::Tool,
                    _ => return None,
                };
                Some(ChatMessage {
                    role,
                    content: m.content,
                })
            })
            .collect();
        // "Remember that …" goes into today's note before the answer, so the
        // answer can already stand on it and the owner sees where it went.
        let remembered = match pincer_memory::remember_request(&text) {
            Some(note) if self.memory().is_ok() => {
                Some(self.memory_remember(note.to_string()).await?)
            }
            _ => None,
        };
        messages.push(ChatMessage {
            role: Role::User,
            content: text,
        });
        let params = GenerationParams {
            max_tokens: Some(
                request
                    .max_tokens
                    .unwrap_or(DEFAULT_MAX_TOKENS)
                    .clamp(1, 32_768) as usize,
            ),
            ..Default::default()
        };
        let (turn, mut stopped) = self.inner.turns.begin(&session.id)?;
        let call = ChatCall {
            session_key: None,
            session_id: Some(session.id.clone()),
            source: "desktop".into(),
            request: GenerationRequest { messages, params },
            with_soul: true,
            with_memory: true,
            learning_source: crate::APP_SOURCE.into(),
            side_turn: false,
        };
        let mut stream = match self.chat(call).await {
            Ok(stream) => stream,
            Err(error) => {
                self.inner.turns.end(&session.id, turn);
                return Err(error);
            }
        };
        let saved = stream.saved();
        let model = engine.id().to_string();
        let sources = stream
            .sources()
            .iter()
            .map(crate::sessions::answer_source)
            .collect();
        sink(ChatEvent::Started {
            session_id: session.id.clone(),
            model: model.clone(),
            sources,
        });
        if let Some(note) = remembered {
            sink(ChatEvent::Remembered { note });
        }
        let outcome = stream_answer(stream, &mut sink, &mut stopped, &model).await;
        let saved = saved.await;
        self.inner.turns.end(&session.id, turn);
        let (answer, stats) = outcome;
        // Sent once the exchange is saved, so a reload shows the answer.
        sink(ChatEvent::Finished {
            stats: stats.clone(),
            message_id: saved.message_id.map(|id| id as f64),
            learnable: saved.learnable,
        });
        Ok(TurnSummary {
            session_id: session.id,
            answer,
            stats,
        })
    }

    /// Stops the answer being written in a session; `false` when none was.
    pub fn stop_generation(&self, session_id: &str) -> bool {
        self.inner.turns.stop(session_id)
    }
}

/// Forwards the text to the sink until the stream ends, the owner stops it,
/// or the sink's reader goes away. Dropping the stream cancels generation and
/// saves what was written as `canceled`.
async fn stream_answer(
    mut stream: pincer_agent::ChatStream,
    sink: &mut EventSink,
    stopped: &mut oneshot::Receiver<()>,
    model: &str,
) -> (String, AnswerStats) {
    let mut answer = String::new();
    let mut deltas = 0u32;
    loop {
        let event = tokio::select! {
            _ = &mut *stopped => None,
            event = stream.next() => Some(event),
        };
        let finished = match event {
            None | Some(None) => stats_of(model, "canceled", deltas, &GenerationStats::default()),
            Some(Some(Ok(GenerationEvent::Delta { text, .. }))) => {
                answer.push_str(&text);
                deltas += 1;
                if sink(ChatEvent::Delta { text }) {
                    continue;
                }
                stats_of(model, "canceled", deltas, &GenerationStats::default())
            }
            Some(Some(Ok(GenerationEvent::Finished { reason, stats }))) => {
                stats_of(model, reason.as_str(), deltas, &stats)
            }
            Some(Some(Err(error))) => {
                let error = AppError::from(error);
                sink(ChatEvent::Failed {
                    error: ControlError::from(&error),
                });
                stats_of(model, "error", deltas, &GenerationStats::default())
            }
        };
        // What the engine handed over before the stop is saved with the
        // answer, so it is shown too.
        for event in stream.close_and_drain() {
            if let Ok(GenerationEvent::Delta { text, .. }) = event {
                answer.push_str(&text);
                sink(ChatEvent::Delta { text });
            }
        }
        drop(stream);
        return (answer, finished);
    }
}

fn stats_of(model: &str, reason: &str, deltas: u32, stats: &GenerationStats) -> AnswerStats {
    AnswerStats {
        model: model.to_string(),
        finish_reason: reason.to_string(),
        prompt_tokens: stats.prompt_tokens.min(u32::MAX as usize) as u32,
        completion_tokens: if stats.completion_tokens > 0 {
            stats.completion_tokens.min(u32::MAX as usize) as u32
        } else {
            deltas
        },
        time_to_first_token_ms: stats.time_to_first_token.as_secs_f64() * 1000.0,
        tokens_per_second: stats.decode_tokens_per_second,
    }
}
