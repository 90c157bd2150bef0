//! Time from a push's response to the webhook receiving Quay's `repo_push` payload, through the
//! `notification` queue and `quay worker` processes woken by NOTIFY: our release binary in
//! PostgreSQL mode (a throwaway database on `QUAY_TEST_PG`), `--pushes` pushes of new tags, one at
//! a time, with 1 and then 2 worker processes; p50/p99 and the slowest. The webhook sink is this
//! process, on 127.0.0.2 (Quay refuses `localhost` and `127.0.0.1` as webhook hosts).
//!
//!   cargo build --release --bin quay
//!   cargo run --release -p quay-bench --bin events -- [--pushes 200]

use anyhow::Context as _;
use clap::Parser;
use quay_bench::{
    Killed, config_only_image, free_port, init_user, pg_config, push_token, put_manifest, quantile,
    release_binary, serve, wait_port,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[derive(Parser)]
struct Args {
    /// Pushes per run (each a new tag of one image).
    #[arg(long, default_value_t = 200)]
    pushes: usize,
    /// Our binary (default: $CARGO_TARGET_DIR/release/quay).
    #[arg(long)]
    quay: Option<PathBuf>,
}

/// Per tag: when its payload first arrived, and how many times it arrived.
type Arrivals = Arc<Mutex<HashMap<String, (Instant, u32)>>>;

/// A minimal HTTP sink: records when each payload's first updated tag arrived, answers 200.
async fn sink() -> anyhow::Result<(String, Arrivals)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.context("bind 127.0.0.2")?;
    let addr = listener.local_addr()?;
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Bounded: one request of at most 1 MiB per connection.
                while buf.len() < 1 << 20 {
                    let Ok(n) = conn.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let at = Instant::now();
                    let body: serde_json::Value =
                        serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or_default();
                    if let Some(tag) = body["updated_tags"][0].as_str() {
                        seen.lock().expect("lock").entry(tag.to_string()).or_insert((at, 0)).1 += 1;
                    }
                    let _ = conn
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
            });
        }
    });
    Ok((format!("http://{addr}/hook"), arrivals))
}

fn worker(quay: &std::path::Path, cfg: &std::path::Path) -> anyhow::Result<Killed> {
    Ok(Killed(
        Command::new(quay)
            .args(["worker", "--config"])
            .arg(cfg)
            .args(["--queue", "notification"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let quay = release_binary(args.quay.clone());
    let work = std::env::temp_dir().join(format!("quay-events-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let db = quay_tests::TestDb::with_extension("eventsbench").await?;
    let port = free_port()?;
    let cfg = pg_config(&work, port, &db.url, "")?;
    let target = [std::ffi::OsStr::new("--config"), cfg.as_os_str()];
    init_user(&quay, &target)?;
    let _server = serve(&quay, port, &target)?;
    wait_port(port)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let token = push_token(&http, &base, "bench/app").await?;
    let manifest = config_only_image(&http, &base, &token, "bench/app").await?;
    let (hook, arrivals) = sink().await?;
    let client = db.client().await?;
    client
        .execute(
            "INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, config_json, event_config_json, number_of_failures)
             SELECT 'bench-hook', r.id, e.id, m.id, 'bench', $1, '{}', 0
               FROM repository r, externalnotificationevent e, externalnotificationmethod m
              WHERE r.name = 'app' AND e.name = 'repo_push' AND m.name = 'webhook'",
            &[&serde_json::json!({"url": hook}).to_string()],
        )
        .await
        .context("notification")?;

    println!("| workers | pushes | p50 ms | p99 ms | max ms | delivered | delivered twice |");
    println!("|---|---|---|---|---|---|---|");
    for workers in [1usize, 2] {
        let procs: Vec<Killed> = (0..workers).map(|_| worker(&quay, &cfg)).collect::<anyhow::Result<_>>()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut sent: Vec<(String, Instant)> = Vec::with_capacity(args.pushes);
        for i in 0..args.pushes {
            let tag = format!("w{workers}-{i}");
            put_manifest(&http, &base, &token, "bench/app", &tag, &manifest).await?;
            sent.push((tag, Instant::now()));
            // Pushes one after another, with room for the delivery (what is measured).
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let all_in = {
                let got = arrivals.lock().expect("lock");
                sent.iter().all(|(t, _)| got.contains_key(t))
            };
            if all_in {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = arrivals.lock().expect("lock").clone();
        let mut lat: Vec<f64> = sent
            .iter()
            .filter_map(|(t, at)| {
                got.get(t).map(|(r, _)| r.saturating_duration_since(*at).as_secs_f64() * 1e3)
            })
            .collect();
        lat.sort_by(f64::total_cmp);
        let twice = sent.iter().filter(|(t, _)| got.get(t).is_some_and(|(_, n)| *n > 1)).count();
        println!(
            "| {workers} | {} | {:.2} | {:.2} | {:.2} | {} | {twice} |",
            args.pushes,
            quantile(&lat, 0.5),
            quantile(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            lat.len()
        );
        drop(procs);
    }
    let dupes: i64 = client
        .query_one("SELECT count(*) FROM queueitem WHERE queue_name LIKE 'notification/%'", &[])
        .await?
        .get(0);
    eprintln!("notification items left in the queue: {dupes}");
    drop(client);
    let _ = db.drop_db().await;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
