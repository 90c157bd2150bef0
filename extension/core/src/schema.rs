//! Checking a database's schema against [`crate::schema_contract::REQUIRED_COLUMNS`].
//! The caller reads `(table, column)` pairs from its catalog; this module decides what is missing.

use crate::schema_contract::REQUIRED_COLUMNS;
use std::collections::{BTreeMap, BTreeSet};

/// Something the contract needs that the database lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Missing {
    Table(String),
    Column { table: String, column: String },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Table(t) => write!(f, "missing table {t}"),
            Missing::Column { table, column } => write!(f, "missing column {table}.{column}"),
        }
    }
}

/// Compares the catalog's `(table, column)` pairs with the contract. A missing table is reported
/// once, not once per column.
pub fn missing_items<'a>(present: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Missing> {
    let mut have: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (t, c) in present {
        have.entry(t).or_default().insert(c);
    }
    let mut out = Vec::new();
    for (table, columns) in REQUIRED_COLUMNS {
        match have.get(table) {
            None => out.push(Missing::Table(table.to_string())),
            Some(cols) => out.extend(
                columns
                    .iter()
                    .filter(|c| !cols.contains(*c))
                    .map(|c| Missing::Column { table: table.to_string(), column: c.to_string() }),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Vec<(&'static str, &'static str)> {
        REQUIRED_COLUMNS.iter().flat_map(|(t, cols)| cols.iter().map(move |c| (*t, *c))).collect()
    }

    #[test]
    fn complete_schema_has_nothing_missing() {
        assert_eq!(missing_items(full()), vec![]);
    }

    #[test]
    fn names_each_missing_table_and_column() {
        let present: Vec<_> = full()
            .into_iter()
            .filter(|(t, c)| *t != "queueitem" && !(*t == "tag" && *c == "immutable"))
            .collect();
        assert_eq!(
            missing_items(present),
            vec![
                Missing::Column { table: "tag".into(), column: "immutable".into() },
                Missing::Table("queueitem".into()),
            ]
        );
        assert_eq!(Missing::Table("queueitem".into()).to_string(), "missing table queueitem");
    }
}
