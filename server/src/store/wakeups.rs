//! Wake-ups of queue puts, whatever the backend: PostgreSQL workers hold a dedicated
//! `LISTEN quay_queue` connection (reconnected with backoff), opened before they claim, so no put
//! committed meanwhile is missed; SQLite workers wait on the store's in-process signal.

use super::Store;
use std::time::Duration;
use tokio::sync::watch;

/// Where a job loop's wake-ups come from ([`Store::wakeups`]).
pub struct Wakeups(Source);

enum Source {
    Listen(Option<tokio::sync::mpsc::UnboundedReceiver<String>>, Option<tokio_postgres::Client>),
    InProcess(std::sync::Arc<tokio::sync::Notify>),
}

impl Store {
    /// The wake-ups of queue puts on this store, for a job loop that knows no backend.
    pub fn wakeups(&self) -> Wakeups {
        Wakeups(match self {
            Store::Postgres(_) => Source::Listen(None, None),
            Store::Sqlite(s) => Source::InProcess(s.wakeups()),
        })
    }
}

impl Wakeups {
    /// Makes sure interest is registered (PostgreSQL: a live LISTEN connection), reconnecting
    /// with backoff. Called before each round of claims.
    pub async fn ensure(&mut self, store: &Store, shutdown: &mut watch::Receiver<bool>) {
        let (Source::Listen(rx, client), Store::Postgres(pg)) = (&mut self.0, store) else { return };
        if rx.as_ref().is_some_and(|r| !r.is_closed()) {
            return;
        }
        let mut backoff = Duration::from_millis(500);
        loop {
            match pg.listen("quay_queue").await {
                Ok((c, r)) => {
                    *client = Some(c);
                    *rx = Some(r);
                    tracing::info!("worker listening on quay_queue");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "LISTEN connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Waits for a wake-up (or returns at once if one is pending).
    pub async fn wait(&mut self) {
        match &mut self.0 {
            Source::Listen(Some(rx), _) => {
                if rx.recv().await.is_some() {
                    while rx.try_recv().is_ok() {}
                }
            }
            Source::Listen(None, _) => std::future::pending().await,
            Source::InProcess(n) => n.notified().await,
        }
    }
}
