//! What the registry API (`/v2`, `/v2/auth`) reads and writes. Reads and upload bookkeeping are
//! statements of `sql/registry.sql`; every rule-bearing write is a core function (SQLite) or the
//! matching `quay.*` function (PostgreSQL).

use super::locks::DigestLock;
use super::query::{Access, boolean, int, text};
use super::{Store, StoreError};
use quay_core::blobs::RepoBlob;
use quay_core::exec::{Row, Value, named};
use quay_core::manifests::CheckedManifest;
use quay_core::permissions::{self, Role};
use quay_core::tags::PushedManifest;

const SQL: &str = include_str!("../../../sql/registry.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRef {
    pub id: i64,
    pub enabled: bool,
    pub organization: bool,
}

pub use quay_core::permissions::RepositoryAccess;
pub use quay_core::repositories::RepoRef;
pub use quay_core::tags::StoredManifest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: i64,
    pub byte_count: i64,
    pub sha_state: Option<String>,
    pub chunk_count: i64,
    /// The storage pieces recorded so far, in order (`storage_metadata` `{"pieces": [...]}`).
    pub pieces: Vec<String>,
}

/// `storage_metadata` of an upload with these pieces.
fn pieces_metadata(pieces: &[String]) -> String {
    serde_json::json!({ "pieces": pieces }).to_string()
}

fn pieces_of(metadata: Option<&str>) -> Vec<String> {
    metadata
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("pieces")?.as_array()?.iter().map(|p| p.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub bytes: String,
    pub artifact_type: Option<String>,
    pub config_media_type: Option<String>,
}

/// A robot's stored token, or an app token's stored secret, with who it authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub user_id: i64,
    pub uuid: String,
    pub username: String,
    /// The field-encrypted secret (`v0$$…`).
    pub encrypted: String,
    /// Enabled, unexpired (and, for robots, the owner enabled).
    pub usable: bool,
}

/// A repository delegate token (`accesstoken`).
#[derive(Debug, Clone)]
pub struct StoredAccessToken {
    pub repository_id: i64,
    pub role: Option<Role>,
    /// The field-encrypted rest of the code.
    pub encrypted: String,
}

/// An OAuth access token (`oauthaccesstoken`) and its user.
#[derive(Debug, Clone)]
pub struct StoredOAuthToken {
    pub uuid: String,
    pub user_id: i64,
    pub username: String,
    pub user_enabled: bool,
    /// bcrypt of the rest of the token.
    pub code_hash: String,
    pub scope: String,
    pub unexpired: bool,
}

fn first<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Option<T>) -> Option<T> {
    rows.first().and_then(f)
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
}

/// A PostgreSQL `text[]` literal of `items`, each quoted.
fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> =
        items.iter().map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

impl Store {
    pub async fn namespace_by_name(&self, name: &str) -> Result<Option<NamespaceRef>, StoreError> {
        let rows = self.rows(sql("namespace_by_name"), vec![Value::text(name)]).await?;
        Ok(first(rows, |r| {
            Some(NamespaceRef { id: int(r, 0)?, enabled: boolean(r, 1), organization: boolean(r, 2) })
        }))
    }

    /// The live repository `namespace/name` and `user_id`'s role on it: one statement (the core's,
    /// which `quay.repository_access` runs too), one round trip.
    pub async fn repository_access(
        &self,
        namespace: &str,
        name: &str,
        user_id: Option<i64>,
    ) -> Result<Option<RepositoryAccess>, StoreError> {
        let sql = permissions::repository_access_statement();
        let rows = self.rows(sql, permissions::access_params(namespace, name, user_id)).await?;
        Ok(rows.first().and_then(|r| permissions::access_of(r)))
    }

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

    /// [`Store::repository_access`] and the blob `digest` if the repository may use it, in one
    /// statement (`quay_core::blobs::blob_read`, as `quay.blob_read`).
    pub async fn blob_read(
        &self,
        namespace: &str,
        name: &str,
        user_id: Option<i64>,
        digest: Option<&str>,
    ) -> Result<Option<(RepositoryAccess, Option<RepoBlob>)>, StoreError> {
        let Some(digest) = digest.filter(|d| quay_core::names::is_valid_digest(d)) else {
            return Ok(self.repository_access(namespace, name, user_id).await?.map(|a| (a, None)));
        };
        let mut params = permissions::access_params(namespace, name, user_id);
        params.push(Value::text(digest));
        let sql = quay_core::blobs::blob_read_statement(digest == quay_core::blobs::EMPTY_LAYER_DIGEST);
        let rows = self.rows(sql, params).await?;
        Ok(rows.first().and_then(|r| Some((permissions::access_of(r)?, quay_core::blobs::blob_of(r)))))
    }

    /// The caller's role on a repository (`quay.repository_role`).
    pub async fn repository_role(
        &self,
        user_id: Option<i64>,
        repository_id: i64,
    ) -> Result<Option<Role>, StoreError> {
        let name: Option<String> = self
            .call(
                Access::Read,
                "SELECT quay.repository_role($1, $2)",
                vec![Value::opt_int(user_id), Value::Int(repository_id)],
                move |ex| {
                    quay_core::permissions::repository_role(ex, user_id, repository_id)
                        .map(|r| r.map(|r| r.as_str().to_string()))
                },
                |rows| Some(first(rows, |r| text(r, 0))),
            )
            .await?;
        Ok(name.as_deref().and_then(Role::parse))
    }

    /// A page of the catalog: `(id, "namespace/name")` of the repositories the caller can read
    /// (`quay.visible_repository_names`), at most `limit` after `after` in byte order.
    pub async fn visible_repository_names(
        &self,
        user_id: Option<i64>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let owned = after.to_string();
        let limit = limit.clamp(0, i64::from(i32::MAX));
        self.call(
            Access::Scan,
            "SELECT repository_id, full_name FROM quay.visible_repository_names($1, $2, $3::integer)",
            vec![Value::opt_int(user_id), Value::text(after), Value::Int(limit)],
            move |ex| quay_core::permissions::visible_names(ex, user_id, &owned, limit),
            |rows| Some(rows.iter().filter_map(|r| Some((int(r, 0)?, text(r, 1)?))).collect()),
        )
        .await
    }

    /// Every live image repository's `(id, "namespace/name")` after `after`, at most `limit`.
    pub async fn repository_names_after(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self
            .write_rows(sql("repository_names_after"), vec![Value::text(after), Value::Int(limit)])
            .await?;
        Ok(rows.iter().filter_map(|r| Some((int(r, 0)?, text(r, 1)?))).collect())
    }

    /// `(id, "namespace/name")` of live repositories with ids in `[from, to]`.
    pub async fn repository_names(&self, from: i64, to: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self.rows(sql("repository_names"), vec![Value::Int(from), Value::Int(to)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((int(r, 0)?, format!("{}/{}", text(r, 1)?, text(r, 2)?))))
            .collect())
    }

    /// The first repository (by id) the user can read that holds blob `digest`
    /// (`quay.readable_repository_with_blob`): a mount's source when the client names none.
    pub async fn readable_repository_with_blob(
        &self,
        user_id: Option<i64>,
        digest: &str,
    ) -> Result<Option<i64>, StoreError> {
        let owned = digest.to_string();
        self.call(
            Access::Read,
            "SELECT quay.readable_repository_with_blob($1, $2)",
            vec![Value::opt_int(user_id), Value::text(digest)],
            move |ex| quay_core::permissions::readable_with_blob(ex, user_id, &owned),
            |rows| Some(first(rows, |r| int(r, 0))),
        )
        .await
    }

    /// Repositories (up to 100) that hold blob `digest`: candidates for a mount without `from`.
    pub async fn repositories_with_blob(&self, digest: &str) -> Result<Vec<i64>, StoreError> {
        let rows = self.rows(sql("repositories_with_blob"), vec![Value::text(digest)]).await?;
        Ok(rows.iter().filter_map(|r| int(r, 0)).collect())
    }

    /// The organization `name`, created with `creator_id` as its owner when no namespace has
    /// that name (`quay.organization_create`). Returns its id and whether it was created.
    pub async fn organization_create(
        &self,
        name: &str,
        creator_id: i64,
        removed_tag_expiration_s: i64,
    ) -> Result<(i64, bool), StoreError> {
        let owned = name.to_string();
        self.call(
            Access::Write,
            "SELECT organization_id, created FROM quay.organization_create($1, $2, $3)",
            vec![Value::text(name), Value::Int(creator_id), Value::Int(removed_tag_expiration_s)],
            move |ex| quay_core::organizations::create(ex, &owned, creator_id, removed_tag_expiration_s),
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1)))),
        )
        .await
    }

    /// Whether the user may create repositories in the namespace (`quay.can_create_repository`).
    pub async fn can_create_repository(&self, user_id: i64, namespace_id: i64) -> Result<bool, StoreError> {
        self.call(
            Access::Read,
            "SELECT quay.can_create_repository($1, $2)",
            vec![Value::Int(user_id), Value::Int(namespace_id)],
            move |ex| quay_core::repositories::can_create(ex, user_id, namespace_id),
            |rows| first(rows, |r| r.first().and_then(Value::as_bool)),
        )
        .await
    }

    /// What a push creates, in one transaction (`quay.repository_create_on_push`): the
    /// repository, and first its namespace as an organization when missing and
    /// `namespace_expiration_s` is given. Returns the repository id and (namespace created,
    /// repository created).
    pub async fn repository_create_on_push(
        &self,
        namespace: &str,
        name: &str,
        public: bool,
        creator_id: i64,
        namespace_expiration_s: Option<i64>,
    ) -> Result<(i64, bool, bool), StoreError> {
        let (ns, n) = (namespace.to_string(), name.to_string());
        self.call(
            Access::Write,
            "SELECT repository_id, namespace_created, repository_created \
             FROM quay.repository_create_on_push($1, $2, $3, $4, $5)",
            vec![
                Value::text(namespace),
                Value::text(name),
                Value::Bool(public),
                Value::Int(creator_id),
                Value::opt_int(namespace_expiration_s),
            ],
            move |ex| {
                quay_core::repositories::create_on_push(
                    ex,
                    &ns,
                    &n,
                    public,
                    creator_id,
                    namespace_expiration_s,
                )
            },
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1), boolean(r, 2)))),
        )
        .await
    }

    /// The live repository, created when missing (`quay.repository_create`).
    pub async fn repository_create(
        &self,
        namespace_id: i64,
        name: &str,
        public: bool,
        creator_id: i64,
    ) -> Result<(i64, bool), StoreError> {
        let owned = name.to_string();
        self.call(
            Access::Write,
            "SELECT repository_id, created FROM quay.repository_create($1, $2, $3, $4)",
            vec![Value::Int(namespace_id), Value::text(name), Value::Bool(public), Value::Int(creator_id)],
            move |ex| quay_core::repositories::create(ex, namespace_id, &owned, public, creator_id),
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1)))),
        )
        .await
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
                           FROM quay.manifest_put($1, $2, $3, $4::integer, $5, $6::text[])",
                        vec![
                            Value::Int(push.repository_id),
                            Value::opt_text(push.content_type.as_deref()),
                            Value::text(push.bytes),
                            Value::opt_int(push.temp_tag_expiration_s),
                            Value::opt_text(push.expected_digest.as_deref()),
                            Value::text(text_array(&push.tags)),
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
                } = push;
                let checked =
                    CheckedManifest::check(bytes, content_type.as_deref(), expected_digest.as_deref())
                        .map_err(super::query::core_err)?;
                s.with_core(move |ex| {
                    quay_core::tags::manifest_put_checked(
                        ex,
                        repository_id,
                        checked,
                        temp_tag_expiration_s,
                        &tags,
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

    pub async fn blob_lookup(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<RepoBlob>, StoreError> {
        let owned = digest.to_string();
        self.call(
            Access::Read,
            "SELECT storage_id, size_bytes FROM quay.blob_lookup($1, $2)",
            vec![Value::Int(repository_id), Value::text(digest)],
            move |ex| quay_core::blobs::blob_lookup(ex, repository_id, &owned),
            |rows| Some(first(rows, |r| Some(RepoBlob { storage_id: int(r, 0)?, size: int(r, 1) }))),
        )
        .await
    }

    /// Records a stored blob and links it to the repository (`quay.blob_commit`), holding the
    /// digest lock under which the caller placed or found its object.
    pub async fn blob_commit(
        &self,
        lock: &DigestLock,
        repository_id: i64,
        digest: &str,
        size: i64,
        location: &str,
        link_expiration_s: i64,
    ) -> Result<i64, StoreError> {
        match self {
            Store::Postgres(_) => {
                let rows = self
                    .locked_rows(
                        lock,
                        Access::Write,
                        "SELECT quay.blob_commit($1, $2, $3, $4, $5::integer)",
                        vec![
                            Value::Int(repository_id),
                            Value::text(digest),
                            Value::Int(size),
                            Value::text(location),
                            Value::Int(link_expiration_s),
                        ],
                    )
                    .await?;
                first(rows, |r| int(r, 0))
                    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("blob_commit returned nothing")))
            }
            Store::Sqlite(s) => {
                let (d, l) = (digest.to_string(), location.to_string());
                s.with_core(move |ex| {
                    quay_core::blobs::blob_commit(ex, repository_id, &d, size, &l, link_expiration_s)
                })
                .await?
                .map_err(super::query::core_err)
            }
        }
    }

    /// Ends the upload session `up` (as last seen) and records the verified blob, in one
    /// transaction (`quay.upload_finish`), holding the digest lock under which the caller placed
    /// or found its object. `StoreError::Rule(UploadChanged)` when the session moved on.
    pub async fn upload_finish(
        &self,
        lock: &DigestLock,
        up: &Upload,
        repository_id: i64,
        digest: &str,
        size: i64,
        location: &str,
        link_expiration_s: i64,
    ) -> Result<i64, StoreError> {
        let (id, bytes, chunks) = (up.id, up.byte_count, up.chunk_count);
        match self {
            Store::Postgres(_) => {
                let rows = self
                    .locked_rows(
                        lock,
                        Access::Write,
                        "SELECT quay.upload_finish($1, $2, $3, $4, $5, $6, $7, $8::integer)",
                        vec![
                            Value::Int(id),
                            Value::Int(repository_id),
                            Value::Int(bytes),
                            Value::Int(chunks),
                            Value::text(digest),
                            Value::Int(size),
                            Value::text(location),
                            Value::Int(link_expiration_s),
                        ],
                    )
                    .await?;
                first(rows, |r| int(r, 0))
                    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("upload_finish returned nothing")))
            }
            Store::Sqlite(s) => {
                let (d, l) = (digest.to_string(), location.to_string());
                s.with_core(move |ex| {
                    quay_core::blobs::upload_finish(
                        ex,
                        id,
                        repository_id,
                        bytes,
                        chunks,
                        &d,
                        size,
                        &l,
                        link_expiration_s,
                    )
                })
                .await?
                .map_err(super::query::core_err)
            }
        }
    }

    pub async fn upload_create(
        &self,
        repository_id: i64,
        uuid: &str,
        sha_state: &str,
        location: &str,
    ) -> Result<i64, StoreError> {
        let rows = self
            .write_rows(
                sql("upload_insert"),
                vec![
                    Value::Int(repository_id),
                    Value::text(uuid),
                    Value::text(sha_state),
                    Value::text(location),
                ],
            )
            .await?;
        first(rows, |r| int(r, 0)).ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!("storage location {location} is not in imagestoragelocation"))
        })
    }

    pub async fn upload(&self, repository_id: i64, uuid: &str) -> Result<Option<Upload>, StoreError> {
        let rows = self.rows(sql("upload_get"), vec![Value::Int(repository_id), Value::text(uuid)]).await?;
        Ok(first(rows, |r| {
            Some(Upload {
                id: int(r, 0)?,
                byte_count: int(r, 1)?,
                sha_state: text(r, 2),
                chunk_count: int(r, 3)?,
                pieces: pieces_of(text(r, 4).as_deref()),
            })
        }))
    }

    /// Records `piece` after the upload as read (`up`): now `to` bytes with the new hash state;
    /// `false` if another request recorded something first (the caller's piece is then unused).
    pub async fn upload_advance(
        &self,
        up: &Upload,
        piece: &str,
        to: i64,
        sha_state: &str,
    ) -> Result<bool, StoreError> {
        let mut pieces = up.pieces.clone();
        pieces.push(piece.to_string());
        let rows = self
            .write_rows(
                sql("upload_advance"),
                vec![
                    Value::Int(up.id),
                    Value::Int(up.byte_count),
                    Value::Int(to),
                    Value::text(sha_state),
                    Value::Int(up.chunk_count),
                    Value::text(pieces_metadata(&pieces)),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Ends the upload if it is still exactly as `up` says; `false` when another request changed
    /// or ended it first. The winner alone owns the upload's pieces from then on.
    pub async fn upload_claim(&self, up: &Upload) -> Result<bool, StoreError> {
        let rows = self
            .write_rows(
                sql("upload_claim"),
                vec![Value::Int(up.id), Value::Int(up.byte_count), Value::Int(up.chunk_count)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Whether an upload row with this uuid exists (in any repository).
    pub async fn upload_exists(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(!self.rows(sql("upload_exists"), vec![Value::text(uuid)]).await?.is_empty())
    }

    /// Whether any storage row names the content object of `digest` (a quick look, no lock).
    pub async fn blob_named(&self, digest: &str) -> Result<bool, StoreError> {
        Ok(!self.rows(sql("checksum_stored"), vec![Value::text(digest)]).await?.is_empty())
    }

    /// Whether any storage row names the content object of `digest` (checked under its lock).
    pub async fn checksum_stored(&self, lock: &DigestLock, digest: &str) -> Result<bool, StoreError> {
        let rows =
            self.locked_rows(lock, Access::Write, sql("checksum_stored"), vec![Value::text(digest)]).await?;
        Ok(!rows.is_empty())
    }

    pub async fn upload_delete(&self, repository_id: i64, uuid: &str) -> Result<bool, StoreError> {
        let rows =
            self.write_rows(sql("upload_delete"), vec![Value::Int(repository_id), Value::text(uuid)]).await?;
        Ok(!rows.is_empty())
    }

    /// At most `limit` uploads older than `max_age_s` seconds: `(id, uuid)`, oldest first.
    pub async fn stale_uploads(&self, max_age_s: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self.rows(sql("uploads_stale"), vec![Value::Int(limit), Value::Int(-max_age_s)]).await?;
        Ok(rows.iter().filter_map(|r| Some((int(r, 0)?, text(r, 1)?))).collect())
    }

    /// Removes an upload row by id; `false` when it was already gone.
    pub async fn upload_delete_by_id(&self, id: i64) -> Result<bool, StoreError> {
        Ok(!self.write_rows(sql("upload_delete_by_id"), vec![Value::Int(id)]).await?.is_empty())
    }

    /// Adds missing `imagestoragelocation` rows for the configured locations (Quay does this at boot).
    pub async fn ensure_storage_locations(&self, names: &[String]) -> Result<(), StoreError> {
        for n in names {
            self.write_rows(sql("location_ensure"), vec![Value::text(n)]).await?;
        }
        Ok(())
    }

    /// A robot (`owner+name`) and its encrypted token.
    pub async fn robot_secret(&self, robot: &str) -> Result<Option<StoredSecret>, StoreError> {
        let Some((owner, _)) = robot.split_once('+') else { return Ok(None) };
        let rows = self.rows(sql("robot_token"), vec![Value::text(robot), Value::text(owner)]).await?;
        Ok(first(rows, |r| {
            Some(StoredSecret {
                user_id: int(r, 0)?,
                uuid: text(r, 1).unwrap_or_default(),
                username: robot.to_string(),
                usable: boolean(r, 2),
                encrypted: text(r, 3)?,
            })
        }))
    }

    /// A delegate token by its public first 32 characters.
    pub async fn access_token(&self, token_name: &str) -> Result<Option<StoredAccessToken>, StoreError> {
        let rows = self.rows(sql("access_token"), vec![Value::text(token_name)]).await?;
        Ok(first(rows, |r| {
            Some(StoredAccessToken {
                repository_id: int(r, 0)?,
                role: text(r, 1).as_deref().and_then(Role::parse),
                encrypted: text(r, 2)?,
            })
        }))
    }

    /// An OAuth access token by its public first 20 characters (`by_uuid`: by its uuid).
    pub async fn oauth_token(
        &self,
        key: &str,
        by_uuid: bool,
    ) -> Result<Option<StoredOAuthToken>, StoreError> {
        let q = if by_uuid { "oauth_token_by_uuid" } else { "oauth_token_by_name" };
        let rows = self.rows(sql(q), vec![Value::text(key)]).await?;
        Ok(first(rows, |r| {
            Some(StoredOAuthToken {
                uuid: text(r, 0)?,
                user_id: int(r, 1)?,
                username: text(r, 2)?,
                user_enabled: boolean(r, 3),
                code_hash: text(r, 4)?,
                scope: text(r, 5).unwrap_or_default(),
                unexpired: boolean(r, 6),
            })
        }))
    }

    /// An app-specific token by its public first half.
    pub async fn app_token_secret(&self, token_name: &str) -> Result<Option<StoredSecret>, StoreError> {
        let rows = self.rows(sql("app_token"), vec![Value::text(token_name)]).await?;
        Ok(first(rows, |r| {
            Some(StoredSecret {
                user_id: int(r, 0)?,
                uuid: text(r, 1)?,
                username: text(r, 2)?,
                usable: boolean(r, 3) && boolean(r, 5),
                encrypted: text(r, 4)?,
            })
        }))
    }

    pub async fn user_uuid(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(first(self.rows(sql("user_uuid"), vec![Value::Int(user_id)]).await?, |r| text(r, 0)))
    }

    /// The public JWK of an approved, unexpired service key.
    pub async fn service_key_jwk(&self, kid: &str, service: &str) -> Result<Option<String>, StoreError> {
        let rows = self.rows(sql("servicekey_jwk"), vec![Value::text(kid), Value::text(service)]).await?;
        Ok(first(rows, |r| text(r, 0)))
    }

    /// Publishes this instance's key in `servicekey` (auto-approved, live for `expires_in_s`) so
    /// every pod accepts its tokens; a key already published (a stable key file) is renewed
    /// instead of inserted again.
    pub async fn service_key_register(
        &self,
        name: &str,
        kid: &str,
        service: &str,
        jwk: &str,
        expires_in_s: i64,
    ) -> Result<(), StoreError> {
        if self.service_key_renew(kid, service, expires_in_s).await? {
            return Ok(());
        }
        let approval = first(self.write_rows(sql("servicekey_approval"), vec![]).await?, |r| int(r, 0))
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("servicekeyapproval insert returned no id")))?;
        self.write_rows(
            sql("servicekey_insert"),
            vec![
                Value::text(name),
                Value::text(kid),
                Value::text(service),
                Value::text(jwk),
                Value::Int(approval),
                Value::Int(expires_in_s),
            ],
        )
        .await?;
        Ok(())
    }

    /// Moves key `kid`'s expiry to now + `expires_in_s`. `false` when the key is not (or no
    /// longer) in the table.
    pub async fn service_key_renew(
        &self,
        kid: &str,
        service: &str,
        expires_in_s: i64,
    ) -> Result<bool, StoreError> {
        let rows = self
            .write_rows(
                sql("servicekey_renew"),
                vec![Value::text(kid), Value::Int(expires_in_s), Value::text(service)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Housekeeping of `service`'s keys: rows this server wrote before keys expired get an expiry
    /// of `expires_in_s`; keys expired at least `keep_expired_s` ago are deleted with their
    /// automatic approvals. Returns how many keys were deleted.
    pub async fn service_keys_collect(
        &self,
        service: &str,
        expires_in_s: i64,
        keep_expired_s: i64,
    ) -> Result<usize, StoreError> {
        self.write_rows(
            sql("servicekey_expire_legacy"),
            vec![Value::text(service), Value::Int(expires_in_s)],
        )
        .await?;
        let gone = self
            .write_rows(
                sql("servicekey_gc"),
                vec![Value::text(service), Value::Int(keep_expired_s.saturating_neg())],
            )
            .await?;
        for approval in gone.iter().filter_map(|r| int(r, 0)) {
            self.write_rows(sql("servicekey_approval_gc"), vec![Value::Int(approval)]).await?;
        }
        Ok(gone.len())
    }
}
