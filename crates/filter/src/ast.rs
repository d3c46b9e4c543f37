//! The syntax tree of a filter expression, and its printer.
//!
//! The tree keeps what the user wrote (integer literals as the unsigned
//! value the text denotes, string literals with their escapes) so that
//! printing and parsing again gives the same tree. Meaning (signed 64-bit
//! integers, decoded strings, glob kinds) is derived by the compiler.

use std::fmt;

use crate::error::Span;

/// A parsed filter expression, with the text it came from (used to point
/// at problems found later, when compiling).
#[derive(Clone, Debug)]
pub struct Ast {
    expr: Expr,
    source: String,
}

impl Ast {
    pub(crate) fn from_parts(expr: Expr, source: &str) -> Ast {
        Ast {
            expr,
            source: source.to_string(),
        }
    }

    /// Wraps a tree built by hand; its source text is its printed form (spans
    /// of hand-built nodes are usually empty, so errors point at column 1).
    pub fn new(expr: Expr) -> Ast {
        let source = expr.to_string();
        Ast { expr, source }
    }

    /// The root expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text the tree was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Two trees are equal when their expressions are (the source text and spans
/// do not count).
impl PartialEq for Ast {
    fn eq(&self, other: &Ast) -> bool {
        self.expr == other.expr
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

/// One node of the expression tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Integer constant, as the unsigned 64-bit value of its text (LTTng
    /// then treats it as signed: `0xffffffffffffffff` is -1).
    Int { value: u64, span: Span },
    /// Floating point constant.
    Float { value: f64, span: Span },
    /// String (or character) constant.
    Str(StrLit),
    /// Reference to a payload field or a context.
    Field(FieldRef),
    /// `+x`, `-x`, `!x`, `~x`.
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
        span: Span,
    },
    /// `l OP r`; the span is the operator's.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
}

impl Expr {
    /// Where the node is (for binary nodes: the operator).
    pub fn span(&self) -> Span {
        match self {
            Expr::Int { span, .. }
            | Expr::Float { span, .. }
            | Expr::Unary { span, .. }
            | Expr::Binary { span, .. } => *span,
            Expr::Str(s) => s.span,
            Expr::Field(f) => f.span,
        }
    }

    /// Shorthand for building trees by hand.
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span: Span::default(),
        }
    }

    /// Shorthand for building trees by hand.
    pub fn unary(op: UnaryOp, operand: Expr) -> Expr {
        Expr::Unary {
            op,
            operand: Box::new(operand),
            span: Span::default(),
        }
    }

    /// Shorthand: a payload field with a plain name.
    pub fn field(name: &str) -> Expr {
        Expr::Field(FieldRef {
            scope: Scope::Payload,
            path: vec![PathSegment {
                name: name.to_string(),
                indices: Vec::new(),
            }],
            span: Span::default(),
        })
    }

    /// Shorthand: an integer constant.
    pub fn int(value: u64) -> Expr {
        Expr::Int {
            value,
            span: Span::default(),
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `+x`: no operation (LTTng emits no instruction for it).
    Plus,
    /// `-x`: negation.
    Minus,
    /// `!x`: logical not.
    Not,
    /// `~x`: bitwise not (integers only).
    BitNot,
}

impl UnaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Plus => "+",
            UnaryOp::Minus => "-",
            UnaryOp::Not => "!",
            UnaryOp::BitNot => "~",
        }
    }
}

/// Binary operators, including the arithmetic ones LTTng parses but refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Shl,
    Shr,
    BitAnd,
    BitXor,
    BitOr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Mul => "*",
            Div => "/",
            Mod => "%",
            Add => "+",
            Sub => "-",
            Shl => "<<",
            Shr => ">>",
            BitAnd => "&",
            BitXor => "^",
            BitOr => "|",
            Lt => "<",
            Gt => ">",
            Le => "<=",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            And => "&&",
            Or => "||",
        }
    }

    /// Binding strength, LTTng's (not C's): bitwise operators bind tighter
    /// than comparisons, so `a & 1 == 1` is `(a & 1) == 1`.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Eq | Ne => 3,
            Lt | Gt | Le | Ge => 4,
            BitOr => 5,
            BitXor => 6,
            BitAnd => 7,
            Shl | Shr => 8,
            Add | Sub => 9,
            Mul | Div | Mod => 10,
        }
    }

    /// `== != < > <= >=`.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Lt | Gt | Le | Ge | Eq | Ne)
    }

    /// `& | ^ << >>`.
    pub fn is_bitwise(self) -> bool {
        use BinaryOp::*;
        matches!(self, Shl | Shr | BitAnd | BitXor | BitOr)
    }

    /// `&& ||`.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }

    /// `* / % + -`: parsed, refused by the compiler as LTTng does.
    pub fn is_arithmetic(self) -> bool {
        use BinaryOp::*;
        matches!(self, Mul | Div | Mod | Add | Sub)
    }
}

/// A string literal as written between the quotes (newlines dropped, as
/// LTTng's lexer does; escapes kept).
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    /// The text between the quotes, escapes included (`a\*b`).
    pub raw: String,
    pub span: Span,
}

/// How a string literal compares, decided from its text like LTTng does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrKind {
    /// No unescaped `*`: compared byte for byte.
    Plain,
    /// The only unescaped `*` is the last character: a prefix match
    /// (LTTng's "legacy" wildcard, usable with every comparison operator).
    StarEnd,
    /// A `*` elsewhere (or several): a full globbing pattern, only with
    /// `==` and `!=`.
    Glob,
}

impl StrLit {
    /// Builds a literal from its raw text (as written between quotes).
    pub fn new(raw: &str) -> StrLit {
        StrLit {
            raw: raw.to_string(),
            span: Span::default(),
        }
    }

    /// The literal's kind, from the first unescaped star.
    pub fn kind(&self) -> StrKind {
        let b = self.raw.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'*' => {
                    return if i + 1 == b.len() {
                        StrKind::StarEnd
                    } else {
                        StrKind::Glob
                    }
                }
                _ => i += 1,
            }
        }
        StrKind::Plain
    }

    /// The bytes a plain or star-ended literal stands for: escapes resolved,
    /// trailing wildcard removed (it is reported by [`kind`](Self::kind)).
    pub fn decoded(&self) -> Vec<u8> {
        let b = self.raw.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    if let Some(&c) = b.get(i + 1) {
                        out.push(c);
                    }
                    i += 2;
                }
                b'*' if i + 1 == b.len() => i += 1,
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    /// The globbing pattern with runs of unescaped stars collapsed to one
    /// (LTTng normalizes patterns before use); escapes are kept for the
    /// matcher.
    pub fn glob_pattern(&self) -> Vec<u8> {
        let b = self.raw.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut got_star = false;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    out.extend_from_slice(&b[i..(i + 2).min(b.len())]);
                    got_star = false;
                    i += 2;
                }
                b'*' => {
                    if !got_star {
                        out.push(b'*');
                    }
                    got_star = true;
                    i += 1;
                }
                c => {
                    out.push(c);
                    got_star = false;
                    i += 1;
                }
            }
        }
        out
    }
}

/// Where a field reference starts looking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The event's payload: `name`, `a.b`, `seq[3]`.
    Payload,
    /// A context known to the tracer: `$ctx.NAME`.
    Context,
    /// An application context: `$app.PROVIDER:NAME`.
    AppContext,
}

/// A field reference: scope, then dotted members each with indices.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    pub scope: Scope,
    /// Members from the root. For `$ctx`/`$app` the first member is the
    /// context's name (`procname`, `provider:name`).
    pub path: Vec<PathSegment>,
    pub span: Span,
}

/// One member of a field reference: `name[i][j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PathSegment {
    pub name: String,
    pub indices: Vec<u64>,
}

impl FieldRef {
    /// The member names joined with `.`: how nested members are looked up
    /// (a source exposing nested structures names their members `a.b`;
    /// LTTng-UST payloads are flat, so there `a.b` never exists).
    pub fn dotted_name(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&seg.name);
        }
        s
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Payload => {}
            Scope::Context => f.write_str("$ctx.")?,
            Scope::AppContext => f.write_str("$app.")?,
        }
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&seg.name)?;
            for index in &seg.indices {
                write!(f, "[{index}]")?;
            }
        }
        Ok(())
    }
}

/// Prints with the fewest parentheses LTTng's precedence needs; the output
/// parses back to the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int { value, .. } => write!(f, "{value}"),
            Expr::Float { value, .. } => write_float(f, *value),
            Expr::Str(s) => {
                // A literal cannot hold its own quote character: a string
                // written '..' may hold `"`, and the other way round.
                let q = if s.raw.contains('"') { '\'' } else { '"' };
                write!(f, "{q}{}{q}", s.raw)
            }
            Expr::Field(r) => r.fmt(f),
            Expr::Unary { op, operand, .. } => {
                f.write_str(op.symbol())?;
                if matches!(**operand, Expr::Binary { .. }) {
                    write!(f, "({operand})")
                } else {
                    operand.fmt(f)
                }
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let p = op.precedence();
                write_operand(f, lhs, |q| q < p)?;
                write!(f, " {} ", op.symbol())?;
                // Left associative: an equal-precedence right operand needs
                // parentheses.
                write_operand(f, rhs, |q| q <= p)
            }
        }
    }
}

fn write_operand(
    f: &mut fmt::Formatter<'_>,
    e: &Expr,
    needs_parens: impl Fn(u8) -> bool,
) -> fmt::Result {
    match e {
        Expr::Binary { op, .. } if needs_parens(op.precedence()) => write!(f, "({e})"),
        _ => fmt::Display::fmt(e, f),
    }
}

/// Shortest text that reads back as the same double; infinity (from an
/// overflowing literal like `1e999`) prints as such a literal.
fn write_float(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_infinite() {
        f.write_str("1e999")
    } else if v.is_nan() {
        // Not produced by the parser; printed as something that parses.
        f.write_str("0.0")
    } else {
        let s = format!("{v:?}");
        if s.contains(['.', 'e']) {
            f.write_str(&s)
        } else {
            write!(f, "{s}.0")
        }
    }
}
