//! "Train tonight while charging": the owner arms a round; it starts in
//! the window (01:00–06:00 local by default) once the machine is on
//! external power, the owner has been away for a while, enough new
//! consented turns are judged and the agent is not halted. A scheduled
//! round pauses in its checkpoint when any of these stops holding
//! (checked before every example) and resumes when they hold again.

use crate::status::{AdapterView, ConditionCheck, RoundSummary, TrainingSchedule, TrainingStatus};
use crate::{blocking, Learning, LearningError, Result, TrainOptions};
use pincer_schedule::TimeWindow;
use pincer_trust::problems::Area;
use pincer_trust::{Action, Actor};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the schedule looks at its conditions while armed.
const TICK: Duration = Duration::from_secs(30);

impl Learning {
    /// The owner did something (a chat turn): idleness counts from now, and
    /// a scheduled round gives way.
    pub fn note_owner_activity(&self) {
        *self
            .inner
            .training
            .last_activity
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// How long the owner has been away, and in words why: the time since
    /// their last chat turn (or since start) and, where the desktop reports
    /// it, since their last keyboard or pointer input anywhere; the
    /// shorter counts, so typing in another program keeps a round waiting.
    pub fn owner_idle(&self) -> (Duration, String) {
        let chat = self
            .inner
            .training
            .last_activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed();
        let minutes = |d: Duration| d.as_secs_f64() / 60.0;
        let input = self.inner.training.idle.read();
        match input.idle {
            Some(input_idle) => (
                chat.min(input_idle),
                format!(
                    "no input for {:.1} min ({}), no chat for {:.1} min",
                    minutes(input_idle),
                    input.detail,
                    minutes(chat)
                ),
            ),
            None => (
                chat,
                format!("no chat for {:.1} min ({})", minutes(chat), input.detail),
            ),
        }
    }

    /// The trainer's settings and the gate's bounds for later rounds.
    pub fn set_training_options(&self, options: TrainOptions) {
        *self
            .inner
            .training
            .options
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = options;
    }

    /// The options a round starts with: those set for this app, with the
    /// owner's `trainer` settings from settings.json applied.
    fn training_options(&self) -> Result<TrainOptions> {
        let options = self
            .inner
            .training
            .options
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.settings().trainer.apply(options)
    }

    /// Every round's end (promoted, rejected and why, paused, failed), for
    /// the shells' notifications.
    pub fn training_ends(&self) -> tokio::sync::broadcast::Receiver<RoundSummary> {
        self.inner.training.ends.subscribe()
    }

    /// Arms (or, with `armed` false, disarms) the unattended round and
    /// keeps its window and thresholds in settings.json.
    pub async fn set_training_schedule(
        &self,
        schedule: TrainingSchedule,
    ) -> Result<TrainingStatus> {
        let window: TimeWindow =
            schedule
                .window
                .parse()
                .map_err(|e: pincer_schedule::ScheduleError| {
                    LearningError::InvalidInput(e.to_string())
                })?;
        if schedule.min_new_records == 0 {
            return Err(LearningError::InvalidInput(
                "a round needs at least 1 new judged turn; set minNewRecords to 1 or more".into(),
            ));
        }
        let schedule = TrainingSchedule {
            window: window.to_string(),
            ..schedule
        };
        let saved = schedule.clone();
        self.update_settings(move |s| s.training = saved).await?;
        self.inner.trust.record(
            Actor::Owner,
            if schedule.armed {
                Action::TrainingArm
            } else {
                Action::TrainingDisarm
            },
            "schedule",
            "done",
            serde_json::to_value(&schedule).unwrap_or_default(),
        )?;
        self.training_status().await
    }

    /// What the Training pane shows: phase, conditions checked now, the
    /// data ready, progress, the last round and the serving adapter.
    pub async fn training_status(&self) -> Result<TrainingStatus> {
        let schedule = self.settings().training;
        let store = self.store().clone();
        let (ready, new) = blocking(move || Ok(store.training_ready()?)).await?;
        let serving = self.store().serving_adapter()?.map(AdapterView::from);
        let round_waiting = self.round_waiting();
        let conditions = self.conditions(&schedule, new, round_waiting);
        let next_window = schedule.armed.then(|| {
            schedule
                .window
                .parse::<TimeWindow>()
                .unwrap_or_default()
                .next_open(&chrono::Local::now())
                .to_rfc3339()
        });
        let live = self.inner.training.live();
        Ok(TrainingStatus {
            phase: live.phase,
            schedule,
            conditions,
            next_window,
            ready_records: ready as u32,
            new_records: new as u32,
            round_waiting,
            progress: live.progress.clone(),
            last: live.last.clone(),
            sleep_hold: live.sleep_hold.clone(),
            serving,
        })
    }

    /// Every adapter version, newest first, as the history list shows it.
    pub async fn adapter_history(&self) -> Result<Vec<AdapterView>> {
        Ok(self
            .adapter_versions()
            .await?
            .into_iter()
            .map(AdapterView::from)
            .collect())
    }

    /// "Train now": checks that a round can start, then runs it in the
    /// background (the pane follows it through [`Learning::training_status`]).
    pub async fn start_training(&self) -> Result<TrainingStatus> {
        if self.inner.training.running.load(Ordering::SeqCst) {
            return Err(LearningError::Unavailable(
                "a training round is already running; wait for it or pause it".into(),
            ));
        }
        if self.closing() {
            return Err(LearningError::Closing);
        }
        if self.is_halted() {
            return Err(LearningError::Halted);
        }
        let options = self.training_options()?;
        if !self.round_waiting() {
            let store = self.store().clone();
            let (ready, _) = blocking(move || Ok(store.training_ready()?)).await?;
            if (ready as usize) < options.min_records {
                return Err(crate::inputs::too_few_turns(
                    ready as usize,
                    options.min_records,
                ));
            }
        }
        self.spawn_round(options, false);
        self.training_status().await
    }

    fn spawn_round(&self, options: TrainOptions, scheduled: bool) {
        // Marked at once, so the status the caller reads next shows it.
        self.inner.training.live().phase = crate::status::TrainingPhase::Preparing;
        let learning = self.clone();
        tokio::spawn(async move {
            let ran = learning.run_round(options, scheduled).await;
            learning.inner.trust.problems().track(Area::Training, &ran);
        });
    }

    /// Looks at the schedule once: starts (or resumes) the armed round in
    /// the background when every condition holds. Returns whether it did.
    /// [`Learning::start_training_schedule`] calls it every 30 s.
    pub async fn training_tick(&self) -> Result<bool> {
        let schedule = self.settings().training;
        if !schedule.armed || self.inner.training.running.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let store = self.store().clone();
        let (_, new) = blocking(move || Ok(store.training_ready()?)).await?;
        let checks = self.conditions(&schedule, new, self.round_waiting());
        if checks.iter().any(|c| !c.ok) {
            return Ok(false);
        }
        self.spawn_round(self.training_options()?, true);
        Ok(true)
    }

    /// Starts the schedule's loop once (the shells call this). It holds no
    /// reference that keeps the app alive.
    pub fn start_training_schedule(&self) {
        if self
            .inner
            .training
            .schedule_started
            .swap(true, Ordering::SeqCst)
        {
            return;
        }
        let learning = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                let Some(inner) = learning.upgrade() else {
                    return;
                };
                let learning = Learning { inner };
                if let Err(error) = learning.training_tick().await {
                    let error = format!("the schedule could not check its conditions: {error}");
                    learning
                        .inner
                        .trust
                        .problems()
                        .report(Area::Training, &error);
                }
            }
        });
    }

    /// A scheduled round that ended (not paused) used up the arming.
    pub(crate) async fn disarm_after(&self, end: &RoundSummary) {
        if !end.scheduled || end.paused {
            return;
        }
        let result = self.update_settings(|s| s.training.armed = false).await;
        if let Err(error) = result {
            let error = format!("the schedule could not be disarmed after its round: {error}");
            self.inner.trust.problems().report(Area::Training, &error);
        }
    }

    fn round_waiting(&self) -> bool {
        pincer_training::pipeline::Round::exists(&self.data_dir().join("training").join("round"))
    }

    /// Why a running round should stop now, if it should: the owner's
    /// pause or a halt always; for a scheduled round also the power, the
    /// owner's return and the window.
    pub(crate) fn pause_reason(&self, scheduled: bool) -> Option<String> {
        if self.inner.training.pause.load(Ordering::SeqCst) {
            return Some("the owner paused it".into());
        }
        if self.closing() {
            return Some("Pincer is shutting down".into());
        }
        if self.is_halted() {
            return Some("the agent is halted".into());
        }
        if !scheduled {
            return None;
        }
        let schedule = self.settings().training;
        self.conditions(&schedule, i64::MAX, true)
            .into_iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
    }

    /// Whether the loaded model can train: mistral.rs serves adapters only
    /// on safetensors Qwen3 folders.
    fn model_check(&self) -> ConditionCheck {
        let (ok, detail) = match self.engine() {
            None => (false, "no model is loaded; load one in Models".to_string()),
            Some(engine) => match engine.source() {
                pincer_inference::ModelSource::Safetensors { dir, .. } => {
                    (true, format!("{} (safetensors folder)", dir.display()))
                }
                pincer_inference::ModelSource::Gguf { path, .. } => (
                    false,
                    format!(
                        "{} is a GGUF file; adapters serve only on a model's safetensors folder, so load that in Models",
                        path.display()
                    ),
                ),
            },
        };
        ConditionCheck {
            name: "model".into(),
            ok,
            detail,
        }
    }

    /// The schedule's conditions, read now.
    fn conditions(
        &self,
        schedule: &TrainingSchedule,
        new_records: i64,
        round_waiting: bool,
    ) -> Vec<ConditionCheck> {
        let check = |name: &str, ok: bool, detail: String| ConditionCheck {
            name: name.into(),
            ok,
            detail,
        };
        let window = schedule.window.parse::<TimeWindow>().unwrap_or_default();
        let now = chrono::Local::now();
        let power = self.inner.training.power.read();
        let (idle, away) = self.owner_idle();
        let needed = Duration::from_secs(u64::from(schedule.min_idle_minutes) * 60);
        vec![
            check(
                "window",
                window.contains(now.time()),
                format!(
                    "{} now; the window is {window} local time",
                    now.format("%H:%M")
                ),
            ),
            check("power", power.external, power.detail),
            check(
                "idle",
                idle >= needed,
                format!("{away}; needs {}", schedule.min_idle_minutes),
            ),
            if round_waiting {
                check("records", true, "a paused round waits to resume".into())
            } else {
                check(
                    "records",
                    new_records >= i64::from(schedule.min_new_records),
                    format!(
                        "{new_records} new judged turns; needs {}",
                        schedule.min_new_records
                    ),
                )
            },
            self.model_check(),
            check(
                "agent",
                !self.is_halted(),
                if self.is_halted() {
                    "halted"
                } else {
                    "running"
                }
                .into(),
            ),
        ]
    }
}
