//! A PostgreSQL cluster of a test's own, for the tests that stop and restart PostgreSQL under
//! load (the shared cluster serves every other test and must stay up). `initdb` in a temporary
//! directory (as the `postgres` user when run as root, which PostgreSQL refuses to run as), TCP
//! on 127.0.0.1 at a free port, trust authentication, fsync off. Stopped when dropped.
//!
//! The binaries come from `QUAY_TEST_PG_BIN` (default: Debian's PostgreSQL 15), where the `quay`
//! extension is installed too, so `CREATE EXTENSION quay` works in it.

use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl Cluster {
    /// Creates and starts a cluster.
    pub fn init() -> anyhow::Result<Cluster> {
        let bin = PathBuf::from(
            std::env::var("QUAY_TEST_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        let dir = tempfile::tempdir()?;
        let uid = Command::new("id").arg("-u").output().context("id -u")?;
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let ok = Command::new("chown").args(["postgres:postgres"]).arg(dir.path()).status()?.success();
            if !ok {
                bail!("cannot hand {} to the postgres user", dir.path().display());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let c = Cluster { dir, port, bin, as_postgres };
        c.run("initdb", &["-D", &c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])?;
        c.start()?;
        Ok(c)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            bail!("{tool} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Starts the cluster and waits until it accepts connections.
    pub fn start(&self) -> anyhow::Result<()> {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"])
    }

    /// Stops the cluster the way an operator restarting it does (`-m fast`: sessions are
    /// terminated, in-flight transactions roll back).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"])
    }

    /// A libpq URL for database `db` of this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` with Quay's reference schema and the `quay` extension.
    pub async fn quay_database(&self, name: &str) -> anyhow::Result<String> {
        crate::connect(&self.url("postgres"))
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = self.url(name);
        let sql = std::fs::read_to_string(crate::repo_path("tests/reference/quay-schema-postgres.sql"))?;
        let client = crate::connect(&url).await?;
        client.batch_execute(&sql).await.context("loading the reference schema")?;
        client.batch_execute("CREATE EXTENSION quay").await.context("CREATE EXTENSION quay")?;
        Ok(url)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}
