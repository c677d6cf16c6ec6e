//! The background judge: scores each consented turn that has a next state,
//! by majority over `m` samples of a local model (pincer-training's judge).
//! It runs only while nobody is chatting, gives way the moment a chat
//! starts (its sample is dropped and taken again later), and keeps its
//! queue in the database, so a restart resumes without judging a turn twice.

use crate::training_data::prompt_messages;
use crate::{blocking, Learning, LearningError, Result};
use futures::StreamExt;
use pincer_inference::{
    ChatMessage, Engine, GenerationEvent, GenerationParams, GenerationRequest, InferenceError,
    ModelSource, Role,
};
use pincer_store::{Judgment, Trajectory, Vote};
use pincer_training::judge;
use pincer_trust::problems::Area;
use pincer_trust::{Action, Actor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Tokens a judge sample may take (three short lines).
const JUDGE_MAX_TOKENS: usize = 128;
/// Sampling temperature of the judge's independent samples.
const JUDGE_TEMPERATURE: f64 = 0.7;
/// How often an idle judge looks at its queue without being woken.
const IDLE_RECHECK: Duration = Duration::from_secs(300);
/// How long after an answer the background judge leaves the engine alone:
/// an owner who replies within it never waits behind a judge sample (on a
/// CPU, one judge prompt's prefill takes seconds).
const QUIET_AFTER_CHAT: Duration = Duration::from_secs(15);

/// The judge's switches, shared by chats (which make it give way) and the
/// worker.
#[derive(Debug, Default)]
pub(crate) struct Judging {
    wake: Notify,
    chat_began: Notify,
    chatting: AtomicUsize,
    started: AtomicBool,
    last_chat_ended: std::sync::Mutex<Option<std::time::Instant>>,
    pass: tokio::sync::Mutex<()>,
    pub(crate) verdicts: crate::training_data::VerdictLock,
    engine: tokio::sync::Mutex<Option<(PathBuf, Arc<Engine>)>>,
}

/// Held while a chat turn runs; the judge waits until none is held.
#[must_use = "the judge waits only while this is held"]
pub struct ChatInProgress(Arc<Judging>);

impl Drop for ChatInProgress {
    fn drop(&mut self) {
        *self
            .0
            .last_chat_ended
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        if self.0.chatting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.wake.notify_one();
        }
    }
}

impl Judging {
    /// There may be work: a next state or feedback arrived.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// A chat turn starts: a running judge sample is dropped at once.
    pub(crate) fn chat_started(self: &Arc<Self>) -> ChatInProgress {
        self.chatting.fetch_add(1, Ordering::SeqCst);
        self.chat_began.notify_waiters();
        ChatInProgress(Arc::clone(self))
    }

    /// The owner halted the agent: a running judge sample stops now.
    pub(crate) fn interrupt(&self) {
        self.chat_began.notify_waiters();
    }

    /// How much longer the background judge should wait after the last answer.
    fn quiet_left(&self) -> Option<Duration> {
        let ended = (*self
            .last_chat_ended
            .lock()
            .unwrap_or_else(|e| e.into_inner()))?;
        QUIET_AFTER_CHAT
            .checked_sub(ended.elapsed())
            .filter(|left| !left.is_zero())
    }

    fn chatting(&self) -> bool {
        self.chatting.load(Ordering::SeqCst) > 0
    }
}

fn role(name: &str) -> Role {
    match name {
        "system" => Role::System,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        _ => Role::User,
    }
}

impl Learning {
    /// Samples the judge takes per turn (`judgeSamples` in settings.json, 1–9).
    pub(crate) fn judge_samples(&self) -> u32 {
        self.settings().samples()
    }

    /// Starts the background judge once (the shells call this; tests call
    /// [`Learning::judge_pending`] instead). It waits 15 s after each answer
    /// (`QUIET_AFTER_CHAT`), and holds no reference that keeps the app alive.
    pub fn start_judging(&self) {
        let judging = Arc::clone(&self.inner.judging);
        if judging.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let learning = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                while let Some(left) = judging.quiet_left() {
                    tokio::time::sleep(left).await;
                }
                let Some(inner) = learning.upgrade() else {
                    return;
                };
                let learning = Learning { inner };
                // Kept for the owner until a later pass judges again.
                let judged = learning.judge_pending(usize::MAX).await;
                learning.inner.trust.problems().track(Area::Judge, &judged);
                drop(learning);
                tokio::select! {
                    _ = judging.wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_RECHECK) => {}
                }
            }
        });
    }

    /// Judges up to `limit` waiting turns, oldest first, while nobody is
    /// chatting; returns how many were judged. Stops early (without error)
    /// when a chat starts, the agent is halted or no model is loaded.
    pub async fn judge_pending(&self, limit: usize) -> Result<usize> {
        let _pass = self.inner.judging.pass.lock().await;
        let mut judged = 0;
        while judged < limit {
            if !self.judge_may_run() {
                break;
            }
            let store = self.store().clone();
            let Some(turn) = blocking(move || Ok(store.trajectories_to_judge(1)?.pop())).await?
            else {
                break;
            };
            match self.judge_turn(&turn).await? {
                Some(_) => judged += 1,
                None => break,
            }
        }
        Ok(judged)
    }

    fn judge_may_run(&self) -> bool {
        !self.is_halted() && !self.inner.judging.chatting() && self.engine().is_some()
    }

    /// The engine that judges: the model named by `judgeModel` in
    /// settings.json (loaded once, beside the serving one), else the
    /// serving model.
    async fn judge_engine(&self) -> Result<Arc<Engine>> {
        let Some(path) = self.settings().judge_model else {
            return self.engine().ok_or(LearningError::NoModel);
        };
        let mut cached = self.inner.judging.engine.lock().await;
        if let Some((loaded, engine)) = cached.as_ref() {
            if *loaded == path {
                return Ok(Arc::clone(engine));
            }
        }
        let checked = path.clone();
        let source = blocking(move || Ok(ModelSource::inspect(&checked)?)).await?;
        let engine = Arc::new(Engine::load(source, self.inner.engine_options.clone()).await?);
        *cached = Some((path, Arc::clone(&engine)));
        Ok(engine)
    }

    /// Takes the samples for one turn and stores the verdict; `None` when
    /// it gave way to a chat (the turn stays queued).
    async fn judge_turn(&self, turn: &Trajectory) -> Result<Option<Judgment>> {
        let engine = self.judge_engine().await?;
        let context = prompt_messages(turn);
        let next_kind = turn.next_kind.clone().unwrap_or_default();
        let next_text = turn.next_text.clone().unwrap_or_default();
        let asked = judge::prompt(&judge::Turn {
            context: &context,
            answer: &turn.turn.response,
            next_kind: &next_kind,
            next_text: &next_text,
        });
        let messages: Vec<ChatMessage> = asked
            .into_iter()
            .map(|m| ChatMessage {
                role: role(&m.role),
                content: m.content,
                ..Default::default()
            })
            .collect();
        let mut votes = Vec::new();
        for sample in 0..u64::from(self.judge_samples()) {
            let request = GenerationRequest {
                messages: messages.clone(),
                params: GenerationParams {
                    max_tokens: Some(JUDGE_MAX_TOKENS),
                    temperature: Some(JUDGE_TEMPERATURE),
                    top_p: Some(0.95),
                    // Independent samples, the same ones on every run.
                    seed: Some((turn.id as u64).wrapping_mul(1_000).wrapping_add(sample)),
                    ..Default::default()
                },
            };
            match self.judge_sample(&engine, request).await {
                Ok(Some(answer)) => votes.push(judge::parse(&answer)),
                Ok(None) => return Ok(None),
                // A turn the judge model cannot take (its prompt does not
                // fit) is a 0 vote, so it never blocks the queue.
                Err(LearningError::Inference(InferenceError::InvalidRequest(why))) => {
                    votes.push(Vote {
                        score: 0,
                        reasoning: format!("the judge could not take this turn: {why}"),
                        hint: None,
                    })
                }
                Err(error) => return Err(error),
            }
        }
        let store = self.store().clone();
        let verdicts = self.inner.judging.verdicts.clone();
        let (id, judge_name) = (turn.id, engine.id().to_string());
        // Feedback may have come while the samples ran: decide on the
        // turn as it is now, under the lock feedback takes too.
        let (stored, judgment) = blocking(move || {
            let _verdicts = verdicts.lock().unwrap_or_else(|e| e.into_inner());
            let (feedback, edited) = match store.trajectory(id) {
                Ok(now) => (now.feedback, now.edited_answer),
                // Deleted while it was being judged: nothing to store.
                Err(pincer_store::StoreError::NotFound { .. }) => (None, None),
                Err(error) => return Err(error.into()),
            };
            let judgment =
                judge::decide(votes, feedback.as_deref(), edited.as_deref(), &judge_name);
            Ok((store.record_judgment(id, &judgment)?, judgment))
        })
        .await?;
        if stored {
            self.inner.trust.record(
                Actor::Judge,
                Action::LearningJudge,
                &format!("trajectory:{id}"),
                &format!("{:+}", judgment.score),
                serde_json::json!({"samples": judgment.votes.len(), "hint": judgment.hint.is_some(), "judge": judgment.judge, "source": turn.turn.source}),
            )?;
        }
        Ok(Some(judgment))
    }

    /// One judge sample's text; `None` when it gave way to a chat (the
    /// sample is dropped, which cancels it) or the engine was full.
    async fn judge_sample(
        &self,
        engine: &Engine,
        request: GenerationRequest,
    ) -> Result<Option<String>> {
        let judging = &self.inner.judging;
        let began = judging.chat_began.notified();
        tokio::pin!(began);
        began.as_mut().enable();
        if !self.judge_may_run() {
            return Ok(None);
        }
        let mut stream = match engine.try_generate(request) {
            Ok(stream) => stream,
            Err(InferenceError::Busy { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut answer = String::new();
        loop {
            let event = tokio::select! {
                _ = &mut began => return Ok(None),
                event = stream.next() => event,
            };
            match event {
                Some(Ok(GenerationEvent::Delta { text, .. })) => answer.push_str(&text),
                Some(Ok(GenerationEvent::Finished { .. })) | None => return Ok(Some(answer)),
                // The judge is offered no tools.
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
            }
        }
    }
}
