//! ALTER TABLE: one operation at a time, rebuilding the table's rows
//! under the new definition.

use super::*;

impl<S: Storage, E: Environment> Store<S, E> {
    pub(super) fn alter(
        &mut self,
        id: TableId,
        op: &AlterTableOperation,
        now_us: i64,
    ) -> Result<()> {
        let def = self
            .storage
            .def(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, "table vanished"))?
            .clone();
        let keys = self.storage.keys(id);
        let rows: Vec<Row> = keys
            .iter()
            .filter_map(|k| self.storage.get(id, k))
            .collect();
        let mut new_def = def.clone();
        new_def.version = def.version.saturating_add(1);
        let new_rows: Vec<Row> = match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                if_not_exists,
                ..
            } => {
                if def.column_index(&column_def.name.value).is_some() {
                    if *if_not_exists {
                        return Ok(());
                    }
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        format!("Duplicate column name '{}'", column_def.name.value),
                    ));
                }
                let mut st = StmtState {
                    now_us,
                    ..StmtState::default()
                };
                let (session, env) = (&mut self.session, &mut self.env);
                let mut eval_default = |e: &Expr| {
                    let mut cx = Ctx {
                        session,
                        env,
                        stmt: &mut st,
                    };
                    cx.eval(e, &Scope::default())
                };
                let (col, pk, unique) = schema::column(column_def, &mut eval_default)?;
                if pk || unique || col.auto_increment {
                    return Err(Error::unsupported(
                        "ADD COLUMN with PRIMARY KEY / UNIQUE / AUTO_INCREMENT",
                    ));
                }
                let at = match column_position {
                    None => def.columns.len(),
                    Some(ColumnPosition::First) => 0,
                    Some(ColumnPosition::After(c)) => {
                        def.column_index(&c.value).map(|i| i + 1).ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{}' in 'table definition'", c.value),
                            )
                        })?
                    }
                };
                let fill = match &col.default {
                    ColumnDefault::Value(v) => v.clone(),
                    ColumnDefault::CurrentTimestamp => store(
                        &Datum::DateTime(crate::types::timestamp_to_datetime(now_us)),
                        &StoreAt {
                            column: &col,
                            row: 1,
                        },
                    )?,
                    ColumnDefault::Missing => implicit_default(&col),
                };
                new_def.columns.insert(at, col);
                let shift = |i: usize| if i >= at { i + 1 } else { i };
                new_def.primary_key = def.primary_key.iter().map(|&i| shift(i)).collect();
                for u in &mut new_def.unique_keys {
                    u.columns = u.columns.iter().map(|&i| shift(i)).collect();
                }
                rows.into_iter()
                    .map(|mut r| {
                        r.insert(at, fill.clone());
                        r
                    })
                    .collect()
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let [c] = column_names.as_slice() else {
                    return Err(Error::unsupported("DROP COLUMN of several columns"));
                };
                let Some(at) = def.column_index(&c.value) else {
                    if *if_exists {
                        return Ok(());
                    }
                    return Err(Error::new(
                        ErrorKind::UnknownColumn,
                        format!("Can't DROP COLUMN `{}`; check that it exists", c.value),
                    ));
                };
                if def.primary_key.contains(&at) {
                    return Err(Error::unsupported("dropping a primary-key column"));
                }
                if def.columns.len() == 1 {
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        "You can't delete all columns with ALTER TABLE",
                    ));
                }
                new_def.columns.remove(at);
                let shift = |i: usize| if i > at { i - 1 } else { i };
                new_def.primary_key = def.primary_key.iter().map(|&i| shift(i)).collect();
                new_def.unique_keys = def
                    .unique_keys
                    .iter()
                    .filter_map(|u| {
                        let cols: Vec<usize> = u
                            .columns
                            .iter()
                            .filter(|&&i| i != at)
                            .map(|&i| shift(i))
                            .collect();
                        (!cols.is_empty()).then(|| crate::types::UniqueKey {
                            name: u.name.clone(),
                            columns: cols,
                        })
                    })
                    .collect();
                rows.into_iter()
                    .map(|mut r| {
                        r.remove(at);
                        r
                    })
                    .collect()
            }
            other => return Err(Error::unsupported(format!("ALTER TABLE operation {other}"))),
        };
        self.storage.replace_table(id, new_def, new_rows)
    }
}
