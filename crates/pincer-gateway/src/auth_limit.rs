//! A limit on failed token checks per client address.
//!
//! After [`MAX_FAILURES`] refusals within [`WINDOW`], further requests from
//! that address with a wrong or missing token get `429` and `Retry-After`
//! at once, and only the first refusal of the lockout is audited, so a
//! flood of guesses can neither fill the audit log nor use the machine. A
//! request with the right token still passes: on loopback every local
//! program shares 127.0.0.1, and a hostile one must not lock the owner out
//! (with 256 random bits, guessing was never the risk).
//!
//! Written here rather than with `governor`: it counts only failures and
//! must look before it counts, which a token-bucket crate does not offer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusals allowed per address per window.
pub const MAX_FAILURES: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What to do with a refused request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Under the limit: refuse with 401 and audit.
    Audit,
    /// The limit was just reached: refuse with 429 and audit the lockout.
    LockedOut { retry_after: Duration },
    /// Already locked out: 429, not audited again.
    Quiet { retry_after: Duration },
}

#[derive(Debug, Default)]
pub(crate) struct AuthFailures {
    by_client: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthFailures {
    /// Whether `client` is locked out now, without counting anything.
    pub(crate) fn peek(&self, client: IpAddr, now: Instant) -> Refusal {
        let clients = self.by_client.lock().unwrap_or_else(|e| e.into_inner());
        match clients.get(&client) {
            Some((start, count))
                if now.duration_since(*start) < WINDOW && *count > MAX_FAILURES =>
            {
                Refusal::Quiet {
                    retry_after: WINDOW.saturating_sub(now.duration_since(*start)),
                }
            }
            _ => Refusal::Audit,
        }
    }

    /// Counts a refusal from `client` and says how to answer it.
    pub(crate) fn refuse(&self, client: IpAddr, now: Instant) -> Refusal {
        let mut clients = self.by_client.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() > 10_000 {
            clients.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        let retry_after = WINDOW.saturating_sub(now.duration_since(entry.0));
        match entry.1 {
            n if n <= MAX_FAILURES => Refusal::Audit,
            n if n == MAX_FAILURES + 1 => Refusal::LockedOut { retry_after },
            _ => Refusal::Quiet { retry_after },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_locks_out_for_the_rest_of_the_window() {
        let failures = AuthFailures::default();
        let (attacker, other): (IpAddr, IpAddr) =
            ("10.0.0.9".parse().unwrap(), "10.0.0.7".parse().unwrap());
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(failures.refuse(attacker, start), Refusal::Audit);
        }
        let later = start + Duration::from_secs(20);
        assert_eq!(
            failures.refuse(attacker, later),
            Refusal::LockedOut {
                retry_after: Duration::from_secs(40)
            }
        );
        assert_eq!(
            failures.refuse(attacker, later),
            Refusal::Quiet {
                retry_after: Duration::from_secs(40)
            }
        );
        assert_eq!(
            failures.refuse(other, later),
            Refusal::Audit,
            "other clients are counted apart"
        );
        assert_eq!(
            failures.refuse(attacker, start + WINDOW),
            Refusal::Audit,
            "a new window starts afresh"
        );
    }
}
