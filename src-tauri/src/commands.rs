//! The Tauri commands: each translates one IPC call to the app service, with
//! nothing of its own. The gateway's control API serves the same set by name
//! (`pincer_app::dispatch`), and `ui/src/bindings.ts` is generated from here.

use pincer_app::ipc::*;
use pincer_app::{App, EventSink};
use tauri::ipc::Channel;
use tauri::State;

/// A command's result as the UI receives it.
type Reply<T> = Result<T, ControlError>;

/// The app at a glance.
#[tauri::command]
#[specta::specta]
pub async fn app_info(app: State<'_, App>) -> Reply<AppInfo> {
    // The UI's first call: the window is drawn, its code runs and IPC works.
    // `benches/desktop_start.py` times the cold start up to this line.
    static FIRST: std::sync::Once = std::sync::Once::new();
    FIRST.call_once(|| {
        if std::env::var_os("PINCER_STARTUP_PROBE").is_some() {
            eprintln!("pincer-desktop: interactive");
        }
    });
    Ok(app.app_info())
}

/// Sessions, most recently active first.
#[tauri::command]
#[specta::specta]
pub async fn list_sessions(app: State<'_, App>) -> Reply<Vec<SessionSummary>> {
    Ok(app.list_sessions().await?)
}

/// Starts an empty session.
#[tauri::command]
#[specta::specta]
pub async fn create_session(app: State<'_, App>, request: CreateSession) -> Reply<SessionSummary> {
    Ok(app.create_session(request.title).await?)
}

/// Renames a session.
#[tauri::command]
#[specta::specta]
pub async fn rename_session(app: State<'_, App>, request: RenameSession) -> Reply<SessionSummary> {
    Ok(app
        .rename_session(request.session_id, request.title)
        .await?)
}

/// Deletes a session and its messages.
#[tauri::command]
#[specta::specta]
pub async fn delete_session(app: State<'_, App>, request: SessionRef) -> Reply<()> {
    Ok(app.delete_session(request.session_id).await?)
}

/// A session's messages.
#[tauri::command]
#[specta::specta]
pub async fn session_messages(
    app: State<'_, App>,
    request: SessionRef,
) -> Reply<Vec<ChatMessageView>> {
    Ok(app.session_messages(request.session_id).await?)
}

/// Sends the owner's message; the answer streams through `on_event`.
#[tauri::command]
#[specta::specta]
pub async fn send_message(
    app: State<'_, App>,
    window: tauri::Window,
    request: SendMessage,
    on_event: Channel<ChatEvent>,
) -> Reply<TurnSummary> {
    let sink: EventSink = Box::new(move |event| on_event.send(event).is_ok());
    let summary = app.send_message(request, sink).await?;
    crate::notify::answer_finished(&window, &summary);
    Ok(summary)
}

/// Stops the answer being written in a session.
#[tauri::command]
#[specta::specta]
pub async fn stop_generation(app: State<'_, App>, request: SessionRef) -> Reply<bool> {
    Ok(app.stop_generation(&request.session_id))
}

/// Stops every answer and refuses new ones until resumed.
#[tauri::command]
#[specta::specta]
pub async fn halt_agent(app: State<'_, App>, tray: State<'_, crate::tray::TrayMenu>) -> Reply<()> {
    app.halt();
    tray.show_halted(true);
    Ok(())
}

/// Lets the agent answer again.
#[tauri::command]
#[specta::specta]
pub async fn resume_agent(
    app: State<'_, App>,
    tray: State<'_, crate::tray::TrayMenu>,
) -> Reply<()> {
    app.resume();
    tray.show_halted(false);
    Ok(())
}

/// The model catalog with this machine's fit and downloads.
#[tauri::command]
#[specta::specta]
pub async fn list_catalog(app: State<'_, App>) -> Reply<Vec<CatalogModel>> {
    Ok(app.catalog())
}

/// Starts or resumes a download.
#[tauri::command]
#[specta::specta]
pub async fn start_download(app: State<'_, App>, request: CatalogRef) -> Reply<DownloadView> {
    Ok(app.start_download(&request.id)?)
}

/// Pauses a download, keeping its partial file.
#[tauri::command]
#[specta::specta]
pub async fn pause_download(app: State<'_, App>, request: CatalogRef) -> Reply<DownloadView> {
    Ok(app.pause_download(&request.id)?)
}

/// Cancels a download and deletes its partial file.
#[tauri::command]
#[specta::specta]
pub async fn cancel_download(app: State<'_, App>, request: CatalogRef) -> Reply<DownloadView> {
    Ok(app.cancel_download(&request.id)?)
}

/// Loads a local `.gguf` file or model folder.
#[tauri::command]
#[specta::specta]
pub async fn load_model(app: State<'_, App>, request: LoadModel) -> Reply<ActiveModel> {
    Ok(app.load_model(request.path).await?)
}

/// Unloads the model.
#[tauri::command]
#[specta::specta]
pub async fn unload_model(app: State<'_, App>) -> Reply<()> {
    app.unload_model();
    Ok(())
}

/// Opens a soul file.
#[tauri::command]
#[specta::specta]
pub async fn read_soul_file(app: State<'_, App>, request: SoulFileRef) -> Reply<SoulFile> {
    Ok(app.read_soul_file(request.file).await?)
}

/// Saves a soul file as a new version.
#[tauri::command]
#[specta::specta]
pub async fn save_soul_file(app: State<'_, App>, request: SaveSoulFile) -> Reply<SoulVersionView> {
    Ok(app.save_soul_file(request.file, request.content).await?)
}

/// A soul file's versions, newest first.
#[tauri::command]
#[specta::specta]
pub async fn soul_history(
    app: State<'_, App>,
    request: SoulFileRef,
) -> Reply<Vec<SoulVersionView>> {
    Ok(app.soul_history(request.file).await?)
}

/// Writes an earlier version back.
#[tauri::command]
#[specta::specta]
pub async fn restore_soul_version(
    app: State<'_, App>,
    request: SoulVersionRef,
) -> Reply<SoulVersionView> {
    Ok(app.restore_soul_version(request.version_id).await?)
}

/// The settings pane's view.
#[tauri::command]
#[specta::specta]
pub async fn get_settings(app: State<'_, App>) -> Reply<SettingsView> {
    Ok(app.settings_view())
}

/// Switches the gateway and sets its port.
#[tauri::command]
#[specta::specta]
pub async fn update_gateway(app: State<'_, App>, request: GatewaySettings) -> Reply<SettingsView> {
    Ok(app.update_gateway(request).await?)
}

/// Changes to protected files waiting for the owner.
#[tauri::command]
#[specta::specta]
pub async fn soul_changes(app: State<'_, App>) -> Reply<Vec<SoulChange>> {
    Ok(app.soul_changes().await?)
}

/// Accepts or rejects a waiting change.
#[tauri::command]
#[specta::specta]
pub async fn decide_soul_change(app: State<'_, App>, request: SoulDecision) -> Reply<SoulFile> {
    Ok(app.decide_soul_change(request).await?)
}

/// A page of the audit log, with the chain's state.
#[tauri::command]
#[specta::specta]
pub async fn audit_query(app: State<'_, App>, request: AuditQuery) -> Reply<AuditPage> {
    Ok(app.audit_query(request).await?)
}

/// The audit log as JSON lines or CSV.
#[tauri::command]
#[specta::specta]
pub async fn audit_export(app: State<'_, App>, request: AuditExportRequest) -> Reply<String> {
    Ok(app.audit_export(request.format).await?)
}

/// Settings → Security.
#[tauri::command]
#[specta::specta]
pub async fn security_overview(app: State<'_, App>) -> Reply<SecurityView> {
    Ok(app.security_overview().await?)
}

/// Turns sealed mode for the protected files on or off.
#[tauri::command]
#[specta::specta]
pub async fn set_soul_sealed(app: State<'_, App>, request: SealRequest) -> Reply<SecurityView> {
    app.set_soul_sealed(request.on).await?;
    Ok(app.security_overview().await?)
}

/// The API token, for the owner to copy.
#[tauri::command]
#[specta::specta]
pub async fn reveal_token(app: State<'_, App>) -> Reply<String> {
    Ok(app.reveal_token())
}

/// A new API token; the old one stops working.
#[tauri::command]
#[specta::specta]
pub async fn rotate_token(app: State<'_, App>) -> Reply<String> {
    Ok(app.rotate_token()?)
}

/// Memory's state: sources, indexing progress, why it is off.
#[tauri::command]
#[specta::specta]
pub async fn memory_status(app: State<'_, App>) -> Reply<MemoryStatus> {
    Ok(app.memory_status()?)
}

/// Searches memory by words and meaning.
#[tauri::command]
#[specta::specta]
pub async fn memory_search(
    app: State<'_, App>,
    request: MemorySearch,
) -> Reply<Vec<MemoryHitView>> {
    Ok(app.memory_search(request).await?)
}

/// Adds a folder or file to memory; it is indexed in the background.
#[tauri::command]
#[specta::specta]
pub async fn memory_add_source(
    app: State<'_, App>,
    request: AddMemorySource,
) -> Reply<MemorySourceView> {
    Ok(app
        .memory_add_source(request.path, request.provenance)
        .await?)
}

/// Forgets a source's index (its files stay on disk).
#[tauri::command]
#[specta::specta]
pub async fn memory_forget_source(
    app: State<'_, App>,
    request: MemorySourceRef,
) -> Reply<MemoryStatus> {
    Ok(app.memory_forget_source(request.id).await?)
}

/// Rebuilds the memory index from the files, in the background.
#[tauri::command]
#[specta::specta]
pub async fn memory_reindex(app: State<'_, App>) -> Reply<MemoryStatus> {
    Ok(app.memory_reindex()?)
}

/// A remembered file's text, for the viewer.
#[tauri::command]
#[specta::specta]
pub async fn memory_read_file(app: State<'_, App>, request: MemoryFileRef) -> Reply<String> {
    Ok(app.memory_read_file(request.path).await?)
}

/// Appends a note to today's daily note.
#[tauri::command]
#[specta::specta]
pub async fn memory_remember(app: State<'_, App>, request: Remember) -> Reply<RememberedNote> {
    Ok(app.memory_remember(request.text).await?)
}

/// Downloads the default embedding model and turns memory on.
#[tauri::command]
#[specta::specta]
pub async fn memory_download_embedder(app: State<'_, App>) -> Reply<MemoryStatus> {
    Ok(app.download_embedder().await?)
}

/// Training data at a glance: counts per source, consent, the first-run question.
#[tauri::command]
#[specta::specta]
pub async fn data_overview(app: State<'_, App>) -> Reply<DataOverview> {
    Ok(app.learning().data_overview().await?)
}

/// Gives or withdraws consent for a source.
#[tauri::command]
#[specta::specta]
pub async fn set_consent(app: State<'_, App>, request: SetConsent) -> Reply<DataOverview> {
    Ok(app.learning().set_consent(request).await?)
}

/// Training records, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_trajectories(
    app: State<'_, App>,
    request: TrajectoryQuery,
) -> Reply<Vec<TrajectorySummary>> {
    Ok(app.learning().list_trajectories(request).await?)
}

/// One training record with its provenance.
#[tauri::command]
#[specta::specta]
pub async fn open_trajectory(app: State<'_, App>, request: TrajectoryRef) -> Reply<TrajectoryView> {
    Ok(app.learning().open_trajectory(request.id).await?)
}

/// Deletes a record or a source's records.
#[tauri::command]
#[specta::specta]
pub async fn delete_training_data(app: State<'_, App>, request: DeleteTrainingData) -> Reply<u32> {
    Ok(app.learning().delete_training_data(request).await?)
}

/// Thumbs or an edited answer on an answer in the chat.
#[tauri::command]
#[specta::specta]
pub async fn give_feedback(app: State<'_, App>, request: GiveFeedback) -> Reply<TrajectorySummary> {
    Ok(app.learning().give_feedback(request).await?)
}

/// The Training pane at once: phase, the schedule's conditions checked
/// now, the data ready, progress, the last round, the serving adapter.
#[tauri::command]
#[specta::specta]
pub async fn training_status(app: State<'_, App>) -> Reply<TrainingStatus> {
    Ok(app.learning().training_status().await?)
}

/// "Train now": starts (or resumes) a round in the background.
#[tauri::command]
#[specta::specta]
pub async fn start_training(app: State<'_, App>) -> Reply<TrainingStatus> {
    Ok(app.learning().start_training().await?)
}

/// Pauses the running round at its next example (it checkpoints).
#[tauri::command]
#[specta::specta]
pub async fn pause_training(app: State<'_, App>) -> Reply<TrainingStatus> {
    app.learning().pause_training();
    Ok(app.learning().training_status().await?)
}

/// Arms or disarms "train tonight while charging", with its window and thresholds.
#[tauri::command]
#[specta::specta]
pub async fn set_training_schedule(
    app: State<'_, App>,
    request: TrainingSchedule,
) -> Reply<TrainingStatus> {
    Ok(app.learning().set_training_schedule(request).await?)
}

/// Every adapter version with its metrics, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_adapters(app: State<'_, App>) -> Reply<Vec<AdapterView>> {
    Ok(app.learning().adapter_history().await?)
}

/// Serves an earlier adapter, or the bare base; reloads the model.
#[tauri::command]
#[specta::specta]
pub async fn rollback_adapter(
    app: State<'_, App>,
    request: RollbackRequest,
) -> Reply<Vec<AdapterView>> {
    app.learning()
        .rollback_adapter(request.version.map(|v| v as i64))
        .await?;
    Ok(app.learning().adapter_history().await?)
}

/// The builder that registers every command and exports the bindings.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    // One TypeScript type per Rust type (not separate input/output shapes).
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            app_info,
            list_sessions,
            create_session,
            rename_session,
            delete_session,
            session_messages,
            send_message,
            stop_generation,
            halt_agent,
            resume_agent,
            list_catalog,
            start_download,
            pause_download,
            cancel_download,
            load_model,
            unload_model,
            read_soul_file,
            save_soul_file,
            soul_history,
            restore_soul_version,
            soul_changes,
            decide_soul_change,
            audit_query,
            audit_export,
            security_overview,
            set_soul_sealed,
            get_settings,
            update_gateway,
            reveal_token,
            rotate_token,
            memory_status,
            memory_search,
            memory_add_source,
            memory_forget_source,
            memory_reindex,
            memory_read_file,
            memory_remember,
            memory_download_embedder,
            data_overview,
            set_consent,
            list_trajectories,
            open_trajectory,
            delete_training_data,
            give_feedback,
            training_status,
            start_training,
            pause_training,
            set_training_schedule,
            list_adapters,
            rollback_adapter,
        ])
}
