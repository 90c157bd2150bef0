//! Parity suite for tags, manifests, GC, delete cascades and permissions: one scenario list run
//! against PostgreSQL through the extension's SQL functions and against SQLite through the core.
//! Every step states the outcome Quay's rules give; both backends must produce exactly it.

use super::common;

use quay_core::exec::{CoreError, Dialect, Executor, Value};
use quay_core::{blobs, gc, permissions, tags};
use quay_server::store::sqlite::SqliteStore;
use quay_tests::TestDb;
use quay_tests::fixtures::{self, digest};
use tokio_postgres::Client;

#[derive(Debug, Clone)]
enum Step {
    /// Portable statements (fixtures or direct edits).
    Sql(Vec<String>),
    /// A query returning one integer; `{now_ms}` and friends are rendered per dialect.
    Count(String),
    Manifest(tags::NewManifest),
    /// repository, tag, manifest digest, expiry in ms from now
    TagSet(i64, &'static str, String, Option<i64>),
    TagDelete(i64, &'static str),
    TagRestore(i64, &'static str, String),
    Gc(i64),
    RepoDelete(i64),
    RepoPurge(i64),
    NsDelete(i64),
    NsPurge(i64),
    /// repository, digest, size
    BlobCommit(i64, String, i64),
    BlobLookup(i64, String),
    /// upload id, repository, byte count, chunk count, digest, size
    UploadFinish(i64, i64, i64, i64, String, i64),
    Role(Option<i64>, i64),
    /// namespace, repository, caller: what a registry request reads (`quay.repository_access`).
    Access(&'static str, &'static str, Option<i64>),
    Visible(Option<i64>, Option<&'static str>),
    Sleep(u64),
    /// namespace, name, public, creator
    RepoCreate(i64, &'static str, bool, i64),
    /// organization name, creator (CREATE_NAMESPACE_ON_PUSH)
    OrgCreate(&'static str, i64),
}

fn manifest(repo: i64, d: &str, blobs: &[String]) -> tags::NewManifest {
    tags::NewManifest {
        repository_id: repo,
        digest: d.to_string(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        manifest_bytes: format!("{{\"m\":\"{d}\"}}"),
        blob_digests: blobs.to_vec(),
        ..Default::default()
    }
}

fn index(repo: i64, d: &str, children: &[String]) -> tags::NewManifest {
    tags::NewManifest {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        child_digests: children.to_vec(),
        ..manifest(repo, d, &[])
    }
}

fn count(sql: &str) -> Step {
    Step::Count(sql.to_string())
}

fn sql(statements: impl IntoIterator<Item = String>) -> Step {
    Step::Sql(statements.into_iter().collect())
}

/// Rows left anywhere that reference repository `r`.
fn repo_refs(r: i64) -> String {
    let tables = [
        "tag",
        "manifest",
        "manifestblob",
        "manifestchild",
        "manifestlabel",
        "uploadedblob",
        "star",
        "repositorypermission",
        "deletedrepository",
        "manifestsecuritystatus",
        "tagpullstatistics",
        "manifestpullstatistics",
        "blobupload",
        "repositorynotification",
        "accesstoken",
    ];
    let parts: Vec<String> =
        tables.iter().map(|t| format!("(SELECT count(*) FROM {t} WHERE repository_id = {r})")).collect();
    format!("SELECT {} + (SELECT count(*) FROM repository WHERE id = {r})", parts.join(" + "))
}

/// The scenario and, for each step, the outcome Quay's rules give.
fn scenario() -> Vec<(Step, &'static str)> {
    use Step::*;
    let d = digest;
    let (m1, m2, mi, mr, mx, m9) = (d(0xa1), d(0xa2), d(0xa3), d(0xa4), d(0xa5), d(0xa9));
    let (g1, g2, g3, gr, gi, g4) = (d(0xb1), d(0xb2), d(0xb3), d(0xb4), d(0xb5), d(0xb6));
    let m1hex = m1.trim_start_matches("sha256:").to_string();
    let alive = |name: &str| {
        format!(
            "SELECT count(*) FROM tag WHERE repository_id = 200 AND name = '{name}' AND hidden = false \
             AND (lifetime_end_ms IS NULL OR lifetime_end_ms > {{now_ms}})"
        )
    };
    let mut s: Vec<(Step, &'static str)> = Vec::new();

    // --- Fixtures: namespace acme (user 100) with repo 200; another namespace's repo 201.
    let mut f = vec![
        fixtures::user(100, "acme", false, false, 1_209_600),
        fixtures::user(101, "gcns", false, false, 0),
        fixtures::repo(200, 100, "app", false),
        fixtures::repo(201, 101, "other", false),
        fixtures::repo(210, 101, "gc", false),
    ];
    f.extend(fixtures::blob(300, &d(1), 200, false));
    f.extend(fixtures::blob(301, &d(2), 200, false));
    f.extend(fixtures::blob(302, &d(3), 201, false));
    s.push((sql(f), "ok"));

    // --- Manifests: atomic, idempotent, refused with nothing written.
    s.push((Manifest(manifest(200, &m1, &[d(1), d(2)])), "ok"));
    s.push((count(&format!("SELECT count(*) FROM manifestblob mb JOIN manifest m ON m.id = mb.manifest_id WHERE m.digest = '{m1}'")), "2"));
    s.push((count(&format!("SELECT count(*) FROM manifestsecuritystatus s JOIN manifest m ON m.id = s.manifest_id WHERE m.digest = '{m1}' AND s.index_status = 0")), "1"));
    s.push((Manifest(manifest(200, &m2, &[d(1), d(3)])), "error QUAY_BLOB_UNKNOWN"));
    s.push((count(&format!("SELECT count(*) FROM manifest WHERE digest = '{m2}'")), "0"));
    s.push((Manifest(manifest(200, &m1, &[d(1), d(2)])), "ok"));
    s.push((count(&format!("SELECT count(*) FROM manifest WHERE digest = '{m1}'")), "1"));
    s.push((Manifest(index(200, &mi, &[m1.clone(), m1.clone()])), "ok"));
    s.push((count("SELECT count(*) FROM manifestchild WHERE repository_id = 200"), "1"));
    s.push((Manifest(index(200, &mx, std::slice::from_ref(&m9))), "error QUAY_MANIFEST_UNKNOWN"));
    s.push((
        Manifest(tags::NewManifest { subject_digest: Some(m1.clone()), ..manifest(200, &mr, &[d(1)]) }),
        "ok",
    ));
    s.push((count(&format!("SELECT count(*) FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = '{mr}' AND t.hidden = true AND t.lifetime_end_ms IS NULL AND substr(t.name, 1, 6) = '$temp-'")), "1"));
    s.push((Manifest(manifest(200, "sha256:xyz", &[])), "error QUAY_DIGEST_INVALID"));
    s.push((
        Manifest(tags::NewManifest { media_type: "text/nope".into(), ..manifest(200, &m2, &[]) }),
        "error QUAY_MEDIA_TYPE_UNKNOWN",
    ));
    s.push((Manifest(manifest(999, &m2, &[])), "error QUAY_REPOSITORY_UNKNOWN"));
    s.push((
        Manifest(tags::NewManifest { temp_tag_expiration_s: Some(3600), ..manifest(200, &m2, &[d(2)]) }),
        "ok",
    ));
    s.push((count(&format!("SELECT count(*) FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = '{m2}' AND t.hidden = true AND t.lifetime_end_ms > {{now_ms}}")), "1"));

    // --- Tags: one alive generation, history without overlaps, time machine.
    s.push((TagSet(200, "latest", m1.clone(), None), "ok"));
    s.push((TagSet(200, "latest", mi.clone(), None), "ok"));
    s.push((TagSet(200, "latest", mi.clone(), None), "ok"));
    s.push((count(&alive("latest")), "1"));
    s.push((count("SELECT count(*) FROM tag WHERE repository_id = 200 AND name = 'latest'"), "3"));
    s.push((count("SELECT count(*) FROM tag a JOIN tag b ON a.repository_id = b.repository_id AND a.name = b.name AND a.id < b.id \
                   WHERE a.name = 'latest' AND a.lifetime_start_ms < COALESCE(b.lifetime_end_ms, 9000000000000000000) \
                   AND b.lifetime_start_ms < COALESCE(a.lifetime_end_ms, 9000000000000000000)"), "0"));
    s.push((TagSet(200, "-bad", m1.clone(), None), "error QUAY_TAG_NAME_INVALID"));
    s.push((TagSet(201, "latest", m1.clone(), None), "error QUAY_MANIFEST_UNKNOWN"));
    s.push((TagDelete(200, "latest"), "true"));
    s.push((TagDelete(200, "latest"), "false"));
    s.push((count(&alive("latest")), "0"));
    s.push((TagRestore(200, "latest", m1.clone()), "ok"));
    s.push((count(&format!("SELECT count(*) FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE t.name = 'latest' AND m.digest = '{m1}' AND t.reversion = true AND t.lifetime_end_ms IS NULL")), "1"));
    s.push((TagRestore(200, "latest", mr.clone()), "error QUAY_TAG_NOT_RESTORABLE"));
    s.push((
        sql(
            ["UPDATE tag SET immutable = true WHERE name = 'latest' AND lifetime_end_ms IS NULL".to_string()],
        ),
        "ok",
    ));
    s.push((TagSet(200, "latest", mi.clone(), None), "error QUAY_TAG_IMMUTABLE"));
    s.push((TagDelete(200, "latest"), "error QUAY_TAG_IMMUTABLE"));
    s.push((sql(["UPDATE tag SET immutable = false WHERE name = 'latest'".to_string()]), "ok"));
    s.push((TagSet(200, "soon", m1.clone(), Some(400)), "ok"));
    s.push((count(&alive("soon")), "1"));
    s.push((TagSet(200, "late", m1.clone(), Some(-5)), "error QUAY_INVALID_ARGUMENT"));
    s.push((Sleep(800), "ok"));
    s.push((count(&alive("soon")), "0"));
    // Cosign: moving the last tag off a digest expires its signature tag.
    s.push((TagSet(200, "base", m2.clone(), None), "ok"));
    s.push((
        TagSet(
            200,
            &*Box::leak(format!("sha256-{}.sig", m2.trim_start_matches("sha256:")).into_boxed_str()),
            mr.clone(),
            None,
        ),
        "ok",
    ));
    s.push((
        TagSet(200, &*Box::leak(format!("sha256-{m1hex}.sig").into_boxed_str()), mr.clone(), None),
        "ok",
    ));
    s.push((TagDelete(200, "base"), "true"));
    s.push((count(&alive(&format!("sha256-{}.sig", m2.trim_start_matches("sha256:")))), "0"));
    s.push((count(&alive(&format!("sha256-{m1hex}.sig"))), "1"));

    // --- Blobs: commit links a blob to a repository; lookups see links and manifests only.
    s.push((BlobCommit(200, d(0x20), 1234), "ok"));
    s.push((BlobCommit(200, d(0x20), 1234), "ok"));
    s.push((
        count(&format!("SELECT count(*) FROM imagestorage WHERE content_checksum = '{}'", d(0x20))),
        "1",
    ));
    s.push((count("SELECT count(*) FROM uploadedblob u JOIN imagestorage s ON s.id = u.blob_id WHERE u.repository_id = 200 AND u.expires_at > {now} AND s.content_checksum = 'sha256:2020202020202020202020202020202020202020202020202020202020202020'"), "2"));
    s.push((BlobLookup(200, d(0x20)), "Some(1234)"));
    s.push((BlobLookup(201, d(0x20)), "None"));
    s.push((BlobLookup(200, d(1)), "Some(100)"));
    s.push((BlobLookup(200, "sha256:nope".into()), "None"));
    s.push((BlobCommit(200, "md5:00".into(), 1), "error QUAY_DIGEST_INVALID"));
    s.push((BlobCommit(999, d(0x20), 1), "error QUAY_REPOSITORY_UNKNOWN"));

    // --- Upload finish: the session's end and the blob's link in one transaction, only for the
    // session as the finisher saw it (a racing request or finisher makes it QUAY_UPLOAD_CHANGED).
    s.push((
        sql(vec![
            "INSERT INTO blobupload (id, repository_id, uuid, byte_count, sha_state, location_id, storage_metadata, chunk_count, created) \
             SELECT 900, 200, 'up-900', 10, NULL, l.id, '{}', 2, '2026-01-01 00:00:00' FROM imagestoragelocation l WHERE l.name = 'local'"
                .to_string(),
        ]),
        "ok",
    ));
    let upload_rows = "SELECT count(*) FROM blobupload WHERE id = 900";
    let linked = format!(
        "SELECT count(*) FROM uploadedblob u JOIN imagestorage s ON s.id = u.blob_id WHERE u.repository_id = 200 AND s.content_checksum = '{}'",
        d(0x21)
    );
    s.push((UploadFinish(900, 200, 9, 2, d(0x21), 10), "error QUAY_UPLOAD_CHANGED"));
    s.push((UploadFinish(900, 200, 10, 1, d(0x21), 10), "error QUAY_UPLOAD_CHANGED"));
    s.push((UploadFinish(900, 201, 10, 2, d(0x21), 10), "error QUAY_UPLOAD_CHANGED"));
    s.push((count(upload_rows), "1"));
    s.push((count(&linked), "0"));
    // A refusal after the session's end (a bad digest) rolls the end back too.
    s.push((UploadFinish(900, 200, 10, 2, "md5:00".into(), 10), "error QUAY_DIGEST_INVALID"));
    s.push((count(upload_rows), "1"));
    s.push((UploadFinish(900, 200, 10, 2, d(0x21), 10), "ok"));
    s.push((count(upload_rows), "0"));
    s.push((count(&linked), "1"));
    s.push((UploadFinish(900, 200, 10, 2, d(0x21), 10), "error QUAY_UPLOAD_CHANGED"));
    s.push((count(&linked), "1"));

    // --- GC (namespace gcns has no time-machine window).
    let mut f = Vec::new();
    f.extend(fixtures::blob(310, &d(0x10), 210, true));
    f.extend(fixtures::blob(311, &d(0x11), 210, true));
    f.extend(fixtures::blob(312, &d(0x12), 210, true));
    s.push((sql(f), "ok"));
    s.push((Manifest(manifest(210, &g1, &[d(0x10), d(0x11)])), "ok"));
    s.push((Manifest(manifest(210, &g2, &[d(0x11)])), "ok"));
    s.push((TagSet(210, "t", g1.clone(), None), "ok"));
    s.push((TagSet(210, "t", g2.clone(), None), "ok"));
    s.push((Sleep(20), "ok"));
    s.push((Gc(210), "[\"sha256:10\", \"sha256:12\"]"));
    s.push((count("SELECT count(*) FROM manifest WHERE repository_id = 210"), "1"));
    s.push((count("SELECT count(*) FROM tag WHERE repository_id = 210"), "1"));
    s.push((count("SELECT count(*) FROM imagestorage WHERE id IN (310, 311, 312)"), "1"));
    // A subject is kept by its referrer, a child by its list.
    s.push((Manifest(manifest(210, &g3, &[d(0x11)])), "ok"));
    s.push((
        Manifest(tags::NewManifest { subject_digest: Some(g3.clone()), ..manifest(210, &gr, &[d(0x11)]) }),
        "ok",
    ));
    s.push((TagSet(210, "s", g3.clone(), None), "ok"));
    s.push((TagDelete(210, "s"), "true"));
    s.push((Manifest(index(210, &gi, std::slice::from_ref(&g2))), "ok"));
    s.push((TagSet(210, "idx", gi.clone(), None), "ok"));
    s.push((Manifest(manifest(210, &g4, &[d(0x11)])), "ok"));
    s.push((TagSet(210, "t", g4.clone(), None), "ok"));
    s.push((Sleep(20), "ok"));
    s.push((Gc(210), "[]"));
    s.push((count(&format!("SELECT count(*) FROM manifest WHERE digest IN ('{g2}', '{g3}')")), "2"));
    s.push((Gc(210), "[]"));

    // --- Repository delete and purge.
    s.push((Role(Some(101), 210), "Some(\"admin\")"));
    s.push((RepoPurge(210), "error QUAY_REPOSITORY_NOT_MARKED"));
    s.push((RepoDelete(210), "queued"));
    s.push((RepoDelete(210), "error QUAY_REPOSITORY_UNKNOWN"));
    s.push((count("SELECT count(*) FROM repository WHERE id = 210 AND state = 3 AND name <> 'gc'"), "1"));
    s.push((count("SELECT count(*) FROM queueitem WHERE queue_name = 'repositorygc/gcns/210/'"), "1"));
    s.push((count("SELECT count(*) FROM deletedrepository WHERE repository_id = 210 AND original_name = 'gc' AND queue_id IS NOT NULL"), "1"));
    s.push((Role(Some(101), 210), "None"));
    s.push((TagSet(210, "t", g2.clone(), None), "error QUAY_REPOSITORY_UNKNOWN"));
    s.push((RepoPurge(210), "[\"sha256:11\"]"));
    s.push((count(&repo_refs(210)), "0"));
    s.push((RepoPurge(210), "[]"));

    // --- Permissions (quay-data-model.md §6).
    let f = vec![
        fixtures::user(120, "corp", true, false, 1_209_600),
        fixtures::user(121, "alice", false, false, 1_209_600),
        fixtures::user(122, "bob", false, false, 1_209_600),
        fixtures::user(123, "carol", false, false, 1_209_600),
        fixtures::user(124, "corp+bot", false, true, 1_209_600),
        fixtures::user(125, "dave", false, false, 1_209_600),
        "UPDATE \"user\" SET enabled = false WHERE id = 123".to_string(),
        fixtures::team(400, 120, "owners", "admin"),
        fixtures::team(401, 120, "devs", "member"),
        fixtures::team(402, 120, "readers", "member"),
        fixtures::member(400, 125),
        fixtures::member(401, 122),
        fixtures::member(402, 124),
        fixtures::repo(220, 120, "private", false),
        fixtures::repo(221, 120, "public", true),
        fixtures::repo(222, 121, "own", false),
        fixtures::repo(223, 120, "marked", false),
        "UPDATE repository SET state = 3 WHERE id = 223".to_string(),
        fixtures::grant(220, Some(121), None, "write"),
        fixtures::grant(220, None, Some(401), "read"),
        fixtures::grant(220, None, Some(402), "read"),
        fixtures::grant(220, Some(123), None, "admin"),
        fixtures::grant(221, None, Some(401), "write"),
        fixtures::grant(223, Some(121), None, "admin"),
    ];
    s.push((sql(f), "ok"));
    let matrix: [(Option<i64>, [&'static str; 4]); 8] = [
        // caller          220 private         221 public          222 alice's       223 marked
        (None, ["None", "Some(\"read\")", "None", "None"]),
        (Some(121), ["Some(\"write\")", "Some(\"read\")", "Some(\"admin\")", "None"]),
        (Some(122), ["Some(\"read\")", "Some(\"write\")", "None", "None"]),
        (Some(123), ["None", "Some(\"read\")", "None", "None"]),
        (Some(124), ["Some(\"read\")", "Some(\"read\")", "None", "None"]),
        (Some(125), ["Some(\"admin\")", "Some(\"admin\")", "None", "None"]),
        (Some(120), ["Some(\"admin\")", "Some(\"admin\")", "None", "None"]),
        (Some(999), ["None", "Some(\"read\")", "None", "None"]),
    ];
    let names = [("corp", "private"), ("corp", "public"), ("alice", "own"), ("corp", "marked")];
    for (caller, roles) in matrix {
        for ((repo, role), (ns, name)) in [220, 221, 222, 223].into_iter().zip(roles).zip(names) {
            s.push((Role(caller, repo), role));
            // The one-statement read agrees with the role rule (a marked repository is not found).
            let access = if repo == 223 { "no repository".to_string() } else { format!("{repo} {role}") };
            s.push((Access(ns, name, caller), Box::leak(access.into_boxed_str())));
        }
    }
    s.push((Visible(Some(121), None), "[(220, \"write\"), (221, \"read\"), (222, \"admin\")]"));
    s.push((Visible(None, None), "[(221, \"read\")]"));
    s.push((Visible(Some(125), Some("corp")), "[(220, \"admin\"), (221, \"admin\")]"));

    // --- Repository creation (what a push does): permission, idempotency, prototypes.
    let proto = |id: i64, activating: &str, user: &str, team: &str, role: &str| {
        format!(
            "INSERT INTO permissionprototype (id, org_id, uuid, activating_user_id, delegate_user_id, delegate_team_id, role_id) \
             VALUES ({id}, 120, 'p{id}', {activating}, {user}, {team}, (SELECT id FROM role WHERE name = '{role}'))"
        )
    };
    s.push((
        sql([
            proto(1, "NULL", "NULL", "402", "read"),
            proto(2, "125", "NULL", "402", "write"),
            proto(3, "NULL", "122", "NULL", "write"),
            proto(4, "121", "123", "NULL", "admin"),
        ]),
        "ok",
    ));
    s.push((RepoCreate(120, "made", false, 122), "error QUAY_PERMISSION_DENIED"));
    s.push((RepoCreate(120, "made", false, 124), "error QUAY_PERMISSION_DENIED"));
    s.push((RepoCreate(120, "Bad Name", false, 125), "error QUAY_NAME_INVALID"));
    s.push((RepoCreate(123, "mine", false, 123), "error QUAY_NAMESPACE_DISABLED"));
    s.push((RepoCreate(999, "mine", false, 121), "error QUAY_NAMESPACE_UNKNOWN"));
    s.push((RepoCreate(120, "made", false, 125), "created"));
    s.push((RepoCreate(120, "made", true, 125), "existing"));
    let made = |cond: &str| {
        count(&format!(
            "SELECT count(*) FROM repositorypermission p JOIN role ro ON ro.id = p.role_id \
             JOIN repository r ON r.id = p.repository_id WHERE r.name = 'made' AND {cond}"
        ))
    };
    s.push((made("p.user_id = 125 AND ro.name = 'admin'"), "1"));
    s.push((made("p.team_id = 402 AND ro.name = 'write'"), "1"));
    s.push((made("p.user_id = 122 AND ro.name = 'write'"), "1"));
    s.push((made("true"), "3"));
    s.push((
        count("SELECT count(*) FROM repository r JOIN visibility v ON v.id = r.visibility_id \
               JOIN repositorysearchscore s ON s.repository_id = r.id JOIN repositoryactioncount a ON a.repository_id = r.id \
               WHERE r.name = 'made' AND v.name = 'private' AND r.state = 0"),
        "1",
    ));
    s.push((RepoCreate(121, "mine/nested", true, 121), "created"));
    s.push((
        count(
            "SELECT count(*) FROM repository r JOIN visibility v ON v.id = r.visibility_id \
               JOIN repositorypermission p ON p.repository_id = r.id AND p.user_id = 121 \
               WHERE r.name = 'mine/nested' AND r.namespace_user_id = 121 AND v.name = 'public'",
        ),
        "1",
    ));

    // --- Namespace delete and purge.
    s.push((
        sql([
            fixtures::user(130, "solo", true, false, 0),
            fixtures::team(403, 130, "owners", "admin"),
            fixtures::member(403, 121),
        ]),
        "ok",
    ));
    s.push((NsDelete(121), "error QUAY_NAMESPACE_LAST_ADMIN"));
    s.push((NsPurge(120), "error QUAY_NAMESPACE_NOT_MARKED"));
    s.push((NsDelete(124), "error QUAY_INVALID_ARGUMENT"));
    s.push((NsDelete(120), "queued"));
    s.push((NsDelete(120), "None"));
    s.push((
        count(
            "SELECT count(*) FROM \"user\" WHERE id IN (120, 124) AND enabled = false AND username <> 'corp'",
        ),
        "2",
    ));
    s.push((count("SELECT count(*) FROM queueitem WHERE queue_name = 'namespacegc/120/'"), "1"));
    s.push((Role(Some(125), 220), "None"));
    s.push((Role(None, 221), "None"));
    s.push((NsPurge(120), "[]"));
    s.push((count("SELECT count(*) FROM \"user\" WHERE id IN (120, 124)"), "0"));
    s.push((count("SELECT (SELECT count(*) FROM team WHERE organization_id = 120) + (SELECT count(*) FROM teammember WHERE team_id IN (400, 401, 402) OR user_id = 124) \
                   + (SELECT count(*) FROM repositorypermission WHERE repository_id IN (220, 221, 223)) + (SELECT count(*) FROM repository WHERE namespace_user_id = 120) \
                   + (SELECT count(*) FROM deletednamespace WHERE namespace_id = 120)"), "0"));
    s.push((count("SELECT count(*) FROM \"user\" WHERE id IN (121, 122, 125) AND enabled = true"), "3"));
    s.push((NsPurge(120), "[]"));

    // --- Organization creation on push: name and creator checks, idempotency, owners team.
    s.push((OrgCreate("Bad Name", 121), "error QUAY_NAME_INVALID"));
    s.push((OrgCreate("neworg", 124), "error QUAY_PERMISSION_DENIED"));
    s.push((OrgCreate("neworg", 120), "error QUAY_PERMISSION_DENIED"));
    s.push((OrgCreate("neworg", 999), "error QUAY_PERMISSION_DENIED"));
    s.push((OrgCreate("alice", 122), "error QUAY_NAMESPACE_EXISTS"));
    s.push((OrgCreate("neworg", 121), "created"));
    s.push((OrgCreate("neworg", 122), "existing"));
    s.push((
        count(
            "SELECT count(*) FROM \"user\" o JOIN team t ON t.organization_id = o.id AND t.name = 'owners' \
               JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin' \
               JOIN teammember m ON m.team_id = t.id AND m.user_id = 121 \
              WHERE o.username = 'neworg' AND o.organization AND NOT o.robot AND o.enabled \
                AND o.email = 'alice+neworg@example.com' AND o.removed_tag_expiration_s = 1209600",
        ),
        "1",
    ));
    s.push((count("SELECT count(*) FROM teammember m JOIN team t ON t.id = m.team_id JOIN \"user\" o ON o.id = t.organization_id WHERE o.username = 'neworg'"), "1"));
    s.push((count("SELECT count(*) FROM \"user\" WHERE username = 'neworg'"), "1"));
    s
}

fn freed(v: Vec<gc::FreedBlob>) -> String {
    // Short names: the first two hex digits identify the fixture digest.
    let mut names: Vec<String> = v.into_iter().map(|b| b.content_checksum[..9].to_string()).collect();
    names.sort();
    format!("{names:?}")
}

async fn run_postgres(c: &Client, step: &Step) -> String {
    let err = |e: tokio_postgres::Error| {
        let code = e.as_db_error().and_then(|d| d.detail().map(str::to_string));
        format!("error {}", code.unwrap_or_else(|| e.to_string()))
    };
    let manifest_id = |repo: i64, d: &str| {
        format!("(SELECT id::bigint FROM manifest WHERE repository_id = {repo} AND digest = '{d}')")
    };
    let freed_pg = |rows: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>| match rows {
        Ok(rows) => freed(
            rows.iter().map(|r| gc::FreedBlob { storage_id: r.get(0), content_checksum: r.get(1) }).collect(),
        ),
        Err(e) => err(e),
    };
    let ok = |r: Result<u64, tokio_postgres::Error>| r.map(|_| "ok".to_string()).unwrap_or_else(err);
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
            Err(e) => err(e),
        },
        Step::Manifest(m) => ok(c
            .execute(
                "SELECT quay.manifest_put($1, $2, $3, $4, $5, $6, $7, $8, temp_tag_expiration_s => $9)",
                &[
                    &m.repository_id,
                    &m.digest,
                    &m.media_type,
                    &m.manifest_bytes,
                    &m.config_digest,
                    &m.blob_digests,
                    &m.child_digests,
                    &m.subject_digest,
                    &m.temp_tag_expiration_s.map(|v| v as i32),
                ],
            )
            .await),
        Step::TagSet(repo, name, d, expires) => {
            let exp = expires.map_or("NULL".to_string(), |ms| {
                format!("(extract(epoch from clock_timestamp()) * 1000)::bigint + {ms}")
            });
            ok(c.execute(
                &format!("SELECT quay.tag_set($1, $2, COALESCE({}, -1), {exp})", manifest_id(*repo, d)),
                &[repo, name],
            )
            .await)
        }
        Step::TagDelete(repo, name) => {
            match c.query_one("SELECT quay.tag_delete($1, $2)", &[repo, name]).await {
                Ok(r) => r.get::<_, bool>(0).to_string(),
                Err(e) => err(e),
            }
        }
        Step::TagRestore(repo, name, d) => {
            ok(c.execute("SELECT quay.tag_restore($1, $2, $3)", &[repo, name, d]).await)
        }
        Step::Gc(r) => freed_pg(c.query("SELECT * FROM quay.gc_repository($1)", &[r]).await),
        Step::RepoPurge(r) => freed_pg(c.query("SELECT * FROM quay.repository_purge($1)", &[r]).await),
        Step::NsPurge(n) => freed_pg(c.query("SELECT * FROM quay.namespace_purge($1)", &[n]).await),
        Step::RepoDelete(r) => c
            .query_one("SELECT quay.repository_delete($1)", &[r])
            .await
            .map(|_| "queued".to_string())
            .unwrap_or_else(err),
        Step::NsDelete(n) => match c.query_one("SELECT quay.namespace_delete($1)", &[n]).await {
            Ok(r) => r.get::<_, Option<i64>>(0).map_or("None".into(), |_| "queued".into()),
            Err(e) => err(e),
        },
        Step::BlobCommit(r, d, size) => {
            ok(c.execute("SELECT quay.blob_commit($1, $2, $3, 'local')", &[r, d, size]).await)
        }
        Step::UploadFinish(id, r, bytes, chunks, d, size) => ok(c
            .execute(
                "SELECT quay.upload_finish($1, $2, $3, $4, $5, $6, 'local')",
                &[&id, &r, &bytes, &chunks, &d, &size],
            )
            .await),
        Step::BlobLookup(r, d) => {
            match c.query_opt("SELECT size_bytes FROM quay.blob_lookup($1, $2)", &[r, d]).await {
                Ok(row) => format!("{:?}", row.map(|r| r.get::<_, Option<i64>>(0).unwrap_or(-1))),
                Err(e) => err(e),
            }
        }
        Step::Role(u, r) => match c.query_one("SELECT quay.repository_role($1, $2)", &[u, r]).await {
            Ok(row) => format!("{:?}", row.get::<_, Option<String>>(0)),
            Err(e) => err(e),
        },
        Step::Access(ns, name, u) => {
            match c
                .query("SELECT repository_id, role FROM quay.repository_access($1, $2, $3)", &[&ns, &name, u])
                .await
            {
                Ok(rows) => rows.first().map_or("no repository".into(), |r| {
                    format!("{} {:?}", r.get::<_, i64>(0), r.get::<_, Option<String>>(1))
                }),
                Err(e) => err(e),
            }
        }
        Step::Visible(u, ns) => {
            match c.query("SELECT repository_id, role FROM quay.visible_repositories($1, $2)", &[u, ns]).await
            {
                Ok(rows) => {
                    let v: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
                    format!("{v:?}")
                }
                Err(e) => err(e),
            }
        }
        Step::Sleep(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            "ok".into()
        }
        Step::RepoCreate(ns, name, public, creator) => match c
            .query_one(
                "SELECT created FROM quay.repository_create($1, $2, $3, $4)",
                &[ns, name, public, creator],
            )
            .await
        {
            Ok(r) => if r.get::<_, bool>(0) { "created" } else { "existing" }.into(),
            Err(e) => err(e),
        },
        Step::OrgCreate(name, creator) => {
            match c.query_one("SELECT created FROM quay.organization_create($1, $2)", &[name, creator]).await
            {
                Ok(r) => if r.get::<_, bool>(0) { "created" } else { "existing" }.into(),
                Err(e) => err(e),
            }
        }
    }
}

fn run_core(ex: &mut dyn Executor, step: Step) -> Result<String, CoreError> {
    let manifest_id = |ex: &mut dyn Executor, repo: i64, d: &str| -> Result<i64, CoreError> {
        let rows = ex.query(
            "SELECT id FROM manifest WHERE repository_id = ?1 AND digest = ?2",
            &[Value::Int(repo), Value::text(d)],
        )?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(-1))
    };
    Ok(match step {
        Step::Sql(statements) => {
            for st in statements {
                ex.query(&st, &[])?;
            }
            "ok".into()
        }
        Step::Count(q) => {
            let rows = ex.query(&Dialect::Sqlite.render(&q), &[])?;
            rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(-1).to_string()
        }
        Step::Manifest(m) => tags::manifest_put(ex, &m).map(|_| "ok".to_string())?,
        Step::TagSet(repo, name, d, expires) => {
            let id = manifest_id(ex, repo, &d)?;
            let exp = match expires {
                Some(ms) => Some(quay_core::exec::now_ms(ex)? + ms),
                None => None,
            };
            tags::tag_set(ex, repo, name, id, exp).map(|_| "ok".to_string())?
        }
        Step::TagDelete(repo, name) => tags::tag_delete(ex, repo, name)?.to_string(),
        Step::TagRestore(repo, name, d) => tags::tag_restore(ex, repo, name, &d).map(|_| "ok".to_string())?,
        Step::Gc(r) => freed(gc::gc_repository(ex, r)?),
        Step::RepoPurge(r) => freed(gc::repository_purge(ex, r)?),
        Step::NsPurge(n) => freed(gc::namespace_purge(ex, n)?),
        Step::RepoDelete(r) => gc::repository_delete(ex, r).map(|_| "queued".to_string())?,
        Step::NsDelete(n) => gc::namespace_delete(ex, n)?.map_or("None".into(), |_| "queued".into()),
        Step::BlobCommit(r, d, size) => {
            blobs::blob_commit(ex, r, &d, size, "local", 3600).map(|_| "ok".to_string())?
        }
        Step::UploadFinish(id, r, bytes, chunks, d, size) => {
            blobs::upload_finish(ex, id, r, bytes, chunks, &d, size, "local", 3600)
                .map(|_| "ok".to_string())?
        }
        Step::BlobLookup(r, d) => {
            format!("{:?}", blobs::blob_lookup(ex, r, &d)?.map(|b| b.size.unwrap_or(-1)))
        }
        Step::Role(u, r) => format!("{:?}", permissions::repository_role(ex, u, r)?.map(|r| r.as_str())),
        Step::Access(ns, name, u) => permissions::repository_access(ex, ns, name, u)?
            .map_or("no repository".into(), |a| {
                format!("{} {:?}", a.repository.id, a.role.map(|r| r.as_str()))
            }),
        Step::Visible(u, ns) => {
            let v: Vec<(i64, &str)> = permissions::visible_repositories(ex, u, ns)?
                .into_iter()
                .map(|(id, r)| (id, r.as_str()))
                .collect();
            format!("{v:?}")
        }
        Step::Sleep(ms) => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            "ok".into()
        }
        Step::RepoCreate(ns, name, public, creator) => {
            let (_, created) = quay_core::repositories::create(ex, ns, name, public, creator)?;
            if created { "created" } else { "existing" }.into()
        }
        Step::OrgCreate(name, creator) => {
            let (_, created) = quay_core::organizations::create(ex, name, creator, 1_209_600)?;
            if created { "created" } else { "existing" }.into()
        }
    })
}

async fn run_sqlite(store: &SqliteStore, step: &Step) -> String {
    let step = step.clone();
    common::sqlite_outcome(store, move |ex| run_core(ex, step)).await
}

#[tokio::test]
async fn tags_gc_and_permissions_give_quays_outcomes_on_postgres_and_sqlite() {
    let db = TestDb::with_extension("invariants").await.expect("db");
    let c = db.client().await.expect("c");
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = common::migrated_sqlite(dir.path()).await;

    let mut failures = Vec::new();
    for (i, (step, expected)) in scenario().into_iter().enumerate() {
        let pg = run_postgres(&c, &step).await;
        let lite = run_sqlite(&sqlite, &step).await;
        if pg != expected || lite != expected {
            failures.push(format!(
                "step {i} {step:?}\n  expected {expected}\n  postgres {pg}\n  sqlite   {lite}"
            ));
        }
    }
    assert!(failures.is_empty(), "{} steps differ:\n{}", failures.len(), failures.join("\n"));
    db.drop_db().await.expect("drop");
}
