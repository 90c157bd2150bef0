//! What `migrate` does with a database and whether its schema has what we use, decided once
//! for both backends: each backend only probes its catalog and runs its migrations.

use super::StoreError;

/// What a database holds, as `migrate` sees it.
pub(crate) struct Found {
    pub tables: i64,
    pub alembic: bool,
    pub refinery: bool,
}

/// What `migrate` does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Empty (`fresh`) or created by us: run our migrations.
    Migrate { fresh: bool },
    /// Created by Python Quay (Alembic only): create **nothing** (not even our bookkeeping
    /// table), so Python Quay keeps running on it unchanged.
    LeaveQuayAlone,
    /// Anything else: refuse.
    NotQuay,
}

pub(crate) fn plan(found: &Found) -> Plan {
    if found.refinery || found.tables == 0 {
        Plan::Migrate { fresh: found.tables == 0 }
    } else if found.alembic {
        Plan::LeaveQuayAlone
    } else {
        Plan::NotQuay
    }
}

/// The schema contract over a catalog's `(table, column)` pairs: every table and column we use
/// must be there (`quay_core::schema`), each missing one named.
pub(crate) fn check_contract(pairs: &[(String, String)]) -> Result<(), StoreError> {
    if pairs.is_empty() {
        return Err(StoreError::NotMigrated);
    }
    let missing = quay_core::schema::missing_items(pairs.iter().map(|(t, c)| (t.as_str(), c.as_str())));
    if missing.is_empty() { Ok(()) } else { Err(StoreError::SchemaIncomplete(missing)) }
}

#[cfg(test)]
mod tests {
    use super::{Found, Plan, plan};

    #[test]
    fn plans() {
        let f = |tables, alembic, refinery| plan(&Found { tables, alembic, refinery });
        assert_eq!(f(0, false, false), Plan::Migrate { fresh: true });
        assert_eq!(f(106, false, true), Plan::Migrate { fresh: false });
        assert_eq!(f(105, true, false), Plan::LeaveQuayAlone);
        assert_eq!(f(3, false, false), Plan::NotQuay);
    }
}
