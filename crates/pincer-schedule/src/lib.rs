//! When Pincer may train unattended: "tonight, while charging, while the
//! owner is away". The pieces that read the machine live here so they can
//! be tested on fixture data: the nightly [`TimeWindow`], the
//! [`PowerReader`] of the kernel's power-supply class, the [`IdleReader`]
//! of the desktop's input idle time, and the
//! [`SleepGuard`] that keeps the machine awake while a round runs.
#![deny(missing_docs)]

mod awake;
mod idle;
mod power;
mod window;

pub use awake::SleepGuard;
pub use idle::{IdleReader, IdleReading};
pub use power::{PowerReader, PowerState, SYSFS_POWER_SUPPLY};
pub use window::TimeWindow;

/// What can go wrong here.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A window that is not `HH:MM-HH:MM`.
    #[error("`{0}` is not a time window; write it as HH:MM-HH:MM in local time, e.g. 01:00-06:00")]
    BadWindow(String),
    /// The OS refused to hold off sleep.
    #[error("cannot keep the machine awake: {0}")]
    Awake(String),
}
