//! Hostile registry tokens, on both backends (issue 14, "Token tampering"): every forged, edited,
//! stale or orphaned JWT is refused on `/v2` with 401 and Quay's generic `{"error": ...}` body
//! (never a 500, never a downgrade to anonymous), while the genuine token beside it keeps working.
//!
//! The forgeries: `alg: none`; HS256 keyed with the public key; a payload edited to widen
//! `access` under the original signature; a foreign key with our `kid` and with its own; expired,
//! not-yet-valid, issued-in-the-future and too-long-lived tokens; another audience and issuer;
//! malformed `access` entries; garbage. Tokens signed with our real key but naming someone
//! without a role (so the grant is checked again per request). Orphans: a deleted robot's, a
//! revoked app token's, a deleted user's and a disabled user's token.

use super::common::{Backend, Registry, claims, exec};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use quay_server::auth::jwt::{Claims, InstanceKey};
use reqwest::Method;
use serde_json::{Value, json};

const CONFIG: &str = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"tamper-secret\"\n";
const REPO: &str = "admin/private";

/// What `/v2` answered a token: the status and the error code.
async fn pull(r: &Registry, token: &str) -> (u16, String) {
    let resp = r.req(Method::GET, &format!("/v2/{REPO}/tags/list"), Some(token)).send().await.expect("pull");
    outcome(resp).await
}

async fn push(r: &Registry, token: &str) -> (u16, String) {
    let resp =
        r.req(Method::POST, &format!("/v2/{REPO}/blobs/uploads/"), Some(token)).send().await.expect("push");
    outcome(resp).await
}

async fn outcome(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let kind = match (body["errors"][0]["code"].as_str(), body["error"].as_str()) {
        (Some(code), _) => code.to_string(),
        (None, Some(_)) => "error".to_string(),
        _ => format!("unexpected body {body}"),
    };
    (status, kind)
}

/// A token that is not valid: Quay's generic abort, 401 `{"error": "..."}` (JWT processing
/// fails before any permission check).
fn invalid() -> (u16, String) {
    (401, "error".to_string())
}

/// A valid token that does not allow the action: 401 `UNAUTHORIZED` with a challenge.
fn refused() -> (u16, String) {
    (401, "UNAUTHORIZED".to_string())
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// A token from header and claims JSON with the given signature bytes.
fn assemble(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

/// HMAC-SHA256 over the signing input, keyed with `key` (the "public key as HS256 secret" attack).
fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let jwt_header = jsonwebtoken::Header {
        alg: jsonwebtoken::Algorithm::HS256,
        kid: header["kid"].as_str().map(str::to_string),
        ..Default::default()
    };
    jsonwebtoken::encode(&jwt_header, claims, &jsonwebtoken::EncodingKey::from_secret(key)).expect("hs256")
}

fn now() -> u64 {
    quay_server::auth::jwt::now_s()
}

/// `base` with `edit` applied, signed by `key`.
fn resign(key: &InstanceKey, base: &Value, edit: impl FnOnce(&mut Value)) -> String {
    let mut c = base.clone();
    edit(&mut c);
    key.sign(&serde_json::from_value::<Claims>(c).expect("claims")).expect("sign")
}

async fn api(r: &Registry, method: Method, path: &str, token: &str, body: Value) -> Value {
    let resp = r.req(method.clone(), path, Some(token)).json(&body).send().await.expect("api");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert!(status < 300, "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A new user `name` with read on [`REPO`]; its pull token.
async fn reader(r: &Registry, name: &str, admin_api: &str) -> String {
    r.user(name).await;
    let path = format!("/api/v1/repository/{REPO}/permissions/user/{name}");
    api(r, Method::PUT, &path, admin_api, json!({"role": "read"})).await;
    r.token(Some(name), &[&format!("repository:{REPO}:pull")]).await
}

async fn tampering(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, CONFIG).await;
    let admin_api = r.initialize_admin().await;
    // admin/private exists (created on push) and is private.
    let genuine = r.token(Some("admin"), &[&format!("repository:{REPO}:push,pull")]).await;
    assert_eq!(pull(&r, &genuine).await.0, 200);
    assert_eq!(push(&r, &genuine).await.0, 202);
    let pull_only = r.token(Some("admin"), &[&format!("repository:{REPO}:pull")]).await;
    assert_eq!(pull(&r, &pull_only).await.0, 200);
    assert_eq!(push(&r, &pull_only).await, refused(), "a pull token never pushes");

    let key = InstanceKey::from_pem(&std::fs::read_to_string(r.dir.path().join("quay.pem")).expect("pem"))
        .expect("instance key");
    let (other_key, _) = InstanceKey::generate().expect("another key");
    let base = claims(&genuine);
    let header: Value = {
        let part = genuine.split('.').next().expect("header");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
    };
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key.kid.as_str(), "tokens are signed by the key in the data directory");
    // Control: re-signing the genuine claims with our key is accepted, so every refusal below is
    // caused by the one thing each forgery changes.
    assert_eq!(pull(&r, &resign(&key, &base, |_| ())).await.0, 200);

    let signature = URL_SAFE_NO_PAD.decode(genuine.split('.').nth(2).expect("sig")).expect("b64");
    let mut widened = claims(&pull_only);
    widened["access"][0]["actions"] = json!(["push", "pull", "*"]);
    let sig_of_pull_only = URL_SAFE_NO_PAD.decode(pull_only.split('.').nth(2).expect("sig")).expect("b64");
    let t = now();
    let forged: Vec<(&str, String)> = vec![
        ("alg none", assemble(&json!({"alg": "none", "typ": "JWT", "kid": key.kid}), &base, b"")),
        ("alg None", assemble(&json!({"alg": "None", "typ": "JWT", "kid": key.kid}), &base, b"")),
        ("no alg", assemble(&json!({"typ": "JWT", "kid": key.kid}), &base, &signature)),
        ("HS256 keyed with the JWK", hs256(&header, &base, key.jwk.to_string().as_bytes())),
        ("HS256 keyed with the modulus", hs256(&header, &base, key.jwk["n"].as_str().expect("n").as_bytes())),
        ("widened access, original signature", assemble(&header, &widened, &sig_of_pull_only)),
        ("genuine claims, signature stripped", assemble(&header, &base, b"")),
        ("swapped kid: foreign key, our kid", {
            let t = other_key.sign(&serde_json::from_value::<Claims>(base.clone()).expect("c")).expect("s");
            let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
            parts[0] = b64(header.to_string().as_bytes());
            parts.join(".")
        }),
        ("another instance's unpublished key", resign(&other_key, &base, |_| ())),
        ("unknown kid", {
            let mut h = header.clone();
            h["kid"] = json!("not-a-key");
            assemble(&h, &base, &signature)
        }),
        (
            "expired",
            resign(&key, &base, |c| {
                c["iat"] = json!(t - 7200);
                c["nbf"] = json!(t - 7200);
                c["exp"] = json!(t - 3600);
            }),
        ),
        (
            "not yet valid",
            resign(&key, &base, |c| {
                c["nbf"] = json!(t + 600);
                c["exp"] = json!(t + 1200);
            }),
        ),
        (
            "issued in the future",
            resign(&key, &base, |c| {
                c["iat"] = json!(t + 600);
                c["nbf"] = json!(t);
                c["exp"] = json!(t + 1200);
            }),
        ),
        (
            "lifetime beyond REGISTRY_JWT_AUTH_MAX_FRESH_S",
            resign(&key, &base, |c| c["exp"] = json!(t + 86_400)),
        ),
        ("another audience", resign(&key, &base, |c| c["aud"] = json!("registry.example.com"))),
        ("another issuer", resign(&key, &base, |c| c["iss"] = json!("another-quay"))),
        ("no audience", resign(&key, &base, |c| c["aud"] = json!(""))),
        ("access of another type", resign(&key, &base, |c| c["access"][0]["type"] = json!("registry"))),
        ("unknown action", resign(&key, &base, |c| c["access"][0]["actions"] = json!(["admin"]))),
        (
            "sub of a user who never existed",
            resign(&key, &base, |c| {
                c["sub"] = json!("mallory");
                c["context"]["user"] = json!("mallory");
            }),
        ),
        ("garbage", "garbage".to_string()),
        ("three empty parts", "..".to_string()),
        ("non-JSON parts", "a.b.c".to_string()),
        ("huge kid", assemble(&json!({"alg": "RS256", "kid": "k".repeat(100_000)}), &base, &signature)),
    ];
    for (what, token) in &forged {
        assert_eq!(pull(&r, token).await, invalid(), "pull with {what}");
        assert_eq!(push(&r, token).await, invalid(), "push with {what}");
    }
    assert_eq!(pull(&r, &genuine).await.0, 200, "the genuine token still works");

    // Signed with our real key, naming bob who has no role on the repository: the grant in the
    // token is not enough, the role is checked per request.
    r.user("bob").await;
    let bobs = resign(&key, &base, |c| {
        c["sub"] = json!("bob");
        c["context"]["user"] = json!("bob");
        c["context"]["entity_reference"] = json!("bob");
    });
    assert_eq!(pull(&r, &bobs).await, refused(), "a signed grant without a role");
    assert_eq!(push(&r, &bobs).await, refused());

    // Orphans. A robot with write, its token used, then the robot deleted.
    let robot = api(&r, Method::PUT, "/api/v1/user/robots/ci", &admin_api, json!({})).await;
    let robot_secret = robot["token"].as_str().expect("robot token").to_string();
    api(
        &r,
        Method::PUT,
        &format!("/api/v1/repository/{REPO}/permissions/user/admin+ci"),
        &admin_api,
        json!({"role": "write"}),
    )
    .await;
    let resp = r.auth(Some("admin+ci"), &robot_secret, &[&format!("repository:{REPO}:push,pull")]).await;
    let robot_jwt = resp.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string();
    assert_eq!(push(&r, &robot_jwt).await.0, 202, "the robot pushes");
    let resp =
        r.req(Method::DELETE, "/api/v1/user/robots/ci", Some(&admin_api)).send().await.expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(pull(&r, &robot_jwt).await, invalid(), "a deleted robot's token");
    assert_eq!(push(&r, &robot_jwt).await, invalid());

    // An app token's JWT, then the app token revoked.
    let created = api(&r, Method::POST, "/api/v1/user/apptoken", &admin_api, json!({"title": "ci"})).await;
    let code = created["token"]["token_code"].as_str().expect("code").to_string();
    let uuid = created["token"]["uuid"].as_str().expect("uuid").to_string();
    let resp = r.auth(Some("$app"), &code, &[&format!("repository:{REPO}:push,pull")]).await;
    let app_jwt = resp.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string();
    assert_eq!(push(&r, &app_jwt).await.0, 202, "the app token pushes");
    let resp = r
        .req(Method::DELETE, &format!("/api/v1/user/apptoken/{uuid}"), Some(&admin_api))
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 204);
    assert_eq!(pull(&r, &app_jwt).await, invalid(), "a revoked app token's token");

    // A user with read, its token used, then the user deleted by a superuser.
    let carol_jwt = reader(&r, "carol", &admin_api).await;
    assert_eq!(pull(&r, &carol_jwt).await.0, 200);
    let resp = r
        .req(Method::DELETE, "/api/v1/superuser/users/carol", Some(&admin_api))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(pull(&r, &carol_jwt).await, invalid(), "a deleted user's token");

    // A user with read, disabled in the database before its token is first presented.
    let dave_jwt = reader(&r, "dave", &admin_api).await;
    exec(&r, "UPDATE \"user\" SET enabled = false WHERE username = 'dave'").await;
    assert_eq!(pull(&r, &dave_jwt).await, invalid(), "a disabled user's token");

    // A registry token is not an `/api/v1` credential.
    let resp = r.req(Method::GET, "/api/v1/user/", Some(&genuine)).send().await.expect("api");
    assert_eq!(resp.status(), 401, "a registry JWT on /api/v1");
}

#[tokio::test]
async fn tampering_sqlite() {
    tampering(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn tampering_postgres() {
    tampering(Backend::Postgres, "tamper").await;
}
