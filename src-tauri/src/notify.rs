//! Native notifications for things that finish while the owner looks elsewhere.

use pincer_app::ipc::TurnSummary;
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
