//! `quay worker`: claims jobs from Quay's queue and runs them; in mirror mode the same loop runs
//! inside `quay serve`.
//!
//! The loop knows no backend: the store hands it a wake-up stream (`store::wakeups`: LISTEN on
//! PostgreSQL, an in-process signal on SQLite), and a slow poll covers anything else (a Python
//! Quay writer that does not NOTIFY, items whose `available_after` passes). Each queue is one
//! [`job::Job`] (claim lease, what an item does; the purges are one job over two queues, `purge.rs`); periodic work (routine GC,
//! stale uploads, the storage sweep) is in [`periodic`]. On shutdown the current job finishes
//! (or is given back on failure) before the loop exits.

mod autoprune;
pub mod job;
mod mail;
pub mod notify;
pub mod once;
pub mod periodic;
mod purge;

use crate::storage::BlobStorage;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::watch;

pub use periodic::clean_stale_uploads;

/// Queues this worker serves by default.
pub const QUEUES: [&str; 4] =
    [purge::REPOSITORY_GC.queue, purge::NAMESPACE_GC.queue, "notification", quay_core::autoprune::QUEUE];

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub queues: Vec<String>,
    /// Fallback poll when no wake-up arrives.
    pub poll: Duration,
    /// Routine GC interval (Quay's GARBAGE_COLLECTION_FREQUENCY); `None` disables it.
    pub gc_every: Option<Duration>,
    /// Stale-upload cleanup interval (`BLOBUPLOAD_CLEANUP_FREQUENCY`); `None` disables it.
    pub upload_cleanup_every: Option<Duration>,
    /// Age after which an unfinished upload is removed (`BLOBUPLOAD_DELETION_DATE_THRESHOLD`);
    /// also the age after which the storage sweep removes objects no row names.
    pub upload_max_age: Duration,
    /// Storage sweep interval (`ops::blobs::sweep`: objects crashes left behind); `None` disables it.
    pub storage_sweep_every: Option<Duration>,
    /// How often yesterday's actions are counted per repository (Quay's repository action
    /// counter, what `popularity` sums; counting again changes nothing); `None` disables it.
    pub action_count_every: Option<Duration>,
    /// How long a notification delivery may take (`NOTIFICATION_SEND_TIMEOUT`).
    pub notification_timeout: Duration,
    /// `WEBHOOK_BLOCK_PRIVATE_ADDRESSES` (ours): webhooks only to public addresses.
    pub webhook_block_private: bool,
    /// SMTP for e-mail notifications (`MAIL_SERVER` …); `None`: e-mails fail with a clear error.
    pub mailer: Option<std::sync::Arc<mail::Mailer>>,
    /// Auto-prune's slow timer (Quay's `AUTO_PRUNING_POLL_PERIOD`); `None` disables it (pushes
    /// still queue prunes).
    pub autoprune_every: Option<Duration>,
    /// `FEATURE_IMAGE_EXPIRY_TRIGGER`: scan for tags about to expire (`repo_image_expiry`) at the
    /// routine-GC interval, with what the payload needs (how the registry is addressed).
    pub image_expiry: Option<quay_core::notifications::EventContext>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: QUEUES.iter().map(|q| q.to_string()).collect(),
            poll: Duration::from_secs(30),
            gc_every: Some(Duration::from_secs(30)),
            upload_cleanup_every: Some(Duration::from_secs(3600)),
            upload_max_age: Duration::from_secs(2 * 86_400),
            storage_sweep_every: Some(Duration::from_secs(86_400)),
            action_count_every: Some(Duration::from_secs(3 * 3600)),
            notification_timeout: Duration::from_secs(10),
            webhook_block_private: false,
            mailer: None,
            autoprune_every: Some(Duration::from_secs(30)),
            image_expiry: None,
        }
    }
}

impl WorkerConfig {
    /// The defaults, with the upload cleanup from the config.
    pub fn from_config(c: &crate::config::Config) -> Self {
        WorkerConfig {
            upload_cleanup_every: (c.blobupload_cleanup_frequency > 0)
                .then(|| Duration::from_secs(c.blobupload_cleanup_frequency)),
            upload_max_age: Duration::from_secs(c.blobupload_deletion_date_threshold.saturating_mul(86_400)),
            notification_timeout: Duration::from_secs(c.notification_send_timeout.max(1)),
            webhook_block_private: c.webhook_block_private_addresses.0,
            mailer: match mail::Mailer::from_config(
                c,
                Duration::from_secs(c.notification_send_timeout.max(1)),
            ) {
                Ok(m) => m.map(std::sync::Arc::new),
                Err(e) => {
                    tracing::warn!(error = %e, "e-mail notifications disabled");
                    None
                }
            },
            image_expiry: c.feature_image_expiry_trigger.0.then(|| quay_core::notifications::EventContext {
                server_hostname: c.server_hostname.clone(),
                scheme: c.preferred_url_scheme.clone(),
                performer: serde_json::Value::Null,
            }),
            ..WorkerConfig::default()
        }
    }
}

/// The job of queue `name`, if this worker has one.
pub fn job(name: &str, cfg: &WorkerConfig) -> Option<Box<dyn job::Job>> {
    match name {
        quay_core::autoprune::QUEUE => Some(Box::new(autoprune::AutoPrune)),
        "notification" => Some(Box::new(notify::Notify::new(
            cfg.notification_timeout,
            cfg.webhook_block_private,
            cfg.mailer.clone(),
        ))),
        _ => [&purge::REPOSITORY_GC, &purge::NAMESPACE_GC]
            .into_iter()
            .find(|j| j.queue == name)
            .map(|j| Box::new(*j) as Box<dyn job::Job>),
    }
}

/// Runs the loop until `shutdown` becomes true.
pub async fn run(store: Store, storage: BlobStorage, cfg: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut wake = store.wakeups();
    let jobs: Vec<Box<dyn job::Job>> = cfg
        .queues
        .iter()
        .filter_map(|q| {
            let j = job(q, &cfg);
            if j.is_none() {
                tracing::warn!(queue = %q, "no job for this queue: not served");
            }
            j
        })
        .collect();
    let never = Duration::from_secs(3600 * 24 * 365);
    let mut gc_tick = tokio::time::interval(cfg.gc_every.unwrap_or(never));
    gc_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut upload_tick = tokio::time::interval(cfg.upload_cleanup_every.unwrap_or(never));
    upload_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune_tick = tokio::time::interval(cfg.autoprune_every.unwrap_or(never));
    prune_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep_tick = tokio::time::interval(cfg.storage_sweep_every.unwrap_or(never));
    sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut count_tick = tokio::time::interval(cfg.action_count_every.unwrap_or(never));
    count_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(queues = ?cfg.queues, backend = store.backend(), "worker started");
    while !*shutdown.borrow() {
        wake.ensure(&store, &mut shutdown).await;
        // Drain: claim until every queue is empty (or we are asked to stop).
        loop {
            let mut worked = false;
            for j in &jobs {
                if *shutdown.borrow() {
                    break;
                }
                worked |= job::claim_and_run(j.as_ref(), &store, &storage).await;
            }
            if !worked || *shutdown.borrow() {
                break;
            }
        }
        tokio::select! {
            _ = wake.wait() => {}
            _ = tokio::time::sleep(cfg.poll) => {}
            _ = gc_tick.tick(), if cfg.gc_every.is_some() => {
                let t = std::time::Instant::now();
                let outcome = periodic::routine_gc(&store, &storage).await;
                periodic::ran(&store, "gc", t, outcome).await;
                if let Some(ctx) = &cfg.image_expiry {
                    let t = std::time::Instant::now();
                    let outcome = periodic::image_expiry_scan(&store, ctx.clone()).await;
                    periodic::ran(&store, "image_expiry_scan", t, outcome).await;
                }
            }
            _ = upload_tick.tick(), if cfg.upload_cleanup_every.is_some() => {
                let t = std::time::Instant::now();
                periodic::clean_stale_uploads(&store, &storage, cfg.upload_max_age).await;
                periodic::ran(&store, "stale_uploads", t, Ok(())).await;
            }
            _ = prune_tick.tick(), if cfg.autoprune_every.is_some() => {
                let t = std::time::Instant::now();
                let outcome = autoprune::run_due(&store).await;
                periodic::ran(&store, "autoprune", t, outcome).await;
            }
            _ = sweep_tick.tick(), if cfg.storage_sweep_every.is_some() => {
                let t = std::time::Instant::now();
                let outcome = crate::ops::blobs::sweep(&store, &storage, cfg.upload_max_age).await.map(|_| ()).map_err(|e| {
                    tracing::warn!(error = %e, "storage sweep failed");
                    e.to_string()
                });
                periodic::ran(&store, "storage_sweep", t, outcome).await;
            }
            _ = count_tick.tick(), if cfg.action_count_every.is_some() => {
                let t = std::time::Instant::now();
                let outcome = periodic::count_actions(&store).await;
                periodic::ran(&store, "action_count", t, outcome).await;
            }
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("worker stopped");
}

/// A watch channel that turns true on SIGTERM/SIGINT.
pub fn shutdown_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        tracing::info!("shutdown requested: finishing the current job");
        let _ = tx.send(true);
    });
    rx
}
