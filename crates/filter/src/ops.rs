//! What each operator does to values at run time: the one definition used
//! by the interpreter and by constant folding, so that both agree by
//! construction. Every rule here is lttng-ust 2.13's (see the crate docs
//! for the quirks).

use crate::error::EvalError;
use crate::glob::{glob_match, lttng_strcmp};
use crate::value::Value;

/// A value on the interpreter's stack.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand<'a> {
    /// Every integer, signed or not, as LTTng's signed 64-bit register.
    Int(i64),
    Float(f64),
    /// A string; `true` for a literal whose trailing `*` matches any rest.
    Str(&'a [u8], bool),
    /// A full globbing pattern (a string literal with a `*` not at the end).
    Glob(&'a [u8]),
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub(crate) fn mirror(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<CmpOp> {
        [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Gt,
            CmpOp::Le,
            CmpOp::Ge,
        ]
        .get(usize::from(c))
        .copied()
    }

    #[inline]
    pub(crate) fn test_ints(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Gt => a > b,
            CmpOp::Le => a <= b,
            CmpOp::Ge => a >= b,
        }
    }

    fn test_floats(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Gt => a > b,
            CmpOp::Le => a <= b,
            CmpOp::Ge => a >= b,
        }
    }

    fn test_order(self, c: i32) -> bool {
        self.test_ints(i64::from(c), 0)
    }
}

/// Bitwise operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

impl BitOp {
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<BitOp> {
        [BitOp::And, BitOp::Or, BitOp::Xor, BitOp::Shl, BitOp::Shr]
            .get(usize::from(c))
            .copied()
    }
}

/// `a OP b` for comparisons: signed 64-bit for integers, double when
/// either side is a double, LTTng's string order, globs with `==`/`!=`
/// only. Anything else (string vs number...) is a type error.
#[inline]
pub(crate) fn compare(op: CmpOp, a: Operand<'_>, b: Operand<'_>) -> Result<bool, EvalError> {
    use Operand::*;
    match (a, b) {
        (Int(x), Int(y)) => Ok(op.test_ints(x, y)),
        (Int(x), Float(y)) => Ok(op.test_floats(x as f64, y)),
        (Float(x), Int(y)) => Ok(op.test_floats(x, y as f64)),
        (Float(x), Float(y)) => Ok(op.test_floats(x, y)),
        (Str(x, xs), Str(y, ys)) => Ok(op.test_order(lttng_strcmp(x, xs, y, ys))),
        (Str(c, _), Glob(p)) | (Glob(p), Str(c, _)) => match op {
            CmpOp::Eq => Ok(glob_match(p, c)),
            CmpOp::Ne => Ok(!glob_match(p, c)),
            _ => Err(EvalError::TypeMismatch),
        },
        _ => Err(EvalError::TypeMismatch),
    }
}

/// `a OP b` for bitwise operators: integers only, computed on the unsigned
/// 64-bit pattern. Shifts are logical (`>>` fills with zeros even for
/// negative values) and a count outside 0..=63 is an error.
pub(crate) fn bitwise(op: BitOp, a: Operand<'_>, b: Operand<'_>) -> Result<i64, EvalError> {
    let (x, y) = match (a, b) {
        (Operand::Int(x), Operand::Int(y)) => (x as u64, y),
        _ => return Err(EvalError::TypeMismatch),
    };
    let r = match op {
        BitOp::And => x & y as u64,
        BitOp::Or => x | y as u64,
        BitOp::Xor => x ^ y as u64,
        BitOp::Shl | BitOp::Shr => {
            if !(0..64).contains(&y) {
                return Err(EvalError::ShiftCount);
            }
            if op == BitOp::Shl {
                x << y
            } else {
                x >> y
            }
        }
    };
    Ok(r as i64)
}

/// Unary `-`: wrapping for integers.
pub(crate) fn negate(a: Operand<'_>) -> Result<Operand<'_>, EvalError> {
    match a {
        Operand::Int(x) => Ok(Operand::Int(x.wrapping_neg())),
        Operand::Float(x) => Ok(Operand::Float(-x)),
        _ => Err(EvalError::TypeMismatch),
    }
}

/// Unary `!`: 1 for zero (integer or double), else 0.
pub(crate) fn not(a: Operand<'_>) -> Result<i64, EvalError> {
    match a {
        Operand::Int(x) => Ok(i64::from(x == 0)),
        Operand::Float(x) => Ok(i64::from(x == 0.0)),
        _ => Err(EvalError::TypeMismatch),
    }
}

/// Unary `~`: integers only.
pub(crate) fn bit_not(a: Operand<'_>) -> Result<i64, EvalError> {
    match a {
        Operand::Int(x) => Ok(!x),
        _ => Err(EvalError::TypeMismatch),
    }
}

/// The conversion LTTng applies to operands of `&&` and `||`: integers as
/// they are, doubles truncated toward zero (so `0.5` is false there, unlike
/// `!0.5`), strings refused.
#[inline]
pub(crate) fn to_logical(a: Operand<'_>) -> Result<i64, EvalError> {
    match a {
        Operand::Int(x) => Ok(x),
        Operand::Float(x) => Ok(double_to_s64(x)),
        _ => Err(EvalError::TypeMismatch),
    }
}

/// C's `(int64_t) d` as compiled for x86-64 (`cvttsd2si`): truncation, and
/// the "integer indefinite" value i64::MIN for NaN and out-of-range values
/// (where Rust's `as` would saturate).
pub(crate) fn double_to_s64(d: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if d.is_nan() || !(-LIMIT..LIMIT).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// The whole filter's value: non-zero integers record the event; a double
/// or a string there is an error.
#[inline]
pub(crate) fn result(a: Operand<'_>) -> Result<bool, EvalError> {
    match a {
        Operand::Int(x) => Ok(x != 0),
        _ => Err(EvalError::NotInteger),
    }
}

/// Turns a field's value into an operand, applying the reference's indices:
/// exactly one index on an integer array or sequence (bounds checked
/// against its real length); scalars without index. Arrays without index,
/// indexes on anything else and unsupported types are errors.
#[inline]
pub(crate) fn load<'a>(value: Value<'a>, indices: &[u64]) -> Result<Operand<'a>, EvalError> {
    match (value, indices) {
        (Value::Signed(v), []) => Ok(Operand::Int(v)),
        (Value::Unsigned(v), []) => Ok(Operand::Int(v as i64)),
        (Value::Float(v), []) => Ok(Operand::Float(v)),
        (Value::Str(s), []) => Ok(Operand::Str(s, false)),
        (Value::Ints(seq), [i]) => seq
            .get(*i)
            .map(Operand::Int)
            .ok_or(EvalError::IndexOutOfRange),
        _ => Err(EvalError::NotLoadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lttng_integer_rules() {
        let i = Operand::Int;
        assert_eq!(bitwise(BitOp::Shr, i(-2), i(1)), Ok(i64::MAX));
        assert_eq!(bitwise(BitOp::Shl, i(1), i(63)), Ok(i64::MIN));
        assert_eq!(bitwise(BitOp::Shl, i(1), i(64)), Err(EvalError::ShiftCount));
        assert_eq!(bitwise(BitOp::Shr, i(1), i(-1)), Err(EvalError::ShiftCount));
        assert_eq!(compare(CmpOp::Lt, i(u64::MAX as i64), i(0)), Ok(true));
        assert_eq!(compare(CmpOp::Eq, i(999), Operand::Float(999.0)), Ok(true));
        assert_eq!(
            compare(CmpOp::Eq, Operand::Str(b"x", false), i(5)),
            Err(EvalError::TypeMismatch)
        );
        assert_eq!(to_logical(Operand::Float(0.5)), Ok(0));
        assert_eq!(not(Operand::Float(0.5)), Ok(0));
        assert_eq!(to_logical(Operand::Float(f64::NAN)), Ok(i64::MIN));
        assert_eq!(
            negate(i(i64::MIN)).map(|o| matches!(o, Operand::Int(i64::MIN))),
            Ok(true)
        );
    }
}
