//! Log setup: `tracing-subscriber` on standard error, filtered by `RUST_LOG` (default `info`),
//! as human-readable lines or as JSON records.
//!
//! Lines are formatted where the event happens and written by a writer thread in batches
//! ([`crate::log_writer`]): a busy token endpoint then pays neither a system call nor a thread
//! wake-up per audit record. Nothing is dropped: when the buffer is full, the event waits for
//! room. The buffer is written out when the [`LogGuard`] drops, so it is kept until the end of
//! `main`; only a process killed outright can lose the lines of its last few milliseconds.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::log_writer::{self, BatchGuard};

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Keeps the writer thread; dropping it writes out every buffered line.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] Option<BatchGuard>);

/// Installs the global subscriber. Safe to call once; a second call is ignored.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    // Without a thread for the writer (the system refused one), lines go straight to stderr.
    let (writer, guard) = match log_writer::start(std::io::stderr(), log_writer::CAPACITY) {
        Ok((writer, guard)) => (BoxMakeWriter::new(writer), Some(guard)),
        Err(_) => (BoxMakeWriter::new(std::io::stderr), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour codes only for a person at a terminal: in a file or a log collector they are
        // noise, and writing them costs time on every audit record.
        .with_ansi(ansi);
    let _ignored = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    LogGuard(guard)
}
