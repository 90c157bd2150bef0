//! Queue benchmark: claim+complete throughput of N concurrent workers through the `quay`
//! extension, and put→claim wake-up latency through `LISTEN quay_queue` (p50/p99).
//!
//! `cargo run --release -p quay-bench --bin queue` (PostgreSQL from `QUAY_TEST_PG`, with the
//! extension installed: `cargo pgrx install --release -p quay-pg --pg-config ...`).

use clap::Parser;
use quay_tests::TestDb;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Jobs enqueued for the throughput run.
    #[arg(long, default_value_t = 50_000)]
    jobs: i64,
    /// Concurrent workers (one connection each).
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Items per call for the combined run (`quay.queue_complete_and_claim`).
    #[arg(long, default_value_t = 16)]
    batch: i32,
    /// Wake-up latency samples.
    #[arg(long, default_value_t = 500)]
    samples: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = TestDb::with_extension("bench").await?;
    let c = db.client().await?;
    let version: String = c.query_one("SELECT quay.version()", &[]).await?.get(0);
    println!("quay extension {version}, {} jobs, {} workers", args.jobs, args.workers);

    // Throughput, two ways: a claim and a complete per job (two commits), then
    // `quay.queue_complete_and_claim` (the previous batch's completion and the next batch's
    // claim in one commit, `--batch` items at a time).
    for batch in [0, args.batch] {
        c.execute(
            "SELECT quay.queue_put('bench/ns' || (g % 16) || '/', '{}') FROM generate_series(1, $1::bigint) g",
            &[&args.jobs],
        )
        .await?;
        c.batch_execute("VACUUM ANALYZE queueitem").await?;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.workers {
            let url = db.url.clone();
            tasks.push(tokio::spawn(async move {
                let w = quay_tests::connect(&url).await?;
                let mut done = 0u64;
                if batch == 0 {
                    let claim = w.prepare("SELECT id::bigint FROM quay.queue_claim('bench/', 300)").await?;
                    let complete = w.prepare("SELECT quay.queue_complete($1)").await?;
                    while let Some(row) = w.query_opt(&claim, &[]).await? {
                        let id: i64 = row.get(0);
                        w.execute(&complete, &[&id]).await?;
                        done += 1;
                    }
                } else {
                    let next = w
                        .prepare("SELECT id::bigint FROM quay.queue_complete_and_claim($1::bigint[], 'bench/', 300, $2)")
                        .await?;
                    let mut held: Vec<i64> = Vec::new();
                    loop {
                        let rows = w.query(&next, &[&held, &batch]).await?;
                        done += held.len() as u64;
                        held = rows.iter().map(|r| r.get(0)).collect();
                        if held.is_empty() {
                            break;
                        }
                    }
                }
                anyhow::Ok(done)
            }));
        }
        let mut done = 0;
        for t in tasks {
            done += t.await??;
        }
        let secs = start.elapsed().as_secs_f64();
        let how = if batch == 0 {
            "claim + complete".to_string()
        } else {
            format!("complete_and_claim, batch {batch}")
        };
        println!(
            "{how}: {done} jobs in {secs:.2} s = {:.0} jobs/s ({} workers)",
            done as f64 / secs,
            args.workers
        );
        let left: i64 = c.query_one("SELECT count(*) FROM queueitem", &[]).await?.get(0);
        anyhow::ensure!(
            left == 0 && done == args.jobs as u64,
            "{left} items left, {done} done: a job was lost or done twice"
        );
    }

    // Wake-up latency: a worker blocked on LISTEN claims as soon as a put commits.
    let (listener, mut rx) = quay_tests::listen(&db.url, "quay_queue").await?;
    let producer = db.client().await?;
    let mut latencies = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let t0 = Instant::now();
        producer.execute("SELECT quay.queue_put('wake/x/', '{}')", &[]).await?;
        rx.recv().await.ok_or_else(|| anyhow::anyhow!("listener closed"))?;
        let row = listener.query_opt("SELECT id::bigint FROM quay.queue_claim('wake/', 300)", &[]).await?;
        let id: i64 = row.ok_or_else(|| anyhow::anyhow!("woken but nothing to claim"))?.get(0);
        latencies.push(t0.elapsed());
        listener.execute("SELECT quay.queue_complete($1)", &[&id]).await?;
    }
    latencies.sort();
    println!(
        "put→claim wake-up via NOTIFY: p50 {:.2} ms, p99 {:.2} ms ({} samples)",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        args.samples
    );
    db.drop_db().await?;
    Ok(())
}
