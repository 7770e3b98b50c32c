//! A parse cache for statements that differ only in their literals.
//!
//! Workloads and statement logs repeat a few statement shapes with
//! different values (`INSERT INTO t VALUES (1, 'a')`, `… (2, 'b')`, …), and
//! parsing is most of the cost of running one. A DML statement's text is
//! scanned once for its literals (numbers and simple single-quoted
//! strings): the text with each literal replaced by `?`, plus the literals'
//! kinds, is its *shape*. The first statement of a shape is parsed as usual;
//! its shape is parsed too, with `?` placeholders, and kept only if putting
//! this statement's literals into the placeholders (in visiting order)
//! gives exactly the statement's own syntax tree. Later statements of that
//! shape get a copy of the kept tree with their literals put in, without
//! being parsed.
//!
//! Anything the scanner is not sure of ends the attempt and the statement is
//! parsed normally: double quotes, backslashes in strings, comments,
//! numbers touching identifier characters, hexadecimal and bit literals,
//! introducers. The cache holds at most [`MAX_SHAPES`] shapes.

use crate::deep;
use replog_schema::MariaDbDialect;
use sqlparser::ast::{Expr, Statement, Value, visit_expressions_mut};
use sqlparser::parser::{Parser, ParserError};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Shapes kept at most; the cache is emptied when full.
pub const MAX_SHAPES: usize = 1024;

/// Shapes nested deeper than this are not kept (see [`crate::deep`]).
const MAX_SHAPE_DEPTH: usize = 64;

/// Literals longer than this in all (bytes) are not tokenized: see
/// [`ParseCache::parse`].
const LONG_LITERALS: usize = 64 << 10;

/// A literal taken out of a statement.
#[derive(Debug, Clone, PartialEq)]
enum Lit<'a> {
    /// A number, as written.
    Num(&'a str),
    /// A single-quoted string's content, `''` undoubled.
    Str(std::borrow::Cow<'a, str>),
}

impl Lit<'_> {
    fn len(&self) -> usize {
        match self {
            Lit::Num(n) => n.len(),
            Lit::Str(s) => s.len(),
        }
    }
}

#[derive(Debug)]
enum Entry {
    /// The shape's tree, literals as placeholders.
    Tree(Box<Statement>),
    /// Putting literals into the shape's tree does not give the statement.
    Refused,
}

/// The cache; see the module documentation.
#[derive(Debug, Default)]
pub struct ParseCache {
    shapes: HashMap<String, Entry>,
    /// Reused buffer for a statement's shape.
    key: String,
    hits: u64,
}

#[inline]
fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Scans `sql` into its shape (written to `key`) and literals; `None` when
/// the scanner is not sure.
fn shape<'a>(sql: &'a str, key: &mut String) -> Option<Vec<Lit<'a>>> {
    let b = sql.as_bytes();
    let mut lits = Vec::new();
    let mut kinds = String::new();
    key.clear();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'#' | b'\\' => return None,
            b'-' if b.get(i + 1) == Some(&b'-') => return None,
            b'/' if b.get(i + 1) == Some(&b'*') => return None,
            b'`' => {
                let end = sql[i + 1..].find('`')? + i + 1;
                i = end + 1;
            }
            b'\'' => {
                if i > 0 && ident_byte(b[i - 1]) {
                    return None; // X'..', B'..', N'..', _charset'..'
                }
                let mut j = i + 1;
                let mut doubled = false;
                loop {
                    match b.get(j)? {
                        b'\\' => return None,
                        b'\'' if b.get(j + 1) == Some(&b'\'') => {
                            doubled = true;
                            j += 2;
                        }
                        b'\'' => break,
                        _ => j += 1,
                    }
                }
                let body = &sql[i + 1..j];
                key.push_str(&sql[copied..i]);
                key.push('?');
                kinds.push('s');
                lits.push(Lit::Str(if doubled {
                    std::borrow::Cow::Owned(body.replace("''", "'"))
                } else {
                    std::borrow::Cow::Borrowed(body)
                }));
                i = j + 1;
                copied = i;
            }
            b'0'..=b'9' if i == 0 || !(ident_byte(b[i - 1]) || b[i - 1] == b'.') => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if b.get(i) == Some(&b'.') {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if matches!(b.get(i), Some(b'e' | b'E')) {
                    i += 1;
                    if matches!(b.get(i), Some(b'+' | b'-')) {
                        i += 1;
                    }
                    if !b.get(i).is_some_and(u8::is_ascii_digit) {
                        return None;
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if b.get(i).is_some_and(|&x| ident_byte(x) || x == b'.') {
                    return None;
                }
                key.push_str(&sql[copied..start]);
                key.push('?');
                kinds.push('n');
                lits.push(Lit::Num(&sql[start..i]));
                copied = i;
            }
            _ => i += 1,
        }
    }
    key.push_str(&sql[copied..]);
    key.push('\0');
    key.push_str(&kinds);
    Some(lits)
}

/// Puts `lits` into the placeholders of `stmt`, in visiting order; false
/// when their numbers differ.
fn fill(stmt: &mut Statement, lits: &[Lit<'_>]) -> bool {
    let mut next = 0;
    let flow = visit_expressions_mut(stmt, |e| {
        if let Expr::Value(v) = e
            && matches!(v.value, Value::Placeholder(_))
        {
            let Some(lit) = lits.get(next) else {
                return ControlFlow::Break(());
            };
            v.value = match lit {
                Lit::Num(n) => Value::Number((*n).to_string(), false),
                Lit::Str(s) => Value::SingleQuotedString(s.to_string()),
            };
            next += 1;
        }
        ControlFlow::Continue(())
    });
    flow.is_continue() && next == lits.len()
}

fn is_dml(sql: &str) -> bool {
    let head = sql.trim_start();
    let word = head
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    ["INSERT", "REPLACE", "UPDATE", "DELETE"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

impl ParseCache {
    /// Statements answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Parses `sql` (MySQL dialect): the statements it holds. A statement
    /// nested deeper than [`deep::MAX_EXPR_DEPTH`] is refused ("expression
    /// too deep").
    pub fn parse(&mut self, sql: &str) -> Result<Vec<Statement>, ParserError> {
        let stmts = if is_dml(sql) {
            let mut key = std::mem::take(&mut self.key);
            let out = self.parse_dml(sql, &mut key);
            self.key = key;
            out?
        } else {
            Parser::parse_sql(&MariaDbDialect, sql)?
        };
        if deep::too_deep(sql, &stmts) {
            deep::dismantle(stmts);
            return Err(ParserError::ParserError(deep::too_deep_message()));
        }
        Ok(stmts)
    }

    fn parse_dml(&mut self, sql: &str, key: &mut String) -> Result<Vec<Statement>, ParserError> {
        let Some(lits) = shape(sql, key) else {
            return Parser::parse_sql(&MariaDbDialect, sql);
        };
        match self.shapes.get(key.as_str()) {
            Some(Entry::Tree(tree)) => {
                let mut stmt = (**tree).clone();
                if fill(&mut stmt, &lits) {
                    self.hits += 1;
                    return Ok(vec![stmt]);
                }
                Parser::parse_sql(&MariaDbDialect, sql)
            }
            Some(Entry::Refused) => Parser::parse_sql(&MariaDbDialect, sql),
            None if lits.iter().map(Lit::len).sum::<usize>() > LONG_LITERALS => {
                // Long literals (a statement as long as max_allowed_packet):
                // the shape is checked on a probe, the statement with every
                // string literal emptied, so that the statement itself is
                // never tokenized (its tokens and tree would be copies of
                // it); its tree is the shape's with its literals put in.
                let template = key.split('\0').next().unwrap_or("");
                let probe_lits: Vec<Lit<'_>> = lits
                    .iter()
                    .map(|l| match l {
                        Lit::Num(n) => Lit::Num(n),
                        Lit::Str(_) => Lit::Str(std::borrow::Cow::Borrowed("")),
                    })
                    .collect();
                let mut probe = String::with_capacity(template.len() + 2 * lits.len());
                let mut parts = template.split('?');
                probe.push_str(parts.next().unwrap_or(""));
                for (part, lit) in
                    parts.zip(probe_lits.iter().chain(std::iter::repeat(&Lit::Num("?"))))
                {
                    match lit {
                        Lit::Num(n) => probe.push_str(n),
                        Lit::Str(_) => probe.push_str("''"),
                    }
                    probe.push_str(part);
                }
                let tree = match (
                    Parser::parse_sql(&MariaDbDialect, &probe),
                    Parser::parse_sql(&MariaDbDialect, template),
                ) {
                    (Ok(p), Ok(mut t))
                        if p.len() == 1
                            && t.len() == 1
                            && deep::depth(&p, MAX_SHAPE_DEPTH) <= MAX_SHAPE_DEPTH =>
                    {
                        let tree = t.remove(0);
                        let mut check = tree.clone();
                        (fill(&mut check, &probe_lits) && check == p[0]).then_some(tree)
                    }
                    _ => None,
                };
                let Some(tree) = tree else {
                    return Parser::parse_sql(&MariaDbDialect, sql);
                };
                let mut stmt = tree.clone();
                if !fill(&mut stmt, &lits) {
                    return Parser::parse_sql(&MariaDbDialect, sql);
                }
                if self.shapes.len() >= MAX_SHAPES {
                    self.shapes.clear();
                }
                self.shapes.insert(key.clone(), Entry::Tree(Box::new(tree)));
                Ok(vec![stmt])
            }
            None => {
                let parsed = Parser::parse_sql(&MariaDbDialect, sql)?;
                let template = key.split('\0').next().unwrap_or("");
                // Cloning and comparing trees recurses: deep shapes are not
                // kept (nor parsed twice).
                let shallow = deep::depth(&parsed, MAX_SHAPE_DEPTH) <= MAX_SHAPE_DEPTH;
                let entry = match (
                    parsed.as_slice(),
                    shallow.then(|| Parser::parse_sql(&MariaDbDialect, template)),
                ) {
                    ([one], Some(Ok(mut t))) if t.len() == 1 => {
                        let tree = t.remove(0);
                        let mut check = tree.clone();
                        if fill(&mut check, &lits) && check == *one {
                            Entry::Tree(Box::new(tree))
                        } else {
                            Entry::Refused
                        }
                    }
                    _ => Entry::Refused,
                };
                if self.shapes.len() >= MAX_SHAPES {
                    self.shapes.clear();
                }
                self.shapes.insert(key.clone(), entry);
                Ok(parsed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_both(cache: &mut ParseCache, sql: &str) {
        let direct = Parser::parse_sql(&MariaDbDialect, sql);
        let cached = cache.parse(sql);
        match (direct, cached) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{sql}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{sql}: direct {a:?}, cached {b:?}"),
        }
    }

    #[test]
    fn long_literals_give_the_parsed_tree_without_tokenizing_them() {
        let mut cache = ParseCache::default();
        let long = "x".repeat(LONG_LITERALS + 1);
        for sql in [
            format!("INSERT INTO t VALUES (1, '{long}', 2.5, -3)"),
            format!("INSERT INTO t VALUES (2, '{long}', 'it''s', 7)"),
            format!("UPDATE t SET v = CONCAT(v, '{long}') WHERE id IN (1, 2) AND w = 'a'"),
            format!("INSERT INTO `t?` VALUES (1, '{long}')"),
            format!("DELETE FROM t WHERE v = '{long}' OR v LIKE 'a%'"),
        ] {
            parse_both(&mut cache, &sql);
            // Again: from the kept shape.
            parse_both(&mut cache, &sql);
        }
        assert!(cache.hits >= 4, "{}", cache.hits);
    }

    #[test]
    fn cached_trees_equal_parsed_ones() {
        let mut c = ParseCache::default();
        let statements = [
            "INSERT INTO t VALUES (1, 'a', 2.5, NULL)",
            "INSERT INTO t VALUES (2, 'b''c', 3.75, NULL)",
            "INSERT INTO t VALUES (-3, '', 1e3, NULL)",
            "INSERT INTO t VALUES (4, 'x', 4, NULL), (5, 'y', 5, NULL)",
            "INSERT INTO `t 1` (a, b) VALUES (6, 'z')",
            "INSERT INTO t1 (a, b2) VALUES (7, 'q') ON DUPLICATE KEY UPDATE b2 = 'r', a = a + 1",
            "UPDATE t SET a = a + 1, c = 7 WHERE id = 12",
            "UPDATE t SET a = a + 2, c = 8 WHERE id = 13",
            "UPDATE t SET b = 'it''s' WHERE id IN (1, 2, 3) ORDER BY id LIMIT 2",
            "DELETE FROM t WHERE id BETWEEN 4 AND 9 LIMIT 1",
            "DELETE FROM t WHERE id BETWEEN 5 AND 10 LIMIT 2",
            "INSERT INTO t VALUES (8, NOW(6), RAND(3), 'w')",
            "INSERT INTO t VALUES (9, NOW(3), RAND(4), 'v')",
            "REPLACE INTO t VALUES (10, 'u')",
            "INSERT INTO t VALUES (0x1F, 'a')",
            "INSERT INTO t VALUES (X'1F', _utf8mb4'a', N'b')",
            "INSERT INTO t VALUES (\"dq\", 'a\\'b')",
            "INSERT INTO t VALUES (1 /* c */, 2) -- x",
            "INSERT INTO t VALUES (.5, 1.)",
            "INSERT INTO t VALUES ('a' 'b')",
            "UPDATE t SET a = 1e, b = 2",
            "INSERT INTO t VALUES ('héllo', 'ünï')",
            "INSERT INTO t VALUES ('héllo2', 'ünï2')",
        ];
        for _ in 0..2 {
            for s in statements {
                parse_both(&mut c, s);
            }
        }
        assert!(c.hits() >= 10, "{}", c.hits());
    }

    #[test]
    fn shapes_separate_kinds_and_refuse_the_unsure() {
        let mut k = String::new();
        let l = shape("INSERT INTO t2 VALUES (1, 'a')", &mut k).unwrap();
        assert_eq!(k, "INSERT INTO t2 VALUES (?, ?)\0ns");
        assert_eq!(l, vec![Lit::Num("1"), Lit::Str("a".into())]);
        shape("INSERT INTO t2 VALUES ('1', 2)", &mut k).unwrap();
        assert_eq!(k, "INSERT INTO t2 VALUES (?, ?)\0sn");
        for unsure in [
            "INSERT INTO t VALUES (\"a\")",
            "INSERT INTO t VALUES ('a\\n')",
            "INSERT INTO t VALUES (1) -- c",
            "INSERT INTO t VALUES (1) # c",
            "INSERT INTO t VALUES (/* c */ 1)",
            "INSERT INTO t VALUES (0x1F)",
            "INSERT INTO t VALUES (1abc)",
            "INSERT INTO t VALUES (X'00')",
            "INSERT INTO t VALUES ('unterminated)",
        ] {
            assert!(shape(unsure, &mut k).is_none(), "{unsure}");
        }
    }
}
