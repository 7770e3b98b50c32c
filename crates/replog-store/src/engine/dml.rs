//! DML: INSERT (with ON DUPLICATE KEY UPDATE and REPLACE), UPDATE and
//! DELETE, the row lookups they share, and the conversion of values into
//! the columns they are stored in.

use super::*;
use crate::storage::{KeyConflict, KeyScan};
use std::ops::Bound;

/// Rows with their primary keys.
type KeyedRows = Vec<(Vec<u8>, Row)>;

/// The rows of one table an UPDATE or DELETE targets: its WHERE, ORDER BY
/// and LIMIT.
#[derive(Clone, Copy)]
pub(super) struct TargetRows<'a> {
    id: TableId,
    def: &'a TableDef,
    selection: Option<&'a Expr>,
    order_by: &'a [sqlparser::ast::OrderByExpr],
    limit: Option<&'a Expr>,
}

impl<S: Storage, E: Environment> Store<S, E> {
    pub(super) fn dml(
        &mut self,
        sql: &str,
        f: impl FnOnce(&mut Self, &mut StmtState, &mut Vec<RowChange>) -> Result<u64>,
    ) -> Result<StatementResult> {
        let mut st = self.start_statement(true);
        if self.open.is_none() {
            self.open = Some(OpenTxn {
                statements: Vec::new(),
                state_before: self.digest(),
                timestamp_us: st.now_us,
                explicit: false,
                savepoints: Vec::new(),
            });
        }
        if let Some(t) = self.open.as_mut()
            && t.statements.is_empty()
        {
            t.timestamp_us = st.now_us;
        }
        let mark = self.undo.len();
        let mut changes = Vec::new();
        match f(self, &mut st, &mut changes) {
            Ok(affected) => {
                if let Some(v) = st.first_generated {
                    self.session.last_insert_id = v;
                    st.ctx.insert_id = Some(st.insert_id_forced.map_or(v, |_| v));
                }
                if let Some(v) = st.set_last_insert_id {
                    self.session.last_insert_id = v;
                }
                st.ctx.insert_id = st.first_generated;
                let captured = CapturedStatement {
                    sql: sql.to_string(),
                    context: st.ctx,
                    is_ddl: false,
                    changes,
                    unsafe_reasons: st.unsafe_reasons,
                };
                let autocommit = self.session.autocommit;
                if let Some(t) = self.open.as_mut() {
                    t.statements.push(captured);
                    if !t.explicit && autocommit {
                        self.commit_open()?;
                    }
                }
                Ok(StatementResult {
                    affected_rows: affected,
                    result: None,
                    warnings: st.warnings,
                })
            }
            Err(e) => {
                self.undo_to(mark);
                if let Some(t) = &self.open
                    && !t.explicit
                    && self.session.autocommit
                {
                    self.open = None;
                    self.storage.rollback();
                }
                Err(e)
            }
        }
    }

    pub(super) fn visit_keys(&mut self, id: TableId) -> Vec<Vec<u8>> {
        let mut keys = self.storage.keys(id);
        let order = self.env.visit_order();
        self.put_in_order(&mut keys, order);
        keys
    }

    /// Puts `keys` (in key order) in `order`: as they are, reversed, or
    /// shuffled by the environment's random numbers.
    fn put_in_order(&mut self, keys: &mut [Vec<u8>], order: VisitOrder) {
        match order {
            VisitOrder::Forward => {}
            VisitOrder::Reverse => keys.reverse(),
            VisitOrder::Shuffled => {
                for i in (1..keys.len()).rev() {
                    let j = (self.env.random_u64() % (i as u64 + 1)) as usize;
                    keys.swap(i, j);
                }
            }
        }
    }

    /// Rows of `id` matching `selection` in visit order: `(primary key,
    /// row)`. A WHERE that pins the primary key or a unique key visits only
    /// the rows with those keys (see `lookup`), in the order a scan would.
    pub(super) fn candidate_rows(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        selection: Option<&Expr>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let keys = match selection.and_then(|w| self.probe_keys(st, id, def, w)) {
            Some(keys) => keys,
            None => self.visit_keys(id),
        };
        let mut out = Vec::new();
        for k in keys {
            self.push_if_selected(st, id, def, selection, k, &mut out)?;
        }
        Ok(out)
    }

    /// Reads the row with primary key `k` and pushes it to `out` if
    /// `selection` accepts it.
    fn push_if_selected(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        selection: Option<&Expr>,
        k: Vec<u8>,
        out: &mut Vec<(Vec<u8>, Row)>,
    ) -> Result<()> {
        // Borrowed where the storage can: a row the WHERE rejects is not
        // copied.
        let Some(row) = self.storage.get_ref(id, &k) else {
            return Ok(());
        };
        self.rows_read += 1;
        if let Some(w) = selection {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            if cx
                .eval(
                    w,
                    &Scope {
                        row: Some((def, &row)),
                        ..Scope::default()
                    },
                )?
                .truth()
                != Some(true)
            {
                return Ok(());
            }
        }
        out.push((k, row.into_owned()));
        Ok(())
    }

    /// `ORDER BY` the primary key with `LIMIT` (`limit`, the target's):
    /// the first matching rows in key order (reversed for DESC), read by
    /// walking the keys and stopping at the limit, where that gives what
    /// sorting every matching row would (see `lookup::key_order`); `None`
    /// otherwise. Within a key range when the WHERE bounds the key.
    fn first_rows_by_key(
        &mut self,
        st: &mut StmtState,
        target: TargetRows<'_>,
        limit: &Expr,
    ) -> Result<Option<KeyedRows>> {
        let TargetRows {
            id,
            def,
            selection,
            order_by,
            ..
        } = target;
        let Some(desc) = lookup::key_order(def, order_by) else {
            return Ok(None);
        };
        if self.env.visit_order() == VisitOrder::Shuffled || !self.storage.canonical_int_keys(id) {
            return Ok(None);
        }
        // The span of the WHERE's key ranges, if it has some.
        let mut start: Bound<Vec<u8>> = Bound::Unbounded;
        let mut end: Bound<Vec<u8>> = Bound::Unbounded;
        if let Some(w) = selection {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            let mut eval = |e: &Expr| cx.eval(e, &Scope::default()).ok();
            if !lookup::pure_where(def, w, &mut eval) {
                return Ok(None);
            }
            match lookup::plan(def, w, true, &mut eval) {
                // A few pinned keys: the usual lookup.
                Some(p) if !p.iter().all(|p| matches!(p, Probe::PrimaryRange(_))) => {
                    return Ok(None);
                }
                Some(p) => {
                    let (Some(lo), Some(hi)) = (
                        p.iter()
                            .filter_map(|p| match p {
                                Probe::PrimaryRange(r) => Some(&r.start),
                                _ => None,
                            })
                            .min(),
                        p.iter()
                            .map(|p| match p {
                                Probe::PrimaryRange(r) => r.end.as_ref(),
                                _ => None,
                            })
                            .max_by(|a, b| match (a, b) {
                                (None, None) => Ordering::Equal,
                                (None, _) => Ordering::Greater,
                                (_, None) => Ordering::Less,
                                (Some(a), Some(b)) => a.cmp(b),
                            }),
                    ) else {
                        // No range: no row can match.
                        return Ok(Some(Vec::new()));
                    };
                    start = Bound::Included(lo.clone());
                    end = hi.map_or(Bound::Unbounded, |h| Bound::Excluded(h.clone()));
                }
                None => {}
            }
        }
        let n = self.limit_value(st, limit)?;
        let mut out = Vec::new();
        let mut batch = n.clamp(16, 4096);
        while out.len() < n {
            let keys = self.storage.key_range(
                id,
                KeyScan {
                    start: start.as_ref().map(Vec::as_slice),
                    end: end.as_ref().map(Vec::as_slice),
                    reverse: desc,
                    max: batch,
                },
            );
            let done = keys.len() < batch;
            if let Some(last) = keys.last() {
                if desc {
                    end = Bound::Excluded(last.clone());
                } else {
                    start = Bound::Excluded(last.clone());
                }
            }
            for k in keys {
                if out.len() == n {
                    break;
                }
                self.push_if_selected(st, id, def, selection, k, &mut out)?;
            }
            if done {
                break;
            }
            batch = batch.saturating_mul(2).min(1 << 16);
        }
        Ok(Some(out))
    }

    /// The primary keys to visit for a WHERE that pins a key, in visit
    /// order; `None` to scan.
    pub(super) fn probe_keys(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        w: &Expr,
    ) -> Option<Vec<Vec<u8>>> {
        let order = self.env.visit_order();
        if order == VisitOrder::Shuffled && !self.env.shuffle_key_lookups() {
            return None;
        }
        let canonical = self.storage.canonical_int_keys(id);
        let probes = {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            lookup::plan(def, w, canonical, &mut |e| {
                cx.eval(e, &Scope::default()).ok()
            })?
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for p in probes {
            match p {
                Probe::Primary(k) => keys.push(k),
                Probe::Unique(i, k) => keys.extend(self.storage.unique_lookup(id, i, &k)),
                Probe::PrimaryRange(r) => keys.extend(
                    self.storage
                        .key_range(id, KeyScan::forward(&r.start, r.end.as_deref())),
                ),
                Probe::UniqueRange(i, r) => keys.extend(self.storage.unique_range(
                    id,
                    i,
                    KeyScan::forward(&r.start, r.end.as_deref()),
                )),
            }
        }
        keys.sort_unstable();
        keys.dedup();
        // Shuffled only with `shuffle_key_lookups`: the pinned keys in a
        // random order, as `visit_keys` shuffles a scan.
        self.put_in_order(&mut keys, order);
        Some(keys)
    }

    /// The rows `target` asks for, ordered and limited: `(primary key,
    /// row)`.
    pub(super) fn matching_rows(
        &mut self,
        st: &mut StmtState,
        target: TargetRows<'_>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let TargetRows {
            id,
            def,
            selection,
            order_by,
            limit,
        } = target;
        if let Some(l) = limit
            && let Some(rows) = self.first_rows_by_key(st, target, l)?
        {
            return Ok(rows);
        }
        let mut out = self.candidate_rows(st, id, def, selection)?;
        if !order_by.is_empty() {
            let mut keyed = Vec::with_capacity(out.len());
            for (k, row) in out {
                let mut sort_keys = Vec::new();
                for o in order_by {
                    let mut cx = Ctx {
                        session: &mut self.session,
                        env: &mut self.env,
                        stmt: st,
                    };
                    sort_keys.push(cx.eval(
                        &o.expr,
                        &Scope {
                            row: Some((def, &row)),
                            ..Scope::default()
                        },
                    )?);
                }
                keyed.push((sort_keys, k, row));
            }
            let desc: Vec<bool> = order_by
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            keyed.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
            out = keyed.into_iter().map(|(_, k, r)| (k, r)).collect();
        }
        if let Some(l) = limit {
            if order_by.is_empty() {
                push_reason(st, "LIMIT without ORDER BY");
            }
            let n = self.limit_value(st, l)?;
            out.truncate(n);
        }
        Ok(out)
    }

    pub(super) fn limit_value(&mut self, st: &mut StmtState, l: &Expr) -> Result<usize> {
        let mut cx = Ctx {
            session: &mut self.session,
            env: &mut self.env,
            stmt: st,
        };
        let v = cx.eval(l, &Scope::default())?;
        match v {
            Datum::Int(i) if i >= 0 => Ok(usize::try_from(i).unwrap_or(usize::MAX)),
            Datum::UInt(u) => Ok(usize::try_from(u).unwrap_or(usize::MAX)),
            _ => Err(Error::new(
                ErrorKind::BadValue,
                "LIMIT needs a non-negative integer",
            )),
        }
    }

    pub(super) fn insert(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        ins: &Insert,
    ) -> Result<u64> {
        if ins.or.is_some()
            || ins.table_alias.is_some()
            || ins.overwrite
            || !ins.assignments.is_empty()
            || ins.partitioned.is_some()
            || !ins.after_columns.is_empty()
            || ins.returning.is_some()
            || ins.insert_alias.is_some()
            || ins.settings.is_some()
            || ins.format_clause.is_some()
            || matches!(ins.on, Some(OnInsert::OnConflict(_)))
        {
            return Err(Error::unsupported(
                "INSERT variant (SET / aliases / RETURNING / ON CONFLICT / PARTITION)",
            ));
        }
        let TableObject::TableName(name) = &ins.table else {
            return Err(Error::unsupported("INSERT INTO a table function"));
        };
        let id = self.resolve(name)?;
        let def = self.arc_def(id)?;
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..def.columns.len()).collect()
        } else {
            ins.columns
                .iter()
                .map(|c| {
                    let n =
                        c.0.last()
                            .and_then(|p| p.as_ident())
                            .map(|i| i.value.clone())
                            .unwrap_or_default();
                    def.column_index(&n).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UnknownColumn,
                            format!("Unknown column '{n}' in 'field list'"),
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        let source = ins
            .source
            .as_ref()
            .ok_or_else(|| Error::unsupported("INSERT without VALUES or SELECT"))?;
        // Source rows: expressions (VALUES) or materialized datums (SELECT).
        enum Src<'q> {
            Exprs(Vec<&'q [Expr]>),
            Rows(Vec<Vec<Datum>>),
        }
        let src = match source.body.as_ref() {
            SetExpr::Values(v)
                if source.order_by.is_none()
                    && source.limit_clause.is_none()
                    && source.with.is_none() =>
            {
                self.precompute_subqueries(st, v.rows.iter().flat_map(|r| r.content.iter()));
                Src::Exprs(v.rows.iter().map(|r| r.content.as_slice()).collect())
            }
            _ => {
                let ordered = source.order_by.is_some();
                let rs = self.select(st, source)?;
                if !ordered {
                    push_reason(st, "INSERT ... SELECT without ORDER BY");
                }
                Src::Rows(rs.rows)
            }
        };
        let n = match &src {
            Src::Exprs(r) => r.len(),
            Src::Rows(r) => r.len(),
        };
        let mut affected = 0u64;
        for i in 0..n {
            let given: Vec<Option<Datum>> = match &src {
                Src::Exprs(rows) => {
                    let r = rows[i];
                    if r.len() != targets.len() {
                        return Err(Error::new(
                            ErrorKind::ColumnCount,
                            format!("Column count doesn't match value count at row {}", i + 1),
                        ));
                    }
                    let mut out = Vec::with_capacity(r.len());
                    for e in r {
                        if matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("DEFAULT"))
                        {
                            out.push(None);
                        } else {
                            let mut cx = Ctx {
                                session: &mut self.session,
                                env: &mut self.env,
                                stmt: st,
                            };
                            out.push(Some(cx.eval(e, &Scope::default())?));
                        }
                    }
                    out
                }
                Src::Rows(rows) => {
                    if rows[i].len() != targets.len() {
                        return Err(Error::new(
                            ErrorKind::ColumnCount,
                            format!("Column count doesn't match value count at row {}", i + 1),
                        ));
                    }
                    rows[i].iter().cloned().map(Some).collect()
                }
            };
            let row = self.build_row(st, id, &def, &targets, given, i + 1)?;
            affected += self.insert_row(st, changes, id, &def, row, ins)?;
        }
        Ok(affected)
    }

    pub(super) fn build_row(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        targets: &[usize],
        given: Vec<Option<Datum>>,
        row_no: usize,
    ) -> Result<Row> {
        let mut slots: Vec<Option<Option<Datum>>> = vec![None; def.columns.len()];
        for (&c, v) in targets.iter().zip(given) {
            slots[c] = Some(v);
        }
        let mut row = Vec::with_capacity(def.columns.len());
        for (ci, col) in def.columns.iter().enumerate() {
            let at = StoreAt {
                column: col,
                row: row_no,
            };
            let explicit = match &slots[ci] {
                Some(Some(d)) => Some(d.clone()),
                _ => None,
            };
            if col.auto_increment {
                let v = match &explicit {
                    Some(d) if !d.is_null() => store(d, &at)?,
                    _ => Value::Null,
                };
                let n = match &v {
                    Value::Int(i) => u64::try_from(*i).ok(),
                    Value::UInt(u) => Some(*u),
                    _ => None,
                };
                match n {
                    Some(n) if n > 0 => {
                        let cur = self.storage.auto_increment(id);
                        if n >= cur {
                            self.storage.set_auto_increment(id, n.saturating_add(1));
                        }
                        row.push(v);
                    }
                    _ => {
                        let next = match st.insert_id_forced.take() {
                            Some(f) => f,
                            None => self.storage.auto_increment(id),
                        };
                        let stored = store(&Datum::UInt(next), &at).map_err(|_| {
                            Error::new(
                                ErrorKind::OutOfRange,
                                "Failed to read auto-increment value from storage engine",
                            )
                        })?;
                        let cur = self.storage.auto_increment(id);
                        if next >= cur {
                            self.storage.set_auto_increment(id, next.saturating_add(1));
                        }
                        st.first_generated.get_or_insert(next);
                        row.push(stored);
                    }
                }
                continue;
            }
            let v = match explicit {
                Some(d) => {
                    if d.is_null() && !col.nullable {
                        return Err(not_null_error(col));
                    }
                    store(&d, &at)?
                }
                None => match &col.default {
                    ColumnDefault::Value(v) => v.clone(),
                    ColumnDefault::CurrentTimestamp => store(
                        &Datum::DateTime(crate::types::timestamp_to_datetime(st.now_us)),
                        &at,
                    )?,
                    ColumnDefault::Missing => {
                        return Err(Error::new(
                            ErrorKind::NotNull,
                            format!("Field '{}' doesn't have a default value", col.name),
                        ));
                    }
                    ColumnDefault::Expression(e) => return Err(unevaluated_default(e)),
                },
            };
            row.push(v);
        }
        Ok(row)
    }

    pub(super) fn insert_row(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        id: TableId,
        def: &Arc<TableDef>,
        row: Row,
        ins: &Insert,
    ) -> Result<u64> {
        let Some(first) = self.storage.find_conflict(id, &row, None) else {
            let key = self.storage.insert(id, row.clone())?;
            self.undo.push(Undo::Inserted { id, key });
            changes.push(RowChange::Insert {
                table: def.clone(),
                row,
            });
            return Ok(1);
        };
        if ins.replace_into {
            let mut affected = 0;
            let mut conflict = Some(first);
            while let Some(c) = conflict {
                self.delete_captured(id, &c.existing, def, changes)?;
                affected += 1;
                conflict = self.storage.find_conflict(id, &row, None);
            }
            let key = self.storage.insert(id, row.clone())?;
            self.undo.push(Undo::Inserted { id, key });
            changes.push(RowChange::Insert {
                table: def.clone(),
                row,
            });
            return Ok(affected + 1);
        }
        let KeyConflict { key_name, existing } = first;
        if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &ins.on {
            if !def.unique_keys.is_empty() {
                push_reason(
                    st,
                    "ON DUPLICATE KEY UPDATE on a table with several unique keys",
                );
            }
            let Some(old) = self.storage.get(id, &existing) else {
                return Err(Error::new(ErrorKind::Conflict, "conflicting row vanished"));
            };
            let new = self.assign(st, def, &old, assignments, Some(&row), 1)?;
            if new == old {
                return Ok(0);
            }
            self.update_captured(id, &existing, def, old, new, changes)?;
            return Ok(2);
        }
        if ins.ignore {
            let shown = def
                .primary_key
                .iter()
                .map(|&i| row[i].to_string())
                .collect::<Vec<_>>()
                .join("-");
            st.warnings
                .push(format!("Duplicate entry '{shown}' for key '{key_name}'"));
            return Ok(0);
        }
        // Produce the storage engine's duplicate-key error.
        self.storage.insert(id, row).map(|_| 0)
    }

    /// Applies SET assignments to a row, left to right, each seeing the
    /// previous ones (MySQL's single-table UPDATE semantics).
    pub(super) fn assign(
        &mut self,
        st: &mut StmtState,
        def: &TableDef,
        old: &Row,
        assignments: &[Assignment],
        values_row: Option<&Row>,
        row_no: usize,
    ) -> Result<Row> {
        let mut new = old.clone();
        for a in assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                return Err(Error::unsupported("tuple assignment"));
            };
            let cname =
                c.0.last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
            let ci = def.column_index(&cname).ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownColumn,
                    format!("Unknown column '{cname}' in 'field list'"),
                )
            })?;
            let col = &def.columns[ci];
            let d = if matches!(&a.value, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"))
            {
                match &col.default {
                    ColumnDefault::Value(v) => Datum::from_value(v),
                    ColumnDefault::CurrentTimestamp => {
                        Datum::DateTime(crate::types::timestamp_to_datetime(st.now_us))
                    }
                    ColumnDefault::Missing => Datum::from_value(&implicit_default(col)),
                    ColumnDefault::Expression(e) => return Err(unevaluated_default(e)),
                }
            } else {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: st,
                };
                cx.eval(
                    &a.value,
                    &Scope {
                        row: Some((def, &new)),
                        values_row,
                        ..Scope::default()
                    },
                )?
            };
            if d.is_null() && !col.nullable {
                return Err(not_null_error(col));
            }
            new[ci] = store(
                &d,
                &StoreAt {
                    column: col,
                    row: row_no,
                },
            )?;
        }
        Ok(new)
    }

    /// The table of a single-table UPDATE / DELETE, its definition, and the
    /// rows its WHERE / ORDER BY / LIMIT select.
    #[allow(clippy::type_complexity)]
    fn target_rows(
        &mut self,
        st: &mut StmtState,
        t: &TableWithJoins,
        selection: Option<&Expr>,
        order_by: &[sqlparser::ast::OrderByExpr],
        limit: Option<&Expr>,
    ) -> Result<(TableId, Arc<TableDef>, Vec<(Vec<u8>, Row)>)> {
        let id = self.single_table(t)?;
        let def = self.arc_def(id)?;
        let rows = self.matching_rows(
            st,
            TargetRows {
                id,
                def: &def,
                selection,
                order_by,
                limit,
            },
        )?;
        Ok((id, def, rows))
    }

    pub(super) fn single_table(&self, t: &TableWithJoins) -> Result<TableId> {
        if !t.joins.is_empty() {
            return Err(Error::unsupported("joins (several tables)"));
        }
        match &t.relation {
            TableFactor::Table {
                name,
                args: None,
                with_hints,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => self.resolve(name),
            other => Err(Error::unsupported(format!("table reference {other}"))),
        }
    }

    pub(super) fn update(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        u: &Update,
    ) -> Result<u64> {
        if u.from.is_some() || u.returning.is_some() || u.or.is_some() || u.output.is_some() {
            return Err(Error::unsupported("UPDATE variant (FROM / RETURNING / OR)"));
        }
        let exprs = || {
            u.assignments
                .iter()
                .map(|a| &a.value)
                .chain(u.selection.iter())
        };
        if !u.table.joins.is_empty()
            || (self.precompute_subqueries(st, exprs())
                && u.order_by.is_empty()
                && u.limit.is_none())
        {
            // Joins, or a subquery reading the row: evaluated on the rows
            // of a relation.
            return self.update_joined(st, changes, u);
        }
        let (id, def, rows) = self.target_rows(
            st,
            &u.table,
            u.selection.as_ref(),
            &u.order_by,
            u.limit.as_ref(),
        )?;
        let mut affected = 0;
        for (n, (key, old)) in rows.into_iter().enumerate() {
            let new = self.assign(st, &def, &old, &u.assignments, None, n + 1)?;
            if new == old {
                continue;
            }
            self.update_captured(id, &key, &def, old, new, changes)?;
            affected += 1;
        }
        Ok(affected)
    }

    /// Replaces the row at `key` (`old`) by `new` with undo and captures
    /// the change.
    pub(super) fn update_captured(
        &mut self,
        id: TableId,
        key: &[u8],
        def: &Arc<TableDef>,
        old: Row,
        new: Row,
        changes: &mut Vec<RowChange>,
    ) -> Result<()> {
        self.storage.update(id, key, new.clone())?;
        self.undo.push(Undo::Updated {
            id,
            new_key: primary_key(def, &new),
            old: old.clone(),
        });
        changes.push(RowChange::Update {
            table: def.clone(),
            before: old,
            after: new,
        });
        Ok(())
    }

    pub(super) fn delete(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        d: &Delete,
    ) -> Result<u64> {
        if d.returning.is_some() || d.output.is_some() {
            return Err(Error::unsupported("DELETE … RETURNING"));
        }
        if !d.tables.is_empty() || d.using.is_some() {
            return self.delete_joined(st, changes, d);
        }
        let tables = match &d.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
        };
        let [t] = tables.as_slice() else {
            return Err(Error::unsupported("DELETE from several tables"));
        };
        if self.precompute_subqueries(st, d.selection.iter())
            && d.order_by.is_empty()
            && d.limit.is_none()
        {
            // A subquery reading the row: evaluated on the rows of a
            // relation.
            return self.delete_joined(st, changes, d);
        }
        let (id, def, rows) =
            self.target_rows(st, t, d.selection.as_ref(), &d.order_by, d.limit.as_ref())?;
        let mut affected = 0;
        for (key, _) in rows {
            self.delete_captured(id, &key, &def, changes)?;
            affected += 1;
        }
        Ok(affected)
    }

    /// Deletes the row at `key` with undo and captures the change.
    pub(super) fn delete_captured(
        &mut self,
        id: TableId,
        key: &[u8],
        def: &Arc<TableDef>,
        changes: &mut Vec<RowChange>,
    ) -> Result<()> {
        let old = self.storage.delete(id, key)?;
        self.undo.push(Undo::Deleted {
            id,
            row: old.clone(),
        });
        changes.push(RowChange::Delete {
            table: def.clone(),
            before: old,
        });
        Ok(())
    }
}

pub(super) fn implicit_default(c: &Column) -> Value<'static> {
    match &c.ty {
        SqlType::Int { unsigned: true, .. } | SqlType::Year | SqlType::Bit(_) => Value::UInt(0),
        SqlType::Int { .. } => Value::Int(0),
        SqlType::Decimal { scale, .. } => Value::Decimal(Cow::Owned(
            Decimal::zero().round_to(u32::from(*scale)).to_string(),
        )),
        SqlType::Float => Value::F32(0.0),
        SqlType::Double => Value::F64(0.0),
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_) => Value::Text(Cow::Borrowed("")),
        SqlType::Json => Value::Json(Cow::Borrowed("")),
        SqlType::Binary(n) => Value::Bytes(Cow::Owned(vec![0; *n as usize])),
        SqlType::VarBinary(_) | SqlType::Blob(_) => Value::Bytes(Cow::Borrowed(b"")),
        SqlType::Date => Value::Date(crate::types::ZERO_DATETIME.date),
        SqlType::Time(_) => Value::Time(0),
        SqlType::DateTime(_) => Value::DateTime(crate::types::ZERO_DATETIME),
        SqlType::Timestamp(_) => Value::Timestamp(0),
        SqlType::Enum(l) => Value::Enum(Cow::Owned(l.first().cloned().unwrap_or_default())),
        SqlType::Set(_) => Value::Set(Cow::Borrowed("")),
        // The store refuses such columns at CREATE TABLE; PostgreSQL's
        // tables come from RELATIONs and are only written by row changes.
        SqlType::Other(_) | SqlType::Pg(_) => Value::Null,
    }
}

/// A default the store did not evaluate: only a followed catalog keeps
/// one, and the store's tables never hold it.
#[cold]
pub(super) fn unevaluated_default(e: &str) -> Error {
    Error::unsupported(format!("unevaluated default {e}"))
}

pub(super) fn not_null_error(c: &Column) -> Error {
    Error::new(
        ErrorKind::NotNull,
        format!("Column '{}' cannot be null", c.name),
    )
}

pub(super) fn push_reason(st: &mut StmtState, r: &'static str) {
    if !st.unsafe_reasons.contains(&r) {
        st.unsafe_reasons.push(r);
    }
}
