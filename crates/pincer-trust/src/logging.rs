//! Log lines pass the leak detector before they reach stderr: a secret that
//! ends up in an error message or a debug line is redacted, and the hit is
//! audited at the next audit record (the writer cannot reach the database).

use pincer_guard::Sink;
use std::io::Write;

/// A `tracing_subscriber` writer: each event is buffered, redacted with the
/// process's log detector, then written to stderr in one piece.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactingStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine(Vec::new())
    }
}

/// One log event on its way to stderr.
#[derive(Debug)]
pub struct RedactedLine(Vec<u8>);

impl Write for RedactedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let detector = pincer_guard::for_logs();
        let checked = detector.current().check(Sink::Log, &text);
        if !checked.leaks.is_empty() {
            detector.note_unaudited(Sink::Log, &checked.leaks);
        }
        let out = checked.text.unwrap_or(std::borrow::Cow::Borrowed(
            "[a log line was withheld: it carried a secret]\n",
        ));
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}

/// Installs the process's logger: `filter` unless `RUST_LOG` is set, every
/// line through [`RedactingStderr`].
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .init();
}
