//! Support for integration tests: throwaway PostgreSQL databases and helpers.
//!
//! PostgreSQL is reached through `QUAY_TEST_PG` (a libpq URL, default: the local cluster over its
//! Unix socket as the current user). Every test gets its own database and drops it at the end.
//! Tests that need PostgreSQL fail (never skip) when it is unreachable: CI starts it.

pub mod cluster;
pub mod moto;

use anyhow::Context as _;
use tokio_postgres::{Client, NoTls};

pub const DEFAULT_ADMIN_URL: &str = "postgresql:///postgres?host=/var/run/postgresql";

/// Path of a file in the repository. Taken from the running test's `CARGO_MANIFEST_DIR` (cargo
/// and nextest set it; every package sits one level below the root): the value compiled into
/// this library can name another checkout, since a shared target dir reuses the build.
pub fn repo_path(rel: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from);
    dir.join("..").join(rel)
}

pub fn admin_url() -> String {
    std::env::var("QUAY_TEST_PG").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// Connects and drives the connection on the current runtime.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.with_context(|| {
        format!("cannot connect to PostgreSQL at {url} (is the cluster started? see README)")
    })?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A connection whose notifications (`LISTEN` payloads) arrive on the returned channel.
pub async fn listen(
    url: &str,
    channel: &str,
) -> anyhow::Result<(Client, tokio::sync::mpsc::UnboundedReceiver<String>)> {
    let (client, mut conn) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    let _ = tx.send(n.payload().to_string());
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok((client, rx))
}

/// A database that exists for one test. Drop it with [`TestDb::drop_db`] (or leave it: names are
/// unique, and `tests/run.sh` removes leftovers before each run).
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A new, empty database (no tables at all).
    pub async fn empty(tag: &str) -> anyhow::Result<TestDb> {
        let name = format!("quaytest_{tag}_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url()).await?;
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        Ok(TestDb { url: db_url(&name), name })
    }

    /// A database loaded from Quay's reference schema script, as Python Quay's Alembic chain
    /// leaves it (the shape an existing installation has).
    pub async fn quay_reference(tag: &str) -> anyhow::Result<TestDb> {
        let db = TestDb::empty(tag).await?;
        let sql = std::fs::read_to_string(repo_path("tests/reference/quay-schema-postgres.sql"))?;
        db.client().await?.batch_execute(&sql).await.context("loading the reference schema")?;
        Ok(db)
    }

    /// A Quay database with the `quay` extension created (it must be installed on the cluster:
    /// `tests/run.sh` does it).
    pub async fn with_extension(tag: &str) -> anyhow::Result<TestDb> {
        let db = TestDb::quay_reference(tag).await?;
        db.client()
            .await?
            .batch_execute("CREATE EXTENSION quay")
            .await
            .context("CREATE EXTENSION quay (install it on the test cluster: tests/run.sh does it)")?;
        Ok(db)
    }

    pub async fn client(&self) -> anyhow::Result<Client> {
        connect(&self.url).await
    }

    pub async fn drop_db(self) -> anyhow::Result<()> {
        let admin = connect(&admin_url()).await?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await?;
        Ok(())
    }
}

pub mod fixtures;

/// The admin URL with its database replaced by `name`.
pub fn db_url(name: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..path_start])
}

#[cfg(test)]
mod tests {
    #[test]
    fn db_url_replaces_the_database() {
        // SAFETY of env: this test only reads the default.
        let url = super::db_url("x1");
        assert!(url.contains("/x1"), "{url}");
    }
}
