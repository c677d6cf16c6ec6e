//! One step of the owner's turn as it streams: text forwarded to the chat,
//! the calls and unreadable call text collected, until the step ends, the
//! owner stops it or the chat goes away.

use crate::events::{StopSignal, TurnEvent};
use crate::ChatStream;
use futures::StreamExt;
use pincer_inference::{GenerationEvent, GenerationStats, ToolCall};

/// One step's answer as the owner's chat saw it.
pub(crate) struct StepAnswer {
    /// The text shown.
    pub(crate) text: String,
    /// The answer's content as saved and replayed: the text, and the text
    /// of calls that could not be read (so the model sees what it wrote).
    pub(crate) content: String,
    pub(crate) finish_reason: String,
    pub(crate) deltas: u32,
    pub(crate) stats: GenerationStats,
    pub(crate) calls: Vec<ToolCall>,
    pub(crate) malformed: Vec<String>,
}

/// Forwards the text to the sink until the stream ends, the owner stops it,
/// or the sink's reader goes away. Dropping the stream cancels generation and
/// saves what was written as `canceled`.
pub(crate) async fn stream_answer(
    mut stream: ChatStream,
    sink: &mut (impl FnMut(TurnEvent) -> bool + Send),
    stop: &mut StopSignal,
) -> StepAnswer {
    let mut answer = StepAnswer {
        text: String::new(),
        content: String::new(),
        finish_reason: "canceled".into(),
        deltas: 0,
        stats: GenerationStats::default(),
        calls: Vec::new(),
        malformed: Vec::new(),
    };
    loop {
        let event = tokio::select! {
            () = stop.fired() => None,
            event = stream.next() => Some(event),
        };
        match event {
            None | Some(None) => break,
            Some(Some(Ok(event))) => {
                if let Some((reason, stats)) = take_event(&mut answer, event, sink) {
                    answer.finish_reason = reason;
                    answer.stats = stats;
                    break;
                }
                if answer.finish_reason == "gone" {
                    answer.finish_reason = "canceled".into();
                    break;
                }
            }
            Some(Some(Err(error))) => {
                sink(TurnEvent::Failed(error));
                answer.finish_reason = "error".into();
                break;
            }
        }
    }
    // What the engine handed over before the stop is saved with the answer,
    // so it is shown too.
    for event in stream.close_and_drain().into_iter().flatten() {
        take_event(&mut answer, event, sink);
    }
    drop(stream);
    answer
}

/// Takes one event into the answer; the finish reason and figures when it
/// is the last.
fn take_event(
    answer: &mut StepAnswer,
    event: GenerationEvent,
    sink: &mut (impl FnMut(TurnEvent) -> bool + Send),
) -> Option<(String, GenerationStats)> {
    match event {
        GenerationEvent::Delta { text, .. } => {
            answer.text.push_str(&text);
            answer.content.push_str(&text);
            answer.deltas += 1;
            if !sink(TurnEvent::Delta { text }) {
                answer.finish_reason = "gone".into();
            }
        }
        GenerationEvent::CallText { .. } => {}
        GenerationEvent::ToolCall(call) => answer.calls.push(call),
        GenerationEvent::MalformedToolCall { text, problem } => {
            answer.content.push_str(&text);
            answer.malformed.push(problem);
        }
        GenerationEvent::Finished { reason, stats } => {
            return Some((reason.as_str().to_string(), stats))
        }
    }
    None
}
