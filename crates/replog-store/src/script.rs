//! Splitting a script into statements with sqlparser's MySQL tokenizer, so
//! each statement keeps its exact source text (what a statement log
//! records).

use crate::error::{Error, ErrorKind, Result};
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The statements of `sql`, each its exact text without the terminating
/// `;`, leading comments and surrounding whitespace.
pub fn split(sql: &str) -> Result<Vec<&str>> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
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

/// Whether `sql` is one DDL statement (CREATE DATABASE, CREATE / DROP /
/// ALTER / TRUNCATE TABLE), which commits on its own rather than inside
/// BEGIN … COMMIT.
pub fn is_ddl(sql: &str) -> bool {
    use sqlparser::ast::Statement as S;
    match sqlparser::parser::Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(v) => matches!(
            v.as_slice(),
            [S::CreateDatabase { .. }
                | S::CreateTable(_)
                | S::Drop { .. }
                | S::AlterTable(_)
                | S::Truncate(_)]
        ),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
