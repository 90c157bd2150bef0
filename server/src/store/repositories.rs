//! Repositories and namespaces by name: what a request decides on (`quay.repository_access`), names
//! for the catalog, creation (`quay.repository_create`, on push, organizations). Core:
//! `quay_core::repositories`. Statements of `sql/store/repositories.sql` run on either backend;
//! every rule-bearing write is a core function (SQLite) or the matching `quay.*` function
//! (PostgreSQL).

use super::query::{Access, boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;
use quay_core::permissions;

const SQL: &str = include_str!("../../../sql/store/repositories.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

pub use quay_core::permissions::RepositoryAccess;
pub use quay_core::repositories::RepoRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRef {
    pub id: i64,
    pub enabled: bool,
    pub organization: bool,
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
}

/// A repository in an `/api/v1` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryListed {
    pub id: i64,
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub state: i64,
    pub starred: bool,
    /// The newest alive tag's start, epoch ms.
    pub last_modified_ms: Option<i64>,
    /// Actions counted in the last week (Quay's popularity), when asked for.
    pub action_sum: Option<i64>,
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub namespace: Option<String>,
    pub starred_only: bool,
    pub include_public: bool,
    /// Count each repository's actions of the last week (Quay's `popularity`).
    pub popularity: bool,
}

/// A repository as `GET /api/v1/repository/{ns}/{name}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryDetail {
    pub id: i64,
    pub description: Option<String>,
    pub public: bool,
    pub state: i64,
    pub badge_token: String,
    pub organization: bool,
    pub tag_expiration_s: i64,
    pub starred: bool,
}

/// An alive tag in the repository view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSummary {
    pub name: String,
    pub digest: String,
    pub start_ms: i64,
    pub size: Option<i64>,
}

/// The UTC date a week ago (`YYYY-MM-DD`), where Quay's popularity starts counting.
fn week_ago() -> String {
    let day = time::OffsetDateTime::now_utc().date() - time::Duration::days(7);
    let (y, m, d) = (day.year(), u8::from(day.month()), day.day());
    format!("{y:04}-{m:02}-{d:02}")
}

impl Store {
    /// A page (by id, after `after_id`, at most `limit`) of what `caller` may list.
    pub async fn repository_page(
        &self,
        caller: Option<i64>,
        filter: &ListFilter,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<RepositoryListed>, StoreError> {
        let namespace = filter.namespace.as_ref().filter(|n| !n.is_empty());
        let page = quay_core::exec::composed("store.repositories.api_page", || {
            permissions::embed_role_rank(sql("api_page"))
        });
        let mut filters = String::new();
        if namespace.is_some() {
            filters.push_str(" AND ns.username = $6");
        }
        if filter.starred_only {
            filters.push_str(
                " AND EXISTS (SELECT 1 FROM star s WHERE s.repository_id = r.id AND s.user_id = $1)",
            );
        }
        let statement = super::query::with_filters(page, &filters);
        let mut params = vec![
            Value::Int(caller.unwrap_or(-1)),
            Value::Int(after_id),
            Value::Int(limit),
            Value::Bool(filter.include_public),
            Value::text(if filter.popularity { week_ago() } else { String::new() }),
        ];
        if let Some(ns) = namespace {
            params.push(Value::text(ns.clone()));
        }
        let rows = self.statement(Access::Scan, &statement, params).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(RepositoryListed {
                    id: int(r, 0)?,
                    namespace: text(r, 1)?,
                    name: text(r, 2)?,
                    description: text(r, 3),
                    public: boolean(r, 4),
                    state: int(r, 5).unwrap_or(0),
                    starred: boolean(r, 6),
                    last_modified_ms: int(r, 7),
                    action_sum: int(r, 8),
                })
            })
            .collect())
    }

    pub async fn repository_detail(
        &self,
        namespace: &str,
        name: &str,
        caller: Option<i64>,
    ) -> Result<Option<RepositoryDetail>, StoreError> {
        let rows = self
            .rows(
                sql("api_view"),
                vec![Value::text(namespace), Value::text(name), Value::Int(caller.unwrap_or(-1))],
            )
            .await?;
        Ok(first(rows, |r| {
            Some(RepositoryDetail {
                id: int(r, 0)?,
                description: text(r, 1),
                public: boolean(r, 2),
                state: int(r, 3).unwrap_or(0),
                badge_token: text(r, 4).unwrap_or_default(),
                organization: boolean(r, 5),
                tag_expiration_s: int(r, 6).unwrap_or(1_209_600),
                starred: boolean(r, 7),
            })
        }))
    }

    pub async fn active_tags(&self, repository_id: i64) -> Result<Vec<TagSummary>, StoreError> {
        let rows =
            self.statement(Access::Scan, sql("api_active_tags"), vec![Value::Int(repository_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(TagSummary {
                    name: text(r, 0)?,
                    digest: text(r, 1)?,
                    start_ms: int(r, 2)?,
                    size: int(r, 3),
                })
            })
            .collect())
    }

    /// Creates a repository with its description and `create_repo` log in one transaction.
    /// `Ok((id, false))`: it already existed (nothing written). `superuser`: the creator is a
    /// full-access superuser (may create in any namespace).
    #[allow(clippy::too_many_arguments)]
    pub async fn repository_create_logged(
        &self,
        namespace_id: i64,
        name: &str,
        public: bool,
        creator_id: i64,
        description: &str,
        superuser: bool,
        log: LogEntry,
    ) -> Result<(i64, bool), StoreError> {
        let (n, d) = (name.to_string(), description.to_string());
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT repository_id, created FROM quay.repository_create($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Value::Int(namespace_id),
                Value::text(name),
                Value::Bool(public),
                Value::Int(creator_id),
                Value::text(description),
                Value::text(json),
                Value::Bool(superuser),
            ],
            move |ex| {
                quay_core::repositories::create_with(
                    ex,
                    namespace_id,
                    &n,
                    public,
                    creator_id,
                    Some(&d),
                    superuser,
                    Some(&log),
                )
            },
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1)))),
        )
        .await
    }

    pub async fn repository_set_description(
        &self,
        repository_id: i64,
        description: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let d = description.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.repository_set_description($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::text(description), Value::text(json)],
            move |ex| quay_core::repositories::set_description(ex, repository_id, &d, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn repository_set_visibility(
        &self,
        repository_id: i64,
        public: bool,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.repository_set_visibility($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::Bool(public), Value::text(json)],
            move |ex| quay_core::repositories::set_visibility(ex, repository_id, public, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Yesterday's actions counted per live repository (`quay.repository_action_counts_run`):
    /// how many repositories got a count.
    pub async fn repository_action_counts(&self) -> Result<usize, StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.repository_action_counts_run()",
            vec![],
            quay_core::repositories::count_actions_yesterday,
            |rows| {
                super::query::first(rows, |r| super::query::int(r, 0))
                    .map(|n| usize::try_from(n).unwrap_or(0))
            },
        )
        .await
    }

    pub async fn repository_set_state(
        &self,
        repository_id: i64,
        state: i64,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.repository_set_state($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::Int(state), Value::text(json)],
            move |ex| quay_core::repositories::set_state(ex, repository_id, state, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}

impl Store {
    /// Stars a repository for a user (idempotent; no log, as in Quay).
    pub async fn star_add(&self, user_id: i64, repository_id: i64) -> Result<(), StoreError> {
        self.write_rows(sql("star_add"), vec![Value::Int(user_id), Value::Int(repository_id)]).await?;
        Ok(())
    }

    /// Removes a user's star from `namespace/name` (idempotent).
    pub async fn star_remove(&self, user_id: i64, namespace: &str, name: &str) -> Result<(), StoreError> {
        self.write_rows(
            sql("star_remove"),
            vec![Value::Int(user_id), Value::text(namespace), Value::text(name)],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// Marks a repository for deletion (invisible at once; its rows and blobs go in the
    /// repositorygc job) and logs it, in one transaction.
    pub async fn repository_delete_logged(
        &self,
        repository_id: i64,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.repository_delete($1, $2)",
            vec![Value::Int(repository_id), Value::text(json)],
            move |ex| quay_core::gc::repository_delete_logged(ex, repository_id, Some(&log)).map(|_| ()),
            |_| Some(()),
        )
        .await
    }

    /// Marks a user or organization for deletion (`quay.namespace_delete`: disabled and renamed
    /// at once, purged by the namespacegc job). `false` when it was already being deleted.
    pub async fn namespace_delete(&self, namespace_id: i64) -> Result<bool, StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.namespace_delete($1)",
            vec![Value::Int(namespace_id)],
            move |ex| quay_core::gc::namespace_delete(ex, namespace_id).map(|q| q.is_some()),
            |rows| Some(first(rows, |r| int(r, 0)).is_some()),
        )
        .await
    }
}

/// A repository found by `/api/v1/find/repositories`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub organization: bool,
    pub namespace_email: String,
}

impl Store {
    /// Repositories the caller can read whose name contains `query`, `limit` after `offset`.
    pub async fn repository_search(
        &self,
        caller: Option<i64>,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Found>, StoreError> {
        let statement = quay_core::exec::composed("store.repositories.api_search", || {
            permissions::embed_role_rank(sql("api_search"))
        });
        let like = format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = self
            .statement(
                Access::Scan,
                statement,
                vec![
                    Value::Int(caller.unwrap_or(-1)),
                    Value::text(like),
                    Value::Int(limit),
                    Value::Int(offset),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Found {
                    namespace: text(r, 1)?,
                    name: text(r, 2)?,
                    description: text(r, 3),
                    public: boolean(r, 4),
                    organization: boolean(r, 5),
                    namespace_email: text(r, 6).unwrap_or_default(),
                })
            })
            .collect())
    }
}

impl Store {
    /// `(day, count)` of the repository's daily action counts from `since` (`YYYY-MM-DD`).
    pub async fn action_counts(
        &self,
        repository_id: i64,
        since: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .statement(
                Access::Scan,
                named(SQL, "action_counts"),
                vec![Value::Int(repository_id), Value::text(since)],
            )
            .await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, int(r, 1).unwrap_or(0)))).collect())
    }
}
