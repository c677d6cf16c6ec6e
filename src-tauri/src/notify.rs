//! Native notifications for things that finish while the owner looks elsewhere.

use pincer_app::ipc::{RoundSummary, TurnSummary};
use tauri::Manager;
use tauri_plugin_notification::NotificationExt;

/// Tells the owner an answer is ready, unless the window has the focus.
pub fn answer_finished(window: &tauri::Window, summary: &TurnSummary) {
    if window.is_focused().unwrap_or(true) {
        return;
    }
    let preview: String = summary.answer.chars().take(120).collect();
    let shown = window
        .app_handle()
        .notification()
        .builder()
        .title("Pincer answered")
        .body(preview)
        .show();
    if let Err(error) = shown {
        tracing::debug!(%error, "cannot show a notification");
    }
}

/// Tells the owner how each training round ended (promoted, rejected and
/// why, paused, failed), whatever has the focus: rounds run unattended.
pub async fn training_ends(
    handle: tauri::AppHandle,
    mut ends: tokio::sync::broadcast::Receiver<RoundSummary>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match ends.recv().await {
            Ok(summary) => {
                let (title, body) = summary.notification();
                if let Err(error) = handle
                    .notification()
                    .builder()
                    .title(title)
                    .body(body)
                    .show()
                {
                    tracing::debug!(%error, "cannot show a notification");
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    }
}
