//! Parse errors with their position, as Prometheus gives them (`1:8: parse error: unexpected ")"`).
//!
//! promql-parser 0.5 answers every syntax error with "invalid promql query": its generated parser
//! knows where it failed, but `parse()` drops that. So when a parse fails, the same grammar (a
//! copy of the crate's `promql.y`, see SOURCE.txt) is run again through grmtools' run-time
//! parser, which names the token it stopped at. Lexer errors are located by lexing ever longer
//! prefixes. Errors found after the grammar accepted the text (type checks in the grammar's
//! actions) keep the crate's message and have no position.

use std::{fmt, sync::OnceLock};

use cfgrammar::yacc::{YaccGrammar, YaccKind};
use lrpar::{LexError, LexParseError, Lexeme, NonStreamingLexer, RTParserBuilder, RecoveryKind};
use lrtable::{Minimiser, StateTable};
use promql_parser::parser::{self, Expr};

/// Why an expression does not parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the offending token (the text's length for "end of input"); `None` when
    /// the error is about the expression as a whole (a type error found after parsing).
    pub offset: Option<usize>,
    pub message: String,
    /// 1-based line and column (in characters) of `offset`.
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(_) => write!(
                f,
                "{}:{}: parse error: {}",
                self.line, self.column, self.message
            ),
            None => write!(f, "parse error: {}", self.message),
        }
    }
}

impl ParseError {
    /// The error, then the line of `text` it is on with a caret under its column (the error
    /// alone when it has no position), as the editors show it under the expression.
    pub fn pointed(&self, text: &str) -> String {
        if self.offset.is_none() {
            return self.to_string();
        }
        let line = text.lines().nth(self.line.saturating_sub(1)).unwrap_or("");
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{self}\n{line}\n{pad}^")
    }
}

/// Parses `text`; on failure says what is wrong and where.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    parser::parse(text).map_err(|message| locate(text, message))
}

fn locate(text: &str, message: String) -> ParseError {
    let lexer = match parser::lexer(text) {
        Ok(lexer) => lexer,
        Err(_) => return lexer_error(text, message),
    };
    let grammar = grammar();
    let errors = RTParserBuilder::new(&grammar.grammar, &grammar.table)
        .recoverer(RecoveryKind::None)
        .parse_noaction(&lexer);
    match errors.first() {
        Some(LexParseError::ParseError(error)) => {
            let span = error.lexeme().span();
            let found = if error.lexeme().faulty() || span.start() >= text.len() {
                "end of input".to_string()
            } else {
                format!("{:?}", lexer.span_str(span))
            };
            let expected = grammar.expected(error.stidx());
            let message = match expected.as_slice() {
                [] => format!("unexpected {found}"),
                [one] => format!("unexpected {found}, expected {one}"),
                many if many.len() <= 4 => format!(
                    "unexpected {found}, expected {} or {}",
                    many[..many.len() - 1].join(", "),
                    many[many.len() - 1]
                ),
                _ => format!("unexpected {found}"),
            };
            at(text, span.start().min(text.len()), message)
        }
        Some(LexParseError::LexError(error)) => at(text, error.span().start(), message),
        // The grammar accepts it: the error came from an action (a type or range check).
        None => ParseError {
            offset: None,
            message,
            line: 1,
            column: 1,
        },
    }
}

/// The lexer stops at its first error; the shortest prefix that fails ends at the culprit
/// (an unexpected character, the quote of an unterminated string). "End of input" is the end.
fn lexer_error(text: &str, message: String) -> ParseError {
    if message.contains("end of input") {
        return at(text, text.len(), message);
    }
    let culprit = text
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .find(|&end| parser::lexer(&text[..end]).is_err_and(|e| e == message))
        .map(|end| text[..end].char_indices().last().map_or(0, |(i, _)| i))
        .unwrap_or(text.len());
    at(text, culprit, message)
}

fn at(text: &str, offset: usize, message: String) -> ParseError {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    ParseError {
        offset: Some(offset),
        message,
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

struct Grammar {
    grammar: YaccGrammar<u8>,
    table: StateTable<u8>,
}

impl Grammar {
    /// The tokens the parser could have taken in the state where it stopped, as a user writes
    /// them.
    fn expected(&self, state: lrtable::StIdx<u8>) -> Vec<String> {
        let mut names: Vec<String> = self
            .table
            .state_actions(state)
            .filter_map(|token| self.grammar.token_name(token))
            .filter_map(display_token)
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn display_token(name: &str) -> Option<String> {
    let shown = match name {
        "LEFT_PAREN" => "\"(\"",
        "RIGHT_PAREN" => "\")\"",
        "LEFT_BRACE" => "\"{\"",
        "RIGHT_BRACE" => "\"}\"",
        "LEFT_BRACKET" => "\"[\"",
        "RIGHT_BRACKET" => "\"]\"",
        "COMMA" => "\",\"",
        "COLON" => "\":\"",
        "EQL" => "\"=\"",
        "DURATION" => "a duration",
        "NUMBER" => "a number",
        "STRING" => "a string",
        "IDENTIFIER" | "METRIC_IDENTIFIER" => "a name",
        "EOF" => "end of input",
        _ => return None,
    };
    Some(shown.to_string())
}

/// Built once: the grammar's tables take a few milliseconds to compute.
fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let grammar =
            YaccGrammar::<u8>::new_with_storaget(YaccKind::Grmtools, include_str!("promql.y"))
                .expect("promql.y is promql-parser's own grammar");
        let (_, table) = lrtable::from_yacc(&grammar, Minimiser::Pager)
            .expect("promql.y builds without conflicts in promql-parser");
        Grammar { grammar, table }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ParseError {
        parse(text).expect_err(text)
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = error("sum(rate(foo[5m]) +)");
        assert_eq!((e.line, e.column), (1, 20), "{e}");
        assert!(e.message.starts_with("unexpected \")\""), "{e}");

        let e = error("foo{job=\"a\"");
        assert_eq!(e.offset, Some(11), "{e}");
        assert!(e.message.contains("end of input"), "{e}");

        let e = error("rate(foo[5m])\n  by (job)");
        assert_eq!((e.line, e.column), (2, 3), "{e}");
        assert_eq!(e.to_string(), format!("2:3: parse error: {}", e.message));
    }

    #[test]
    fn lexer_errors_point_at_the_character() {
        let e = error("foo $ bar");
        assert_eq!(e.offset, Some(4), "{e}");
        assert!(e.message.contains('$'), "{e}");
    }

    #[test]
    fn type_errors_keep_the_parsers_message() {
        let e = error("rate(foo)");
        assert_eq!(e.offset, None);
        assert!(e.message.contains("'rate'"), "{e}");
    }

    /// The copied grammar must accept exactly what the crate's parser accepts, or positions
    /// would point at the wrong place.
    #[test]
    fn the_copied_grammar_agrees_with_the_parser() {
        let valid = [
            "up",
            "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1h))",
            "histogram_quantile(0.9, sum without (instance) (rate(x_bucket[5m])))",
            "a + on(b) group_left(c) d",
            "max_over_time(deriv(x[5m])[1h:1m] @ 100)",
            "-1 ^ 2",
            "topk(3, x) and on() y",
        ];
        for text in valid {
            let lexer = parser::lexer(text).unwrap();
            let g = grammar();
            let errors = RTParserBuilder::new(&g.grammar, &g.table)
                .recoverer(RecoveryKind::None)
                .parse_noaction(&lexer);
            assert!(errors.is_empty(), "{text}: {errors:?}");
        }
    }
}
