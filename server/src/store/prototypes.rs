//! Default permissions (permission prototypes): writes are core calls that also log
//! (`quay.prototype_create`, `prototype_set_role`, `prototype_delete`); the listing is a
//! statement of `sql/store/prototypes.sql`.

use super::query::{Access, boolean, first, text};
use super::teams::Person;
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;
use quay_core::permissions::{Grantee, Role};

const SQL: &str = include_str!("../../../sql/store/prototypes.sql");

/// A default permission as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prototype {
    pub uuid: String,
    pub role: String,
    pub activating_user: Option<Person>,
    pub delegate_user: Option<Person>,
    pub delegate_team: Option<String>,
}

fn person(r: &quay_core::exec::Row, at: usize) -> Option<Person> {
    Some(Person {
        username: text(r, at)?,
        email: text(r, at + 1).unwrap_or_default(),
        robot: boolean(r, at + 2),
        org_member: boolean(r, at + 3),
    })
}

impl Store {
    pub async fn prototypes_of(&self, org_id: i64) -> Result<Vec<Prototype>, StoreError> {
        let rows =
            self.statement(Access::Scan, named(SQL, "prototypes_of"), vec![Value::Int(org_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Prototype {
                    uuid: text(r, 0)?,
                    role: text(r, 1)?,
                    activating_user: person(r, 2),
                    delegate_user: person(r, 6),
                    delegate_team: text(r, 10),
                })
            })
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn prototype_create(
        &self,
        org_id: i64,
        uuid: &str,
        activating_user_id: Option<i64>,
        delegate: Grantee,
        role: Role,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let u = uuid.to_string();
        let (du, dt) = match delegate {
            Grantee::User(id) => (Value::Int(id), Value::NullInt),
            Grantee::Team(id) => (Value::NullInt, Value::Int(id)),
        };
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.prototype_create($1, $2, $3, $4, $5, $6, $7)::text",
            vec![
                Value::Int(org_id),
                Value::text(uuid),
                Value::opt_int(activating_user_id),
                du,
                dt,
                Value::text(role.as_str()),
                Value::text(json),
            ],
            move |ex| {
                quay_core::prototypes::create(ex, org_id, &u, activating_user_id, delegate, role, Some(&log))
            },
            |_| Some(()),
        )
        .await
    }

    /// Changes the role; returns the previous one.
    pub async fn prototype_set_role(
        &self,
        org_id: i64,
        uuid: &str,
        role: Role,
        log: LogEntry,
    ) -> Result<String, StoreError> {
        let u = uuid.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.prototype_set_role($1, $2, $3, $4)",
            vec![Value::Int(org_id), Value::text(uuid), Value::text(role.as_str()), Value::text(json)],
            move |ex| quay_core::prototypes::set_role(ex, org_id, &u, role, Some(&log)),
            |rows| first(rows, |r| text(r, 0)),
        )
        .await
    }

    pub async fn prototype_delete(&self, org_id: i64, uuid: &str, log: LogEntry) -> Result<(), StoreError> {
        let u = uuid.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.prototype_delete($1, $2, $3)::text",
            vec![Value::Int(org_id), Value::text(uuid), Value::text(json)],
            move |ex| quay_core::prototypes::delete(ex, org_id, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
