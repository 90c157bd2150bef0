//! `/api/v1` latency over a dataset the size of Quay's own performance scripts, our release
//! binary in PostgreSQL mode (a throwaway database on `QUAY_TEST_PG` with Quay's schema and the
//! extension): 1,000 users, 50 organizations holding 1,000 repositories, 100 teams with 10
//! members each, grants to teams and users, a superuser in all 50 organizations, a repository
//! with 1,000 tags. For each measured route: p50/p99 over `--requests` requests at `--clients`
//! concurrency (after a warm-up), and the PostgreSQL transactions per request (the delta of
//! `pg_stat_database.xact_commit`; each of our reads is one statement in its own transaction, so
//! this counts statements). Usage (after `cargo build --release --bin quay` and
//! `cargo pgrx install --release -p quay-pg`):
//!   cargo run --release -p quay-bench --bin api -- [--requests 400] [--clients 4]

use anyhow::Context as _;
use clap::Parser;
use quay_bench::{
    config_only_image, free_port, init_user, pg_config, push_token, put_manifest, quantile, release_binary,
    serve, wait_port,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Requests per route (after as many warm-up requests as clients × 10).
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Our binary (default: $CARGO_TARGET_DIR/release/quay).
    #[arg(long)]
    quay: Option<PathBuf>,
}

/// Quay's performance-script sizes.
const USERS: i32 = 1_000;
const ORGS: i32 = 50;
const REPOS: i32 = 1_000;
const TEAMS_PER_ORG: i32 = 2;
const MEMBERS_PER_TEAM: i32 = 10;
const TAGS: i32 = 1_000;

/// The dataset, in SQL over Quay's schema (ids of the seed rows looked up by name).
fn dataset_sql() -> String {
    format!(
        r#"
INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email,
                    invalid_login_attempts, last_invalid_login, enabled, creation_date)
SELECT md5('u' || i), 'user' || i, 'user' || i || '@example.com', true, false, false, false, 0, now(), true, now()
  FROM generate_series(1, {USERS}) i;
INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email,
                    invalid_login_attempts, last_invalid_login, enabled, creation_date)
SELECT md5('o' || i), 'org' || i, 'org' || i || '@example.com', false, true, false, false, 0, now(), true, now()
  FROM generate_series(1, {ORGS}) i;
-- Each organization: owners (admin: the superuser "bench"), then two teams of ten users each.
INSERT INTO team (name, organization_id, role_id, description)
SELECT 'owners', u.id, (SELECT id FROM teamrole WHERE name = 'admin'), '' FROM "user" u WHERE u.username LIKE 'org%';
INSERT INTO teammember (user_id, team_id)
SELECT (SELECT id FROM "user" WHERE username = 'bench'), t.id FROM team t WHERE t.name = 'owners';
INSERT INTO team (name, organization_id, role_id, description)
SELECT 'team' || k, u.id, (SELECT id FROM teamrole WHERE name = 'member'), ''
  FROM "user" u CROSS JOIN generate_series(1, {TEAMS_PER_ORG}) k WHERE u.username LIKE 'org%';
INSERT INTO teammember (user_id, team_id)
SELECT (SELECT id FROM "user" WHERE username = 'user' || (1 + (t.id * 37 + m * 101) % {USERS})), t.id
  FROM team t CROSS JOIN generate_series(1, {MEMBERS_PER_TEAM}) m WHERE t.name LIKE 'team%';
-- Repositories: 100 in org1 (one full page), the rest spread over the others.
INSERT INTO repository (namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state)
SELECT (SELECT id FROM "user" WHERE username = CASE WHEN i <= 100 THEN 'org1' ELSE 'org' || (2 + i % ({ORGS} - 1)) END),
       'repo' || i, (SELECT id FROM visibility WHERE name = 'private'), 'a repository', md5('b' || i),
       (SELECT id FROM repositorykind WHERE name = 'image'), false, 0
  FROM generate_series(1, {REPOS}) i;
INSERT INTO repositoryactioncount (repository_id, count, date)
SELECT r.id, 1, current_date FROM repository r;
-- Grants: each team reads five repositories of its organization; each user writes one
-- repository; repo1 has a hundred users on it (the permissions list measured).
INSERT INTO repositorypermission (team_id, repository_id, role_id)
SELECT t.id, r.id, (SELECT id FROM role WHERE name = 'read')
  FROM team t JOIN repository r ON r.namespace_user_id = t.organization_id
 WHERE t.name LIKE 'team%' AND r.id % 4 = t.id % 4;
INSERT INTO repositorypermission (user_id, repository_id, role_id)
SELECT u.id, (SELECT id FROM repository WHERE name = 'repo' || (1 + u.id % {REPOS})), (SELECT id FROM role WHERE name = 'write')
  FROM "user" u WHERE u.username LIKE 'user%';
INSERT INTO repositorypermission (user_id, repository_id, role_id)
SELECT u.id, (SELECT id FROM repository WHERE name = 'repo1'), (SELECT id FROM role WHERE name = 'read')
  FROM "user" u WHERE u.username LIKE 'user%' AND u.id % 10 = 0
   AND NOT EXISTS (SELECT 1 FROM repositorypermission p WHERE p.user_id = u.id
                      AND p.repository_id = (SELECT id FROM repository WHERE name = 'repo1'));
"#
    )
}

/// `count` more tags on the tag `v0` of `org1/repo1` (same manifest, one second apart).
fn tags_sql(count: i32) -> String {
    format!(
        r#"
INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, hidden, reversion, tag_kind_id, immutable)
SELECT 'v' || i, t.repository_id, t.manifest_id, t.lifetime_start_ms + i * 1000, NULL, false, false, t.tag_kind_id, false
  FROM tag t JOIN repository r ON r.id = t.repository_id
  CROSS JOIN generate_series(1, {count}) i
 WHERE r.name = 'repo1' AND t.name = 'v0' AND t.lifetime_end_ms IS NULL;
"#
    )
}

struct Measured {
    route: &'static str,
    p50_ms: f64,
    p99_ms: f64,
    statements: f64,
}

async fn xact_commits(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    // A backend that stays idle reports its statistics to pg_stat_database within
    // PGSTAT_IDLE_INTERVAL (10 s): wait that long so the server's pooled connections have.
    tokio::time::sleep(Duration::from_millis(11_000)).await;
    db.batch_execute("SELECT pg_stat_clear_snapshot()").await?;
    let row = db
        .query_one("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", &[])
        .await?;
    Ok(row.get(0))
}

async fn measure(
    route: &'static str,
    url: String,
    token: &str,
    args: &Args,
    db: &tokio_postgres::Client,
) -> anyhow::Result<Measured> {
    let http = reqwest::Client::new();
    let run = |n: usize| {
        let (http, url, token) = (http.clone(), url.clone(), token.to_string());
        let clients = args.clients;
        async move {
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (http, url, token) = (http.clone(), url.clone(), token.clone());
                let share = n / clients + usize::from(c < n % clients);
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(share);
                    for _ in 0..share {
                        let t = Instant::now();
                        let resp = http.get(&url).bearer_auth(&token).send().await?;
                        anyhow::ensure!(resp.status() == 200, "{url}: {}", resp.status());
                        resp.bytes().await?;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    anyhow::Ok(lat)
                }));
            }
            let mut all = Vec::with_capacity(n);
            for t in tasks {
                all.extend(t.await??);
            }
            anyhow::Ok(all)
        }
    };
    run(args.clients * 10).await?;
    let before = xact_commits(db).await?;
    let mut lat = run(args.requests).await?;
    // The measuring connection's own statements (the two snapshot reads) are subtracted.
    let after = xact_commits(db).await?;
    lat.sort_by(f64::total_cmp);
    Ok(Measured {
        route,
        p50_ms: quantile(&lat, 0.5),
        p99_ms: quantile(&lat, 0.99),
        statements: (after - before - 2) as f64 / args.requests as f64,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let quay = release_binary(args.quay.clone());
    let work = std::env::temp_dir().join(format!("quay-api-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let db = quay_tests::TestDb::with_extension("apibench").await?;
    let port = free_port()?;
    let cfg = pg_config(&work, port, &db.url, "SECRET_KEY: bench-session\nFEATURE_USER_INITIALIZE: true\n")?;
    let target = [std::ffi::OsStr::new("--config"), cfg.as_os_str()];
    init_user(&quay, &target)?;
    let client = db.client().await?;
    let t = Instant::now();
    client.batch_execute(&dataset_sql()).await.context("dataset")?;
    let _server = serve(&quay, port, &target)?;
    wait_port(port)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // One image pushed as tag v0 of org1/repo1 (bench administers org1), then TAGS - 1 more tags.
    let push = push_token(&http, &base, "org1/repo1").await?;
    let manifest = config_only_image(&http, &base, &push, "org1/repo1").await?;
    put_manifest(&http, &base, &push, "org1/repo1", "v0", &manifest).await?;
    client.batch_execute(&tags_sql(TAGS - 1)).await.context("tags")?;
    client.batch_execute("ANALYZE").await?;
    eprintln!("dataset ready in {:.1} s", t.elapsed().as_secs_f64());

    // An OAuth token for the superuser: sign-in sessions need CSRF; the bench uses what
    // automation uses. `quay init` made bench; initialize is refused once a user exists, so the
    // token row is written here as `/user/initialize` would (scopes: all).
    let token = oauth_token(&client).await?;

    let routes: [(&str, String); 4] = [
        ("GET /api/v1/user/ (superuser in 50 organizations)", format!("{base}/api/v1/user/")),
        (
            "GET /api/v1/repository?namespace=org1 (100 repositories)",
            format!("{base}/api/v1/repository?namespace=org1"),
        ),
        (
            "GET /api/v1/repository/org1/repo1/permissions/user/",
            format!("{base}/api/v1/repository/org1/repo1/permissions/user/"),
        ),
        (
            "GET /api/v1/repository/org1/repo1/tag/ (1,000 tags)",
            format!("{base}/api/v1/repository/org1/repo1/tag/"),
        ),
    ];
    let mut results = Vec::new();
    for (route, url) in routes {
        results.push(measure(route, url, &token, &args, &client).await?);
    }
    println!("| route | p50 ms | p99 ms | statements per request |");
    println!("|---|---|---|---|");
    for m in &results {
        println!("| {} | {:.2} | {:.2} | {:.1} |", m.route, m.p50_ms, m.p99_ms, m.statements);
    }
    eprintln!("{} requests per route, {} clients", args.requests, args.clients);
    drop(client);
    let _ = db.drop_db().await;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// An OAuth access token for `bench` with every scope, stored as Quay stores them (the token
/// name in clear, the code bcrypt-hashed), under an application of org1.
async fn oauth_token(db: &tokio_postgres::Client) -> anyhow::Result<String> {
    let name = "benchtokenbenchtoken"; // 20 characters
    let code = "benchcodebenchcodebenchcodebenchcode1234";
    let hash = bcrypt::hash(code, 4)?;
    db.batch_execute(&format!(
        "INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name, description, gravatar_email, secure_client_secret, fully_migrated)
         SELECT 'benchclient', 'http://localhost', 'http://localhost', id, 'bench', '', '', '', true FROM \"user\" WHERE username = 'org1';
         INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, token_type, expires_at, data, token_name, token_code)
         SELECT md5('t'), a.id, u.id, 'repo:read repo:write repo:admin repo:create user:read user:admin org:admin super:user', 'Bearer',
                now() + interval '1 day', '', '{name}', '{hash}'
           FROM oauthapplication a, \"user\" u WHERE a.client_id = 'benchclient' AND u.username = 'bench';"
    ))
    .await
    .context("oauth token")?;
    Ok(format!("{name}{code}"))
}
