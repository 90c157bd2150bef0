//! Auto-prune policies: the listings read the core's statements (`sql/autoprune.sql`); writes and
//! prunes are core calls (`quay.autoprune_*`).

use super::query::{Access, first, int, text};
use super::{Store, StoreError};
use quay_core::autoprune::{Policy, Scope};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/autoprune.sql");

fn ids(scope: Scope) -> (Value, Value) {
    match scope {
        Scope::Namespace(ns) => (Value::Int(ns), Value::NullInt),
        Scope::Repository(r) => (Value::Int(0), Value::Int(r)),
    }
}

impl Store {
    /// The policies of a namespace or a repository, oldest first: (uuid, policy).
    pub async fn autoprune_policies(&self, scope: Scope) -> Result<Vec<(String, Policy)>, StoreError> {
        let (statement, id) = match scope {
            Scope::Namespace(id) => ("namespace_policies", id),
            Scope::Repository(id) => ("repository_policies", id),
        };
        let rows = self.rows(named(SQL, statement), vec![Value::Int(id)]).await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, Policy::from_stored(&text(r, 1)?).ok()?))).collect())
    }

    pub async fn autoprune_create(
        &self,
        scope: Scope,
        uuid: &str,
        policy: Policy,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        self.autoprune_write(scope, uuid, policy, log, false).await
    }

    pub async fn autoprune_update(
        &self,
        scope: Scope,
        uuid: &str,
        policy: Policy,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        self.autoprune_write(scope, uuid, policy, log, true).await
    }

    async fn autoprune_write(
        &self,
        scope: Scope,
        uuid: &str,
        policy: Policy,
        log: LogEntry,
        existing: bool,
    ) -> Result<(), StoreError> {
        let (ns, repo) = ids(scope);
        let u = uuid.to_string();
        let config = policy.config().to_string();
        let sql = if existing {
            "SELECT quay.autoprune_policy_update($1, $2, $3, $4, $5)::text"
        } else {
            "SELECT quay.autoprune_policy_create($1, $2, $3, $4, $5)::text"
        };
        self.call(
            Access::Write,
            sql,
            vec![ns, repo, Value::text(uuid), Value::text(config), Value::text(log.to_json())],
            move |ex| {
                if existing {
                    quay_core::autoprune::update(ex, scope, &u, &policy, Some(&log))
                } else {
                    quay_core::autoprune::create(ex, scope, &u, &policy, Some(&log))
                }
            },
            |_| Some(()),
        )
        .await
    }

    pub async fn autoprune_delete(&self, scope: Scope, uuid: &str, log: LogEntry) -> Result<(), StoreError> {
        let (ns, repo) = ids(scope);
        let u = uuid.to_string();
        self.call(
            Access::Write,
            "SELECT quay.autoprune_policy_delete($1, $2, $3, $4)::text",
            vec![ns, repo, Value::text(uuid), Value::text(log.to_json())],
            move |ex| quay_core::autoprune::delete(ex, scope, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Applies the policies to one repository now; the tags pruned.
    pub async fn autoprune_repository(&self, repository_id: i64) -> Result<Vec<String>, StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.autoprune_repository($1)",
            vec![Value::Int(repository_id)],
            move |ex| quay_core::autoprune::prune_repository(ex, repository_id),
            |rows| Some(rows.iter().filter_map(|r| text(r, 0)).collect()),
        )
        .await
    }

    /// One slow-timer pass over the namespaces due; the tags pruned.
    pub async fn autoprune_run_due(&self, batch: i32, interval_ms: i64) -> Result<i64, StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.autoprune_run_due($1::integer, $2)",
            vec![Value::Int(i64::from(batch)), Value::Int(interval_ms)],
            move |ex| quay_core::autoprune::run_due(ex, i64::from(batch), interval_ms).map(|n| n as i64),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }
}
