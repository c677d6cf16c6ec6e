//! The command set, by name: what the desktop shell exposes as Tauri
//! commands and the gateway serves as its control API (`POST
//! /api/control/{command}`), so the UI runs the same against either.
//!
//! Arguments arrive as Tauri sends them: an object whose `request` field
//! holds the command's request type, and `onEvent` for the streaming chat.

use crate::ipc::*;
use crate::{App, AppError, ErrorCode};
use pincer_inference::InferenceError;
use pincer_workspace::WorkspaceError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Receives a streamed answer's events; returns `false` once its reader
/// has gone away (the window closed, the HTTP client hung up), which stops
/// the answer.
pub type EventSink = Box<dyn FnMut(ChatEvent) -> bool + Send>;

/// Every command's name, as in `ui/src/bindings.ts`.
pub const COMMANDS: &[&str] = &[
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

impl From<&AppError> for ControlError {
    fn from(error: &AppError) -> Self {
        let kind = match error {
            AppError::NoModel => ErrorKind::NoModel,
            AppError::Halted => ErrorKind::Halted,
            AppError::Unavailable(_) => ErrorKind::Unavailable,
            AppError::Io { .. }
            | AppError::Workspace(WorkspaceError::Io { .. } | WorkspaceError::NotText { .. })
            | AppError::Inference(InferenceError::Io { .. }) => ErrorKind::Io,
            AppError::Inference(
                InferenceError::ModelNotFound { .. }
                | InferenceError::InvalidModel { .. }
                | InferenceError::UnsupportedModel { .. }
                | InferenceError::LoadFailed { .. },
            ) => ErrorKind::InvalidInput,
            other => match other.code() {
                ErrorCode::InvalidRequest => ErrorKind::InvalidInput,
                ErrorCode::NotFound => ErrorKind::NotFound,
                ErrorCode::Busy => ErrorKind::Busy,
                ErrorCode::Internal => ErrorKind::Internal,
            },
        };
        ControlError::new(kind, error.to_string())
    }
}

impl From<AppError> for ControlError {
    fn from(error: AppError) -> Self {
        Self::from(&error)
    }
}

impl From<pincer_learning::LearningError> for ControlError {
    fn from(error: pincer_learning::LearningError) -> Self {
        Self::from(AppError::from(error))
    }
}

impl App {
    /// The app at a glance.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            mode: self.mode(),
            data_dir: self.data_dir().display().to_string(),
            model: self.active_model(),
            halted: self.is_halted(),
        }
    }
}

fn request<T: DeserializeOwned>(command: &str, args: &Value) -> Result<T, ControlError> {
    let value = args.get("request").cloned().unwrap_or(Value::Null);
    serde_path_to_error::deserialize(value).map_err(|error| {
        ControlError::new(
            ErrorKind::InvalidInput,
            format!(
                "`{command}` got a bad `request.{}`: {}",
                error.path(),
                error.inner()
            ),
        )
    })
}

fn json<T: serde::Serialize>(value: T) -> Result<Value, ControlError> {
    serde_json::to_value(value).map_err(|e| ControlError::new(ErrorKind::Internal, e.to_string()))
}

/// Runs `command` with Tauri-shaped `args`. `sink` receives the events of
/// `send_message`; other commands ignore it.
pub async fn dispatch(
    app: &App,
    command: &str,
    args: Value,
    sink: Option<EventSink>,
) -> Result<Value, ControlError> {
    let a = &args;
    match command {
        "app_info" => json(app.app_info()),
        "list_sessions" => json(app.list_sessions().await?),
        "create_session" => json(
            app.create_session(request::<CreateSession>(command, a)?.title)
                .await?,
        ),
        "rename_session" => {
            let r: RenameSession = request(command, a)?;
            json(app.rename_session(r.session_id, r.title).await?)
        }
        "delete_session" => json(
            app.delete_session(request::<SessionRef>(command, a)?.session_id)
                .await?,
        ),
        "session_messages" => json(
            app.session_messages(request::<SessionRef>(command, a)?.session_id)
                .await?,
        ),
        "send_message" => {
            let sink = sink.unwrap_or_else(|| Box::new(|_| true));
            json(app.send_message(request(command, a)?, sink).await?)
        }
        "stop_generation" => {
            json(app.stop_generation(&request::<SessionRef>(command, a)?.session_id))
        }
        "halt_agent" => json(app.halt()),
        "resume_agent" => json(app.resume()),
        "list_catalog" => json(app.catalog()),
        "start_download" => json(app.start_download(&request::<CatalogRef>(command, a)?.id)?),
        "pause_download" => json(app.pause_download(&request::<CatalogRef>(command, a)?.id)?),
        "cancel_download" => json(app.cancel_download(&request::<CatalogRef>(command, a)?.id)?),
        "load_model" => json(
            app.load_model(request::<LoadModel>(command, a)?.path)
                .await?,
        ),
        "unload_model" => json(app.unload_model()),
        "read_soul_file" => json(
            app.read_soul_file(request::<SoulFileRef>(command, a)?.file)
                .await?,
        ),
        "save_soul_file" => {
            let r: SaveSoulFile = request(command, a)?;
            json(app.save_soul_file(r.file, r.content).await?)
        }
        "soul_history" => json(
            app.soul_history(request::<SoulFileRef>(command, a)?.file)
                .await?,
        ),
        "restore_soul_version" => json(
            app.restore_soul_version(request::<SoulVersionRef>(command, a)?.version_id)
                .await?,
        ),
        "soul_changes" => json(app.soul_changes().await?),
        "decide_soul_change" => json(
            app.decide_soul_change(request::<SoulDecision>(command, a)?)
                .await?,
        ),
        "audit_query" => json(app.audit_query(request::<AuditQuery>(command, a)?).await?),
        "audit_export" => json(
            app.audit_export(request::<AuditExportRequest>(command, a)?.format)
                .await?,
        ),
        "security_overview" => json(app.security_overview().await?),
        "set_soul_sealed" => {
            app.set_soul_sealed(request::<SealRequest>(command, a)?.on)
                .await?;
            json(app.security_overview().await?)
        }
        "get_settings" => json(app.settings_view()),
        "update_gateway" => json(app.update_gateway(request(command, a)?).await?),
        "reveal_token" => json(app.reveal_token()),
        "rotate_token" => json(app.rotate_token()?),
        "memory_status" => json(app.memory_status()?),
        "memory_search" => json(app.memory_search(request(command, a)?).await?),
        "memory_add_source" => {
            let r: AddMemorySource = request(command, a)?;
            json(app.memory_add_source(r.path, r.provenance).await?)
        }
        "memory_forget_source" => json(
            app.memory_forget_source(request::<MemorySourceRef>(command, a)?.id)
                .await?,
        ),
        "memory_reindex" => json(app.memory_reindex()?),
        "memory_read_file" => json(
            app.memory_read_file(request::<MemoryFileRef>(command, a)?.path)
                .await?,
        ),
        "memory_remember" => json(
            app.memory_remember(request::<Remember>(command, a)?.text)
                .await?,
        ),
        "memory_download_embedder" => json(app.download_embedder().await?),
        "data_overview" => json(app.learning().data_overview().await?),
        "set_consent" => json(app.learning().set_consent(request(command, a)?).await?),
        "list_trajectories" => json(
            app.learning()
                .list_trajectories(request(command, a)?)
                .await?,
        ),
        "open_trajectory" => json(
            app.learning()
                .open_trajectory(request::<TrajectoryRef>(command, a)?.id)
                .await?,
        ),
        "delete_training_data" => json(
            app.learning()
                .delete_training_data(request(command, a)?)
                .await?,
        ),
        "give_feedback" => json(app.learning().give_feedback(request(command, a)?).await?),
        "training_status" => json(app.learning().training_status().await?),
        "start_training" => json(app.learning().start_training().await?),
        "pause_training" => {
            app.learning().pause_training();
            json(app.learning().training_status().await?)
        }
        "set_training_schedule" => json(
            app.learning()
                .set_training_schedule(request(command, a)?)
                .await?,
        ),
        "list_adapters" => json(app.learning().adapter_history().await?),
        "rollback_adapter" => {
            let version = request::<RollbackRequest>(command, a)?.version;
            app.learning()
                .rollback_adapter(version.map(|v| v as i64))
                .await?;
            json(app.learning().adapter_history().await?)
        }
        other => Err(ControlError::new(
            ErrorKind::NotFound,
            format!("there is no command `{other}`"),
        )),
    }
}
