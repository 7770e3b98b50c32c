//! Splitting a script into statements, each keeping its exact source text
//! (what a statement log records).

use crate::error::{Error, ErrorKind, Result};
use replog_schema::MariaDbDialect;

/// The statements of `sql`, each its exact text without the terminating
/// `;`, leading comments and surrounding whitespace.
///
/// A single pass over the bytes with MySQL's lexical rules for what can
/// hide a `;`: strings in `'…'` and `"…"` (backslash escapes, doubled
/// quotes), identifiers in `` `…` `` (doubled backticks), and comments
/// (`-- ` to the end of the line, `#` to the end of the line, `/* … */`).
/// An unterminated string, identifier or comment is an error naming its
/// line.
pub fn split(sql: &str) -> Result<Vec<&str>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    let line_of = |at: usize| sql[..at].bytes().filter(|&c| c == b'\n').count() + 1;
    while i < b.len() {
        let c = b[i];
        // Comments, before or inside a statement.
        let comment_end = match c {
            b'#' => Some(line_end(b, i)),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|x| x.is_ascii_whitespace()) =>
            {
                Some(line_end(b, i))
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match sql[i + 2..].find("*/") {
                Some(k) => Some(i + 2 + k + 2),
                None => {
                    return Err(Error::new(
                        ErrorKind::Parse,
                        format!("unterminated /* comment starting on line {}", line_of(i)),
                    ));
                }
            },
            _ => None,
        };
        if let Some(end) = comment_end {
            i = end;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b';' {
            if let Some(s) = start.take() {
                out.push(sql[s..i].trim_end());
            }
            i += 1;
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        i = match c {
            b'\'' | b'"' | b'`' => match quoted_end(b, i) {
                Some(end) => end,
                None => {
                    let what = if c == b'`' { "identifier" } else { "string" };
                    return Err(Error::new(
                        ErrorKind::Parse,
                        format!("unterminated quoted {what} starting on line {}", line_of(i)),
                    ));
                }
            },
            _ => i + 1,
        };
    }
    if let Some(s) = start {
        let rest = sql[s..].trim_end();
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    Ok(out)
}

/// Index just past the end of the line holding `i` (past its `\n`).
fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |k| i + k + 1)
}

/// Index just past the quote closing the quoted text that opens at `i`;
/// backslash escapes apply in strings, a doubled quote is one quote.
fn quoted_end(b: &[u8], i: usize) -> Option<usize> {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        let c = b[j];
        if c == b'\\' && q != b'`' {
            j += 2;
            continue;
        }
        if c == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// Whether `sql` is one DDL statement (CREATE DATABASE, CREATE / DROP /
/// ALTER / TRUNCATE TABLE), which commits on its own rather than inside
/// BEGIN … COMMIT.
///
/// A statement whose first word is not CREATE, DROP, ALTER or TRUNCATE is
/// answered without parsing it (DML can be long and nest deep).
pub fn is_ddl(sql: &str) -> bool {
    use sqlparser::ast::Statement as S;
    let head = sql.trim_start();
    let word_len = head.bytes().take_while(u8::is_ascii_alphabetic).count();
    if word_len > 0 {
        let word = &head[..word_len];
        if !["CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k))
        {
            return false;
        }
    }
    crate::deep::with_stack(sql.len(), || {
        match sqlparser::parser::Parser::parse_sql(&MariaDbDialect, sql) {
            Ok(v) => {
                let ddl = matches!(
                    v.as_slice(),
                    [S::CreateDatabase { .. }
                        | S::CreateTable(_)
                        | S::Drop { .. }
                        | S::AlterTable(_)
                        | S::Truncate(_)
                        | S::RenameTable(_)]
                );
                if crate::deep::too_deep(sql, &v) {
                    crate::deep::dismantle(v);
                }
                ddl
            }
            Err(_) => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::tokenizer::{Token, Tokenizer};

    /// The former splitter, on sqlparser's tokenizer: the reference.
    fn split_tokenized(sql: &str) -> Result<Vec<&str>> {
        let tokens = Tokenizer::new(&MariaDbDialect, sql)
            .tokenize_with_location()
            .map_err(|e| Error::new(ErrorKind::Parse, e.to_string()))?;
        // Byte offset of each line start (sqlparser locations are 1-based
        // line / character column).
        let mut line_starts = vec![0usize];
        for (i, b) in sql.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        let offset = |line: u64, col: u64| -> usize {
            let Some(&start) = usize::try_from(line)
                .ok()
                .and_then(|l| l.checked_sub(1))
                .and_then(|l| line_starts.get(l))
            else {
                return sql.len();
            };
            let skip = usize::try_from(col.saturating_sub(1)).unwrap_or(usize::MAX);
            sql[start..]
                .char_indices()
                .nth(skip)
                .map_or(sql.len(), |(i, _)| start + i)
        };
        let mut out = Vec::new();
        let mut start: Option<usize> = None;
        for t in &tokens {
            match &t.token {
                Token::Whitespace(_) => {}
                Token::SemiColon => {
                    if let Some(s) = start.take() {
                        let end = offset(t.span.start.line, t.span.start.column);
                        out.push(sql[s..end].trim_end());
                    }
                }
                Token::EOF => {}
                _ => {
                    if start.is_none() {
                        start = Some(offset(t.span.start.line, t.span.start.column));
                    }
                }
            }
        }
        if let Some(s) = start {
            let rest = sql[s..].trim_end();
            if !rest.is_empty() {
                out.push(rest);
            }
        }
        Ok(out)
    }

    #[test]
    fn agrees_with_the_tokenizer_on_every_workload_and_edge_case() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/mariadb/workloads");
        let mut texts: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(texts.len() >= 5);
        for t in [
            "SELECT 'a;b'; SELECT \"c;d\"; SELECT `e;f`",
            "SELECT 'it''s;'; SELECT 'back\\';slash'",
            "SELECT 1 -- c;\n; SELECT 2 #c;\n;SELECT /* ; */ 3",
            "SELECT 1--2; SELECT 3",
            ";;; SELECT 1;;",
            "-- only a comment\n",
            "SELECT `a``;b`; SELECT \"x\"\";y\"",
            "  SELECT 1 /* trailing */  ",
            "INSERT INTO t VALUES ('é;ü'); SELECT 'ok'",
        ] {
            texts.push(t.to_string());
        }
        for t in &texts {
            assert_eq!(split(t).unwrap(), split_tokenized(t).unwrap(), "{t}");
        }
        for bad in ["SELECT 'x", "SELECT `x", "SELECT /* x"] {
            assert!(split(bad).is_err(), "{bad}");
            assert!(split_tokenized(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_keeping_text() {
        let s = "-- c\nCREATE DATABASE d;\nINSERT INTO t VALUES ('a;b'),\n  ('é');  \n SELECT 1";
        assert_eq!(
            split(s).unwrap(),
            vec![
                "CREATE DATABASE d",
                "INSERT INTO t VALUES ('a;b'),\n  ('é')",
                "SELECT 1"
            ]
        );
    }
}
