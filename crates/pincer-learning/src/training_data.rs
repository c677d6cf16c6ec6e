//! The owner's view of the learning records: consent per source, counts,
//! each record with its provenance, export as JSON lines, deletion, and
//! feedback on an answer. One implementation behind the UI, the control API
//! and `pincer data`, and every change lands in the audit chain.

use crate::{LearningError, Result};
use pincer_store::{purpose, Consent, Store, Trajectory};
use pincer_training::judge;
use pincer_trust::{Action, Actor, Trust};
use serde_json::Value;
use std::sync::Arc;

use crate::view::*;

/// The app's own chat, as a consent source.
pub const APP_SOURCE: &str = "app";

/// The consent source of a gateway client known by `name` (its
/// `x-client-name`, else its User-Agent's product): `client:<name>`.
pub fn client_source(name: &str) -> String {
    let clean: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-/".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let clean = clean.trim_matches('-');
    format!(
        "client:{}",
        if clean.is_empty() { "unnamed" } else { clean }
    )
}

const MAX_EDIT_CHARS: usize = 100_000;

/// Checks a consent source's shape.
fn checked_source(source: &str) -> Result<&str> {
    let source = source.trim();
    let valid = source == APP_SOURCE
        || source
            .strip_prefix("client:")
            .is_some_and(|n| !n.is_empty() && n.len() <= 64)
        || source
            .strip_prefix("session:")
            .is_some_and(|n| !n.is_empty() && n.len() <= 200);
    if !valid {
        return Err(LearningError::InvalidInput(format!(
            "{source:?} is not a consent source; use `app` (the app's chat), `client:<name>` (a gateway client) or `session:<id>` (one chat)"
        )));
    }
    Ok(source)
}

fn checked_purpose(purpose: Option<&str>) -> Result<&'static str> {
    match purpose.unwrap_or(purpose::TRAINING) {
        purpose::TRAINING => Ok(purpose::TRAINING),
        purpose::CLOUD_JUDGE => Ok(purpose::CLOUD_JUDGE),
        other => Err(LearningError::InvalidInput(format!(
            "{other:?} is not a consent purpose; use `training` or `cloud-judge`"
        ))),
    }
}

fn checked_id(id: f64) -> Result<i64> {
    if id.fract() != 0.0 || !(1.0..9.0e15).contains(&id) {
        return Err(LearningError::InvalidInput(format!(
            "{id} is not a record id"
        )));
    }
    Ok(id as i64)
}

/// The stored prompt's messages.
pub(crate) fn prompt_messages(trajectory: &Trajectory) -> Vec<judge::Message> {
    serde_json::from_value(
        trajectory
            .turn
            .prompt
            .get("messages")
            .cloned()
            .unwrap_or_default(),
    )
    .unwrap_or_default()
}

fn record_messages(messages: Vec<judge::Message>) -> Vec<RecordMessage> {
    messages
        .into_iter()
        .map(|m| RecordMessage {
            role: m.role,
            content: m.content,
        })
        .collect()
}

fn summary(t: &Trajectory) -> TrajectorySummary {
    TrajectorySummary {
        id: t.id as f64,
        source: t.turn.source.clone(),
        session_id: t.turn.session_id.clone(),
        created_at: t.created_at_ms as f64 / 1000.0,
        answer: t.turn.response.chars().take(200).collect(),
        next_kind: t.next_kind.clone(),
        score: t.judgment.as_ref().map(|j| i32::from(j.score)),
        hint: t.judgment.as_ref().and_then(|j| j.hint.clone()),
        feedback: t.feedback.clone(),
    }
}

/// Serialises the two writers of a verdict: the judge (read the feedback,
/// decide, store) and feedback (store it, rescore a judged turn), so
/// feedback given while the judge samples is never lost.
pub(crate) type VerdictLock = Arc<std::sync::Mutex<()>>;

/// The learning records' operations, for a surface (`ui`, `cli`, `api`).
#[derive(Clone)]
pub struct TrainingData {
    store: Arc<Store>,
    trust: Arc<Trust>,
    by: &'static str,
    judge_samples: u32,
    verdicts: VerdictLock,
}

impl TrainingData {
    /// The operations as `by` does them, with `judge_samples` per turn
    /// shown in the overview. A process that runs no judge (the CLI) uses
    /// this alone; [`crate::Learning::training_data`] shares its judge's
    /// verdict lock.
    pub fn new(store: Arc<Store>, trust: Arc<Trust>, by: &'static str, judge_samples: u32) -> Self {
        Self {
            store,
            trust,
            by,
            judge_samples,
            verdicts: VerdictLock::default(),
        }
    }

    /// Serialises verdicts with this judge's.
    pub(crate) fn sharing_verdicts(self, verdicts: VerdictLock) -> Self {
        Self { verdicts, ..self }
    }

    fn audit(&self, action: Action, target: &str, decision: &str, details: Value) -> Result<()> {
        self.trust
            .record(Actor::Owner, action, target, decision, details)?;
        Ok(())
    }

    /// Gives or withdraws consent; a withdrawal keeps the source's records
    /// out of every later training set at once.
    pub fn set_consent(&self, request: SetConsent) -> Result<ConsentView> {
        let source = checked_source(&request.source)?;
        let purpose = checked_purpose(request.purpose.as_deref())?;
        let consent = self
            .store
            .set_consent(source, purpose, request.granted, self.by)?;
        let decision = if request.granted {
            "granted"
        } else {
            "withdrawn"
        };
        self.audit(
            Action::LearningConsent,
            source,
            decision,
            serde_json::json!({"purpose": purpose, "by": self.by, "consent_id": consent.id}),
        )?;
        Ok(consent.into())
    }

    /// Counts per source, the consent ledger, and whether the owner was asked.
    pub fn overview(&self) -> Result<DataOverview> {
        let consents = self.store.consents()?;
        let training = |source: &str| {
            consents
                .iter()
                .find(|c| c.source == source && c.purpose == purpose::TRAINING)
                .map(|c| c.granted)
        };
        let stats = self.store.trajectory_stats()?;
        let mut sources: Vec<SourceData> = stats
            .iter()
            .map(|s| {
                let n = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
                SourceData {
                    source: s.source.clone(),
                    training: training(&s.source),
                    total: n(s.total),
                    judged: n(s.judged),
                    positive: n(s.positive),
                    neutral: n(s.neutral),
                    negative: n(s.negative),
                    hinted: n(s.hinted),
                    waiting: n(s.waiting),
                }
            })
            .collect();
        for consent in consents
            .iter()
            .filter(|c| c.purpose == purpose::TRAINING && !c.source.starts_with("session:"))
        {
            if !sources.iter().any(|s| s.source == consent.source) {
                sources.push(SourceData {
                    source: consent.source.clone(),
                    training: Some(consent.granted),
                    ..Default::default()
                });
            }
        }
        sources.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(DataOverview {
            sources,
            asked: training(APP_SOURCE).is_some(),
            consents: consents.into_iter().map(ConsentView::from).collect(),
            judge_samples: self.judge_samples,
        })
    }

    /// Records, newest first.
    pub fn list(&self, query: TrajectoryQuery) -> Result<Vec<TrajectorySummary>> {
        let limit = i64::from(query.limit.unwrap_or(100).clamp(1, 10_000));
        Ok(self
            .store
            .trajectories(query.source.as_deref(), limit)?
            .iter()
            .map(summary)
            .collect())
    }

    /// One record with its provenance.
    pub fn open(&self, id: f64) -> Result<TrajectoryView> {
        let t = self.store.trajectory(checked_id(id)?)?;
        let consent = self.store.consent(t.consent_id)?.map(ConsentView::from);
        let prompt = prompt_messages(&t);
        let hint = t.judgment.as_ref().and_then(|j| j.hint.clone());
        let logprobs: Vec<f64> = t
            .turn
            .tokens
            .iter()
            .map(|token| f64::from(token.logprob))
            .collect();
        Ok(TrajectoryView {
            summary: summary(&t),
            teacher: hint.map(|hint| record_messages(judge::teacher_messages(&prompt, &hint))),
            prompt: record_messages(prompt),
            response: t.turn.response.clone(),
            model: t.turn.model.clone(),
            soul_sha256: t.turn.soul_sha256.clone(),
            tokens: logprobs.len() as u32,
            mean_logprob: (!logprobs.is_empty())
                .then(|| logprobs.iter().sum::<f64>() / logprobs.len() as f64),
            next_text: t.next_text.clone(),
            edited_answer: t.edited_answer.clone(),
            consent,
            judge: t.judgment.as_ref().map(|j| j.judge.clone()),
            votes: t
                .judgment
                .map(|j| {
                    j.votes
                        .into_iter()
                        .map(|v| VoteView {
                            score: i32::from(v.score),
                            reasoning: v.reasoning,
                            hint: v.hint,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Deletes one record or a source's; audited with how many went.
    pub fn delete(&self, request: DeleteTrainingData) -> Result<u32> {
        let (id, source) = match (request.id, request.source.as_deref()) {
            (Some(id), None) => (Some(checked_id(id)?), None),
            (None, Some(source)) => (None, Some(checked_source(source)?)),
            _ => {
                return Err(LearningError::InvalidInput(
                    "name either one record (`id`) or one source (`source`) to delete".into(),
                ))
            }
        };
        if let Some(id) = id {
            self.store.trajectory(id)?;
        }
        let removed = self.store.delete_trajectories(id, source)?;
        let target = id.map_or_else(
            || source.unwrap_or_default().to_string(),
            |id| format!("trajectory:{id}"),
        );
        self.audit(
            Action::LearningDelete,
            &target,
            "done",
            serde_json::json!({"removed": removed, "by": self.by}),
        )?;
        // Deleted text leaves no copy in the write-ahead log.
        self.store.flush_wal()?;
        Ok(removed as u32)
    }

    /// Every record (of one source, or all) as JSON lines, each with the
    /// consent it was taken under and, when hinted, its teacher context.
    pub fn export(&self, source: Option<&str>) -> Result<String> {
        let source = source.map(checked_source).transpose()?;
        let consents: std::collections::HashMap<i64, Consent> = self
            .store
            .consent_ledger()?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut records = self.store.trajectories(source, i64::MAX)?;
        records.reverse();
        let mut out = String::new();
        for t in &records {
            let hint = t.judgment.as_ref().and_then(|j| j.hint.clone());
            let teacher = hint.map(|h| judge::teacher_messages(&prompt_messages(t), &h));
            let mut line =
                serde_json::to_value(t).map_err(|e| LearningError::InvalidInput(e.to_string()))?;
            line["consent"] = serde_json::json!(consents.get(&t.consent_id));
            line["teacher"] = serde_json::json!(teacher);
            out.push_str(&line.to_string());
            out.push('\n');
        }
        self.audit(
            Action::LearningExport,
            source.unwrap_or("all sources"),
            "done",
            serde_json::json!({"records": records.len(), "by": self.by}),
        )?;
        Ok(out)
    }

    /// Thumbs or an edit on a saved answer. It overrides the judge's vote,
    /// now or when the judge gets to it. An answer that is not a training
    /// record (consent was off) is refused with what to do.
    pub fn feedback(&self, request: GiveFeedback) -> Result<TrajectorySummary> {
        let edited = match request.feedback.as_str() {
            "up" | "down" => None,
            "edit" => {
                let text = request
                    .edited_answer
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default();
                if text.is_empty() || text.chars().count() > MAX_EDIT_CHARS {
                    return Err(LearningError::InvalidInput(format!(
                        "an edited answer needs 1 to {MAX_EDIT_CHARS} characters"
                    )));
                }
                Some(text.to_string())
            }
            other => {
                return Err(LearningError::InvalidInput(format!(
                    "{other:?} is not feedback; use `up`, `down` or `edit`"
                )))
            }
        };
        let message_id = checked_id(request.message_id)?;
        let Some(turn) = self.store.trajectory_for_message(message_id)? else {
            return Err(LearningError::InvalidInput(
                "this answer is not a training record: training data was off for its chat. Turn it on in Training data to let feedback teach Pincer".into(),
            ));
        };
        {
            let _verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
            let updated = self
                .store
                .set_feedback(turn.id, &request.feedback, edited.as_deref())?;
            if let Some(judged) = &updated.judgment {
                let again = judge::decide(
                    judged.votes.clone(),
                    Some(&request.feedback),
                    edited.as_deref(),
                    &judged.judge,
                );
                self.store.rescore(turn.id, &again)?;
            }
        }
        self.audit(
            Action::LearningFeedback,
            &format!("trajectory:{}", turn.id),
            &request.feedback,
            serde_json::json!({"by": self.by}),
        )?;
        Ok(summary(&self.store.trajectory(turn.id)?))
    }
}
