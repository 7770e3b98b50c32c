//! The static analyzer: parses one statement (sqlparser, MySQL dialect) and
//! applies the rules.

use replog_schema::MariaDbDialect;
use replog_store::deep::{self, operand};
use serde::Serialize;
use sqlparser::ast::{
    AlterTableOperation, Assignment, AssignmentTarget, BinaryOperator, Delete, Expr, FromTable,
    FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Insert, JoinConstraint,
    JoinOperator, LimitClause, NonBlock, ObjectName, OnInsert, OrderByExpr, OrderByKind, Query,
    Select, SelectItem, SetExpr, Statement, TableFactor, TableObject, TableWithJoins,
    UnaryOperator, Update, Value,
};
use sqlparser::parser::Parser;

use crate::context::{ContextFlags, ContextItem};
use crate::reason::{Reason, ReasonCode, Severity};
use crate::tables::{ColumnKind, SchemaTracker, TableInfo, split_name};

/// What a statement does, as far as replication is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// INSERT, REPLACE, UPDATE, DELETE.
    Dml,
    /// CREATE / ALTER / DROP / RENAME / TRUNCATE …
    Ddl,
    /// SET, USE, SELECT: changes no data.
    Session,
    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT, XA.
    Transaction,
    /// Anything else (CALL, LOAD DATA, GRANT, …): not analyzed further.
    Other,
}

/// The result of analyzing one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// What the statement does (the most data-changing kind when the text
    /// holds several statements).
    pub kind: StatementKind,
    /// Why the statement is unsafe, or flagged by the servers: every reason
    /// except the [`Severity::Covered`] ones, most severe first.
    pub reasons: Vec<Reason>,
    /// Context-dependent reasons whose context the log captured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<Reason>,
    /// What the log captured for the statement.
    pub context: ContextFlags,
}

impl Analysis {
    /// Whether any reason remains (unsafe, or flagged by the servers).
    pub fn is_flagged(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// Whether replog concludes the statement may replay differently.
    pub fn is_unsafe(&self) -> bool {
        self.reasons.iter().any(|r| r.severity.is_unsafe())
    }

    /// Whether the statement is unsafe whatever context a log captures.
    pub fn is_unsafe_regardless(&self) -> bool {
        self.reasons.iter().any(|r| r.severity == Severity::Unsafe)
    }

    /// Whether MySQL / MariaDB would flag it (note 1592) under
    /// `binlog_format=STATEMENT`.
    pub fn server_flags(&self) -> bool {
        self.reasons.iter().any(|r| r.server_flags)
    }

    /// Whether a reason with `code` is present (among `reasons`).
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason with `code` among `reasons` or `covered`.
    pub fn find(&self, code: ReasonCode) -> Option<&Reason> {
        self.reasons
            .iter()
            .chain(&self.covered)
            .find(|r| r.code == code)
    }
}

/// A statement the analyzer could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeError {
    /// The statement (shortened to 200 characters).
    pub statement: String,
    /// sqlparser's message.
    pub message: String,
}

impl std::fmt::Display for AnalyzeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot analyze statement `{}`: {}",
            self.statement, self.message
        )
    }
}

impl std::error::Error for AnalyzeError {}

pub(crate) fn shorten(sql: &str, max: usize) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut s: String = one_line.chars().take(max).collect();
    s.push('…');
    s
}

/// Parses `sql` with sqlparser's MySQL dialect.
pub(crate) fn parse(sql: &str) -> Result<Vec<Statement>, AnalyzeError> {
    Parser::parse_sql(&MariaDbDialect, sql).map_err(|e| AnalyzeError {
        statement: shorten(sql, 200),
        message: e.to_string(),
    })
}

/// Analyzes one statement of the log.
///
/// `context` says what the log captured for it; `schema` is the schema
/// tracker as of just before the statement (feed it the statement afterwards
/// with [`SchemaTracker::observe_sql`]). Unqualified table names resolve in
/// the tracker's current database.
///
/// Fails only when the text does not parse; the error names the statement.
pub fn analyze(
    sql: &str,
    context: &ContextFlags,
    schema: &SchemaTracker,
) -> Result<Analysis, AnalyzeError> {
    deep::with_stack(sql.len(), || {
        let stmts = parse(sql)?;
        if deep::too_deep(sql, &stmts) {
            deep::dismantle(stmts);
            return Err(AnalyzeError {
                statement: shorten(sql, 200),
                message: deep::too_deep_message(),
            });
        }
        Ok(analyze_parsed(&stmts, context, schema))
    })
}

/// [`analyze()`] of a statement already parsed (sqlparser's MySQL dialect),
/// e.g. through `replog_store::parse_cache::ParseCache`.
pub fn analyze_parsed(
    stmts: &[Statement],
    context: &ContextFlags,
    schema: &SchemaTracker,
) -> Analysis {
    let mut cx = Cx {
        ctx: context,
        schema,
        reasons: Vec::new(),
    };
    let mut kind = StatementKind::Session;
    for s in stmts {
        let k = cx.statement(s);
        kind = most_significant(kind, k);
    }
    if stmts.is_empty() {
        kind = StatementKind::Other;
    }
    let mut reasons = cx.reasons;
    reasons.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.code.cmp(&b.code)));
    reasons.dedup_by(|a, b| a.code == b.code && a.subject == b.subject && a.severity == b.severity);
    let (covered, reasons): (Vec<Reason>, Vec<Reason>) = reasons
        .into_iter()
        .partition(|r| r.severity == Severity::Covered);
    Analysis {
        kind,
        reasons,
        covered,
        context: context.clone(),
    }
}

fn most_significant(a: StatementKind, b: StatementKind) -> StatementKind {
    let rank = |k| match k {
        StatementKind::Dml => 4,
        StatementKind::Ddl => 3,
        StatementKind::Other => 2,
        StatementKind::Transaction => 1,
        StatementKind::Session => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

// ---------------------------------------------------------------------------
// Facts gathered from expressions
// ---------------------------------------------------------------------------

/// Functions MySQL flags as `BINLOG_STMT_UNSAFE_SYSTEM_FUNCTION` (MariaDB
/// also flags SYSDATE()).
const SYSTEM_FUNCTIONS: &[&str] = &[
    "UUID",
    "UUID_SHORT",
    "SYS_GUID",
    "SYSDATE",
    "USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "CURRENT_USER",
    "CURRENT_ROLE",
    "VERSION",
    "FOUND_ROWS",
    "ROW_COUNT",
    "LOAD_FILE",
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "IS_FREE_LOCK",
    "IS_USED_LOCK",
    "MASTER_POS_WAIT",
    "SOURCE_POS_WAIT",
    "MASTER_GTID_WAIT",
    "WAIT_FOR_EXECUTED_GTID_SET",
    "SLEEP",
    "RANDOM_BYTES",
];

/// Functions that read the statement time.
const TIME_FUNCTIONS: &[&str] = &[
    "NOW",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURDATE",
    "CURRENT_DATE",
    "CURTIME",
    "CURRENT_TIME",
    "UTC_DATE",
    "UTC_TIME",
    "UTC_TIMESTAMP",
    "UNIX_TIMESTAMP",
];

/// Niladic functions the MySQL dialect may parse as bare identifiers.
const NILADIC: &[&str] = &[
    "CURRENT_TIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "UTC_DATE",
    "UTC_TIME",
    "UTC_TIMESTAMP",
    "CURRENT_USER",
    "CURRENT_ROLE",
    "SESSION_USER",
    "SYSTEM_USER",
];

/// Floating-point functions whose results depend on the C library (not
/// correctly rounded, so they may differ in the last bit between builds and
/// platforms). RAND, SQRT, DEGREES, RADIANS and arithmetic are correctly
/// rounded IEEE operations: every server computes the same double.
const FLOAT_FUNCTIONS: &[&str] = &[
    "EXP", "LN", "LOG", "LOG2", "LOG10", "POW", "POWER", "SIN", "COS", "TAN", "ASIN", "ACOS",
    "ATAN", "ATAN2", "COT",
];

/// Session variables the binlog carries with every QUERY, with the context
/// item that restores them (MySQL's `SESSION_VARIABLE_IN_BINLOG`). `None`:
/// carried in `Q_FLAGS2` / `Q_LC_TIME_NAMES`, which replog's native format
/// does not model separately; treated as always captured.
const SESSION_VARIABLES: &[(&str, Option<ContextItem>)] = &[
    ("timestamp", Some(ContextItem::Timestamp)),
    ("insert_id", Some(ContextItem::InsertId)),
    ("last_insert_id", Some(ContextItem::LastInsertId)),
    ("identity", Some(ContextItem::LastInsertId)),
    ("rand_seed1", Some(ContextItem::RandSeed)),
    ("rand_seed2", Some(ContextItem::RandSeed)),
    ("sql_mode", Some(ContextItem::SqlMode)),
    ("time_zone", Some(ContextItem::TimeZone)),
    ("auto_increment_increment", Some(ContextItem::AutoIncrement)),
    ("auto_increment_offset", Some(ContextItem::AutoIncrement)),
    ("character_set_client", Some(ContextItem::Charset)),
    ("character_set_connection", Some(ContextItem::Charset)),
    ("character_set_database", Some(ContextItem::Charset)),
    ("character_set_server", Some(ContextItem::Charset)),
    ("collation_connection", Some(ContextItem::Charset)),
    ("collation_database", Some(ContextItem::Charset)),
    ("collation_server", Some(ContextItem::Charset)),
    ("pseudo_thread_id", Some(ContextItem::ThreadId)),
    ("foreign_key_checks", None),
    ("unique_checks", None),
    ("sql_auto_is_null", None),
    ("lc_time_names", None),
    ("explicit_defaults_for_timestamp", None),
    ("default_collation_for_utf8mb4", None),
];

/// A LIMIT seen inside a data-changing statement.
struct LimitSite {
    total_order: Order,
}

/// Whether a row order is total (deterministic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// ORDER BY covers an identifying key, or at most one row.
    Total,
    /// Not total (or no ORDER BY).
    Partial,
    /// The table is unknown to the schema tracker.
    UnknownTable,
}

#[derive(Default)]
struct Facts {
    /// (upper-case name, argument count, first argument when it is an
    /// unsigned integer literal).
    functions: Vec<(String, usize, Option<u32>)>,
    user_vars: Vec<String>,
    /// (scope, lower-case name).
    sys_vars: Vec<(Option<String>, String)>,
    limits: Vec<LimitSite>,
    nonblock: Vec<NonBlock>,
    tables_read: Vec<ObjectName>,
}

struct Walker<'a> {
    schema: &'a SchemaTracker,
    facts: Facts,
}

impl Walker<'_> {
    fn exprs<'e>(&mut self, es: impl IntoIterator<Item = &'e Expr>) {
        for e in es {
            self.expr(e);
        }
    }

    fn ident(&mut self, name: &str, quoted: bool) {
        if let Some(v) = name.strip_prefix("@@") {
            self.facts.sys_vars.push((None, v.to_ascii_lowercase()));
        } else if let Some(v) = name.strip_prefix('@') {
            self.facts.user_vars.push(
                v.trim_matches(|c| c == '`' || c == '\'' || c == '"')
                    .to_string(),
            );
        } else if !quoted && NILADIC.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            self.facts
                .functions
                .push((name.to_ascii_uppercase(), 0, None));
        }
    }

    /// Gathers the facts of `e`. A chain of operators (see
    /// [`operand`]) nests as deep as it is long: it is walked in a loop,
    /// operand first, in the order a recursive walk would take.
    fn expr(&mut self, e: &Expr) {
        let Some(first) = operand(e) else {
            return self.node(e);
        };
        if operand(first).is_none() {
            self.node(first);
            return self.rest(e);
        }
        let mut chain = vec![e];
        let mut cur = first;
        while let Some(next) = operand(cur) {
            chain.push(cur);
            cur = next;
        }
        self.node(cur);
        for n in chain.iter().rev() {
            self.rest(n);
        }
    }

    /// The subexpressions of a chained form (see [`operand`]) other than
    /// its operand.
    fn rest(&mut self, e: &Expr) {
        match e {
            Expr::BinaryOp { right: b, .. }
            | Expr::AnyOp { right: b, .. }
            | Expr::AllOp { right: b, .. }
            | Expr::IsDistinctFrom(_, b)
            | Expr::IsNotDistinctFrom(_, b)
            | Expr::AtTimeZone { time_zone: b, .. }
            | Expr::RLike { pattern: b, .. }
            | Expr::InUnnest { array_expr: b, .. } => self.expr(b),
            Expr::Like {
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                pattern,
                escape_char,
                ..
            }
            | Expr::SimilarTo {
                pattern,
                escape_char,
                ..
            } => {
                self.expr(pattern);
                if let Some(c) = escape_char {
                    self.expr(c);
                }
            }
            Expr::InList { list, .. } => self.exprs(list),
            Expr::InSubquery { subquery, .. } => self.query(subquery),
            Expr::Between { low, high, .. } => {
                self.expr(low);
                self.expr(high);
            }
            _ => {}
        }
    }

    /// The facts of an expression that is not a chained form.
    fn node(&mut self, e: &Expr) {
        match e {
            Expr::Identifier(i) => self.ident(&i.value, i.quote_style.is_some()),
            Expr::CompoundIdentifier(parts) => {
                if let [scope, name, ..] = parts.as_slice()
                    && let Some(s) = scope.value.strip_prefix("@@")
                {
                    self.facts.sys_vars.push((
                        Some(s.to_ascii_lowercase()),
                        name.value.to_ascii_lowercase(),
                    ));
                } else if let Some(first) = parts.first() {
                    self.ident(&first.value, true);
                }
            }
            Expr::Function(f) => {
                let name = f
                    .name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.to_ascii_uppercase())
                    .unwrap_or_default();
                let (mut argc, mut first) = (0, None);
                match &f.args {
                    FunctionArguments::None => {}
                    FunctionArguments::Subquery(q) => self.query(q),
                    FunctionArguments::List(l) => {
                        for a in &l.args {
                            let ae = match a {
                                FunctionArg::Named { arg, .. }
                                | FunctionArg::ExprNamed { arg, .. }
                                | FunctionArg::Unnamed(arg) => arg,
                            };
                            if let FunctionArgExpr::Expr(x) = ae {
                                if argc == 0 {
                                    first = unsigned_literal(x);
                                }
                                argc += 1;
                                self.expr(x);
                            }
                        }
                    }
                }
                if let FunctionArguments::List(l) = &f.parameters {
                    for a in &l.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                            self.expr(x);
                        }
                    }
                }
                if let Some(fe) = &f.filter {
                    self.expr(fe);
                }
                self.facts.functions.push((name, argc, first));
            }
            Expr::Nested(x)
            | Expr::OuterJoin(x)
            | Expr::Prior(x)
            | Expr::UnaryOp { expr: x, .. }
            | Expr::Convert { expr: x, .. }
            | Expr::Extract { expr: x, .. }
            | Expr::Ceil { expr: x, .. }
            | Expr::Floor { expr: x, .. }
            | Expr::Prefixed { value: x, .. }
            | Expr::Named { expr: x, .. } => self.expr(x),
            Expr::Position { expr: a, r#in: b } => {
                self.expr(a);
                self.expr(b);
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr);
                self.exprs(substring_from.iter().map(|b| &**b));
                self.exprs(substring_for.iter().map(|b| &**b));
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr);
                self.exprs(trim_what.iter().map(|b| &**b));
                self.exprs(trim_characters.iter().flatten());
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.expr(expr);
                self.expr(overlay_what);
                self.expr(overlay_from);
                self.exprs(overlay_for.iter().map(|b| &**b));
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                self.exprs(operand.iter().map(|b| &**b));
                for w in conditions {
                    self.expr(&w.condition);
                    self.expr(&w.result);
                }
                self.exprs(else_result.iter().map(|b| &**b));
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => self.query(subquery),
            Expr::GroupingSets(v) | Expr::Cube(v) | Expr::Rollup(v) => {
                self.exprs(v.iter().flatten());
            }
            Expr::Tuple(v) | Expr::Struct { values: v, .. } => self.exprs(v),
            Expr::Interval(i) => self.expr(&i.value),
            Expr::Array(a) => self.exprs(&a.elem),
            // Literals, wildcards, MATCH … AGAINST (a constant search string
            // over columns) and the exotic forms of other dialects hold no
            // function calls or variables the rules look for.
            _ => {}
        }
    }

    fn query(&mut self, q: &Query) {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.query(&cte.query);
            }
        }
        self.set_expr(&q.body);
        if let Some(ob) = &q.order_by
            && let OrderByKind::Expressions(v) = &ob.kind
        {
            self.exprs(v.iter().map(|o| &o.expr));
        }
        if has_limit(q) {
            let order = self.query_order(q);
            self.facts.limits.push(LimitSite { total_order: order });
        }
        for l in &q.locks {
            if let Some(nb) = &l.nonblock {
                self.facts.nonblock.push(*nb);
            }
        }
    }

    fn set_expr(&mut self, s: &SetExpr) {
        match s {
            SetExpr::Select(sel) => self.select(sel),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    self.exprs(&row.content);
                }
            }
            SetExpr::Table(t) => {
                if let Some(name) = &t.table_name {
                    let mut parts = Vec::new();
                    if let Some(s) = &t.schema_name {
                        parts.push(sqlparser::ast::Ident::new(s.clone()));
                    }
                    parts.push(sqlparser::ast::Ident::new(name.clone()));
                    self.facts.tables_read.push(ObjectName::from(parts));
                }
            }
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {}
        }
    }

    fn select(&mut self, s: &Select) {
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e)
                }
                SelectItem::ExprWithAliases { expr, .. } => self.expr(expr),
                _ => {}
            }
        }
        for t in &s.from {
            self.table_with_joins(t);
        }
        self.exprs(s.selection.iter());
        if let GroupByExpr::Expressions(v, _) = &s.group_by {
            self.exprs(v);
        }
        self.exprs(s.having.iter());
    }

    fn table_with_joins(&mut self, t: &TableWithJoins) {
        self.table_factor(&t.relation);
        for j in &t.joins {
            self.table_factor(&j.relation);
            if let Some(JoinConstraint::On(e)) = join_constraint(&j.join_operator) {
                self.expr(e);
            }
        }
    }

    fn table_factor(&mut self, f: &TableFactor) {
        match f {
            TableFactor::Table { name, .. } => self.facts.tables_read.push(name.clone()),
            TableFactor::Derived { subquery, .. } => self.query(subquery),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.table_with_joins(table_with_joins),
            _ => {}
        }
    }

    /// Whether the rows of `q` come in a total order.
    fn query_order(&self, q: &Query) -> Order {
        let order: &[OrderByExpr] = match q.order_by.as_ref().map(|o| &o.kind) {
            Some(OrderByKind::Expressions(v)) => v,
            _ => &[],
        };
        match &*q.body {
            SetExpr::Select(sel) => {
                if sel.from.is_empty() {
                    return Order::Total; // SELECT without FROM: one row
                }
                let [twj] = sel.from.as_slice() else {
                    return Order::Partial;
                };
                if !twj.joins.is_empty() {
                    return Order::Partial;
                }
                let TableFactor::Table { name, alias, .. } = &twj.relation else {
                    return Order::Partial;
                };
                let Some(t) = self.schema.table(name, None) else {
                    return Order::UnknownTable;
                };
                let alias = alias.as_ref().map(|a| a.name.value.as_str());
                ordered_by_key(t, order, alias)
            }
            SetExpr::Values(v) if v.rows.len() <= 1 => Order::Total,
            SetExpr::Query(inner) if order.is_empty() => self.query_order(inner),
            _ => Order::Partial,
        }
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    use JoinOperator as J;
    match op {
        J::Join(c)
        | J::Inner(c)
        | J::Left(c)
        | J::LeftOuter(c)
        | J::Right(c)
        | J::RightOuter(c)
        | J::FullOuter(c)
        | J::CrossJoin(c)
        | J::Semi(c)
        | J::LeftSemi(c)
        | J::RightSemi(c)
        | J::Anti(c)
        | J::LeftAnti(c)
        | J::RightAnti(c)
        | J::StraightJoin(c) => Some(c),
        _ => None,
    }
}

fn has_limit(q: &Query) -> bool {
    match &q.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => limit.is_some(),
        Some(LimitClause::OffsetCommaLimit { .. }) => true,
        None => q.fetch.is_some(),
    }
}

/// The column an ORDER BY / key expression names, if it is a plain column
/// of the table (optionally qualified by its name or alias).
fn column_name(e: &Expr, t: &TableInfo, alias: Option<&str>) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::Nested(x) => column_name(x, t, alias),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [q, c]
                if q.value.eq_ignore_ascii_case(&t.name)
                    || alias.is_some_and(|a| q.value.eq_ignore_ascii_case(a)) =>
            {
                Some(c.value.clone())
            }
            [db, q, c]
                if db.value.eq_ignore_ascii_case(&t.database)
                    && q.value.eq_ignore_ascii_case(&t.name) =>
            {
                Some(c.value.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

fn ordered_by_key(t: &TableInfo, order: &[OrderByExpr], alias: Option<&str>) -> Order {
    let cols: Vec<String> = order
        .iter()
        .filter_map(|o| column_name(&o.expr, t, alias))
        .collect();
    if t.is_total_order(&cols) {
        Order::Total
    } else {
        Order::Partial
    }
}

/// Whether an expression yields a floating-point value, and whether a C
/// library function computed it (floats from literals, columns, RAND and
/// IEEE arithmetic are the same on every server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FloatKind {
    No,
    Literal,
    Computed,
}

/// Walks a chain of arithmetic operators in a loop (it nests as deep as
/// it is long): the chain is the most computed of its operands.
fn float_kind(e: &Expr, table: Option<&TableInfo>) -> FloatKind {
    let mut cur = e;
    let mut acc = FloatKind::No;
    loop {
        match cur {
            Expr::BinaryOp { left, op, right } => {
                let arith = matches!(
                    op,
                    BinaryOperator::Plus
                        | BinaryOperator::Minus
                        | BinaryOperator::Multiply
                        | BinaryOperator::Divide
                        | BinaryOperator::Modulo
                );
                if !arith {
                    // A comparison or logical operator is not a float.
                    return acc;
                }
                acc = acc.max(float_kind(right, table));
                cur = left;
            }
            leaf => return acc.max(float_kind_node(leaf, table)),
        }
    }
}

fn float_kind_node(e: &Expr, table: Option<&TableInfo>) -> FloatKind {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) if n.contains(['e', 'E']) => FloatKind::Literal,
            _ => FloatKind::No,
        },
        Expr::Identifier(i) => match table.and_then(|t| t.column(&i.value)) {
            Some(c) if c.kind == ColumnKind::Float => FloatKind::Literal,
            _ => FloatKind::No,
        },
        Expr::Nested(x) => float_kind(x, table),
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => float_kind(expr, table),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            if FLOAT_FUNCTIONS.contains(&name.as_str()) {
                return FloatKind::Computed;
            }
            // ROUND / TRUNCATE / ABS / CEIL / FLOOR of a float computation
            // still round a value that may differ.
            let mut any = FloatKind::No;
            if matches!(
                name.as_str(),
                "ROUND" | "TRUNCATE" | "ABS" | "CEIL" | "CEILING" | "FLOOR" | "SIGN"
            ) && let FunctionArguments::List(l) = &f.args
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(x))) = l.args.first()
                && float_kind(x, table) == FloatKind::Computed
            {
                any = FloatKind::Computed;
            }
            any
        }
        Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
            if float_kind(expr, table) == FloatKind::Computed {
                FloatKind::Computed
            } else {
                FloatKind::No
            }
        }
        _ => FloatKind::No,
    }
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

struct Cx<'a> {
    ctx: &'a ContextFlags,
    schema: &'a SchemaTracker,
    reasons: Vec<Reason>,
}

/// Whether an INSERT generates auto-increment values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Generates {
    No,
    Maybe,
    Yes,
}

fn object_name(t: &TableObject) -> Option<&ObjectName> {
    match t {
        TableObject::TableName(n) => Some(n),
        _ => None,
    }
}

fn assignment_column(a: &Assignment) -> Option<String> {
    match &a.target {
        AssignmentTarget::ColumnName(n) => Some(split_name(n).1),
        AssignmentTarget::Tuple(_) => None,
    }
}

/// Whether a value for an auto-increment column generates one.
fn autoinc_value(e: &Expr) -> Generates {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Null => Generates::Yes,
            Value::Number(n, _) => {
                if n.parse::<f64>().is_ok_and(|x| x == 0.0) {
                    Generates::Yes // 0 generates unless NO_AUTO_VALUE_ON_ZERO
                } else {
                    Generates::No
                }
            }
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                if s.trim().parse::<f64>().is_ok_and(|x| x != 0.0) {
                    Generates::No
                } else {
                    Generates::Maybe
                }
            }
            _ => Generates::Maybe,
        },
        Expr::Identifier(i)
            if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT") =>
        {
            Generates::Yes
        }
        Expr::Nested(x) => autoinc_value(x),
        _ => Generates::Maybe,
    }
}

impl Cx<'_> {
    fn push(&mut self, r: Reason) {
        self.reasons.push(r);
    }

    /// The statement needs context `item` (covered when the log captured it).
    fn needs(
        &mut self,
        code: ReasonCode,
        item: ContextItem,
        subject: String,
        explanation: impl Into<String>,
    ) {
        let captured = self.ctx.has(item);
        self.push(Reason::context(
            code,
            item,
            captured,
            Some(subject),
            explanation,
        ));
    }

    fn statement(&mut self, s: &Statement) -> StatementKind {
        match s {
            Statement::Insert(ins) => {
                self.insert(ins);
                StatementKind::Dml
            }
            Statement::Update(u) => {
                self.update(u);
                StatementKind::Dml
            }
            Statement::Delete(d) => {
                self.delete(d);
                StatementKind::Dml
            }
            Statement::CreateTable(ct) => {
                if let Some(q) = &ct.query {
                    let mut w = self.walker();
                    w.query(q);
                    let order = w.query_order(q);
                    let facts = w.facts;
                    self.facts(&facts);
                    if ct.columns.iter().any(|c| {
                        c.options.iter().any(|o| {
                            matches!(&o.option, sqlparser::ast::ColumnOption::DialectSpecific(t)
                                if t.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
                        })
                    }) {
                        self.ordered_write(
                            ReasonCode::UnsafeCreateSelectAutoinc,
                            order,
                            "CREATE TABLE ... SELECT into a table with an auto-increment column numbers the rows in the order the SELECT returns them",
                        );
                    }
                }
                StatementKind::Ddl
            }
            Statement::AlterTable(at) => {
                for op in &at.operations {
                    if let AlterTableOperation::AddColumn { column_def, .. } = op
                        && column_def.options.iter().any(|o| {
                            matches!(&o.option, sqlparser::ast::ColumnOption::Default(e) if is_time_expr(e))
                        })
                    {
                        self.needs(
                            ReasonCode::NeedsTimestamp,
                            ContextItem::Timestamp,
                            column_def.name.value.clone(),
                            "ADD COLUMN with DEFAULT CURRENT_TIMESTAMP fills existing rows with the statement time",
                        );
                    }
                }
                StatementKind::Ddl
            }
            Statement::CreateDatabase { .. }
            | Statement::CreateSchema { .. }
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::Drop { .. }
            | Statement::RenameTable(_)
            | Statement::Truncate(_) => StatementKind::Ddl,
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => StatementKind::Transaction,
            Statement::Set(_) | Statement::Use(_) | Statement::Query(_) => StatementKind::Session,
            _ => StatementKind::Other,
        }
    }

    fn walker(&self) -> Walker<'_> {
        Walker {
            schema: self.schema,
            facts: Facts::default(),
        }
    }

    /// Reasons from function calls, variables, LIMITs and tables read.
    fn facts(&mut self, f: &Facts) {
        for (name, argc, fsp) in &f.functions {
            let n = name.as_str();
            if SYSTEM_FUNCTIONS.contains(&n) {
                self.push(Reason::new(
                    ReasonCode::UnsafeSystemFunction,
                    Severity::Unsafe,
                    true,
                    Some(format!("{n}()")),
                    format!("{n}() returns a different value when the follower runs the statement"),
                ));
            } else if TIME_FUNCTIONS.contains(&n) && !(n == "UNIX_TIMESTAMP" && *argc > 0) {
                let fsp = *fsp;
                let micros = fsp.is_some_and(|p| p > 0);
                let captured = if micros {
                    self.ctx.has_timestamp_micros()
                } else {
                    self.ctx.has(ContextItem::Timestamp)
                };
                let what = if micros {
                    format!(
                        "{n}({}) reads the statement time with microseconds",
                        fsp.unwrap_or(0)
                    )
                } else {
                    format!("{n}() reads the statement time")
                };
                self.push(Reason::context(
                    ReasonCode::NeedsTimestamp,
                    ContextItem::Timestamp,
                    captured,
                    Some(format!("{n}()")),
                    what,
                ));
            } else if n == "RAND" && *argc == 0 {
                self.needs(
                    ReasonCode::NeedsRandSeed,
                    ContextItem::RandSeed,
                    "RAND()".to_string(),
                    "RAND() without a seed continues the session's random sequence",
                );
            } else if n == "LAST_INSERT_ID" && *argc == 0 {
                self.needs(
                    ReasonCode::NeedsLastInsertId,
                    ContextItem::LastInsertId,
                    "LAST_INSERT_ID()".to_string(),
                    "LAST_INSERT_ID() returns the session's last generated auto-increment value",
                );
            } else if n == "CONNECTION_ID" {
                self.needs(
                    ReasonCode::NeedsThreadId,
                    ContextItem::ThreadId,
                    "CONNECTION_ID()".to_string(),
                    "CONNECTION_ID() returns the id of the connection that runs the statement",
                );
            }
        }
        for v in &f.user_vars {
            let captured = self.ctx.has_user_var(v);
            self.push(Reason::context(
                ReasonCode::NeedsUserVariable,
                ContextItem::UserVariables,
                captured,
                Some(format!("@{v}")),
                format!("the statement reads user variable @{v}, which is session state"),
            ));
        }
        for (scope, name) in &f.sys_vars {
            let global = scope.as_deref() == Some("global");
            let subject = match scope {
                Some(s) => format!("@@{s}.{name}"),
                None => format!("@@{name}"),
            };
            match SESSION_VARIABLES.iter().find(|(n, _)| n == name) {
                Some((_, item)) if !global => {
                    if let Some(item) = item {
                        self.needs(
                            ReasonCode::NeedsSessionVariable,
                            *item,
                            subject.clone(),
                            format!("the statement reads {subject}, which the binlog carries with each statement"),
                        );
                    }
                }
                _ => self.push(Reason::new(
                    ReasonCode::UnsafeSystemVariable,
                    Severity::Unsafe,
                    true,
                    Some(subject.clone()),
                    format!("{subject} may have a different value on the follower"),
                )),
            }
        }
        for l in &f.limits {
            self.limit(l.total_order, "a SELECT");
        }
        for nb in &f.nonblock {
            let (code, what) = match nb {
                NonBlock::SkipLocked => (ReasonCode::UnsafeSkipLocked, "SKIP LOCKED"),
                NonBlock::Nowait => (ReasonCode::UnsafeNowait, "NOWAIT"),
            };
            self.push(Reason::new(
                code,
                Severity::Unsafe,
                true,
                Some(what.into()),
                format!("{what} makes the rows read depend on the locks other sessions hold"),
            ));
        }
        for t in &f.tables_read {
            let (db, name) = split_name(t);
            let db = db.or_else(|| self.schema.current_database().map(str::to_string));
            let db = db.unwrap_or_default().to_ascii_lowercase();
            let name_l = name.to_ascii_lowercase();
            if db == "performance_schema"
                || (db == "mysql" && (name_l == "general_log" || name_l == "slow_log"))
            {
                self.push(Reason::new(
                    ReasonCode::UnsafeSystemTable,
                    Severity::Unsafe,
                    true,
                    Some(format!("{db}.{name}")),
                    "log and performance_schema tables differ between servers",
                ));
            }
        }
    }

    /// A LIMIT in a data-changing statement: the servers always flag it;
    /// replog accepts it when the order is total.
    fn limit(&mut self, order: Order, where_: &str) {
        let (severity, explanation) = match order {
            Order::Total => (
                Severity::ServerOnly,
                format!(
                    "LIMIT in {where_} with an ORDER BY over a unique NOT NULL key picks the same rows everywhere; the servers flag every LIMIT"
                ),
            ),
            Order::Partial => (
                Severity::Unsafe,
                format!(
                    "LIMIT in {where_} without an ORDER BY over a unique NOT NULL key picks whichever rows the follower finds first"
                ),
            ),
            Order::UnknownTable => (
                Severity::Undecided,
                format!(
                    "LIMIT in {where_} on a table whose keys are unknown (no CREATE TABLE in the log)"
                ),
            ),
        };
        self.push(Reason::new(
            ReasonCode::UnsafeLimit,
            severity,
            true,
            None,
            explanation,
        ));
    }

    /// An ordering-dependent write flagged by the servers.
    fn ordered_write(&mut self, code: ReasonCode, order: Order, what: &str) {
        let (severity, explanation) = match order {
            Order::Total => (
                Severity::ServerOnly,
                format!(
                    "{what}; the SELECT has an ORDER BY over a unique NOT NULL key, so the order is the same everywhere (the servers flag it regardless)"
                ),
            ),
            Order::Partial => (
                Severity::Unsafe,
                format!(
                    "{what}, and without an ORDER BY over a unique NOT NULL key that order may differ on the follower"
                ),
            ),
            Order::UnknownTable => (
                Severity::Undecided,
                format!("{what}; the keys of the table read are unknown"),
            ),
        };
        self.push(Reason::new(code, severity, true, None, explanation));
    }

    fn unknown_table(&mut self, name: &ObjectName, rule: &str) {
        self.push(Reason::new(
            ReasonCode::ReplogUnknownTable,
            Severity::Undecided,
            false,
            Some(name.to_string()),
            format!("{rule} depends on table {name}, which the log never created"),
        ));
    }

    fn float_to_exact(&mut self, table: &TableInfo, column: &str, value: &Expr) {
        let Some(c) = table.column(column) else {
            return;
        };
        if c.kind.is_exact_numeric() && float_kind(value, Some(table)) == FloatKind::Computed {
            self.push(Reason::new(
                ReasonCode::ReplogFloatToExact,
                Severity::Platform,
                false,
                Some(format!("{}.{}", table.name, c.name)),
                format!(
                    "a C-library floating-point function ({}) is rounded into {} column {}: a last-bit difference between server builds or platforms changes the stored value (replicas on one machine cannot show it)",
                    shorten(&value.to_string(), 80),
                    c.sql_type,
                    c.name
                ),
            ));
        }
    }

    fn insert(&mut self, ins: &Insert) {
        let mut w = self.walker();
        let mut select: Option<&Query> = None;
        if let Some(src) = &ins.source {
            w.query(src);
            if !matches!(&*src.body, SetExpr::Values(_)) {
                select = Some(src);
            }
        }
        w.exprs(ins.assignments.iter().map(|a| &a.value));
        let odku = match &ins.on {
            Some(OnInsert::DuplicateKeyUpdate(a)) => Some(a),
            _ => None,
        };
        if let Some(a) = odku {
            w.exprs(a.iter().map(|a| &a.value));
        }
        let order = select.map(|q| w.query_order(q));
        let reads_tables = select.is_some() && !w.facts.tables_read.is_empty();
        let facts = std::mem::take(&mut w.facts);
        self.facts(&facts);

        let Some(name) = object_name(&ins.table) else {
            return;
        };
        let verb = if ins.replace_into {
            "REPLACE"
        } else {
            "INSERT"
        };
        let table = self.schema.table(name, None).cloned();
        let Some(t) = table else {
            let needs_table = select.is_some() || odku.is_some();
            if needs_table {
                self.unknown_table(
                    name,
                    &format!("{verb} ... SELECT / ON DUPLICATE KEY UPDATE"),
                );
            }
            return;
        };

        // Columns the statement names, in order (all columns when omitted).
        let columns: Vec<String> = if !ins.assignments.is_empty() {
            ins.assignments
                .iter()
                .filter_map(assignment_column)
                .collect()
        } else if ins.columns.is_empty() {
            t.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            ins.columns.iter().map(|c| split_name(c).1).collect()
        };
        let named = |c: &str| columns.iter().any(|x| x.eq_ignore_ascii_case(c));

        // Auto-increment values.
        let mut rows = 1usize;
        if let Some(ai) = t.auto_increment_column() {
            let generates = if !named(&ai.name) {
                Generates::Yes
            } else if let Some(q) = &ins.source
                && let SetExpr::Values(v) = &*q.body
            {
                let pos = columns
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(&ai.name));
                rows = v.rows.len();
                v.rows
                    .iter()
                    .map(|r| {
                        pos.and_then(|p| r.content.get(p))
                            .map_or(Generates::Maybe, autoinc_value)
                    })
                    .max()
                    .unwrap_or(Generates::No)
            } else if !ins.assignments.is_empty() {
                ins.assignments
                    .iter()
                    .find(|a| {
                        assignment_column(a).is_some_and(|c| c.eq_ignore_ascii_case(&ai.name))
                    })
                    .map_or(Generates::Maybe, |a| autoinc_value(&a.value))
            } else {
                Generates::Maybe
            };
            if let Some(q) = &ins.source
                && let SetExpr::Values(v) = &*q.body
            {
                rows = v.rows.len();
            }
            if select.is_some() {
                rows = usize::MAX;
            }
            if generates != Generates::No {
                let captured = self.ctx.has(ContextItem::InsertId);
                let how = if generates == Generates::Yes {
                    "generates"
                } else {
                    "may generate"
                };
                self.push(Reason::context(
                    ReasonCode::NeedsInsertId,
                    ContextItem::InsertId,
                    captured,
                    Some(format!("{}.{}", t.name, ai.name)),
                    format!("the statement {how} auto-increment values for {}, which depend on the table's counter", ai.name),
                ));
                if rows > 1 {
                    let captured = self.ctx.has(ContextItem::AutoIncrement) || self.ctx.complete;
                    self.push(Reason::context(
                        ReasonCode::NeedsAutoIncrementSettings,
                        ContextItem::AutoIncrement,
                        captured,
                        Some(format!("{}.{}", t.name, ai.name)),
                        "the spacing of several generated values depends on auto_increment_increment / offset",
                    ));
                }
            }
            if reads_tables {
                self.ordered_write(
                    ReasonCode::UnsafeWriteAutoincSelect,
                    order.unwrap_or(Order::Partial),
                    &format!("{verb} ... SELECT into {}, which has an auto-increment column, numbers the rows in the order the SELECT returns them", t.name),
                );
            }
            if t.autoinc_not_first_in_pk() {
                self.push(Reason::new(
                    ReasonCode::UnsafeAutoincNotFirst,
                    Severity::Unsafe,
                    true,
                    Some(format!("{}.{}", t.name, ai.name)),
                    "the auto-increment column is not the first column of the composite primary key",
                ));
            }
        }

        if let Some(order) = order.filter(|_| reads_tables) {
            if ins.ignore {
                self.ordered_write(
                    ReasonCode::UnsafeInsertIgnoreSelect,
                    order,
                    "INSERT IGNORE ... SELECT keeps the first of conflicting rows in the order the SELECT returns them",
                );
            }
            if odku.is_some() {
                self.ordered_write(
                    ReasonCode::UnsafeInsertSelectUpdate,
                    order,
                    "INSERT ... SELECT ... ON DUPLICATE KEY UPDATE updates rows in the order the SELECT returns them",
                );
            }
            if ins.replace_into {
                self.ordered_write(
                    ReasonCode::UnsafeReplaceSelect,
                    order,
                    "REPLACE ... SELECT replaces rows in the order the SELECT returns them",
                );
            }
        }

        if odku.is_some() && t.unique_key_count() > 1 {
            self.push(Reason::new(
                ReasonCode::UnsafeInsertTwoKeys,
                Severity::Unsafe,
                true,
                Some(t.name.clone()),
                format!(
                    "{} has {} unique keys: which existing row ON DUPLICATE KEY UPDATE changes depends on which key the engine checks first",
                    t.name,
                    t.unique_key_count()
                ),
            ));
        }

        // DEFAULT CURRENT_TIMESTAMP columns the statement leaves out.
        for c in t
            .columns
            .iter()
            .filter(|c| c.default_now && !named(&c.name))
        {
            self.needs(
                ReasonCode::NeedsTimestamp,
                ContextItem::Timestamp,
                format!("{}.{}", t.name, c.name),
                format!("column {} defaults to the statement time", c.name),
            );
        }
        if let Some(a) = odku {
            self.on_update_now(&t, a);
        }

        // Floating-point values into exact columns.
        if let Some(q) = &ins.source
            && let SetExpr::Values(v) = &*q.body
        {
            for row in &v.rows {
                for (c, e) in columns.iter().zip(&row.content) {
                    self.float_to_exact(&t, c, e);
                }
            }
        }
        for a in ins.assignments.iter().chain(odku.into_iter().flatten()) {
            if let Some(c) = assignment_column(a) {
                self.float_to_exact(&t, &c, &a.value);
            }
        }
    }

    /// ON UPDATE CURRENT_TIMESTAMP columns the assignments leave out.
    fn on_update_now(&mut self, t: &TableInfo, assignments: &[Assignment]) {
        for c in t.columns.iter().filter(|c| c.on_update_now) {
            let set = assignments
                .iter()
                .any(|a| assignment_column(a).is_some_and(|n| n.eq_ignore_ascii_case(&c.name)));
            if !set {
                self.needs(
                    ReasonCode::NeedsTimestamp,
                    ContextItem::Timestamp,
                    format!("{}.{}", t.name, c.name),
                    format!("column {} is set to the statement time ON UPDATE", c.name),
                );
            }
        }
    }

    fn update(&mut self, u: &Update) {
        // sqlparser 0.63 reads `UPDATE IGNORE t` as table `IGNORE` with
        // alias `t`; undo that.
        let mut ignore = false;
        let mut target: Option<(ObjectName, Option<String>)> = None;
        if u.table.joins.is_empty()
            && u.from.is_none()
            && let TableFactor::Table { name, alias, .. } = &u.table.relation
        {
            let bare_ignore = name.0.len() == 1
                && name.0[0].as_ident().is_some_and(|i| {
                    i.quote_style.is_none() && i.value.eq_ignore_ascii_case("IGNORE")
                });
            match alias {
                Some(a) if bare_ignore && a.columns.is_empty() => {
                    ignore = true;
                    target = Some((ObjectName::from(vec![a.name.clone()]), None));
                }
                _ => target = Some((name.clone(), alias.as_ref().map(|a| a.name.value.clone()))),
            }
        }
        let mut w = self.walker();
        if !ignore {
            w.table_with_joins(&u.table);
        }
        if let Some(
            sqlparser::ast::UpdateTableFromKind::BeforeSet(f)
            | sqlparser::ast::UpdateTableFromKind::AfterSet(f),
        ) = &u.from
        {
            for t in f {
                w.table_with_joins(t);
            }
        }
        w.exprs(u.assignments.iter().map(|a| &a.value));
        w.exprs(u.selection.iter());
        w.exprs(u.order_by.iter().map(|o| &o.expr));
        w.exprs(u.limit.iter());
        let facts = std::mem::take(&mut w.facts);
        self.facts(&facts);

        let table = target
            .as_ref()
            .and_then(|(n, _)| self.schema.table(n, None).cloned());
        let order = match (&target, &table) {
            (Some((_, alias)), Some(t)) => ordered_by_key(t, &u.order_by, alias.as_deref()),
            (Some(_), None) => Order::UnknownTable,
            (None, _) => Order::Partial,
        };
        if u.limit.is_some() {
            self.limit(order, "UPDATE");
        }
        if ignore {
            let keyed = table.as_ref().is_none_or(|t| t.unique_key_count() > 0);
            if keyed {
                self.ordered_write(
                    ReasonCode::UnsafeUpdateIgnore,
                    order,
                    "UPDATE IGNORE skips the rows whose update would conflict, which depends on the order rows are updated",
                );
            }
        }
        if let Some(t) = &table {
            self.on_update_now(t, &u.assignments);
            for a in &u.assignments {
                if let Some(c) = assignment_column(a) {
                    self.float_to_exact(t, &c, &a.value);
                }
            }
        }
    }

    fn delete(&mut self, d: &Delete) {
        let from = match &d.from {
            FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v) => v,
        };
        let mut w = self.walker();
        for t in from {
            w.table_with_joins(t);
        }
        for t in d.using.iter().flatten() {
            w.table_with_joins(t);
        }
        w.exprs(d.selection.iter());
        w.exprs(d.order_by.iter().map(|o| &o.expr));
        w.exprs(d.limit.iter());
        let facts = std::mem::take(&mut w.facts);
        self.facts(&facts);
        if d.limit.is_some() {
            let order = match from.as_slice() {
                [twj] if twj.joins.is_empty() && d.tables.is_empty() && d.using.is_none() => {
                    match &twj.relation {
                        TableFactor::Table { name, alias, .. } => {
                            match self.schema.table(name, None) {
                                Some(t) => ordered_by_key(
                                    t,
                                    &d.order_by,
                                    alias.as_ref().map(|a| a.name.value.as_str()),
                                ),
                                None => Order::UnknownTable,
                            }
                        }
                        _ => Order::Partial,
                    }
                }
                _ => Order::Partial,
            };
            self.limit(order, "DELETE");
        }
    }
}

/// An unsigned integer literal's value.
fn unsigned_literal(e: &Expr) -> Option<u32> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(s, _) => s.parse::<u32>().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn is_time_expr(e: &Expr) -> bool {
    let name = match e {
        Expr::Function(f) => f.name.to_string(),
        Expr::Identifier(i) if i.quote_style.is_none() => i.value.clone(),
        _ => return false,
    };
    let n = name.to_ascii_uppercase();
    TIME_FUNCTIONS.contains(&n.as_str())
}
