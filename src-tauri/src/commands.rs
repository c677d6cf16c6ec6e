//! The Tauri commands, made from the app's command table
//! (`crates/pincer-app/src/command_table.rs`): each translates one IPC call
//! to the same function the gateway's control API runs, with nothing of its
//! own but the desktop's side effects ([`before`], [`after`]: the startup
//! probe, the tray's halt item, the answer's notification).
//! `ui/src/bindings.ts` is generated from here.

use pincer_app::ipc::*;
use pincer_app::{App, EventSink};
use std::any::Any;
use tauri::ipc::Channel;
use tauri::{Manager, State};

/// A command's result as the UI receives it.
type Reply<T> = Result<T, ControlError>;

/// A streamed answer's sink that sends each event down the window's channel.
fn sink(channel: Channel<ChatEvent>) -> EventSink {
    Box::new(move |event| channel.send(event).is_ok())
}

/// The commands the desktop adds side effects to, by name (the contract
/// test checks each is in the table, so a rename cannot drop one silently).
pub const WITH_SIDE_EFFECTS: &[&str] = &["app_info", "send_message", "halt_agent", "resume_agent"];

/// What the desktop does as a command starts.
fn before(command: &str) {
    // The UI's first call: the window is drawn, its code runs and IPC works.
    // `benches/desktop_start.py` times the cold start up to this line.
    static FIRST: std::sync::Once = std::sync::Once::new();
    if command == "app_info" {
        FIRST.call_once(|| {
            if std::env::var_os("PINCER_STARTUP_PROBE").is_some() {
                eprintln!("pincer-desktop: interactive");
            }
        });
    }
}

/// What the desktop does once a command succeeded.
fn after(window: &tauri::Window, command: &str, answer: &dyn Any) {
    match command {
        "send_message" => {
            if let Some(summary) = answer.downcast_ref::<TurnSummary>() {
                crate::notify::answer_finished(window, summary);
            }
        }
        "halt_agent" | "resume_agent" => {
            if let Some(tray) = window.try_state::<crate::tray::TrayMenu>() {
                tray.show_halted(command == "halt_agent");
            }
        }
        _ => {}
    }
}

macro_rules! tauri_commands {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($app:ident $(, $request:ident: $request_type:ty)?)
            $(streams($events:ident: $event:ty))? -> $answer:ty $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command]
            #[specta::specta]
            pub async fn $name(
                app: State<'_, App>,
                window: tauri::Window
                $(, $request: $request_type)?
                $(, $events: Channel<$event>)?
            ) -> Reply<$answer> {
                before(stringify!($name));
                let answer =
                    pincer_app::commands::$name(&app $(, $request)? $(, sink($events))?).await?;
                after(&window, stringify!($name), &answer);
                Ok(answer)
            }
        )*

        /// The builder that registers every command and exports the bindings.
        pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
            // One TypeScript type per Rust type (not separate input/output shapes).
            tauri_specta::Builder::<tauri::Wry>::new()
                .disable_serde_phases()
                .commands(tauri_specta::collect_commands![$($name),*])
        }
    };
}

pincer_app::command_table!(tauri_commands);
