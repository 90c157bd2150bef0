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

impl Store {
    pub async fn application_create(
        &self,
        org_id: i64,
        client_id: &str,
        encrypted_secret: &str,
        fields: quay_core::oauth_apps::AppFields,
        log: quay_core::logs::LogEntry,
    ) -> Result<i64, StoreError> {
        let (c, s, f, l) =
            (client_id.to_string(), encrypted_secret.to_string(), fields.to_json(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.oauth_application_create($1, $2, $3, $4, $5)",
            vec![
                Value::Int(org_id),
                Value::text(client_id),
                Value::text(encrypted_secret),
                Value::text(f),
                Value::text(l),
            ],
            move |ex| quay_core::oauth_apps::create(ex, org_id, &c, &s, &fields, Some(&log)),
            |rows| super::query::first(rows, |r| super::query::int(r, 0)),
        )
        .await
    }

    pub async fn application_update(
        &self,
        org_id: i64,
        client_id: &str,
        fields: quay_core::oauth_apps::AppFields,
        log: quay_core::logs::LogEntry,
    ) -> Result<(), StoreError> {
        let (c, f, l) = (client_id.to_string(), fields.to_json(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.oauth_application_update($1, $2, $3, $4)::text",
            vec![Value::Int(org_id), Value::text(client_id), Value::text(f), Value::text(l)],
            move |ex| quay_core::oauth_apps::update(ex, org_id, &c, &fields, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn application_set_secret(
        &self,
        org_id: i64,
        client_id: &str,
        encrypted_secret: &str,
        log: quay_core::logs::LogEntry,
    ) -> Result<(), StoreError> {
        let (c, s, l) = (client_id.to_string(), encrypted_secret.to_string(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.oauth_application_set_secret($1, $2, $3, $4)::text",
            vec![Value::Int(org_id), Value::text(client_id), Value::text(encrypted_secret), Value::text(l)],
            move |ex| quay_core::oauth_apps::set_secret(ex, org_id, &c, &s, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn application_delete(
        &self,
        org_id: i64,
        client_id: &str,
        log: quay_core::logs::LogEntry,
    ) -> Result<(), StoreError> {
        let (c, l) = (client_id.to_string(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.oauth_application_delete($1, $2, $3)::text",
            vec![Value::Int(org_id), Value::text(client_id), Value::text(l)],
            move |ex| quay_core::oauth_apps::delete(ex, org_id, &c, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
