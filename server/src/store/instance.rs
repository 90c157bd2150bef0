//! What superusers see of the whole instance: the registry's computed size (Quay's
//! `quotaregistrysize`) and the service keys (`servicekey` with its approval). Statements of
//! `sql/store/instance.sql`.

use super::query::{Access, boolean, int, text};
use super::{Store, StoreError};
use quay_core::exec::named;

/// One queue's depth for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: String,
    pub available: i64,
    pub locked: i64,
    /// Seconds the oldest waiting item has been claimable (0 when none waits).
    pub oldest_available_s: i64,
}

const SQL: &str = include_str!("../../../sql/store/instance.sql");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySize {
    pub size_bytes: i64,
    pub completed_ms: Option<i64>,
    pub queued: bool,
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    pub name: String,
    pub kid: String,
    pub service: String,
    pub jwk: String,
    pub metadata: String,
    pub created: Option<String>,
    pub expiration: Option<String>,
    pub rotation_s: Option<i64>,
    pub approval: Option<Approval>,
}

/// A service key's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub kind: String,
    pub date: Option<String>,
    pub notes: String,
    /// Name and e-mail.
    pub approver: Option<(String, String)>,
}

impl Store {
    /// The size as last computed; zero, never run, when it never was.
    pub async fn registry_size(&self) -> Result<RegistrySize, StoreError> {
        let rows = self.statement(Access::Read, named(SQL, "registry_size"), vec![]).await?;
        Ok(rows
            .first()
            .map(|r| RegistrySize {
                size_bytes: int(r, 0).unwrap_or(0),
                completed_ms: int(r, 1),
                queued: boolean(r, 2),
                running: boolean(r, 3),
            })
            .unwrap_or_default())
    }

    pub async fn service_keys(&self) -> Result<Vec<ServiceKey>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "service_keys"), vec![]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(ServiceKey {
                    name: text(r, 0).unwrap_or_default(),
                    kid: text(r, 1)?,
                    service: text(r, 2).unwrap_or_default(),
                    jwk: text(r, 3).unwrap_or_else(|| "{}".into()),
                    metadata: text(r, 4).unwrap_or_else(|| "{}".into()),
                    created: text(r, 5),
                    expiration: text(r, 6),
                    rotation_s: int(r, 7),
                    approval: text(r, 8).map(|kind| Approval {
                        kind,
                        date: text(r, 9),
                        notes: text(r, 10).unwrap_or_default(),
                        approver: text(r, 11).map(|n| (n, text(r, 12).unwrap_or_default())),
                    }),
                })
            })
            .collect())
    }
}

impl Store {
    /// Per queue: waiting and leased items, and how long the oldest waiting one has waited.
    pub async fn queue_depths(&self) -> Result<Vec<QueueDepth>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "queue_depths"), vec![]).await?;
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        Ok(rows
            .iter()
            .filter_map(|r| {
                let oldest = text(r, 3)
                    .and_then(|t| {
                        time::PrimitiveDateTime::parse(t.split('.').next().unwrap_or(&t), &fmt).ok()
                    })
                    .map_or(0, |t| (now - t.assume_utc()).whole_seconds().max(0));
                Some(QueueDepth {
                    queue: text(r, 0)?,
                    available: int(r, 1).unwrap_or(0),
                    locked: int(r, 2).unwrap_or(0),
                    oldest_available_s: oldest,
                })
            })
            .collect())
    }

    /// Upload sessions not finished (`blobupload` rows).
    pub async fn upload_sessions_open(&self) -> Result<i64, StoreError> {
        let rows = self.statement(Access::Read, named(SQL, "uploads_open"), vec![]).await?;
        Ok(rows.first().and_then(|r| int(r, 0)).unwrap_or(0))
    }

    /// The database pool: connections in use and idle.
    pub fn pool_status(&self) -> (usize, usize) {
        match self {
            Store::Postgres(p) => p.pool_status(),
            Store::Sqlite(s) => s.pool_status(),
        }
    }
}
