//! The SQL dialect every replog route parses MariaDB statements with:
//! sqlparser's MySQL dialect, plus the few forms of MariaDB's grammar that
//! dialect does not read.
//!
//! - `!x`: logical NOT, binding tighter than any binary operator
//!   (`!1 + 1` is `(!1) + 1`), where sqlparser's `!` would bind as loosely
//!   as `NOT`.
//! - `a MOD b`: the `%` operator spelled as a word (`-7 MOD 2` is -1).
//! - `x REGEXP NULL`, `x RLIKE NULL`, `x NOT REGEXP NULL`: sqlparser takes
//!   the `NULL` after `REGEXP` for the start of `NOT NULL` and fails.
//! - `INTERVAL v unit` with a compound unit (`HOUR_MINUTE`, `YEAR_MONTH`,
//!   `DAY_SECOND`, …), read as an interval whose leading field is the
//!   unit's name ([`DateTimeField::Custom`]).
//! - `EXTRACT(unit FROM x)` with a compound unit, read the same way.
//! - `CREATE SCHEMA`: MariaDB's synonym of `CREATE DATABASE`, read as one.
//!
//! Everything else is exactly sqlparser's MySQL dialect, which the parser
//! also takes this one for where it asks which dialect it runs
//! ([`Dialect::dialect`]).

use sqlparser::ast::{
    BinaryOperator, DateTimeField, Expr, Ident, Interval, Statement, UnaryOperator,
};
use sqlparser::dialect::{Dialect, MySqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;
use std::any::TypeId;

/// MariaDB's dialect; see the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct MariaDbDialect;

/// MariaDB's compound INTERVAL / EXTRACT units.
pub const COMPOUND_UNITS: &[&str] = &[
    "YEAR_MONTH",
    "DAY_HOUR",
    "DAY_MINUTE",
    "DAY_SECOND",
    "DAY_MICROSECOND",
    "HOUR_MINUTE",
    "HOUR_SECOND",
    "HOUR_MICROSECOND",
    "MINUTE_SECOND",
    "MINUTE_MICROSECOND",
    "SECOND_MICROSECOND",
];

/// Parses `sql` with [`MariaDbDialect`].
pub fn parse(sql: &str) -> Result<Vec<Statement>, ParserError> {
    Parser::parse_sql(&MariaDbDialect, sql)
}

/// The compound unit `t` names, if it is one.
fn compound_unit(t: &Token) -> Option<&'static str> {
    let Token::Word(w) = t else { return None };
    if w.quote_style.is_some() {
        return None;
    }
    COMPOUND_UNITS
        .iter()
        .copied()
        .find(|u| u.eq_ignore_ascii_case(&w.value))
}

/// The digits of a `0b…` bit-value literal (MariaDB: the same as
/// `b'…'`), which the MySQL tokenizer reads as one word (identifiers may
/// start with digits).
fn bit_literal(t: &Token) -> Option<String> {
    let Token::Word(w) = t else { return None };
    let digits = w.value.strip_prefix("0b")?;
    (w.quote_style.is_none()
        && !digits.is_empty()
        && digits.bytes().all(|b| b == b'0' || b == b'1'))
    .then(|| digits.to_string())
}

fn is_keyword(t: &Token, k: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// Binding of `!`: above every binary operator, as in MariaDB.
const BANG_PRECEDENCE: u8 = 45;

const M: MySqlDialect = MySqlDialect {};

impl MariaDbDialect {
    /// `INTERVAL v COMPOUND_UNIT`, when the tokens ahead are that (`v` one
    /// token, or a sign and one token).
    fn compound_interval(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        if !is_keyword(&parser.peek_token_ref().token, Keyword::INTERVAL) {
            return None;
        }
        let signed = matches!(
            parser.peek_nth_token_ref(1).token,
            Token::Minus | Token::Plus
        );
        let at = if signed { 3 } else { 2 };
        compound_unit(&parser.peek_nth_token_ref(at).token)?;
        parser.next_token();
        let value = match parser.parse_prefix() {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let unit_token = parser.next_token();
        let Some(unit) = compound_unit(&unit_token.token) else {
            return Some(parser.expected("a compound INTERVAL unit", unit_token));
        };
        Some(Ok(Expr::Interval(Interval {
            value: Box::new(value),
            leading_field: Some(DateTimeField::Custom(Ident::new(unit))),
            leading_precision: None,
            last_field: None,
            fractional_seconds_precision: None,
        })))
    }
}

impl Dialect for MariaDbDialect {
    fn dialect(&self) -> TypeId {
        M.dialect()
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        // `!x`, and `!!x` (one token to sqlparser).
        let bangs = match parser.peek_token_ref().token {
            Token::ExclamationMark => 1,
            Token::DoubleExclamationMark => 2,
            _ => 0,
        };
        if bangs > 0 {
            parser.next_token();
            return Some(parser.parse_subexpr(BANG_PRECEDENCE).map(|mut e| {
                for _ in 0..bangs {
                    e = Expr::UnaryOp {
                        op: UnaryOperator::BangNot,
                        expr: Box::new(e),
                    };
                }
                e
            }));
        }
        if let Some(bits) = bit_literal(&parser.peek_token_ref().token) {
            parser.next_token();
            return Some(Ok(Expr::Value(
                sqlparser::ast::Value::SingleQuotedByteStringLiteral(bits).into(),
            )));
        }
        self.compound_interval(parser)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if is_keyword(&parser.peek_token_ref().token, Keyword::MOD) {
            return Some(Ok(self.prec_value(Precedence::MulDivModOp)));
        }
        None
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if parser.parse_keyword(Keyword::MOD) {
            return Some(
                parser
                    .parse_subexpr(precedence)
                    .map(|right| Expr::BinaryOp {
                        left: Box::new(expr.clone()),
                        op: BinaryOperator::Modulo,
                        right: Box::new(right),
                    }),
            );
        }
        // [NOT] REGEXP|RLIKE pattern, the pattern read as any expression
        // (NULL included).
        let [a, b] = parser.peek_tokens::<2>();
        let negated = is_keyword(&a, Keyword::NOT);
        let word = if negated { &b } else { &a };
        let regexp = is_keyword(word, Keyword::REGEXP);
        if regexp || is_keyword(word, Keyword::RLIKE) {
            if negated {
                parser.next_token();
            }
            parser.next_token();
            return Some(
                parser
                    .parse_subexpr(self.prec_value(Precedence::Like))
                    .map(|pattern| Expr::RLike {
                        negated,
                        expr: Box::new(expr.clone()),
                        pattern: Box::new(pattern),
                        regexp,
                    }),
            );
        }
        M.parse_infix(parser, expr, precedence)
    }

    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        // CREATE SCHEMA is CREATE DATABASE, as every route already reads it.
        let [a, b] = parser.peek_tokens::<2>();
        if is_keyword(&a, Keyword::CREATE) && is_keyword(&b, Keyword::SCHEMA) {
            parser.next_token();
            parser.next_token();
            return Some(parser.parse_create_database());
        }
        M.parse_statement(parser)
    }

    fn allow_extract_custom(&self) -> bool {
        true
    }

    // Everything below is MySQL's.

    fn is_identifier_start(&self, ch: char) -> bool {
        M.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        M.is_identifier_part(ch)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        M.is_delimited_identifier_start(ch)
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        M.identifier_quote_style(identifier)
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        M.supports_string_literal_backslash_escape()
    }
    fn supports_string_literal_concatenation(&self) -> bool {
        M.supports_string_literal_concatenation()
    }
    fn ignores_wildcard_escapes(&self) -> bool {
        M.ignores_wildcard_escapes()
    }
    fn supports_numeric_prefix(&self) -> bool {
        M.supports_numeric_prefix()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        M.supports_bitwise_shift_operators()
    }
    fn supports_multiline_comment_hints(&self) -> bool {
        M.supports_multiline_comment_hints()
    }
    fn require_interval_qualifier(&self) -> bool {
        M.require_interval_qualifier()
    }
    fn supports_limit_comma(&self) -> bool {
        M.supports_limit_comma()
    }
    fn supports_create_table_select(&self) -> bool {
        M.supports_create_table_select()
    }
    fn supports_insert_set(&self) -> bool {
        M.supports_insert_set()
    }
    fn supports_user_host_grantee(&self) -> bool {
        M.supports_user_host_grantee()
    }
    fn is_table_factor_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        M.is_table_factor_alias(explicit, kw, parser)
    }
    fn supports_table_hints(&self) -> bool {
        M.supports_table_hints()
    }
    fn requires_single_line_comment_whitespace(&self) -> bool {
        M.requires_single_line_comment_whitespace()
    }
    fn supports_match_against(&self) -> bool {
        M.supports_match_against()
    }
    fn supports_select_modifiers(&self) -> bool {
        M.supports_select_modifiers()
    }
    fn supports_set_names(&self) -> bool {
        M.supports_set_names()
    }
    fn supports_comma_separated_set_assignments(&self) -> bool {
        M.supports_comma_separated_set_assignments()
    }
    fn supports_update_order_by(&self) -> bool {
        M.supports_update_order_by()
    }
    fn supports_data_type_signed_suffix(&self) -> bool {
        M.supports_data_type_signed_suffix()
    }
    fn supports_cross_join_constraint(&self) -> bool {
        M.supports_cross_join_constraint()
    }
    fn supports_double_ampersand_operator(&self) -> bool {
        M.supports_double_ampersand_operator()
    }
    fn supports_binary_kw_as_cast(&self) -> bool {
        M.supports_binary_kw_as_cast()
    }
    fn supports_comment_optimizer_hint(&self) -> bool {
        M.supports_comment_optimizer_hint()
    }
    fn supports_constraint_keyword_without_name(&self) -> bool {
        M.supports_constraint_keyword_without_name()
    }
    fn supports_key_column_option(&self) -> bool {
        M.supports_key_column_option()
    }
    fn supports_group_by_with_modifier(&self) -> bool {
        M.supports_group_by_with_modifier()
    }
    fn supports_left_associative_joins_without_parens(&self) -> bool {
        M.supports_left_associative_joins_without_parens()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> String {
        let s = parse(sql).unwrap();
        assert_eq!(s.len(), 1);
        s[0].to_string()
    }

    #[test]
    fn mariadb_forms_the_mysql_dialect_does_not_read() {
        for sql in [
            "SELECT !0",
            "SELECT !!5",
            "SELECT -7 MOD 2",
            "SELECT 'a' REGEXP NULL, 1",
            "SELECT DATE_ADD('2024-01-01', INTERVAL '1:30' HOUR_MINUTE)",
            "SELECT EXTRACT(HOUR_MINUTE FROM '2024-05-06 10:11:12')",
        ] {
            assert!(Parser::parse_sql(&MySqlDialect {}, sql).is_err(), "{sql}");
            parse(sql).unwrap();
        }
        assert_eq!(
            parse("CREATE SCHEMA IF NOT EXISTS s2 CHARACTER SET utf8mb4").unwrap(),
            parse("CREATE DATABASE IF NOT EXISTS s2 CHARACTER SET utf8mb4").unwrap()
        );
    }

    #[test]
    fn precedence_is_mariadb_s() {
        // `!` binds tighter than `+`; MOD as tightly as `*`, after unary minus.
        assert_eq!(one("SELECT !1 + 1"), "SELECT !1 + 1");
        let s = &parse("SELECT !1 + 1").unwrap()[0];
        let Statement::Query(q) = s else { panic!() };
        let sqlparser::ast::SetExpr::Select(sel) = q.body.as_ref() else {
            panic!()
        };
        let sqlparser::ast::SelectItem::UnnamedExpr(e) = &sel.projection[0] else {
            panic!()
        };
        assert!(
            matches!(
                e,
                Expr::BinaryOp {
                    op: BinaryOperator::Plus,
                    ..
                }
            ),
            "{e:?}"
        );
        let s = &parse("SELECT 1 + -7 MOD 2").unwrap()[0];
        let Statement::Query(q) = s else { panic!() };
        let sqlparser::ast::SetExpr::Select(sel) = q.body.as_ref() else {
            panic!()
        };
        let sqlparser::ast::SelectItem::UnnamedExpr(e) = &sel.projection[0] else {
            panic!()
        };
        let Expr::BinaryOp {
            op: BinaryOperator::Plus,
            right,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert!(matches!(
            right.as_ref(),
            Expr::BinaryOp {
                op: BinaryOperator::Modulo,
                ..
            }
        ));
    }

    #[test]
    fn mysql_forms_are_unchanged() {
        for sql in [
            "SELECT 7 DIV 2, 'a' NOT REGEXP 'b', 'a' RLIKE 'b'",
            "SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM t",
            "SELECT a FROM t WHERE b IS NOT NULL AND c NOT LIKE 'x%'",
            "LOCK TABLES t WRITE",
            "SELECT `mod` FROM t",
        ] {
            assert_eq!(
                parse(sql).unwrap(),
                Parser::parse_sql(&MySqlDialect {}, sql).unwrap(),
                "{sql}"
            );
        }
    }
}
