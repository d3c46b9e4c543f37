//! The interpreter: runs a verified program against one event.
//!
//! It never allocates (the stack lives on the native stack), never panics
//! (every stack and table access is checked and turns into
//! [`EvalError::Malformed`], which a verified program cannot reach), and
//! always terminates (jumps only go forward, so at most one step per
//! instruction).
//!
//! Most filters compare fields with constants and combine the results with
//! `&&`, `||` and `!`: with fused compare instructions such programs never
//! hold more than one value, and run with a single register instead of a
//! stack array (the same loop, instantiated twice).

use crate::bytecode::{Bytecode, Cond, Const, Insn, Konst, Loc, Quick, Shortcut, MAX_STACK};
use crate::error::EvalError;
use crate::ops::{self, Operand};
use crate::value::{FieldSource, Value};

impl Bytecode {
    /// Whether the event passes the filter (should be recorded). Every
    /// run-time error means "no", as in LTTng.
    #[inline]
    pub fn matches<S: FieldSource + ?Sized>(&self, source: &S) -> bool {
        matches!(self.evaluate(source), Ok(true))
    }

    /// Like [`matches`](Self::matches), but says why an event was rejected
    /// by an error rather than by a false condition.
    #[inline]
    pub fn evaluate<S: FieldSource + ?Sized>(&self, source: &S) -> Result<bool, EvalError> {
        if let Some(s) = &self.shortcut {
            return shortcut(self, s, source);
        }
        self.run_program(source)
    }

    /// The interpreter loop, out of line: inlined, its stack array would
    /// give every caller (a tracepoint's filter check) a large frame to set
    /// up even when a shortcut decides.
    #[inline(never)]
    fn run_program<S: FieldSource + ?Sized>(&self, source: &S) -> Result<bool, EvalError> {
        if self.max_depth <= 1 {
            run(self, source, Register(None))
        } else {
            run(
                self,
                source,
                Array {
                    slots: [Operand::Int(0); MAX_STACK],
                    sp: 0,
                },
            )
        }
    }
}

/// A whole program without the interpreter loop (same results as running
/// it).
#[inline]
fn shortcut<S: FieldSource + ?Sized>(
    bc: &Bytecode,
    s: &Shortcut,
    src: &S,
) -> Result<bool, EvalError> {
    match s {
        Shortcut::Const(b) => Ok(*b),
        Shortcut::Chain { conds, .. } if conds.len() == 1 => {
            let c = &conds[0];
            match quick_int(src, c) {
                Some(r) => r,
                None => cond(bc, c, src),
            }
        }
        Shortcut::Chain { and, conds } => {
            for c in conds {
                let r = match quick_int_outlined(src, c) {
                    Some(r) => r,
                    None => cond(bc, c, src),
                };
                if r? != *and {
                    return Ok(!*and);
                }
            }
            Ok(*and)
        }
    }
}

/// The commonest comparison, an integer field (or element) against an
/// integer constant; `None` for anything else.
#[inline(always)]
fn quick_int<S: FieldSource + ?Sized>(src: &S, c: &Cond) -> Option<Result<bool, EvalError>> {
    let Konst::Int(k) = c.k else { return None };
    let v = match c.what {
        Quick::Field(f) => match src.field(f)? {
            Value::Signed(v) => v,
            Value::Unsigned(v) => v as i64,
            _ => return None,
        },
        Quick::Elem(f, e) => match src.field(f)? {
            Value::Ints(seq) => match seq.get(e) {
                Some(v) => v,
                None => return Some(Err(EvalError::IndexOutOfRange)),
            },
            _ => return None,
        },
        Quick::Context(_) | Quick::Ref(_) => return None,
    };
    Some(Ok(c.op.test_ints(v, k)))
}

/// [`quick_int`] as a call: inlined in a loop, the compiler would hoist
/// the loads of every field the source can return out of it, so that each
/// evaluation would start by reading the whole event.
#[inline(never)]
fn quick_int_outlined<S: FieldSource + ?Sized>(
    src: &S,
    c: &Cond,
) -> Option<Result<bool, EvalError>> {
    quick_int(src, c)
}

/// Any comparison of a chain, the general way.
#[inline(never)]
fn cond<S: FieldSource + ?Sized>(bc: &Bytecode, c: &Cond, src: &S) -> Result<bool, EvalError> {
    let a = match c.what {
        Quick::Field(f) => ops::load(src.field(f).ok_or(EvalError::MissingField)?, &[])?,
        Quick::Elem(f, e) => ops::load(src.field(f).ok_or(EvalError::MissingField)?, &[e])?,
        Quick::Context(i) => ops::load(src.context(i).ok_or(EvalError::MissingContext)?, &[])?,
        Quick::Ref(r) => fetch(bc, src, r)?,
    };
    match c.k {
        Konst::Int(k) => ops::compare(c.op, a, Operand::Int(k)),
        Konst::Float(k) => ops::compare(c.op, a, Operand::Float(k)),
        Konst::Table(k) => ops::compare(c.op, a, constant(bc, k)?),
    }
}

/// The evaluation stack, in two sizes.
trait Stack<'a> {
    fn push(&mut self, v: Operand<'a>) -> Result<(), EvalError>;
    fn pop(&mut self) -> Result<Operand<'a>, EvalError>;
    /// The top, which `&&`/`||` require to be an integer.
    fn top_int(&self) -> Result<i64, EvalError>;
}

/// A one-value stack: for programs verified never to hold more.
struct Register<'a>(Option<Operand<'a>>);

impl<'a> Stack<'a> for Register<'a> {
    #[inline(always)]
    fn push(&mut self, v: Operand<'a>) -> Result<(), EvalError> {
        match self.0 {
            None => {
                self.0 = Some(v);
                Ok(())
            }
            Some(_) => Err(EvalError::Malformed),
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Result<Operand<'a>, EvalError> {
        self.0.take().ok_or(EvalError::Malformed)
    }

    #[inline(always)]
    fn top_int(&self) -> Result<i64, EvalError> {
        match self.0 {
            Some(Operand::Int(v)) => Ok(v),
            Some(_) => Err(EvalError::TypeMismatch),
            None => Err(EvalError::Malformed),
        }
    }
}

/// The general stack, bounded by [`MAX_STACK`].
struct Array<'a> {
    slots: [Operand<'a>; MAX_STACK],
    sp: usize,
}

impl<'a> Stack<'a> for Array<'a> {
    #[inline(always)]
    fn push(&mut self, v: Operand<'a>) -> Result<(), EvalError> {
        let slot = self.slots.get_mut(self.sp).ok_or(EvalError::Malformed)?;
        *slot = v;
        self.sp += 1;
        Ok(())
    }

    #[inline(always)]
    fn pop(&mut self) -> Result<Operand<'a>, EvalError> {
        self.sp = self.sp.checked_sub(1).ok_or(EvalError::Malformed)?;
        self.slots.get(self.sp).copied().ok_or(EvalError::Malformed)
    }

    #[inline(always)]
    fn top_int(&self) -> Result<i64, EvalError> {
        match self.sp.checked_sub(1).and_then(|i| self.slots.get(i)) {
            Some(Operand::Int(v)) => Ok(*v),
            Some(_) => Err(EvalError::TypeMismatch),
            None => Err(EvalError::Malformed),
        }
    }
}

/// Reads reference `r` from the source and applies its index.
///
/// Not inlined on purpose: inlined, the compiler hoists the loads of every
/// field the source could return out of the interpreter loop, so each
/// evaluation would start by reading the whole event.
#[inline(never)]
fn fetch<'a, S: FieldSource + ?Sized>(
    bc: &'a Bytecode,
    src: &'a S,
    r: u32,
) -> Result<Operand<'a>, EvalError> {
    let r = bc.refs.get(r as usize).ok_or(EvalError::Malformed)?;
    let v = match &r.loc {
        Loc::Field(i) => src.field(*i as usize).ok_or(EvalError::MissingField)?,
        Loc::FieldNamed(n) => src.field_named(n).ok_or(EvalError::MissingField)?,
        Loc::Context(i) => src.context(*i as usize).ok_or(EvalError::MissingContext)?,
        Loc::ContextNamed(n) => src.context_named(n).ok_or(EvalError::MissingContext)?,
        Loc::App { provider, name } => src
            .app_context(provider, name)
            .ok_or(EvalError::MissingContext)?,
    };
    ops::load(v, &r.indices)
}

/// Constant `k` as an operand.
#[inline(always)]
fn constant(bc: &Bytecode, k: u32) -> Result<Operand<'_>, EvalError> {
    match bc.consts.get(k as usize) {
        Some(Const::Str { bytes, star }) => Ok(Operand::Str(bytes, *star)),
        Some(Const::Glob(p)) => Ok(Operand::Glob(p)),
        None => Err(EvalError::Malformed),
    }
}

#[inline(always)]
fn flag(b: bool) -> Operand<'static> {
    Operand::Int(i64::from(b))
}

fn run<'a, S, St>(bc: &'a Bytecode, src: &'a S, mut stack: St) -> Result<bool, EvalError>
where
    S: FieldSource + ?Sized,
    St: Stack<'a>,
{
    let mut pc = 0usize;
    loop {
        let insn = bc.code.get(pc).ok_or(EvalError::Malformed)?;
        pc += 1;
        match *insn {
            Insn::LoadCmpInt { r, op, k } => {
                let res = match fetch(bc, src, r)? {
                    Operand::Int(a) => op.test_ints(a, k),
                    a => ops::compare(op, a, Operand::Int(k))?,
                };
                stack.push(flag(res))?;
            }
            Insn::LoadCmpFloat { r, op, k } => {
                let a = fetch(bc, src, r)?;
                stack.push(flag(ops::compare(op, a, Operand::Float(k))?))?;
            }
            Insn::LoadCmpStr { r, op, k } => {
                let a = fetch(bc, src, r)?;
                stack.push(flag(ops::compare(op, a, constant(bc, k)?)?))?;
            }
            Insn::Return => return ops::result(stack.pop()?),
            Insn::And(target) => {
                if stack.top_int()? == 0 {
                    pc = forward(pc, target)?;
                } else {
                    stack.pop()?;
                }
            }
            Insn::Or(target) => {
                if stack.top_int()? != 0 {
                    stack.pop()?;
                    stack.push(Operand::Int(1))?;
                    pc = forward(pc, target)?;
                } else {
                    stack.pop()?;
                }
            }
            Insn::Not => {
                let a = stack.pop()?;
                stack.push(Operand::Int(ops::not(a)?))?;
            }
            Insn::Int(v) => stack.push(Operand::Int(v))?,
            Insn::Float(v) => stack.push(Operand::Float(v))?,
            Insn::Str(k) | Insn::Glob(k) => stack.push(constant(bc, k)?)?,
            Insn::Load(r) => {
                let v = fetch(bc, src, r)?;
                stack.push(v)?;
            }
            Insn::Cmp(op) => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                stack.push(flag(ops::compare(op, a, b)?))?;
            }
            Insn::Bit(op) => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                stack.push(Operand::Int(ops::bitwise(op, a, b)?))?;
            }
            Insn::Neg => {
                let a = stack.pop()?;
                stack.push(ops::negate(a)?)?;
            }
            Insn::BitNot => {
                let a = stack.pop()?;
                stack.push(Operand::Int(ops::bit_not(a)?))?;
            }
            Insn::ToInt => {
                let a = stack.pop()?;
                stack.push(Operand::Int(ops::to_logical(a)?))?;
            }
            Insn::Fail(e) => return Err(e),
        }
    }
}

/// A jump target, refused unless it moves forward (termination does not
/// depend on the verifier alone).
#[inline(always)]
fn forward(next_pc: usize, target: u32) -> Result<usize, EvalError> {
    let t = target as usize;
    if t >= next_pc {
        Ok(t)
    } else {
        Err(EvalError::Malformed)
    }
}

/// A filter that is one comparison of an integer payload field with an
/// integer constant (`v < 10`), the commonest kind: a tracer checks it
/// without the interpreter. Where [`IntTest::test`] gives a verdict, it is
/// [`Bytecode::matches`]'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntTest {
    field: usize,
    op: ops::CmpOp,
    k: i64,
}

impl Bytecode {
    /// The filter as an [`IntTest`], if it is one.
    pub fn int_test(&self) -> Option<IntTest> {
        let Some(Shortcut::Chain { conds, .. }) = &self.shortcut else {
            return None;
        };
        match conds.as_slice() {
            [Cond {
                what: Quick::Field(field),
                op,
                k: Konst::Int(k),
            }] => Some(IntTest {
                field: *field,
                op: *op,
                k: *k,
            }),
            _ => None,
        }
    }
}

impl IntTest {
    /// The verdict for a hit whose payload fields, in declaration order,
    /// are `fields`; `None` when the field is no integer (ask
    /// [`Bytecode::matches`]).
    #[inline(always)]
    pub fn test(self, fields: &[Value<'_>]) -> Option<bool> {
        let v = match fields.get(self.field)? {
            Value::Signed(v) => *v,
            Value::Unsigned(v) => *v as i64,
            _ => return None,
        };
        Some(self.op.test_ints(v, self.k))
    }
}

#[cfg(test)]
mod int_test_tests {
    use crate::schema::{FieldType, IntType, Schema};
    use crate::value::Value;

    /// Payload fields as a filter source.
    struct Fields<'a>(&'a [Value<'a>]);

    impl crate::value::FieldSource for Fields<'_> {
        fn field(&self, i: usize) -> Option<Value<'_>> {
            self.0.get(i).copied()
        }
        fn context(&self, _: usize) -> Option<Value<'_>> {
            None
        }
    }

    #[test]
    fn int_tests_agree_with_the_interpreter() {
        let mut schema = Schema::default();
        schema.add_field("s", FieldType::Integer(IntType::signed(32)));
        schema.add_field("u", FieldType::Integer(IntType::unsigned(64)));
        schema.add_field("name", FieldType::String);
        for expr in [
            "s < 10",
            "u >= 3",
            "s != -5",
            "10 > s",
            "u == 18446744073709551615",
        ] {
            let bc = crate::compile_str(expr, Some(&schema)).unwrap();
            let t = bc
                .int_test()
                .unwrap_or_else(|| panic!("{expr} is an int test"));
            for (s, u) in [
                (0i64, 0u64),
                (9, 3),
                (10, 2),
                (-5, u64::MAX),
                (i64::MIN, 1 << 63),
            ] {
                let fields = [Value::Signed(s), Value::Unsigned(u), Value::Str(b"x")];
                assert_eq!(
                    t.test(&fields),
                    Some(bc.matches(&Fields(&fields))),
                    "{expr} {s} {u}"
                );
            }
            // Not an integer where one is expected: the interpreter decides.
            assert_eq!(t.test(&[Value::Str(b"x"), Value::Str(b"y")]), None);
        }
        for expr in [
            "s < 10 && u > 1",
            "name == \"a*\"",
            "s + 1 < 3",
            "$ctx.vpid > 0",
        ] {
            if let Ok(bc) = crate::compile_str(expr, Some(&schema.clone().with_ust_contexts())) {
                assert!(bc.int_test().is_none(), "{expr}");
            }
        }
    }
}
