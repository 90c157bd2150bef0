//! OAuth applications of organizations and the access tokens users granted them (Quay's
//! `oauthapplication`, `oauthaccesstoken`). Statements of `sql/store/oauth.sql`.

use super::query::{Access, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};

const SQL: &str = include_str!("../../../sql/store/oauth.sql");

/// A token a user granted an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub uuid: String,
    pub scope: String,
    pub application: String,
    pub description: String,
    pub uri: String,
    pub avatar_email: Option<String>,
    pub organization: String,
    pub organization_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub name: String,
    pub description: String,
    pub uri: String,
    pub client_id: String,
    pub encrypted_secret: Option<String>,
    pub redirect_uri: String,
    pub avatar_email: Option<String>,
}

impl Store {
    pub async fn authorizations_of(&self, user_id: i64) -> Result<Vec<Authorization>, StoreError> {
        let rows =
            self.statement(Access::Scan, named(SQL, "authorizations"), vec![Value::Int(user_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Authorization {
                    uuid: text(r, 0)?,
                    scope: text(r, 1).unwrap_or_default(),
                    application: text(r, 2)?,
                    description: text(r, 3).unwrap_or_default(),
                    uri: text(r, 4).unwrap_or_default(),
                    avatar_email: text(r, 5),
                    organization: text(r, 6)?,
                    organization_email: text(r, 7).unwrap_or_default(),
                })
            })
            .collect())
    }

    pub async fn applications_of(&self, org_id: i64) -> Result<Vec<Application>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "applications"), vec![Value::Int(org_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Application {
                    name: text(r, 0)?,
                    description: text(r, 1).unwrap_or_default(),
                    uri: text(r, 2).unwrap_or_default(),
                    client_id: text(r, 3)?,
                    encrypted_secret: text(r, 4).filter(|s| !s.is_empty()),
                    redirect_uri: text(r, 5).unwrap_or_default(),
                    avatar_email: text(r, 6).filter(|s| !s.is_empty()),
                })
            })
            .collect())
    }
}
