//! A turn: run a generation for one chat request and record the exchange
//! as a session (and as a learning record when the owner consented).

use crate::prompt::blocking;
use crate::recorder::{Recorder, Saved};
use crate::{Agent, AgentError, Result};
use futures::Stream;
use pincer_inference::{ChatMessage, GenerationEvent, GenerationRequest, Role};
use pincer_learning::TurnRecording;
use pincer_store::{MessageSource, NewMessage, NewSession, Store, StoreCondition};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// One chat request from any transport.
#[derive(Clone, Debug)]
pub struct ChatCall {
    /// The client's key grouping requests into one session (`x-session-id`);
    /// `None` starts a new session.
    pub session_key: Option<String>,
    /// An existing session to continue (the app's own chats), which takes
    /// precedence over `session_key`.
    pub session_id: Option<String>,
    /// Which surface asked (`gateway`, `desktop`, `cli`).
    pub source: String,
    /// What to generate.
    pub request: GenerationRequest,
    /// Put the workspace's soul files in front as the system prompt (not
    /// saved in the session: the files and their history hold it).
    pub with_soul: bool,
    /// Search memory for the last user message and put what it finds in
    /// the system prompt; the answer records those chunks as its sources.
    pub with_memory: bool,
    /// Whose training consent decides whether the turn is kept for
    /// learning: [`pincer_learning::APP_SOURCE`] or [`pincer_learning::client_source`].
    pub learning_source: String,
    /// A side turn (`x-turn-type: side`: a title, a summary) is never
    /// training data and is no answer's next state.
    pub side_turn: bool,
}

/// The events of one chat; dropping it cancels generation, and what was
/// generated until then is still recorded (finish reason `canceled`).
pub struct ChatStream {
    session_id: String,
    receiver: mpsc::Receiver<pincer_inference::Result<GenerationEvent>>,
    saved: Option<oneshot::Receiver<Saved>>,
    sources: Vec<MessageSource>,
}

impl ChatStream {
    /// The session the exchange is recorded in.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Stops taking events and returns those already handed over but not
    /// yet read: together with what was read, exactly what gets saved.
    pub fn close_and_drain(&mut self) -> Vec<pincer_inference::Result<GenerationEvent>> {
        self.receiver.close();
        let mut rest = Vec::new();
        while let Ok(event) = self.receiver.try_recv() {
            rest.push(event);
        }
        rest
    }

    /// The memory put in front of the question (recorded with the answer).
    pub fn sources(&self) -> &[MessageSource] {
        &self.sources
    }

    /// A future that completes once the exchange is in the database (after
    /// the stream ended or was dropped), so a reader sees the saved answer.
    pub fn saved(&mut self) -> impl std::future::Future<Output = Saved> + Send + 'static {
        let saved = self.saved.take();
        async move {
            match saved {
                Some(saved) => saved.await.unwrap_or_else(|_| Saved {
                    problem: Some("the exchange's recorder stopped before saving it".into()),
                    ..Saved::default()
                }),
                None => Saved::default(),
            }
        }
    }
}

impl Stream for ChatStream {
    type Item = pincer_inference::Result<GenerationEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl Agent {
    /// Starts a chat. Fails at once when the engine is busy or the request is invalid.
    pub async fn chat(&self, mut call: ChatCall) -> Result<ChatStream> {
        if self.is_halted() {
            return Err(AgentError::Halted);
        }
        refuse_when_unsaveable(self.store())?;
        // From here until the exchange is saved the judge keeps off the
        // engine (one it is running now is dropped).
        let chatting = self.inner.learning.chat_started();
        self.refresh_secrets();
        let engine = self.engine().ok_or(AgentError::NoModel)?;
        // An unusable tool or a prompt over the context is refused before
        // a session is made or anything streams (the system prompt added
        // below is checked again as the generation starts).
        engine.check_context(&call.request).await?;
        let store = Arc::clone(self.store());
        let key = call.session_key.clone();
        let source = call.source.clone();
        let title = call
            .request
            .messages
            .iter()
            .find(|m| m.role == Role::User)
            .map(|m| title_from(&m.content));
        let existing = call.session_id.clone();
        let session = blocking(move || match existing {
            Some(id) => store.session(&id),
            None => store.create_session(NewSession {
                client_key: key,
                source,
                title,
            }),
        })
        .await?;
        let learning = match call.side_turn {
            true => None,
            false => {
                self.inner
                    .learning
                    .begin_learning(&session.id, &call.learning_source, &call.request.messages)
                    .await
            }
        };
        if learning.is_some() {
            // Training needs each answer token's log-probability under the
            // serving model; the client still gets them only if it asked.
            call.request.params.logprobs = true;
        }
        let request_messages: Vec<NewMessage> = call
            .request
            .messages
            .iter()
            .map(|m| NewMessage {
                tool_calls: crate::events::tool_calls_json(&m.tool_calls),
                tool_call_id: m.tool_call_id.clone(),
                ..NewMessage::new(m.role.as_str(), m.content.clone())
            })
            .collect();
        let (system, soul_sha256) = self
            .leading_system(call.with_soul, &call.request.params.tools)
            .await;
        let mut sources = Vec::new();
        // The memory found for the question goes just before it, not into
        // the first system message: what comes before it (the soul, the
        // tools' schemas, the conversation so far) is then the same from
        // turn to turn, and the engine's prefix cache reuses it.
        let question_at = call.request.messages.iter().rposition(|m| m.role == Role::User);
        if let (true, Some(at)) = (call.with_memory, question_at) {
            let question = call.request.messages[at].content.clone();
            let (section, found) = self.memory_context(question).await;
            if let Some(section) = section {
                call.request.messages.insert(
                    at,
                    ChatMessage {
                        role: Role::System,
                        content: section,
                        ..Default::default()
                    },
                );
            }
            sources = found;
        }
        if let Some(system) = system {
            call.request.messages.insert(
                0,
                ChatMessage {
                    role: Role::System,
                    content: system,
                    ..Default::default()
                },
            );
        }
        // The model never sees a secret, so it cannot repeat one (into a
        // saved answer, a tool call or, later, a cloud request).
        for message in &mut call.request.messages {
            if let std::borrow::Cow::Owned(clean) = self.store().scrub("prompt", &message.content) {
                message.content = clean;
            }
        }
        let recording = learning.map(|consent| TurnRecording {
            consent,
            source: call.learning_source.clone(),
            soul_sha256,
            prompt: match call.request.params.tools.is_empty() {
                true => serde_json::json!({ "messages": call.request.messages }),
                false => serde_json::json!({
                    "messages": call.request.messages,
                    "tools": call.request.params.tools,
                }),
            },
            adapter: engine
                .adapter()
                .map(|path| path.to_string_lossy().into_owned()),
        });
        let generation = engine.try_generate(call.request)?;
        let (sender, receiver) = mpsc::channel(8);
        let (saved_sender, saved) = oneshot::channel();
        let recorder = Recorder {
            saved: saved_sender,
            trust: Arc::clone(&self.inner.trust),
            session_id: session.id.clone(),
            model: engine.id().to_string(),
            request_messages,
            sources: sources.clone(),
            recording,
            _chatting: chatting,
        };
        tokio::spawn(recorder.run(generation, sender));
        Ok(ChatStream {
            session_id: session.id,
            receiver,
            saved: Some(saved),
            sources,
        })
    }
}

/// A session title from the first words of a message.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

/// Refuses a turn before anything is generated when the store cannot save
/// it: a damaged database (writes are stopped), or a full disk that is
/// still full (once space is back, the turn goes ahead and its save clears
/// the condition).
fn refuse_when_unsaveable(store: &Store) -> Result<()> {
    match store.condition() {
        StoreCondition::Damaged { cause } => Err(AgentError::NotSaved(format!(
            "nothing was sent or saved: {cause}"
        ))),
        StoreCondition::Degraded { cause } => {
            let folder = store.path().parent().unwrap_or(store.path());
            match pincer_store::free_bytes(folder) {
                Some(free) if free < MIN_FREE_TO_ANSWER => Err(AgentError::NotSaved(format!(
                    "nothing was sent or saved: {cause}"
                ))),
                _ => Ok(()),
            }
        }
        StoreCondition::Healthy => Ok(()),
    }
}

/// Free space a turn needs to be worth generating on a disk that filled up.
const MIN_FREE_TO_ANSWER: u64 = 1_000_000;
