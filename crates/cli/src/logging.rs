//! Log setup: `tracing-subscriber` on standard error, filtered by `RUST_LOG` (default `info`),
//! as human-readable lines or as JSON records.
//!
//! Lines are formatted where the event happens and written by a writer thread
//! (`tracing-appender`), which batches whatever is queued into one write: a busy token endpoint
//! then pays no system call per audit record. Nothing is dropped: when the queue is full, the
//! event waits for room. The queue is drained when the [`LogGuard`] drops, so it is kept until
//! the end of `main`; only a process killed outright can lose the lines of its last instant.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Lines the writer thread's queue holds before an event waits for room.
const QUEUED_LINES: usize = 4096;

/// Keeps the writer thread; dropping it writes out every queued line.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Installs the global subscriber. Safe to call once; a second call is ignored.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // The queue is allocated whole at start: 4096 lines is a burst of well over a hundred
        // milliseconds at full load, at a twentieth of the default's memory.
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(false)
        .thread_name("portcullis-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour codes only for a person at a terminal: in a file or a log collector they are
        // noise, and writing them costs time on every audit record.
        .with_ansi(std::io::stderr().is_terminal());
    let _ignored = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    LogGuard(guard)
}
