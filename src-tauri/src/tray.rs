//! The tray icon: Open, Halt agent / Resume agent, Quit.

use pincer_app::App;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

/// The tray's halt item, kept to relabel it when the agent is halted or resumed.
pub struct TrayMenu {
    halt: MenuItem<Wry>,
}

impl TrayMenu {
    /// Shows whether the agent is halted.
    pub fn show_halted(&self, halted: bool) {
        let label = if halted { "Resume agent" } else { "Halt agent" };
        if let Err(error) = self.halt.set_text(label) {
            tracing::warn!(%error, "cannot relabel the tray menu");
        }
    }
}

/// Builds the tray and registers [`TrayMenu`] as state.
pub fn install(handle: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(handle, "open", "Open Pincer", true, None::<&str>)?;
    let halt = MenuItem::with_id(handle, "halt", "Halt agent", true, None::<&str>)?;
    let quit = MenuItem::with_id(handle, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(handle, &[&open, &halt, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Pincer")
        .menu(&menu)
        .on_menu_event(|handle, event| match event.id().as_ref() {
            "open" => show_main_window(handle),
            "halt" => {
                let app = handle.state::<App>();
                let halted = !app.is_halted();
                if halted {
                    app.halt();
                } else {
                    app.resume();
                }
                handle.state::<TrayMenu>().show_halted(halted);
            }
            "quit" => handle.exit(0),
            _ => {}
        });
    if let Some(icon) = handle.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(handle)?;
    handle.manage(TrayMenu { halt });
    Ok(())
}

/// Brings the main window to the front.
pub fn show_main_window(handle: &AppHandle) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
