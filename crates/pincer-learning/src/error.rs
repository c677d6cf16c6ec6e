//! What the learning loop can fail with. The app maps each variant onto its
//! own error of the same meaning, so codes and messages reach the owner
//! unchanged.

use pincer_inference::InferenceError;
use pincer_store::StoreError;

/// An error from the app around the loop (saving settings, reloading the
/// model), kept whole so the app can give it back as it was.
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// Everything the learning loop can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearningError {
    /// From the database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From the trust base (an audit record that could not be written).
    #[error(transparent)]
    Trust(#[from] pincer_trust::TrustError),
    /// From loading or running the model (the judge, tokenising a round).
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// No model is loaded to judge or train with.
    #[error("{}", pincer_trust::refusals::NO_MODEL)]
    NoModel,
    /// The owner halted the agent.
    #[error("{}", pincer_trust::refusals::HALTED)]
    Halted,
    /// A value the caller sent is out of range.
    #[error("{0}")]
    InvalidInput(String),
    /// Not possible now (a round already running, too few turns).
    #[error("{0}")]
    Unavailable(String),
    /// Local file trouble (keeping an adapter).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A training round failed (a damaged run folder, a model that does
    /// not fit the trainer).
    #[error("training failed: {0}")]
    Training(String),
    /// From the app around the loop.
    #[error(transparent)]
    Host(HostError),
    /// The app is shutting down.
    #[error("Pincer is shutting down; start it again to continue")]
    Closing,
}

/// The learning loop's result type.
pub type Result<T> = std::result::Result<T, LearningError>;
