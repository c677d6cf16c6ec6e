//! How long the owner has been away from the whole machine, not just from
//! Pincer: the time since the desktop last saw keyboard or pointer input.
//!
//! GNOME (on Wayland and X11) publishes it on the session bus as
//! `org.gnome.Mutter.IdleMonitor.GetIdletime` (milliseconds, on
//! `/org/gnome/Mutter/IdleMonitor/Core`). Where nothing answers (no session
//! bus on a headless server, another desktop), the reading is unknown and
//! the schedule counts only the time since the owner last chatted.
//!
//! The bus address is a parameter, so tests point the same reader at a bus
//! of their own with a fixture monitor on it.
//!
//! Why not the `user-idle` crate: its X11 backend dereferences a failed
//! `XOpenDisplay` (a crash without a display) and links libXss; its D-Bus
//! backend needs libdbus and asks for the screensaver's *active* time.

use std::sync::Mutex;
use std::time::Duration;
use zbus::blocking::Connection;

const MUTTER: &str = "org.gnome.Mutter.IdleMonitor";
const MUTTER_PATH: &str = "/org/gnome/Mutter/IdleMonitor/Core";

/// Which bus to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Bus {
    /// The desktop session's (`DBUS_SESSION_BUS_ADDRESS`).
    Session,
    /// A bus at this address (tests).
    Address(String),
}

/// One reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdleReading {
    /// Time since the last input, when the desktop reports it.
    pub idle: Option<Duration>,
    /// Where it came from, or why it is unknown.
    pub detail: String,
}

/// Reads the desktop's input idle time.
#[derive(Debug)]
pub struct IdleReader {
    bus: Bus,
    connection: Mutex<Option<Connection>>,
}

impl Default for IdleReader {
    fn default() -> Self {
        Self::session()
    }
}

impl IdleReader {
    /// A reader of the desktop session's bus.
    pub fn session() -> Self {
        Self {
            bus: Bus::Session,
            connection: Mutex::new(None),
        }
    }

    /// A reader of the bus at `address` (e.g. `unix:path=/tmp/bus`).
    pub fn at_address(address: impl Into<String>) -> Self {
        Self {
            bus: Bus::Address(address.into()),
            connection: Mutex::new(None),
        }
    }

    /// The idle time now. Connects on first use and again after a failure,
    /// so a desktop that starts later is found.
    pub fn read(&self) -> IdleReading {
        let unknown = |why: String| IdleReading {
            idle: None,
            detail: why,
        };
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if connection.is_none() {
            let opened = match &self.bus {
                Bus::Session => Connection::session(),
                Bus::Address(address) => {
                    zbus::blocking::connection::Builder::address(address.as_str())
                        .and_then(|builder| builder.build())
                }
            };
            match opened {
                Ok(opened) => *connection = Some(opened),
                Err(error) => return unknown(format!("no desktop session bus ({error})")),
            }
        }
        let Some(bus) = connection.as_ref() else {
            return unknown("no desktop session bus".into());
        };
        let reply = bus
            .call_method(Some(MUTTER), MUTTER_PATH, Some(MUTTER), "GetIdletime", &())
            .and_then(|message| message.body().deserialize::<u64>());
        match reply {
            Ok(milliseconds) => IdleReading {
                idle: Some(Duration::from_millis(milliseconds)),
                detail: "GNOME's idle monitor".into(),
            },
            Err(zbus::Error::MethodError(name, _, _))
                if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown" =>
            {
                unknown("the desktop does not report input idle time".into())
            }
            Err(error) => {
                // The bus may have gone away; reconnect next time.
                *connection = None;
                unknown(format!("the idle monitor did not answer ({error})"))
            }
        }
    }
}
