//! `pincer train …`: training rounds on the running Pincer (`pincer serve`
//! or the desktop app's gateway), through its control API with this
//! install's token, so the CLI and the Training pane drive one trainer and
//! one schedule. Nothing here trains in the CLI's own process.

use anyhow::{bail, Context, Result};
use pincer_app::ipc::{AdapterView, TrainingSchedule, TrainingStatus};
use pincer_app::Maintenance;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// The training subcommands.
#[derive(clap::Subcommand)]
pub enum TrainCommand {
    /// Start (or resume) a round now and follow it to its end.
    Now {
        /// Return once it has started instead of following it.
        #[arg(long)]
        detach: bool,
    },
    /// Pause the running round at its next example (it checkpoints).
    Pause,
    /// Arm a round for the nightly window; it starts on external power,
    /// with you away, enough new feedback and the agent running.
    Arm {
        /// Local time, HH:MM-HH:MM (default: as saved, first 01:00-06:00).
        #[arg(long)]
        window: Option<String>,
        /// Minutes without a chat before a round may start.
        #[arg(long)]
        min_idle: Option<u32>,
        /// New judged, consented turns a round needs.
        #[arg(long)]
        min_records: Option<u32>,
    },
    /// Disarm the nightly round.
    Disarm,
    /// Phase, each condition checked now, data ready, progress, last round.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every adapter version with its metrics, newest first.
    Adapters,
    /// Serve an earlier adapter version, or `base` for no adapter.
    Rollback {
        /// A version number from `pincer train adapters`, or `base`.
        version: String,
    },
}

/// `pincer train`'s arguments.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    command: TrainCommand,
    #[command(flatten)]
    target: TrainTarget,
}

/// Where the running Pincer listens, and how to reach it.
#[derive(clap::Args)]
pub struct TrainTarget {
    /// The running Pincer's address.
    #[arg(long, env = "PINCER_URL", default_value_t = format!("http://127.0.0.1:{}", pincer_gateway::DEFAULT_PORT))]
    url: String,
}

struct Control {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Control {
    async fn call(&self, command: &str, request: Option<Value>) -> Result<Value> {
        let body = match request {
            Some(request) => json!({ "request": request }),
            None => json!({}),
        };
        let response = self
            .client
            .post(format!("{}/api/control/{command}", self.url.trim_end_matches('/')))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| {
                format!(
                    "no Pincer answers at {}; start `pincer serve` (or turn the gateway on in the desktop app's Settings), or pass --url",
                    self.url
                )
            })?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the request failed");
            bail!("{message}");
        }
        Ok(value)
    }

    async fn status(&self) -> Result<TrainingStatus> {
        Ok(serde_json::from_value(
            self.call("training_status", None).await?,
        )?)
    }
}

/// Runs one training subcommand against the running Pincer.
pub async fn run(data_dir: &Path, args: TrainArgs) -> Result<()> {
    let TrainArgs { command, target } = args;
    let token = Maintenance::open(data_dir)?
        .gateway_token()?
        .expose()
        .to_string();
    let control = Control {
        client: reqwest::Client::new(),
        url: target.url,
        token,
    };
    match command {
        TrainCommand::Now { detach } => {
            let before = control.status().await?.last.map(|l| l.at);
            let started: TrainingStatus =
                serde_json::from_value(control.call("start_training", None).await?)?;
            println!("training started on {} judged turns", started.ready_records);
            if !detach {
                follow(&control, before).await?;
            }
        }
        TrainCommand::Pause => {
            control.call("pause_training", None).await?;
            println!("pausing at the next example; `pincer train now` resumes it");
        }
        TrainCommand::Arm {
            window,
            min_idle,
            min_records,
        } => {
            let current = control.status().await?.schedule;
            let schedule = TrainingSchedule {
                armed: true,
                window: window.unwrap_or(current.window),
                min_idle_minutes: min_idle.unwrap_or(current.min_idle_minutes),
                min_new_records: min_records.unwrap_or(current.min_new_records),
            };
            let status: TrainingStatus = serde_json::from_value(
                control
                    .call(
                        "set_training_schedule",
                        Some(serde_json::to_value(schedule)?),
                    )
                    .await?,
            )?;
            print_status(&status);
        }
        TrainCommand::Disarm => {
            let schedule = TrainingSchedule {
                armed: false,
                ..control.status().await?.schedule
            };
            control
                .call(
                    "set_training_schedule",
                    Some(serde_json::to_value(schedule)?),
                )
                .await?;
            println!("disarmed");
        }
        TrainCommand::Status { json } => {
            let status = control.status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
        TrainCommand::Adapters => {
            let adapters: Vec<AdapterView> =
                serde_json::from_value(control.call("list_adapters", None).await?)?;
            print_adapters(&adapters);
        }
        TrainCommand::Rollback { version } => {
            let version = match version.as_str() {
                "base" => None,
                number => Some(number.trim_start_matches('v').parse::<u32>().with_context(|| {
                    format!("`{number}` is not a version; give a number from `pincer train adapters`, or `base`")
                })?),
            };
            let adapters: Vec<AdapterView> = serde_json::from_value(
                control
                    .call("rollback_adapter", Some(json!({ "version": version })))
                    .await?,
            )?;
            print_adapters(&adapters);
        }
    }
    Ok(())
}

/// Shows the round's steps as a progress bar until it ends; fails when it failed.
async fn follow(control: &Control, before: Option<f64>) -> Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    loop {
        let status = control.status().await?;
        if let Some(progress) = &status.progress {
            bar.set_length(u64::from(progress.total_steps));
            bar.set_position(u64::from(progress.step));
            bar.set_message(format!(
                "loss {} · {}",
                progress
                    .losses
                    .last()
                    .map_or("—".into(), |l| format!("{l:.4}")),
                progress
                    .eta_seconds
                    .map_or("—".into(), |s| format!("about {s:.0} s left"))
            ));
        }
        if let Some(last) = status.last.filter(|l| Some(l.at) != before) {
            bar.finish_and_clear();
            let (title, body) = last.notification();
            println!("{title}\n{body}");
            if last.failed {
                bail!("the round failed");
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "ok "
    } else {
        "NO "
    }
}

fn print_status(status: &TrainingStatus) {
    println!(
        "phase: {:?}; {} judged turns with consent, {} new since the last round",
        status.phase, status.ready_records, status.new_records
    );
    println!(
        "schedule: {} · window {} · away {} min · {} new turns{}",
        if status.schedule.armed {
            "armed"
        } else {
            "not armed"
        },
        status.schedule.window,
        status.schedule.min_idle_minutes,
        status.schedule.min_new_records,
        status
            .next_window
            .as_deref()
            .map(|w| format!(" · next window {w}"))
            .unwrap_or_default()
    );
    for condition in &status.conditions {
        println!(
            "  {} {:<8} {}",
            mark(condition.ok),
            condition.name,
            condition.detail
        );
    }
    if let Some(progress) = &status.progress {
        println!(
            "progress: step {}/{}, loss {}",
            progress.step,
            progress.total_steps,
            progress
                .losses
                .last()
                .map_or("—".into(), |l| format!("{l:.4}"))
        );
    }
    if let Some(last) = &status.last {
        let (title, body) = last.notification();
        println!("last round: {title}. {body}");
    }
    match &status.serving {
        Some(adapter) => println!("serving: adapter v{}", adapter.id),
        None => println!("serving: the bare base model"),
    }
}

fn print_adapters(adapters: &[AdapterView]) {
    if adapters.is_empty() {
        println!("no adapter yet: the first round makes one");
        return;
    }
    let number = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    println!(
        "{:>4} {:<9} {:>6} {:>8} {:>8} {:>8} {:>8}  why",
        "ver", "status", "turns", "score", "vs", "ref nll", "drift"
    );
    for a in adapters {
        println!(
            "{:>4} {:<9} {:>6} {:>8} {:>8} {:>8} {:>8}  {}",
            format!("v{}", a.id),
            a.status,
            a.trained,
            number(a.owner_score),
            number(a.serving_owner_score),
            number(a.reference_nll),
            number(a.drift),
            a.reason
        );
    }
}
