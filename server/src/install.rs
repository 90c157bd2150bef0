//! `quay install` and `quay uninstall`: the registry as a service on one host, as Quay's
//! mirror-registry sets it up. Mirror mode (SQLite and blobs in a data directory), a TLS
//! certificate (the one given, else a self-signed one for the host name), the first user (its
//! password read from stdin, or generated and printed once), and a unit: a plain systemd
//! service running this binary, or a Podman Quadlet `.container` file running the image. Each
//! step reports what it did; running `install` again changes nothing that is already in place.
//!
//! On a terminal the steps print as `[n/N] ...`; otherwise they go to the log (stderr) and only
//! what the operator must keep (a generated password) goes to stdout.

use crate::config::Config;
use crate::progress::Progress;
use crate::store::Store;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

/// The unit's name (`quay-rs.service`; Quadlet generates it from `quay-rs.container`).
pub const UNIT: &str = "quay-rs";

/// Port the service listens on inside a container.
const CONTAINER_PORT: u16 = 8443;

#[derive(Debug, Clone)]
pub struct Install {
    pub data_dir: PathBuf,
    /// The name clients use (`SERVER_HOSTNAME` is `hostname:port`).
    pub hostname: String,
    pub port: u16,
    /// A certificate and key to use instead of a self-signed pair.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub init_user: String,
    /// The first user's password; generated (and printed once) when `None`.
    pub password: Option<String>,
    /// Where the systemd unit goes (plain-binary mode).
    pub unit_dir: PathBuf,
    /// Run this image with Podman (a Quadlet file in `quadlet_dir`) instead of the binary.
    pub container: Option<String>,
    pub quadlet_dir: PathBuf,
    /// The binary the unit runs (plain-binary mode).
    pub binary: PathBuf,
    /// Write everything but do not (re)start the service.
    pub no_start: bool,
}

/// Writes `contents` to `path` unless it already holds exactly that: `true` when written.
fn write_if_changed(path: &Path, contents: &str, mode: u32) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    set_mode(path, mode)?;
    Ok(true)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

impl Install {
    fn cert_paths(&self) -> (PathBuf, PathBuf) {
        (self.data_dir.join("tls/cert.pem"), self.data_dir.join("tls/key.pem"))
    }

    /// The systemd unit running this binary in mirror mode.
    pub fn systemd_unit(&self) -> String {
        let (cert, key) = self.cert_paths();
        let data = self.data_dir.display();
        format!(
            "# Written by `quay install`; `quay uninstall` removes it.\n\
             [Unit]\n\
             Description=quay-rs container registry\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Service]\n\
             Type=simple\n\
             ExecStart={bin} serve --data-dir {data} --listen 0.0.0.0:{port} --hostname {host}:{port} \
             --tls-cert {cert} --tls-key {key} --log-format json\n\
             Environment=QUAY_SHUTDOWN_DRAIN=5\n\
             Restart=on-failure\n\
             RestartSec=2\n\
             TimeoutStopSec=45\n\
             LimitNOFILE=65536\n\
             NoNewPrivileges=true\n\
             ProtectSystem=strict\n\
             ProtectHome=true\n\
             PrivateTmp=true\n\
             ReadWritePaths={data}\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n",
            bin = self.binary.display(),
            port = self.port,
            host = self.hostname,
            cert = cert.display(),
            key = key.display(),
        )
    }

    /// The Podman Quadlet file running `image` with the data directory as its volume.
    pub fn quadlet(&self, image: &str) -> String {
        format!(
            "# Written by `quay install --container`; `quay uninstall` removes it.\n\
             [Unit]\n\
             Description=quay-rs container registry\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Container]\n\
             Image={image}\n\
             ContainerName={UNIT}\n\
             PublishPort={port}:{CONTAINER_PORT}\n\
             Volume={data}:/data:Z\n\
             Environment=QUAY_SHUTDOWN_DRAIN=5\n\
             Exec=serve --data-dir /data --listen 0.0.0.0:{CONTAINER_PORT} --hostname {host}:{port} \
             --tls-cert /data/tls/cert.pem --tls-key /data/tls/key.pem --log-format json\n\
             \n\
             [Service]\n\
             Restart=on-failure\n\
             TimeoutStopSec=45\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target default.target\n",
            port = self.port,
            data = self.data_dir.display(),
            host = self.hostname,
        )
    }

    fn unit_path(&self) -> PathBuf {
        match &self.container {
            Some(_) => self.quadlet_dir.join(format!("{UNIT}.container")),
            None => self.unit_dir.join(format!("{UNIT}.service")),
        }
    }

    /// Runs every step. Returns the generated password, if one was made (also printed).
    pub async fn run(&self) -> anyhow::Result<Option<String>> {
        let mut p = Progress::new(if self.no_start { 5 } else { 6 });

        let existed = self.data_dir.is_dir();
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        set_mode(&self.data_dir, 0o700)?;
        p.step(&format!(
            "data directory {}: {}",
            self.data_dir.display(),
            if existed { "exists" } else { "created" }
        ));

        let (cert, key) = self.cert_paths();
        let tls = match &self.tls {
            Some((c, k)) => {
                let c = std::fs::read_to_string(c).with_context(|| format!("cannot read {}", c.display()))?;
                let k = std::fs::read_to_string(k).with_context(|| format!("cannot read {}", k.display()))?;
                let changed = write_if_changed(&cert, &c, 0o644)? | write_if_changed(&key, &k, 0o600)?;
                if changed { "installed the given certificate" } else { "the given certificate is in place" }
            }
            None if cert.is_file() && key.is_file() => "kept the existing certificate",
            None => {
                let names = vec![self.hostname.clone(), "localhost".to_string()];
                let ck = rcgen::generate_simple_self_signed(names)
                    .context("cannot generate a self-signed certificate")?;
                write_if_changed(&cert, &ck.cert.pem(), 0o644)?;
                write_if_changed(&key, &ck.signing_key.serialize_pem(), 0o600)?;
                "generated a self-signed certificate"
            }
        };
        p.step(&format!("TLS: {tls} ({})", cert.display()));

        let config = Config::mirror(&self.data_dir);
        let db =
            config.database().map_err(|e| anyhow::anyhow!("{e}"))?.context("mirror mode has a database")?;
        let store = Store::open(&db).await?;
        let report = store.migrate().await?;
        p.step(&format!(
            "database {}: {}",
            self.data_dir.join("quay.db").display(),
            report.to_string().trim().replace('\n', "; ")
        ));

        let mut generated = None;
        match store.first_user().await? {
            Some(user) => p.step(&format!("first user: {user} exists; unchanged")),
            None => {
                let password = match &self.password {
                    Some(pw) => pw.clone(),
                    None => {
                        let pw = crate::ops::users::random_token(24);
                        generated = Some(pw.clone());
                        pw
                    }
                };
                crate::auth::password::check_policy(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
                crate::users::ensure_user(
                    &store,
                    &self.init_user,
                    &password,
                    None,
                    config.default_tag_expiration_s(),
                )
                .await?;
                p.step(&format!("first user: created {}", self.init_user));
                if let Some(pw) = &generated {
                    // Printed whatever stdout is: it is shown once and never stored in clear.
                    println!("password for {}: {pw}  (shown once; keep it)", self.init_user);
                }
            }
        }

        if self.container.is_some() {
            // The image runs as 65532: it must own what it writes.
            chown_tree(&self.data_dir, 65532, 65532)?;
        }
        let unit = match &self.container {
            Some(image) => self.quadlet(image),
            None => self.systemd_unit(),
        };
        let path = self.unit_path();
        let written = write_if_changed(&path, &unit, 0o644)?;
        p.step(&format!("unit {}: {}", path.display(), if written { "written" } else { "unchanged" }));

        if !self.no_start {
            systemctl(&["daemon-reload"])?;
            match self.container {
                // Quadlet services are generated, not enabled: starting is enough.
                Some(_) => systemctl(&["restart", &format!("{UNIT}.service")])?,
                None => systemctl(&["enable", "--now", &format!("{UNIT}.service")])?,
            }
            p.step(&format!("service {UNIT}.service: running on https://{}:{}", self.hostname, self.port));
        }
        Ok(generated)
    }
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .with_context(|| format!("cannot hand {} to {uid}:{gid}", dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            chown_tree(&path, uid, gid)?;
        } else {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .with_context(|| format!("cannot hand {} to {uid}:{gid}", path.display()))?;
        }
    }
    Ok(())
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("systemctl")
        .args(args)
        .status()
        .context("cannot run systemctl (use --no-start where systemd is not running)")?;
    if !status.success() {
        bail!("systemctl {} failed ({status})", args.join(" "));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Uninstall {
    pub data_dir: PathBuf,
    pub unit_dir: PathBuf,
    pub quadlet_dir: PathBuf,
    /// Also delete the data directory (images, database, certificate).
    pub remove_data: bool,
    /// Do not stop or disable the service (files only).
    pub no_stop: bool,
}

impl Uninstall {
    pub fn run(&self) -> anyhow::Result<()> {
        let mut p = Progress::new(3);
        if self.no_stop {
            p.step("service: left as it is (--no-stop)");
        } else {
            // Stopping a unit that is not there is not an error here.
            let _ = systemctl(&["disable", "--now", &format!("{UNIT}.service")]);
            p.step(&format!("service {UNIT}.service: stopped"));
        }
        let mut removed = Vec::new();
        for path in [
            self.unit_dir.join(format!("{UNIT}.service")),
            self.quadlet_dir.join(format!("{UNIT}.container")),
        ] {
            if path.is_file() {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
                removed.push(path.display().to_string());
            }
        }
        if !self.no_stop && !removed.is_empty() {
            systemctl(&["daemon-reload"])?;
        }
        p.step(&if removed.is_empty() {
            "unit: none installed".to_string()
        } else {
            format!("removed {}", removed.join(", "))
        });
        if self.remove_data && self.data_dir.exists() {
            std::fs::remove_dir_all(&self.data_dir)
                .with_context(|| format!("cannot remove {}", self.data_dir.display()))?;
            p.step(&format!("data directory {}: removed", self.data_dir.display()));
        } else {
            p.step(&format!("data directory {}: kept", self.data_dir.display()));
        }
        Ok(())
    }
}
