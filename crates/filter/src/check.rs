//! The checks `lttng enable-event --filter` makes before anything reaches a
//! tracer (liblttng-ctl's IR generation and IR validation passes): an
//! expression failing one of them is refused outright.
//!
//! They reason on the *kind* of each operand as LTTng's IR does: a string
//! literal (with its glob kind), a number, a floating point number, or a
//! field reference ("expression", type unknown until the tracer links the
//! filter to an event). Unary operators keep their operand's kind; every
//! binary operator yields a number.

use crate::ast::{Ast, BinaryOp, Expr, StrKind, UnaryOp};
use crate::error::{ErrorKind, FilterError, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str(StrKind),
    Numeric,
    Float,
    Reference,
}

/// Runs LTTng's client-side checks, in LTTng's order (IR generation, then
/// glob validation), reporting the first failure.
pub(crate) fn client_checks(ast: &Ast) -> Result<(), FilterError> {
    let src = ast.source();
    let err = |kind, msg: String, span| Err(FilterError::new(kind, msg, span, src));
    match kind_of(ast.expr(), src)? {
        Kind::Str(_) => {
            return err(
                ErrorKind::Type,
                "a string cannot be the filter's result (compare it with something)".into(),
                ast.expr().span(),
            )
        }
        Kind::Float => {
            return err(
                ErrorKind::Type,
                "a floating point constant cannot be the filter's result".into(),
                ast.expr().span(),
            )
        }
        Kind::Numeric | Kind::Reference => {}
    }
    check_globbing(ast.expr(), src)
}

fn kind_of(e: &Expr, src: &str) -> Result<Kind, FilterError> {
    let err = |kind, msg: String, span: Span| Err(FilterError::new(kind, msg, span, src));
    match e {
        Expr::Int { .. } => Ok(Kind::Numeric),
        Expr::Float { .. } => Ok(Kind::Float),
        Expr::Str(s) => Ok(Kind::Str(s.kind())),
        Expr::Field(_) => Ok(Kind::Reference),
        Expr::Unary { op, operand, span } => {
            let k = kind_of(operand, src)?;
            if let Kind::Str(_) = k {
                return err(
                    ErrorKind::Type,
                    format!(
                        "unary operation '{}' not allowed on a string literal",
                        op.symbol()
                    ),
                    *span,
                );
            }
            Ok(k)
        }
        Expr::Binary { op, lhs, rhs, span } => {
            if op.is_arithmetic() {
                // Refused before its operands are even looked at.
                return err(
                    ErrorKind::UnsupportedOperator,
                    format!(
                        "binary operation '{}' is not supported (filters have comparisons, bitwise and logical operators only)",
                        op.symbol()
                    ),
                    *span,
                );
            }
            let l = kind_of(lhs, src)?;
            let r = kind_of(rhs, src)?;
            let is_str = |k| matches!(k, Kind::Str(_));
            let is_num = |k| matches!(k, Kind::Numeric | Kind::Float);
            let sym = op.symbol();
            if op.is_comparison() {
                if (is_str(l) && is_num(r)) || (is_num(l) && is_str(r)) {
                    return err(
                        ErrorKind::Type,
                        format!("binary operation '{sym}' operand type mismatch: a string compared with a number"),
                        *span,
                    );
                }
            } else if op.is_logical() {
                if is_str(l) || is_str(r) {
                    return err(
                        ErrorKind::Type,
                        format!("logical binary operation '{sym}' cannot have a string operand"),
                        *span,
                    );
                }
            } else {
                if is_str(l) || is_str(r) {
                    return err(
                        ErrorKind::Type,
                        format!("bitwise binary operation '{sym}' cannot have a string operand"),
                        *span,
                    );
                }
                if l == Kind::Float || r == Kind::Float {
                    return err(
                        ErrorKind::Type,
                        format!(
                            "bitwise binary operation '{sym}' cannot have a floating point operand"
                        ),
                        *span,
                    );
                }
            }
            Ok(Kind::Numeric)
        }
    }
}

/// The kind of a string literal that is the direct operand of an operator.
fn literal_kind(e: &Expr) -> Option<(StrKind, Span)> {
    match e {
        Expr::Str(s) => Some((s.kind(), s.span)),
        _ => None,
    }
}

/// LTTng's glob rules: two globbing patterns cannot be compared (except two
/// star-at-the-end patterns, for backward compatibility), and a full
/// globbing pattern only goes with `==` and `!=`.
fn check_globbing(e: &Expr, src: &str) -> Result<(), FilterError> {
    match e {
        Expr::Unary { operand, .. } => check_globbing(operand, src),
        Expr::Binary { op, lhs, rhs, span } => {
            if !op.is_logical() {
                let l = literal_kind(lhs);
                let r = literal_kind(rhs);
                if let (Some((lk, _)), Some((rk, _))) = (l, r) {
                    if (lk == StrKind::Glob && rk != StrKind::Plain)
                        || (rk == StrKind::Glob && lk != StrKind::Plain)
                    {
                        return Err(FilterError::new(
                            ErrorKind::Glob,
                            "cannot compare two globbing patterns",
                            *span,
                            src,
                        ));
                    }
                }
                let glob = [l, r]
                    .into_iter()
                    .flatten()
                    .find(|(k, _)| *k == StrKind::Glob);
                if let Some((_, glob_span)) = glob {
                    if !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                        return Err(FilterError::new(
                            ErrorKind::Glob,
                            format!(
                                "only `==` and `!=` work with a globbing pattern, not `{}` (a `*` not at the end makes a pattern; write `\\*` for a literal star)",
                                op.symbol()
                            ),
                            glob_span,
                            src,
                        ));
                    }
                }
            }
            check_globbing(lhs, src)?;
            check_globbing(rhs, src)
        }
        _ => Ok(()),
    }
}

/// Stack entries LTTng's interpreter needs for `e` (its validator refuses,
/// at link time, programs deeper than its 10-entry stack; the filter then
/// never matches). Constant folding must not hide this, so it is computed
/// on the tree as written.
pub(crate) fn lttng_stack_depth(e: &Expr) -> usize {
    match e {
        Expr::Unary {
            op: UnaryOp::Plus,
            operand,
            ..
        } => lttng_stack_depth(operand),
        Expr::Unary { operand, .. } => lttng_stack_depth(operand),
        Expr::Binary { op, lhs, rhs, .. } => {
            let l = lttng_stack_depth(lhs);
            let r = lttng_stack_depth(rhs);
            if op.is_logical() {
                l.max(r)
            } else {
                l.max(1 + r)
            }
        }
        _ => 1,
    }
}

/// The text range covered by a whole expression.
pub(crate) fn extent(e: &Expr) -> Span {
    match e {
        Expr::Unary { operand, span, .. } => span.to(extent(operand)),
        Expr::Binary { lhs, rhs, span, .. } => extent(lhs).to(*span).to(extent(rhs)),
        other => other.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn check(s: &str) -> Result<(), ErrorKind> {
        client_checks(&parse(s).unwrap()).map_err(|e| e.kind())
    }

    #[test]
    fn lttng_client_rejections() {
        assert_eq!(check("i % 8 == 0"), Err(ErrorKind::UnsupportedOperator));
        assert_eq!(check("i + 1 == 5"), Err(ErrorKind::UnsupportedOperator));
        assert_eq!(check("i - 1 == 5"), Err(ErrorKind::UnsupportedOperator));
        assert_eq!(check("\"a\" == 1"), Err(ErrorKind::Type));
        assert_eq!(check("(1 == 1) == \"a\""), Err(ErrorKind::Type));
        assert_eq!(check("f & 1.5"), Err(ErrorKind::Type));
        assert_eq!(check("s && 1 == \"x\""), Err(ErrorKind::Type));
        assert_eq!(check("!\"x\""), Err(ErrorKind::Type));
        assert_eq!(check("\"x\""), Err(ErrorKind::Type));
        assert_eq!(check("1.5"), Err(ErrorKind::Type));
        assert_eq!(check("-1.5"), Err(ErrorKind::Type));
        assert_eq!(check("s < \"x*y\""), Err(ErrorKind::Glob));
        assert_eq!(check("\"a*\" == \"b*c\""), Err(ErrorKind::Glob));
        assert_eq!(check("\"a**\" == \"b*\""), Err(ErrorKind::Glob));
        assert_eq!(check("s < \"x\""), Ok(()));
        assert_eq!(check("s < \"b*\""), Ok(()));
        assert_eq!(check("\"a*\" == \"b*\""), Ok(()));
        assert_eq!(check("\"abc\" == \"abc\""), Ok(()));
        assert_eq!(check("name == 5"), Ok(()));
        assert_eq!(check("d"), Ok(()));
        assert_eq!(check("~1.5 == 1"), Ok(()));
    }

    #[test]
    fn depth_as_lttng_counts_it() {
        assert_eq!(lttng_stack_depth(parse("i == 1").unwrap().expr()), 2);
        assert_eq!(
            lttng_stack_depth(parse("a == 1 && b == 2 || c").unwrap().expr()),
            2
        );
        assert_eq!(
            lttng_stack_depth(parse("a | (b | (c | d))").unwrap().expr()),
            4
        );
    }
}
