//! A slow, straightforward evaluator that walks the syntax tree: the
//! executable definition of the filter semantics the compiler and the
//! bytecode interpreter must reproduce. Tests (property tests and fuzzing)
//! check the two against each other on random expressions and events.
//!
//! It shares nothing with the compiler but the client-side checks (which
//! define what is a valid expression) and the byte-level string helpers
//! (LTTng's `strcmp` and glob matcher, tested on their own). Not meant for
//! production: it allocates and re-resolves names on every call.

use crate::ast::{Ast, BinaryOp, Expr, FieldRef, Scope, StrKind, StrLit, UnaryOp};
use crate::check;
use crate::glob::{glob_match, lttng_strcmp};
use crate::schema::{ElemType, FieldType, Schema};
use crate::value::{FieldSource, Value};

/// Whether `source` passes the filter `ast` (compiled against `schema` if
/// given); `None` when the expression is refused at compile time.
pub fn evaluate(ast: &Ast, schema: Option<&Schema>, source: &dyn FieldSource) -> Option<bool> {
    check::client_checks(ast).ok()?;
    let ctx = Ctx { schema, source };
    // Link-time checks: any failure means the filter never matches.
    if check::lttng_stack_depth(ast.expr()) > 10 {
        return Some(false);
    }
    match ctx.static_type(ast.expr()) {
        Ok(T::Int | T::Dyn) => {}
        _ => return Some(false),
    }
    Some(matches!(ctx.eval(ast.expr()), Ok(V::Int(v)) if v != 0))
}

/// Static types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum T {
    Int,
    Float,
    Str,
    Glob,
    Dyn,
}

/// Run-time values.
#[derive(Clone, Debug)]
enum V {
    Int(i64),
    Float(f64),
    /// Bytes, and whether a trailing wildcard was cut off.
    Str(Vec<u8>, bool),
    Glob(Vec<u8>),
}

/// A run-time error (the event is rejected).
struct Reject;

struct Ctx<'a> {
    schema: Option<&'a Schema>,
    source: &'a dyn FieldSource,
}

impl Ctx<'_> {
    fn static_type(&self, e: &Expr) -> Result<T, Reject> {
        Ok(match e {
            Expr::Int { .. } => T::Int,
            Expr::Float { .. } => T::Float,
            Expr::Str(s) if s.kind() == StrKind::Glob => T::Glob,
            Expr::Str(_) => T::Str,
            Expr::Field(f) => self.field_type(f)?,
            Expr::Unary { op, operand, .. } => {
                let t = self.static_type(operand)?;
                match (op, t) {
                    (UnaryOp::Plus, t) => t,
                    (UnaryOp::Minus, T::Int | T::Float | T::Dyn) => t,
                    (UnaryOp::Not, T::Int | T::Float | T::Dyn) => T::Int,
                    (UnaryOp::BitNot, T::Int | T::Dyn) => T::Int,
                    _ => return Err(Reject),
                }
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let a = self.static_type(lhs)?;
                let b = self.static_type(rhs)?;
                let ok = if op.is_comparison() {
                    match (a, b) {
                        (T::Dyn, _) | (_, T::Dyn) => true,
                        (T::Int | T::Float, T::Int | T::Float) => true,
                        (T::Str, T::Str) => true,
                        (T::Str, T::Glob) | (T::Glob, T::Str) => {
                            matches!(op, BinaryOp::Eq | BinaryOp::Ne)
                        }
                        _ => false,
                    }
                } else if op.is_logical() {
                    !matches!(a, T::Str | T::Glob) && !matches!(b, T::Str | T::Glob)
                } else {
                    matches!(a, T::Int | T::Dyn) && matches!(b, T::Int | T::Dyn)
                };
                if !ok {
                    return Err(Reject);
                }
                T::Int
            }
        })
    }

    /// The static type of a reference; `Err` if it can never be read.
    fn field_type(&self, f: &FieldRef) -> Result<T, Reject> {
        let (last, init) = f.path.split_last().ok_or(Reject)?;
        if init.iter().any(|s| !s.indices.is_empty()) {
            return Err(Reject);
        }
        let name = f.dotted_name();
        let def = match (f.scope, self.schema) {
            (Scope::AppContext, _) => {
                return if name.contains(':') {
                    Ok(T::Dyn)
                } else {
                    Err(Reject)
                };
            }
            (_, None) => return Ok(T::Dyn),
            (Scope::Payload, Some(s)) => s.fields().iter().find(|d| d.name == name),
            (Scope::Context, Some(s)) => s.contexts().iter().find(|d| d.name == name),
        };
        let ty = def.ok_or(Reject)?.ty;
        let n = last.indices.len();
        match ty {
            FieldType::Integer(_) | FieldType::Enum(_) if n == 0 => Ok(T::Int),
            FieldType::Float if n == 0 => Ok(T::Float),
            FieldType::String if n == 0 => Ok(T::Str),
            FieldType::Array {
                elem: ElemType::Text,
                ..
            }
            | FieldType::Sequence {
                elem: ElemType::Text,
            } if n == 0 => Ok(T::Str),
            FieldType::Array {
                elem: ElemType::Integer(_),
                len,
            } if n == 1 && last.indices[0] < len => Ok(T::Int),
            FieldType::Sequence {
                elem: ElemType::Integer(_),
            } if n == 1 => Ok(T::Int),
            _ => Err(Reject),
        }
    }

    fn value(&self, f: &FieldRef) -> Result<V, Reject> {
        let name = f.dotted_name();
        let v = match f.scope {
            Scope::Payload => match self.schema {
                Some(s) => self.source.field(s.field_index(&name).ok_or(Reject)?),
                None => self.source.field_named(&name),
            },
            Scope::Context => match self.schema {
                Some(s) => self.source.context(s.context_index(&name).ok_or(Reject)?),
                None => self.source.context_named(&name),
            },
            Scope::AppContext => {
                let (p, n) = name.split_once(':').ok_or(Reject)?;
                self.source.app_context(p, n)
            }
        };
        let indices = f.path.last().map(|s| s.indices.as_slice()).unwrap_or(&[]);
        Ok(match (v.ok_or(Reject)?, indices) {
            (Value::Signed(x), []) => V::Int(x),
            (Value::Unsigned(x), []) => V::Int(x as i64),
            (Value::Float(x), []) => V::Float(x),
            (Value::Str(s), []) => V::Str(s.to_vec(), false),
            (Value::Ints(seq), [i]) => {
                if *i >= seq.len() as u64 {
                    return Err(Reject);
                }
                V::Int(seq.get(*i).ok_or(Reject)?)
            }
            _ => return Err(Reject),
        })
    }

    fn eval(&self, e: &Expr) -> Result<V, Reject> {
        match e {
            Expr::Int { value, .. } => Ok(V::Int(*value as i64)),
            Expr::Float { value, .. } => Ok(V::Float(*value)),
            Expr::Str(s) => Ok(literal(s)),
            Expr::Field(f) => self.value(f),
            Expr::Unary { op, operand, .. } => {
                let v = self.eval(operand)?;
                match (op, v) {
                    (UnaryOp::Plus, v) => Ok(v),
                    (UnaryOp::Minus, V::Int(x)) => Ok(V::Int(x.wrapping_neg())),
                    (UnaryOp::Minus, V::Float(x)) => Ok(V::Float(-x)),
                    (UnaryOp::Not, V::Int(x)) => Ok(V::Int((x == 0) as i64)),
                    (UnaryOp::Not, V::Float(x)) => Ok(V::Int((x == 0.0) as i64)),
                    (UnaryOp::BitNot, V::Int(x)) => Ok(V::Int(!x)),
                    _ => Err(Reject),
                }
            }
            Expr::Binary { op, lhs, rhs, .. } if op.is_logical() => {
                let l = truth(self.eval(lhs)?)?;
                match (op, l) {
                    (BinaryOp::And, 0) => Ok(V::Int(0)),
                    (BinaryOp::Or, x) if x != 0 => Ok(V::Int(1)),
                    _ => Ok(V::Int(truth(self.eval(rhs)?)?)),
                }
            }
            Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let mut a = self.eval(lhs)?;
                let mut b = self.eval(rhs)?;
                // A string literal facing a glob is matched as written.
                if let (Expr::Str(s), V::Glob(_)) = (&**lhs, &b) {
                    a = V::Str(s.raw.as_bytes().to_vec(), false);
                }
                if let (V::Glob(_), Expr::Str(s)) = (&a, &**rhs) {
                    b = V::Str(s.raw.as_bytes().to_vec(), false);
                }
                compare(*op, a, b).map(|r| V::Int(r as i64))
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                let (x, y) = match (a, b) {
                    (V::Int(x), V::Int(y)) => (x as u64, y),
                    _ => return Err(Reject),
                };
                let r = match op {
                    BinaryOp::BitAnd => x & (y as u64),
                    BinaryOp::BitOr => x | (y as u64),
                    BinaryOp::BitXor => x ^ (y as u64),
                    BinaryOp::Shl if (0..64).contains(&y) => x << y,
                    BinaryOp::Shr if (0..64).contains(&y) => x >> y,
                    _ => return Err(Reject),
                };
                Ok(V::Int(r as i64))
            }
        }
    }
}

fn literal(s: &StrLit) -> V {
    match s.kind() {
        StrKind::Glob => V::Glob(s.glob_pattern()),
        k => V::Str(s.decoded(), k == StrKind::StarEnd),
    }
}

/// `&&`/`||` operand conversion (x86-64 truncation of doubles).
fn truth(v: V) -> Result<i64, Reject> {
    match v {
        V::Int(x) => Ok(x),
        V::Float(d) => {
            // Representable: -2^63 <= d < 2^63.
            let limit = 2f64.powi(63);
            Ok(if d.is_nan() || d >= limit || d < -limit {
                i64::MIN
            } else {
                d.trunc() as i64
            })
        }
        _ => Err(Reject),
    }
}

fn compare(op: BinaryOp, a: V, b: V) -> Result<bool, Reject> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (&a, &b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Int(x), V::Float(y)) => (*x as f64).partial_cmp(y),
        (V::Float(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
        (V::Float(x), V::Float(y)) => x.partial_cmp(y),
        (V::Str(x, xs), V::Str(y, ys)) => Some(lttng_strcmp(x, *xs, y, *ys).cmp(&0)),
        (V::Str(c, _), V::Glob(p)) | (V::Glob(p), V::Str(c, _)) => {
            return match op {
                BinaryOp::Eq => Ok(glob_match(p, c)),
                BinaryOp::Ne => Ok(!glob_match(p, c)),
                _ => Err(Reject),
            }
        }
        _ => return Err(Reject),
    };
    // `None`: a NaN was involved; only `!=` holds.
    Ok(match ord {
        None => op == BinaryOp::Ne,
        Some(o) => match op {
            BinaryOp::Eq => o == Ordering::Equal,
            BinaryOp::Ne => o != Ordering::Equal,
            BinaryOp::Lt => o == Ordering::Less,
            BinaryOp::Gt => o == Ordering::Greater,
            BinaryOp::Le => o != Ordering::Greater,
            _ => o != Ordering::Less,
        },
    })
}
