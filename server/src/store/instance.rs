//! What superusers see of the whole instance: the registry's computed size (Quay's
//! `quotaregistrysize`) and the service keys (`servicekey` with its approval). Statements of
//! `sql/store/instance.sql`.

use super::query::{Access, boolean, int, text};
use super::{Store, StoreError};
use quay_core::exec::named;

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
