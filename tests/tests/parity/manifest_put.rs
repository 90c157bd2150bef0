//! Manifest rules in the database: `quay.manifest_put(repository_id, media_type, manifest_bytes,
//! ...)` called from SQL on PostgreSQL, and the same core function on SQLite, with one scenario
//! list (parity, as in invariants.rs). Every refusal is SQLSTATE 22023 with its stable code in
//! DETAIL and stores nothing; a good push stores the manifest with its `manifestblob` and
//! `manifestchild` rows.

use super::common;

use quay_core::exec::{CoreError, Dialect, Executor};
use quay_core::manifests::{DOCKER_MANIFEST, DigestAlgorithm, OCI_INDEX, OCI_MANIFEST, digest_of};
use quay_core::tags;
use quay_server::store::sqlite::SqliteStore;
use quay_tests::TestDb;
use quay_tests::fixtures::{self, digest};
use tokio_postgres::Client;

#[derive(Debug, Clone)]
struct Push {
    repo: i64,
    media_type: Option<String>,
    bytes: String,
    expected_digest: Option<String>,
    temp_tag_expiration_s: Option<i64>,
    tags: Vec<String>,
}

fn push(repo: i64, media_type: &str, bytes: &str) -> Push {
    Push {
        repo,
        media_type: Some(media_type.to_string()),
        bytes: bytes.to_string(),
        expected_digest: None,
        temp_tag_expiration_s: None,
        tags: vec![],
    }
}

#[derive(Debug, Clone)]
enum Step {
    Sql(Vec<String>),
    /// A query returning one integer.
    Count(String),
    Put(Push),
}

fn sha256(s: &str) -> String {
    digest_of(DigestAlgorithm::Sha256, s.as_bytes())
}

const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// An OCI image manifest over `config` and `layers` (digest, size), with `extra` members.
fn image(config: &str, layers: &[(&str, i64)], extra: &str) -> String {
    let layers: Vec<String> = layers
        .iter()
        .map(|(d, size)| format!(r#"{{"mediaType":"{LAYER_TYPE}","digest":"{d}","size":{size}}}"#))
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{CONFIG_TYPE}","digest":"{config}","size":7}},"layers":[{}]{extra}}}"#,
        layers.join(",")
    )
}

fn index(children: &[&str]) -> String {
    let children: Vec<String> = children
        .iter()
        .map(|d| format!(r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":100}}"#))
        .collect();
    format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#, children.join(","))
}

/// Every row a push writes, in one number: a refusal must leave it unchanged.
const WRITTEN: &str = "SELECT (SELECT count(*) FROM manifest) * 1000000 + (SELECT count(*) FROM manifestblob) * 10000 \
     + (SELECT count(*) FROM manifestchild) * 1000 + (SELECT count(*) FROM manifestsecuritystatus) * 100 \
     + (SELECT count(*) FROM tag)";

fn written(manifests: i64, blobs: i64, children: i64, tags: i64) -> String {
    // One security-status row per manifest.
    (manifests * 1_000_000 + blobs * 10_000 + children * 1000 + manifests * 100 + tags).to_string()
}

fn scenario() -> Vec<(Step, String)> {
    use Step::*;
    let d = digest;
    let count = |q: &str| Count(q.to_string());
    let ok = |bytes: &str| format!("ok {}", sha256(bytes));
    let mut s: Vec<(Step, String)> = Vec::new();

    // acme/app (200) has the config d(1) and layer d(2); other/lib (201) has d(3) only.
    let mut f = vec![
        fixtures::user(100, "acme", false, false, 1_209_600),
        fixtures::user(101, "other", false, false, 1_209_600),
        fixtures::repo(200, 100, "app", false),
        fixtures::repo(201, 101, "lib", false),
    ];
    f.extend(fixtures::blob(300, &d(1), 200, false));
    f.extend(fixtures::blob(301, &d(2), 200, false));
    f.extend(fixtures::blob(302, &d(3), 201, false));
    s.push((Sql(f), "ok".into()));

    let good = image(&d(1), &[(&d(2), 10), (&d(2), 5)], "");
    let foreign = image(&d(3), &[(&d(3), 4)], "");

    // Refusals: each one stores nothing.
    let refusals: Vec<(Push, &str)> = vec![
        (push(200, OCI_MANIFEST, "{not json"), "QUAY_MANIFEST_INVALID"),
        (push(200, OCI_MANIFEST, "[1, 2]"), "QUAY_MANIFEST_INVALID"),
        (
            push(200, OCI_MANIFEST, &good.replace("\"schemaVersion\":2", "\"schemaVersion\":3")),
            "QUAY_MANIFEST_INVALID",
        ),
        (
            push(200, OCI_MANIFEST, &image(&d(1), &[(&d(2), i64::MAX), (&d(2), 1)], "")),
            "QUAY_MANIFEST_INVALID",
        ),
        // Lies about the media type: the header contradicts the document, or is not a manifest's.
        (push(200, DOCKER_MANIFEST, &good), "QUAY_MEDIA_TYPE_MISMATCH"),
        (push(200, "text/plain", &good), "QUAY_MEDIA_TYPE_UNSUPPORTED"),
        (
            push(200, "application/vnd.docker.distribution.manifest.v1+json", r#"{"schemaVersion":1}"#),
            "QUAY_MEDIA_TYPE_UNSUPPORTED",
        ),
        // An index that says it is an image has no config.
        (
            push(
                200,
                OCI_MANIFEST,
                &index(&[&sha256(&good)]).replace(&format!(r#""mediaType":"{OCI_INDEX}","#), ""),
            ),
            "QUAY_MANIFEST_INVALID",
        ),
        // Blobs: unknown anywhere, or known only to another repository.
        (push(200, OCI_MANIFEST, &image(&d(1), &[(&d(9), 1)], "")), "QUAY_BLOB_UNKNOWN"),
        (push(200, OCI_MANIFEST, &image(&d(1), &[(&d(2), 1), (&d(3), 1)], "")), "QUAY_BLOB_UNKNOWN"),
        (push(200, OCI_MANIFEST, &image(&d(3), &[(&d(2), 1)], "")), "QUAY_BLOB_UNKNOWN"),
        // The digest the client pushed by is not the bytes'.
        (Push { expected_digest: Some(d(0x77)), ..push(200, OCI_MANIFEST, &good) }, "QUAY_DIGEST_INVALID"),
        (
            Push { expected_digest: Some("sha256:abc".into()), ..push(200, OCI_MANIFEST, &good) },
            "QUAY_DIGEST_INVALID",
        ),
        (
            Push { tags: vec!["ok".into(), ".bad".into()], ..push(200, OCI_MANIFEST, &good) },
            "QUAY_TAG_NAME_INVALID",
        ),
        (push(999, OCI_MANIFEST, &good), "QUAY_REPOSITORY_UNKNOWN"),
    ];
    for (p, code) in refusals {
        s.push((Put(p), format!("error {code}")));
        s.push((count(WRITTEN), written(0, 0, 0, 0)));
    }

    // A good push: the manifest, one manifestblob per distinct blob (config included), derived
    // columns; the media type comes from the document when none is declared.
    s.push((Put(Push { media_type: None, ..push(200, OCI_MANIFEST, &good) }), ok(&good)));
    s.push((count(WRITTEN), written(1, 2, 0, 0)));
    s.push((
        count(&format!(
            "SELECT count(*) FROM manifest m JOIN mediatype t ON t.id = m.media_type_id \
              WHERE m.repository_id = 200 AND m.digest = '{}' AND t.name = '{OCI_MANIFEST}' \
                AND m.config_media_type = '{CONFIG_TYPE}' AND m.layers_compressed_size = 15 \
                AND m.manifest_bytes = '{good}' AND m.subject IS NULL",
            sha256(&good)
        )),
        "1".into(),
    ));
    s.push((
        count(&format!(
            "SELECT count(*) FROM manifestblob mb JOIN manifest m ON m.id = mb.manifest_id \
              WHERE m.digest = '{}' AND mb.repository_id = 200 AND mb.blob_id IN (300, 301)",
            sha256(&good)
        )),
        "2".into(),
    ));
    // Idempotent per digest.
    s.push((Put(push(200, "application/json", &good)), ok(&good)));
    s.push((count(WRITTEN), written(1, 2, 0, 0)));

    // The same image pushed into the other repository is a different row there; an index in
    // acme/app naming it as a child is refused (a child must be in the same repository).
    s.push((Put(push(201, OCI_MANIFEST, &foreign)), ok(&foreign)));
    s.push((count(WRITTEN), written(2, 3, 0, 0)));
    let stray = index(&[&sha256(&good), &sha256(&foreign)]);
    s.push((Put(push(200, OCI_INDEX, &stray)), "error QUAY_MANIFEST_UNKNOWN".into()));
    s.push((count(WRITTEN), written(2, 3, 0, 0)));
    // An index of acme/app's image, pushed by digest with a tag: manifestchild, no blobs.
    let idx = index(&[&sha256(&good), &sha256(&good)]);
    s.push((
        Put(Push {
            expected_digest: Some(sha256(&idx)),
            tags: vec!["multi".into()],
            ..push(200, OCI_INDEX, &idx)
        }),
        ok(&idx),
    ));
    s.push((count(WRITTEN), written(3, 3, 1, 1)));
    s.push((
        count(&format!(
            "SELECT count(*) FROM manifestchild c JOIN manifest p ON p.id = c.manifest_id \
               JOIN manifest k ON k.id = c.child_manifest_id \
              WHERE c.repository_id = 200 AND p.digest = '{}' AND k.digest = '{}' \
                AND p.layers_compressed_size IS NULL",
            sha256(&idx),
            sha256(&good)
        )),
        "1".into(),
    ));

    // A sha512 push by digest: the digest computed is the algorithm asked for.
    let other = image(&d(1), &[(&d(2), 3)], r#","annotations":{"v":"512"}"#);
    let d512 = digest_of(DigestAlgorithm::Sha512, other.as_bytes());
    s.push((
        Put(Push {
            expected_digest: Some(d512.clone()),
            temp_tag_expiration_s: Some(3600),
            ..push(200, OCI_MANIFEST, &other)
        }),
        format!("ok {d512}"),
    ));
    s.push((
        count(&format!(
            "SELECT count(*) FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = '{d512}' \
               AND t.hidden AND t.lifetime_end_ms > {{now_ms}}"
        )),
        "1".into(),
    ));
    s.push((count(WRITTEN), written(4, 5, 1, 2)));

    // A referrer (subject, artifactType) with a foreign layer, which needs no stored blob: a
    // non-expiring hidden tag keeps it.
    let referrer = image(
        &d(1),
        &[],
        &format!(
            r#","artifactType":"application/vnd.example.sig","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1}}"#,
            sha256(&good)
        ),
    )
    .replace(
        "\"layers\":[]",
        &format!(r#""layers":[{{"mediaType":"{LAYER_TYPE}","digest":"{}","size":8,"urls":["https://example.com/l"]}}]"#, d(0x55)),
    );
    s.push((Put(push(200, OCI_MANIFEST, &referrer)), ok(&referrer)));
    s.push((
        count(&format!(
            "SELECT count(*) FROM manifest m JOIN tag t ON t.manifest_id = m.id \
              WHERE m.digest = '{}' AND m.subject = '{}' AND m.artifact_type = 'application/vnd.example.sig' \
                AND m.layers_compressed_size = 8 AND t.hidden AND t.lifetime_end_ms IS NULL",
            sha256(&referrer),
            sha256(&good)
        )),
        "1".into(),
    ));
    s.push((count(WRITTEN), written(5, 6, 1, 3)));

    // Tags in the same call: a refused tag (immutable) leaves no manifest and no other tag.
    s.push((Put(Push { tags: vec!["locked".into()], ..push(200, OCI_MANIFEST, &good) }), ok(&good)));
    s.push((Sql(vec!["UPDATE tag SET immutable = true WHERE name = 'locked'".into()]), "ok".into()));
    s.push((count(WRITTEN), written(5, 6, 1, 4)));
    let newer = image(&d(1), &[(&d(2), 10)], r#","annotations":{"v":"2"}"#);
    s.push((
        Put(Push { tags: vec!["fresh".into(), "locked".into()], ..push(200, OCI_MANIFEST, &newer) }),
        "error QUAY_TAG_IMMUTABLE".into(),
    ));
    s.push((count(WRITTEN), written(5, 6, 1, 4)));
    s.push((
        count(&format!("SELECT count(*) FROM manifest WHERE digest = '{}'", sha256(&newer))),
        "0".into(),
    ));
    s
}

async fn run_postgres(c: &Client, step: &Step) -> String {
    match step {
        Step::Sql(statements) => {
            for st in statements {
                if let Err(e) = c.execute(st.as_str(), &[]).await {
                    return format!("fixture failed: {st}: {e:?}");
                }
            }
            "ok".into()
        }
        Step::Count(q) => match c.query_one(&Dialect::Postgres.render(q), &[]).await {
            Ok(r) => r.get::<_, i64>(0).to_string(),
            Err(e) => format!("count failed: {e:?}"),
        },
        Step::Put(p) => {
            let temp = p.temp_tag_expiration_s.map(|s| s as i32);
            match c
                .query_one(
                    "SELECT manifest_id, digest FROM quay.manifest_put($1, $2, $3, $4, $5, $6)",
                    &[&p.repo, &p.media_type, &p.bytes, &temp, &p.expected_digest, &p.tags],
                )
                .await
            {
                Ok(r) => format!("ok {}", r.get::<_, String>(1)),
                Err(e) => match e.as_db_error() {
                    Some(db) if db.code().code() == "22023" => {
                        format!("error {}", db.detail().unwrap_or("(no detail)"))
                    }
                    _ => format!("failed, not 22023: {e:?}"),
                },
            }
        }
    }
}

fn run_core(ex: &mut dyn Executor, step: Step) -> Result<String, CoreError> {
    Ok(match step {
        Step::Sql(statements) => {
            for st in statements {
                ex.query(&st, &[])?;
            }
            "ok".into()
        }
        Step::Count(q) => {
            let rows = ex.query(&Dialect::Sqlite.render(&q), &[])?;
            rows.first().and_then(|r| r.first()).and_then(|v| v.as_i64()).unwrap_or(-1).to_string()
        }
        Step::Put(p) => {
            let pushed = tags::manifest_put_bytes(
                ex,
                p.repo,
                p.media_type.as_deref(),
                &p.bytes,
                p.expected_digest.as_deref(),
                p.temp_tag_expiration_s,
                &p.tags,
            )?;
            format!("ok {}", pushed.digest)
        }
    })
}

async fn run_sqlite(store: &SqliteStore, step: &Step) -> String {
    let step = step.clone();
    common::sqlite_outcome(store, move |ex| run_core(ex, step)).await
}

#[tokio::test]
async fn manifest_put_from_bytes_refuses_with_stable_codes_on_postgres_and_sqlite() {
    let db = TestDb::with_extension("manifestput").await.expect("db");
    let c = db.client().await.expect("c");
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = common::migrated_sqlite(dir.path()).await;

    let mut failures = Vec::new();
    for (i, (step, expected)) in scenario().into_iter().enumerate() {
        let pg = run_postgres(&c, &step).await;
        let lite = run_sqlite(&sqlite, &step).await;
        if pg != expected || lite != expected {
            let shown = format!("{step:?}");
            let shown = if shown.len() > 400 { format!("{}…", &shown[..400]) } else { shown };
            failures
                .push(format!("step {i} {shown}\n  expected {expected}\n  postgres {pg}\n  sqlite   {lite}"));
        }
    }
    assert!(failures.is_empty(), "{} steps differ:\n{}", failures.len(), failures.join("\n"));
    db.drop_db().await.expect("drop");
}

/// Inside a caller's transaction, a refused push leaves the transaction to roll back and a good
/// one is visible to the rest of it; the result row names the manifest id, digest and subject.
#[tokio::test]
async fn manifest_put_runs_in_the_callers_transaction() {
    let db = TestDb::with_extension("manifesttx").await.expect("db");
    let mut c = db.client().await.expect("c");
    let mut f =
        vec![fixtures::user(100, "acme", false, false, 1_209_600), fixtures::repo(200, 100, "app", false)];
    f.extend(fixtures::blob(300, &digest(1), 200, false));
    for st in &f {
        c.execute(st.as_str(), &[]).await.expect("fixture");
    }
    let good = image(&digest(1), &[], "");
    let tx = c.transaction().await.expect("begin");
    let row = tx
        .query_one("SELECT manifest_id, digest, subject FROM quay.manifest_put(200, NULL, $1)", &[&good])
        .await
        .expect("push");
    let id: i64 = row.get(0);
    assert_eq!(row.get::<_, String>(1), sha256(&good));
    assert_eq!(row.get::<_, Option<String>>(2), None);
    let seen: i64 = tx
        .query_one("SELECT count(*) FROM manifest WHERE id = $1 AND repository_id = 200", &[&(id as i32)])
        .await
        .expect("seen")
        .get(0);
    assert_eq!(seen, 1);
    tx.rollback().await.expect("rollback");
    let left: i64 = c.query_one("SELECT count(*) FROM manifest", &[]).await.expect("left").get(0);
    assert_eq!(left, 0, "the caller's rollback takes the push with it");
    db.drop_db().await.expect("drop");
}
