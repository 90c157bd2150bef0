//! The `/api/v1` permission matrix on both backends: every kind of caller (organization owner,
//! organization admin, team members with the `creator` and `member` roles, a user with a direct
//! grant, an outsider, a robot presenting its token, anonymous, a superuser with and without
//! `FEATURE_SUPERUSERS_FULL_ACCESS`) × a public and a private repository × repository, organization
//! and superuser routes, against Quay's rules (`quay-data-model.md` §6): read = any grant or
//! public; write = write/admin grant; admin = admin grant, admin team or owner; organization
//! member = in any team; create = an `admin` or `creator` team; refused callers get 401 when
//! anonymous and 403 otherwise. Each caller is a browser session (CSRF token and cookie), so the
//! session path is what is checked; the superuser uses the OAuth token from `/user/initialize`.

use super::common::{Backend, PASSWORD, Registry, scalar};
use reqwest::Method;
use serde_json::{Value, json};

/// A signed-in browser: the cookies it holds and its CSRF token.
#[derive(Default, Clone)]
struct Browser {
    cookies: Vec<(String, String)>,
    csrf: Option<String>,
}

impl Browser {
    fn absorb(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) =
                v.to_str().ok().and_then(|s| s.split(';').next()).and_then(|nv| nv.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != name.trim());
            self.cookies.push((name.trim().to_string(), value.trim().to_string()));
        }
        if let Some(t) = resp.headers().get("x-next-csrf-token").and_then(|v| v.to_str().ok()) {
            self.csrf = Some(t.to_string());
        }
    }

    fn apply(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if !self.cookies.is_empty() {
            let c = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
            req = req.header(reqwest::header::COOKIE, c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        req
    }
}

/// How a caller authenticates.
#[derive(Clone)]
enum Cred {
    Session(Browser),
    Bearer(String),
    /// HTTP Basic (ignored by the API, as in Quay).
    Basic(String, String),
    Anonymous,
}

async fn send(r: &Registry, cred: &Cred, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = r.http.request(method, format!("{}{path}", r.url));
    req = match cred {
        Cred::Session(b) => b.apply(req),
        Cred::Bearer(t) => req.bearer_auth(t),
        Cred::Basic(u, p) => req.basic_auth(u, Some(p)),
        Cred::Anonymous => req,
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Signs `name` in as a browser does: `/csrf_token`, then `POST /api/v1/signin` with it.
async fn sign_in(r: &Registry, name: &str) -> Browser {
    let mut b = visitor(r).await;
    let resp = b
        .apply(r.http.post(format!("{}/api/v1/signin", r.url)))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("signin");
    assert_eq!(resp.status(), 200, "sign in {name}");
    b.absorb(&resp);
    b
}

/// A browser with a CSRF token and no sign-in.
async fn visitor(r: &Registry) -> Browser {
    let mut b = Browser::default();
    let resp = r.http.get(format!("{}/csrf_token", r.url)).send().await.expect("csrf");
    b.absorb(&resp);
    let body: Value = resp.json().await.expect("csrf json");
    b.csrf = body["csrf_token"].as_str().map(str::to_string);
    b
}

/// What an action needs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    Read,
    Write,
    Admin,
    OrgMember,
    OrgAdmin,
    OrgCreate,
    Superuser,
}

/// A caller's standing in organization `acme`, on each repository, and as a superuser.
#[derive(Clone, Copy)]
struct Standing {
    /// Role on `acme/private`: 0 none, 1 read, 2 write, 3 admin.
    private: u8,
    /// Role on `acme/public` (read for everyone, admin for organization admins).
    public: u8,
    org_member: bool,
    org_admin: bool,
    org_create: bool,
    superuser: bool,
    anonymous: bool,
}

impl Standing {
    const fn of(private: u8, org_member: bool, org_admin: bool, org_create: bool) -> Standing {
        let public = if org_admin { 3 } else { 1 };
        Standing { private, public, org_member, org_admin, org_create, superuser: false, anonymous: false }
    }

    fn allows(&self, need: Need, public: bool) -> bool {
        let role = if public { self.public } else { self.private };
        match need {
            Need::Read => role >= 1,
            Need::Write => role >= 2,
            Need::Admin => role >= 3,
            Need::OrgMember => self.org_member,
            Need::OrgAdmin => self.org_admin,
            Need::OrgCreate => self.org_create,
            Need::Superuser => self.superuser,
        }
    }
}

struct Action {
    need: Need,
    method: Method,
    /// `{repo}` is replaced by the repository's name, `{who}` by the caller's.
    path: &'static str,
    body: Option<Value>,
    /// The status when allowed.
    ok: u16,
}

fn actions() -> Vec<Action> {
    let a = |need, method, path, body, ok| Action { need, method, path, body, ok };
    vec![
        a(Need::Read, Method::GET, "/api/v1/repository/acme/{repo}", None, 200),
        a(Need::Read, Method::GET, "/api/v1/repository/acme/{repo}/tag/", None, 200),
        a(Need::Write, Method::DELETE, "/api/v1/repository/acme/{repo}/tag/missing", None, 404),
        a(Need::Write, Method::PUT, "/api/v1/repository/acme/{repo}", Some(json!({"description": "d"})), 200),
        a(Need::Admin, Method::GET, "/api/v1/repository/acme/{repo}/permissions/user/", None, 200),
        a(Need::Admin, Method::GET, "/api/v1/repository/acme/{repo}/permissions/team/", None, 200),
        a(Need::Admin, Method::GET, "/api/v1/repository/acme/{repo}/notification/", None, 200),
        a(Need::Admin, Method::GET, "/api/v1/repository/acme/{repo}/logs", None, 200),
        a(Need::OrgMember, Method::GET, "/api/v1/organization/acme/robots", None, 200),
        a(Need::OrgAdmin, Method::GET, "/api/v1/organization/acme/members", None, 200),
        a(Need::OrgAdmin, Method::GET, "/api/v1/organization/acme/prototypes", None, 200),
        a(Need::OrgAdmin, Method::GET, "/api/v1/organization/acme/logs", None, 200),
        a(Need::OrgAdmin, Method::GET, "/api/v1/organization/acme/robots/bot/permissions", None, 200),
        a(
            Need::OrgAdmin,
            Method::PUT,
            "/api/v1/organization/acme/team/t{who}",
            Some(json!({"role": "member"})),
            200,
        ),
        a(
            Need::OrgCreate,
            Method::POST,
            "/api/v1/repository",
            Some(
                json!({"namespace": "acme", "repository": "new{who}", "visibility": "private", "description": ""}),
            ),
            201,
        ),
        a(Need::Superuser, Method::GET, "/api/v1/superuser/users/", None, 200),
    ]
}

async fn matrix(backend: Backend, full_access: bool) {
    let config = format!(
        "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"matrix-secret\"\n\
         FEATURE_SUPERUSERS_FULL_ACCESS: {full_access}\n"
    );
    let r = Registry::start(backend, "apimatrix", &config).await;
    let superuser = Cred::Bearer(r.initialize_admin().await);
    for name in ["owner", "orgadmin", "creator", "member", "writer", "outsider"] {
        r.user(name).await;
    }
    let owner = Cred::Session(sign_in(&r, "owner").await);
    let setup: Vec<(Method, String, Value, u16)> = vec![
        (
            Method::POST,
            "/api/v1/organization/".into(),
            json!({"name": "acme", "email": "acme@example.com"}),
            201,
        ),
        (Method::PUT, "/api/v1/organization/acme/team/admins".into(), json!({"role": "admin"}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/creators".into(), json!({"role": "creator"}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/readers".into(), json!({"role": "member"}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/admins/members/orgadmin".into(), json!({}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/creators/members/creator".into(), json!({}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/readers/members/member".into(), json!({}), 200),
        (
            Method::POST,
            "/api/v1/repository".into(),
            json!({"namespace": "acme", "repository": "private", "visibility": "private", "description": ""}),
            201,
        ),
        (
            Method::POST,
            "/api/v1/repository".into(),
            json!({"namespace": "acme", "repository": "public", "visibility": "public", "description": ""}),
            201,
        ),
        (
            Method::PUT,
            "/api/v1/repository/acme/private/permissions/team/readers".into(),
            json!({"role": "read"}),
            200,
        ),
        (
            Method::PUT,
            "/api/v1/repository/acme/private/permissions/user/writer".into(),
            json!({"role": "write"}),
            200,
        ),
        (Method::PUT, "/api/v1/organization/acme/robots/bot".into(), json!({}), 201),
        (
            Method::PUT,
            "/api/v1/repository/acme/private/permissions/user/acme+bot".into(),
            json!({"role": "admin"}),
            200,
        ),
    ];
    let mut robot_token = String::new();
    for (method, path, body, want) in setup {
        let (status, answer) = send(&r, &owner, method.clone(), &path, Some(body)).await;
        assert_eq!(status, want, "setup {method} {path}: {answer}");
        if path.ends_with("/robots/bot") {
            robot_token = answer["token"].as_str().expect("robot token").to_string();
        }
    }

    let mut su = Standing::of(0, false, false, false);
    su.superuser = true;
    if full_access {
        su = Standing { superuser: true, ..Standing::of(3, true, true, true) };
    }
    let anonymous = Standing { anonymous: true, ..Standing::of(0, false, false, false) };
    let callers: Vec<(&str, Cred, Standing)> = vec![
        ("owner", owner.clone(), Standing::of(3, true, true, true)),
        ("orgadmin", Cred::Session(sign_in(&r, "orgadmin").await), Standing::of(3, true, true, true)),
        ("creator", Cred::Session(sign_in(&r, "creator").await), Standing::of(0, true, false, true)),
        ("member", Cred::Session(sign_in(&r, "member").await), Standing::of(1, true, false, false)),
        ("writer", Cred::Session(sign_in(&r, "writer").await), Standing::of(2, false, false, false)),
        ("outsider", Cred::Session(sign_in(&r, "outsider").await), Standing::of(0, false, false, false)),
        ("admin", superuser, su),
        // The robot holds admin on acme/private, but the API ignores Basic credentials: it is
        // anonymous here.
        ("robot", Cred::Basic("acme+bot".into(), robot_token), anonymous),
        ("anonymous", Cred::Anonymous, anonymous),
        // A browser that fetched a CSRF token but never signed in: its writes pass the CSRF check
        // and are refused as anonymous.
        ("visitor", Cred::Session(visitor(&r).await), anonymous),
    ];

    let mut wrong = Vec::new();
    let mut checked = 0;
    for (who, cred, standing) in &callers {
        for action in actions() {
            let repos: &[&str] = if action.path.contains("{repo}") { &["public", "private"] } else { &["-"] };
            for repo in repos {
                let path = action.path.replace("{repo}", repo).replace("{who}", who);
                let allowed = standing.allows(action.need, *repo == "public");
                // Quay checks CSRF before anything else on a write without a bearer token: a
                // request with no session token is refused with 403 and `{"error": ...}`.
                let no_csrf =
                    matches!(cred, Cred::Anonymous | Cred::Basic(..)) && action.method != Method::GET;
                // Recorded Quay quirk (golden step 52): an anonymous create with a CSRF token is
                // refused with 400 "Must provide a namespace or must be logged in.".
                let quirk_52 = *who == "visitor" && action.path == "/api/v1/repository";
                let want = if no_csrf {
                    403
                } else if quirk_52 {
                    400
                } else if allowed {
                    action.ok
                } else if standing.anonymous {
                    401
                } else {
                    403
                };
                let body = action
                    .body
                    .as_ref()
                    .map(|b| serde_json::from_str(&b.to_string().replace("{who}", who)).expect("body"));
                let (status, body) = send(&r, cred, action.method.clone(), &path, body).await;
                checked += 1;
                if status != want {
                    wrong.push(format!("{who} {} {path}: want {want}, got {status} {body}", action.method));
                }
                // A refusal is Quay's error body, never the resource.
                let error_body = ["error_message", "message", "error"].iter().any(|k| body.get(k).is_some());
                if !allowed && !error_body {
                    wrong.push(format!(
                        "{who} {} {path}: refusal without an error body: {body}",
                        action.method
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} wrong:\n{}", wrong.len(), wrong.join("\n"));
    // Exactly the callers allowed to create made a repository, and no refused write left a row.
    let creators = callers.iter().filter(|(_, _, s)| s.allows(Need::OrgCreate, false)).count() as i64;
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM repository WHERE name LIKE 'new%'").await, creators);
    let admins = callers.iter().filter(|(_, _, s)| s.allows(Need::OrgAdmin, false)).count() as i64;
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM team WHERE name LIKE 't%'").await, admins);
}

#[tokio::test]
async fn permission_matrix_sqlite() {
    matrix(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn permission_matrix_postgres() {
    matrix(Backend::Postgres, false).await;
}

#[tokio::test]
async fn permission_matrix_full_access_superuser_sqlite() {
    matrix(Backend::Sqlite, true).await;
}

#[tokio::test]
async fn permission_matrix_full_access_superuser_postgres() {
    matrix(Backend::Postgres, true).await;
}

/// `PUT /api/v1/organization/{org}` and `DELETE .../members/{member}`: admins only; each change
/// logged; an e-mail in use refused with nothing written; a removed member loses its teams and
/// direct permissions; the only admin cannot be removed.
async fn organization_changes(backend: Backend) {
    let r = Registry::start(backend, "orgchanges", "SECRET_KEY: \"org-secret\"\n").await;
    for name in ["owner", "member", "other"] {
        r.user(name).await;
    }
    let owner = Cred::Session(sign_in(&r, "owner").await);
    let member = Cred::Session(sign_in(&r, "member").await);
    let steps: Vec<(Method, &str, Value, u16)> = vec![
        (Method::POST, "/api/v1/organization/", json!({"name": "acme", "email": "acme@example.com"}), 201),
        (Method::PUT, "/api/v1/organization/acme/team/devs", json!({"role": "member"}), 200),
        (Method::PUT, "/api/v1/organization/acme/team/devs/members/member", json!({}), 200),
        (
            Method::POST,
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""}),
            201,
        ),
        (Method::PUT, "/api/v1/repository/acme/app/permissions/user/member", json!({"role": "write"}), 200),
    ];
    for (method, path, body, want) in steps {
        let (status, answer) = send(&r, &owner, method.clone(), path, Some(body)).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
    }
    // A member is not an admin.
    let (status, _) =
        send(&r, &member, Method::PUT, "/api/v1/organization/acme", Some(json!({"tag_expiration_s": 1})))
            .await;
    assert_eq!(status, 403);
    // The admin changes the window and the e-mail; the view answers the new values.
    let (status, view) = send(
        &r,
        &owner,
        Method::PUT,
        "/api/v1/organization/acme",
        Some(json!({"tag_expiration_s": 3600, "email": "ops@example.com", "invoice_email": true})),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["tag_expiration_s"].as_i64(), view["email"].as_str()),
        (Some(3600), Some("ops@example.com"))
    );
    assert_eq!(view["invoice_email"], true);
    // Another account's e-mail is refused, and nothing of the request is written.
    let (status, body) = send(
        &r,
        &owner,
        Method::PUT,
        "/api/v1/organization/acme",
        Some(json!({"tag_expiration_s": 7, "email": "other@example.com"})),
    )
    .await;
    assert_eq!(
        (status, body["error_message"].as_str()),
        (400, Some("E-mail address already used")),
        "{body}"
    );
    assert_eq!(
        scalar(&r, "SELECT removed_tag_expiration_s FROM \"user\" WHERE username = 'acme'").await,
        3600
    );
    let (status, _) =
        send(&r, &owner, Method::PUT, "/api/v1/organization/acme", Some(json!({"tag_expiration_s": -1})))
            .await;
    assert_eq!(status, 400);
    let logged = scalar(
        &r,
        "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
         WHERE k.name IN ('org_change_email', 'org_change_tag_expiration', 'org_change_invoicing')",
    )
    .await;
    assert_eq!(logged, 3);
    // Removing the member: out of every team and every direct permission of the organization.
    let (status, _) =
        send(&r, &member, Method::DELETE, "/api/v1/organization/acme/members/owner", None).await;
    assert_eq!(status, 403);
    let (status, _) =
        send(&r, &owner, Method::DELETE, "/api/v1/organization/acme/members/member", None).await;
    assert_eq!(status, 204);
    let left = scalar(
        &r,
        "SELECT (SELECT COUNT(*) FROM teammember tm JOIN \"user\" u ON u.id = tm.user_id WHERE u.username = 'member') \
              + (SELECT COUNT(*) FROM repositorypermission p JOIN \"user\" u ON u.id = p.user_id WHERE u.username = 'member')",
    )
    .await;
    assert_eq!(left, 0);
    let (status, _) = send(&r, &member, Method::GET, "/api/v1/repository/acme/app", None).await;
    assert_eq!(status, 403);
    // The only admin stays.
    let (status, body) =
        send(&r, &owner, Method::DELETE, "/api/v1/organization/acme/members/owner", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_message"], "Cannot remove user as they are the only organization admin");
    let (status, _) =
        send(&r, &owner, Method::DELETE, "/api/v1/organization/acme/members/nobody", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn organization_changes_sqlite() {
    organization_changes(Backend::Sqlite).await;
}

#[tokio::test]
async fn organization_changes_postgres() {
    organization_changes(Backend::Postgres).await;
}

/// Quay's login back-off on both password logins (`/v2/auth` basic auth and
/// `POST /api/v1/signin`): after a wrong password even the right one is refused with Quay's 429
/// (plain text, `Retry-After`) until 0.5 s × (2^n − 1) have passed; refused tries are not counted;
/// a good login starts the count over; robot tokens are not throttled.
async fn login_backoff(backend: Backend) {
    let config = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"backoff\"\n";
    let r = Registry::start(backend, "backoff", config).await;
    let _admin = r.initialize_admin().await;
    r.user("alice").await;
    let attempts =
        || scalar(&r, "SELECT CAST(invalid_login_attempts AS BIGINT) FROM \"user\" WHERE username = 'alice'");

    // Many logins at once with the right password all pass (a freshly started pod has no
    // cache of verified passwords; CI's crash test caught these being throttled).
    let logins: Vec<_> = (0..16).map(|_| r.auth(Some("alice"), PASSWORD, &[])).collect();
    let statuses: Vec<u16> =
        futures_util::future::join_all(logins).await.iter().map(|x| x.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(r.auth(Some("alice"), "wrong", &[]).await.status(), 401);
    assert_eq!(attempts().await, 1);
    let resp = r.auth(Some("alice"), PASSWORD, &[]).await;
    assert_eq!(resp.status(), 429, "the right password waits too");
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert!(resp.text().await.expect("body").starts_with("Too many login attempts."));
    assert_eq!(r.auth(Some("alice"), "wrong", &[]).await.status(), 429);
    assert_eq!(attempts().await, 1, "refused tries are not counted");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(r.auth(Some("alice"), PASSWORD, &[]).await.status(), 200);
    assert_eq!(attempts().await, 0, "a good login starts over");

    // Two wrong passwords in a row (the second after the first back-off): 1.5 s now.
    assert_eq!(r.auth(Some("alice"), "wrong", &[]).await.status(), 401);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(r.auth(Some("alice"), "wrong", &[]).await.status(), 401);
    assert_eq!(attempts().await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    // The browser sign-in shares the count.
    let b = visitor(&r).await;
    let signin = |pw: &'static str| {
        let (r, b) = (&r, &b);
        async move {
            b.apply(r.http.post(format!("{}/api/v1/signin", r.url)))
                .json(&json!({"username": "alice", "password": pw}))
                .send()
                .await
                .expect("signin")
        }
    };
    let resp = signin(PASSWORD).await;
    assert_eq!(resp.status(), 429, "still inside 1.5 s");
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(signin(PASSWORD).await.status(), 200);
    assert_eq!(attempts().await, 0);
    let resp = signin("wrong").await;
    assert_eq!(resp.status(), 403);
    assert_eq!(attempts().await, 1);

    // Concurrent guesses cannot share a back-off step: of 8 at once, one is counted (401), the
    // others are throttled (429).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let guesses: Vec<_> = (0..8).map(|_| r.auth(Some("alice"), "wrong", &[])).collect();
    let statuses: Vec<u16> =
        futures_util::future::join_all(guesses).await.iter().map(|x| x.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");
    assert_eq!(attempts().await, 2);
    // A superuser setting the password starts the count over.
    let admin_token = &_admin;
    let resp = r
        .http
        .put(format!("{}/api/v1/superuser/users/alice", r.url))
        .bearer_auth(admin_token)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .expect("set password");
    assert_eq!(resp.status(), 200);
    assert_eq!(attempts().await, 0);
    assert_eq!(r.auth(Some("alice"), PASSWORD, &[]).await.status(), 200);

    // Robots log in with tokens: never throttled.
    for _ in 0..3 {
        assert_eq!(r.auth(Some("admin+nobody"), "not-a-token", &[]).await.status(), 401);
    }
}

#[tokio::test]
async fn login_backoff_sqlite() {
    login_backoff(Backend::Sqlite).await;
}

#[tokio::test]
async fn login_backoff_postgres() {
    login_backoff(Backend::Postgres).await;
}

/// One's own account through `/api/v1/user/`: PUT beyond the password (invoicing, e-mail,
/// tag expiration from the options, names with `FEATURE_USER_METADATA`; `username` ignored),
/// each change logged with Quay's kind, an e-mail another person uses refused with nothing
/// changed; POST creates an account and signs it in; DELETE refuses an organization's only admin
/// with Quay's message and deletes the account otherwise.
async fn own_account(backend: Backend) {
    let config = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"own\"\nFEATURE_USER_METADATA: true\n";
    let r = Registry::start(backend, "ownaccount", config).await;
    let admin = r.initialize_admin().await;
    let bearer = Cred::Bearer(admin.clone());
    let body = json!({"invoice_email": true, "email": "admin2@example.com", "tag_expiration_s": 604800,
                      "given_name": "Ada", "company": "ACME", "username": "renamed"});
    let (s, v) = send(&r, &bearer, Method::PUT, "/api/v1/user/", Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["username"], "admin", "username is not changed (no FEATURE_USER_RENAME)");
    assert_eq!((v["invoice_email"].clone(), v["email"].clone()), (json!(true), json!("admin2@example.com")));
    assert_eq!(
        (v["tag_expiration_s"].clone(), v["given_name"].clone(), v["company"].clone()),
        (json!(604800), json!("Ada"), json!("ACME"))
    );
    assert_eq!(v["family_name"], Value::Null);
    let logged = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = '{kind}'"
        )
    };
    for kind in
        ["user_change_invoicing", "user_change_tag_expiration", "user_change_email", "user_change_metadata"]
    {
        assert_eq!(scalar(&r, &logged(kind)).await, 1, "{kind}");
    }
    let (s, v) =
        send(&r, &bearer, Method::PUT, "/api/v1/user/", Some(json!({"tag_expiration_s": 1234}))).await;
    assert_eq!((s, v), (400, json!({"message": "Invalid tag expiration option"})));
    r.user("bob").await;
    let bob_email = "bob@example.com";
    let (s, v) = send(
        &r,
        &bearer,
        Method::PUT,
        "/api/v1/user/",
        Some(json!({"invoice_email": false, "email": bob_email})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("E-mail address already used"), "{v}");
    let (_, me) = send(&r, &bearer, Method::GET, "/api/v1/user/", None).await;
    assert_eq!(me["invoice_email"], true, "nothing of a refused change is kept");

    // An organization's only admin cannot delete itself.
    let (s, _) = send(
        &r,
        &bearer,
        Method::POST,
        "/api/v1/organization/",
        Some(json!({"name": "acme", "email": "acme@example.com"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = send(&r, &bearer, Method::DELETE, "/api/v1/user/", None).await;
    assert_eq!(
        (s, v),
        (400, json!({"message": "Cannot delete admin as you are the only admin for organizations: acme"}))
    );

    // Anyone creates an account and is signed in by it; then deletes it.
    let mut b = visitor(&r).await;
    let post =
        |b: &Browser, body: Value| b.apply(r.http.post(format!("{}/api/v1/user/", r.url))).json(&body).send();
    let resp = post(&b, json!({"username": "carol", "password": "short"})).await.expect("post");
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text().await.expect("body").contains("Invalid password, password must be at least 8 characters")
    );
    let resp =
        post(&b, json!({"username": "carol", "password": "a-good-password", "email": "carol@example.com"}))
            .await
            .expect("post");
    assert_eq!(resp.status(), 200);
    b.absorb(&resp);
    let view: Value = resp.json().await.expect("json");
    assert_eq!(view["username"], "carol");
    let resp = post(&b, json!({"username": "carol", "password": "a-good-password"})).await.expect("post");
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.expect("body").contains("The username already exists"));
    let (s, me) = send(&r, &Cred::Session(b.clone()), Method::GET, "/api/v1/user/", None).await;
    assert_eq!((s, me["username"].clone()), (200, json!("carol")), "signed in by the creation");
    let (s, _) = send(&r, &Cred::Session(b.clone()), Method::DELETE, "/api/v1/user/", None).await;
    assert_eq!(s, 204);
    let (s, _) = send(&r, &Cred::Session(b), Method::GET, "/api/v1/user/", None).await;
    assert_eq!(s, 401, "the deleted account's session ends");
    assert_eq!(scalar(&r, &logged("user_delete")).await, 1);
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM \"user\" WHERE username = 'carol'").await, 0);
}

#[tokio::test]
async fn own_account_sqlite() {
    own_account(Backend::Sqlite).await;
}

#[tokio::test]
async fn own_account_postgres() {
    own_account(Backend::Postgres).await;
}
