//! The owner's own chat: a message continues a session (its stored history
//! plus the new text), "remember that …" files a note in today's daily note
//! before the answer (so the answer can already stand on it), and the answer
//! streams as [`TurnEvent`]s until it ends, the owner stops it, or the
//! reader goes away. One answer at a time per session.
//!
//! The answer may call tools: each step is one generation; its calls are
//! settled (`acting.rs`) and their results go back as tool messages for the
//! next step, up to [`MAX_STEPS`] generations (the last one is offered no
//! tools, so it answers in words). Every step is saved as it ends.

use crate::events::{tool_calls_from_json, StopSignal, TurnEnd, TurnEvent};
use crate::prompt::blocking;
use crate::steps::stream_answer;
use crate::{Agent, AgentError, ChatCall, Result};
use pincer_inference::{
    ChatMessage, GenerationParams, GenerationRequest, GenerationStats, InferenceError, Role,
};
use pincer_store::NewSession;
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
/// Generations one turn may take when it calls tools.
pub const MAX_STEPS: usize = 8;

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
        self.engine().ok_or(AgentError::NoModel)?;
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
                    tool_calls: tool_calls_from_json(m.tool_calls.as_deref()),
                    tool_call_id: m.tool_call_id,
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
            ..Default::default()
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
        let (turn, stopped) = turns.begin(&session.id)?;
        let mut stop = StopSignal::new(stopped);
        let result = self
            .run_steps(
                &session.id,
                messages,
                params,
                remembered,
                &mut sink,
                &mut stop,
            )
            .await;
        turns.end(&session.id, turn);
        result
    }

    /// The turn's generations: each step streams, is saved, and when it
    /// called tools they are settled and the next step sees their results.
    async fn run_steps(
        &self,
        session_id: &str,
        mut messages: Vec<ChatMessage>,
        params: GenerationParams,
        remembered: Option<(PathBuf, usize)>,
        sink: &mut (impl FnMut(TurnEvent) -> bool + Send),
        stop: &mut StopSignal,
    ) -> Result<TurnEnd> {
        let engine = self.engine().ok_or(AgentError::NoModel)?;
        let model = engine.id().to_string();
        let mut turn_state = pincer_tools::gate::TurnState::default();
        let mut outcomes = Vec::new();
        let mut shown = String::new();
        let mut total_deltas = 0;
        for step in 1..=MAX_STEPS {
            let last_step = step == MAX_STEPS;
            let mut params = params.clone();
            if !last_step {
                params.tools = self.tool_definitions();
            }
            let call = ChatCall {
                session_key: None,
                session_id: Some(session_id.to_string()),
                source: "desktop".into(),
                request: GenerationRequest {
                    messages: messages.clone(),
                    params,
                },
                with_soul: true,
                with_memory: true,
                learning_source: pincer_learning::APP_SOURCE.into(),
                side_turn: false,
            };
            let mut stream = match self.chat(call).await {
                Ok(stream) => stream,
                // Past the first step the owner has seen part of the turn:
                // it ends here, with what was saved.
                Err(error) if step == 1 => return Err(error),
                Err(error) => {
                    sink(TurnEvent::Failed(InferenceError::Generation(
                        error.to_string(),
                    )));
                    break;
                }
            };
            let saved = stream.saved();
            if step == 1 {
                sink(TurnEvent::Started {
                    session_id: session_id.to_string(),
                    model: model.clone(),
                    sources: stream.sources().to_vec(),
                });
                if let Some((path, line)) = remembered.clone() {
                    sink(TurnEvent::Remembered { path, line });
                }
            }
            let answer = stream_answer(stream, sink, stop).await;
            let saved = saved.await;
            // The owner saw an answer that is not in the database: say so,
            // and let them send it again once the cause is gone.
            if let Some(problem) = saved.problem {
                return Err(AgentError::NotSaved(problem));
            }
            shown.push_str(&answer.text);
            total_deltas += answer.deltas;
            let done = answer.calls.is_empty() && answer.malformed.is_empty()
                || answer.finish_reason == "canceled"
                || answer.finish_reason == "error"
                || stop.is_fired();
            if done {
                return Ok(TurnEnd {
                    session_id: session_id.to_string(),
                    answer: shown,
                    model,
                    finish_reason: answer.finish_reason,
                    deltas: total_deltas,
                    stats: answer.stats,
                    message_id: saved.message_id,
                    learnable: saved.learnable,
                    tools: outcomes,
                    steps: step,
                });
            }
            messages.push(ChatMessage {
                role: Role::Assistant,
                content: answer.content.clone(),
                tool_calls: answer.calls.clone(),
                tool_call_id: None,
            });
            for call in &answer.calls {
                let (outcome, message) = self
                    .act(session_id, call, &mut turn_state, sink, stop)
                    .await;
                sink(TurnEvent::ToolResult(outcome.clone()));
                outcomes.push(outcome);
                messages.push(message);
            }
            for problem in &answer.malformed {
                // No call id to answer: the problem goes back as a note the
                // model reads in place of a result.
                messages.push(ChatMessage::new(
                    Role::Tool,
                    crate::acting::fence("tool_call", &serde_json::json!({"error": format!("your tool call could not be read: {problem}")}).to_string()),
                ));
            }
        }
        // Only a failed later step gets here.
        Ok(TurnEnd {
            session_id: session_id.to_string(),
            answer: shown,
            model,
            finish_reason: "error".into(),
            deltas: total_deltas,
            stats: GenerationStats::default(),
            message_id: None,
            learnable: false,
            tools: outcomes,
            steps: MAX_STEPS,
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
