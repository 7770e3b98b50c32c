//! Key lookups for WHERE clauses: instead of visiting every row, a statement
//! whose WHERE pins the primary key or a unique key to constants visits only
//! the rows with those keys.
//!
//! The plan only narrows the candidate rows; the engine still evaluates the
//! whole WHERE on each candidate, so a plan only has to guarantee that every
//! row the WHERE accepts is a candidate. It is made only when visiting
//! fewer rows cannot be observed:
//!
//! - the WHERE is *pure*: column references, literals, comparisons,
//!   AND/OR/XOR/NOT, IN lists, BETWEEN and IS tests, none of which can fail,
//!   warn, read a variable or draw a random number for any row (arithmetic,
//!   functions and user variables make the statement scan);
//! - the key columns are bound by top-level AND terms `col = const`,
//!   `const = col` or `col IN (const, …)` to constants whose equality with a
//!   stored value is exactly equality of key encodings: integer constants
//!   for integer columns, string constants for CHAR/VARCHAR/TEXT columns
//!   (compared case-insensitively without trailing spaces, as the key
//!   encoding folds them);
//! - the visit order is not shuffled (the engine checks this: a shuffle
//!   draws from the environment's random source for every row).
//!
//! Candidates are then visited in the same order a scan would visit them
//! (primary-key order, or its reverse), so LIMIT without ORDER BY picks the
//! same rows.

use crate::storage::encode_key_value;
use crate::types::{Datum, SqlType, TableDef};
use replog_core::Value;
use sqlparser::ast::{BinaryOperator as B, Expr, UnaryOperator, Value as SqlValue};
use std::borrow::Cow;

/// At most this many key combinations are probed (`a IN (…) AND b IN (…)`).
const MAX_PROBES: usize = 1024;

/// A key to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A primary-key encoding.
    Primary(Vec<u8>),
    /// The encoding of unique key number `.0` (`TableDef::unique_keys`).
    Unique(usize, Vec<u8>),
}

/// The keys that every row accepted by `w` has one of, or `None` when the
/// table has to be scanned. `eval_const` evaluates a constant expression
/// (no column references); an error makes the statement scan.
pub(crate) fn plan(
    def: &TableDef,
    w: &Expr,
    eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>,
) -> Option<Vec<Probe>> {
    if !pure(def, w, eval_const) {
        return None;
    }
    let mut terms = Vec::new();
    conjuncts(w, &mut terms);
    // Candidate values of each column bound by a term (the first such term).
    let mut bound: Vec<Option<Vec<Datum>>> = vec![None; def.columns.len()];
    for t in terms {
        let Some((col, values)) = binding(def, t, eval_const) else {
            continue;
        };
        if bound[col].is_none() {
            bound[col] = Some(values);
        }
    }
    // A table without a primary key (rows keyed by their whole content)
    // has no primary probe.
    if !def.primary_key.is_empty()
        && let Some(keys) = encodings(def, &def.primary_key, &bound)
    {
        return Some(keys.into_iter().map(Probe::Primary).collect());
    }
    for (i, u) in def.unique_keys.iter().enumerate() {
        if let Some(keys) = encodings(def, &u.columns, &bound) {
            return Some(keys.into_iter().map(|k| Probe::Unique(i, k)).collect());
        }
    }
    None
}

/// Every key encoding of `cols` allowed by `bound`, or `None` when a column
/// is unbound or there are too many.
fn encodings(def: &TableDef, cols: &[usize], bound: &[Option<Vec<Datum>>]) -> Option<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for &c in cols {
        let values = bound.get(c)?.as_ref()?;
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        for v in values {
            for sv in stored_forms(&def.columns[c].ty, v)? {
                let mut e = Vec::new();
                encode_key_value(&sv, &mut e);
                encoded.push(e);
            }
        }
        if keys.len().saturating_mul(encoded.len()) > MAX_PROBES {
            return None;
        }
        keys = keys
            .iter()
            .flat_map(|k| {
                encoded.iter().map(move |e| {
                    let mut n = k.clone();
                    n.extend_from_slice(e);
                    n
                })
            })
            .collect();
    }
    Some(keys)
}

/// The stored values of a column of type `ty` that compare equal to the
/// constant `v`, or `None` when they cannot be enumerated (then: scan).
fn stored_forms(ty: &SqlType, v: &Datum) -> Option<Vec<Value<'static>>> {
    match (ty, v) {
        // NULL equals nothing.
        (_, Datum::Null) => Some(Vec::new()),
        (SqlType::Int { .. }, Datum::Int(_) | Datum::UInt(_)) => {
            let n: i128 = match v {
                Datum::Int(i) => i128::from(*i),
                Datum::UInt(u) => i128::from(*u),
                _ => return None,
            };
            // A signed column stores Int, an unsigned one UInt (BOOLEAN
            // values encode as Int); probe both forms.
            let mut out = Vec::with_capacity(2);
            if let Ok(i) = i64::try_from(n) {
                out.push(Value::Int(i));
            }
            if let Ok(u) = u64::try_from(n) {
                out.push(Value::UInt(u));
            }
            Some(out)
        }
        (SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_), Datum::Str(s)) => {
            Some(vec![Value::Text(Cow::Owned(s.clone()))])
        }
        _ => None,
    }
}

/// The top-level AND terms of `e`, left to right (without recursion: a
/// chain of ANDs nests as deep as it is long).
fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        match e {
            Expr::Nested(x) => todo.push(x),
            Expr::BinaryOp {
                left,
                op: B::And,
                right,
            } => {
                todo.push(right);
                todo.push(left);
            }
            other => out.push(other),
        }
    }
}

fn unnest(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(x) => unnest(x),
        other => other,
    }
}

/// The column a term binds and its candidate values.
fn binding(
    def: &TableDef,
    t: &Expr,
    eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>,
) -> Option<(usize, Vec<Datum>)> {
    match t {
        Expr::BinaryOp {
            left,
            op: B::Eq,
            right,
        } => {
            let (l, r) = (unnest(left), unnest(right));
            if let Some(c) = column_ref(def, l)
                && constant(r)
            {
                return Some((c, vec![eval_const(r)?]));
            }
            if let Some(c) = column_ref(def, r)
                && constant(l)
            {
                return Some((c, vec![eval_const(l)?]));
            }
            None
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let c = column_ref(def, unnest(expr))?;
            let mut values = Vec::with_capacity(list.len());
            for item in list {
                if !constant(item) {
                    return None;
                }
                values.push(eval_const(item)?);
            }
            Some((c, values))
        }
        _ => None,
    }
}

/// A plain column reference of `def`.
fn column_ref(def: &TableDef, e: &Expr) -> Option<usize> {
    match e {
        Expr::Identifier(i) if !special_identifier(&i.value, i.quote_style.is_none()) => {
            def.column_index(&i.value)
        }
        Expr::CompoundIdentifier(parts) if parts.len() <= 3 => {
            def.column_index(&parts.last()?.value)
        }
        _ => None,
    }
}

fn special_identifier(name: &str, unquoted: bool) -> bool {
    name.starts_with('@')
        || (unquoted
            && (name.eq_ignore_ascii_case("CURRENT_TIMESTAMP")
                || name.eq_ignore_ascii_case("CURRENT_DATE")))
}

/// A literal, possibly signed or parenthesized.
fn constant(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(
            v.value,
            SqlValue::Number(..)
                | SqlValue::SingleQuotedString(_)
                | SqlValue::DoubleQuotedString(_)
                | SqlValue::HexStringLiteral(_)
                | SqlValue::SingleQuotedByteStringLiteral(_)
                | SqlValue::Boolean(_)
                | SqlValue::Null
        ),
        Expr::Nested(x) => constant(x),
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => constant(expr),
        _ => false,
    }
}

/// Whether evaluating `e` on any row of `def` can neither fail nor have an
/// effect (see the module documentation). Subexpressions are checked left
/// to right with a list of pending ones, not by recursion (chains of
/// operators nest as deep as they are long).
fn pure(def: &TableDef, e: &Expr, eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>) -> bool {
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        if constant(e) {
            // Constants are evaluated now: one that fails would fail on the
            // first row a scan visits.
            if eval_const(e).is_none() {
                return false;
            }
            continue;
        }
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                if column_ref(def, e).is_none() {
                    return false;
                }
            }
            Expr::Nested(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: x,
            } => todo.push(x),
            Expr::BinaryOp { left, op, right } => {
                if !matches!(
                    op,
                    B::And
                        | B::Or
                        | B::Xor
                        | B::Eq
                        | B::NotEq
                        | B::Lt
                        | B::LtEq
                        | B::Gt
                        | B::GtEq
                        | B::Spaceship
                ) {
                    return false;
                }
                todo.push(right);
                todo.push(left);
            }
            Expr::InList { expr, list, .. } => {
                todo.extend(list.iter().rev());
                todo.push(expr);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                todo.push(high);
                todo.push(low);
                todo.push(expr);
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::compare;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn equal(a: &Datum, b: &Datum) -> bool {
        compare(a, b) == Some(Ordering::Equal)
    }

    fn text_key(s: &str) -> Vec<u8> {
        let mut k = Vec::new();
        encode_key_value(&Value::Text(Cow::Owned(s.to_string())), &mut k);
        k
    }

    proptest! {
        // Text equality under the collation is equality of key encodings.
        #[test]
        fn text_equality_is_key_equality(a in "[aAbB ßé\u{0}]{0,4}", b in "[aAbB ßé\u{0}]{0,4}") {
            prop_assert_eq!(
                equal(&Datum::Str(a.clone()), &Datum::Str(b.clone())),
                text_key(&a) == text_key(&b)
            );
        }

        // An integer constant equals a stored integer exactly when one of
        // its probe encodings is the stored value's encoding.
        #[test]
        fn integer_equality_is_key_equality(stored in any::<i64>(), unsigned in any::<bool>(), c in any::<i64>(), cu in any::<bool>()) {
            let ty = SqlType::Int { bytes: 8, unsigned, boolean: false };
            let sv = if unsigned { Value::UInt(stored as u64) } else { Value::Int(stored) };
            let cd = if cu { Datum::UInt(c as u64) } else { Datum::Int(c) };
            let mut sk = Vec::new();
            encode_key_value(&sv, &mut sk);
            let probes: Vec<Vec<u8>> = stored_forms(&ty, &cd).unwrap().iter().map(|v| {
                let mut k = Vec::new();
                encode_key_value(v, &mut k);
                k
            }).collect();
            prop_assert_eq!(equal(&Datum::from_value(&sv), &cd), probes.contains(&sk));
        }
    }
}
