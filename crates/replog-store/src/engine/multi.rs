//! Multi-table UPDATE and DELETE: the rows of a join (see `select`)
//! choose the rows of the named tables to change, each at most once.

use super::select::KEY_COLUMN;
use super::*;
use crate::eval::{RelColumn, find_column};
use crate::types::StoreAt;

/// The columns of a join and the rows WHERE kept.
type Joined = (Arc<[RelColumn]>, Vec<Vec<Datum>>);

impl<S: Storage, E: Environment> Store<S, E> {
    /// The base tables of a FROM clause by the name its columns carry
    /// (alias or table name).
    fn base_tables(&self, from: &[TableWithJoins]) -> Result<Vec<(String, TableId)>> {
        let mut out = Vec::new();
        let mut stack: Vec<&TableFactor> = Vec::new();
        for t in from {
            stack.push(&t.relation);
            stack.extend(t.joins.iter().map(|j| &j.relation));
        }
        while let Some(f) = stack.pop() {
            match f {
                TableFactor::Table { name, alias, .. } => {
                    let id = self.resolve(name)?;
                    let label = match alias {
                        Some(a) => a.name.value.clone(),
                        None => ident_name(name)?.1,
                    };
                    out.push((label, id));
                }
                TableFactor::NestedJoin {
                    table_with_joins, ..
                } => {
                    stack.push(&table_with_joins.relation);
                    stack.extend(table_with_joins.joins.iter().map(|j| &j.relation));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The rows of `from` that `selection` keeps, with their columns.
    fn joined_rows(
        &mut self,
        st: &mut StmtState,
        from: &[TableWithJoins],
        selection: Option<&Expr>,
    ) -> Result<Joined> {
        let rel = self.relation_of_from(st, from, None)?;
        let cols: Arc<[RelColumn]> = rel.columns.into();
        let mut kept = Vec::new();
        for row in rel.rows {
            if let Some(w) = selection {
                let scope = Scope {
                    rel: Some((&cols, &row)),
                    ..Scope::default()
                };
                if self.eval_row(st, w, &scope, &cols)?.truth() != Some(true) {
                    continue;
                }
            }
            kept.push(row);
        }
        Ok((cols, kept))
    }

    /// `UPDATE a JOIN b ON … SET a.x = …, b.y = … WHERE …`.
    pub(super) fn update_joined(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        u: &Update,
    ) -> Result<u64> {
        if !u.order_by.is_empty() || u.limit.is_some() {
            return Err(Error::new(
                ErrorKind::Parse,
                "Incorrect usage of UPDATE and ORDER BY / LIMIT",
            ));
        }
        let from = std::slice::from_ref(&u.table);
        let tables = self.base_tables(from)?;
        let (cols, rows) = self.joined_rows(st, from, u.selection.as_ref())?;
        // Each assignment's column in the joined row.
        let mut targets = Vec::with_capacity(u.assignments.len());
        for a in &u.assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                return Err(Error::unsupported("tuple assignment"));
            };
            let parts: Vec<&str> =
                c.0.iter()
                    .filter_map(|p| p.as_ident().map(|i| i.value.as_str()))
                    .collect();
            let (t, name) = match parts.as_slice() {
                [n] => (None, *n),
                [.., t, n] => (Some(*t), *n),
                [] => return Err(Error::unsupported("assignment target")),
            };
            let Some(i) = find_column(&cols, t, name)? else {
                return Err(Error::new(
                    ErrorKind::UnknownColumn,
                    format!("Unknown column '{c}' in 'field list'"),
                ));
            };
            let label = cols[i].table.clone();
            let Some((_, id)) = tables.iter().find(|(l, _)| *l == label) else {
                return Err(Error::unsupported(format!(
                    "UPDATE of {label}, not a base table"
                )));
            };
            let def = self.arc_def(*id)?;
            let ci = def.column_index(name).ok_or_else(|| {
                Error::new(ErrorKind::UnknownColumn, format!("Unknown column '{c}'"))
            })?;
            let key_at = find_column(&cols, Some(&label), KEY_COLUMN)?
                .ok_or_else(|| Error::unsupported("UPDATE target without row identity"))?;
            targets.push((i, *id, def, ci, key_at));
        }
        let mut done: Vec<(TableId, Vec<u8>)> = Vec::new();
        // Pending new rows by (table, key), in first-seen order.
        let mut pending: Vec<(TableId, Vec<u8>, Arc<TableDef>, Row)> = Vec::new();
        for (n, mut row) in rows.into_iter().enumerate() {
            let mut touched: Vec<(TableId, Vec<u8>)> = Vec::new();
            for (a, (i, id, def, ci, key_at)) in u.assignments.iter().zip(&targets) {
                let Datum::Bytes(key) = &row[*key_at] else {
                    continue; // the NULL side of an outer join
                };
                let key = key.clone();
                if done.iter().any(|(t, k)| t == id && *k == key) {
                    continue;
                }
                let v = {
                    let scope = Scope {
                        rel: Some((&cols, &row)),
                        ..Scope::default()
                    };
                    self.eval_row(st, &a.value, &scope, &cols)?
                };
                let col = &def.columns[*ci];
                if v.is_null() && !col.nullable {
                    return Err(super::dml::not_null_error(col));
                }
                let stored = store(
                    &v,
                    &StoreAt {
                        column: col,
                        row: n + 1,
                    },
                )?;
                row[*i] = Datum::from_value(&stored);
                let slot = match pending.iter().position(|(t, k, _, _)| t == id && *k == key) {
                    Some(p) => p,
                    None => {
                        let cur = self.storage.get(*id, &key).ok_or_else(|| {
                            Error::new(ErrorKind::Conflict, "joined row vanished")
                        })?;
                        pending.push((*id, key.clone(), def.clone(), cur));
                        pending.len() - 1
                    }
                };
                pending[slot].3[*ci] = stored;
                if !touched.iter().any(|(t, k)| t == id && *k == key) {
                    touched.push((*id, key));
                }
            }
            done.extend(touched);
        }
        let mut affected = 0;
        for (id, key, def, new) in pending {
            let Some(old) = self.storage.get(id, &key) else {
                continue;
            };
            if old == new {
                continue;
            }
            self.update_captured(id, &key, &def, old, new, changes)?;
            affected += 1;
        }
        Ok(affected)
    }

    /// `DELETE a, b FROM a JOIN b …` / `DELETE FROM a USING a JOIN b …`.
    pub(super) fn delete_joined(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        d: &Delete,
    ) -> Result<u64> {
        if !d.order_by.is_empty() || d.limit.is_some() {
            return Err(Error::new(
                ErrorKind::Parse,
                "Incorrect usage of DELETE and ORDER BY / LIMIT",
            ));
        }
        let named = match &d.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
        };
        // `DELETE t FROM <join>` or `DELETE FROM t USING <join>`.
        let (targets, from): (Vec<String>, &[TableWithJoins]) = match &d.using {
            Some(using) => (
                named
                    .iter()
                    .map(|t| match &t.relation {
                        TableFactor::Table { name, .. } => Ok(ident_name(name)?.1),
                        other => Err(Error::unsupported(format!("DELETE target {other}"))),
                    })
                    .collect::<Result<_>>()?,
                using,
            ),
            // Single-table DELETE routed here (a correlated subquery).
            None if d.tables.is_empty() => (
                named
                    .iter()
                    .map(|t| match &t.relation {
                        TableFactor::Table {
                            name, alias: None, ..
                        } => Ok(ident_name(name)?.1),
                        TableFactor::Table { alias: Some(a), .. } => Ok(a.name.value.clone()),
                        other => Err(Error::unsupported(format!("DELETE target {other}"))),
                    })
                    .collect::<Result<_>>()?,
                named,
            ),
            None => (
                d.tables
                    .iter()
                    .map(|n| Ok(ident_name(n)?.1))
                    .collect::<Result<_>>()?,
                named,
            ),
        };
        let tables = self.base_tables(from)?;
        let (cols, rows) = self.joined_rows(st, from, d.selection.as_ref())?;
        let mut victims: Vec<(TableId, usize)> = Vec::new();
        for t in &targets {
            let Some((label, id)) = tables.iter().find(|(l, _)| l.eq_ignore_ascii_case(t)) else {
                return Err(Error::new(
                    ErrorKind::UnknownTable,
                    format!("Unknown table '{t}' in MULTI DELETE"),
                ));
            };
            let at = find_column(&cols, Some(label), KEY_COLUMN)?
                .ok_or_else(|| Error::unsupported("DELETE target without row identity"))?;
            victims.push((*id, at));
        }
        let mut keys: Vec<(TableId, Vec<u8>)> = Vec::new();
        for row in &rows {
            for (id, at) in &victims {
                if let Datum::Bytes(k) = &row[*at]
                    && !keys.iter().any(|(t, x)| t == id && x == k)
                {
                    keys.push((*id, k.clone()));
                }
            }
        }
        let mut affected = 0;
        for (id, key) in keys {
            if self.storage.get(id, &key).is_none() {
                continue;
            }
            let def = self.arc_def(id)?;
            self.delete_captured(id, &key, &def, changes)?;
            affected += 1;
        }
        Ok(affected)
    }
}
