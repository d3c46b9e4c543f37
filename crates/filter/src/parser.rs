//! Recursive-descent parser for LTTng's grammar.
//!
//! Binary operators use precedence climbing over [`BinaryOp::precedence`]
//! (LTTng's table, where `& ^ |` bind tighter than comparisons), all left
//! associative; unary operators are right associative. Field references:
//! `ident ('[' INT ']')* (('.' | '->') ident ('[' INT ']')*)*`, where the
//! first identifier may be `$ctx` or `$app`. Postfix forms apply to
//! identifiers only, never to parenthesized expressions.
//!
//! Depth is bounded ([`MAX_DEPTH`]) so that no input can exhaust the stack,
//! here or in the later passes that walk the tree recursively.

use crate::ast::{Ast, BinaryOp, Expr, FieldRef, PathSegment, Scope, StrLit, UnaryOp};
use crate::error::{ErrorKind, FilterError, Span};
use crate::lexer::{tokenize, Tok, Token};

/// Longest expression accepted, in bytes (LTTng: 65535 characters).
pub const MAX_EXPRESSION_LEN: usize = 65535;

/// Deepest tree accepted: nesting of parentheses, unary operators and
/// chained binary operators all count, so this also bounds a chain like
/// `a == 1 || a == 2 || ...` to 256 terms. It keeps every pass (all walk
/// the tree recursively) well inside a 2 MiB thread stack even in debug
/// builds.
pub const MAX_DEPTH: usize = 256;

/// Parses a filter expression.
pub fn parse(expr: &str) -> Result<Ast, FilterError> {
    if expr.len() > MAX_EXPRESSION_LEN {
        return Err(FilterError::new(
            ErrorKind::Limit,
            format!(
                "filter expression is {} bytes long; the limit is {MAX_EXPRESSION_LEN}",
                expr.len()
            ),
            Span::new(MAX_EXPRESSION_LEN, expr.len()),
            expr,
        ));
    }
    let tokens = tokenize(expr)?;
    let mut p = Parser {
        src: expr,
        tokens,
        pos: 0,
    };
    if p.peek() == &Tok::Eof {
        return Err(p.error(
            ErrorKind::Syntax,
            "empty filter expression",
            Span::new(0, expr.len()),
        ));
    }
    let (root, _) = p.binary(1, 0)?;
    if p.peek() != &Tok::Eof {
        let t = p.current();
        return Err(p.error(
            ErrorKind::Syntax,
            format!(
                "unexpected {} after a complete expression",
                t.tok.describe()
            ),
            t.span,
        ));
    }
    Ok(Ast::from_parts(root, expr))
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
}

/// Expression and its height.
type Parsed = (Expr, usize);

impl<'s> Parser<'s> {
    fn error(&self, kind: ErrorKind, msg: impl Into<String>, span: Span) -> FilterError {
        FilterError::new(kind, msg, span, self.src)
    }

    fn current(&self) -> Token {
        // The token list always ends with Eof and `pos` never passes it.
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                tok: Tok::Eof,
                span: Span::new(self.src.len(), self.src.len()),
            })
    }

    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn bump(&mut self) -> Token {
        let t = self.current();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn check_depth(&self, height: usize, span: Span) -> Result<(), FilterError> {
        if height > MAX_DEPTH {
            Err(self.error(
                ErrorKind::Limit,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
            ))
        } else {
            Ok(())
        }
    }

    fn binary_op(&self) -> Option<BinaryOp> {
        use BinaryOp::*;
        Some(match self.peek() {
            Tok::Star => Mul,
            Tok::Slash => Div,
            Tok::Percent => Mod,
            Tok::Plus => Add,
            Tok::Minus => Sub,
            Tok::Shl => Shl,
            Tok::Shr => Shr,
            Tok::Amp => BitAnd,
            Tok::Caret => BitXor,
            Tok::Pipe => BitOr,
            Tok::Lt => Lt,
            Tok::Gt => Gt,
            Tok::Le => Le,
            Tok::Ge => Ge,
            Tok::EqEq => Eq,
            Tok::Ne => Ne,
            Tok::AndAnd => And,
            Tok::OrOr => Or,
            _ => return None,
        })
    }

    /// Operators of precedence `min_prec` and above; `depth` counts the
    /// enclosing parentheses and unary operators.
    fn binary(&mut self, min_prec: u8, depth: usize) -> Result<Parsed, FilterError> {
        let (mut lhs, mut height) = self.unary(depth)?;
        while let Some(op) = self.binary_op() {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let span = self.bump().span;
            let (rhs, rh) = self.binary(prec + 1, depth)?;
            height = 1 + height.max(rh);
            self.check_depth(depth + height, span)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span,
            };
        }
        Ok((lhs, height))
    }

    fn unary_op(&self) -> Option<UnaryOp> {
        Some(match self.peek() {
            Tok::Plus => UnaryOp::Plus,
            Tok::Minus => UnaryOp::Minus,
            Tok::Bang => UnaryOp::Not,
            Tok::Tilde => UnaryOp::BitNot,
            _ => return None,
        })
    }

    /// Prefix operators are collected in a loop (a long `!!!!x` costs no
    /// stack), then applied innermost first.
    fn unary(&mut self, depth: usize) -> Result<Parsed, FilterError> {
        let mut ops = Vec::new();
        while let Some(op) = self.unary_op() {
            let span = self.bump().span;
            ops.push((op, span));
            self.check_depth(depth + ops.len(), span)?;
        }
        let (mut e, mut h) = if self.peek() == &Tok::LParen {
            self.parenthesized(depth + ops.len())?
        } else {
            self.leaf(depth + ops.len())?
        };
        for (op, span) in ops.into_iter().rev() {
            e = Expr::Unary {
                op,
                operand: Box::new(e),
                span,
            };
            h += 1;
        }
        Ok((e, h))
    }

    fn parenthesized(&mut self, depth: usize) -> Result<Parsed, FilterError> {
        let open = self.bump().span;
        self.check_depth(depth + 1, open)?;
        let inner = self.binary(1, depth + 1)?;
        if self.peek() != &Tok::RParen {
            return Err(self.unclosed(open, "(", ")"));
        }
        self.bump();
        Ok(inner)
    }

    /// The error for a missing closing bracket (kept out of the recursive
    /// functions: formatting needs stack space they should not carry).
    #[cold]
    #[inline(never)]
    fn unclosed(&self, open: Span, o: &str, c: &str) -> FilterError {
        let t = self.current();
        self.error(
            ErrorKind::Syntax,
            format!(
                "expected `{c}` to close the `{o}` at column {}, found {}",
                column(self.src, open.start),
                t.tok.describe()
            ),
            t.span,
        )
    }

    /// A constant or a field reference.
    #[inline(never)]
    fn leaf(&mut self, depth: usize) -> Result<Parsed, FilterError> {
        let t = self.current();
        let e = match t.tok {
            Tok::Int(value) => Expr::Int {
                value,
                span: t.span,
            },
            Tok::Float(value) => Expr::Float {
                value,
                span: t.span,
            },
            Tok::Str(raw) => Expr::Str(StrLit { raw, span: t.span }),
            Tok::Ident(_) | Tok::Global(_) => return Ok((Expr::Field(self.field_ref(depth)?), 1)),
            other => {
                return Err(self.error(
                    ErrorKind::Syntax,
                    format!("expected an operand, found {}", other.describe()),
                    t.span,
                ))
            }
        };
        self.bump();
        Ok((e, 1))
    }

    /// `name[1][2].member[3]`, `$ctx.name`, `$app.provider:name`.
    fn field_ref(&mut self, depth: usize) -> Result<FieldRef, FilterError> {
        let first = self.current();
        let mut scope = Scope::Payload;
        let mut path = Vec::new();
        let mut span = first.span;
        let mut segment = true;
        while segment {
            let t = self.bump();
            let name = match t.tok {
                Tok::Ident(s) | Tok::Global(s) => s,
                other => {
                    return Err(self.error(
                        ErrorKind::Syntax,
                        format!(
                            "expected a field name after `.`, found {}",
                            other.describe()
                        ),
                        t.span,
                    ))
                }
            };
            span = span.to(t.span);
            let mut indices = Vec::new();
            while self.peek() == &Tok::LBracket {
                let open = self.bump().span;
                self.check_depth(depth + 1, open)?;
                indices.push(self.index(depth + 1)?);
                if self.peek() != &Tok::RBracket {
                    return Err(self.unclosed(open, "[", "]"));
                }
                span = span.to(self.bump().span);
            }
            if path.is_empty() && name.starts_with('$') {
                scope = match name.as_str() {
                    "$ctx" => Scope::Context,
                    "$app" => Scope::AppContext,
                    _ => {
                        return Err(self.error(
                            ErrorKind::Reference,
                            format!("unknown root `{name}`: only `$ctx.NAME` and `$app.PROVIDER:NAME` exist"),
                            t.span,
                        ))
                    }
                };
                if !indices.is_empty() {
                    return Err(self.error(
                        ErrorKind::Reference,
                        format!("`{name}` cannot be indexed"),
                        span,
                    ));
                }
                if !matches!(self.peek(), Tok::Dot | Tok::Arrow) {
                    return Err(self.error(
                        ErrorKind::Reference,
                        format!("expected `.NAME` after `{name}`"),
                        t.span,
                    ));
                }
            } else {
                path.push(PathSegment { name, indices });
            }
            segment = matches!(self.peek(), Tok::Dot | Tok::Arrow);
            if segment {
                self.bump();
            }
        }
        Ok(FieldRef { scope, path, span })
    }

    /// An index: LTTng parses any unary expression there, then requires an
    /// integer constant.
    fn index(&mut self, depth: usize) -> Result<u64, FilterError> {
        let (e, _) = self.unary(depth)?;
        match e {
            Expr::Int { value, .. } => Ok(value),
            other => Err(self.error(
                ErrorKind::Reference,
                "array index must be a non-negative integer constant",
                crate::check::extent(&other),
            )),
        }
    }
}

fn column(src: &str, at: usize) -> usize {
    let at = at.min(src.len());
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    src.get(line_start..at)
        .map_or(at - line_start, |s| s.chars().count())
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(s).unwrap().to_string()
    }

    #[test]
    fn lttng_precedence() {
        assert_eq!(p("i & 1 == 1"), "i & 1 == 1");
        assert_eq!(p("(i & 1) == 1"), "i & 1 == 1");
        assert_eq!(p("i & (1 == 1)"), "i & (1 == 1)");
        assert_eq!(p("a || b && c"), "a || b && c");
        assert_eq!(p("(a || b) && c"), "(a || b) && c");
        assert_eq!(p("a - (b - c)"), "a - (b - c)");
        assert_eq!(p("a - b - c"), "a - b - c");
        assert_eq!(p("!(i < 990)"), "!(i < 990)");
        assert_eq!(p("-i < -995"), "-i < -995");
        assert_eq!(p("$app.prov:ctx == 1"), "$app.prov:ctx == 1");
        assert_eq!(p("a->b[2][3].c[1]"), "a.b[2][3].c[1]");
        assert_eq!(p("x == 010"), "x == 8");
    }

    #[test]
    fn syntax_errors_point_at_the_culprit() {
        let e = parse("i == ").unwrap_err();
        assert_eq!(e.column(), 6);
        let e = parse("a[b] == 1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Reference);
        assert_eq!(e.column(), 3);
        assert!(parse("a[-1] == 1").is_err());
        assert!(parse("$foo.x == 1").is_err());
        assert!(parse("$ctx == 1").is_err());
        assert!(parse("(a)[1] == 1").is_err());
        assert!(parse("").is_err());
        assert!(parse("  ").is_err());
        assert!(parse("a == 1 1").is_err());
        assert!(parse("a = 1").is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(parse(&deep).unwrap_err().kind(), ErrorKind::Limit);
        let chain = vec!["i == 1"; 3000].join(" || ");
        assert_eq!(parse(&chain).unwrap_err().kind(), ErrorKind::Limit);
        let unary = format!("{}i", "!".repeat(5000));
        assert_eq!(parse(&unary).unwrap_err().kind(), ErrorKind::Limit);
        let unary = format!("{}0{}", "a[".repeat(5000), "]".repeat(5000));
        assert_eq!(parse(&unary).unwrap_err().kind(), ErrorKind::Limit);
        let ok = vec!["i == 1"; 120].join(" || ");
        assert!(parse(&ok).is_ok());
    }
}
