//! `/v2/auth` with every kind of credential Quay accepts over Basic auth, on both backends:
//! robots (`owner+name`, field-encrypted token), `$app` app-specific tokens, `$token` repository
//! delegate tokens (exactly their role on their one repository) and `$oauthtoken` OAuth access
//! tokens (the user's roles capped by the token's scopes). Each grant is checked in the issued
//! JWT and again by a `/v2` route.

use super::common;

use common::{Backend, PASSWORD, Registry, claims, exec, scalar};
use quay_server::auth::field_encryption::FieldEncrypter;
use reqwest::Method;
use serde_json::Value;

/// The actions granted for one scope, with the JWT's claims.
async fn grant(r: &Registry, user: &str, secret: &str, scope: &str) -> (Vec<String>, Value) {
    let resp = r.auth(Some(user), secret, &[scope]).await;
    assert_eq!(resp.status(), 200, "{user} {scope}");
    let token = resp.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string();
    let c = claims(&token);
    let actions =
        c["access"][0]["actions"].as_array().expect("actions").iter().map(|a| a.to_string()).collect();
    let mut c = c;
    c["raw"] = Value::String(token);
    (actions, c)
}

fn acts(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| format!("\"{a}\"")).collect()
}

async fn refused(r: &Registry, user: &str, secret: &str) -> String {
    let resp = r.auth(Some(user), secret, &["repository:alice/app:pull"]).await;
    assert_eq!(resp.status(), 401, "{user} must be refused");
    let body: Value = resp.json().await.expect("json");
    body["errors"][0]["message"].as_str().unwrap_or("").to_string()
}

async fn credentials(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "").await;
    let alice = r.user("alice").await;
    r.user("bob").await;
    // alice/app and alice/other exist (created on push); bob/private is bob's.
    for repo in ["alice/app", "alice/other"] {
        r.token(Some("alice"), &[&format!("repository:{repo}:push")]).await;
    }
    r.token(Some("bob"), &["repository:bob/private:push"]).await;
    let app_id = scalar(
        &r,
        "SELECT CAST(r.id AS BIGINT) FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id \
         WHERE u.username = 'alice' AND r.name = 'app'",
    )
    .await;
    let enc = FieldEncrypter::new("test-database-secret").expect("encrypter");

    // Robot alice+ci with write on alice/app only.
    let robot_token = "R".repeat(64);
    let robot = r.user("alice+ci").await;
    exec(
        &r,
        &format!(
            "UPDATE \"user\" SET robot = true, password_hash = NULL WHERE id = {robot};
             INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated)
                  VALUES ({robot}, '{}', true);
             INSERT INTO repositorypermission (user_id, repository_id, role_id)
                  VALUES ({robot}, {app_id}, (SELECT id FROM role WHERE name = 'write'));",
            enc.encrypt(&robot_token, None).expect("enc")
        ),
    )
    .await;
    let (a, c) = grant(&r, "alice+ci", &robot_token, "repository:alice/app:push,pull").await;
    assert_eq!(a, acts(&["push", "pull"]));
    assert_eq!(c["sub"], "alice+ci");
    assert_eq!(c["context"]["entity_kind"], "robot");
    assert_eq!(c["context"]["entity_reference"], "alice+ci");
    let (a, _) = grant(&r, "alice+ci", &robot_token, "repository:alice/other:push,pull").await;
    assert!(a.is_empty(), "the robot has no role on alice/other: {a:?}");
    refused(&r, "alice+ci", &"X".repeat(64)).await;
    refused(&r, "alice+nobody", &robot_token).await;

    // $app: 60-character name + 60-character secret; expired tokens refused.
    let (name, secret) = ("N".repeat(60), "S".repeat(60));
    let (old_name, old_secret) = ("O".repeat(60), "P".repeat(60));
    exec(
        &r,
        &format!(
            "INSERT INTO appspecificauthtoken (user_id, uuid, title, created, expiration, token_name, token_secret)
                  VALUES ({alice}, 'app-uuid-1', 'ci', '2020-01-01 00:00:00', NULL, '{name}', '{}'),
                         ({alice}, 'app-uuid-2', 'old', '2020-01-01 00:00:00', '2021-01-01 00:00:00',
                          '{old_name}', '{}');",
            enc.encrypt(&secret, None).expect("enc"),
            enc.encrypt(&old_secret, None).expect("enc"),
        ),
    )
    .await;
    let (a, c) = grant(&r, "$app", &format!("{name}{secret}"), "repository:alice/app:push,pull").await;
    assert_eq!(a, acts(&["push", "pull"]));
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["context"]["entity_kind"], "appspecifictoken");
    assert_eq!(c["context"]["entity_reference"], "app-uuid-1");
    refused(&r, "$app", &format!("{old_name}{old_secret}")).await;
    refused(&r, "$app", &format!("{name}{}", "T".repeat(60))).await;

    // $token: a read delegate token on alice/app grants pull there and nothing anywhere else.
    let (tname, tcode) = ("a".repeat(32), "b".repeat(32));
    exec(
        &r,
        &format!(
            "INSERT INTO accesstoken (friendly_name, repository_id, created, role_id, temporary,
                                      token_code, token_name)
                  VALUES ('ci', {app_id}, '2020-01-01 00:00:00', (SELECT id FROM role WHERE name = 'read'),
                          false, '{}', '{tname}');",
            enc.encrypt(&tcode, None).expect("enc")
        ),
    )
    .await;
    let code = format!("{tname}{tcode}");
    let (a, c) = grant(&r, "$token", &code, "repository:alice/app:push,pull").await;
    assert_eq!(a, acts(&["pull"]), "a read token never pushes");
    assert_eq!(c["sub"], Value::Null, "Quay's sub for a delegate token");
    assert_eq!(c["context"]["entity_kind"], "token");
    assert_eq!(c["context"]["kind"], "token");
    assert_eq!(c["context"]["token"], code.as_str());
    let token = c["raw"].as_str().expect("raw").to_string();
    let resp = r.req(Method::GET, "/v2/alice/app/tags/list", Some(&token)).send().await.expect("tags");
    assert_eq!(resp.status(), 200, "the delegate token's JWT works on /v2 routes");
    let (a, _) = grant(&r, "$token", &code, "repository:alice/other:pull").await;
    assert!(a.is_empty(), "a delegate token is for its one repository: {a:?}");
    let (a, _) = grant(&r, "$token", &code, "repository:alice/brandnew:push").await;
    assert!(a.is_empty());
    assert_eq!(scalar(&r, "SELECT count(*) FROM repository WHERE name = 'brandnew'").await, 0);
    refused(&r, "$token", &format!("{tname}{}", "c".repeat(32))).await;
    refused(&r, "$token", "short").await;

    // $oauthtoken: 20-character name + bcrypt of the rest; roles capped by scope.
    let app = scalar(
        &r,
        &format!(
            "INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name,
                                           description, fully_migrated)
                  VALUES ('client', 'http://x', 'http://x', {alice}, 'ci', '', true)
               RETURNING CAST(id AS BIGINT)"
        ),
    )
    .await;
    let oauth = |uuid: &str, name: &str, rest: &str, scope: &str, expires: &str| {
        format!(
            "INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, token_type,
                                           expires_at, data, token_code, token_name)
                  VALUES ('{uuid}', {app}, {alice}, '{scope}', 'Bearer', '{expires}', '', '{}', '{name}');",
            bcrypt::hash(rest, 4).expect("bcrypt")
        )
    };
    let rest = "r".repeat(20);
    let (read_n, write_n, create_n, old_n) = ("1".repeat(20), "2".repeat(20), "3".repeat(20), "4".repeat(20));
    exec(
        &r,
        &[
            oauth("o-read", &read_n, &rest, "repo:read", "2999-01-01 00:00:00"),
            oauth("o-write", &write_n, &rest, "repo:read repo:write", "2999-01-01 00:00:00"),
            oauth("o-create", &create_n, &rest, "repo:write repo:create", "2999-01-01 00:00:00"),
            oauth("o-old", &old_n, &rest, "repo:admin", "2001-01-01 00:00:00"),
        ]
        .concat(),
    )
    .await;
    let (a, c) = grant(&r, "$oauthtoken", &format!("{read_n}{rest}"), "repository:alice/app:push,pull").await;
    assert_eq!(a, acts(&["pull"]), "repo:read caps alice's admin role at read");
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["context"]["entity_kind"], "oauthtoken");
    assert_eq!(c["context"]["entity_reference"], "o-read");
    assert_eq!(c["context"]["kind"], "oauth");
    assert_eq!(c["context"]["oauth"], "o-read");
    let (a, _) =
        grant(&r, "$oauthtoken", &format!("{write_n}{rest}"), "repository:alice/app:push,pull,*").await;
    assert_eq!(a, acts(&["push", "pull"]), "repo:write allows push, not admin");
    let (a, _) = grant(&r, "$oauthtoken", &format!("{write_n}{rest}"), "repository:bob/private:pull").await;
    assert!(a.is_empty(), "scopes never add to the user's own roles");
    let (a, _) = grant(&r, "$oauthtoken", &format!("{write_n}{rest}"), "repository:alice/new1:push").await;
    assert!(a.is_empty(), "creating needs repo:create");
    let (a, _) = grant(&r, "$oauthtoken", &format!("{create_n}{rest}"), "repository:alice/new2:push").await;
    assert_eq!(a, acts(&["push"]));
    assert_eq!(scalar(&r, "SELECT count(*) FROM repository WHERE name IN ('new1', 'new2')").await, 1);
    refused(&r, "$oauthtoken", &format!("{old_n}{rest}")).await;
    refused(&r, "$oauthtoken", &format!("{read_n}{}", "x".repeat(20))).await;
    let msg = refused(&r, "$oauthtoken", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").await;
    assert!(msg.contains("not supported"), "{msg}");

    // A user's password still works beside all of these.
    let (a, _) = grant(&r, "alice", PASSWORD, "repository:alice/app:push,pull,*").await;
    assert_eq!(a, acts(&["push", "pull", "*"]));
}

#[tokio::test]
async fn credentials_sqlite() {
    credentials(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn credentials_postgres() {
    credentials(Backend::Postgres, "creds").await;
}

/// CREATE_NAMESPACE_ON_PUSH: off (the default), a push into a missing namespace is granted
/// nothing and creates nothing; on, the namespace becomes an organization owned by the pusher
/// (e-mail derived from theirs), and the push goes through.
async fn namespace_on_push(backend: Backend, tag: &str) {
    let off = Registry::start(backend, &format!("{tag}off"), "").await;
    off.user("alice").await;
    let (a, _) = grant(&off, "alice", PASSWORD, "repository:neworg/app:push,pull").await;
    assert!(a.is_empty(), "{a:?}");
    assert_eq!(scalar(&off, "SELECT count(*) FROM \"user\" WHERE username = 'neworg'").await, 0);

    let r = Registry::start(backend, tag, "CREATE_NAMESPACE_ON_PUSH: true\n").await;
    let alice = r.user("alice").await;
    let (a, _) = grant(&r, "alice", PASSWORD, "repository:neworg/app:push,pull").await;
    assert_eq!(a, acts(&["push", "pull"]));
    let owned = scalar(
        &r,
        &format!(
            "SELECT count(*) FROM \"user\" o JOIN team t ON t.organization_id = o.id AND t.name = 'owners'
               JOIN teammember m ON m.team_id = t.id AND m.user_id = {alice}
               JOIN repository rp ON rp.namespace_user_id = o.id AND rp.name = 'app'
              WHERE o.username = 'neworg' AND o.organization AND o.email = 'alice+neworg@example.com'"
        ),
    )
    .await;
    assert_eq!(owned, 1);
    let token = r.token(Some("alice"), &["repository:neworg/app:push,pull"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let cd = r.push_blob("neworg/app", &token, config).await;
    let m = common::image_manifest((&cd, config.len()), &[], "");
    let resp = r.put_manifest("neworg/app", "v1", &token, common::OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), 201);

    // bob may not push into alice's new organization, nor create one under a user's name.
    r.user("bob").await;
    let (a, _) = grant(&r, "bob", PASSWORD, "repository:neworg/other:push").await;
    assert!(a.is_empty(), "{a:?}");
    let (a, _) = grant(&r, "bob", PASSWORD, "repository:alice/x:push").await;
    assert!(a.is_empty(), "{a:?}");
    assert_eq!(scalar(&r, "SELECT count(*) FROM repository WHERE name IN ('other', 'x')").await, 0);
}

#[tokio::test]
async fn namespace_on_push_sqlite() {
    namespace_on_push(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn namespace_on_push_postgres() {
    namespace_on_push(Backend::Postgres, "nsop").await;
}

/// Superusers (quay-data-model.md §6.4): `SUPER_USERS` get admin everywhere only with
/// `FEATURE_SUPERUSERS_FULL_ACCESS`; `GLOBAL_READONLY_SUPER_USERS` may pull and list everything,
/// never push (not even to their own repositories).
async fn superusers(backend: Backend, tag: &str) {
    let yaml =
        "SUPER_USERS: [root]\nFEATURE_SUPERUSERS_FULL_ACCESS: true\nGLOBAL_READONLY_SUPER_USERS: [auditor]\n";
    let r = Registry::start(backend, tag, yaml).await;
    for u in ["root", "auditor", "bob", "carol"] {
        r.user(u).await;
    }
    r.token(Some("bob"), &["repository:bob/private:push"]).await;
    let all = "repository:bob/private:push,pull,*";
    assert_eq!(grant(&r, "root", PASSWORD, all).await.0, acts(&["push", "pull", "*"]));
    assert_eq!(grant(&r, "auditor", PASSWORD, all).await.0, acts(&["pull"]));
    assert!(grant(&r, "carol", PASSWORD, all).await.0.is_empty());
    let (a, _) = grant(&r, "auditor", PASSWORD, "repository:auditor/own:push,pull").await;
    assert!(a.is_empty(), "a global read-only superuser never pushes, nor creates: {a:?}");
    assert_eq!(scalar(&r, "SELECT count(*) FROM repository WHERE name = 'own'").await, 0);
    let t = r.token(Some("auditor"), &["repository:bob/private:pull"]).await;
    let cat = r.get_json("/v2/_catalog", Some(&t)).await;
    assert!(cat["repositories"].as_array().expect("list").iter().any(|n| n == "bob/private"), "{cat}");
    let t = r.token(Some("carol"), &[]).await;
    let cat = r.get_json("/v2/_catalog", Some(&t)).await;
    assert_eq!(cat["repositories"], serde_json::json!([]));

    let plain = Registry::start(backend, &format!("{tag}plain"), "SUPER_USERS: [root]\n").await;
    plain.user("root").await;
    plain.user("bob").await;
    plain.token(Some("bob"), &["repository:bob/private:push"]).await;
    assert!(grant(&plain, "root", PASSWORD, all).await.0.is_empty(), "no full access by default");
}

#[tokio::test]
async fn superusers_sqlite() {
    superusers(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn superusers_postgres() {
    superusers(Backend::Postgres, "su").await;
}
