//! Registry throughput beside its peers on this machine, in one run:
//! our server in mirror mode (SQLite + files) and in PostgreSQL mode (a throwaway database on
//! `QUAY_TEST_PG` with the `quay` extension, the mode stateless pods run in), both release
//! builds, Debian's `docker-registry` (distribution 2.8) and nginx serving the same blob as a
//! static file (sendfile: the practical ceiling).
//!
//! Reports manifest GET by tag (req/s and p99 latency), 5 MB blob GET (MB/s) and `skopeo copy`
//! push time, with ratios. Usage (after `cargo build --release --bin quay` and
//! `cargo pgrx install --release -p quay-pg`):
//!   cargo run --release -p quay-bench --bin registry -- [--seconds 10] [--clients 32] [--no-postgres]

use anyhow::{Context as _, bail};
use clap::Parser;
use quay_bench::{Killed, PASSWORD, free_port, init_user, pg_config, release_binary, serve, sha, wait_port};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients for manifest GETs.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Concurrent clients for blob GETs.
    #[arg(long, default_value_t = 4)]
    blob_clients: usize,
    /// Rounds of throughput measurements (servers alternate; the median round is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// `skopeo copy` pushes per registry (the median is reported).
    #[arg(long, default_value_t = 7)]
    pushes: usize,
    /// Our binary (default: $CARGO_TARGET_DIR/release/quay).
    #[arg(long)]
    quay: Option<PathBuf>,
    /// Skip the PostgreSQL-mode server (no cluster at `QUAY_TEST_PG`).
    #[arg(long)]
    no_postgres: bool,
}

const BLOB_MB: usize = 5;

/// An OCI layout with one image: a config and a ~5 MB incompressible gzip layer. Returns the
/// layer's path and digest.
fn layout(dir: &Path) -> anyhow::Result<(PathBuf, String)> {
    let blobs = dir.join("layout/blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let src = dir.join("layer-src");
    std::fs::create_dir_all(&src)?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..BLOB_MB * 1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(src.join("data"), &data)?;
    let tgz = dir.join("layer.tar.gz");
    let ok = Command::new("tar").arg("-czf").arg(&tgz).arg("-C").arg(&src).arg("data").status()?.success();
    if !ok {
        bail!("tar failed");
    }
    let layer = std::fs::read(&tgz)?;
    let put = |bytes: &[u8]| -> anyhow::Result<(String, usize)> {
        let d = sha(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes)?;
        Ok((d, bytes.len()))
    };
    let (ld, ls) = put(&layer)?;
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}},"config":{{}}}}"#,
        sha(&data)
    );
    let (cd, cs) = put(config.as_bytes())?;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{cs}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{ld}","size":{ls}}}]}}"#
    );
    let (md, ms) = put(manifest.as_bytes())?;
    std::fs::write(dir.join("layout/oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    std::fs::write(
        dir.join("layout/index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{ms},"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}}]}}"#
        ),
    )?;
    Ok((tgz, ld))
}

/// Median wall time of `runs` `skopeo copy` pushes into fresh repositories.
fn push_time(
    dir: &Path,
    host: &str,
    namespace: &str,
    creds: Option<&str>,
    runs: usize,
) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for i in 0..runs.max(1) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["--insecure-policy", "copy", "--dest-tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--dest-creds", c]);
        }
        cmd.arg(format!("oci:{}:v1", dir.join("layout").display()));
        cmd.arg(format!("docker://{host}/{namespace}/push{i}:v1"));
        let start = Instant::now();
        let out = cmd.output().context("skopeo (apt-get install skopeo)")?;
        if !out.status.success() {
            bail!("skopeo push to {host} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// What one [`hammer`] run measured.
struct Load {
    per_s: f64,
    mb_per_s: f64,
    /// 99th percentile request latency, ms.
    p99_ms: f64,
}

/// Runs `clients` loops of GET `url` for `seconds`.
async fn hammer(url: String, token: Option<String>, clients: usize, seconds: u64) -> anyhow::Result<Load> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let (count, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, token, count, bytes) =
            (http.clone(), url.clone(), token.clone(), count.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let start = Instant::now();
                let mut req = http.get(&url).header(
                    "accept",
                    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
                );
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await?;
                if !resp.status().is_success() {
                    anyhow::bail!("GET {url}: {}", resp.status());
                }
                let body = resp.bytes().await?;
                latencies.push(start.elapsed().as_secs_f64() * 1e3);
                count.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
            Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    latencies.sort_by(f64::total_cmp);
    let p99_ms = latencies.get(latencies.len() * 99 / 100).copied().unwrap_or(0.0);
    let s = seconds as f64;
    Ok(Load {
        per_s: count.load(Ordering::Relaxed) as f64 / s,
        mb_per_s: bytes.load(Ordering::Relaxed) as f64 / 1e6 / s,
        p99_ms,
    })
}

/// A pull token for `bench/push0` from the server at `host`.
async fn pull_token(host: &str) -> anyhow::Result<String> {
    let token: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{host}/v2/auth?service={host}&scope=repository:bench/push0:pull"))
        .basic_auth("bench", Some(PASSWORD))
        .send()
        .await?
        .json()
        .await?;
    Ok(token["token"].as_str().context("no token")?.to_string())
}

fn rounds_line(name: &str, v: &[f64]) {
    eprintln!("{name} per round: {}", v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", "));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let quay = release_binary(args.quay.clone());
    let work = std::env::temp_dir().join(format!("quay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let (layer_path, layer_digest) = layout(&work)?;

    // Our server, mirror mode.
    let data = work.join("quay-data");
    let mirror_target = [std::ffi::OsStr::new("--data-dir"), data.as_os_str()];
    init_user(&quay, &mirror_target)?;
    let qport = free_port()?;
    let _quay = serve(&quay, qport, &mirror_target)?;
    // Our server, PostgreSQL mode: a fresh database with Quay's schema and the extension.
    let pg = if args.no_postgres {
        None
    } else {
        let db = quay_tests::TestDb::with_extension("bench").await?;
        let pport = free_port()?;
        let cfg = pg_config(&work, pport, &db.url, "")?;
        let target = [std::ffi::OsStr::new("--config"), cfg.as_os_str()];
        init_user(&quay, &target)?;
        let server = serve(&quay, pport, &target)?;
        Some((db, pport, server))
    };
    // distribution 2.8
    let dport = free_port()?;
    let dcfg = work.join("distribution.yml");
    std::fs::write(
        &dcfg,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{dport}\n",
            work.join("distribution").display()
        ),
    )?;
    let _dist = Killed(
        Command::new("docker-registry")
            .arg("serve")
            .arg(&dcfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("docker-registry (apt-get install docker-registry)")?,
    );
    // nginx with the same blob as a static file.
    let nport = free_port()?;
    std::fs::create_dir_all(work.join("static"))?;
    std::fs::copy(&layer_path, work.join("static/blob"))?;
    let ncfg = work.join("nginx.conf");
    let w = work.display();
    std::fs::write(
        &ncfg,
        format!(
            "daemon off; worker_processes 2; pid {w}/nginx.pid; error_log {w}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ sendfile on; tcp_nopush on; access_log off; client_body_temp_path {w}/nb; proxy_temp_path {w}/np;\n\
             fastcgi_temp_path {w}/nf; uwsgi_temp_path {w}/nu; scgi_temp_path {w}/ns;\n\
             server {{ listen 127.0.0.1:{nport}; root {w}/static; }} }}\n"
        ),
    )?;
    let _nginx = Killed(
        Command::new("nginx")
            .arg("-c")
            .arg(&ncfg)
            .arg("-p")
            .arg(&work)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("nginx (apt-get install nginx-light)")?,
    );
    let pport = pg.as_ref().map(|(_, p, _)| *p);
    for p in [qport, dport, nport].into_iter().chain(pport) {
        wait_port(p)?;
    }
    let (qhost, dhost) = (format!("127.0.0.1:{qport}"), format!("127.0.0.1:{dport}"));
    let phost = pport.map(|p| format!("127.0.0.1:{p}"));

    eprintln!("pushing with skopeo ({} runs each) ...", args.pushes);
    let creds = format!("bench:{PASSWORD}");
    let qpush = push_time(&work, &qhost, "bench", Some(&creds), args.pushes)?;
    let ppush = match &phost {
        Some(h) => Some(push_time(&work, h, "bench", Some(&creds), args.pushes)?),
        None => None,
    };
    let dpush = push_time(&work, &dhost, "bench", None, args.pushes)?;

    let token = pull_token(&qhost).await?;
    let ptoken = match &phost {
        Some(h) => Some(pull_token(h).await?),
        None => None,
    };

    // Throughput is measured in rounds that alternate the servers, and the median round is
    // reported: one long run per server lets a noisy moment on this shared machine decide.
    let man = |host: &str| format!("http://{host}/v2/bench/push0/manifests/v1");
    let blob = |host: &str| format!("http://{host}/v2/bench/push0/blobs/{layer_digest}");
    let nginx = format!("http://127.0.0.1:{nport}/blob");
    let (mut q_man, mut p_man, mut d_man) = (Vec::new(), Vec::new(), Vec::new());
    let (mut q_p99, mut p_p99, mut d_p99) = (Vec::new(), Vec::new(), Vec::new());
    let (mut q_blob, mut p_blob, mut d_blob, mut n_blob) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Warm-up (connections, statement plans, token caches), not measured.
    for (host, t) in [(&qhost, Some(&token)), (&dhost, None)]
        .into_iter()
        .chain(phost.as_ref().zip(ptoken.as_ref()).map(|(h, t)| (h, Some(t))))
    {
        hammer(man(host), t.cloned(), args.clients, 1).await?;
    }
    for round in 1..=args.rounds {
        eprintln!(
            "round {round}/{}: manifest GET by tag ({} clients), {BLOB_MB} MB blob GET ({} clients), {} s each ...",
            args.rounds, args.clients, args.blob_clients, args.seconds
        );
        let l = hammer(man(&qhost), Some(token.clone()), args.clients, args.seconds).await?;
        q_man.push(l.per_s);
        q_p99.push(l.p99_ms);
        if let (Some(h), Some(t)) = (&phost, &ptoken) {
            let l = hammer(man(h), Some(t.clone()), args.clients, args.seconds).await?;
            p_man.push(l.per_s);
            p_p99.push(l.p99_ms);
        }
        let l = hammer(man(&dhost), None, args.clients, args.seconds).await?;
        d_man.push(l.per_s);
        d_p99.push(l.p99_ms);
        q_blob
            .push(hammer(blob(&qhost), Some(token.clone()), args.blob_clients, args.seconds).await?.mb_per_s);
        if let (Some(h), Some(t)) = (&phost, &ptoken) {
            p_blob.push(hammer(blob(h), Some(t.clone()), args.blob_clients, args.seconds).await?.mb_per_s);
        }
        d_blob.push(hammer(blob(&dhost), None, args.blob_clients, args.seconds).await?.mb_per_s);
        n_blob.push(hammer(nginx.clone(), None, args.blob_clients, args.seconds).await?.mb_per_s);
    }
    for (name, v) in [
        ("mirror manifest req/s", &q_man),
        ("postgres manifest req/s", &p_man),
        ("dist manifest req/s", &d_man),
        ("mirror manifest p99 ms", &q_p99),
        ("postgres manifest p99 ms", &p_p99),
        ("dist manifest p99 ms", &d_p99),
        ("mirror blob MB/s", &q_blob),
        ("postgres blob MB/s", &p_blob),
        ("dist blob MB/s", &d_blob),
        ("nginx blob MB/s", &n_blob),
    ] {
        if !v.is_empty() {
            rounds_line(name, v);
        }
    }
    let some = |v: Vec<f64>| (!v.is_empty()).then(|| median(v));
    let (q_man, p_man, d_man) = (median(q_man), some(p_man), median(d_man));
    let (q_p99, p_p99, d_p99) = (median(q_p99), some(p_p99), median(d_p99));
    let (q_blob, p_blob, d_blob, n_blob) = (median(q_blob), some(p_blob), median(d_blob), median(n_blob));
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:.digits$}"));

    println!(
        "| measure | quay-rs mirror | quay-rs PostgreSQL | distribution 2.8 | nginx (static) | mirror / distribution | PostgreSQL / mirror | mirror / nginx |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| manifest GET by tag (req/s) | {q_man:.0} | {} | {d_man:.0} | - | {:.2}x | {} | - |",
        opt(p_man, 0),
        q_man / d_man,
        opt(p_man.map(|p| p / q_man), 2)
    );
    println!(
        "| manifest GET p99 latency (ms), {} clients | {q_p99:.2} | {} | {d_p99:.2} | - | - | - | - |",
        args.clients,
        opt(p_p99, 2)
    );
    println!(
        "| {BLOB_MB} MB blob GET (MB/s) | {q_blob:.0} | {} | {d_blob:.0} | {n_blob:.0} | {:.2}x | {} | {:.0}% |",
        opt(p_blob, 0),
        q_blob / d_blob,
        opt(p_blob.map(|p| p / q_blob), 2),
        100.0 * q_blob / n_blob
    );
    println!(
        "| skopeo copy push, median of {} (s) | {:.3} | {} | {:.3} | - | {:.2}x time | {} | - |",
        args.pushes,
        qpush.as_secs_f64(),
        opt(ppush.map(|d| d.as_secs_f64()), 3),
        dpush.as_secs_f64(),
        qpush.as_secs_f64() / dpush.as_secs_f64(),
        opt(ppush.map(|d| d.as_secs_f64() / qpush.as_secs_f64()), 2)
    );
    drop(_quay);
    if let Some((db, _, server)) = pg {
        drop(server);
        db.drop_db().await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
