//! Key lookups for WHERE clauses: instead of visiting every row, a statement
//! whose WHERE pins the primary key or a unique key to constants, or bounds
//! it to a range, visits only the rows with those keys.
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
//! - or the leading key columns are so bound and the next one, an integer
//!   column, is bounded by top-level AND terms `col < const`, `<=`, `>`,
//!   `>=` (either way round) or `col BETWEEN const AND const` with integer
//!   constants: the candidates are the keys in a range of encodings (one
//!   range per equality prefix and per integer form, signed and unsigned,
//!   a stored value may have). A primary key may also be bound on a prefix
//!   alone (its columns are never NULL); a unique key only when every
//!   column is bound, as rows with a NULL in it are not in its index;
//! - the visit order is not shuffled (the engine checks this: a shuffle
//!   draws from the environment's random source for every row).
//!
//! Candidates are then visited in the same order a scan would visit them
//! (primary-key order, or its reverse), so LIMIT without ORDER BY picks the
//! same rows.
//!
//! `ORDER BY` the whole primary key with LIMIT ([`key_order`]) walks the
//! keys in order and stops after LIMIT matching rows, where the engine can
//! tell that key order is the order of the values (integer key columns, each
//! value of its column's signedness: [`crate::Storage::canonical_int_keys`]).

use crate::storage::encode_key_value;
use crate::types::{Datum, SqlType, TableDef};
use replog_core::Value;
use sqlparser::ast::{
    BinaryOperator as B, Expr, OrderByExpr, OrderBySort, UnaryOperator, Value as SqlValue,
};
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
    /// Primary-key encodings in a range.
    PrimaryRange(KeyRange),
    /// Encodings of unique key number `.0` in a range.
    UniqueRange(usize, KeyRange),
}

/// Key encodings from `start` (included) up to `end` (excluded; `None`: to
/// the last key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) start: Vec<u8>,
    pub(crate) end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every encoding that starts with `p`.
    fn prefixed(p: Vec<u8>) -> KeyRange {
        KeyRange {
            end: successor(p.clone()),
            start: p,
        }
    }
}

/// The least byte string greater than every string starting with `p`
/// (`None` when there is none: `p` is all 0xFF).
fn successor(mut p: Vec<u8>) -> Option<Vec<u8>> {
    while let Some(last) = p.last_mut() {
        if *last == 0xFF {
            p.pop();
        } else {
            *last += 1;
            return Some(p);
        }
    }
    None
}

/// An inclusive range of integers a column is bounded to.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lo: i128,
    hi: i128,
}

impl Bounds {
    const ALL: Bounds = Bounds {
        lo: i128::MIN,
        hi: i128::MAX,
    };
}

/// The keys that every row accepted by `w` has one of, or `None` when the
/// table has to be scanned. `eval_const` evaluates a constant expression
/// (no column references); an error makes the statement scan.
pub(crate) fn plan(
    def: &TableDef,
    w: &Expr,
    canonical: bool,
    eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>,
) -> Option<Vec<Probe>> {
    if !pure(def, w, eval_const) {
        return None;
    }
    let mut terms = Vec::new();
    conjuncts(w, &mut terms);
    // Candidate values of each column bound by a term (the first such term),
    // and the integer range each integer column is bounded to (every term).
    let mut bound: Vec<Option<Vec<Datum>>> = vec![None; def.columns.len()];
    let mut ranges: Vec<Option<Bounds>> = vec![None; def.columns.len()];
    for t in terms {
        if let Some((col, b)) = range_binding(def, t, eval_const) {
            let r = ranges[col].get_or_insert(Bounds::ALL);
            r.lo = r.lo.max(b.lo);
            r.hi = r.hi.min(b.hi);
            continue;
        }
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
        && let Some(keys) = encodings(def, &def.primary_key, &bound, canonical)
    {
        return Some(keys.into_iter().map(Probe::Primary).collect());
    }
    for (i, u) in def.unique_keys.iter().enumerate() {
        if let Some(keys) = encodings(def, &u.columns, &bound, canonical) {
            return Some(keys.into_iter().map(|k| Probe::Unique(i, k)).collect());
        }
    }
    if !def.primary_key.is_empty()
        && let Some(r) = key_ranges(def, &def.primary_key, &bound, &ranges, true, canonical)
    {
        return Some(r.into_iter().map(Probe::PrimaryRange).collect());
    }
    for (i, u) in def.unique_keys.iter().enumerate() {
        if let Some(r) = key_ranges(def, &u.columns, &bound, &ranges, false, canonical) {
            return Some(r.into_iter().map(|r| Probe::UniqueRange(i, r)).collect());
        }
    }
    None
}

/// The ranges of encodings of key `cols` holding every row allowed by
/// `bound` and `ranges`: leading columns bound to values, then one bounded
/// integer column (the last one unless `prefix_alone`), or, with
/// `prefix_alone`, nothing more after at least one bound column. `None` when
/// the key is not so bound or there are too many ranges. `canonical`: every
/// stored integer has its column's signedness
/// ([`crate::Storage::canonical_int_keys`]).
fn key_ranges(
    def: &TableDef,
    cols: &[usize],
    bound: &[Option<Vec<Datum>>],
    ranges: &[Option<Bounds>],
    prefix_alone: bool,
    canonical: bool,
) -> Option<Vec<KeyRange>> {
    let lead = cols
        .iter()
        .take_while(|&&c| bound.get(c).is_some_and(Option::is_some))
        .count();
    let prefixes = encodings(def, &cols[..lead], bound, canonical)?;
    let next = cols.get(lead).copied();
    let range = next.and_then(|c| Some((c, (*ranges.get(c)?)?)));
    match range {
        Some((c, b)) if prefix_alone || lead + 1 == cols.len() => {
            let SqlType::Int { unsigned, .. } = def.columns[c].ty else {
                return None;
            };
            let forms = integer_forms(b, canonical.then_some(unsigned));
            if prefixes.len().saturating_mul(forms.len()) > MAX_PROBES {
                return None;
            }
            let mut out = Vec::with_capacity(prefixes.len() * forms.len());
            for p in &prefixes {
                for (lo, hi) in &forms {
                    let mut start = p.clone();
                    encode_key_value(lo, &mut start);
                    let mut last = p.clone();
                    encode_key_value(hi, &mut last);
                    out.push(KeyRange {
                        start,
                        end: successor(last),
                    });
                }
            }
            Some(out)
        }
        _ if prefix_alone && lead > 0 && lead < cols.len() => {
            Some(prefixes.into_iter().map(KeyRange::prefixed).collect())
        }
        _ => None,
    }
}

/// The least and greatest stored values of an integer column within `b`,
/// in each form a stored integer may take (signed, unsigned), or only in
/// the form `Some(unsigned)`; none when `b` is empty. (The two forms'
/// encodings interleave: a range in both would span most keys.)
fn integer_forms(b: Bounds, only: Option<bool>) -> Vec<(Value<'static>, Value<'static>)> {
    let mut out = Vec::with_capacity(2);
    let (lo, hi) = (
        b.lo.max(i128::from(i64::MIN)),
        b.hi.min(i128::from(i64::MAX)),
    );
    if only != Some(true)
        && lo <= hi
        && let (Ok(l), Ok(h)) = (i64::try_from(lo), i64::try_from(hi))
    {
        out.push((Value::Int(l), Value::Int(h)));
    }
    let (lo, hi) = (b.lo.max(0), b.hi.min(i128::from(u64::MAX)));
    if only != Some(false)
        && lo <= hi
        && let (Ok(l), Ok(h)) = (u64::try_from(lo), u64::try_from(hi))
    {
        out.push((Value::UInt(l), Value::UInt(h)));
    }
    out
}

/// Whether `order_by` is the whole primary key of `def`, in key order, all
/// ascending or all descending, with integer key columns only (whose key
/// encoding sorts as their values when each holds its own signedness):
/// `Some(descending)`.
pub(crate) fn key_order(def: &TableDef, order_by: &[OrderByExpr]) -> Option<bool> {
    if def.primary_key.is_empty() || order_by.len() != def.primary_key.len() {
        return None;
    }
    let mut desc = None;
    for (o, &c) in order_by.iter().zip(&def.primary_key) {
        if o.with_fill.is_some() || o.options.nulls_first.is_some() {
            return None;
        }
        let d = match o.options.sort {
            None | Some(OrderBySort::Asc) => false,
            Some(OrderBySort::Desc) => true,
            Some(OrderBySort::Using(_)) => return None,
        };
        if *desc.get_or_insert(d) != d
            || column_ref(def, unnest(&o.expr)) != Some(c)
            || !matches!(def.columns[c].ty, SqlType::Int { .. })
        {
            return None;
        }
    }
    desc
}

/// Whether `w` may be evaluated on fewer rows than a scan visits without
/// a difference anyone can observe (see the module documentation).
pub(crate) fn pure_where(
    def: &TableDef,
    w: &Expr,
    eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>,
) -> bool {
    pure(def, w, eval_const)
}

/// Every key encoding of `cols` allowed by `bound`, or `None` when a column
/// is unbound or there are too many. `canonical`: see [`key_ranges`].
fn encodings(
    def: &TableDef,
    cols: &[usize],
    bound: &[Option<Vec<Datum>>],
    canonical: bool,
) -> Option<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for &c in cols {
        let values = bound.get(c)?.as_ref()?;
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        for v in values {
            for sv in stored_forms(&def.columns[c].ty, v, canonical)? {
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
/// `canonical`: an integer column holds its own signedness only.
fn stored_forms(ty: &SqlType, v: &Datum, canonical: bool) -> Option<Vec<Value<'static>>> {
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
            let unsigned = match ty {
                SqlType::Int { unsigned, .. } => *unsigned,
                _ => false,
            };
            let mut out = Vec::with_capacity(2);
            if let Ok(i) = i64::try_from(n)
                && (!canonical || !unsigned)
            {
                out.push(Value::Int(i));
            }
            if let Ok(u) = u64::try_from(n)
                && (!canonical || unsigned)
            {
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

/// The integer column a term bounds and its bounds: `col < k`, `col <= k`,
/// `col > k`, `col >= k` (or the constant first) and `col BETWEEN k1 AND
/// k2`, with integer constants `k`.
fn range_binding(
    def: &TableDef,
    t: &Expr,
    eval_const: &mut dyn FnMut(&Expr) -> Option<Datum>,
) -> Option<(usize, Bounds)> {
    let mut int_const = |e: &Expr| -> Option<i128> {
        if !constant(e) {
            return None;
        }
        match eval_const(e)? {
            Datum::Int(i) => Some(i128::from(i)),
            Datum::UInt(u) => Some(i128::from(u)),
            _ => None,
        }
    };
    let int_column =
        |e: &Expr| column_ref(def, e).filter(|&c| matches!(def.columns[c].ty, SqlType::Int { .. }));
    match t {
        Expr::BinaryOp { left, op, right } => {
            let (l, r) = (unnest(left), unnest(right));
            // Normalized to `col op k`.
            let (c, op, k) = if let Some(c) = int_column(l) {
                (c, op.clone(), int_const(r)?)
            } else {
                let c = int_column(r)?;
                let flipped = match op {
                    B::Lt => B::Gt,
                    B::LtEq => B::GtEq,
                    B::Gt => B::Lt,
                    B::GtEq => B::LtEq,
                    _ => return None,
                };
                (c, flipped, int_const(l)?)
            };
            let b = match op {
                B::Lt => Bounds {
                    hi: k - 1,
                    ..Bounds::ALL
                },
                B::LtEq => Bounds {
                    hi: k,
                    ..Bounds::ALL
                },
                B::Gt => Bounds {
                    lo: k + 1,
                    ..Bounds::ALL
                },
                B::GtEq => Bounds {
                    lo: k,
                    ..Bounds::ALL
                },
                _ => return None,
            };
            Some((c, b))
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => {
            let c = int_column(unnest(expr))?;
            // A bound that is not an integer constant bounds nothing.
            let lo = int_const(unnest(low)).unwrap_or(i128::MIN);
            let hi = int_const(unnest(high)).unwrap_or(i128::MAX);
            Some((c, Bounds { lo, hi }))
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
            let probes: Vec<Vec<u8>> = stored_forms(&ty, &cd, false).unwrap().iter().map(|v| {
                let mut k = Vec::new();
                encode_key_value(v, &mut k);
                k
            }).collect();
            prop_assert_eq!(equal(&Datum::from_value(&sv), &cd), probes.contains(&sk));
        }
    }
}
