//! Everyday use as a learning signal: with the owner's consent, each main
//! assistant turn is kept as a trajectory (its full prompt, the answer and
//! its token log-probabilities), and the next request in the session
//! supplies the next state the judge scores it by.

use crate::training_data::TrainingData;
use crate::view::{
    DataOverview, DeleteTrainingData, GiveFeedback, SetConsent, TrajectoryQuery, TrajectorySummary,
    TrajectoryView,
};
use crate::{blocking, Learning, Result};
use pincer_inference::{ChatMessage, Role};
use pincer_store::{purpose, Consent, NewTrajectory, Store, TokenRecord};
use pincer_trust::problems::Area;

/// What a consented turn needs to be recorded once its answer is saved.
pub struct TurnRecording {
    /// The grant it is taken under.
    pub consent: Consent,
    /// Its consent source (`app`, `client:<name>`).
    pub source: String,
    /// SHA-256 of the soul text in its system prompt.
    pub soul_sha256: Option<String>,
    /// The prompt as the model saw it (system prompt included, secrets
    /// scrubbed).
    pub prompt: serde_json::Value,
    /// The adapter folder the engine served it with (the version trained
    /// on it can be told from the base's turns).
    pub adapter: Option<String>,
}

/// The next state a request carries for the answer before it: the owner's
/// reply, or the results of the tools it called (all of them, in order, in
/// the fence the agent gave them, so the judge too reads outside text as
/// data; an error when any of them failed).
fn next_state(messages: &[ChatMessage]) -> Option<(&'static str, String)> {
    let last = messages.last()?;
    match last.role {
        Role::User => Some(("user_reply", last.content.clone())),
        Role::Tool => {
            let results: Vec<&str> = messages
                .iter()
                .rev()
                .take_while(|m| m.role == Role::Tool)
                .map(|m| m.content.as_str())
                .collect();
            let failed = results.iter().any(|r| is_error(unwrapped(r)));
            let text = results.into_iter().rev().collect::<Vec<_>>().join("\n\n");
            Some((if failed { "tool_error" } else { "tool_result" }, text))
        }
        _ => None,
    }
}

/// A tool result inside the fence the agent puts around it for the model
/// (`<untrusted-data source="tool:…">`, `<skill>`), to see whether it failed.
fn unwrapped(content: &str) -> &str {
    let text = content.trim();
    for (open, close) in [("<untrusted-data", "</untrusted-data>"), ("<skill>", "</skill>")] {
        if let (true, Some(inner)) = (text.starts_with(open), text.strip_suffix(close)) {
            if let Some((_, body)) = inner.split_once('\n') {
                return body.trim();
            }
        }
    }
    text
}

/// Whether a tool's result says it failed.
fn is_error(result: &str) -> bool {
    let head = result.trim_start().to_ascii_lowercase();
    head.starts_with("error") || head.starts_with("{\"error\"") || head.starts_with("traceback")
}

/// Saves a finished turn as a trajectory; failures are logged, never
/// surfaced (the answer itself is saved already).
pub fn record_turn(
    store: &Store,
    recording: TurnRecording,
    session_id: &str,
    message_id: i64,
    model: &str,
    response: &str,
    tokens: Vec<TokenRecord>,
) -> pincer_store::Result<()> {
    let turn = NewTrajectory {
        session_id: session_id.to_string(),
        message_id: Some(message_id),
        source: recording.source,
        model: model.to_string(),
        adapter: recording.adapter,
        soul_sha256: recording.soul_sha256,
        prompt: recording.prompt,
        response: response.to_string(),
        tokens,
    };
    store.record_trajectory(&turn, &recording.consent)?;
    Ok(())
}

impl Learning {
    /// At the start of a main turn in `session_id`: hands the request's
    /// next state to the session's previous turn (and wakes the judge), and
    /// returns the grant this turn is recorded under, if training consent is
    /// in force for the session or, failing a decision there, for `source`.
    pub async fn begin_learning(
        &self,
        session_id: &str,
        source: &str,
        messages: &[ChatMessage],
    ) -> Option<Consent> {
        let store = self.store().clone();
        let session = session_id.to_string();
        let source = source.to_string();
        let next = next_state(messages);
        let found = blocking(move || {
            if let Some((kind, text)) = next {
                store.set_next_state(&session, kind, &text)?;
            }
            Ok(store.consent_for(&[&format!("session:{session}"), &source], purpose::TRAINING)?)
        })
        .await;
        self.inner.judging.wake();
        match found {
            Ok(consent) => consent.filter(|c| c.granted),
            Err(error) => {
                let error =
                    format!("could not read training consent, so this turn is not kept: {error}");
                self.inner.trust.problems().report(Area::Recording, &error);
                None
            }
        }
    }

    /// The learning records' operations, done by `by` (`ui`, `cli`, `api`).
    pub fn training_data(&self, by: &'static str) -> TrainingData {
        TrainingData::new(
            self.store().clone(),
            self.inner.trust.clone(),
            by,
            self.judge_samples(),
        )
        .sharing_verdicts(self.inner.judging.verdicts.clone())
    }

    /// Runs one of the UI's training-data operations off the async threads.
    async fn with_training_data<T: Send + 'static>(
        &self,
        work: impl FnOnce(&TrainingData) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let data = self.training_data("ui");
        blocking(move || work(&data)).await
    }

    /// The Training data pane's summary.
    pub async fn data_overview(&self) -> Result<DataOverview> {
        self.with_training_data(|data| data.overview()).await
    }

    /// Gives or withdraws consent for a source.
    pub async fn set_consent(&self, request: SetConsent) -> Result<DataOverview> {
        self.with_training_data(|data| {
            data.set_consent(request)?;
            data.overview()
        })
        .await
    }

    /// Records, newest first.
    pub async fn list_trajectories(
        &self,
        query: TrajectoryQuery,
    ) -> Result<Vec<TrajectorySummary>> {
        self.with_training_data(|data| data.list(query)).await
    }

    /// One record with its provenance.
    pub async fn open_trajectory(&self, id: f64) -> Result<TrajectoryView> {
        self.with_training_data(move |data| data.open(id)).await
    }

    /// Deletes a record or a source's records.
    pub async fn delete_training_data(&self, request: DeleteTrainingData) -> Result<u32> {
        self.with_training_data(|data| data.delete(request)).await
    }

    /// Thumbs or an edit on an answer in the chat.
    pub async fn give_feedback(&self, request: GiveFeedback) -> Result<TrajectorySummary> {
        let summary = self
            .with_training_data(|data| data.feedback(request))
            .await?;
        self.inner.judging.wake();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::next_state;
    use pincer_inference::{ChatMessage, Role};

    fn message(role: Role, content: &str) -> ChatMessage {
        ChatMessage {
            role,
            content: content.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_last_message_names_the_next_state() {
        assert_eq!(
            next_state(&[message(Role::User, "hi")]),
            Some(("user_reply", "hi".into()))
        );
        assert_eq!(
            next_state(&[message(Role::Tool, "{\"files\": 3}")]),
            Some(("tool_result", "{\"files\": 3}".into()))
        );
        assert_eq!(
            next_state(&[message(Role::Tool, "Error: no such file")]).map(|s| s.0),
            Some("tool_error")
        );
        assert_eq!(
            next_state(&[
                message(Role::User, "x"),
                message(Role::Assistant, "prefill")
            ]),
            None
        );
        assert_eq!(next_state(&[]), None);
    }

    #[test]
    fn the_agents_fenced_results_are_judged_inside_their_fence() {
        let fenced = |tool: &str, text: &str| {
            message(
                Role::Tool,
                &format!("<untrusted-data source=\"tool:{tool}\">\n{text}\n</untrusted-data>"),
            )
        };
        let ok = [
            message(Role::User, "read it"),
            message(Role::Assistant, ""),
            fenced("read_file", "{\"text\":\"the plan\"}"),
        ];
        let (kind, text) = next_state(&ok).unwrap();
        assert_eq!(kind, "tool_result");
        assert!(text.starts_with("<untrusted-data source=\"tool:read_file\">"), "kept fenced: {text}");
        // Two calls in one step: both results are the next state, and one
        // failure makes it an error.
        let mixed = [
            message(Role::Assistant, ""),
            fenced("read_file", "{\"text\":\"a\"}"),
            fenced("write_file", "{\"error\":\"the owner denied this call\"}"),
        ];
        let (kind, text) = next_state(&mixed).unwrap();
        assert_eq!(kind, "tool_error");
        assert_eq!(text.matches("<untrusted-data").count(), 2, "{text}");
        assert!(text.find("\"a\"") < text.find("owner denied"), "in order: {text}");
        let skill = [message(Role::Tool, "<skill>\n{\"skill\":\"x\"}\n</skill>")];
        assert_eq!(next_state(&skill).unwrap().0, "tool_result");
        let skill_error = [message(Role::Tool, "<skill>\n{\"error\":\"off\"}\n</skill>")];
        assert_eq!(next_state(&skill_error).unwrap().0, "tool_error");
    }
}
