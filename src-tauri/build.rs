//! Reads the root `tauri.conf.json` (the one the Tauri CLI uses too) and
//! declares Pincer's commands, so each becomes a permission that
//! `capabilities/main-window.json` grants explicitly (least privilege).

/// Every Tauri command; a test checks this equals `pincer_app::COMMANDS`.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_sessions",
    "create_session",
    "rename_session",
    "delete_session",
    "session_messages",
    "send_message",
    "stop_generation",
    "halt_agent",
    "resume_agent",
    "list_catalog",
    "start_download",
    "pause_download",
    "cancel_download",
    "load_model",
    "unload_model",
    "read_soul_file",
    "save_soul_file",
    "soul_history",
    "restore_soul_version",
    "soul_changes",
    "decide_soul_change",
    "audit_query",
    "audit_export",
    "security_overview",
    "set_soul_sealed",
    "get_settings",
    "update_gateway",
    "reveal_token",
    "rotate_token",
    "memory_status",
    "memory_search",
    "memory_add_source",
    "memory_forget_source",
    "memory_reindex",
    "memory_read_file",
    "memory_remember",
    "memory_download_embedder",
    "data_overview",
    "set_consent",
    "list_trajectories",
    "open_trajectory",
    "delete_training_data",
    "give_feedback",
    "training_status",
    "start_training",
    "pause_training",
    "set_training_schedule",
    "list_adapters",
    "rollback_adapter",
];

fn main() {
    // The built UI is embedded by `generate_context!`; rebuild when it changes.
    println!("cargo:rerun-if-changed=../ui/dist");
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes)
        .expect("tauri-build failed: check tauri.conf.json and src-tauri/capabilities");
}
