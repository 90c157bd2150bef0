//! Accounts as `quay init` and authentication need them: one statement each, the same text on
//! both backends (`sql/store/users.sql`).

use super::query::{Access, boolean, first, int, text};
use super::{NewUser, Store, StoreError, UserCredentials};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;
use quay_core::users::{NewOAuthToken, NewPerson};

const SQL: &str = include_str!("../../../sql/store/users.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

impl Store {
    /// Inserts a user. `Ok(false)` when the username is already taken (nothing changed).
    pub async fn insert_user(&self, u: &NewUser) -> Result<bool, StoreError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let rows = self
            .write_rows(
                sql("insert_user"),
                vec![
                    Value::text(uuid),
                    Value::text(&u.username),
                    Value::text(&u.password_hash),
                    Value::text(&u.email),
                    Value::Int(u.removed_tag_expiration_s),
                    Value::text(super::utc_now_naive()),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    pub async fn user_credentials(&self, username: &str) -> Result<Option<UserCredentials>, StoreError> {
        let rows = self.rows(sql("user_credentials"), vec![Value::text(username)]).await?;
        Ok(first(rows, |r| {
            Some(UserCredentials {
                id: int(r, 0)?,
                username: text(r, 1)?,
                password_hash: text(r, 2),
                enabled: boolean(r, 3),
                organization: boolean(r, 4),
                robot: boolean(r, 5),
                failed_logins: int(r, 6).unwrap_or(0),
                since_failed_login_ms: int(r, 7),
            })
        }))
    }

    /// A wrong password (counted after its check; see [`Store::login_claim`] for accounts that
    /// already failed). A failure to count is logged, not raised.
    pub async fn login_failed(&self, user_id: i64) {
        if let Err(e) = self.write_rows(sql("login_failed"), vec![Value::Int(user_id)]).await {
            tracing::warn!(error = %e, user_id, "failed login not counted");
        }
    }

    /// Counts a password attempt before its check, unless another was counted since `seen`
    /// wrong ones were read: `false` means another attempt holds this back-off step (answer as
    /// throttled). A database that cannot count (read-only) lets the attempt through.
    pub async fn login_claim(&self, user_id: i64, seen: i64) -> bool {
        match self.write_rows(sql("login_claim"), vec![Value::Int(user_id), Value::Int(seen)]).await {
            Ok(rows) => !rows.is_empty(),
            Err(e) => {
                tracing::warn!(error = %e, user_id, "login attempt not counted");
                true
            }
        }
    }

    /// A good password after wrong ones: the back-off starts over.
    pub async fn login_reset(&self, user_id: i64) {
        if let Err(e) = self.write_rows(sql("login_reset"), vec![Value::Int(user_id)]).await {
            tracing::warn!(error = %e, user_id, "login back-off not reset");
        }
    }

    /// The earliest-created enabled database user (not an organization or robot): mirror mode's
    /// superuser when no config names one.
    pub async fn first_user(&self) -> Result<Option<String>, StoreError> {
        let rows = self.rows(sql("first_user"), vec![]).await?;
        Ok(first(rows, |r| text(r, 0)))
    }
}

/// An account (person, organization or robot) as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub email: String,
    pub enabled: bool,
    pub verified: bool,
    pub organization: bool,
    pub robot: bool,
    pub has_password: bool,
    pub company: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub location: Option<String>,
    pub invoice_email: bool,
    pub invoice_email_address: Option<String>,
    pub removed_tag_expiration_s: i64,
}

fn account(r: &quay_core::exec::Row) -> Option<Account> {
    Some(Account {
        id: int(r, 0)?,
        uuid: text(r, 1).unwrap_or_default(),
        username: text(r, 2)?,
        email: text(r, 3).unwrap_or_default(),
        enabled: boolean(r, 4),
        verified: boolean(r, 5),
        organization: boolean(r, 6),
        robot: boolean(r, 7),
        has_password: boolean(r, 8),
        company: text(r, 9),
        family_name: text(r, 10),
        given_name: text(r, 11),
        location: text(r, 12),
        invoice_email: boolean(r, 13),
        invoice_email_address: text(r, 14),
        removed_tag_expiration_s: int(r, 15).unwrap_or(1_209_600),
    })
}

/// An organization a user belongs to, with the user's best team role there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub can_create: bool,
}

impl Store {
    pub async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        Ok(first(self.rows(sql("account_by_name"), vec![Value::text(name)]).await?, account))
    }

    pub async fn account_by_uuid(&self, uuid: &str) -> Result<Option<Account>, StoreError> {
        Ok(first(self.rows(sql("account_by_uuid"), vec![Value::text(uuid)]).await?, account))
    }

    /// People (not organizations or robots) with ids after `after_id`, in id order.
    pub async fn people_page(&self, after_id: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
        let rows = self
            .statement(Access::Scan, sql("people_page"), vec![Value::Int(after_id), Value::Int(limit)])
            .await?;
        Ok(rows.iter().filter_map(account).collect())
    }

    pub async fn user_organizations(&self, user_id: i64) -> Result<Vec<Membership>, StoreError> {
        let rows = self.statement(Access::Scan, sql("user_organizations"), vec![Value::Int(user_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let rank = int(r, 2).unwrap_or(0);
                Some(Membership {
                    name: text(r, 0)?,
                    email: text(r, 1).unwrap_or_default(),
                    is_admin: rank >= 2,
                    can_create: rank >= 1,
                })
            })
            .collect())
    }

    /// Creates a person and writes `log` in the same transaction (`quay.user_create`).
    pub async fn person_create(
        &self,
        username: &str,
        email: &str,
        password_hash: Option<&str>,
        removed_tag_expiration_s: i64,
        log: Option<LogEntry>,
    ) -> Result<i64, StoreError> {
        let (u, e, h) = (username.to_string(), email.to_string(), password_hash.map(str::to_string));
        let log_json = log.as_ref().map(LogEntry::to_json);
        self.call(
            Access::Write,
            "SELECT quay.user_create($1, $2, $3, $4, true, $5)",
            vec![
                Value::text(username),
                Value::text(email),
                Value::opt_text(password_hash),
                Value::Int(removed_tag_expiration_s),
                Value::opt_text(log_json.as_deref()),
            ],
            move |ex| {
                let p = NewPerson {
                    username: &u,
                    email: &e,
                    password_hash: h.as_deref(),
                    removed_tag_expiration_s,
                    verified: true,
                };
                quay_core::users::create(ex, &p, log.as_ref())
            },
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    /// Sets a person's password hash and writes `log` in the same transaction.
    pub async fn person_set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        log: Option<LogEntry>,
    ) -> Result<(), StoreError> {
        let h = password_hash.to_string();
        let log_json = log.as_ref().map(LogEntry::to_json);
        self.call(
            Access::Write,
            "SELECT quay.user_set_password($1, $2, $3)::text",
            vec![Value::Int(user_id), Value::text(password_hash), Value::opt_text(log_json.as_deref())],
            move |ex| quay_core::users::set_password(ex, user_id, &h, log.as_ref()),
            |_| Some(()),
        )
        .await
    }

    /// The first user of an empty database, optionally with an OAuth token
    /// (`quay.user_initialize`). Returns the user id and the token's row id.
    pub async fn initialize_first_user(
        &self,
        username: &str,
        email: &str,
        password_hash: &str,
        removed_tag_expiration_s: i64,
        token: Option<(String, String, String)>,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let (u, e, h) = (username.to_string(), email.to_string(), password_hash.to_string());
        let (name, code, scope) = match &token {
            Some((n, c, s)) => (Some(n.clone()), Some(c.clone()), Some(s.clone())),
            None => (None, None, None),
        };
        self.call(
            Access::Write,
            "SELECT user_id, token_id FROM quay.user_initialize($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Value::text(username),
                Value::text(email),
                Value::text(password_hash),
                Value::Int(removed_tag_expiration_s),
                Value::opt_text(name.as_deref()),
                Value::opt_text(code.as_deref()),
                Value::opt_text(scope.as_deref()),
            ],
            move |ex| {
                let p = NewPerson {
                    username: &u,
                    email: &e,
                    password_hash: Some(&h),
                    removed_tag_expiration_s,
                    verified: true,
                };
                let t = token.as_ref().map(|(n, c, s)| NewOAuthToken {
                    token_name: n,
                    token_code_hash: c,
                    scope: s,
                    lifetime_s: INITIALIZE_TOKEN_LIFETIME_S,
                    application_description: "Application token generated via /api/v1/user/initialize",
                });
                quay_core::users::initialize(ex, &p, t.as_ref())
            },
            |rows| first(rows, |r| Some((int(r, 0)?, int(r, 1)))),
        )
        .await
    }

    /// Writes one action log row on its own (an action that changes nothing else, e.g. a
    /// sign-in).
    pub async fn log_action(&self, entry: LogEntry) -> Result<(), StoreError> {
        let json = entry.to_json();
        self.call(
            Access::Write,
            "SELECT quay.log_action($1)::text",
            vec![Value::text(json)],
            move |ex| quay_core::logs::record(ex, &entry, None),
            |_| Some(()),
        )
        .await
    }
}

impl Store {
    /// Changes a person's own account (`quay.user_update`), each change logged.
    pub async fn person_update(
        &self,
        user_id: i64,
        changes: quay_core::users::PersonChanges,
        log: quay_core::logs::LogEntry,
    ) -> Result<(), StoreError> {
        let (c, json) = (changes.to_json(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.user_update($1, $2, $3)::text",
            vec![Value::Int(user_id), Value::text(c), Value::text(json)],
            move |ex| quay_core::users::update(ex, user_id, &changes, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}

/// How long the token of `/api/v1/user/initialize` lives: ten years (Quay's is 2.5 hours, too
/// short for the automation it is meant for; docs/compat.md).
pub const INITIALIZE_TOKEN_LIFETIME_S: i64 = 10 * 365 * 24 * 3600;
