//! Stored credentials: robot and app tokens, delegate and OAuth tokens, service keys (the registry
//! JWT signing keys). Statements of `sql/store/credentials.sql` run on either backend; every rule-
//! bearing write is a core function (SQLite) or the matching `quay.*` function (PostgreSQL).

use super::query::{boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::permissions::Role;

const SQL: &str = include_str!("../../../sql/store/credentials.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

/// A robot's stored token, or an app token's stored secret, with who it authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub user_id: i64,
    pub uuid: String,
    pub username: String,
    /// The field-encrypted secret (`v0$$…`).
    pub encrypted: String,
    /// Enabled, unexpired (and, for robots, the owner enabled).
    pub usable: bool,
}

/// A repository delegate token (`accesstoken`).
#[derive(Debug, Clone)]
pub struct StoredAccessToken {
    pub repository_id: i64,
    pub role: Option<Role>,
    /// The field-encrypted rest of the code.
    pub encrypted: String,
}

/// An OAuth access token (`oauthaccesstoken`) and its user.
#[derive(Debug, Clone)]
pub struct StoredOAuthToken {
    pub uuid: String,
    pub user_id: i64,
    pub username: String,
    pub user_enabled: bool,
    /// bcrypt of the rest of the token.
    pub code_hash: String,
    pub scope: String,
    pub unexpired: bool,
    /// The token's row id.
    pub id: i64,
    /// Its application's client id and name.
    pub client_id: Option<String>,
    pub application: Option<String>,
}

impl Store {
    /// A robot (`owner+name`) and its encrypted token.
    pub async fn robot_secret(&self, robot: &str) -> Result<Option<StoredSecret>, StoreError> {
        let Some((owner, _)) = robot.split_once('+') else { return Ok(None) };
        let rows = self.rows(sql("robot_token"), vec![Value::text(robot), Value::text(owner)]).await?;
        Ok(first(rows, |r| {
            Some(StoredSecret {
                user_id: int(r, 0)?,
                uuid: text(r, 1).unwrap_or_default(),
                username: robot.to_string(),
                usable: boolean(r, 2),
                encrypted: text(r, 3)?,
            })
        }))
    }

    /// A delegate token by its public first 32 characters.
    pub async fn access_token(&self, token_name: &str) -> Result<Option<StoredAccessToken>, StoreError> {
        let rows = self.rows(sql("access_token"), vec![Value::text(token_name)]).await?;
        Ok(first(rows, |r| {
            Some(StoredAccessToken {
                repository_id: int(r, 0)?,
                role: text(r, 1).as_deref().and_then(Role::parse),
                encrypted: text(r, 2)?,
            })
        }))
    }

    /// An OAuth access token by its public first 20 characters (`by_uuid`: by its uuid).
    pub async fn oauth_token(
        &self,
        key: &str,
        by_uuid: bool,
    ) -> Result<Option<StoredOAuthToken>, StoreError> {
        let q = if by_uuid { "oauth_token_by_uuid" } else { "oauth_token_by_name" };
        let rows = self.rows(sql(q), vec![Value::text(key)]).await?;
        Ok(first(rows, |r| {
            Some(StoredOAuthToken {
                uuid: text(r, 0)?,
                user_id: int(r, 1)?,
                username: text(r, 2)?,
                user_enabled: boolean(r, 3),
                code_hash: text(r, 4)?,
                scope: text(r, 5).unwrap_or_default(),
                unexpired: boolean(r, 6),
                id: int(r, 7)?,
                client_id: text(r, 8),
                application: text(r, 9),
            })
        }))
    }

    /// An app-specific token by its public first half (`by_uuid`: by its uuid).
    pub async fn app_token_secret(
        &self,
        key: &str,
        by_uuid: bool,
    ) -> Result<Option<StoredSecret>, StoreError> {
        let q = if by_uuid { "app_token_by_uuid" } else { "app_token" };
        let rows = self.rows(sql(q), vec![Value::text(key)]).await?;
        Ok(first(rows, |r| {
            Some(StoredSecret {
                user_id: int(r, 0)?,
                uuid: text(r, 1)?,
                username: text(r, 2)?,
                usable: boolean(r, 3) && boolean(r, 5),
                encrypted: text(r, 4)?,
            })
        }))
    }

    pub async fn user_uuid(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(first(self.rows(sql("user_uuid"), vec![Value::Int(user_id)]).await?, |r| text(r, 0)))
    }

    /// The public JWK of an approved, unexpired service key.
    pub async fn service_key_jwk(&self, kid: &str, service: &str) -> Result<Option<String>, StoreError> {
        let rows = self.rows(sql("servicekey_jwk"), vec![Value::text(kid), Value::text(service)]).await?;
        Ok(first(rows, |r| text(r, 0)))
    }

    /// Publishes this instance's key in `servicekey` (auto-approved, live for `expires_in_s`) so
    /// every pod accepts its tokens; a key already published (a stable key file) is renewed
    /// instead of inserted again.
    pub async fn service_key_register(
        &self,
        name: &str,
        kid: &str,
        service: &str,
        jwk: &str,
        expires_in_s: i64,
    ) -> Result<(), StoreError> {
        if self.service_key_renew(kid, service, expires_in_s).await? {
            return Ok(());
        }
        let approval = first(self.write_rows(sql("servicekey_approval"), vec![]).await?, |r| int(r, 0))
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("servicekeyapproval insert returned no id")))?;
        self.write_rows(
            sql("servicekey_insert"),
            vec![
                Value::text(name),
                Value::text(kid),
                Value::text(service),
                Value::text(jwk),
                Value::Int(approval),
                Value::Int(expires_in_s),
            ],
        )
        .await?;
        Ok(())
    }

    /// Moves key `kid`'s expiry to now + `expires_in_s`. `false` when the key is not (or no
    /// longer) in the table.
    pub async fn service_key_renew(
        &self,
        kid: &str,
        service: &str,
        expires_in_s: i64,
    ) -> Result<bool, StoreError> {
        let rows = self
            .write_rows(
                sql("servicekey_renew"),
                vec![Value::text(kid), Value::Int(expires_in_s), Value::text(service)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Housekeeping of `service`'s keys: rows this server wrote before keys expired get an expiry
    /// of `expires_in_s`; keys expired at least `keep_expired_s` ago are deleted with their
    /// automatic approvals. Returns how many keys were deleted.
    pub async fn service_keys_collect(
        &self,
        service: &str,
        expires_in_s: i64,
        keep_expired_s: i64,
    ) -> Result<usize, StoreError> {
        self.write_rows(
            sql("servicekey_expire_legacy"),
            vec![Value::text(service), Value::Int(expires_in_s)],
        )
        .await?;
        let gone = self
            .write_rows(
                sql("servicekey_gc"),
                vec![Value::text(service), Value::Int(keep_expired_s.saturating_neg())],
            )
            .await?;
        for approval in gone.iter().filter_map(|r| int(r, 0)) {
            self.write_rows(sql("servicekey_approval_gc"), vec![Value::Int(approval)]).await?;
        }
        Ok(gone.len())
    }
}
