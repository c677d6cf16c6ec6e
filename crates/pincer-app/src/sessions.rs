//! The sessions list and history as the chat pane shows them.

use crate::ipc::{AnswerStats, ChatMessageView, SessionSummary};
use crate::{blocking, App, AppError, Result};
use pincer_store::{Message, NewSession, Session};

/// Sessions the list shows at most.
const LIST_LIMIT: u32 = 500;

impl App {
    /// Sessions, most recently active first.
    pub async fn list_sessions(&self) -> Result<Vec<SessionSummary>> {
        let store = self.store().clone();
        blocking(move || {
            Ok(store
                .recent_sessions(LIST_LIMIT)?
                .into_iter()
                .map(summary)
                .collect())
        })
        .await
    }

    /// Starts an empty session from the app.
    pub async fn create_session(&self, title: Option<String>) -> Result<SessionSummary> {
        let title = checked_title(title.unwrap_or_default().as_str())
            .unwrap_or_else(|_| "New chat".to_string());
        let store = self.store().clone();
        blocking(move || {
            Ok(summary(store.create_session(NewSession {
                client_key: None,
                source: "desktop".into(),
                title: Some(title),
            })?))
        })
        .await
    }

    /// Renames a session.
    pub async fn rename_session(
        &self,
        session_id: String,
        title: String,
    ) -> Result<SessionSummary> {
        let title = checked_title(&title)?;
        let store = self.store().clone();
        blocking(move || Ok(summary(store.rename_session(&session_id, &title)?))).await
    }

    /// Deletes a session with its messages, stopping its answer if one runs.
    pub async fn delete_session(&self, session_id: String) -> Result<()> {
        self.stop_generation(&session_id);
        let store = self.store().clone();
        blocking(move || Ok(store.delete_session(&session_id)?)).await
    }

    /// A session's messages, oldest first.
    pub async fn session_messages(&self, session_id: String) -> Result<Vec<ChatMessageView>> {
        let store = self.store().clone();
        blocking(move || {
            store.session(&session_id)?;
            let learnable: std::collections::HashMap<i64, Option<String>> = store
                .feedback_in_session(&session_id)?
                .into_iter()
                .collect();
            Ok(store
                .messages(&session_id)?
                .into_iter()
                .map(|message| {
                    let feedback = learnable.get(&message.id);
                    message_view(message, feedback.is_some(), feedback.cloned().flatten())
                })
                .collect())
        })
        .await
    }
}

fn checked_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::InvalidInput(
            "a session title needs 1 to 200 characters".into(),
        ));
    }
    Ok(title.to_string())
}

fn summary(session: Session) -> SessionSummary {
    SessionSummary {
        title: session.title.clone().unwrap_or_else(|| "Untitled".into()),
        id: session.id,
        source: session.source,
        updated_at: session.updated_at as f64,
    }
}

pub(crate) fn message_view(
    message: Message,
    learnable: bool,
    feedback: Option<String>,
) -> ChatMessageView {
    let stats = (message.role == "assistant").then(|| {
        let s = &message.stats;
        AnswerStats {
            model: s.model.clone().unwrap_or_default(),
            finish_reason: s.finish_reason.clone().unwrap_or_default(),
            prompt_tokens: s
                .prompt_tokens
                .unwrap_or_default()
                .clamp(0, i64::from(u32::MAX)) as u32,
            cached_prompt_tokens: None,
            completion_tokens: s
                .completion_tokens
                .unwrap_or_default()
                .clamp(0, i64::from(u32::MAX)) as u32,
            time_to_first_token_ms: s.time_to_first_token_ms.unwrap_or_default(),
            tokens_per_second: s.decode_tokens_per_second.unwrap_or_default(),
        }
    });
    let sources = message.sources.iter().map(answer_source).collect();
    let tool_calls = tool_calls_of(message.tool_calls.as_deref());
    ChatMessageView {
        id: message.id as f64,
        learnable,
        feedback,
        role: message.role,
        content: message.content,
        stats,
        sources,
        tool_calls,
        tool_call_id: message.tool_call_id,
    }
}

/// A stored answer's `tool_calls` JSON as the chat shows them.
fn tool_calls_of(json: Option<&str>) -> Vec<crate::ipc::ToolCallView> {
    pincer_agent::tool_calls_from_json(json)
        .into_iter()
        .map(|call| crate::ipc::ToolCallView {
            call_id: call.id,
            tool: call.name,
            arguments: call.arguments,
        })
        .collect()
}

pub(crate) fn answer_source(source: &pincer_store::MessageSource) -> crate::ipc::AnswerSource {
    crate::ipc::AnswerSource {
        path: source.path.clone(),
        start_line: source.start_line.clamp(0, i64::from(u32::MAX)) as u32,
        end_line: source.end_line.clamp(0, i64::from(u32::MAX)) as u32,
        provenance: source.provenance.clone(),
    }
}
