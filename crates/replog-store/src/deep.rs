//! Deep expressions: the stack a statement needs, the depth the store
//! accepts, and taking apart a tree too deep to keep.
//!
//! sqlparser builds a chain of binary operators (`a AND b AND c …`,
//! `1 + 2 + 3 …`) as a *left-deep* tree: a chain of 10,000 terms is a tree
//! 10,000 levels deep. MariaDB executes such statements (it keeps `AND`
//! and `OR` terms in flat lists), and they reach the store from real
//! binlogs. Nested parentheses, function calls and subqueries are bounded
//! by sqlparser's own recursion limit; chains are not.
//!
//! What the store does about it:
//!
//! - its own walks over expressions (evaluation, key lookups, the
//!   determinism rules) iterate over a chain instead of recursing
//!   ([`operand`] names the child a chain continues through);
//! - sqlparser's own walks (`Visit`, `Display`) grow the stack on demand;
//!   its derived `Drop` recurses, and `Clone` and `PartialEq` recurse with
//!   large frames, so trees are never cloned or compared when deep (the
//!   parse cache keeps shallow shapes only);
//! - every statement runs with at least [`stack_for`] bytes of stack
//!   ([`with_stack`] grows the stack when the thread has less): enough for
//!   a tree as deep as the statement's text is long, up to
//!   [`MAX_EXPR_DEPTH`];
//! - a statement nested deeper than [`MAX_EXPR_DEPTH`] is refused with
//!   "expression too deep" ([`too_deep`]), and its tree is taken apart
//!   without recursion ([`dismantle`]).
//!
//! Threads that run statements are started with [`STATEMENT_STACK`] bytes,
//! which covers statements up to the depth limit without growing.

use sqlparser::ast::{
    Expr, Query, SetExpr, Statement, Value, Values, Visit, VisitMut, Visitor, VisitorMut,
};
use std::ops::ControlFlow;

/// The deepest expression the store runs: levels of nesting (a chain of N
/// binary operators is N levels deep), ten times the deepest statement
/// seen in real binlogs so far (10,000 `AND` terms). Deeper statements are
/// refused with "expression too deep".
pub const MAX_EXPR_DEPTH: usize = 100_000;

/// Stack, in bytes, for one level of expression nesting: the largest frame
/// of a recursive walk that is left (sqlparser's derived `Drop`, measured
/// at 160 bytes a level in a debug build), with a margin.
const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) { 1024 } else { 256 };

/// Stack, in bytes, a statement needs besides its nesting: evaluation of
/// the parenthesized, function and subquery nesting sqlparser allows.
const STACK_BASE: usize = if cfg!(debug_assertions) {
    4 << 20
} else {
    1 << 20
};

/// Stack size for threads that run statements: a statement at the depth
/// limit runs without growing the stack (64 MiB, reserved, not committed:
/// only the pages a statement touches are used).
pub const STATEMENT_STACK: usize = 64 << 20;

/// Bytes of stack a statement of `sql_len` bytes may need: its tree is at
/// most about as deep as its text is long (every level of nesting takes at
/// least one character), and never deeper than [`MAX_EXPR_DEPTH`] once
/// accepted.
pub fn stack_for(sql_len: usize) -> usize {
    STACK_BASE + sql_len.min(MAX_EXPR_DEPTH + 64) * STACK_PER_LEVEL
}

/// Runs `f`, the work on one statement of `sql_len` bytes, on a stack with
/// at least [`stack_for`]`(sql_len)` bytes free: on the current one when it
/// has them, else on a new one allocated for the call.
pub fn with_stack<R>(sql_len: usize, f: impl FnOnce() -> R) -> R {
    let need = stack_for(sql_len);
    stacker::maybe_grow(need, need + STACK_BASE, f)
}

/// A thread builder with [`STATEMENT_STACK`] bytes of stack, for threads
/// that run statements.
pub fn thread_builder(name: impl Into<String>) -> std::thread::Builder {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(STATEMENT_STACK)
}

/// The chained operand of `$e` (an `Expr` reference, shared or mutable):
/// one list of forms for [`operand`] and `operand_mut`.
macro_rules! chained_operand {
    ($e:expr) => {
        match $e {
            Expr::BinaryOp { left, .. } | Expr::AnyOp { left, .. } | Expr::AllOp { left, .. } => {
                Some(left)
            }
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x)
            | Expr::IsDistinctFrom(x, _)
            | Expr::IsNotDistinctFrom(x, _)
            | Expr::InList { expr: x, .. }
            | Expr::InSubquery { expr: x, .. }
            | Expr::InUnnest { expr: x, .. }
            | Expr::Between { expr: x, .. }
            | Expr::Like { expr: x, .. }
            | Expr::ILike { expr: x, .. }
            | Expr::SimilarTo { expr: x, .. }
            | Expr::RLike { expr: x, .. }
            | Expr::IsJson { expr: x, .. }
            | Expr::IsNormalized { expr: x, .. }
            | Expr::Collate { expr: x, .. }
            | Expr::Cast { expr: x, .. }
            | Expr::AtTimeZone { timestamp: x, .. }
            | Expr::JsonAccess { value: x, .. }
            | Expr::CompoundFieldAccess { root: x, .. } => Some(x),
            _ => None,
        }
    };
}

/// The operand a chain continues through: the left operand of a binary
/// operator and the tested operand of a postfix form (`IS NULL`, `IN (…)`,
/// `BETWEEN`, `LIKE`, …), which sqlparser nests to the left without bound.
/// `None` for every other expression.
pub fn operand(e: &Expr) -> Option<&Expr> {
    chained_operand!(e).map(|b| &**b)
}

fn operand_mut(e: &mut Expr) -> Option<&mut Expr> {
    chained_operand!(e).map(|b| &mut **b)
}

/// Measures nesting (expressions, and chains of `UNION`/`EXCEPT`/
/// `INTERSECT`), stopping past `limit`.
struct Depth {
    now: usize,
    max: usize,
    limit: usize,
}

fn set_chain(s: &SetExpr) -> usize {
    let mut n = 0;
    let mut cur = s;
    while let SetExpr::SetOperation { left, .. } = cur {
        n += 1;
        cur = left;
    }
    n
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if set_chain(&q.body) > self.limit {
            self.max = usize::MAX;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.now += 1;
        self.max = self.max.max(self.now);
        if self.now > self.limit {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.now -= 1;
        ControlFlow::Continue(())
    }
}

/// The nesting depth of `stmts`' expressions (or of a chain of set
/// operations), counted up to just past `limit`.
pub fn depth(stmts: &[Statement], limit: usize) -> usize {
    let mut d = Depth {
        now: 0,
        max: 0,
        limit,
    };
    for s in stmts {
        if Visit::visit(s, &mut d).is_break() {
            break;
        }
    }
    d.max
}

/// Whether `stmts` nest deeper than [`MAX_EXPR_DEPTH`]. Statements shorter
/// than the limit cannot, and are not walked.
pub fn too_deep(sql: &str, stmts: &[Statement]) -> bool {
    sql.len() > MAX_EXPR_DEPTH && depth(stmts, MAX_EXPR_DEPTH) > MAX_EXPR_DEPTH
}

/// The message for a statement nested deeper than [`MAX_EXPR_DEPTH`].
pub fn too_deep_message() -> String {
    format!("expression too deep: more than {MAX_EXPR_DEPTH} levels of nesting (chained operators)")
}

/// Takes chains apart into pieces held in a list, so nothing is left
/// deeper than sqlparser's own nesting limit.
#[derive(Default)]
struct Cut {
    pieces: Vec<Expr>,
    sets: Vec<SetExpr>,
}

fn placeholder() -> Expr {
    Expr::Value(Value::Null.into())
}

fn empty_set() -> SetExpr {
    SetExpr::Values(Values {
        explicit_row: false,
        value_keyword: false,
        rows: Vec::new(),
    })
}

impl VisitorMut for Cut {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let SetExpr::SetOperation { left, .. } = &mut *q.body else {
            return ControlFlow::Continue(());
        };
        let mut next = std::mem::replace(&mut **left, empty_set());
        loop {
            let child = match &mut next {
                SetExpr::SetOperation { left, .. } => {
                    Some(std::mem::replace(&mut **left, empty_set()))
                }
                _ => None,
            };
            self.sets.push(next);
            match child {
                Some(c) => next = c,
                None => break,
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let Some(first) = operand_mut(e) else {
            return ControlFlow::Continue(());
        };
        let mut next = std::mem::replace(first, placeholder());
        loop {
            let child = operand_mut(&mut next).map(|c| std::mem::replace(c, placeholder()));
            self.pieces.push(next);
            match child {
                Some(c) => next = c,
                None => break,
            }
        }
        ControlFlow::Continue(())
    }
}

/// Drops `stmts` without recursing along chains, however deep they are.
pub fn dismantle(mut stmts: Vec<Statement>) {
    let mut cut = Cut::default();
    for s in &mut stmts {
        let _ = VisitMut::visit(s, &mut cut);
    }
    drop(stmts);
    loop {
        if let Some(mut e) = cut.pieces.pop() {
            let _ = VisitMut::visit(&mut e, &mut cut);
        } else if let Some(mut s) = cut.sets.pop() {
            let _ = VisitMut::visit(&mut s, &mut cut);
        } else {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn chain(n: usize, op: &str) -> String {
        let terms: Vec<String> = (0..n).map(|i| format!("id > -{i}")).collect();
        format!("DELETE FROM t WHERE {}", terms.join(op))
    }

    #[test]
    fn depth_counts_chains_and_stops_past_the_limit() {
        let sql = chain(1000, " AND ");
        let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).unwrap();
        // 999 ANDs, then `id > -0`: `>`, then `-`, then `0`.
        assert_eq!(depth(&stmts, usize::MAX), 999 + 3);
        assert_eq!(depth(&stmts, 10), 11);
        let sql = format!(
            "SELECT 1{}",
            (0..500).map(|_| " UNION SELECT 1").collect::<String>()
        );
        let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).unwrap();
        assert_eq!(depth(&stmts, 400), usize::MAX);
        assert!(depth(&stmts, 600) < 10);
    }

    #[test]
    fn dismantling_a_chain_needs_no_stack() {
        // 150,000 levels: dropping them by recursion would need about 24
        // MB of stack; this test thread has 2 MiB.
        let sql = chain(150_000, " + ");
        let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).unwrap();
        assert!(too_deep(&sql, &stmts));
        dismantle(stmts);
        let sql = format!(
            "SELECT 1{}",
            (0..120_000).map(|_| " UNION SELECT 1").collect::<String>()
        );
        let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).unwrap();
        assert!(too_deep(&sql, &stmts));
        dismantle(stmts);
    }
}
