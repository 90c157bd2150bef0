//! Accounts as `quay init` and authentication need them: one statement each, the same text on
//! both backends (`sql/store/users.sql`).

use super::query::{boolean, first, int, text};
use super::{NewUser, Store, StoreError, UserCredentials};
use quay_core::exec::{Value, named};

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
            })
        }))
    }

    /// The earliest-created enabled database user (not an organization or robot): mirror mode's
    /// superuser when no config names one.
    pub async fn first_user(&self) -> Result<Option<String>, StoreError> {
        let rows = self.rows(sql("first_user"), vec![]).await?;
        Ok(first(rows, |r| text(r, 0)))
    }
}
