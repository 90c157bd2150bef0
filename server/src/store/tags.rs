//! Manifests and tags: the one-statement pull, tag pages, referrers, pushes of bytes
//! (`quay.manifest_put`), tag and manifest deletes. Core: `quay_core::tags`. Statements of
//! `sql/store/tags.sql` run on either backend; every rule-bearing write is a core function (SQLite)
//! or the matching `quay.*` function (PostgreSQL).

use super::query::{Access, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;
use quay_core::manifests::CheckedManifest;
use quay_core::permissions::{self, RepositoryAccess};
use quay_core::tags::PushedManifest;

const SQL: &str = include_str!("../../../sql/store/tags.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

pub use quay_core::tags::StoredManifest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub bytes: String,
    pub artifact_type: Option<String>,
    pub config_media_type: Option<String>,
}

/// A manifest push as the registry received it: the core checks and records it.
#[derive(Debug, Clone)]
pub struct ManifestPush {
    pub repository_id: i64,
    /// The request's `Content-Type` (`None`: the document decides).
    pub content_type: Option<String>,
    pub bytes: String,
    /// The digest a push by digest named (its algorithm is the one computed).
    pub expected_digest: Option<String>,
    pub temp_tag_expiration_s: Option<i64>,
    /// Tags to point at the manifest in the same transaction.
    pub tags: Vec<String>,
    /// For the `repo_push` notifications queued with it.
    pub event: quay_core::notifications::EventContext,
}

/// A PostgreSQL `text[]` literal of `items`, each quoted.
fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> =
        items.iter().map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

impl Store {
    /// [`Store::repository_access`] and the manifest `reference` (a tag or digest) names, in one
    /// statement (`quay_core::tags::manifest_read`, as `quay.manifest_read`).
    pub async fn manifest_read(
        &self,
        namespace: &str,
        name: &str,
        user_id: Option<i64>,
        reference: Option<&str>,
    ) -> Result<Option<(RepositoryAccess, Option<StoredManifest>)>, StoreError> {
        let Some(reference) = reference else {
            return Ok(self.repository_access(namespace, name, user_id).await?.map(|a| (a, None)));
        };
        let mut params = permissions::access_params(namespace, name, user_id);
        params.push(Value::text(reference));
        let rows =
            self.rows(quay_core::tags::manifest_read_statement(reference.contains(':')), params).await?;
        Ok(rows.first().and_then(|r| Some((permissions::access_of(r)?, quay_core::tags::manifest_of(r)))))
    }

    /// Alive tag names after `last`, at most `limit`.
    pub async fn tag_names(
        &self,
        repository_id: i64,
        last: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .rows(sql("tag_names"), vec![Value::Int(repository_id), Value::text(last), Value::Int(limit)])
            .await?;
        Ok(rows.iter().filter_map(|r| text(r, 0)).collect())
    }

    pub async fn referrers(&self, repository_id: i64, subject: &str) -> Result<Vec<Referrer>, StoreError> {
        let rows = self.rows(sql("referrers"), vec![Value::Int(repository_id), Value::text(subject)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Referrer {
                    digest: text(r, 0)?,
                    media_type: text(r, 1)?,
                    bytes: text(r, 2)?,
                    artifact_type: text(r, 3),
                    config_media_type: text(r, 4),
                })
            })
            .collect())
    }

    /// Checks and records a pushed manifest and points its tags at it, in one transaction
    /// (`quay.manifest_put` / `quay_core::tags::manifest_put_checked`): a refusal (bad document,
    /// digest mismatch, unusable blob, immutable tag, ...) leaves nothing behind.
    pub async fn manifest_push(&self, push: ManifestPush) -> Result<PushedManifest, StoreError> {
        match self {
            Store::Postgres(_) => {
                let rows = self
                    .write_rows(
                        "SELECT manifest_id, digest, subject \
                           FROM quay.manifest_push($1, $2, $3, $4::integer, $5, $6::text[], $7)",
                        vec![
                            Value::Int(push.repository_id),
                            Value::opt_text(push.content_type.as_deref()),
                            Value::text(push.bytes),
                            Value::opt_int(push.temp_tag_expiration_s),
                            Value::opt_text(push.expected_digest.as_deref()),
                            Value::text(text_array(&push.tags)),
                            Value::text(push.event.to_json()),
                        ],
                    )
                    .await?;
                first(rows, |r| Some((int(r, 0)?, text(r, 1)?, text(r, 2))))
                    .map(|(id, digest, subject)| PushedManifest { id, digest, subject })
                    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("manifest_put returned nothing")))
            }
            Store::Sqlite(s) => {
                // The bytes-only rules run before the write transaction, keeping it short.
                let ManifestPush {
                    repository_id,
                    content_type,
                    bytes,
                    expected_digest,
                    temp_tag_expiration_s,
                    tags,
                    event,
                } = push;
                let checked =
                    CheckedManifest::check(bytes, content_type.as_deref(), expected_digest.as_deref())
                        .map_err(super::query::core_err)?;
                s.with_core(move |ex| {
                    quay_core::push::manifest_push_checked(
                        ex,
                        repository_id,
                        checked,
                        temp_tag_expiration_s,
                        &tags,
                        &event,
                    )
                })
                .await?
                .map_err(super::query::core_err)
            }
        }
    }

    pub async fn tag_set(&self, repository_id: i64, tag: &str, manifest_id: i64) -> Result<i64, StoreError> {
        let owned = tag.to_string();
        self.call(
            Access::Write,
            "SELECT quay.tag_set($1, $2, $3)",
            vec![Value::Int(repository_id), Value::text(tag), Value::Int(manifest_id)],
            move |ex| quay_core::tags::tag_set(ex, repository_id, &owned, manifest_id, None),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    /// Ends every alive tag on manifest `digest` (`quay.manifest_delete`); how many it ended.
    pub async fn manifest_delete(&self, repository_id: i64, digest: &str) -> Result<i64, StoreError> {
        let owned = digest.to_string();
        self.call(
            Access::Write,
            "SELECT quay.manifest_delete($1, $2)",
            vec![Value::Int(repository_id), Value::text(digest)],
            move |ex| quay_core::tags::manifest_delete(ex, repository_id, &owned),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    pub async fn tag_delete(&self, repository_id: i64, tag: &str) -> Result<bool, StoreError> {
        let owned = tag.to_string();
        self.call(
            Access::Write,
            "SELECT quay.tag_delete($1, $2)",
            vec![Value::Int(repository_id), Value::text(tag)],
            move |ex| quay_core::tags::tag_delete(ex, repository_id, &owned),
            |rows| first(rows, |r| r.first().and_then(Value::as_bool)),
        )
        .await
    }
}

/// A tag generation as the API's tag list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagGeneration {
    pub name: String,
    pub digest: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub reversion: bool,
    pub size: Option<i64>,
    pub media_type: String,
    pub manifest_id: i64,
}

/// What the API's tag list asks for.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    /// Exactly this name.
    pub name: Option<String>,
    /// Names containing this text.
    pub containing: Option<String>,
    pub only_active: bool,
}

impl Store {
    /// Tag generations, newest first: `limit` after skipping `offset`.
    pub async fn tag_history(
        &self,
        repository_id: i64,
        filter: &TagFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TagGeneration>, StoreError> {
        let mut params = vec![Value::Int(repository_id), Value::Int(limit), Value::Int(offset)];
        let mut filters = String::new();
        if let Some(name) = filter.name.as_ref().filter(|n| !n.is_empty()) {
            params.push(Value::text(name.clone()));
            filters.push_str(&format!(" AND t.name = ${}", params.len()));
        }
        if let Some(c) = filter.containing.as_ref().filter(|c| !c.is_empty()) {
            let escaped = c.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            params.push(Value::text(format!("%{escaped}%")));
            filters.push_str(&format!(" AND t.name LIKE ${} ESCAPE '\\'", params.len()));
        }
        if filter.only_active {
            filters.push_str(" AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})");
        }
        let statement = super::query::with_filters(sql("api_history"), &filters);
        let rows = self.statement(Access::Scan, &statement, params).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(TagGeneration {
                    name: text(r, 0)?,
                    digest: text(r, 1)?,
                    start_ms: int(r, 2)?,
                    end_ms: int(r, 3),
                    reversion: super::query::boolean(r, 4),
                    size: int(r, 5),
                    media_type: text(r, 6).unwrap_or_default(),
                    manifest_id: int(r, 7)?,
                })
            })
            .collect())
    }

    pub async fn manifest_children(&self, manifest_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = self.statement(Access::Scan, sql("api_children"), vec![Value::Int(manifest_id)]).await?;
        Ok(rows.iter().filter_map(|r| text(r, 0)).collect())
    }

    /// Changes an alive tag's expiry in place, with its log; returns the old end.
    pub async fn tag_set_expiration(
        &self,
        repository_id: i64,
        name: &str,
        expires_at_ms: Option<i64>,
        log: LogEntry,
    ) -> Result<Option<i64>, StoreError> {
        let n = name.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.tag_set_expiration($1, $2, $3, $4)",
            vec![
                Value::Int(repository_id),
                Value::text(name),
                Value::opt_int(expires_at_ms),
                Value::text(json),
            ],
            move |ex| quay_core::tags::tag_set_expiration(ex, repository_id, &n, expires_at_ms, Some(&log)),
            |rows| Some(first(rows, |r| int(r, 0))),
        )
        .await
    }

    /// Points a tag at a manifest by digest, with its log; returns the digest it had before.
    pub async fn tag_point(
        &self,
        repository_id: i64,
        name: &str,
        digest: &str,
        log: LogEntry,
    ) -> Result<Option<String>, StoreError> {
        let (n, d) = (name.to_string(), digest.to_string());
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.tag_point($1, $2, $3, $4)",
            vec![Value::Int(repository_id), Value::text(name), Value::text(digest), Value::text(json)],
            move |ex| quay_core::tags::tag_point(ex, repository_id, &n, &d, Some(&log)),
            |rows| Some(first(rows, |r| text(r, 0))),
        )
        .await
    }

    /// Ends an alive tag, with its log (`QUAY_TAG_UNKNOWN` without one).
    pub async fn tag_delete_logged(
        &self,
        repository_id: i64,
        name: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let n = name.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.tag_delete($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::text(name), Value::text(json)],
            move |ex| quay_core::tags::tag_delete_logged(ex, repository_id, &n, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Restores a recently ended generation, with its log.
    pub async fn tag_restore_logged(
        &self,
        repository_id: i64,
        name: &str,
        digest: &str,
        log: LogEntry,
    ) -> Result<i64, StoreError> {
        let (n, d) = (name.to_string(), digest.to_string());
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.tag_restore($1, $2, $3, $4)",
            vec![Value::Int(repository_id), Value::text(name), Value::text(digest), Value::text(json)],
            move |ex| quay_core::tags::tag_restore_logged(ex, repository_id, &n, &d, Some(&log)),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }
}
