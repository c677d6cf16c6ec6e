// The command table: every command the UI can call, written once. Each
// entry is a command's doc comment, name, request type (the `request`
// field of its arguments), the events it streams, its answer type and its
// body, run on the `App` with `?` turning any service's error into a
// `ControlError`.
//
// `command_table!` hands the table to a macro of the caller's:
// `commands.rs` makes the shared functions, `COMMANDS` and the
// control API's `dispatch` from it; `src-tauri/src/commands.rs` one Tauri
// command each and the TypeScript bindings' builder; `src-tauri/build.rs`
// the permissions and the window's capability file. A command added here
// reaches all of them; `src-tauri/tests/ipc_contract.rs` checks the
// generated bindings and capability file are the ones checked in.

// Plain comments above, not inner docs: `src-tauri/build.rs` includes this
// file as it is.

/// Calls `$consumer! { …every command… }` with the whole table.
#[macro_export]
macro_rules! command_table {
    ($consumer:ident) => {
        $consumer! {
            /// The app at a glance.
            fn app_info(app) -> AppInfo {
                Ok(app.app_info())
            }

            /// Sessions, most recently active first.
            fn list_sessions(app) -> Vec<SessionSummary> {
                Ok(app.list_sessions().await?)
            }

            /// Starts an empty session.
            fn create_session(app, request: CreateSession) -> SessionSummary {
                Ok(app.create_session(request.title).await?)
            }

            /// Renames a session.
            fn rename_session(app, request: RenameSession) -> SessionSummary {
                Ok(app
                    .rename_session(request.session_id, request.title)
                    .await?)
            }

            /// Deletes a session and its messages.
            fn delete_session(app, request: SessionRef) -> () {
                Ok(app.delete_session(request.session_id).await?)
            }

            /// A session's messages.
            fn session_messages(app, request: SessionRef) -> Vec<ChatMessageView> {
                Ok(app.session_messages(request.session_id).await?)
            }

            /// Sends the owner's message; the answer streams through `on_event`.
            fn send_message(app, request: SendMessage) streams(on_event: ChatEvent) -> TurnSummary {
                Ok(app.send_message(request, on_event).await?)
            }

            /// Stops the answer being written in a session.
            fn stop_generation(app, request: SessionRef) -> bool {
                Ok(app.stop_generation(&request.session_id))
            }

            /// The gate's questions about tool calls waiting for the owner.
            fn tool_questions(app) -> Vec<ToolQuestionView> {
                Ok(app.tool_questions())
            }

            /// Answers one of the gate's questions: allow once, allow always or deny.
            fn answer_tool_question(app, request: AnswerToolQuestion) -> () {
                Ok(app.answer_tool_question(request)?)
            }

            /// The tools on offer, the skills found with their vetting, and the sandbox.
            fn tools_overview(app) -> ToolsOverview {
                Ok(app.tools_overview().await?)
            }

            /// Turns a skill on (at the hash its files have now) or off.
            fn set_skill_enabled(app, request: SetSkillEnabled) -> SkillView {
                Ok(app.set_skill_enabled(request).await?)
            }

            /// Lets the agent's tools reach a folder beyond the workspace (read only or writable).
            fn grant_folder(app, request: GrantFolder) -> Vec<FolderView> {
                Ok(app.grant_folder(request).await?)
            }

            /// Takes a granted folder back from the agent's tools.
            fn revoke_folder(app, request: FolderRef) -> Vec<FolderView> {
                Ok(app.revoke_folder(request.path).await?)
            }

            /// Stops every answer and refuses new ones until resumed.
            fn halt_agent(app) -> () {
                app.halt();
                Ok(())
            }

            /// Lets the agent answer again.
            fn resume_agent(app) -> () {
                app.resume();
                Ok(())
            }

            /// The model catalog with this machine's fit and downloads.
            fn list_catalog(app) -> Vec<CatalogModel> {
                Ok(app.catalog())
            }

            /// Starts or resumes a download.
            fn start_download(app, request: CatalogRef) -> DownloadView {
                Ok(app.start_download(&request.id)?)
            }

            /// Pauses a download, keeping its partial file.
            fn pause_download(app, request: CatalogRef) -> DownloadView {
                Ok(app.pause_download(&request.id)?)
            }

            /// Cancels a download and deletes its partial file.
            fn cancel_download(app, request: CatalogRef) -> DownloadView {
                Ok(app.cancel_download(&request.id)?)
            }

            /// Loads a local `.gguf` file or model folder.
            fn load_model(app, request: LoadModel) -> ActiveModel {
                Ok(app.load_model(request.path).await?)
            }

            /// Unloads the model.
            fn unload_model(app) -> () {
                app.unload_model()?;
                Ok(())
            }

            /// Opens a soul file.
            fn read_soul_file(app, request: SoulFileRef) -> SoulFile {
                Ok(app.read_soul_file(request.file).await?)
            }

            /// Saves a soul file as a new version.
            fn save_soul_file(app, request: SaveSoulFile) -> SoulVersionView {
                Ok(app.save_soul_file(request.file, request.content).await?)
            }

            /// A soul file's versions, newest first.
            fn soul_history(app, request: SoulFileRef) -> Vec<SoulVersionView> {
                Ok(app.soul_history(request.file).await?)
            }

            /// Writes an earlier version back.
            fn restore_soul_version(app, request: SoulVersionRef) -> SoulVersionView {
                Ok(app.restore_soul_version(request.version_id).await?)
            }

            /// Changes to protected files waiting for the owner.
            fn soul_changes(app) -> Vec<SoulChange> {
                Ok(app.soul_changes().await?)
            }

            /// Accepts or rejects a waiting change.
            fn decide_soul_change(app, request: SoulDecision) -> SoulFile {
                Ok(app.decide_soul_change(request).await?)
            }

            /// A page of the audit log, with the chain's state.
            fn audit_query(app, request: AuditQuery) -> AuditPage {
                Ok(app.audit_query(request).await?)
            }

            /// The audit log as JSON lines or CSV.
            fn audit_export(app, request: AuditExportRequest) -> String {
                Ok(app.audit_export(request.format).await?)
            }

            /// Settings → Security.
            fn security_overview(app) -> SecurityView {
                Ok(app.security_overview().await?)
            }

            /// Turns sealed mode for the protected files on or off.
            fn set_soul_sealed(app, request: SealRequest) -> SecurityView {
                app.set_soul_sealed(request.on).await?;
                Ok(app.security_overview().await?)
            }

            /// The settings pane's view.
            fn get_settings(app) -> SettingsView {
                Ok(app.settings_view())
            }

            /// Switches the gateway and sets its port.
            fn update_gateway(app, request: GatewaySettings) -> SettingsView {
                Ok(app.update_gateway(request).await?)
            }

            /// The API token, for the owner to copy.
            fn reveal_token(app) -> String {
                Ok(app.reveal_token()?)
            }

            /// A new API token; the old one stops working.
            fn rotate_token(app) -> String {
                Ok(app.rotate_token()?)
            }

            /// The store's condition and background work that failed, for the banner.
            fn app_health(app) -> HealthView {
                Ok(app.health())
            }

            /// Settings → Backups.
            fn backups_overview(app) -> BackupsView {
                Ok(app.backups_view().await?)
            }

            /// Takes a backup now.
            fn take_backup(app) -> BackupsView {
                Ok(app.take_backup_now().await?)
            }

            /// Checks a backup as a restore would.
            fn check_backup(app, request: BackupRef) -> BackupCheckView {
                Ok(app.check_backup(request.id).await?)
            }

            /// Checks a backup and restores it when Pincer next starts.
            fn restore_backup_at_start(app, request: BackupRef) -> BackupsView {
                Ok(app.restore_backup_at_start(request.id).await?)
            }

            /// Takes back the restore waiting for the next start.
            fn cancel_restore_at_start(app) -> BackupsView {
                Ok(app.cancel_restore_at_start().await?)
            }

            /// Chooses the folder new backups go to (none: the data folder's own).
            fn set_backup_folder(app, request: BackupFolder) -> BackupsView {
                Ok(app.set_backup_folder(request.path).await?)
            }

            /// Memory's state: sources, indexing progress, why it is off.
            fn memory_status(app) -> MemoryStatus {
                Ok(app.memory_status()?)
            }

            /// Searches memory by words and meaning.
            fn memory_search(app, request: MemorySearch) -> Vec<MemoryHitView> {
                Ok(app.memory_search(request).await?)
            }

            /// Adds a folder or file to memory; it is indexed in the background.
            fn memory_add_source(app, request: AddMemorySource) -> MemorySourceView {
                Ok(app
                    .memory_add_source(request.path, request.provenance)
                    .await?)
            }

            /// Forgets a source's index (its files stay on disk).
            fn memory_forget_source(app, request: MemorySourceRef) -> MemoryStatus {
                Ok(app.memory_forget_source(request.id).await?)
            }

            /// Rebuilds the memory index from the files, in the background.
            fn memory_reindex(app) -> MemoryStatus {
                Ok(app.memory_reindex()?)
            }

            /// A remembered file's text, for the viewer.
            fn memory_read_file(app, request: MemoryFileRef) -> String {
                Ok(app.memory_read_file(request.path).await?)
            }

            /// Appends a note to today's daily note.
            fn memory_remember(app, request: Remember) -> RememberedNote {
                Ok(app.memory_remember(request.text).await?)
            }

            /// Downloads the default embedding model and turns memory on.
            fn memory_download_embedder(app) -> MemoryStatus {
                Ok(app.download_embedder().await?)
            }

            /// Training data at a glance: counts per source, consent, the first-run question.
            fn data_overview(app) -> DataOverview {
                Ok(app.learning().data_overview().await?)
            }

            /// Gives or withdraws consent for a source.
            fn set_consent(app, request: SetConsent) -> DataOverview {
                Ok(app.learning().set_consent(request).await?)
            }

            /// Training records, newest first.
            fn list_trajectories(app, request: TrajectoryQuery) -> Vec<TrajectorySummary> {
                Ok(app.learning().list_trajectories(request).await?)
            }

            /// One training record with its provenance.
            fn open_trajectory(app, request: TrajectoryRef) -> TrajectoryView {
                Ok(app.learning().open_trajectory(request.id).await?)
            }

            /// Deletes a record or a source's records.
            fn delete_training_data(app, request: DeleteTrainingData) -> u32 {
                Ok(app.learning().delete_training_data(request).await?)
            }

            /// Thumbs or an edited answer on an answer in the chat.
            fn give_feedback(app, request: GiveFeedback) -> TrajectorySummary {
                Ok(app.learning().give_feedback(request).await?)
            }

            /// The Training pane at once: phase, the schedule's conditions checked
            /// now, the data ready, progress, the last round, the serving adapter.
            fn training_status(app) -> TrainingStatus {
                Ok(app.learning().training_status().await?)
            }

            /// "Train now": starts (or resumes) a round in the background.
            fn start_training(app) -> TrainingStatus {
                Ok(app.learning().start_training().await?)
            }

            /// Pauses the running round at its next example (it checkpoints).
            fn pause_training(app) -> TrainingStatus {
                app.learning().pause_training();
                Ok(app.learning().training_status().await?)
            }

            /// Arms or disarms "train tonight while charging", with its window and thresholds.
            fn set_training_schedule(app, request: TrainingSchedule) -> TrainingStatus {
                Ok(app.learning().set_training_schedule(request).await?)
            }

            /// Every adapter version with its metrics, newest first.
            fn list_adapters(app) -> Vec<AdapterView> {
                Ok(app.learning().adapter_history().await?)
            }

            /// Serves an earlier adapter, or the bare base; reloads the model.
            fn rollback_adapter(app, request: RollbackRequest) -> Vec<AdapterView> {
                app.learning()
                    .rollback_adapter(request.version.map(|v| v as i64))
                    .await?;
                Ok(app.learning().adapter_history().await?)
            }
        }
    };
}
