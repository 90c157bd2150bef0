//! Action logs of registry traffic (`pull_repo`, `push_repo`), written off the request path: a
//! request hands its entry to [`LogWriter::record`] (no database round trip for the pull), and
//! one task writes what has queued up as one transaction (`quay.log_actions`), again as soon as
//! that transaction commits. Under load, batches grow with the rate; at rest, an entry is written
//! within one commit of its request. [`LogWriter::close`] writes what is queued and stops it; the
//! server calls it after the last request of a graceful stop, so a stop loses no entry.
//!
//! A failed write is retried (1 s apart, 5 times) before its entries are given up, with the count
//! in a warning: a database outage must not hold pulls. The queue holds at most [`CAPACITY`]
//! entries; a request finding it full waits for room (the database is then the bottleneck anyway).

use crate::store::{Store, StoreError};
use quay_core::logs::LogEntry;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Entries waiting at most; beyond this, requests wait for the writer.
pub const CAPACITY: usize = 65_536;
/// Entries per transaction at most.
pub const BATCH: usize = 1_000;
const ATTEMPTS: u32 = 5;

enum Message {
    Entry(Box<LogEntry>),
    /// Write everything queued before this message, then answer.
    Flush(oneshot::Sender<()>),
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter").field("queued", &(CAPACITY - self.tx.capacity())).finish()
    }
}

impl LogWriter {
    /// Starts the writing task on the current runtime.
    pub fn start(store: Store) -> LogWriter {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(run(store, rx));
        LogWriter { tx }
    }

    /// Queues `entry` for the next batch.
    pub async fn record(&self, entry: LogEntry) {
        if self.tx.send(Message::Entry(Box::new(entry))).await.is_err() {
            tracing::warn!("action log writer stopped; an entry was not written");
        }
    }

    /// Returns once everything queued before this call is written (or given up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Writes what is queued; for a graceful stop, after the last request.
    pub async fn close(&self) {
        self.flush().await;
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Message>) {
    let mut batch: Vec<LogEntry> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Message::Entry(e) => batch.push(*e),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            write(&store, std::mem::take(&mut batch)).await;
        }
        // A flush waits for the batch its message was drained with; when the batch filled up
        // first, the flush message is still in the queue and is answered with a later batch.
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(store: &Store, entries: Vec<LogEntry>) {
    let n = entries.len();
    for attempt in 1..=ATTEMPTS {
        match store.log_actions(entries.clone()).await {
            Ok(()) => return,
            // A rule refusal (an entry the core rejects) will not pass on a retry: write the
            // others one by one so one bad entry costs only itself.
            Err(StoreError::Rule { .. }) if n > 1 => {
                for e in entries {
                    if let Err(err) = store.log_actions(vec![e]).await {
                        tracing::warn!(error = %err, "an action log entry was refused and not written");
                    }
                }
                return;
            }
            // A refused single entry will not pass on a retry either.
            Err(e @ StoreError::Rule { .. }) => {
                tracing::warn!(error = %e, "an action log entry was refused and not written");
                return;
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, entries = n, attempt, "writing action logs failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, entries = n, "action logs given up after {ATTEMPTS} attempts")
            }
        }
    }
}
