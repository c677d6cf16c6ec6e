//! Long because every subcommand's arguments are declared here, where
//! clap reads them; each command's work is in its own module.
//!
//! `pincer`: the headless gateway and the maintenance commands.

mod audit_cmd;
mod backup_cmd;
mod bench;
mod data_cmd;
mod mcp_cmd;
mod memory_cmd;
mod model_choice;
mod secrets_cmd;
mod skills_cmd;
mod train_cmd;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pincer_app::{App, AppConfig, Maintenance};
use pincer_inference::catalog;
use pincer_inference::EngineOptions;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pincer",
    version,
    about = "Pincer: a local-first personal AI agent"
)]
struct Cli {
    /// Where Pincer keeps its database, settings and workspace.
    #[arg(long, global = true, env = "PINCER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The embedding model folder for memory (default: all-MiniLM-L6-v2 from
    /// the Hugging Face cache, once downloaded).
    #[arg(long, global = true, env = "PINCER_EMBEDDER")]
    embedder: Option<PathBuf>,
    /// Log more (`-v` info, `-vv` debug); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the OpenAI-compatible gateway on loopback.
    Serve(ServeArgs),
    /// Print this install's API token (kept in the OS keychain; created on first use).
    Token,
    /// List the model catalog and what fits this machine.
    Models,
    /// Check the data folder, database and machine.
    Doctor {
        /// Run SQLite's full integrity check (the start-up check looks for
        /// at most two seconds).
        #[arg(long)]
        check: bool,
    },
    /// Backups of the database and the workspace: now, list, verify, restore.
    #[command(subcommand)]
    Backup(backup_cmd::BackupCommand),
    /// Measure prefill and decode speed of a model run in-process (JSON).
    Bench(bench::BenchArgs),
    /// The audit log: verify its chain, list, export.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Training data from use: consent per source, stats, export, delete.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Secrets in the OS keychain: set, list (names only), delete.
    #[command(subcommand)]
    Secrets(secrets_cmd::SecretsCommand),
    /// Memory: add sources, search, rebuild the index, show its state.
    #[command(subcommand)]
    Memory(memory_cmd::MemoryCommand),
    /// Training rounds on the running Pincer: now, pause, arm, disarm,
    /// status, adapters, rollback.
    Train(train_cmd::TrainArgs),
    /// Skills: list, vet, enable, disable.
    #[command(subcommand)]
    Skills(skills_cmd::SkillsCommand),
    /// MCP servers: list, add, remove.
    #[command(subcommand)]
    Mcp(mcp_cmd::McpCommand),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A .gguf file or a Hugging Face model folder. Without it, the catalog's
    /// model (`--catalog-model`) is downloaded on first run.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Which catalog model to serve when `--model` is not given.
    #[arg(long, default_value = catalog::DEFAULT_MODEL_ID)]
    catalog_model: String,
    /// The id clients use for the model (defaults to its file or folder name).
    #[arg(long)]
    model_id: Option<String>,
    /// Address to bind. Anything but loopback exposes the gateway to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to bind.
    #[arg(long, default_value_t = pincer_gateway::DEFAULT_PORT)]
    port: u16,
    /// CPU threads for inference (default: all cores).
    #[arg(long, env = "PINCER_THREADS")]
    threads: Option<usize>,
    /// Requests decoded together.
    #[arg(long, default_value_t = 8)]
    max_running: usize,
    /// Requests that may wait beyond those; more get 503 with Retry-After.
    #[arg(long, default_value_t = 32)]
    max_waiting: usize,
    /// Prompt prefixes cached for reuse across turns (0 turns it off).
    #[arg(long, default_value_t = 16)]
    prefix_cache: usize,
    /// The most memory reading one prompt may take on the CPU, in GB
    /// (default: half the machine's); a longer prompt is refused as over
    /// the context, before it can exhaust memory.
    #[arg(long, env = "PINCER_PREFILL_MEMORY_GB")]
    prefill_memory_gb: Option<f64>,
    /// Where power supplies are read for the training schedule (a fixture
    /// tree in tests; the kernel's /sys/class/power_supply by default).
    #[arg(long, env = "PINCER_POWER_SUPPLY", hide = true)]
    power_supply: Option<PathBuf>,
    /// The D-Bus address the desktop's input idle time is read from (the
    /// session bus by default; tests give a bus with a fixture monitor).
    #[arg(long, env = "PINCER_IDLE_BUS", hide = true)]
    idle_bus: Option<String>,
    /// Run on the CPU even when a GPU backend is compiled in.
    #[arg(long)]
    cpu: bool,
    /// How a safetensors model is held in memory: auto (by its size: as
    /// stored below 1 GB, q8_0 up to 5 GB, q4k above), off, q8_0 or q4k.
    /// Trained adapters merge in before quantisation.
    #[arg(long, default_value = "auto")]
    quantize: pincer_inference::LoadQuantization,
    /// The built web UI (`ui/dist`) to serve at `/` ("web mode"); the
    /// chat's shared start is then read ahead at start.
    #[arg(long, env = "PINCER_UI_DIR")]
    ui: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if let Command::Serve(ServeArgs {
        threads: Some(threads),
        ..
    }) = &cli.command
    {
        // Read by rayon and candle when their thread pools start, which
        // happens after this point; set before any other thread exists.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,pincer=info,pincer_gateway=info,pincer_app=info",
        1 => "info",
        _ => "debug",
    };
    pincer_app::logging::init(default);
}

async fn run(cli: Cli) -> Result<()> {
    let data_dir = pincer_app::resolve_data_dir(cli.data_dir)?;
    match cli.command {
        Command::Serve(args) => serve(data_dir, cli.embedder, args).await,
        Command::Memory(command) => memory_cmd::run(&data_dir, cli.embedder, command),
        Command::Audit(command) => audit_cmd::run(&data_dir, command),
        Command::Data(command) => data_cmd::run(&data_dir, command),
        Command::Secrets(command) => secrets_cmd::run(&data_dir, command),
        Command::Skills(command) => skills_cmd::run(&data_dir, command),
        Command::Mcp(command) => mcp_cmd::run(&data_dir, command),
        Command::Train(args) => train_cmd::run(&data_dir, args).await,
        Command::Token => {
            println!(
                "{}",
                Maintenance::open(&data_dir)?.gateway_token()?.expose()
            );
            Ok(())
        }
        Command::Models => {
            model_choice::print_catalog();
            Ok(())
        }
        Command::Doctor { check } => doctor(&data_dir, check),
        Command::Backup(command) => backup_cmd::run(&data_dir, command),
        Command::Bench(args) => bench::run(args).await,
    }
}

async fn serve(data_dir: PathBuf, embedder: Option<PathBuf>, args: ServeArgs) -> Result<()> {
    let source = model_choice::resolve(args.model.as_deref(), &args.catalog_model).await?;
    let address = SocketAddr::new(args.host, args.port);
    // Bind before the (slow) model load, so a taken port fails at once.
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}; is another Pincer running? choose another --port")
        })?;
    if !args.host.is_loopback() {
        tracing::warn!("binding {address}: the gateway is reachable from the network; only the token protects it");
    }
    eprintln!("loading {} ...", describe(&source));
    let app = App::start(AppConfig {
        data_dir,
        model: Some(source),
        model_id: args.model_id,
        mode: pincer_app::ipc::AppMode::Web,
        engine: EngineOptions {
            max_running: args.max_running,
            max_waiting: args.max_waiting,
            prefix_cache_sequences: args.prefix_cache,
            force_cpu: args.cpu,
            adapter: None,
            quantize: args.quantize,
            script: None,
            prefill_memory_limit: args.prefill_memory_gb.map(|gb| (gb * 1e9) as u64),
        },
        embedder,
        power_supply: args.power_supply,
        idle_bus: args.idle_bus,
    })
    .await?;
    // Serve with memory in place: /v1/embeddings and the UI's first search work at once.
    if let Err(error) = app.memory_ready().await {
        tracing::warn!("memory is off: {error}");
    }
    // Scores consented turns in the background, only while nobody chats.
    app.learning().start_judging();
    // Runs an armed round in its window, on power, while the owner is away.
    app.learning().start_training_schedule();
    let mut ends = app.learning().training_ends();
    tokio::spawn(async move {
        while let Ok(summary) = ends.recv().await {
            let (title, body) = summary.notification();
            tracing::info!("{title}: {body}");
        }
    });
    let local = listener.local_addr()?;
    eprintln!(
        "Pincer is serving `{}` at http://{local}/v1 (OpenAI-compatible; `pincer token` prints the API token)",
        app.model_id().unwrap_or_default()
    );
    let ui_dir = match args.ui {
        Some(dir) if dir.join("index.html").is_file() => Some(dir),
        Some(dir) => anyhow::bail!(
            "{} holds no built UI (index.html); run `npm run ui:build` first",
            dir.display()
        ),
        None => None,
    };
    if ui_dir.is_some() {
        // The owner chats here: the chat's shared start is read before
        // the first question (an API-only server leaves the engine alone).
        app.read_prompt_ahead();
        // A one-time pairing code, not the token: addresses end up in
        // shell history, browser history and screenshots.
        eprintln!(
            "Open the UI at http://{local}/#pair={}",
            app.new_pairing_code()
        );
    }
    let extra_hosts = if args.host.is_loopback() {
        Vec::new()
    } else {
        vec![args.host.to_string()]
    };
    let options = pincer_gateway::GatewayOptions {
        body_limit: pincer_gateway::DEFAULT_BODY_LIMIT,
        ui_dir,
        extra_hosts,
    };
    let router = pincer_gateway::router(app, options);
    pincer_gateway::serve(listener, router, shutdown_signal()).await?;
    eprintln!("Pincer stopped");
    Ok(())
}

fn describe(source: &pincer_inference::ModelSource) -> String {
    match source {
        pincer_inference::ModelSource::Gguf {
            path,
            architecture,
            quantization,
        } => {
            format!("{} ({architecture}, {quantization})", path.display())
        }
        pincer_inference::ModelSource::Safetensors { dir, model_type } => {
            format!("{} ({model_type}, safetensors)", dir.display())
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

fn doctor(data_dir: &std::path::Path, full_check: bool) -> Result<()> {
    use pincer_store::{human_bytes, CheckDepth, StoreCondition};
    println!("data folder:      {}", data_dir.display());
    match pincer_store::free_bytes(data_dir) {
        Some(free) => println!("free disk:        {}", human_bytes(free)),
        None => println!("free disk:        unknown"),
    }
    let store = pincer_store::Store::open_in(data_dir)?;
    println!(
        "database:         {} (schema v{})",
        store.path().display(),
        store.schema_version()?
    );
    if full_check {
        let found = store.check_integrity(CheckDepth::Full)?;
        println!(
            "integrity:        {} ({} ms, full check)",
            found.problem().unwrap_or_else(|| "ok".into()),
            found.took_ms
        );
    }
    println!("sqlite-vec:       {}", store.sqlite_vec_version()?);
    let mut condition = store.condition();
    match Maintenance::open(data_dir) {
        Ok(admin) => {
            let names: Vec<String> = admin.secrets()?.into_iter().map(|s| s.name).collect();
            println!(
                "vault:            {:?} ({})",
                admin.vault_backend(),
                names.join(", ")
            );
            // The trust base compares the log with its keychain anchor at open.
            if condition == StoreCondition::Healthy {
                condition = admin.store().condition();
            }
            let audit = admin.verify_audit()?;
            match audit.broken_at {
                None => println!(
                    "audit log:        intact, {} records, signed up to {:?}",
                    audit.records, audit.signed_up_to
                ),
                Some(broken) => println!(
                    "audit log:        BROKEN at record {}: {}",
                    broken.seq, broken.reason
                ),
            }
        }
        Err(error) => println!("vault:            unavailable: {error}"),
    }
    let backups = pincer_app::backups_of(data_dir)
        .and_then(|b| Ok(b.list()?))
        .unwrap_or_default();
    match backups.last() {
        Some(newest) => println!("backups:          {} (newest {})", backups.len(), newest.id),
        None => println!("backups:          none yet (`pincer backup now`)"),
    }
    match pincer_sandbox::Sandbox::detect() {
        Ok(sandbox) => println!("sandbox:          {}", sandbox.describe()),
        Err(error) => println!("sandbox:          NONE, so commands are refused: {error}"),
    }
    match &condition {
        StoreCondition::Healthy => println!("store:            ok"),
        StoreCondition::Degraded { cause } => println!("store:            DEGRADED: {cause}"),
        StoreCondition::Damaged { cause } => println!("store:            DAMAGED: {cause}"),
    }
    let memory = catalog::Memory::current();
    println!(
        "memory:           {:.1} GB total, {:.1} GB available",
        memory.total_bytes as f64 / 1e9,
        memory.available_bytes as f64 / 1e9
    );
    match catalog::largest_fitting(memory) {
        Some(entry) => println!(
            "largest model that fits now: {} ({})",
            entry.id, entry.description
        ),
        None => println!("no catalog model fits the memory free now"),
    }
    if let StoreCondition::Damaged { cause } = condition {
        anyhow::bail!("the database is damaged: {cause}");
    }
    Ok(())
}
