//! The log writer: formatted lines are appended to a shared buffer where the event happens, and
//! one thread writes the buffer out in a single `write` every few milliseconds.
//!
//! A busy token endpoint logs an audit record per request. Writing each line from the request's
//! thread costs a system call per record; handing each line to a writer thread through a queue
//! (as `tracing-appender` does) costs a thread wake-up for every few lines instead, which under
//! load was most of the logging's cost. Here the writer thread is woken once when the buffer
//! goes from empty to not empty, then gathers for [`GATHER`] before it writes, so a busy server
//! pays a few hundred wake-ups a second whatever its request rate, and an idle one none.
//!
//! Nothing is dropped: when the buffer is full, the event waits for the writer thread. Dropping
//! the [`BatchGuard`] writes out what is buffered and stops the thread.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread gathers lines after the first one before it writes them.
const GATHER: Duration = Duration::from_millis(5);

/// The buffer's size in bytes before an event waits for room (a few thousand lines).
pub const CAPACITY: usize = 512 * 1024;

/// The lines not yet written, and whether the guard has been dropped.
#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

/// What the events and the writer thread share.
#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the buffer stops being empty, and when the guard drops.
    work: Condvar,
    /// Signalled when the writer thread has taken the buffer.
    room: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` of the subscriber: each event's line goes into the shared buffer.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Keeps the writer thread; dropping it writes out every buffered line.
#[derive(Debug)]
pub struct BatchGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread writing to `out`, with a buffer of `capacity` bytes.
pub fn start<W: Write + Send + 'static>(
    out: W,
    capacity: usize,
) -> std::io::Result<(BatchWriter, BatchGuard)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        work: Condvar::new(),
        room: Condvar::new(),
        capacity,
    });
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("portcullis-log".into())
            .spawn(move || write_out(&shared, out))?
    };
    Ok((
        BatchWriter {
            shared: Arc::clone(&shared),
        },
        BatchGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The writer thread: waits for a first line, gathers for [`GATHER`], writes everything
/// buffered in one go; until the guard drops and the buffer is empty.
fn write_out<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut pending = shared.lock();
            while pending.bytes.is_empty() && !pending.closed {
                pending = shared
                    .work
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.closed
        };
        if !closed {
            // Pacing the log writer's own thread, not a test's clock: the pause only lets more
            // lines join this batch, and no timestamp or expiry depends on it.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(GATHER);
        }
        let closed = {
            let mut pending = shared.lock();
            std::mem::swap(&mut pending.bytes, &mut batch);
            pending.closed
        };
        shared.room.notify_all();
        // A failed write has nowhere to be reported; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if closed && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(&self.shared)
    }
}

/// One event's writer; the subscriber writes the whole formatted line with one call.
#[derive(Debug)]
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let shared = self.0;
        let mut pending = shared.lock();
        // Full: wait for the writer thread to take the buffer (a line longer than the whole
        // buffer goes in once it is empty).
        while !pending.bytes.is_empty() && pending.bytes.len() + line.len() > shared.capacity {
            pending = shared
                .room
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        drop(pending);
        if was_empty {
            shared.work.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` into a shared vector, counting the writes.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(data);
            *self.writes.lock().unwrap() += 1;
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_order_even_when_the_buffer_fills() {
        let sink = Sink::default();
        // A buffer of about forty lines, so that the threads keep waiting for room.
        let (writer, guard) = start(sink.clone(), 1024).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        let line = format!("thread {t} line {i:05}\n");
                        writer.make_writer().write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..2000)
                .map(|i| format!("thread {t} line {i:05}"))
                .collect();
            assert_eq!(mine, expected, "thread {t}");
        }
    }

    #[test]
    fn lines_are_written_in_batches_and_dropping_the_guard_writes_the_rest() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone(), CAPACITY).unwrap();
        for i in 0..1000 {
            writer
                .make_writer()
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert!(text.ends_with("line 999\n"));
        // The lines go out together, not one write each (one write per line would need the
        // loop above to take seconds).
        let writes = *sink.writes.lock().unwrap();
        assert!(writes <= 500, "{writes} writes for 1000 lines");
    }

    #[test]
    fn a_line_longer_than_the_buffer_still_goes_out() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone(), 16).unwrap();
        let long = "x".repeat(100) + "\n";
        writer.make_writer().write_all(b"short\n").unwrap();
        writer.make_writer().write_all(long.as_bytes()).unwrap();
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(text, format!("short\n{long}"));
    }
}
