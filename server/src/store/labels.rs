//! Manifests as the API shows them, and their labels: writes are core calls that also log
//! (`quay.label_add`, `quay.label_delete`); reads are statements of `sql/store/labels.sql`.

use super::query::{Access, boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/labels.sql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    pub id: i64,
    pub media_type: String,
    pub bytes: String,
    pub config_media_type: Option<String>,
    pub layers_size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub uuid: String,
    pub key: String,
    pub value: String,
    pub media_type: String,
    pub source: String,
}

impl Store {
    pub async fn api_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<ManifestRow>, StoreError> {
        let rows = self
            .rows(named(SQL, "api_manifest"), vec![Value::Int(repository_id), Value::text(digest)])
            .await?;
        Ok(first(rows, |r| {
            Some(ManifestRow {
                id: int(r, 0)?,
                media_type: text(r, 1)?,
                bytes: text(r, 2)?,
                config_media_type: text(r, 3),
                layers_size: int(r, 4),
            })
        }))
    }

    pub async fn labels_of(&self, manifest_id: i64) -> Result<Vec<Label>, StoreError> {
        let rows =
            self.statement(Access::Scan, named(SQL, "labels_of"), vec![Value::Int(manifest_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Label {
                    uuid: text(r, 0)?,
                    key: text(r, 1)?,
                    value: text(r, 2).unwrap_or_default(),
                    media_type: text(r, 3)?,
                    source: text(r, 4)?,
                })
            })
            .collect())
    }

    /// Adds a label and logs it, in one transaction; `false` for a push-time label already there.
    pub async fn label_add(
        &self,
        repository_id: i64,
        digest: &str,
        l: Label,
        log: Option<LogEntry>,
    ) -> Result<bool, StoreError> {
        let d = digest.to_string();
        let json = log.as_ref().map(LogEntry::to_json);
        let params = vec![
            Value::Int(repository_id),
            Value::text(digest),
            Value::text(&l.uuid),
            Value::text(&l.key),
            Value::text(&l.value),
            Value::text(&l.media_type),
            Value::text(&l.source),
            Value::opt_text(json.as_deref()),
        ];
        self.call(
            Access::Write,
            "SELECT quay.label_add($1, $2, $3, $4, $5, $6, $7, $8)",
            params,
            move |ex| {
                let n = quay_core::labels::NewLabel {
                    uuid: &l.uuid,
                    key: &l.key,
                    value: &l.value,
                    media_type: &l.media_type,
                    source: &l.source,
                };
                quay_core::labels::add(ex, repository_id, &d, &n, log.as_ref())
            },
            |rows| first(rows, |r| Some(boolean(r, 0))),
        )
        .await
    }

    pub async fn label_delete(
        &self,
        repository_id: i64,
        digest: &str,
        uuid: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (d, u) = (digest.to_string(), uuid.to_string());
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.label_delete($1, $2, $3, $4)::text",
            vec![Value::Int(repository_id), Value::text(digest), Value::text(uuid), Value::text(json)],
            move |ex| quay_core::labels::delete(ex, repository_id, &d, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
