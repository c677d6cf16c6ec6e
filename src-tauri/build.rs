//! Reads the root `tauri.conf.json` (the one the Tauri CLI uses too) and
//! declares Pincer's commands from the app's command table, so each becomes
//! a permission; `capabilities/main-window.json` is written from the same
//! table, granting exactly those (least privilege) besides the event and
//! preference-store permissions the window needs.

include!("../crates/pincer-app/src/command_table.rs");

/// The table's command names, lowest-level view: nothing but the names.
macro_rules! command_names {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($app:ident $(, $request:ident: $request_type:ty)?)
            $(streams($events:ident: $event:ty))? -> $answer:ty $body:block
    )*) => {
        &[$(stringify!($name)),*]
    };
}

/// Every Tauri command, from the table.
const COMMANDS: &[&str] = command_table!(command_names);

/// What the main window may call besides the commands.
const WINDOW_PERMISSIONS: &[&str] = &[
    "core:event:allow-listen",
    "core:event:allow-unlisten",
    "store:default",
];

const CAPABILITY_FILE: &str = "capabilities/main-window.json";

/// The main window's capability: its fixed permissions, then one
/// `allow-<command>` per command in the table's order.
fn capability() -> String {
    let permissions: Vec<String> = WINDOW_PERMISSIONS
        .iter()
        .map(|p| p.to_string())
        .chain(
            COMMANDS
                .iter()
                .map(|c| format!("allow-{}", c.replace('_', "-"))),
        )
        .map(|p| format!("    \"{p}\""))
        .collect();
    format!(
        r#"{{
  "$schema": "../gen/schemas/desktop-schema.json",
  "identifier": "main-window",
  "description": "What the main window may call: Pincer's own commands, events and the UI preference store. No shell, fs, http or process plugin is installed or granted. Written by src-tauri/build.rs from the command table; do not edit.",
  "windows": [
    "main"
  ],
  "permissions": [
{}
  ]
}}
"#,
        permissions.join(",\n")
    )
}

fn main() {
    // The built UI is embedded by `generate_context!`; rebuild when it changes.
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=../crates/pincer-app/src/command_table.rs");
    let wanted = capability();
    if std::fs::read_to_string(CAPABILITY_FILE).ok().as_deref() != Some(wanted.as_str()) {
        std::fs::write(CAPABILITY_FILE, wanted)
            .expect("cannot write src-tauri/capabilities/main-window.json");
    }
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes)
        .expect("tauri-build failed: check tauri.conf.json and src-tauri/capabilities");
}
