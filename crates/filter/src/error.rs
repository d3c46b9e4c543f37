//! Errors with a place: every problem found in an expression points at the
//! bytes it concerns, and renders like a compiler message (message, the
//! expression's line, a caret under the column).

use std::fmt;

/// A byte range in the filter expression.
///
/// Spans never take part in equality (`==` on two spans is always true), so
/// that two syntax trees compare equal when they have the same structure,
/// whatever their layout in the source text. This is what makes "print, then
/// parse again" round-trips comparable.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

/// What kind of problem a [`FilterError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text does not follow the grammar (bad token, missing operand...).
    Syntax,
    /// A string literal holds a backslash escape other than `\*`.
    Escape,
    /// An operator LTTng parses but refuses (`* / % +` and binary `-`).
    UnsupportedOperator,
    /// Operand types that can never work together (string vs number...).
    Type,
    /// Misuse of a `*` globbing pattern.
    Glob,
    /// A bad field reference (`$foo.x`, `$ctx` alone, non-constant index).
    Reference,
    /// Beyond a size limit (length, nesting).
    Limit,
    /// Not an error of the expression but of its use on one event: the
    /// filter is valid yet can never match that event (missing field,
    /// type mismatch known from the schema...). Reported by
    /// [`Bytecode::diagnostics`](crate::Bytecode::diagnostics).
    NeverMatches,
}

/// An error in a filter expression, with the expression and the place.
///
/// `Display` is multi-line, like a compiler's:
///
/// ```text
/// filter error at column 3: binary operation '%' is not supported
///   i % 8 == 0
///     ^
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct FilterError {
    kind: ErrorKind,
    message: String,
    span: Span,
    expression: String,
}

impl FilterError {
    pub(crate) fn new(
        kind: ErrorKind,
        message: impl Into<String>,
        span: Span,
        expression: &str,
    ) -> FilterError {
        FilterError {
            kind,
            message: message.into(),
            span,
            expression: expression.to_string(),
        }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the expression (byte offsets).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The whole expression the error is about.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// 1-based column (in characters) of the span's start on its line.
    pub fn column(&self) -> usize {
        let (line_start, _) = self.line_bounds();
        let start = clamp_to_char(&self.expression, self.span.start);
        self.expression[line_start..start].chars().count() + 1
    }

    /// Byte bounds of the line holding the span's start.
    fn line_bounds(&self) -> (usize, usize) {
        let text = &self.expression;
        let start = clamp_to_char(text, self.span.start);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        (line_start, line_end)
    }
}

/// The largest char boundary not after `at` (spans come from our own lexer,
/// but a hand-made error must not make `Display` panic).
fn clamp_to_char(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.kind == ErrorKind::NeverMatches {
            "filter never matches"
        } else {
            "filter error"
        };
        writeln!(f, "{what} at column {}: {}", self.column(), self.message)?;
        let (line_start, line_end) = self.line_bounds();
        let line = &self.expression[line_start..line_end];
        writeln!(f, "  {line}")?;
        let start = clamp_to_char(&self.expression, self.span.start).max(line_start);
        let end = clamp_to_char(&self.expression, self.span.end).clamp(start, line_end);
        let pad = self.expression[line_start..start].chars().count();
        let width = self.expression[start..end].chars().count().max(1);
        write!(f, "  {}{}", " ".repeat(pad), "^".repeat(width))
    }
}

/// Why bytes handed to [`Bytecode::from_bytes`](crate::Bytecode::from_bytes)
/// were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter bytecode at byte {offset}: {reason}")]
pub struct BytecodeError {
    /// Byte offset in the serialized form where the problem was seen (for
    /// problems of the program as a whole, the offset of the code section).
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

impl BytecodeError {
    pub(crate) fn new(offset: usize, reason: impl Into<String>) -> BytecodeError {
        BytecodeError {
            offset,
            reason: reason.into(),
        }
    }
}

/// Why one evaluation rejected the event although the filter is valid: the
/// LTTng interpreter's run-time errors, which all mean "do not record".
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The event has no such payload field.
    #[error("no such field")]
    MissingField,
    /// No such context (`$ctx.NAME`) or application context (`$app.P:N`).
    #[error("no such context")]
    MissingContext,
    /// Operands of types the operator does not accept (string vs number,
    /// bitwise on a float or string, string in `&&`...).
    #[error("operand type mismatch")]
    TypeMismatch,
    /// `seq[N]` with N at or past the sequence length (or array length).
    #[error("index out of range")]
    IndexOutOfRange,
    /// `x[N]` on something that is not an integer array or sequence, or an
    /// integer array used without index.
    #[error("not indexable / not loadable as a value")]
    NotLoadable,
    /// Shift count outside 0..=63.
    #[error("shift count out of range")]
    ShiftCount,
    /// The whole expression's value is not an integer (a float or a string).
    #[error("the filter's result is not an integer")]
    NotInteger,
    /// The filter was compiled as never matching this event (see
    /// [`Bytecode::diagnostics`](crate::Bytecode::diagnostics)).
    #[error("the filter never matches this event")]
    NeverMatches,
    /// Internal inconsistency (only reachable through a bug: validated
    /// bytecode cannot get there). Rejects, never panics.
    #[error("malformed bytecode")]
    Malformed,
}
