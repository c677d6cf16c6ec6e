//! "Train tonight while charging" through the app: the real power reader
//! pointed at a fixture `/sys/class/power_supply` tree, real rounds on the
//! tiny safetensors model. An armed round waits for power, starts when the
//! laptop is plugged in, pauses in its checkpoint when it is unplugged
//! mid-run (and when the agent is halted), and finishes when power returns,
//! with every step done once. The owner's input idle time comes from a
//! fixture idle monitor on a private D-Bus bus.

use crate::training::{options, prefer_short_answers, start_with};
use candle_core::{DType, Device};
use pincer_app::ipc::{TrainingPhase, TrainingSchedule, TrainingStatus};
use pincer_app::App;
use pincer_training::qwen3::Qwen3;
use std::path::Path;
use std::time::{Duration, Instant};

fn laptop(root: &Path, plugged: bool) {
    for (name, fields) in [
        (
            "AC",
            vec![
                ("type", "Mains"),
                ("online", if plugged { "1" } else { "0" }),
            ],
        ),
        (
            "BAT0",
            vec![
                ("type", "Battery"),
                ("scope", "System"),
                ("status", if plugged { "Charging" } else { "Discharging" }),
            ],
        ),
    ] {
        std::fs::create_dir_all(root.join(name)).unwrap();
        for (field, value) in fields {
            std::fs::write(root.join(name).join(field), format!("{value}\n")).unwrap();
        }
    }
}

fn condition<'a>(status: &'a TrainingStatus, name: &str) -> &'a pincer_app::ipc::ConditionCheck {
    status
        .conditions
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} condition in {:?}", status.conditions))
}

/// Polls the status until `done` holds (the round runs on its own task).
async fn wait_for(app: &App, what: &str, done: impl Fn(&TrainingStatus) -> bool) -> TrainingStatus {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = app.learning().training_status().await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_armed_round_waits_for_power_pauses_on_unplug_and_resumes() {
    let data = tempfile::tempdir().unwrap();
    let power = tempfile::tempdir().unwrap();
    laptop(power.path(), false);
    // The desktop reports the owner's input idle time (GNOME's monitor, on
    // a bus of this test's own): an hour and a half without input.
    let bus = xtask::desktop::PrivateBus::start().unwrap();
    let monitor = xtask::desktop::IdleMonitor::serve(&bus, 90 * 60 * 1000).unwrap();
    let app = start_with(data.path(), Some(power.path()), Some(bus.address())).await;
    app.learning().set_training_options(options());
    let base = Qwen3::load(
        xtask::shared_tiny_model(),
        DType::F32,
        &Device::Cpu,
        None,
        0,
    )
    .unwrap();
    prefer_short_answers(&app, &base).await;

    let status = app.learning().training_status().await.unwrap();
    assert_eq!((status.ready_records, status.new_records), (30, 30));
    assert!(!status.schedule.armed && status.phase == TrainingPhase::Idle);
    let bad = app
        .learning()
        .set_training_schedule(TrainingSchedule {
            window: "tonight".into(),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("HH:MM-HH:MM"), "{bad}");

    // Armed, on battery: every condition but power holds, and nothing starts.
    let armed = TrainingSchedule {
        armed: true,
        window: "00:00-00:00".into(),
        min_idle_minutes: 0,
        min_new_records: 20,
    };
    let status = app
        .learning()
        .set_training_schedule(armed.clone())
        .await
        .unwrap();
    assert!(status.schedule.armed && status.next_window.is_some());
    let power_check = condition(&status, "power");
    assert!(!power_check.ok);
    assert_eq!(
        power_check.detail,
        "on battery (AC offline, BAT0 discharging)"
    );
    for name in ["window", "idle", "records", "model", "agent"] {
        assert!(
            condition(&status, name).ok,
            "{name}: {:?}",
            status.conditions
        );
    }
    assert!(
        !app.learning().training_tick().await.unwrap(),
        "no round on battery"
    );

    // The owner must have been away: a minute's idleness is not there yet.
    let status = app
        .learning()
        .set_training_schedule(TrainingSchedule {
            min_idle_minutes: 60,
            ..armed.clone()
        })
        .await
        .unwrap();
    // Away from the keyboard for 90 minutes, but Pincer was started moments
    // ago: the shorter of the two counts.
    let idle = condition(&status, "idle");
    assert!(!idle.ok, "{:?}", status.conditions);
    assert!(
        idle.detail
            .starts_with("no input for 90.0 min (GNOME's idle monitor), no chat for "),
        "{}",
        idle.detail
    );
    // Typing in another program shows at once.
    monitor.set_idle_ms(2_000);
    let status = app.learning().training_status().await.unwrap();
    assert!(
        condition(&status, "idle")
            .detail
            .starts_with("no input for 0.0 min"),
        "{:?}",
        status.conditions
    );
    app.learning()
        .set_training_schedule(armed.clone())
        .await
        .unwrap();

    // Plugged in: the tick starts the round.
    let mut ends = app.learning().training_ends();
    laptop(power.path(), true);
    assert!(
        app.learning().training_tick().await.unwrap(),
        "every condition holds"
    );
    let running = wait_for(&app, "two steps", |s| {
        s.progress.as_ref().is_some_and(|p| p.step >= 2)
    })
    .await;
    let total = running.progress.as_ref().unwrap().total_steps;
    assert!(total > 4, "a round long enough to interrupt: {total} steps");
    assert!(
        running.sleep_hold.is_some(),
        "the status says whether sleep is held off"
    );

    // Unplugged mid-run: the round pauses in its checkpoint.
    laptop(power.path(), false);
    let paused = ends.recv().await.unwrap();
    assert!(
        paused.paused && paused.scheduled && !paused.failed,
        "{paused:?}"
    );
    assert!(
        paused.steps < total,
        "paused before the end: {} of {total}",
        paused.steps
    );
    assert!(
        paused.reasons[0].contains("power: on battery"),
        "{:?}",
        paused.reasons
    );
    let status = app.learning().training_status().await.unwrap();
    assert_eq!(status.phase, TrainingPhase::Paused);
    assert!(status.round_waiting && status.schedule.armed, "still armed");
    assert_eq!(
        condition(&status, "records").detail,
        "a paused round waits to resume"
    );
    assert!(
        !app.learning().training_tick().await.unwrap(),
        "still on battery"
    );

    // Power returns: the round resumes from its checkpoint; halting the
    // agent pauses it again, and resuming the agent lets it finish.
    laptop(power.path(), true);
    assert!(app.learning().training_tick().await.unwrap());
    let resumed_at = paused.steps;
    wait_for(&app, "a step past the pause", |s| {
        s.progress.as_ref().is_some_and(|p| p.step > resumed_at)
    })
    .await;
    app.halt();
    let halted = ends.recv().await.unwrap();
    assert!(halted.paused, "{halted:?}");
    assert!(
        halted.reasons[0].contains("the agent is halted"),
        "{:?}",
        halted.reasons
    );
    assert!(
        !app.learning().training_tick().await.unwrap(),
        "not while halted"
    );
    app.resume();
    assert!(app.learning().training_tick().await.unwrap());
    let finished = ends.recv().await.unwrap();
    assert!(!finished.paused && !finished.failed, "{finished:?}");
    assert_eq!(finished.steps, total);
    assert!(finished.version.is_some());
    let (title, body) = finished.notification();
    assert!(
        title.contains("promoted") || title.contains("rejected"),
        "{title}"
    );
    assert!(body.contains(&format!("{total} steps")), "{body}");

    let status = app.learning().training_status().await.unwrap();
    assert_eq!(status.phase, TrainingPhase::Idle);
    assert!(
        !status.schedule.armed,
        "a finished round uses up the arming"
    );
    assert!(!status.round_waiting);
    assert_eq!(
        status.new_records, 1,
        "only turns after the newest trained one are new (the last, held out)"
    );
    let losses = &status.progress.as_ref().unwrap().losses;
    assert_eq!(
        losses.len(),
        total as usize,
        "every step once, across the pause"
    );
    let version = app
        .store()
        .adapter(finished.version.unwrap() as i64)
        .unwrap()
        .unwrap();
    let steps: Vec<u64> = version.adapter.metrics["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=u64::from(total)).collect::<Vec<_>>());

    let audit = app.store().audit_records(0, 100_000).unwrap();
    let events: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| (r.event.action.as_str(), r.event.actor.as_str()))
        .collect();
    assert!(events.contains(&("training.arm", "owner")), "{events:?}");
    assert!(events.contains(&("training.pause", "system")), "{events:?}");
    assert!(events.contains(&("training.round", "system")), "{events:?}");
}
