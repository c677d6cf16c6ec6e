//! The owner's own chat: a message continues a session (its stored history
//! plus the new text), "remember that …" files a note in today's daily note
//! before the answer (so the answer can already stand on it), and the answer
//! streams as [`TurnEvent`]s until it ends, the owner stops it, or the
//! reader goes away. One answer at a time per session.

use crate::prompt::blocking;
use crate::{Agent, AgentError, ChatCall, ChatStream, Result};
use futures::StreamExt;
use pincer_inference::{
    ChatMessage, GenerationEvent, GenerationParams, GenerationRequest, GenerationStats,
    InferenceError, Role,
};
use pincer_store::{MessageSource, NewSession};
use pincer_trust::{Action, Actor};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Longest message the owner may send, in characters.
const MAX_MESSAGE_CHARS: usize = 100_000;
/// Answer length when the UI does not say.
const DEFAULT_MAX_TOKENS: u32 = 512;

/// A message the owner sends.
#[derive(Clone, Debug)]
pub struct OwnerMessage {
    /// The session to continue; `None` starts one.
    pub session_id: Option<String>,
    /// What the owner wrote.
    pub text: String,
    /// Longest answer, in tokens (default 512).
    pub max_tokens: Option<u32>,
}

/// One step of the owner's turn as it streams.
#[derive(Debug)]
pub enum TurnEvent {
    /// The answer has begun; the session exists now.
    Started {
        /// The session the exchange is saved in.
        session_id: String,
        /// The model answering.
        model: String,
        /// The memory put in front of the question.
        sources: Vec<MessageSource>,
    },
    /// The message asked to remember something; it is in this note now.
    Remembered {
        /// The daily note.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
    },
    /// More text.
    Delta {
        /// The new text.
        text: String,
    },
    /// Generation failed; what was written until then is kept.
    Failed(InferenceError),
}

/// How the owner's turn ended, once the exchange is saved.
#[derive(Clone, Debug)]
pub struct TurnEnd {
    /// The session it was saved in.
    pub session_id: String,
    /// The whole answer as the owner saw it.
    pub answer: String,
    /// The model that answered.
    pub model: String,
    /// Why it ended (`stop`, `length`, `canceled`, `error`).
    pub finish_reason: String,
    /// Text pieces handed over before it ended (the token count when the
    /// engine gave none).
    pub deltas: u32,
    /// The engine's figures (zeros when it was stopped or failed).
    pub stats: GenerationStats,
    /// The saved answer's id.
    pub message_id: Option<i64>,
    /// Whether it was kept as a training record.
    pub learnable: bool,
}

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
            return Err(AgentError::InvalidInput(
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

    fn stop_all(&self) {
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

impl Agent {
    /// Sends the owner's message and streams the answer into `sink` (which
    /// returns `false` once its reader is gone); returns when the answer has
    /// ended (finished, stopped or failed) and is saved.
    pub async fn send_message(
        &self,
        message: OwnerMessage,
        mut sink: impl FnMut(TurnEvent) -> bool + Send,
    ) -> Result<TurnEnd> {
        let text = message.text.trim().to_string();
        if text.is_empty() {
            return Err(AgentError::InvalidInput(
                "the message is empty; type something to send".into(),
            ));
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AgentError::InvalidInput(format!(
                "the message is longer than {MAX_MESSAGE_CHARS} characters; shorten it or split it"
            )));
        }
        if self.is_halted() {
            return Err(AgentError::Halted);
        }
        self.refresh_secrets();
        let engine = self.engine().ok_or(AgentError::NoModel)?;
        let store = self.store().clone();
        let title = crate::title_from(&text);
        let (session, history) = blocking(move || {
            let session = match message.session_id {
                Some(id) => store.session(&id)?,
                None => store.create_session(NewSession {
                    client_key: None,
                    source: "desktop".into(),
                    title: Some(title),
                })?,
            };
            let history = store.messages(&session.id)?;
            Ok::<_, pincer_store::StoreError>((session, history))
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
            Some(note) if self.memory().is_some() => self.remember(note.to_string()).await?,
            _ => None,
        };
        messages.push(ChatMessage {
            role: Role::User,
            content: text,
        });
        let params = GenerationParams {
            max_tokens: Some(
                message
                    .max_tokens
                    .unwrap_or(DEFAULT_MAX_TOKENS)
                    .clamp(1, 32_768) as usize,
            ),
            ..Default::default()
        };
        let turns = &self.inner.turns;
        let (turn, mut stopped) = turns.begin(&session.id)?;
        let call = ChatCall {
            session_key: None,
            session_id: Some(session.id.clone()),
            source: "desktop".into(),
            request: GenerationRequest { messages, params },
            with_soul: true,
            with_memory: true,
            learning_source: pincer_learning::APP_SOURCE.into(),
            side_turn: false,
        };
        let mut stream = match self.chat(call).await {
            Ok(stream) => stream,
            Err(error) => {
                turns.end(&session.id, turn);
                return Err(error);
            }
        };
        let saved = stream.saved();
        let model = engine.id().to_string();
        sink(TurnEvent::Started {
            session_id: session.id.clone(),
            model: model.clone(),
            sources: stream.sources().to_vec(),
        });
        if let Some((path, line)) = remembered {
            sink(TurnEvent::Remembered { path, line });
        }
        let (answer, finish_reason, deltas, stats) =
            stream_answer(stream, &mut sink, &mut stopped).await;
        let saved = saved.await;
        turns.end(&session.id, turn);
        // The owner saw an answer that is not in the database: say so, and
        // let them send it again once the cause is gone.
        if let Some(problem) = saved.problem {
            return Err(AgentError::NotSaved(problem));
        }
        Ok(TurnEnd {
            session_id: session.id,
            answer,
            model,
            finish_reason,
            deltas,
            stats,
            message_id: saved.message_id,
            learnable: saved.learnable,
        })
    }

    /// Stops the answer being written in a session; `false` when none was.
    pub fn stop_generation(&self, session_id: &str) -> bool {
        self.inner.turns.stop(session_id)
    }

    /// Stops every answer being written (the owner halted the agent).
    pub fn stop_all(&self) {
        self.inner.turns.stop_all();
    }

    /// Appends `text` to today's daily note (a secret never goes into one:
    /// notes are plain files) and audits it; `None` when memory is off.
    pub async fn remember(&self, text: String) -> Result<Option<(PathBuf, usize)>> {
        let Some(memory) = self.memory() else {
            return Ok(None);
        };
        self.refresh_secrets();
        let text = self.store().scrub("memory note", &text).into_owned();
        let (path, line) = blocking(move || memory.remember(&text)).await?;
        self.inner.trust.record(
            Actor::Agent,
            Action::MemoryRemember,
            &path.display().to_string(),
            "done",
            serde_json::json!({"line": line}),
        )?;
        Ok(Some((path, line)))
    }
}

/// Forwards the text to the sink until the stream ends, the owner stops it,
/// or the sink's reader goes away. Dropping the stream cancels generation and
/// saves what was written as `canceled`. Returns the answer, why it ended,
/// the pieces handed over and the engine's figures.
async fn stream_answer(
    mut stream: ChatStream,
    sink: &mut (impl FnMut(TurnEvent) -> bool + Send),
    stopped: &mut oneshot::Receiver<()>,
) -> (String, String, u32, GenerationStats) {
    let mut answer = String::new();
    let mut deltas = 0u32;
    let canceled = || ("canceled".to_string(), GenerationStats::default());
    let (reason, stats) = loop {
        let event = tokio::select! {
            _ = &mut *stopped => None,
            event = stream.next() => Some(event),
        };
        match event {
            None | Some(None) => break canceled(),
            Some(Some(Ok(GenerationEvent::Delta { text, .. }))) => {
                answer.push_str(&text);
                deltas += 1;
                if sink(TurnEvent::Delta { text }) {
                    continue;
                }
                break canceled();
            }
            Some(Some(Ok(GenerationEvent::Finished { reason, stats }))) => {
                break (reason.as_str().to_string(), stats)
            }
            Some(Some(Err(error))) => {
                sink(TurnEvent::Failed(error));
                break ("error".to_string(), GenerationStats::default());
            }
        }
    };
    // What the engine handed over before the stop is saved with the answer,
    // so it is shown too.
    for event in stream.close_and_drain() {
        if let Ok(GenerationEvent::Delta { text, .. }) = event {
            answer.push_str(&text);
            sink(TurnEvent::Delta { text });
        }
    }
    drop(stream);
    (answer, reason, deltas, stats)
}
