//! SELECT: queries over one table, with WHERE, ORDER BY and LIMIT.

use super::*;

impl<S: Storage, E: Environment> Store<S, E> {
    pub(super) fn select(&mut self, st: &mut StmtState, q: &Query) -> Result<ResultSet> {
        if q.with.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(Error::unsupported(
                "query clause (WITH / FETCH / FOR / locking)",
            ));
        }
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return Err(Error::unsupported(
                "query body other than a single SELECT (UNION / VALUES / subquery)",
            ));
        };
        let group_empty = matches!(&sel.group_by, sqlparser::ast::GroupByExpr::Expressions(v, m) if v.is_empty() && m.is_empty());
        if sel.distinct.is_some()
            || sel.top.is_some()
            || sel.into.is_some()
            || !group_empty
            || sel.having.is_some()
            || !sel.lateral_views.is_empty()
            || sel.qualify.is_some()
            || !sel.named_window.is_empty()
            || sel.prewhere.is_some()
        {
            return Err(Error::unsupported(
                "SELECT clause (DISTINCT / GROUP BY / HAVING / INTO / windows)",
            ));
        }
        let table = match sel.from.as_slice() {
            [] => None,
            [t] => {
                let id = self.single_table(t)?;
                Some((id, self.arc_def(id)?))
            }
            _ => return Err(Error::unsupported("SELECT from several tables")),
        };
        let order: Vec<sqlparser::ast::OrderByExpr> = match &q.order_by {
            None => Vec::new(),
            Some(o) => match &o.kind {
                OrderByKind::Expressions(v) => v.clone(),
                OrderByKind::All(_) => return Err(Error::unsupported("ORDER BY ALL")),
            },
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) if limit_by.is_empty() => (limit.clone(), offset.as_ref().map(|o| o.value.clone())),
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
            Some(_) => return Err(Error::unsupported("LIMIT BY")),
        };
        // Candidate rows.
        let source: Vec<Row> = match &table {
            None => vec![Vec::new()],
            Some((id, def)) => self
                .candidate_rows(st, *id, def, sel.selection.as_ref())?
                .into_iter()
                .map(|(_, row)| row)
                .collect(),
        };
        if table.is_none() && sel.selection.is_some() {
            return Err(Error::unsupported("WHERE without FROM"));
        }
        // Projection.
        let mut columns = Vec::new();
        let empty_def = TableDef {
            database: String::new(),
            name: String::new(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            version: 0,
        };
        let def_ref: &TableDef = table.as_ref().map_or(&empty_def, |(_, d)| d);
        for item in &sel.projection {
            if let SelectItem::UnnamedExpr(Expr::Function(f))
            | SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            } = item
            {
                let n = f.name.to_string().to_ascii_uppercase();
                if matches!(
                    n.as_str(),
                    "COUNT"
                        | "SUM"
                        | "AVG"
                        | "MIN"
                        | "MAX"
                        | "GROUP_CONCAT"
                        | "BIT_AND"
                        | "BIT_OR"
                        | "STD"
                        | "VARIANCE"
                ) {
                    return Err(Error::unsupported(format!("aggregate function {n}()")));
                }
            }
            match item {
                SelectItem::UnnamedExpr(e) => columns.push(e.to_string()),
                SelectItem::ExprWithAlias { alias, .. } => columns.push(alias.value.clone()),
                SelectItem::Wildcard(_) => {
                    columns.extend(def_ref.columns.iter().map(|c| c.name.clone()))
                }
                other => return Err(Error::unsupported(format!("select item {other}"))),
            }
        }
        let mut out: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::new();
        for row in &source {
            let scope = Scope {
                row: table.as_ref().map(|(_, d)| (&**d, row)),
                ..Scope::default()
            };
            let mut vals = Vec::new();
            for item in &sel.projection {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: st,
                };
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        vals.push(cx.eval(e, &scope)?)
                    }
                    _ => vals.extend(row.iter().map(Datum::from_value)),
                }
            }
            let mut keys = Vec::new();
            for o in &order {
                let k = match &o.expr {
                    Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Number(..)) => {
                        let sqlparser::ast::Value::Number(n, _) = &v.value else {
                            unreachable!()
                        };
                        let i: usize = n
                            .parse()
                            .map_err(|_| Error::unsupported("ORDER BY position"))?;
                        vals.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{i}' in 'order clause'"),
                            )
                        })?
                    }
                    e => {
                        let mut cx = Ctx {
                            session: &mut self.session,
                            env: &mut self.env,
                            stmt: st,
                        };
                        cx.eval(
                            e,
                            &Scope {
                                aliases: Some((&columns, &vals)),
                                ..scope
                            },
                        )?
                    }
                };
                keys.push(k);
            }
            out.push((keys, vals));
        }
        if !order.is_empty() {
            let desc: Vec<bool> = order
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            out.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
        }
        let mut rows: Vec<Vec<Datum>> = out.into_iter().map(|(_, v)| v).collect();
        if let Some(o) = offset {
            let n = self.limit_value(st, &o)?;
            rows.drain(..n.min(rows.len()));
        }
        if let Some(l) = limit {
            if order.is_empty() && table.is_some() {
                push_reason(st, "LIMIT without ORDER BY");
            }
            let n = self.limit_value(st, &l)?;
            rows.truncate(n);
        }
        Ok(ResultSet { columns, rows })
    }
}

pub(super) fn cmp_sort_keys(a: &[Datum], b: &[Datum], desc: &[bool]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(desc) {
        // NULLs sort first ascending (MySQL).
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(x, y).unwrap_or(Ordering::Equal),
        };
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
