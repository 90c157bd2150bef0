//! The `/v2` authorization matrix (issue 14), on both backends, with and without
//! `FEATURE_SUPERUSERS_FULL_ACCESS`: 13 callers (anonymous, an outsider, team members with read
//! and with write, a user with a direct write grant, a `creator`-team member, an organization
//! admin, the owner, a robot with a direct grant, a robot in a team, a superuser, a global
//! read-only superuser, a disabled user) × a public and a private repository × what a registry
//! client does: the actions `/v2/auth` grants for `push,pull,*`, manifest, blob and tag-list
//! pulls, starting an upload, pushing a manifest, and creating a repository by pushing to it.
//! The expected outcome of every cell comes from Quay's rules (quay-data-model.md §6), written
//! once in [`Caller::role`]; zero escalations, and a refused push leaves nothing behind.

use super::common::{Backend, OCI_MANIFEST, PASSWORD, Registry, claims, exec, image_manifest, scalar};
use reqwest::Method;
use serde_json::{Value, json};

/// A caller and what Quay's rules give it: its role on `acme/private` and on `acme/public`
/// (0 none, 1 read, 2 write, 3 admin) and whether it may create repositories in `acme`.
struct Caller {
    name: &'static str,
    /// Basic credentials for `/v2/auth` (`None`: anonymous).
    login: Option<(String, String)>,
    private: u8,
    public: u8,
    create: bool,
    /// Refused at `/v2/auth` altogether (a disabled account).
    refused: bool,
}

impl Caller {
    fn role(&self, repo: &str) -> u8 {
        if repo == "public" { self.public } else { self.private }
    }
}

async fn api(r: &Registry, token: &str, method: Method, path: &str, body: Value) -> Value {
    let resp = r.req(method.clone(), path, Some(token)).json(&body).send().await.expect("api");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert!(status < 300, "setup {method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// `/v2/auth` for `scopes`: the token and the actions granted per scope.
async fn grant(r: &Registry, c: &Caller, scopes: &[&str]) -> Option<(String, Vec<Vec<String>>)> {
    let resp = match &c.login {
        Some((u, p)) => r.auth(Some(u), p, scopes).await,
        None => r.auth(None, "", scopes).await,
    };
    if resp.status() != 200 {
        return None;
    }
    let token = resp.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string();
    let access = claims(&token)["access"].as_array().cloned().unwrap_or_default();
    let actions = access
        .iter()
        .map(|a| {
            a["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .collect();
    Some((token, actions))
}

async fn matrix(backend: Backend, full_access: bool) {
    let config = format!(
        "SUPER_USERS: [root]\nGLOBAL_READONLY_SUPER_USERS: [auditor]\nFEATURE_USER_INITIALIZE: true\n\
         SECRET_KEY: \"v2-matrix\"\nFEATURE_SUPERUSERS_FULL_ACCESS: {full_access}\n"
    );
    let r = Registry::start(backend, "v2matrix", &config).await;
    let owner = r.initialize_admin().await;
    for name in
        ["outsider", "member", "teamwriter", "writer", "creator", "orgadmin", "root", "auditor", "disabled"]
    {
        r.user(name).await;
    }
    let put = Method::PUT;
    api(
        &r,
        &owner,
        Method::POST,
        "/api/v1/organization/",
        json!({"name": "acme", "email": "acme@example.com"}),
    )
    .await;
    for (team, role) in
        [("admins", "admin"), ("creators", "creator"), ("readers", "member"), ("writers", "member")]
    {
        api(
            &r,
            &owner,
            put.clone(),
            &format!("/api/v1/organization/acme/team/{team}"),
            json!({"role": role}),
        )
        .await;
    }
    for visibility in ["private", "public"] {
        let body = json!({"namespace": "acme", "repository": visibility, "visibility": visibility, "description": ""});
        api(&r, &owner, Method::POST, "/api/v1/repository", body).await;
    }
    let bot = api(&r, &owner, put.clone(), "/api/v1/organization/acme/robots/bot", json!({})).await;
    let reader_bot = api(&r, &owner, put.clone(), "/api/v1/organization/acme/robots/reader", json!({})).await;
    for (team, member) in [
        ("admins", "orgadmin"),
        ("creators", "creator"),
        ("readers", "member"),
        ("readers", "acme+reader"),
        ("writers", "teamwriter"),
    ] {
        api(
            &r,
            &owner,
            put.clone(),
            &format!("/api/v1/organization/acme/team/{team}/members/{member}"),
            json!({}),
        )
        .await;
    }
    for (kind, who, role) in [
        ("team", "readers", "read"),
        ("team", "writers", "write"),
        ("user", "writer", "write"),
        ("user", "acme+bot", "write"),
        ("user", "disabled", "write"),
    ] {
        let path = format!("/api/v1/repository/acme/private/permissions/{kind}/{who}");
        api(&r, &owner, put.clone(), &path, json!({"role": role})).await;
    }
    exec(&r, "UPDATE \"user\" SET enabled = false WHERE username = 'disabled'").await;
    // Each repository holds an image `v1`, pushed by the owner.
    let push_token = r
        .token(Some("admin"), &["repository:acme/private:push,pull", "repository:acme/public:push,pull"])
        .await;
    let cfg = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer = b"a layer of acme's image".to_vec();
    let mut blob = String::new();
    for repo in ["private", "public"] {
        let dc = r.push_blob(&format!("acme/{repo}"), &push_token, &cfg).await;
        blob = r.push_blob(&format!("acme/{repo}"), &push_token, &layer).await;
        let m = image_manifest((&dc, cfg.len()), &[(&blob, layer.len())], "");
        assert_eq!(
            r.put_manifest(&format!("acme/{repo}"), "v1", &push_token, OCI_MANIFEST, &m).await.status(),
            201
        );
    }
    let manifest = image_manifest((&super::common::digest(&cfg), cfg.len()), &[(&blob, layer.len())], "");

    let user = |name: &'static str, private: u8, public: u8, create: bool| Caller {
        name,
        login: Some((name.to_string(), PASSWORD.to_string())),
        private,
        public,
        create,
        refused: false,
    };
    let robot = |name: &'static str, token: &Value, private: u8| Caller {
        name,
        login: Some((name.to_string(), token["token"].as_str().expect("robot token").to_string())),
        private,
        public: 1,
        create: false,
        refused: false,
    };
    // Full access makes a superuser admin on every repository, but creating by push still needs
    // `CreateRepositoryPermission` in the namespace, as in Quay's `/v2/auth` (docs/compat.md).
    let root = if full_access { user("root", 3, 3, false) } else { user("root", 0, 1, false) };
    let callers = vec![
        Caller { name: "anonymous", login: None, private: 0, public: 1, create: false, refused: false },
        user("outsider", 0, 1, false),
        user("member", 1, 1, false),
        user("teamwriter", 2, 1, false),
        user("writer", 2, 1, false),
        user("creator", 0, 1, true),
        user("orgadmin", 3, 3, true),
        Caller { login: Some(("admin".into(), PASSWORD.into())), ..user("owner", 3, 3, true) },
        robot("acme+bot", &bot, 2),
        robot("acme+reader", &reader_bot, 1),
        root,
        user("auditor", 1, 1, false),
        Caller { refused: true, ..user("disabled", 0, 0, false) },
    ];

    let mut wrong = Vec::new();
    let mut checked = 0;
    for c in &callers {
        let scopes = ["repository:acme/private:push,pull,*", "repository:acme/public:push,pull,*"];
        let who = c.name.replace('+', "-");
        let new_repo = format!("repository:acme/new-{who}:push");
        let granted = grant(&r, c, &[scopes[0], scopes[1], &new_repo]).await;
        checked += 1;
        let Some((token, actions)) = granted else {
            if !c.refused {
                wrong.push(format!("{}: /v2/auth refused", c.name));
            }
            continue;
        };
        if c.refused {
            wrong.push(format!("{}: /v2/auth granted a token to a disabled account", c.name));
            continue;
        }
        for (i, repo) in ["private", "public"].iter().enumerate() {
            let role = c.role(repo);
            let mut want: Vec<String> = Vec::new();
            if role >= 2 {
                want.push("push".into());
            }
            if role >= 1 {
                want.push("pull".into());
            }
            if role >= 3 {
                want.push("*".into());
            }
            let mut got = actions[i].clone();
            got.sort();
            want.sort();
            checked += 1;
            if got != want {
                wrong.push(format!("{} on acme/{repo}: granted {got:?}, want {want:?}", c.name));
            }
            let base = format!("/v2/acme/{repo}");
            let reads =
                [format!("{base}/manifests/v1"), format!("{base}/blobs/{blob}"), format!("{base}/tags/list")];
            for path in reads {
                let status =
                    r.req(Method::GET, &path, Some(&token)).send().await.expect("GET").status().as_u16();
                let want = if role >= 1 { 200 } else { 401 };
                checked += 1;
                if status != want {
                    wrong.push(format!("{} GET {path}: {status}, want {want}", c.name));
                }
            }
            let start = r
                .req(Method::POST, &format!("{base}/blobs/uploads/"), Some(&token))
                .send()
                .await
                .expect("POST");
            let put = r
                .req(Method::PUT, &format!("{base}/manifests/t-{who}"), Some(&token))
                .header("content-type", OCI_MANIFEST)
                .body(manifest.clone())
                .send()
                .await
                .expect("PUT");
            for (what, status, ok) in [
                ("start upload", start.status().as_u16(), 202),
                ("push manifest", put.status().as_u16(), 201),
            ] {
                let want = if role >= 2 { ok } else { 401 };
                checked += 1;
                if status != want {
                    wrong.push(format!("{} {what} on acme/{repo}: {status}, want {want}", c.name));
                }
            }
        }
        let create = actions[2].contains(&"push".to_string());
        checked += 1;
        if create != c.create {
            wrong.push(format!("{} create acme/new-{who}: granted {create}, want {}", c.name, c.create));
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} cells wrong:\n{}", wrong.len(), wrong.join("\n"));
    // Exactly the allowed pushes wrote tags, and exactly the allowed creators made repositories.
    let writers = callers.iter().filter(|c| !c.refused && c.private >= 2).count() as i64
        + callers.iter().filter(|c| !c.refused && c.public >= 2).count() as i64;
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM tag WHERE name LIKE 't-%'").await, writers);
    let creators = callers.iter().filter(|c| c.create).count() as i64;
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM repository WHERE name LIKE 'new-%'").await, creators);
    eprintln!("v2 matrix (full access {full_access}): {checked} cells checked");
}

#[tokio::test]
async fn v2_matrix_sqlite() {
    matrix(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn v2_matrix_postgres() {
    matrix(Backend::Postgres, false).await;
}

#[tokio::test]
async fn v2_matrix_full_access_superuser_sqlite() {
    matrix(Backend::Sqlite, true).await;
}

#[tokio::test]
async fn v2_matrix_full_access_superuser_postgres() {
    matrix(Backend::Postgres, true).await;
}
