//! A test setting, never on in normal use: scripted answers that the real
//! engine is forced to emit, token by token, so tests on a random-weight
//! model can drive tool calls through the real chat template, sampler,
//! stream, parser and agent loop.
//!
//! It is switched on only by [`EngineOptions::script`](crate::EngineOptions)
//! (the app sets it from `PINCER_TEST_SCRIPT`). The file is a JSON list of
//! `{"when": "…", "say": "…"}`; a generation whose last message contains
//! `when` is forced to say `say` and then end its turn. It is read again for
//! every generation, so a test can change it between turns. Forced text is
//! only model output: every call it makes still meets the gate.

use candle_core::Tensor;
use mistralrs::CustomLogitsProcessor;
use serde::Deserialize;
use std::path::Path;
use std::sync::Mutex;

/// One scripted answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    when: String,
    say: String,
}

/// The scripted answer for a conversation whose last message is `last`.
pub(crate) fn answer_for(script: &Path, last: &str) -> Option<String> {
    let text = match std::fs::read_to_string(script) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!(%error, path = %script.display(), "the test script cannot be read");
            return None;
        }
    };
    let lines: Vec<Line> = match serde_json::from_str(&text) {
        Ok(lines) => lines,
        Err(error) => {
            tracing::warn!(%error, path = %script.display(), "the test script is not a list of {{when, say}}");
            return None;
        }
    };
    lines
        .into_iter()
        .find(|line| last.contains(&line.when))
        .map(|line| line.say)
}

/// Masks every token but the next scripted one; past the script it leaves
/// the logits alone (the script ends with the end-of-turn token).
pub(crate) struct ForcedText {
    tokens: Vec<u32>,
    /// The context length last seen and how many tokens were forced so
    /// far. The position is counted by changes of the context's length,
    /// not read from it: after a prefix-cache hit mistral.rs shows only the
    /// uncached part of the prompt at the first step, and llguidance may
    /// show one position twice.
    seen: Mutex<Option<(usize, usize)>>,
}

impl ForcedText {
    pub(crate) fn new(tokens: Vec<u32>) -> Self {
        Self {
            tokens,
            seen: Mutex::new(None),
        }
    }
}

impl CustomLogitsProcessor for ForcedText {
    fn apply(&self, logits: &Tensor, context: &[u32]) -> mistralrs::Result<Tensor> {
        let position = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let (last_len, forced) = seen.get_or_insert((context.len(), 0));
            if *last_len != context.len() {
                *last_len = context.len();
                *forced += 1;
            }
            *forced
        };
        let Some(&next) = self.tokens.get(position) else {
            return Ok(logits.clone());
        };
        let size = logits.dims().last().copied().unwrap_or(0);
        if next as usize >= size {
            return Err(candle_core::Error::Msg(format!(
                "scripted token {next} is outside the vocabulary of {size}"
            )));
        }
        let mut mask = vec![f32::NEG_INFINITY; logits.elem_count()];
        mask[next as usize] = 0.0;
        Tensor::from_vec(mask, logits.shape(), logits.device())?.to_dtype(logits.dtype())
    }
}
