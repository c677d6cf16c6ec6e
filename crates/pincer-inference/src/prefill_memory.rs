//! A bound on the memory reading a prompt takes on the CPU.
//!
//! mistral.rs 0.8.1 reads a prompt's new tokens in one pass, and for that
//! pass it builds a causal mask of new × (cached + new) cells three times
//! over (u8, then f32, then f16: about 7 bytes a cell at the peak; the CPU
//! attention copies it to f32 again for every layer). The KV cache is small
//! beside it: a 44k-token prompt on the tiny test model needs about 13 GB
//! for the mask and 45 MB for its cache. Past a few tens of thousands of
//! tokens that takes the machine's memory and the process is killed with
//! everything in flight, so a prompt whose mask would pass the limit is
//! refused first, as one over the context (clients then shorten it).
//!
//! Only the new tokens count: what the prefix cache holds is not read
//! again. On the CPU mistral.rs never evicts a cached prefix, so the
//! prompts that finished are a lower bound on what it holds: the longest
//! shared start with one of them is reuse the pass can count on (a
//! forward error clears its cache, and ours with it).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Bytes of the mask per cell at the peak (u8 + f32 + f16).
const MASK_BYTES_PER_CELL: u64 = 7;
/// Finished prompts remembered for the reuse estimate (forgetting one only
/// makes the estimate more cautious).
const REMEMBERED: usize = 64;

/// The peak bytes of the mask for `new` tokens read after `cached` ones.
pub fn prefill_mask_bytes(cached: usize, new: usize) -> u64 {
    MASK_BYTES_PER_CELL * new as u64 * (cached + new) as u64
}

/// The longest prompt whose mask stays within `limit` when its first
/// `cached` tokens are reused.
pub fn largest_prompt(cached: usize, limit: u64) -> usize {
    // 7·(n − c)·n ≤ limit  ⇔  n ≤ (c + √(c² + 4·limit/7)) / 2
    let c = cached as f64;
    let n = (c + (c * c + 4.0 * limit as f64 / MASK_BYTES_PER_CELL as f64).sqrt()) / 2.0;
    (n.floor() as usize).max(cached)
}

/// A prompt the limit refuses, with the figures for the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OverLimit {
    /// Its tokens.
    pub prompt: usize,
    /// The longest prompt that fits now, with the same reuse.
    pub fits: usize,
    /// Bytes its mask would take.
    pub needed: u64,
    /// The limit.
    pub limit: u64,
}

/// Checks prompts against the limit and remembers those that finished.
#[derive(Debug)]
pub(crate) struct PrefillMeter {
    /// `None`: no bound (a GPU backend reads prompts its own way).
    limit: Option<u64>,
    /// Whether mistral.rs caches prefixes at all.
    reuse: bool,
    finished: Mutex<VecDeque<Arc<[u32]>>>,
}

impl PrefillMeter {
    /// A meter with `limit` bytes (`None`: unbounded); `reuse` when the
    /// prefix cache is on.
    pub(crate) fn new(limit: Option<u64>, reuse: bool) -> Self {
        Self {
            limit,
            reuse,
            finished: Mutex::new(VecDeque::new()),
        }
    }

    /// Tokens at the start of `prompt` the prefix cache holds (a lower bound).
    fn cached(&self, prompt: &[u32]) -> usize {
        if !self.reuse {
            return 0;
        }
        let finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        let shared = finished
            .iter()
            .map(|seen| seen.iter().zip(prompt).take_while(|(a, b)| a == b).count())
            .max()
            .unwrap_or(0);
        // An exact repeat is read again in full (mistral.rs reuses a prefix
        // only when the prompt goes past it).
        if shared >= prompt.len() {
            0
        } else {
            shared
        }
    }

    /// Refuses a prompt whose mask would pass the limit; otherwise the
    /// tokens at its start that the prefix cache holds.
    pub(crate) fn check(&self, prompt: &[u32]) -> Result<usize, OverLimit> {
        let Some(limit) = self.limit else { return Ok(0) };
        let cached = self.cached(prompt);
        let needed = prefill_mask_bytes(cached, prompt.len() - cached);
        if needed <= limit {
            return Ok(cached);
        }
        Err(OverLimit {
            prompt: prompt.len(),
            fits: largest_prompt(cached, limit),
            needed,
            limit,
        })
    }

    /// A prompt was read and its sequence finished: its prefix is cached.
    pub(crate) fn finished(&self, prompt: Arc<[u32]>) {
        if !self.reuse || self.limit.is_none() {
            return;
        }
        let mut finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if finished.len() == REMEMBERED {
            finished.pop_front();
        }
        finished.push_back(prompt);
    }

    /// The engine failed inside the model, which empties its prefix cache.
    pub(crate) fn forget(&self) {
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The default limit: half the machine's memory.
pub(crate) fn default_limit() -> u64 {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    system.total_memory() / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(range: std::ops::Range<u32>) -> Arc<[u32]> {
        range.collect::<Vec<_>>().into()
    }

    #[test]
    fn the_mask_grows_with_new_tokens_times_all_tokens() {
        // The measured case: 44k new tokens, about 13.5 GB at the peak.
        assert_eq!(prefill_mask_bytes(0, 44_000), 13_552_000_000);
        // The same prompt's next turn reads 200 new tokens after it.
        assert_eq!(prefill_mask_bytes(44_000, 200), 7 * 200 * 44_200);
    }

    #[test]
    fn the_largest_prompt_is_the_last_that_fits() {
        let limit = 1_000_000_000;
        for cached in [0, 1_000, 30_000] {
            let n = largest_prompt(cached, limit);
            assert!(prefill_mask_bytes(cached, n - cached) <= limit, "{cached}: {n}");
            assert!(prefill_mask_bytes(cached, n + 1 - cached) > limit, "{cached}: {n}");
        }
    }

    #[test]
    fn a_cold_long_prompt_is_refused_and_its_next_turn_is_not() {
        let limit = prefill_mask_bytes(0, 10_000);
        let meter = PrefillMeter::new(Some(limit), true);
        let first = tokens(0..12_000);
        let over = meter.check(&first).unwrap_err();
        assert_eq!((over.prompt, over.fits, over.limit), (12_000, 10_000, limit));
        assert!(over.needed > limit);

        let shorter = tokens(0..9_000);
        meter.check(&shorter).unwrap();
        meter.finished(shorter);
        // 3,000 new tokens after 9,000 the cache holds: well inside.
        assert_eq!(meter.check(&first).unwrap(), 9_000);
        // A prompt that shares nothing is read in full.
        let other = tokens(100_000..112_000);
        assert!(meter.check(&other).is_err());
        // An exact repeat is read again in full too.
        let again = tokens(0..9_000);
        meter.finished(tokens(0..9_000));
        assert_eq!(meter.cached(&again), 0);
    }

    #[test]
    fn without_the_prefix_cache_or_after_an_engine_error_nothing_counts_as_cached() {
        let limit = prefill_mask_bytes(0, 10_000);
        let no_reuse = PrefillMeter::new(Some(limit), false);
        no_reuse.finished(tokens(0..9_000));
        assert!(no_reuse.check(&tokens(0..12_000)).is_err());

        let meter = PrefillMeter::new(Some(limit), true);
        meter.finished(tokens(0..9_000));
        meter.check(&tokens(0..12_000)).unwrap();
        meter.forget();
        assert!(meter.check(&tokens(0..12_000)).is_err());
    }

    #[test]
    fn an_unbounded_meter_takes_anything() {
        let meter = PrefillMeter::new(None, true);
        assert_eq!(meter.check(&tokens(0..1_000_000)).unwrap(), 0);
    }
}
