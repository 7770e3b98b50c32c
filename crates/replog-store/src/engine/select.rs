//! Queries: SELECT over a FROM clause of tables, joins (INNER / LEFT /
//! RIGHT / CROSS), derived tables and CTEs (recursive too), with WHERE,
//! GROUP BY / HAVING, window functions, DISTINCT, ORDER BY and LIMIT;
//! UNION / INTERSECT / EXCEPT; subqueries in expressions (scalar, IN,
//! EXISTS), correlated ones computed for each row of the enclosing query.
//!
//! Every row a query works on is a row of a [`Relation`]: values named by
//! table (or alias) and column. A query over one table whose WHERE can use
//! a key reads only the rows the key pins (`candidate_rows`).

use super::*;
use crate::eval::{Outer, RelColumn, Relation, find_column};
use sqlparser::ast::{
    Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    JoinConstraint, JoinOperator, OrderByExpr, Select, SetOperator, SetQuantifier, WindowType,
};

/// The most values (rows × columns) one relation of a query may hold: a
/// join, a recursive CTE or a UNION growing past it is refused with an
/// error instead of exhausting memory.
pub const MAX_RELATION_VALUES: usize = 4 << 20;

/// The most rounds a recursive CTE may run: a CTE whose step never stops
/// adding rows is refused with an error (MariaDB's own
/// `max_recursive_iterations` is unbounded by default).
pub const MAX_RECURSION_ROUNDS: usize = 100_000;

/// The name of the hidden column holding a base table row's primary key
/// (multi-table UPDATE / DELETE find the rows to change by it); no SQL
/// name can match it.
pub(super) const KEY_COLUMN: &str = "\0key";

fn too_big() -> Error {
    Error::new(
        ErrorKind::OutOfRange,
        format!(
            "a query's intermediate result exceeds the store's limit of {MAX_RELATION_VALUES} values (MAX_RELATION_VALUES)"
        ),
    )
}

fn check_size(rows: usize, cols: usize) -> Result<()> {
    if rows.saturating_mul(cols.max(1)) > MAX_RELATION_VALUES {
        return Err(too_big());
    }
    Ok(())
}

/// How a query's rows are ordered and cut.
struct Shape<'q> {
    order: Vec<OrderByExpr>,
    limit: Option<Expr>,
    offset: Option<Expr>,
    _q: std::marker::PhantomData<&'q ()>,
}

fn shape(q: &Query) -> Result<Shape<'_>> {
    let order: Vec<OrderByExpr> = match &q.order_by {
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
    Ok(Shape {
        order,
        limit,
        offset,
        _q: std::marker::PhantomData,
    })
}

fn same_row(a: &[Datum], b: &[Datum]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_null() && y.is_null()) || compare(x, y) == Some(Ordering::Equal))
}

fn dedup(rows: Vec<Vec<Datum>>) -> Vec<Vec<Datum>> {
    let mut kept: Vec<Vec<Datum>> = Vec::with_capacity(rows.len());
    for r in rows {
        if !kept.iter().any(|k| same_row(k, &r)) {
            kept.push(r);
        }
    }
    kept
}

/// The positions `*` (or `t.*`) stands for in `cols`.
fn star<'c>(
    cols: &'c [RelColumn],
    table: Option<&'c ObjectName>,
) -> impl Iterator<Item = usize> + 'c {
    let t = table.and_then(|n| n.0.last().and_then(|p| p.as_ident()));
    cols.iter().enumerate().filter_map(move |(i, c)| {
        (c.name != KEY_COLUMN
            && match t {
                Some(t) => c.table.eq_ignore_ascii_case(&t.value),
                None => !c.hidden,
            })
        .then_some(i)
    })
}

/// The name MariaDB gives a select-list expression without an alias.
fn column_name(e: &Expr) -> String {
    match e {
        Expr::CompoundIdentifier(parts) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn alias_of(alias: Option<&sqlparser::ast::TableAlias>) -> Option<String> {
    alias.map(|a| a.name.value.clone())
}

/// Names `rel`'s columns after `table` (and the alias' column list).
/// The positions of USING column `name` in the left and right relations
/// of a join: each side must have exactly one (MariaDB's errors).
fn using_pair(left: &Relation, right: &Relation, name: &str) -> Result<(usize, usize)> {
    let unknown = || {
        Error::new(
            ErrorKind::UnknownColumn,
            format!("Unknown column '{name}' in 'from clause'"),
        )
    };
    let l = find_column(&left.columns, None, name)?.ok_or_else(unknown)?;
    let r = find_column(&right.columns, None, name)?.ok_or_else(unknown)?;
    Ok((l, r))
}

/// After a join USING / NATURAL (`width`: the left relation's columns):
/// each pair of joined columns becomes one, first in the relation (the
/// left one's value, the right one's for a RIGHT join), the other copy
/// stays reachable only qualified ([`RelColumn::hidden`]).
fn merge_using(rel: &mut Relation, width: usize, kind: JoinKind, using: &[(usize, usize)]) {
    let mut first = Vec::with_capacity(using.len());
    for &(l, r) in using {
        let (keep, hide) = if kind == JoinKind::Right {
            (width + r, l)
        } else {
            (l, width + r)
        };
        rel.columns[hide].hidden = true;
        first.push(keep);
    }
    let order: Vec<usize> = first
        .iter()
        .copied()
        .chain((0..rel.columns.len()).filter(|i| !first.contains(i)))
        .collect();
    permute(&mut rel.columns, &order);
    for row in &mut rel.rows {
        permute(row, &order);
    }
}

/// Puts `v[order[0]]`, `v[order[1]]`, … in `v` (`order` a permutation).
fn permute<T>(v: &mut Vec<T>, order: &[usize]) {
    let mut old: Vec<Option<T>> = std::mem::take(v).into_iter().map(Some).collect();
    v.extend(order.iter().filter_map(|&i| old[i].take()));
}

fn requalify(
    mut rel: Relation,
    table: &str,
    alias: Option<&sqlparser::ast::TableAlias>,
) -> Result<Relation> {
    let renames = alias.map_or(&[][..], |a| a.columns.as_slice());
    if !renames.is_empty() && renames.len() != rel.columns.len() {
        return Err(Error::new(
            ErrorKind::ColumnCount,
            "In definition of view, derived table or common table expression, SELECT list and column names list have different column counts",
        ));
    }
    for (i, c) in rel.columns.iter_mut().enumerate() {
        c.table = table.to_string();
        if let Some(r) = renames.get(i) {
            c.name = r.name.value.clone();
        }
    }
    Ok(rel)
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// A query's rows (a statement's, INSERT … SELECT's).
    pub(super) fn select(&mut self, st: &mut StmtState, q: &Query) -> Result<ResultSet> {
        let rel = self.run_query(st, q, None)?;
        Ok(ResultSet {
            columns: rel.columns.into_iter().map(|c| c.name).collect(),
            rows: rel.rows,
        })
    }

    /// A query's rows under the row `outer` of an enclosing query.
    pub(super) fn run_query(
        &mut self,
        st: &mut StmtState,
        q: &Query,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        if q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(Error::unsupported("query clause (FETCH / FOR / locking)"));
        }
        let mark = st.ctes.len();
        let r = self.query_with(st, q, outer);
        st.ctes.truncate(mark);
        r
    }

    fn query_with(
        &mut self,
        st: &mut StmtState,
        q: &Query,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        if let Some(w) = &q.with {
            for cte in &w.cte_tables {
                let name = cte.alias.name.value.clone();
                let rel = if w.recursive && refers_to(&cte.query, &name) {
                    self.recursive_cte(st, &name, cte, outer)?
                } else {
                    self.run_query(st, &cte.query, outer)?
                };
                let rel = requalify(rel, &name, Some(&cte.alias))?;
                st.ctes.push((name, Arc::new(rel)));
            }
        }
        let sh = shape(q)?;
        if let SetExpr::Select(sel) = q.body.as_ref() {
            return self.select_one(st, sel, &sh, outer);
        }
        let mut rel = self.set_expr(st, &q.body, outer)?;
        // ORDER BY / LIMIT of a UNION: over its result's columns.
        if !sh.order.is_empty() {
            let cols: Arc<[RelColumn]> = rel.columns.clone().into();
            let mut keyed = Vec::with_capacity(rel.rows.len());
            for row in std::mem::take(&mut rel.rows) {
                let mut keys = Vec::with_capacity(sh.order.len());
                for o in &sh.order {
                    keys.push(match position(&o.expr) {
                        Some(i) => row.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{i}' in 'order clause'"),
                            )
                        })?,
                        None => {
                            let scope = Scope {
                                rel: Some((&cols, &row)),
                                outer: outer.map(|o| &**o),
                                ..Scope::default()
                            };
                            self.eval_here(st, &o.expr, &scope, &cols, outer)?
                        }
                    });
                }
                keyed.push((keys, row));
            }
            let desc: Vec<bool> = sh
                .order
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            keyed.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
            rel.rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        self.cut(st, &mut rel.rows, &sh, false)?;
        Ok(rel)
    }

    /// OFFSET and LIMIT.
    fn cut(
        &mut self,
        st: &mut StmtState,
        rows: &mut Vec<Vec<Datum>>,
        sh: &Shape<'_>,
        warn_unordered: bool,
    ) -> Result<()> {
        if let Some(o) = &sh.offset {
            let n = self.limit_value(st, o)?;
            rows.drain(..n.min(rows.len()));
        }
        if let Some(l) = &sh.limit {
            if sh.order.is_empty() && warn_unordered {
                push_reason(st, "LIMIT without ORDER BY");
            }
            let n = self.limit_value(st, l)?;
            rows.truncate(n);
        }
        Ok(())
    }

    fn set_expr(
        &mut self,
        st: &mut StmtState,
        body: &SetExpr,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        match body {
            SetExpr::Select(sel) => {
                let sh = Shape {
                    order: Vec::new(),
                    limit: None,
                    offset: None,
                    _q: std::marker::PhantomData,
                };
                self.select_one(st, sel, &sh, outer)
            }
            SetExpr::Query(q) => self.run_query(st, q, outer),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    _ => return Err(Error::unsupported(format!("{op} {set_quantifier}"))),
                };
                let mut l = self.set_expr(st, left, outer)?;
                let r = self.set_expr(st, right, outer)?;
                if l.columns.len() != r.columns.len() {
                    return Err(Error::new(
                        ErrorKind::ColumnCount,
                        "The used SELECT statements have a different number of columns",
                    ));
                }
                match op {
                    SetOperator::Union => {
                        check_size(l.rows.len() + r.rows.len(), l.columns.len())?;
                        l.rows.extend(r.rows);
                        if !all {
                            l.rows = dedup(l.rows);
                        }
                    }
                    SetOperator::Intersect | SetOperator::Except | SetOperator::Minus => {
                        let keep_in = matches!(op, SetOperator::Intersect);
                        let rows = std::mem::take(&mut l.rows);
                        l.rows = rows
                            .into_iter()
                            .filter(|x| r.rows.iter().any(|y| same_row(x, y)) == keep_in)
                            .collect();
                        if !all {
                            l.rows = dedup(l.rows);
                        }
                    }
                }
                Ok(l)
            }
            SetExpr::Values(v) => {
                let mut rel = Relation::default();
                let none: Arc<[RelColumn]> = Vec::new().into();
                for (i, row) in v.rows.iter().enumerate() {
                    let mut vals = Vec::with_capacity(row.content.len());
                    for e in &row.content {
                        let scope = Scope {
                            outer: outer.map(|o| &**o),
                            ..Scope::default()
                        };
                        vals.push(self.eval_here(st, e, &scope, &none, outer)?);
                    }
                    if i == 0 {
                        rel.columns = (0..vals.len())
                            .map(|n| RelColumn {
                                table: String::new(),
                                name: format!("column_{}", n + 1),
                                hidden: false,
                            })
                            .collect();
                    } else if vals.len() != rel.columns.len() {
                        return Err(Error::new(
                            ErrorKind::ColumnCount,
                            "The used table value constructor has a different number of values",
                        ));
                    }
                    rel.rows.push(vals);
                }
                Ok(rel)
            }
            other => Err(Error::unsupported(format!(
                "query body {}",
                other.to_string().chars().take(40).collect::<String>()
            ))),
        }
    }

    /// `WITH RECURSIVE name AS (anchor UNION [ALL] step)`: the step runs on
    /// the rows the previous round added until it adds none.
    fn recursive_cte(
        &mut self,
        st: &mut StmtState,
        name: &str,
        cte: &sqlparser::ast::Cte,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        let SetExpr::SetOperation {
            left,
            op: SetOperator::Union,
            set_quantifier,
            right,
        } = cte.query.body.as_ref()
        else {
            return Err(Error::unsupported(
                "recursive CTE other than anchor UNION step",
            ));
        };
        let all = matches!(set_quantifier, SetQuantifier::All);
        let mut all_rows = self.set_expr(st, left, outer)?;
        if !all {
            all_rows.rows = dedup(all_rows.rows);
        }
        let mut last = all_rows.clone();
        for round in 0.. {
            if round == MAX_RECURSION_ROUNDS {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "recursive CTE {name} still adds rows after {MAX_RECURSION_ROUNDS} rounds (MAX_RECURSION_ROUNDS)"
                    ),
                ));
            }
            let bound = requalify(last, name, Some(&cte.alias))?;
            st.ctes.push((name.to_string(), Arc::new(bound)));
            let step = self.set_expr(st, right, outer);
            st.ctes.pop();
            let mut step = step?;
            if step.columns.len() != all_rows.columns.len() {
                return Err(Error::new(
                    ErrorKind::ColumnCount,
                    "The used SELECT statements have a different number of columns",
                ));
            }
            if !all {
                step.rows = dedup(step.rows);
                step.rows
                    .retain(|r| !all_rows.rows.iter().any(|k| same_row(k, r)));
            }
            if step.rows.is_empty() {
                break;
            }
            check_size(
                all_rows.rows.len() + step.rows.len(),
                all_rows.columns.len(),
            )?;
            all_rows.rows.extend(step.rows.iter().cloned());
            last = Relation {
                columns: all_rows.columns.clone(),
                rows: step.rows,
            };
        }
        Ok(all_rows)
    }

    /// The values of `sel`'s select list for one row: its expressions in
    /// `scope`, its wildcards copied from `row` (the relation row the scope
    /// stands on).
    fn project(
        &mut self,
        st: &mut StmtState,
        sel: &Select,
        scope: &Scope<'_>,
        cols: &Arc<[RelColumn]>,
        row: &[Datum],
        outer: Option<&Arc<Outer>>,
    ) -> Result<Vec<Datum>> {
        let mut vals = Vec::new();
        for item in &sel.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    vals.push(self.eval_here(st, e, scope, cols, outer)?)
                }
                SelectItem::QualifiedWildcard(
                    sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => vals.extend(star(cols, Some(n)).map(|i| row[i].clone())),
                _ => vals.extend(star(cols, None).map(|i| row[i].clone())),
            }
        }
        Ok(vals)
    }

    /// Evaluates `e` for a row, first computing the subqueries it holds
    /// (see [`Store::prepare_subqueries`]).
    fn eval_here(
        &mut self,
        st: &mut StmtState,
        e: &Expr,
        scope: &Scope<'_>,
        cols: &Arc<[RelColumn]>,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Datum> {
        let subs = subqueries_in(std::iter::once(e));
        if !subs.is_empty() {
            let vals = scope.rel.map_or(&[][..], |(_, v)| v);
            self.prepare_subqueries(st, &subs, cols, vals, outer)?;
        }
        let mut cx = Ctx {
            session: &mut self.session,
            env: &mut self.env,
            stmt: st,
        };
        cx.eval(e, scope)
    }

    /// Evaluates `e` for a row of a relation of columns `cols` outside
    /// any subquery.
    pub(super) fn eval_row(
        &mut self,
        st: &mut StmtState,
        e: &Expr,
        scope: &Scope<'_>,
        cols: &Arc<[RelColumn]>,
    ) -> Result<Datum> {
        self.eval_here(st, e, scope, cols, None)
    }

    /// Computes `subs` for the row `vals` (of columns `cols`) under
    /// `outer`: an uncorrelated subquery once per statement, a correlated
    /// one (it reads a column of an enclosing query) for every row.
    pub(super) fn prepare_subqueries(
        &mut self,
        st: &mut StmtState,
        subs: &[&Query],
        cols: &Arc<[RelColumn]>,
        vals: &[Datum],
        outer: Option<&Arc<Outer>>,
    ) -> Result<()> {
        for q in subs {
            let key = *q as *const Query as usize;
            let correlated = st.correlated.contains(&key);
            if !correlated && st.subqueries.contains_key(&key) {
                continue;
            }
            if !correlated {
                match self.run_query(st, q, None) {
                    Ok(r) => {
                        st.subqueries.insert(key, Arc::new(r.rows));
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::UnknownColumn => {
                        st.correlated.insert(key);
                    }
                    Err(e) => return Err(e),
                }
            }
            let o = Arc::new(Outer {
                columns: cols.clone(),
                values: vals.to_vec(),
                parent: outer.cloned(),
            });
            let r = self.run_query(st, q, Some(&o))?;
            st.subqueries.insert(key, Arc::new(r.rows));
        }
        Ok(())
    }

    /// Computes, once for the statement, the subqueries in `exprs` that
    /// do not read an enclosing row (a DML statement's; those that fail
    /// otherwise are left for the evaluation to report). Returns whether
    /// one reads a column of the row (correlated).
    pub(super) fn precompute_subqueries<'q>(
        &mut self,
        st: &mut StmtState,
        exprs: impl Iterator<Item = &'q Expr>,
    ) -> bool {
        let mut correlated = false;
        for q in subqueries_in(exprs) {
            let key = q as *const Query as usize;
            if st.subqueries.contains_key(&key) {
                continue;
            }
            match self.run_query(st, q, None) {
                Ok(r) => {
                    st.subqueries.insert(key, Arc::new(r.rows));
                }
                Err(e) if e.kind() == ErrorKind::UnknownColumn => correlated = true,
                Err(_) => {}
            }
        }
        correlated
    }

    /// A base table's rows (each with its hidden key column) named after
    /// `name`.
    fn table_relation(&mut self, id: TableId, def: &TableDef, name: &str) -> Result<Relation> {
        let mut columns: Vec<RelColumn> = def
            .columns
            .iter()
            .map(|c| RelColumn {
                table: name.to_string(),
                name: c.name.clone(),
                hidden: false,
            })
            .collect();
        columns.push(RelColumn {
            table: name.to_string(),
            name: KEY_COLUMN.into(),
            hidden: false,
        });
        let keys = self.visit_keys(id);
        check_size(keys.len(), columns.len())?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(row) = self.storage.get(id, &k) {
                let mut v: Vec<Datum> = row.iter().map(Datum::from_value).collect();
                v.push(Datum::Bytes(k));
                rows.push(v);
            }
        }
        Ok(Relation { columns, rows })
    }

    fn factor(
        &mut self,
        st: &mut StmtState,
        t: &TableFactor,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        match t {
            TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => {
                if name.0.len() == 1
                    && let Some(ident) = name.0[0].as_ident()
                    && let Some((_, rel)) = st
                        .ctes
                        .iter()
                        .rev()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&ident.value))
                {
                    let rel = (**rel).clone();
                    let label = alias_of(alias.as_ref()).unwrap_or_else(|| ident.value.clone());
                    return requalify(rel, &label, None);
                }
                let id = self.resolve(name)?;
                let def = self.arc_def(id)?;
                let label = alias_of(alias.as_ref()).unwrap_or_else(|| def.name.clone());
                self.table_relation(id, &def, &label)
            }
            TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
                ..
            } => {
                let Some(a) = alias else {
                    return Err(Error::new(
                        ErrorKind::Parse,
                        "Every derived table must have its own alias",
                    ));
                };
                let rel = self.run_query(st, subquery, None)?;
                requalify(rel, &a.name.value, Some(a))
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.relation_of_from(st, std::slice::from_ref(&**table_with_joins), outer),
            other => Err(Error::unsupported(format!("table reference {other}"))),
        }
    }

    /// The rows of a FROM clause: its items joined.
    pub(super) fn relation_of_from(
        &mut self,
        st: &mut StmtState,
        from: &[TableWithJoins],
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        let mut acc: Option<Relation> = None;
        for twj in from {
            let mut r = self.factor(st, &twj.relation, outer)?;
            for j in &twj.joins {
                let right = self.factor(st, &j.relation, outer)?;
                let (kind, on) = match &j.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::CrossJoin(c)
                    | JoinOperator::StraightJoin(c) => (JoinKind::Inner, c),
                    JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                    JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
                    other => return Err(Error::unsupported(format!("join {other:?}"))),
                };
                let (on, using) = match on {
                    JoinConstraint::On(e) => (Some(e), Vec::new()),
                    JoinConstraint::None => (None, Vec::new()),
                    JoinConstraint::Using(names) => {
                        let mut pairs = Vec::with_capacity(names.len());
                        for n in names {
                            let name = n.to_string();
                            pairs.push(using_pair(&r, &right, &name)?);
                        }
                        (None, pairs)
                    }
                    JoinConstraint::Natural => {
                        let mut pairs = Vec::new();
                        for c in r
                            .columns
                            .iter()
                            .filter(|c| !c.hidden && c.name != KEY_COLUMN)
                        {
                            if find_column(&right.columns, None, &c.name)?.is_some() {
                                pairs.push(using_pair(&r, &right, &c.name)?);
                            }
                        }
                        (None, pairs)
                    }
                };
                let width = r.columns.len();
                r = self.join(st, r, right, kind, (on, &using), outer)?;
                if !using.is_empty() {
                    merge_using(&mut r, width, kind, &using);
                }
            }
            acc = Some(match acc {
                None => r,
                Some(a) => self.join(st, a, r, JoinKind::Inner, (None, &[]), outer)?,
            });
        }
        Ok(acc.unwrap_or(Relation {
            columns: Vec::new(),
            rows: vec![Vec::new()],
        }))
    }

    fn join(
        &mut self,
        st: &mut StmtState,
        left: Relation,
        right: Relation,
        kind: JoinKind,
        (on, using): (Option<&Expr>, &[(usize, usize)]),
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
        let left_width = left.columns.len();
        let mut columns = left.columns.clone();
        columns.extend(right.columns.iter().cloned());
        let cols: Arc<[RelColumn]> = columns.clone().into();
        let (outer_rows, inner_rows, left_first) = match kind {
            JoinKind::Right => (&right.rows, &left.rows, false),
            _ => (&left.rows, &right.rows, true),
        };
        let inner_width = if left_first {
            right.columns.len()
        } else {
            left.columns.len()
        };
        let mut rows = Vec::new();
        for a in outer_rows {
            let mut matched = false;
            for b in inner_rows {
                let mut row = Vec::with_capacity(cols.len());
                if left_first {
                    row.extend(a.iter().cloned());
                    row.extend(b.iter().cloned());
                } else {
                    row.extend(b.iter().cloned());
                    row.extend(a.iter().cloned());
                }
                if !using
                    .iter()
                    .all(|&(l, r)| compare(&row[l], &row[left_width + r]) == Some(Ordering::Equal))
                {
                    continue;
                }
                if let Some(e) = on {
                    let scope = Scope {
                        rel: Some((&cols, &row)),
                        outer: outer.map(|o| &**o),
                        ..Scope::default()
                    };
                    if self.eval_here(st, e, &scope, &cols, outer)?.truth() != Some(true) {
                        continue;
                    }
                }
                matched = true;
                check_size(rows.len() + 1, cols.len())?;
                rows.push(row);
            }
            if !matched && kind != JoinKind::Inner {
                let nulls = std::iter::repeat_n(Datum::Null, inner_width);
                let row: Vec<Datum> = if left_first {
                    a.iter().cloned().chain(nulls).collect()
                } else {
                    nulls.chain(a.iter().cloned()).collect()
                };
                check_size(rows.len() + 1, cols.len())?;
                rows.push(row);
            }
        }
        Ok(Relation { columns, rows })
    }

    /// One SELECT (not a set operation), ordered and cut by `sh`.
    fn select_one(
        &mut self,
        st: &mut StmtState,
        sel: &Select,
        sh: &Shape<'_>,
        outer: Option<&Arc<Outer>>,
    ) -> Result<Relation> {
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
            return Err(Error::unsupported(
                "SELECT clause (TOP / INTO / named windows)",
            ));
        }
        if sel.from.is_empty() && sel.selection.is_some() {
            return Err(Error::unsupported("WHERE without FROM"));
        }
        // The rows of FROM, filtered by WHERE. One table without an alias,
        // outside a subquery, whose WHERE holds no subquery: the key
        // lookups of `candidate_rows` apply.
        let single = match sel.from.as_slice() {
            [t] if t.joins.is_empty()
                && outer.is_none()
                && sel
                    .selection
                    .as_ref()
                    .is_none_or(|w| subqueries_in(std::iter::once(w)).is_empty()) =>
            {
                match &t.relation {
                    TableFactor::Table {
                        name, alias: None, ..
                    } if !self.is_cte(st, name) => Some(self.single_table(t)?),
                    _ => None,
                }
            }
            _ => None,
        };
        let mut src = match single {
            Some(id) => {
                let def = self.arc_def(id)?;
                let mut columns: Vec<RelColumn> = def
                    .columns
                    .iter()
                    .map(|c| RelColumn {
                        table: def.name.clone(),
                        name: c.name.clone(),
                        hidden: false,
                    })
                    .collect();
                columns.push(RelColumn {
                    table: def.name.clone(),
                    name: KEY_COLUMN.into(),
                    hidden: false,
                });
                let found = self.candidate_rows(st, id, &def, sel.selection.as_ref())?;
                check_size(found.len(), columns.len())?;
                let rows = found
                    .into_iter()
                    .map(|(k, row)| {
                        let mut v: Vec<Datum> = row.iter().map(Datum::from_value).collect();
                        v.push(Datum::Bytes(k));
                        v
                    })
                    .collect();
                Relation { columns, rows }
            }
            None => {
                let mut rel = self.relation_of_from(st, &sel.from, outer)?;
                if let Some(w) = &sel.selection {
                    let cols: Arc<[RelColumn]> = rel.columns.clone().into();
                    let mut kept = Vec::with_capacity(rel.rows.len());
                    for row in std::mem::take(&mut rel.rows) {
                        let scope = Scope {
                            rel: Some((&cols, &row)),
                            outer: outer.map(|o| &**o),
                            ..Scope::default()
                        };
                        if self.eval_here(st, w, &scope, &cols, outer)?.truth() == Some(true) {
                            kept.push(row);
                        }
                    }
                    rel.rows = kept;
                }
                rel
            }
        };
        let cols: Arc<[RelColumn]> = std::mem::take(&mut src.columns).into();
        let source = src.rows;
        // Projection names.
        let mut columns = Vec::new();
        for item in &sel.projection {
            match item {
                SelectItem::UnnamedExpr(e) => columns.push(column_name(e)),
                SelectItem::ExprWithAlias { alias, .. } => columns.push(alias.value.clone()),
                SelectItem::Wildcard(_) => {
                    columns.extend(star(&cols, None).map(|i| cols[i].name.clone()))
                }
                SelectItem::QualifiedWildcard(
                    sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let before = columns.len();
                    columns.extend(star(&cols, Some(n)).map(|i| cols[i].name.clone()));
                    if columns.len() == before {
                        return Err(Error::new(
                            ErrorKind::UnknownTable,
                            format!("Unknown table '{n}'"),
                        ));
                    }
                }
                other => return Err(Error::unsupported(format!("select item {other}"))),
            }
        }
        let exprs = || {
            sel.projection.iter().filter_map(|i| match i {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
                _ => None,
            })
        };
        let roots = exprs()
            .chain(sel.having.iter())
            .chain(sh.order.iter().map(|o| &o.expr));
        let aggs = aggregate_calls(roots);
        let windows = window_calls(exprs());
        let oscope = outer.map(|o| &**o);
        let mut out: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::new();
        if !group_by.is_empty() || !aggs.is_empty() || sel.having.is_some() {
            if !windows.is_empty() {
                return Err(Error::unsupported("window functions in a grouped query"));
            }
            // A grouped query: one output row per group.
            let mut groups: Vec<(Vec<Datum>, Vec<usize>)> = Vec::new();
            for (i, row) in source.iter().enumerate() {
                let scope = Scope {
                    rel: Some((&cols, row)),
                    outer: oscope,
                    ..Scope::default()
                };
                let mut key = Vec::with_capacity(group_by.len());
                for g in group_by {
                    key.push(match position(g) {
                        Some(_) => {
                            return Err(Error::unsupported("GROUP BY position"));
                        }
                        None => self.eval_here(st, g, &scope, &cols, outer)?,
                    });
                }
                match groups.iter_mut().find(|(k, _)| same_row(k, &key)) {
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
            let no_row: Vec<Datum> = vec![Datum::Null; cols.len()];
            for (_, rows) in &groups {
                let mut values = Vec::with_capacity(aggs.len());
                for f in &aggs {
                    let v = self.aggregate(st, f, &cols, &source, rows, outer)?;
                    values.push((*f as *const Function, v));
                }
                let first = rows.first().map_or(&no_row, |&i| &source[i]);
                let scope = Scope {
                    rel: Some((&cols, first)),
                    outer: oscope,
                    aggregates: Some(&values),
                    ..Scope::default()
                };
                let vals = self.project(st, sel, &scope, &cols, first, outer)?;
                let named = Scope {
                    aliases: Some((&columns, &vals)),
                    ..scope
                };
                if let Some(h) = &sel.having
                    && self.eval_here(st, h, &named, &cols, outer)?.truth() != Some(true)
                {
                    continue;
                }
                let mut keys = Vec::new();
                for o in &sh.order {
                    keys.push(match position(&o.expr) {
                        Some(i) => vals.get(i.wrapping_sub(1)).cloned().unwrap_or(Datum::Null),
                        None => self.eval_here(st, &o.expr, &named, &cols, outer)?,
                    });
                }
                out.push((keys, vals));
            }
        } else {
            let win = if windows.is_empty() {
                Vec::new()
            } else {
                self.window_values(st, &windows, &cols, &source, outer)?
            };
            for (r, row) in source.iter().enumerate() {
                let wv: Vec<(*const Function, Datum)> = windows
                    .iter()
                    .zip(&win)
                    .map(|(f, v)| (*f as *const Function, v[r].clone()))
                    .collect();
                let scope = Scope {
                    rel: Some((&cols, row)),
                    outer: oscope,
                    aggregates: if wv.is_empty() { None } else { Some(&wv) },
                    ..Scope::default()
                };
                let vals = self.project(st, sel, &scope, &cols, row, outer)?;
                let mut keys = Vec::new();
                for o in &sh.order {
                    let k = match position(&o.expr) {
                        Some(i) => vals.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{i}' in 'order clause'"),
                            )
                        })?,
                        None => {
                            let named = Scope {
                                aliases: Some((&columns, &vals)),
                                ..scope
                            };
                            self.eval_here(st, &o.expr, &named, &cols, outer)?
                        }
                    };
                    keys.push(k);
                }
                out.push((keys, vals));
            }
        }
        if distinct {
            let mut kept: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::with_capacity(out.len());
            for (k, v) in out {
                if !kept.iter().any(|(_, w)| same_row(w, &v)) {
                    kept.push((k, v));
                }
            }
            out = kept;
        }
        if !sh.order.is_empty() {
            let desc: Vec<bool> = sh
                .order
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            out.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
        }
        let mut rows: Vec<Vec<Datum>> = out.into_iter().map(|(_, v)| v).collect();
        self.cut(st, &mut rows, sh, !sel.from.is_empty())?;
        Ok(Relation {
            columns: columns
                .into_iter()
                .map(|name| RelColumn {
                    table: String::new(),
                    name,
                    hidden: false,
                })
                .collect(),
            rows,
        })
    }

    fn is_cte(&self, st: &StmtState, name: &ObjectName) -> bool {
        name.0.len() == 1
            && name.0[0].as_ident().is_some_and(|i| {
                st.ctes
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(&i.value))
            })
    }

    /// The value of every window call in `calls` for every row of
    /// `source`: `[call][row]`. The frame is the SQL default: the whole
    /// partition without ORDER BY, else from its start to the row's last
    /// peer.
    fn window_values(
        &mut self,
        st: &mut StmtState,
        calls: &[&Function],
        cols: &Arc<[RelColumn]>,
        source: &[Vec<Datum>],
        outer: Option<&Arc<Outer>>,
    ) -> Result<Vec<Vec<Datum>>> {
        let mut result = Vec::with_capacity(calls.len());
        for f in calls {
            let Some(WindowType::WindowSpec(spec)) = &f.over else {
                return Err(Error::unsupported(format!("window {f}")));
            };
            if spec.window_frame.is_some() || spec.window_name.is_some() {
                return Err(Error::unsupported(format!("window frame in {f}")));
            }
            // Partition and order keys of every row.
            let mut keyed = Vec::with_capacity(source.len());
            for (i, row) in source.iter().enumerate() {
                let scope = Scope {
                    rel: Some((cols, row)),
                    outer: outer.map(|o| &**o),
                    ..Scope::default()
                };
                let mut part = Vec::new();
                for e in &spec.partition_by {
                    part.push(self.eval_here(st, e, &scope, cols, outer)?);
                }
                let mut ord = Vec::new();
                for o in &spec.order_by {
                    ord.push(self.eval_here(st, &o.expr, &scope, cols, outer)?);
                }
                keyed.push((part, ord, i));
            }
            let desc: Vec<bool> = spec
                .order_by
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            let asc = vec![false; spec.partition_by.len()];
            keyed.sort_by(|a, b| {
                cmp_sort_keys(&a.0, &b.0, &asc)
                    .then_with(|| cmp_sort_keys(&a.1, &b.1, &desc))
                    .then(a.2.cmp(&b.2))
            });
            let name = f.name.to_string().to_ascii_uppercase();
            let args: Vec<&Expr> = match &f.args {
                FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut values = vec![Datum::Null; source.len()];
            let mut start = 0;
            while start < keyed.len() {
                let mut end = start + 1;
                while end < keyed.len()
                    && cmp_sort_keys(&keyed[start].0, &keyed[end].0, &asc) == Ordering::Equal
                    && same_row(&keyed[start].0, &keyed[end].0)
                {
                    end += 1;
                }
                let part = &keyed[start..end];
                let members: Vec<usize> = part.iter().map(|k| k.2).collect();
                // Where each row's peers (same order key) end.
                let mut peer_end = vec![0; part.len()];
                let mut rank = vec![0; part.len()];
                let mut dense = vec![0; part.len()];
                let mut p = 0;
                let mut d = 0;
                while p < part.len() {
                    let mut q = p + 1;
                    while q < part.len()
                        && cmp_sort_keys(&part[p].1, &part[q].1, &desc) == Ordering::Equal
                    {
                        q += 1;
                    }
                    d += 1;
                    for k in p..q {
                        peer_end[k] = q;
                        rank[k] = p + 1;
                        dense[k] = d;
                    }
                    p = q;
                }
                let ordered = !spec.order_by.is_empty();
                for (pos, k) in part.iter().enumerate() {
                    let row = k.2;
                    let frame_end = if ordered { peer_end[pos] } else { part.len() };
                    let v = match name.as_str() {
                        "ROW_NUMBER" => Datum::Int(pos as i64 + 1),
                        "RANK" => Datum::Int(rank[pos] as i64),
                        "DENSE_RANK" => Datum::Int(dense[pos] as i64),
                        "LAG" | "LEAD" => {
                            let off = match args.get(1) {
                                Some(e) => {
                                    let scope = Scope {
                                        rel: Some((cols, &source[row])),
                                        ..Scope::default()
                                    };
                                    self.eval_here(st, e, &scope, cols, outer)?.to_i64()
                                }
                                None => 1,
                            };
                            let at = if name == "LAG" {
                                (pos as i64).checked_sub(off)
                            } else {
                                (pos as i64).checked_add(off)
                            };
                            let target = at
                                .and_then(|a| usize::try_from(a).ok())
                                .filter(|&a| a < part.len());
                            match (target, args.first()) {
                                (Some(t), Some(e)) => {
                                    let scope = Scope {
                                        rel: Some((cols, &source[part[t].2])),
                                        ..Scope::default()
                                    };
                                    self.eval_here(st, e, &scope, cols, outer)?
                                }
                                (None, _) => match args.get(2) {
                                    Some(e) => {
                                        let scope = Scope {
                                            rel: Some((cols, &source[row])),
                                            ..Scope::default()
                                        };
                                        self.eval_here(st, e, &scope, cols, outer)?
                                    }
                                    None => Datum::Null,
                                },
                                (Some(_), None) => {
                                    return Err(Error::unsupported(format!("{name}()")));
                                }
                            }
                        }
                        "FIRST_VALUE" | "LAST_VALUE" => {
                            let t = if name == "FIRST_VALUE" {
                                0
                            } else {
                                frame_end - 1
                            };
                            let Some(e) = args.first() else {
                                return Err(Error::unsupported(format!("{name}()")));
                            };
                            let scope = Scope {
                                rel: Some((cols, &source[part[t].2])),
                                ..Scope::default()
                            };
                            self.eval_here(st, e, &scope, cols, outer)?
                        }
                        "COUNT" | "SUM" | "AVG" | "MIN" | "MAX" => {
                            self.aggregate(st, f, cols, source, &members[..frame_end], outer)?
                        }
                        _ => return Err(Error::unsupported(format!("window function {name}()"))),
                    };
                    values[row] = v;
                }
                start = end;
            }
            result.push(values);
        }
        Ok(result)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinKind {
    Inner,
    Left,
    Right,
}

/// Whether `q` reads a table named `name` (a recursive CTE's own name).
fn refers_to(q: &Query, name: &str) -> bool {
    sqlparser::ast::visit_relations(q, |r| {
        if r.0.len() == 1
            && r.0[0]
                .as_ident()
                .is_some_and(|i| i.value.eq_ignore_ascii_case(name))
        {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .is_break()
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
fn is_aggregate(f: &Function) -> bool {
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

/// The operands of an expression the engine looks into for aggregate,
/// window and subquery calls (subqueries themselves excluded).
fn children(e: &Expr) -> Vec<&Expr> {
    let mut v: Vec<&Expr> = Vec::new();
    match e {
        Expr::Function(f) => {
            if let FunctionArguments::List(l) = &f.args {
                for a in &l.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                        v.push(x);
                    }
                }
            }
        }
        Expr::BinaryOp { left, right, .. } => v.extend([&**left, &**right]),
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::Cast { expr, .. }
        | Expr::InSubquery { expr, .. } => v.push(expr),
        Expr::InList { expr, list, .. } => {
            v.push(expr);
            v.extend(list.iter());
        }
        Expr::Between {
            expr, low, high, ..
        } => v.extend([&**expr, &**low, &**high]),
        Expr::Like { expr, pattern, .. } | Expr::RLike { expr, pattern, .. } => {
            v.extend([&**expr, &**pattern]);
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            v.extend(operand.as_deref());
            for c in conditions {
                v.extend([&c.condition, &c.result]);
            }
            v.extend(else_result.as_deref());
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            v.push(expr);
            v.extend(substring_from.as_deref());
            v.extend(substring_for.as_deref());
        }
        Expr::Trim {
            expr, trim_what, ..
        } => {
            v.push(expr);
            v.extend(trim_what.as_deref());
        }
        Expr::Tuple(items) => v.extend(items.iter()),
        Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
            v.extend([&**left, &**right]);
        }
        _ => {}
    }
    v
}

/// Calls in `roots` that `pick` selects (not looking into them), found
/// with an explicit stack (no recursion, however deep the expressions).
fn calls_in<'q>(
    roots: impl Iterator<Item = &'q Expr>,
    pick: impl Fn(&Function) -> bool,
) -> Vec<&'q Function> {
    let mut out = Vec::new();
    let mut stack: Vec<&Expr> = roots.collect();
    while let Some(e) = stack.pop() {
        match e {
            Expr::Function(f) if pick(f) => out.push(f),
            other => stack.extend(children(other)),
        }
    }
    out
}

/// The aggregate calls in `roots`.
fn aggregate_calls<'q>(roots: impl Iterator<Item = &'q Expr>) -> Vec<&'q Function> {
    calls_in(roots, is_aggregate)
}

/// The window calls (`f(…) OVER (…)`) in `roots`.
fn window_calls<'q>(roots: impl Iterator<Item = &'q Expr>) -> Vec<&'q Function> {
    calls_in(roots, |f| f.over.is_some())
}

/// The subqueries in `roots`, not those nested in them.
pub(super) fn subqueries_in<'q>(roots: impl Iterator<Item = &'q Expr>) -> Vec<&'q Query> {
    let mut out = Vec::new();
    let mut stack: Vec<&Expr> = roots.collect();
    while let Some(e) = stack.pop() {
        match e {
            Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => out.push(&**q),
            Expr::InSubquery { subquery, expr, .. } => {
                out.push(&**subquery);
                stack.push(expr);
            }
            other => stack.extend(children(other)),
        }
    }
    out
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// The value of aggregate call `f` over the rows `rows` of `source`.
    fn aggregate(
        &mut self,
        st: &mut StmtState,
        f: &Function,
        cols: &Arc<[RelColumn]>,
        source: &[Vec<Datum>],
        rows: &[usize],
        outer: Option<&Arc<Outer>>,
    ) -> Result<Datum> {
        use sqlparser::ast::DuplicateTreatment;
        let name = f.name.to_string().to_ascii_uppercase();
        let FunctionArguments::List(l) = &f.args else {
            return Err(Error::unsupported(format!("aggregate {f}")));
        };
        if f.filter.is_some() || !f.within_group.is_empty() {
            return Err(Error::unsupported(format!("aggregate {f}")));
        }
        let mut separator = ",".to_string();
        let mut order: &[OrderByExpr] = &[];
        for c in &l.clauses {
            match c {
                FunctionArgumentClause::Separator(v) if name == "GROUP_CONCAT" => {
                    separator = match &v.value {
                        sqlparser::ast::Value::SingleQuotedString(s)
                        | sqlparser::ast::Value::DoubleQuotedString(s) => s.clone(),
                        other => other.to_string(),
                    }
                }
                FunctionArgumentClause::OrderBy(o) if name == "GROUP_CONCAT" => order = o,
                _ => return Err(Error::unsupported(format!("aggregate {f}"))),
            }
        }
        let distinct = matches!(l.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let args: Vec<&Expr> = match l.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if name == "COUNT" && !distinct => {
                return Ok(Datum::Int(rows.len() as i64));
            }
            list => {
                let mut v = Vec::new();
                for a in list {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => v.push(x),
                        _ => return Err(Error::unsupported(format!("aggregate {f}"))),
                    }
                }
                v
            }
        };
        if args.is_empty() || (args.len() > 1 && !matches!(name.as_str(), "GROUP_CONCAT" | "COUNT"))
        {
            return Err(Error::unsupported(format!("aggregate {f}")));
        }
        // (value, sort keys) of every row where no argument is NULL.
        let mut values: Vec<(Datum, Vec<Datum>)> = Vec::new();
        let mut tuples: Vec<Vec<Datum>> = Vec::new();
        'rows: for &i in rows {
            let scope = Scope {
                rel: Some((cols, &source[i])),
                outer: outer.map(|o| &**o),
                ..Scope::default()
            };
            let mut tuple = Vec::with_capacity(args.len());
            for a in &args {
                let v = self.eval_here(st, a, &scope, cols, outer)?;
                if v.is_null() {
                    continue 'rows;
                }
                tuple.push(v);
            }
            if distinct && tuples.iter().any(|t| same_row(t, &tuple)) {
                continue;
            }
            let mut keys = Vec::with_capacity(order.len());
            for o in order {
                keys.push(match position(&o.expr) {
                    Some(p) => tuple.get(p.wrapping_sub(1)).cloned().unwrap_or(Datum::Null),
                    None => self.eval_here(st, &o.expr, &scope, cols, outer)?,
                });
            }
            let v = if name == "GROUP_CONCAT" {
                let mut s = String::new();
                for x in &tuple {
                    s.push_str(&x.to_text().unwrap_or_default());
                }
                Datum::Str(s)
            } else {
                tuple[0].clone()
            };
            if distinct {
                tuples.push(tuple);
            }
            values.push((v, keys));
        }
        if name == "GROUP_CONCAT" {
            if values.is_empty() {
                return Ok(Datum::Null);
            }
            if !order.is_empty() {
                let desc: Vec<bool> = order
                    .iter()
                    .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                    .collect();
                values.sort_by(|a, b| cmp_sort_keys(&a.1, &b.1, &desc));
            }
            let mut s = String::new();
            for (i, (v, _)) in values.iter().enumerate() {
                if i > 0 {
                    s.push_str(&separator);
                }
                s.push_str(&v.to_text().unwrap_or_default());
                // group_concat_max_len's default: the result is cut there.
                if s.len() > GROUP_CONCAT_MAX_LEN {
                    let mut cut = GROUP_CONCAT_MAX_LEN;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                    st.warnings
                        .push(format!("Row {} was cut by GROUP_CONCAT()", i + 1));
                    break;
                }
            }
            return Ok(Datum::Str(s));
        }
        let values: Vec<Datum> = values.into_iter().map(|(v, _)| v).collect();
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

/// MariaDB's default `group_concat_max_len`.
const GROUP_CONCAT_MAX_LEN: usize = 1 << 20;
