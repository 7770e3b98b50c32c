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
        let group_by: &[Expr] = match &sel.group_by {
            sqlparser::ast::GroupByExpr::Expressions(v, m) if m.is_empty() => v,
            _ => return Err(Error::unsupported("GROUP BY modifier")),
        };
        let distinct = match &sel.distinct {
            None | Some(sqlparser::ast::Distinct::All) => false,
            Some(sqlparser::ast::Distinct::Distinct) => true,
            Some(_) => return Err(Error::unsupported("DISTINCT ON")),
        };
        if sel.top.is_some()
            || sel.into.is_some()
            || !sel.lateral_views.is_empty()
            || sel.qualify.is_some()
            || !sel.named_window.is_empty()
            || sel.prewhere.is_some()
        {
            return Err(Error::unsupported("SELECT clause (TOP / INTO / windows)"));
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
            match item {
                SelectItem::UnnamedExpr(e) => columns.push(e.to_string()),
                SelectItem::ExprWithAlias { alias, .. } => columns.push(alias.value.clone()),
                SelectItem::Wildcard(_) => {
                    columns.extend(def_ref.columns.iter().map(|c| c.name.clone()))
                }
                other => return Err(Error::unsupported(format!("select item {other}"))),
            }
        }
        let roots = sel
            .projection
            .iter()
            .filter_map(|i| match i {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
                _ => None,
            })
            .chain(sel.having.iter())
            .chain(order.iter().map(|o| &o.expr));
        let aggs = aggregate_calls(roots);
        let mut out: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::new();
        if !group_by.is_empty() || !aggs.is_empty() || sel.having.is_some() {
            // A grouped query: one output row per group.
            let mut groups: Vec<(Vec<Datum>, Vec<usize>)> = Vec::new();
            for (i, row) in source.iter().enumerate() {
                let scope = Scope {
                    row: table.as_ref().map(|(_, d)| (&**d, row)),
                    ..Scope::default()
                };
                let mut key = Vec::with_capacity(group_by.len());
                for g in group_by {
                    let mut cx = Ctx {
                        session: &mut self.session,
                        env: &mut self.env,
                        stmt: st,
                    };
                    key.push(cx.eval(g, &scope)?);
                }
                let same = |k: &Vec<Datum>| {
                    k.iter().zip(&key).all(|(a, b)| {
                        (a.is_null() && b.is_null()) || compare(a, b) == Some(Ordering::Equal)
                    })
                };
                match groups.iter_mut().find(|(k, _)| same(k)) {
                    Some((_, rows)) => rows.push(i),
                    None => groups.push((key, vec![i])),
                }
            }
            if group_by.is_empty() && groups.is_empty() {
                groups.push((Vec::new(), Vec::new()));
            }
            // MariaDB returns groups in GROUP BY order.
            let asc = vec![false; group_by.len()];
            groups.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &asc));
            let no_row = Vec::new();
            for (_, rows) in &groups {
                let mut values = Vec::with_capacity(aggs.len());
                for f in &aggs {
                    let v =
                        self.aggregate(st, f, table.as_ref().map(|(_, d)| &**d), &source, rows)?;
                    values.push((*f as *const sqlparser::ast::Function, v));
                }
                let first = rows.first().map_or(&no_row, |&i| &source[i]);
                let scope = Scope {
                    row: table.as_ref().map(|(_, d)| (&**d, first)),
                    aggregates: Some(&values),
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
                        _ => vals.extend(first.iter().map(Datum::from_value)),
                    }
                }
                let named = Scope {
                    aliases: Some((&columns, &vals)),
                    ..scope
                };
                if let Some(h) = &sel.having {
                    let mut cx = Ctx {
                        session: &mut self.session,
                        env: &mut self.env,
                        stmt: st,
                    };
                    if cx.eval(h, &named)?.truth() != Some(true) {
                        continue;
                    }
                }
                let mut keys = Vec::new();
                for o in &order {
                    let mut cx = Ctx {
                        session: &mut self.session,
                        env: &mut self.env,
                        stmt: st,
                    };
                    keys.push(match position(&o.expr) {
                        Some(i) => vals.get(i.wrapping_sub(1)).cloned().unwrap_or(Datum::Null),
                        None => cx.eval(&o.expr, &named)?,
                    });
                }
                out.push((keys, vals));
            }
        }
        for row in source
            .iter()
            .filter(|_| aggs.is_empty() && group_by.is_empty() && sel.having.is_none())
        {
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
        if distinct {
            let mut kept: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::with_capacity(out.len());
            for (k, v) in out {
                let dup = kept.iter().any(|(_, w)| {
                    w.iter().zip(&v).all(|(a, b)| {
                        (a.is_null() && b.is_null()) || compare(a, b) == Some(Ordering::Equal)
                    })
                });
                if !dup {
                    kept.push((k, v));
                }
            }
            out = kept;
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

/// `ORDER BY 2`: the position of a select-list item.
fn position(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            sqlparser::ast::Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a call is an aggregate (not a window function).
fn is_aggregate(f: &sqlparser::ast::Function) -> bool {
    f.over.is_none()
        && matches!(
            f.name.to_string().to_ascii_uppercase().as_str(),
            "COUNT"
                | "SUM"
                | "AVG"
                | "MIN"
                | "MAX"
                | "GROUP_CONCAT"
                | "BIT_AND"
                | "BIT_OR"
                | "BIT_XOR"
                | "STD"
                | "STDDEV"
                | "STDDEV_POP"
                | "STDDEV_SAMP"
                | "VARIANCE"
                | "VAR_POP"
                | "VAR_SAMP"
        )
}

/// The aggregate calls in `roots`, found with an explicit stack (no
/// recursion, however deep the expressions).
fn aggregate_calls<'q>(roots: impl Iterator<Item = &'q Expr>) -> Vec<&'q sqlparser::ast::Function> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let mut out = Vec::new();
    let mut stack: Vec<&Expr> = roots.collect();
    while let Some(e) = stack.pop() {
        match e {
            Expr::Function(f) if is_aggregate(f) => out.push(f),
            Expr::Function(f) => {
                if let FunctionArguments::List(l) = &f.args {
                    for a in &l.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                            stack.push(x);
                        }
                    }
                }
            }
            Expr::BinaryOp { left, right, .. } => {
                stack.push(left);
                stack.push(right);
            }
            Expr::UnaryOp { expr, .. }
            | Expr::Nested(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::IsTrue(expr)
            | Expr::IsFalse(expr)
            | Expr::Cast { expr, .. } => stack.push(expr),
            Expr::InList { expr, list, .. } => {
                stack.push(expr);
                stack.extend(list.iter());
            }
            Expr::Between {
                expr, low, high, ..
            } => stack.extend([&**expr, &**low, &**high]),
            Expr::Like { expr, pattern, .. } | Expr::RLike { expr, pattern, .. } => {
                stack.extend([&**expr, &**pattern]);
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                stack.extend(operand.as_deref());
                for c in conditions {
                    stack.extend([&c.condition, &c.result]);
                }
                stack.extend(else_result.as_deref());
            }
            _ => {}
        }
    }
    out
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// The value of aggregate call `f` over the rows `rows` of `source`.
    fn aggregate(
        &mut self,
        st: &mut StmtState,
        f: &sqlparser::ast::Function,
        def: Option<&TableDef>,
        source: &[Row],
        rows: &[usize],
    ) -> Result<Datum> {
        use sqlparser::ast::{DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments};
        let name = f.name.to_string().to_ascii_uppercase();
        let FunctionArguments::List(l) = &f.args else {
            return Err(Error::unsupported(format!("aggregate {f}")));
        };
        if !l.clauses.is_empty() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(Error::unsupported(format!("aggregate {f}")));
        }
        let distinct = matches!(l.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let arg = match l.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if name == "COUNT" && !distinct => {
                return Ok(Datum::Int(rows.len() as i64));
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))] => x,
            _ => return Err(Error::unsupported(format!("aggregate {f}"))),
        };
        let mut values: Vec<Datum> = Vec::new();
        for &i in rows {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            let v = cx.eval(
                arg,
                &Scope {
                    row: def.map(|d| (d, &source[i])),
                    ..Scope::default()
                },
            )?;
            if v.is_null() {
                continue;
            }
            if distinct
                && values
                    .iter()
                    .any(|w| compare(w, &v) == Some(Ordering::Equal))
            {
                continue;
            }
            values.push(v);
        }
        let exact = values
            .iter()
            .all(|v| matches!(v, Datum::Int(_) | Datum::UInt(_) | Datum::Dec(_)));
        Ok(match name.as_str() {
            "COUNT" => Datum::Int(values.len() as i64),
            "MIN" | "MAX" => {
                let mut best: Option<Datum> = None;
                for v in values {
                    let better = match &best {
                        None => true,
                        Some(b) => {
                            let o = compare(&v, b).unwrap_or(Ordering::Equal);
                            (name == "MAX" && o == Ordering::Greater)
                                || (name == "MIN" && o == Ordering::Less)
                        }
                    };
                    if better {
                        best = Some(v);
                    }
                }
                best.unwrap_or(Datum::Null)
            }
            "SUM" | "AVG" if values.is_empty() => Datum::Null,
            "SUM" | "AVG" if exact => {
                let mut sum = Decimal::zero();
                let mut scale = 0;
                for v in &values {
                    let d = v.to_decimal().unwrap_or_else(Decimal::zero);
                    scale = scale.max(d.scale());
                    sum = sum.add(&d).ok_or_else(|| {
                        Error::new(ErrorKind::OutOfRange, "DECIMAL value is out of range")
                    })?;
                }
                if name == "SUM" {
                    Datum::Dec(sum)
                } else {
                    let n = Decimal::from_u64(values.len() as u64);
                    let s = (scale + crate::decimal::DIV_PRECISION_INCREMENT)
                        .min(crate::decimal::MAX_SCALE);
                    Datum::Dec(sum.div(&n, s).ok_or_else(|| {
                        Error::new(ErrorKind::OutOfRange, "DECIMAL value is out of range")
                    })?)
                }
            }
            "SUM" | "AVG" => {
                let sum: f64 = values.iter().map(Datum::to_f64).sum();
                Datum::Double(if name == "SUM" {
                    sum
                } else {
                    sum / values.len() as f64
                })
            }
            _ => return Err(Error::unsupported(format!("aggregate function {name}()"))),
        })
    }
}
