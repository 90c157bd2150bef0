//! HTTPS: a given certificate, or a generated self-signed one when listening beyond loopback.

use anyhow::{Context as _, bail};
use axum_server::tls_rustls::RustlsConfig;
use std::net::IpAddr;
use std::path::Path;

/// `Some` when the server should speak HTTPS:
/// - `--tls-cert`/`--tls-key` given: those files;
/// - otherwise, a non-loopback listen address: a self-signed certificate, kept in
///   `DATA_DIR/tls/` in mirror mode so clients can trust it once;
/// - otherwise (loopback): plain HTTP.
pub async fn server_config(
    cert: Option<&Path>,
    key: Option<&Path>,
    ip: IpAddr,
    data_dir: Option<&Path>,
) -> anyhow::Result<Option<RustlsConfig>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match (cert, key) {
        (Some(c), Some(k)) => {
            let cfg = RustlsConfig::from_pem_file(c, k).await.with_context(|| {
                format!("cannot load TLS certificate {} / key {}", c.display(), k.display())
            })?;
            return Ok(Some(cfg));
        }
        (None, None) => {}
        _ => bail!("--tls-cert and --tls-key must be given together"),
    }
    if ip.is_loopback() {
        return Ok(None);
    }
    let (cert_pem, key_pem) = match data_dir {
        Some(dir) => load_or_create(&dir.join("tls"), ip)?,
        None => generate(ip)?,
    };
    tracing::warn!(
        "serving HTTPS with a self-signed certificate; pass --tls-cert/--tls-key for a trusted one"
    );
    Ok(Some(RustlsConfig::from_pem(cert_pem.into_bytes(), key_pem.into_bytes()).await?))
}

fn generate(ip: IpAddr) -> anyhow::Result<(String, String)> {
    let mut names = vec!["localhost".to_string()];
    if !ip.is_unspecified() {
        names.push(ip.to_string());
    }
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
        }
    }
    let ck =
        rcgen::generate_simple_self_signed(names).context("cannot generate a self-signed certificate")?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

fn load_or_create(dir: &Path, ip: IpAddr) -> anyhow::Result<(String, String)> {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if let (Ok(c), Ok(k)) = (std::fs::read_to_string(&cert_path), std::fs::read_to_string(&key_path)) {
        return Ok((c, k));
    }
    let (c, k) = generate(ip)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&cert_path, &c).with_context(|| format!("cannot write {}", cert_path.display()))?;
    write_private(&key_path, &k)?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok((c, k))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}
