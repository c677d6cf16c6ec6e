//! Pincer's Tauri shell. It only translates: it builds the same [`App`]
//! `pincer serve` uses, exposes its command set as typed Tauri commands,
//! runs the loopback gateway beside the window, and owns the tray,
//! notifications and the single-instance lock.
#![deny(missing_docs)]

pub mod commands;
mod gateway;
mod notify;
mod tray;

use pincer_app::ipc::AppMode;
use pincer_app::{App, AppConfig};
use tauri::Manager;

/// Starts the desktop app; returns when the owner quits.
pub fn run() -> anyhow::Result<()> {
    let data_dir = pincer_app::resolve_data_dir(None)?;
    let app = tauri::async_runtime::block_on(App::start(AppConfig {
        data_dir,
        model: None,
        model_id: None,
        engine: Default::default(),
        mode: AppMode::Desktop,
        embedder: std::env::var_os("PINCER_EMBEDDER").map(std::path::PathBuf::from),
        power_supply: std::env::var_os("PINCER_POWER_SUPPLY").map(std::path::PathBuf::from),
        idle_bus: std::env::var("PINCER_IDLE_BUS").ok(),
    }))?;
    let specta = commands::specta_builder();
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|handle, _args, _cwd| {
            tray::show_main_window(handle)
        }))
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(specta.invoke_handler())
        .setup(move |tauri_app| {
            specta.mount_events(tauri_app);
            tray::install(tauri_app.handle())?;
            tauri_app.manage(app.clone());
            let judge = app.clone();
            tauri::async_runtime::spawn(async move { judge.learning().start_judging() });
            // The chat's shared start is read before the owner's first question.
            let ahead = app.clone();
            tauri::async_runtime::spawn(async move { ahead.read_prompt_ahead() });
            tauri::async_runtime::spawn(gateway::supervise(app.clone()));
            let schedule = app.clone();
            tauri::async_runtime::spawn(
                async move { schedule.learning().start_training_schedule() },
            );
            tauri::async_runtime::spawn(notify::training_ends(
                tauri_app.handle().clone(),
                app.learning().training_ends(),
            ));
            if let Some(last) = app.last_model() {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(error) = app.load_model(last.display().to_string()).await {
                        tracing::warn!(%error, "cannot load the last used model");
                    }
                });
            }
            Ok(())
        })
        .run(tauri::generate_context!("../tauri.conf.json"))?;
    Ok(())
}
