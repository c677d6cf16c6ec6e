//! Crate layers: every workspace crate declares its layer in its Cargo.toml
//! (`[package.metadata.pincer] layer = "…"`), and its normal and build
//! dependencies on other workspace crates sit on the same layer or below.
//! Dev-dependencies are free (tests may use `xtask` from anywhere).

use serde_json::Value;
use std::process::Command;

/// The layers, lowest first, each with what belongs there: a crate may depend
/// on crates of its own layer or a lower one, never a higher one.
const LAYERS: &[(&str, &str)] = &[
    (
        "foundation",
        "secrets, sealing, leak guard, the database, the workspace folder, scheduling: no models, no agents",
    ),
    (
        "trust",
        "pincer-trust: keys, the typed audit log, protected files, the outbound check, pairing, secret-free configs and logs",
    ),
    (
        "capability",
        "one thing the assistant can do on its own: inference, memory, training (later sandbox, mcp)",
    ),
    (
        "service",
        "behaviour that combines capabilities: agent, learning (later policy, router, federated)",
    ),
    (
        "composition",
        "pincer-app: builds every service from one config; the command set transports expose",
    ),
    (
        "transport",
        "ways in from outside: the HTTP gateway, the CLI, the desktop shell",
    ),
    (
        "tool",
        "developer tooling (xtask): may depend on anything, nothing ships depending on it",
    ),
];

/// The position of `layer` in [`LAYERS`] (0 = lowest), or `None` if unknown.
fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|(name, _)| *name == layer)
}

/// "foundation < trust < … < tool".
fn order() -> String {
    LAYERS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(" < ")
}

/// A package's declared layer, if any.
fn declared_layer(package: &Value) -> Option<&str> {
    package
        .pointer("/metadata/pincer/layer")
        .and_then(Value::as_str)
}

/// The declared layer of the workspace package called `name`, if any.
fn layer_of<'a>(packages: &[&'a Value], name: &str) -> Option<&'a str> {
    packages
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .copied()
        .and_then(declared_layer)
}

/// Every breach of the layer rules in `cargo metadata` output: workspace
/// packages without a known layer, and normal or build dependencies on a
/// workspace package of a higher layer. Empty when the workspace is sound.
fn violations(metadata: &Value) -> Vec<String> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let packages: Vec<&Value> = metadata["packages"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)))
                .collect()
        })
        .unwrap_or_default();

    let mut found = Vec::new();
    for package in &packages {
        let name = package["name"].as_str().unwrap_or("<unnamed>");
        let Some(layer) = declared_layer(package) else {
            found.push(format!(
                "{name} declares no layer: add `[package.metadata.pincer]` with \
                 `layer = \"…\"` at the end of its Cargo.toml; layers, lowest first: {}",
                order()
            ));
            continue;
        };
        let Some(own) = rank(layer) else {
            found.push(format!(
                "{name} declares an unknown layer \"{layer}\": use one of the known layers, \
                 lowest first: {}",
                order()
            ));
            continue;
        };
        let dependencies = package["dependencies"].as_array().into_iter().flatten();
        for dependency in dependencies {
            let kind = dependency["kind"].as_str();
            let verb = match kind {
                None | Some("normal") => "depends on",
                Some("build") => "build-depends on",
                Some(_) => continue, // dev-dependencies may point anywhere
            };
            let Some(target) = dependency["name"].as_str() else {
                continue;
            };
            // Not a workspace crate, or one that is itself reported above.
            let Some(target_layer) = layer_of(&packages, target) else {
                continue;
            };
            let Some(theirs) = rank(target_layer) else {
                continue;
            };
            if theirs > own {
                let message = format!(
                    "{name} ({layer}) {verb} {target} ({target_layer}), a layer above it: \
                     move the shared code down or the dependency up; layers, lowest first: {}",
                    order()
                );
                if !found.contains(&message) {
                    found.push(message);
                }
            }
        }
    }
    found
}

/// `cargo metadata --no-deps` for this workspace (no network, no compiling).
fn workspace_metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Read when the test runs (cargo sets it), not when it was built: a
    // build reused from a checkout elsewhere would point there.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    );
    let manifest = dir.join("../Cargo.toml");
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("run {cargo:?} metadata: {e}"));
    assert!(
        output.status.success(),
        "cargo metadata failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn workspace_dependencies_point_down_the_layers() {
    let metadata = workspace_metadata();
    let packages = metadata["packages"].as_array().map_or(0, Vec::len);
    assert!(packages > 1, "cargo metadata listed {packages} packages");

    let found = violations(&metadata);
    let legend: Vec<String> = LAYERS
        .iter()
        .map(|(name, holds)| format!("  {name}: {holds}"))
        .collect();
    assert!(
        found.is_empty(),
        "{} layer violation(s):\n- {}\n\nlayers, lowest first:\n{}",
        found.len(),
        found.join("\n- "),
        legend.join("\n")
    );
}

#[test]
fn violations_reports_upward_dependencies_and_missing_layers() {
    let mut metadata = serde_json::json!({
        "workspace_members": ["store-id", "app-id", "xtask-id", "bare-id", "odd-id"],
        "packages": [
            {
                "id": "store-id",
                "name": "pincer-store",
                "metadata": { "pincer": { "layer": "foundation" } },
                "dependencies": [
                    { "name": "pincer-app", "kind": null },
                    { "name": "xtask", "kind": "dev" },
                    { "name": "xtask", "kind": "build" },
                    { "name": "serde_json", "kind": null }
                ]
            },
            {
                "id": "app-id",
                "name": "pincer-app",
                "metadata": { "pincer": { "layer": "composition" } },
                "dependencies": [
                    { "name": "pincer-store", "kind": null },
                    { "name": "xtask", "kind": "dev" }
                ]
            },
            {
                "id": "xtask-id",
                "name": "xtask",
                "metadata": { "pincer": { "layer": "tool" } },
                "dependencies": [ { "name": "pincer-app", "kind": null } ]
            },
            { "id": "bare-id", "name": "bare", "metadata": null, "dependencies": [] },
            {
                "id": "odd-id",
                "name": "odd",
                "metadata": { "pincer": { "layer": "middleware" } },
                "dependencies": []
            }
        ]
    });

    let found = violations(&metadata);
    let layers = order();
    assert_eq!(
        found,
        [
            format!(
                "pincer-store (foundation) depends on pincer-app (composition), a layer above it: \
                 move the shared code down or the dependency up; layers, lowest first: {layers}"
            ),
            format!(
                "pincer-store (foundation) build-depends on xtask (tool), a layer above it: \
                 move the shared code down or the dependency up; layers, lowest first: {layers}"
            ),
            format!(
                "bare declares no layer: add `[package.metadata.pincer]` with `layer = \"…\"` \
                 at the end of its Cargo.toml; layers, lowest first: {layers}"
            ),
            format!(
                "odd declares an unknown layer \"middleware\": use one of the known layers, \
                 lowest first: {layers}"
            ),
        ]
    );

    // The same workspace without the upward edges and the bad packages is clean.
    metadata["workspace_members"] = serde_json::json!(["app-id", "xtask-id"]);
    let sound = violations(&metadata);
    assert!(sound.is_empty(), "{sound:?}");
}
