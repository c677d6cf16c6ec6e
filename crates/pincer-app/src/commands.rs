//! The commands as functions, made from the table in `command_table.rs`:
//! one `async fn` per command, which the desktop's Tauri commands call, and
//! [`dispatch`], by which the gateway's control API runs one by name.

use crate::control::{json, request};
use crate::ipc::*;
use crate::{App, EventSink};
use serde_json::Value;

/// A streaming command's name (its events group names the sink).
macro_rules! streaming_name {
    ($name:ident, $events:ident) => {
        stringify!($name)
    };
}

macro_rules! app_commands {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($app:ident $(, $request:ident: $request_type:ty)?)
            $(streams($events:ident: $event:ty))? -> $answer:ty $body:block
    )*) => {
        /// Every command's name, as in `ui/src/bindings.ts`.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// The commands that stream events (`send_message`): the control
        /// API answers them as JSON lines.
        pub const STREAMING: &[&str] = &[$($(streaming_name!($name, $events),)?)*];

        $(
            $(#[doc = $doc])*
            pub async fn $name(
                $app: &App
                $(, $request: $request_type)?
                $(, $events: EventSink)?
            ) -> Result<$answer, ControlError> $body
        )*

        /// Runs `command` with Tauri-shaped `args`. `sink` receives the
        /// events of a streaming command (`send_message`); the others
        /// ignore it.
        pub async fn dispatch(
            app: &App,
            command: &str,
            args: Value,
            sink: Option<EventSink>,
        ) -> Result<Value, ControlError> {
            let mut sink = sink;
            $(
                if command == stringify!($name) {
                    return json(
                        $name(
                            app
                            $(, request::<$request_type>(command, &args)?)?
                            $(, {
                                let $events: EventSink =
                                    sink.take().unwrap_or_else(|| Box::new(|_: $event| true));
                                $events
                            })?
                        )
                        .await?,
                    );
                }
            )*
            Err(ControlError::new(
                ErrorKind::NotFound,
                format!("there is no command `{command}`"),
            ))
        }
    };
}

crate::command_table!(app_commands);
