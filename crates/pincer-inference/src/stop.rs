//! Stop strings with OpenAI semantics: the stop string and everything after
//! it never reach the client, even when it spans several tokens.
//!
//! mistral.rs ends generation on a stop string but has already streamed the
//! tokens that formed it, so text that could be the start of a stop string
//! is held back until it is known not to be one.

use crate::types::TokenLogprob;

/// One piece of streamed text with its log-probability.
pub(crate) type Piece = (String, Option<TokenLogprob>);

/// Holds back text that may begin a stop string.
pub(crate) struct StopFilter {
    stops: Vec<String>,
    pending: Vec<Piece>,
    stopped: bool,
}

impl StopFilter {
    pub(crate) fn new(stops: Vec<String>) -> Self {
        Self {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            pending: Vec::new(),
            stopped: false,
        }
    }

    /// Whether a stop string was seen.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// Takes a new piece; returns what can be released now.
    pub(crate) fn push(&mut self, text: String, logprob: Option<TokenLogprob>) -> Vec<Piece> {
        if self.stopped {
            return Vec::new();
        }
        if self.stops.is_empty() {
            return vec![(text, logprob)];
        }
        self.pending.push((text, logprob));
        let joined: String = self.pending.iter().map(|(t, _)| t.as_str()).collect();
        if let Some(cut) = self
            .stops
            .iter()
            .filter_map(|s| joined.find(s.as_str()))
            .min()
        {
            self.stopped = true;
            return take_before(std::mem::take(&mut self.pending), cut);
        }
        let hold = self
            .stops
            .iter()
            .map(|stop| longest_prefix_at_end(&joined, stop))
            .max()
            .unwrap_or(0);
        let releasable = joined.len() - hold;
        let mut released = Vec::new();
        let mut used = 0;
        while let Some((text, _)) = self.pending.first() {
            if used + text.len() > releasable {
                break;
            }
            used += text.len();
            released.push(self.pending.remove(0));
        }
        released
    }

    /// Generation ended without a stop string: release what was held.
    pub(crate) fn finish(&mut self) -> Vec<Piece> {
        std::mem::take(&mut self.pending)
    }
}

/// Length of the longest proper prefix of `stop` that `text` ends with.
fn longest_prefix_at_end(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .filter(|&k| stop.is_char_boundary(k))
        .find(|&k| text.ends_with(&stop[..k]))
        .unwrap_or(0)
}

/// The pieces' text up to byte `cut` of their concatenation.
fn take_before(pieces: Vec<Piece>, cut: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut start = 0;
    for (text, logprob) in pieces {
        if start >= cut {
            break;
        }
        let end = start + text.len();
        if end <= cut {
            out.push((text, logprob));
        } else {
            let keep = &text[..cut - start];
            if !keep.is_empty() {
                out.push((keep.to_string(), logprob));
            }
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut filter = StopFilter::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for piece in pieces {
            for (text, _) in filter.push(piece.to_string(), None) {
                out.push_str(&text);
            }
        }
        if !filter.stopped() {
            for (text, _) in filter.finish() {
                out.push_str(&text);
            }
        }
        (out, filter.stopped())
    }

    #[test]
    fn a_stop_string_spanning_pieces_is_cut_with_what_follows() {
        assert_eq!(
            feed(&["END"], &["hello E", "N", "D and more"]),
            ("hello ".into(), true)
        );
    }

    #[test]
    fn a_false_start_is_released_once_it_cannot_match() {
        assert_eq!(
            feed(&["END"], &["the E", "Nd", " of it"]),
            ("the ENd of it".into(), false)
        );
    }

    #[test]
    fn text_is_streamed_promptly_when_it_cannot_begin_a_stop() {
        let mut filter = StopFilter::new(vec!["###".into()]);
        assert_eq!(
            filter.push("abc".into(), None).len(),
            1,
            "no reason to hold plain text back"
        );
        assert!(
            filter.push("#".into(), None).is_empty(),
            "a possible start is held"
        );
    }

    #[test]
    fn the_earliest_of_several_stops_wins_and_multibyte_text_is_safe() {
        assert_eq!(feed(&["zz", "é!"], &["caf", "é! zz"]), ("caf".into(), true));
    }
}
