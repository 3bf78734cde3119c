//! Log setup: `tracing-subscriber` on standard error, filtered by `RUST_LOG` (default `info`),
//! as human-readable lines or as JSON records; and, with `--audit-file`, every audit event
//! appended to a file of its own as JSON (the schema is `crates/server/audit-event.schema.json`),
//! whatever the filter of standard error; and, for `serve`, every audit event captured for the
//! stored audit trail and the webhook ([`crate::audit_capture`]).
//!
//! Lines are formatted where the event happens and written by a writer thread in batches
//! ([`crate::log_writer`]): a busy token endpoint then pays neither a system call nor a thread
//! wake-up per audit record. Nothing is dropped: when the buffer is full, the event waits for
//! room. The buffer is written out when the [`LogGuard`] drops, so it is kept until the end of
//! `main`; only a process killed outright can lose the lines of its last few milliseconds.

use std::io::IsTerminal;

use std::path::Path;

use anyhow::Context as _;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

use portcullis_server::audit_sink::{AUDIT_TARGET, AuditLayer};

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

/// Keeps the writer threads; dropping it writes out every buffered line.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _stderr: Option<BatchGuard>,
    _audit: Option<BatchGuard>,
}

/// The audit events alone, whatever `RUST_LOG` says.
fn audit_events() -> Targets {
    Targets::new().with_target(AUDIT_TARGET, Level::INFO)
}

/// Opens the audit file for appending, created with mode 0600 (audit records name users and
/// addresses) when missing.
fn open_audit_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot open the audit file {}", path.display()))
}

/// Installs the global subscriber: log lines on standard error; with `audit_file`, every
/// audit event appended to that file as one JSON object per line; with `capture`, every audit
/// event handed to that layer (the stored trail and the webhook of `serve`). Safe to call once;
/// a second call installs nothing.
pub fn init(
    format: LogFormat,
    audit_file: Option<&Path>,
    capture: Option<AuditLayer>,
) -> anyhow::Result<LogGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    // Without a thread for the writer (the system refused one), lines go straight to stderr.
    let (writer, stderr_guard) = match log_writer::start(std::io::stderr(), log_writer::CAPACITY) {
        Ok((writer, guard)) => (BoxMakeWriter::new(writer), Some(guard)),
        Err(_) => (BoxMakeWriter::new(std::io::stderr), None),
    };
    // Colour codes only for a person at a terminal: in a file or a log collector they are
    // noise, and writing them costs time on every audit record.
    let stderr = fmt::layer().with_writer(writer).with_ansi(ansi);
    let stderr = match format {
        LogFormat::Pretty => stderr.boxed(),
        LogFormat::Json => stderr.json().flatten_event(true).boxed(),
    };
    let (audit, audit_guard) = match audit_file {
        Some(path) => {
            let (writer, guard) = log_writer::start(open_audit_file(path)?, log_writer::CAPACITY)
                .context("cannot start the audit file's writer")?;
            let layer = fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(writer)
                .with_filter(audit_events());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let _ignored = tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(audit)
        .with(capture.map(|layer| layer.with_filter(audit_events())))
        .try_init();
    Ok(LogGuard {
        _stderr: stderr_guard,
        _audit: audit_guard,
    })
}
