//! Holding off sleep while a round trains: `keepawake` asks systemd-logind
//! (and the session's screensaver) on Linux, IOKit on macOS and
//! `SetThreadExecutionState` on Windows. The hold ends when the guard drops.

use crate::ScheduleError;

/// Keeps the machine from idle sleep until dropped.
pub struct SleepGuard {
    _hold: keepawake::KeepAwake,
}

impl std::fmt::Debug for SleepGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SleepGuard")
    }
}

impl SleepGuard {
    /// Asks the OS not to sleep, for `reason` (shown by `systemd-inhibit
    /// --list` and its peers). Fails where no inhibitor service answers
    /// (a bare container); the caller reports that and trains anyway.
    pub fn hold(reason: &str) -> Result<Self, ScheduleError> {
        keepawake::Builder::default()
            .display(false)
            .idle(true)
            .sleep(true)
            .reason(reason)
            .app_name("Pincer")
            .app_reverse_domain("dev.pincer.app")
            .create()
            .map(|hold| Self { _hold: hold })
            .map_err(|error| ScheduleError::Awake(error.to_string()))
    }
}
