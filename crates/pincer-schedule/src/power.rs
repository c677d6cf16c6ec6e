//! Whether the machine runs on external power, read from the kernel's
//! power-supply class (`/sys/class/power_supply`, see the kernel's
//! `sysfs-class-power` ABI). The root is a parameter so tests point the
//! same reader at a fixture tree and unplug it mid-run.
//!
//! The rule: an adapter (`Mains`, `USB`, `Wireless`) reporting `online` 1
//! means external power; with no system battery at all the machine is a
//! desktop and runs on mains; otherwise a system battery that is not
//! `Discharging` (charging, full, or held at a charge threshold) means it
//! is plugged in. Anything unreadable is *not* on power: training never
//! starts on a guess.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where Linux publishes power supplies.
pub const SYSFS_POWER_SUPPLY: &str = "/sys/class/power_supply";

/// What the reader found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerState {
    /// Plugged in (or a desktop without a battery).
    pub external: bool,
    /// Why, in words the owner can check ("AC online", "BAT0 discharging").
    pub detail: String,
}

/// Reads the power supplies under one root.
#[derive(Clone, Debug)]
pub struct PowerReader {
    root: PathBuf,
}

impl Default for PowerReader {
    fn default() -> Self {
        Self::new(SYSFS_POWER_SUPPLY)
    }
}

struct Supply {
    name: String,
    kind: String,
    online: Option<bool>,
    status: Option<String>,
    device_scope: bool,
}

impl PowerReader {
    /// A reader of the supplies under `root` (normally [`SYSFS_POWER_SUPPLY`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder it reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The power state now.
    pub fn read(&self) -> PowerState {
        if !cfg!(target_os = "linux") && self.root == Path::new(SYSFS_POWER_SUPPLY) {
            return PowerState {
                external: false,
                detail: "the power state cannot be read on this system yet; training waits".into(),
            };
        }
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            // No power-supply class at all: a desktop or a server.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return PowerState {
                    external: true,
                    detail: "no battery (a desktop runs on mains)".into(),
                }
            }
            Err(error) => {
                return PowerState {
                    external: false,
                    detail: format!("cannot read {}: {error}", self.root.display()),
                }
            }
        };
        let mut supplies: Vec<Supply> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| read_supply(&entry.path()))
            .collect();
        supplies.sort_by(|a, b| a.name.cmp(&b.name));
        decide(&supplies)
    }
}

fn read_supply(dir: &Path) -> Supply {
    let field = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    Supply {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        kind: field("type").unwrap_or_default(),
        online: field("online").map(|v| v == "1"),
        status: field("status"),
        device_scope: field("scope").is_some_and(|s| s.eq_ignore_ascii_case("device")),
    }
}

fn decide(supplies: &[Supply]) -> PowerState {
    let adapters = supplies
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "Mains" | "USB" | "Wireless"));
    for adapter in adapters.clone() {
        if adapter.online == Some(true) {
            return PowerState {
                external: true,
                detail: format!("{} online", adapter.name),
            };
        }
    }
    let batteries: Vec<&Supply> = supplies
        .iter()
        .filter(|s| s.kind == "Battery" && !s.device_scope)
        .collect();
    if batteries.is_empty() {
        return PowerState {
            external: true,
            detail: "no battery (a desktop runs on mains)".into(),
        };
    }
    let describe = |b: &Supply| {
        format!(
            "{} {}",
            b.name,
            b.status
                .as_deref()
                .unwrap_or("status unknown")
                .to_lowercase()
        )
    };
    let discharging: Vec<String> = batteries
        .iter()
        .filter(|b| {
            b.status.as_deref() != Some("Charging")
                && b.status.as_deref() != Some("Full")
                && b.status.as_deref() != Some("Not charging")
        })
        .map(|b| describe(b))
        .collect();
    if discharging.is_empty() {
        let all: Vec<String> = batteries.iter().map(|b| describe(b)).collect();
        return PowerState {
            external: true,
            detail: all.join(", "),
        };
    }
    let unplugged = adapters
        .map(|a| format!("{} offline", a.name))
        .chain(discharging)
        .collect::<Vec<_>>()
        .join(", ");
    PowerState {
        external: false,
        detail: format!("on battery ({unplugged})"),
    }
}
