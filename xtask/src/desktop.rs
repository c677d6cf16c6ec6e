//! Desktop fixtures for tests: a private D-Bus bus (a real `dbus-daemon`
//! of its own) and, on it, an idle monitor answering as GNOME's does, so the
//! schedule's real idle reader can be pointed at input idle times a test
//! sets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A `dbus-daemon` of the test's own, stopped when dropped.
pub struct PrivateBus {
    daemon: Child,
    address: String,
}

impl PrivateBus {
    /// Starts a session-type bus; needs `dbus-daemon` (Debian's `dbus`).
    pub fn start() -> anyhow::Result<Self> {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("starting dbus-daemon ({e}); install Debian's dbus package")
            })?;
        let mut line = String::new();
        let stdout = daemon
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("dbus-daemon gave no stdout"))?;
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        anyhow::ensure!(!address.is_empty(), "dbus-daemon printed no address");
        Ok(Self { daemon, address })
    }

    /// The bus's address, for a D-Bus client.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// GNOME's `org.gnome.Mutter.IdleMonitor` on a bus, reporting the input
/// idle time the test sets (in milliseconds).
pub struct IdleMonitor {
    idle_ms: Arc<AtomicU64>,
    _connection: zbus::blocking::Connection,
}

struct Monitor(Arc<AtomicU64>);

#[zbus::interface(name = "org.gnome.Mutter.IdleMonitor")]
impl Monitor {
    fn get_idletime(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl IdleMonitor {
    /// Serves the monitor on `bus`, starting at `idle_ms`.
    pub fn serve(bus: &PrivateBus, idle_ms: u64) -> anyhow::Result<Self> {
        let idle = Arc::new(AtomicU64::new(idle_ms));
        let connection = zbus::blocking::connection::Builder::address(bus.address())?
            .name("org.gnome.Mutter.IdleMonitor")?
            .serve_at(
                "/org/gnome/Mutter/IdleMonitor/Core",
                Monitor(Arc::clone(&idle)),
            )?
            .build()?;
        Ok(Self {
            idle_ms: idle,
            _connection: connection,
        })
    }

    /// Sets the idle time the monitor reports from now on.
    pub fn set_idle_ms(&self, idle_ms: u64) {
        self.idle_ms.store(idle_ms, Ordering::SeqCst);
    }
}
