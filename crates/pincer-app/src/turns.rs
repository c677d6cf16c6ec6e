//! The app's own chat turns as the UI sees them: the agent's turn (a
//! session continued, "remember that …" filed, the answer streamed and
//! stoppable; pincer-agent's `conversation.rs`) with its events as
//! [`ChatEvent`]s and its end as a [`TurnSummary`].

use crate::control::EventSink;
use crate::ipc::{
    AnswerStats, AnswerToolQuestion, ChatEvent, ControlError, RememberedNote, SendMessage,
    ToolCallView, ToolOutcomeView, ToolQuestionView, TurnSummary,
};
use crate::{App, AppError, Result};
use pincer_agent::{OwnerMessage, ToolAnswer, ToolOutcome, ToolQuestion, TurnEvent};
use pincer_inference::GenerationStats;

impl App {
    /// Sends the owner's message and streams the answer into `sink`; returns
    /// when the answer has ended (finished, stopped or failed) and is saved.
    pub async fn send_message(
        &self,
        request: SendMessage,
        mut sink: EventSink,
    ) -> Result<TurnSummary> {
        // A read ahead in flight reads this turn's start too: wait for it.
        self.read_ahead_done().await;
        let message = OwnerMessage {
            session_id: request.session_id,
            text: request.text,
            max_tokens: request.max_tokens,
        };
        let end = self
            .inner
            .agent
            .send_message(message, |event| sink(chat_event(event)))
            .await?;
        let stats = stats_of(&end.model, &end.finish_reason, end.deltas, &end.stats);
        // Sent once the exchange is saved, so a reload shows the answer.
        sink(ChatEvent::Finished {
            stats: stats.clone(),
            message_id: end.message_id.map(|id| id as f64),
            learnable: end.learnable,
        });
        Ok(TurnSummary {
            session_id: end.session_id,
            answer: end.answer,
            stats,
        })
    }

    /// Stops the answer being written in a session; `false` when none was.
    pub fn stop_generation(&self, session_id: &str) -> bool {
        self.inner.agent.stop_generation(session_id)
    }

    /// The gate's questions waiting for the owner (for a UI that reloaded,
    /// or a client of the control API).
    pub fn tool_questions(&self) -> Vec<ToolQuestionView> {
        self.inner
            .agent
            .tool_questions()
            .into_iter()
            .map(question_view)
            .collect()
    }

    /// The owner answers one of the gate's questions.
    pub fn answer_tool_question(&self, request: AnswerToolQuestion) -> Result<()> {
        let answer = match request.answer.as_str() {
            "allowOnce" => ToolAnswer::AllowOnce,
            "allowAlways" => ToolAnswer::AllowAlways,
            "deny" => ToolAnswer::Deny,
            other => {
                return Err(AppError::InvalidInput(format!(
                    "`{other}` is not an answer; use allowOnce, allowAlways or deny"
                )))
            }
        };
        self.inner
            .agent
            .answer_tool_question(&request.question_id, answer)?;
        Ok(())
    }
}

fn question_view(question: ToolQuestion) -> ToolQuestionView {
    ToolQuestionView {
        id: question.id,
        session_id: question.session_id,
        call_id: question.call_id,
        tool: question.tool,
        arguments: question.arguments.to_string(),
        effect: question.effect,
        why: question.why,
        offer_always: question.offer_always,
    }
}

fn outcome_view(outcome: ToolOutcome) -> ToolOutcomeView {
    ToolOutcomeView {
        call_id: outcome.call_id,
        tool: outcome.tool,
        decision: outcome.decision,
        why: outcome.why,
        ok: outcome.ok,
        output: outcome.output,
        took_ms: outcome.took_ms as f64,
    }
}

fn chat_event(event: TurnEvent) -> ChatEvent {
    match event {
        TurnEvent::Started {
            session_id,
            model,
            sources,
        } => ChatEvent::Started {
            session_id,
            model,
            sources: sources.iter().map(crate::sessions::answer_source).collect(),
        },
        TurnEvent::Remembered { path, line } => ChatEvent::Remembered {
            note: RememberedNote {
                path: path.display().to_string(),
                line: line as u32,
            },
        },
        TurnEvent::Delta { text } => ChatEvent::Delta { text },
        TurnEvent::ToolCall {
            call_id,
            tool,
            arguments,
        } => ChatEvent::ToolCall {
            call: ToolCallView {
                call_id,
                tool,
                arguments,
            },
        },
        TurnEvent::ToolAsk(question) => ChatEvent::ToolAsk {
            question: question_view(question),
        },
        TurnEvent::ToolResult(outcome) => ChatEvent::ToolResult {
            outcome: outcome_view(outcome),
        },
        TurnEvent::Failed(error) => ChatEvent::Failed {
            error: ControlError::from(&AppError::from(error)),
        },
    }
}

fn stats_of(model: &str, reason: &str, deltas: u32, stats: &GenerationStats) -> AnswerStats {
    AnswerStats {
        model: model.to_string(),
        finish_reason: reason.to_string(),
        prompt_tokens: stats.prompt_tokens.min(u32::MAX as usize) as u32,
        cached_prompt_tokens: Some(stats.cached_prompt_tokens.min(u32::MAX as usize) as u32),
        completion_tokens: if stats.completion_tokens > 0 {
            stats.completion_tokens.min(u32::MAX as usize) as u32
        } else {
            deltas
        },
        time_to_first_token_ms: stats.time_to_first_token.as_secs_f64() * 1000.0,
        tokens_per_second: stats.decode_tokens_per_second,
    }
}
