//! The typed command set's payloads: every request, answer and event the UI
//! exchanges with the app, over Tauri IPC or the gateway's control API.
//!
//! All of them derive `specta::Type`, from which `ui/src/bindings.ts` is
//! generated. Integers that may pass 2^53 are never sent (JavaScript numbers
//! cannot hold them): times are `f64` Unix seconds, sizes `f64` bytes.
//!
//! One module per area, apart from the logic that fills them; every type is
//! re-exported here, so `ipc::X` names each one.

mod audit;
mod backups;
mod chat;
mod error;
mod memory;
mod models;
mod settings;
mod soul;
mod tools;

pub use audit::*;
pub use backups::*;
pub use chat::*;
pub use error::*;
pub use memory::*;
pub use models::*;
pub use settings::*;
pub use soul::*;
pub use tools::*;

pub use pincer_learning::{
    AdapterView, ConditionCheck, RollbackRequest, RoundSummary, TrainingPhase, TrainingProgress,
    TrainingSchedule, TrainingStatus,
};
pub use pincer_learning::{
    ConsentView, DataOverview, DeleteTrainingData, GiveFeedback, RecordMessage, SetConsent,
    SourceData, TrajectoryQuery, TrajectoryRef, TrajectorySummary, TrajectoryView, VoteView,
};
