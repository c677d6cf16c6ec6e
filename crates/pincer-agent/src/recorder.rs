//! The recorder of a turn: forwards the generation to its reader, then
//! saves the exchange (and the training record, when the owner consented)
//! and reports what was saved to [`ChatStream::saved`](crate::ChatStream::saved).

use futures::StreamExt;
use pincer_inference::{FinishReason, GenerationEvent, GenerationStats};
use pincer_learning::{record_turn, ChatInProgress, TurnRecording};
use pincer_store::{MessageSource, MessageStats, NewMessage, TokenRecord};
use pincer_trust::problems::Area;
use pincer_trust::Trust;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What [`ChatStream::saved`](crate::ChatStream::saved) reports once the exchange is in the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// The answer's message id (`None` if saving failed).
    pub message_id: Option<i64>,
    /// Whether the turn was kept as a training record (feedback on it teaches).
    pub learnable: bool,
    /// Why the exchange was not saved, when it was not.
    pub problem: Option<String>,
}

/// Forwards a generation to its reader and saves the exchange when it ends.
pub(crate) struct Recorder {
    pub(crate) saved: oneshot::Sender<Saved>,
    pub(crate) trust: Arc<Trust>,
    pub(crate) session_id: String,
    pub(crate) model: String,
    pub(crate) request_messages: Vec<NewMessage>,
    pub(crate) sources: Vec<MessageSource>,
    pub(crate) recording: Option<TurnRecording>,
    /// Keeps the judge waiting until the exchange is saved.
    pub(crate) _chatting: ChatInProgress,
}

impl Recorder {
    pub(crate) async fn run(
        self,
        mut generation: pincer_inference::GenerationStream,
        sender: mpsc::Sender<pincer_inference::Result<GenerationEvent>>,
    ) {
        let mut answer = String::new();
        let mut calls = Vec::new();
        let mut tokens = Vec::new();
        let mut deltas = 0usize;
        let mut outcome: Option<(FinishReason, GenerationStats)> = None;
        loop {
            let event = tokio::select! {
                _ = sender.closed() => break,
                event = generation.next() => event,
            };
            let Some(event) = event else { break };
            let mut text = None;
            let mut token = None;
            let mut call = None;
            match &event {
                Ok(GenerationEvent::Delta {
                    text: piece,
                    logprob,
                }) => {
                    text = Some(piece.clone());
                    token = logprob.as_ref().map(|l| TokenRecord {
                        id: l.id,
                        text: piece.clone(),
                        logprob: l.logprob,
                    });
                }
                // A call's own tokens are part of what the model answered,
                // for training, but not of the text shown.
                Ok(GenerationEvent::CallText {
                    text: piece,
                    logprob,
                }) => {
                    token = logprob.as_ref().map(|l| TokenRecord {
                        id: l.id,
                        text: piece.clone(),
                        logprob: l.logprob,
                    });
                }
                Ok(GenerationEvent::ToolCall(made)) => call = Some(made.clone()),
                Ok(GenerationEvent::MalformedToolCall { text: written, .. }) => {
                    // Kept in the content, so the model sees what it wrote.
                    answer.push_str(written);
                }
                Ok(GenerationEvent::Finished { reason, stats }) => {
                    outcome = Some((reason.clone(), stats.clone()))
                }
                Err(error) => {
                    outcome = Some((
                        FinishReason::Other(format!("error: {error}")),
                        GenerationStats::default(),
                    ))
                }
            }
            if sender.send(event).await.is_err() {
                break;
            }
            // Counted only once handed over, so the saved answer is exactly
            // what the reader got (see `ChatStream::close_and_drain`).
            if let Some(text) = text {
                answer.push_str(&text);
                deltas += 1;
            }
            calls.extend(call);
            tokens.extend(token);
        }
        // Dropping the generation now cancels it if it is still running.
        drop(generation);
        let (reason, stats) = outcome.unwrap_or_else(|| {
            (
                FinishReason::Canceled,
                GenerationStats {
                    completion_tokens: deltas,
                    ..Default::default()
                },
            )
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
                decode_tokens_per_second: (stats.decode_tokens_per_second > 0.0)
                    .then_some(stats.decode_tokens_per_second),
            },
            sources: self.sources,
            tool_calls: crate::events::tool_calls_json(&calls),
            tool_call_id: None,
        };
        let trust = self.trust;
        let saved_signal = self.saved;
        let session_id = self.session_id;
        let request = self.request_messages;
        // Only a whole answer teaches: a stopped or failed one is not kept.
        let whole = matches!(
            reason,
            FinishReason::Stop | FinishReason::Length | FinishReason::ToolCalls
        );
        let recording = self.recording.filter(|_| whole);
        let saved = tokio::task::spawn_blocking(move || {
            let store = trust.store();
            let message_id = store.record_exchange(&session_id, &request, &answer)?;
            // The exchange is saved either way; a training record that
            // could not be kept is the owner's to see, not the client's.
            let learnable = recording.is_some_and(|recording| {
                let model = answer.stats.model.clone().unwrap_or_default();
                let kept = record_turn(
                    store,
                    recording,
                    &session_id,
                    message_id,
                    &model,
                    &answer.content,
                    tokens,
                );
                trust.problems().track(Area::Recording, &kept);
                kept.is_ok()
            });
            Ok::<_, pincer_store::StoreError>(Saved {
                message_id: Some(message_id),
                learnable,
                problem: None,
            })
        })
        .await;
        let saved = match saved {
            Ok(Ok(saved)) => saved,
            Ok(Err(error)) => {
                tracing::error!(%error, "could not record a chat exchange");
                Saved {
                    problem: Some(error.to_string()),
                    ..Saved::default()
                }
            }
            Err(join) => {
                tracing::error!(%join, "recording a chat exchange panicked");
                Saved {
                    problem: Some(format!("saving the exchange failed ({join})")),
                    ..Saved::default()
                }
            }
        };
        // The judge may start once the exchange is saved, not before.
        drop(self._chatting);
        let _ = saved_signal.send(saved);
    }
}
