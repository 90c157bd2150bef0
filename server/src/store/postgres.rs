//! PostgreSQL store: a deadpool pool of tokio-postgres connections; invariants live in the
//! `quay` extension's functions.

use super::schema::{Found, Plan, check_contract, plan};
use super::{ExtensionStatus, MigrateReport, SchemaOutcome, StoreError};
use crate::config::DbUri;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("../migrations/postgres");
}

/// Extension name, as in `CREATE EXTENSION quay`.
pub const EXTENSION: &str = "quay";

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    uri: DbUri,
}

impl PgStore {
    pub async fn open(uri: &DbUri) -> Result<Self, StoreError> {
        let unreachable = |reason: String| StoreError::Unreachable { uri: uri.redacted(), reason };
        let mut cfg: tokio_postgres::Config = uri
            .expose()
            .parse()
            .map_err(|e: tokio_postgres::Error| unreachable(format!("invalid DB_URI: {e}")))?;
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(10));
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("quay-rs");
        }
        let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(16)
            // Our statements are point lookups prepared once per connection; PostgreSQL's
            // default plan choice kept re-planning the registry's read (a quarter of a pull's
            // cost, docs/decisions.md), so every session uses the cached generic plan.
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client
                        .batch_execute("SET plan_cache_mode = force_generic_plan")
                        .await
                        .map_err(deadpool_postgres::HookError::Backend)
                })
            }))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        // Fail now, with the server's reason, rather than on the first request.
        let client = pool.get().await.map_err(|e| unreachable(pool_error_reason(&e)))?;
        client.simple_query("SELECT 1").await.map_err(|e| unreachable(pg_error_text(&e)))?;
        Ok(PgStore { pool, uri: uri.clone() })
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let started = std::time::Instant::now();
        let got = self.pool.get().await;
        crate::metrics::pool_get(started, &got);
        got.map_err(|e| StoreError::Unreachable { uri: self.uri.redacted(), reason: pool_error_reason(&e) })
    }

    /// A dedicated connection (outside the pool) listening on `channel`; notification payloads
    /// arrive on the receiver, which closes when the connection drops.
    pub async fn listen(
        &self,
        channel: &str,
    ) -> Result<(tokio_postgres::Client, tokio::sync::mpsc::UnboundedReceiver<String>), StoreError> {
        let unreachable = |e: tokio_postgres::Error| StoreError::Unreachable {
            uri: self.uri.redacted(),
            reason: pg_error_text(&e),
        };
        let (client, mut conn) =
            tokio_postgres::connect(self.uri.expose(), NoTls).await.map_err(unreachable)?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                        if tx.send(n.payload().to_string()).is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        });
        client.batch_execute(&format!("LISTEN {channel}")).await.map_err(unreachable)?;
        Ok((client, rx))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.simple_query("SELECT 1").await.map_err(|e| anyhow::anyhow!(pg_error_text(&e)))?;
        Ok(())
    }

    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        let mut client = self.client().await?;
        let row = client
            .query_one(
                "SELECT to_regclass('alembic_version') IS NOT NULL,
                        to_regclass('refinery_schema_history') IS NOT NULL,
                        (SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema())",
                &[],
            )
            .await
            .map_err(pg_err)?;
        let found = Found { alembic: row.get(0), refinery: row.get(1), tables: row.get(2) };
        let schema = match plan(&found) {
            Plan::Migrate { fresh } => {
                let report = embedded::migrations::runner()
                    .run_async(&mut **client)
                    .await
                    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
                let applied: Vec<String> =
                    report.applied_migrations().iter().map(|m| m.to_string()).collect();
                if fresh { SchemaOutcome::Created { applied } } else { SchemaOutcome::Migrated { applied } }
            }
            Plan::LeaveQuayAlone => {
                let rev = client
                    .query_opt("SELECT version_num::text FROM alembic_version LIMIT 1", &[])
                    .await
                    .map_err(pg_err)?
                    .map(|r| r.get::<_, String>(0));
                SchemaOutcome::ExistingQuay { alembic_revision: rev }
            }
            Plan::NotQuay => return Err(StoreError::NotQuay(self.uri.redacted())),
        };
        self.check_contract(&client).await?;
        let extension = install_extension(&client).await?;
        Ok(MigrateReport { schema, extension })
    }

    async fn check_contract(&self, client: &tokio_postgres::Client) -> Result<(), StoreError> {
        let rows = client
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                  WHERE table_schema = current_schema()",
                &[],
            )
            .await
            .map_err(pg_err)?;
        let pairs: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        check_contract(&pairs)
    }

    pub async fn check_ready(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        self.check_contract(&client).await?;
        let installed = client
            .query_opt("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1", &[&EXTENSION])
            .await
            .map_err(pg_err)?;
        if installed.is_none() {
            return Err(StoreError::ExtensionMissing);
        }
        Ok(())
    }
}

async fn install_extension(client: &tokio_postgres::Client) -> Result<ExtensionStatus, StoreError> {
    let row = client
        .query_opt(
            "SELECT default_version, installed_version FROM pg_catalog.pg_available_extensions WHERE name = $1",
            &[&EXTENSION],
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = row else { return Ok(ExtensionStatus::Unavailable) };
    let default: String = row.get(0);
    let installed: Option<String> = row.get(1);
    match installed {
        None => {
            client
                .batch_execute("CREATE EXTENSION IF NOT EXISTS quay")
                .await
                .map_err(|e| anyhow::anyhow!("CREATE EXTENSION quay failed: {}", pg_error_text(&e)))?;
            Ok(ExtensionStatus::Installed { version: default })
        }
        Some(v) if v != default => {
            client
                .batch_execute("ALTER EXTENSION quay UPDATE")
                .await
                .map_err(|e| anyhow::anyhow!("ALTER EXTENSION quay UPDATE failed: {}", pg_error_text(&e)))?;
            Ok(ExtensionStatus::Updated { from: v, to: default })
        }
        Some(v) => Ok(ExtensionStatus::Current { version: v }),
    }
}

/// The server's message (with DETAIL) rather than tokio-postgres's generic "db error".
pub(crate) fn pg_error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({})", db.message(), d),
            None => db.message().to_string(),
        },
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

fn pool_error_reason(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(pg) => pg_error_text(pg),
        other => other.to_string(),
    }
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Other(anyhow::anyhow!(pg_error_text(&e)))
}

impl PgStore {
    /// Connections in use and idle in the pool.
    pub fn pool_status(&self) -> (usize, usize) {
        let st = self.pool.status();
        (st.size.saturating_sub(st.available), st.available)
    }
}
