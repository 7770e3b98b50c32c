//! A PostgreSQL catalog file (`fixtures/postgres/catalog.sql`'s output,
//! what WAL decoding reads) as [`RelationHints`]: the primary key and the
//! enum labels that a pgoutput RELATION does not carry (Debezium asks the
//! server's catalog for them).

use crate::event::RelationHints;
use replog_logical::{ColumnType, PgType, Relation};
use replog_pgheap::catalog::{Catalog, RelInfo};

/// The catalog of the server a capture came from.
#[derive(Debug)]
pub struct PgCatalogHints {
    catalog: Catalog,
}

impl PgCatalogHints {
    /// Hints from a loaded catalog.
    pub fn new(catalog: Catalog) -> PgCatalogHints {
        PgCatalogHints { catalog }
    }

    fn table(&self, schema: &str, name: &str) -> Option<&RelInfo> {
        self.catalog
            .relations
            .iter()
            .find(|r| r.namespace == schema && r.name == name && !r.is_system())
    }
}

impl RelationHints for PgCatalogHints {
    fn refine<'a>(&'a self, r: &mut Relation<'a>) -> bool {
        let Some(info) = self.table(r.database, r.table) else {
            return false;
        };
        let mut changed = false;
        let pkey: Vec<&str> = info
            .pkey
            .iter()
            .filter_map(|n| info.attrs.iter().find(|a| a.num == *n))
            .map(|a| a.name.as_str())
            .collect();
        if !pkey.is_empty() {
            for c in &mut r.columns {
                let key = pkey.contains(&c.name);
                if c.key != key {
                    c.key = key;
                    changed = true;
                }
            }
        }
        for c in &mut r.columns {
            let Some(a) = info.attrs.iter().find(|a| a.name == c.name && !a.dropped) else {
                continue;
            };
            if a.notnull && c.nullable {
                c.nullable = false;
                changed = true;
            }
            let labels = || a.enum_labels.iter().map(|(_, l)| l.as_str()).collect();
            match &c.ty {
                ColumnType::Pg(PgType::Other(_)) if a.typtype == b'e' => {
                    c.ty = ColumnType::Pg(PgType::Enum {
                        name: &a.typname,
                        labels: labels(),
                    });
                    changed = true;
                }
                ColumnType::Pg(PgType::Enum { labels: l, .. })
                    if l.is_empty() && a.typtype == b'e' =>
                {
                    c.ty = ColumnType::Pg(PgType::Enum {
                        name: &a.typname,
                        labels: labels(),
                    });
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }
}
