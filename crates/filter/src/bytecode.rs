//! The compiled form of a filter: a stack program, its constants and its
//! field references, with a compact serialization and a verifier.
//!
//! Bytecode travels from the session daemon to applications, which must not
//! trust it: [`Bytecode::from_bytes`] checks every operand, that jumps go
//! forward only and stay inside the program (so every run ends after at most
//! one step per instruction), that the stack depth is the same on every
//! path into an instruction and never above [`MAX_STACK`], and that the
//! program ends in `Return` or `Fail`. The interpreter relies on nothing
//! else, and still checks its stack accesses so that even a verifier bug
//! could only reject an event, never panic.

use crate::error::{BytecodeError, EvalError, FilterError};
use crate::ops::{BitOp, CmpOp};

/// Deepest stack a program may use: lttng-ust's interpreter has 10 entries,
/// and compiled filters deeper than that never match (as in LTTng).
pub const MAX_STACK: usize = 10;

/// Most instructions, constants or references in one program.
pub const MAX_ITEMS: usize = 65536;

/// Serialization magic and version.
const MAGIC: &[u8; 4] = b"LTTF";
const VERSION: u8 = 1;

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Insn {
    /// Push an integer.
    Int(i64),
    /// Push a double.
    Float(f64),
    /// Push string constant n (must be a [`Const::Str`]).
    Str(u32),
    /// Push glob constant n (must be a [`Const::Glob`]).
    Glob(u32),
    /// Push the value of reference n.
    Load(u32),
    /// Pop b, pop a, push `a OP b` (0 or 1).
    Cmp(CmpOp),
    /// Pop b, pop a, push `a OP b`.
    Bit(BitOp),
    /// Unary `-`, `!`, `~` on the top.
    Neg,
    Not,
    BitNot,
    /// The `&&`/`||` operand conversion on the top.
    ToInt,
    /// The top must be an integer: if zero, jump to the target keeping it;
    /// else pop it and go on.
    And(u32),
    /// The top must be an integer: if non-zero, replace it with 1 and jump;
    /// else pop it and go on.
    Or(u32),
    /// Stop with this error (a constant sub-expression that fails, or a
    /// filter that can never match the event).
    Fail(EvalError),
    /// Stop: the top is the filter's value.
    Return,
    /// Fused `Load(r)`, `Int(k)`, `Cmp(op)`: the commonest filter shape,
    /// in one dispatch.
    LoadCmpInt {
        r: u32,
        op: CmpOp,
        k: i64,
    },
    /// Fused `Load(r)`, `Float(k)`, `Cmp(op)`.
    LoadCmpFloat {
        r: u32,
        op: CmpOp,
        k: f64,
    },
    /// Fused `Load(r)`, `Str(k)` or `Glob(k)`, `Cmp(op)`.
    LoadCmpStr {
        r: u32,
        op: CmpOp,
        k: u32,
    },
}

impl Insn {
    /// Stack entries popped and pushed.
    fn stack_effect(self) -> (usize, usize) {
        match self {
            Insn::Int(_)
            | Insn::Float(_)
            | Insn::Str(_)
            | Insn::Glob(_)
            | Insn::Load(_)
            | Insn::LoadCmpInt { .. }
            | Insn::LoadCmpFloat { .. }
            | Insn::LoadCmpStr { .. } => (0, 1),
            Insn::Cmp(_) | Insn::Bit(_) => (2, 1),
            Insn::Neg | Insn::Not | Insn::BitNot | Insn::ToInt => (1, 1),
            Insn::And(_) | Insn::Or(_) => (1, 0),
            Insn::Fail(_) => (0, 0),
            Insn::Return => (1, 0),
        }
    }
}

/// A constant operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Const {
    /// A string literal's bytes (escapes resolved); `star`: it ended with a
    /// wildcard `*`, which was removed.
    Str { bytes: Vec<u8>, star: bool },
    /// A globbing pattern (normalized, escapes kept).
    Glob(Vec<u8>),
}

/// Where a reference reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    Field(u32),
    FieldNamed(String),
    Context(u32),
    ContextNamed(String),
    App { provider: String, name: String },
}

/// A field reference: where, then the element index if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ref {
    pub loc: Loc,
    pub indices: Vec<u64>,
}

/// A compiled, verified filter program.
///
/// Build one with [`compile`](crate::compile) or receive one with
/// [`from_bytes`](Self::from_bytes); evaluate with
/// [`matches`](Self::matches).
#[derive(Clone, Debug, PartialEq)]
pub struct Bytecode {
    pub(crate) code: Vec<Insn>,
    pub(crate) consts: Vec<Const>,
    pub(crate) refs: Vec<Ref>,
    pub(crate) diagnostics: Vec<FilterError>,
    /// Deepest stack the program uses (from verification).
    pub(crate) max_depth: usize,
    /// The whole program in one step, for the commonest shapes.
    pub(crate) shortcut: Option<Shortcut>,
    bound_to_schema: bool,
}

/// Programs simple enough to run without the interpreter loop: most
/// filters are a constant, or comparisons of fields with constants joined
/// by only `&&` or only `||`. Derived from verified code, so it can never
/// disagree with running that code.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Shortcut {
    /// `Int(v), Return`.
    Const(bool),
    /// `C1, And, C2, And, ... Cn, Return` (or all `Or`), each `Ci` a fused
    /// comparison, each jump going to a later jump of the chain or to the
    /// `Return`: evaluate left to right, stop at the first false (true).
    Chain { and: bool, conds: Vec<Cond> },
}

/// One comparison of a chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cond {
    pub what: Quick,
    pub op: CmpOp,
    pub k: Konst,
}

/// Where a chain comparison reads its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Quick {
    /// Schema field without index.
    Field(usize),
    /// Element of a schema field.
    Elem(usize, u64),
    /// Schema context without index.
    Context(usize),
    /// Anything else: reference n, read the general way.
    Ref(u32),
}

/// The constant a chain comparison compares with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Konst {
    Int(i64),
    Float(f64),
    /// Constant table entry (string or glob).
    Table(u32),
}

impl Shortcut {
    fn of(code: &[Insn], refs: &[Ref]) -> Option<Shortcut> {
        if let [Insn::Int(v), Insn::Return] = code {
            return Some(Shortcut::Const(*v != 0));
        }
        let (last, body) = code.split_last()?;
        if *last != Insn::Return || body.len() % 2 == 0 {
            return None;
        }
        let ret = body.len();
        let mut and = None;
        let mut conds = Vec::with_capacity(body.len() / 2 + 1);
        for (j, insn) in body.iter().enumerate() {
            if j % 2 == 0 {
                conds.push(Cond::of(*insn, refs)?);
                continue;
            }
            let (is_and, t) = match *insn {
                Insn::And(t) => (true, t as usize),
                Insn::Or(t) => (false, t as usize),
                _ => return None,
            };
            if *and.get_or_insert(is_and) != is_and || !(t == ret || (t > j && t % 2 == 1)) {
                return None;
            }
        }
        Some(Shortcut::Chain {
            and: and.unwrap_or(true),
            conds,
        })
    }
}

impl Cond {
    fn of(insn: Insn, refs: &[Ref]) -> Option<Cond> {
        let (r, op, k) = match insn {
            Insn::LoadCmpInt { r, op, k } => (r, op, Konst::Int(k)),
            Insn::LoadCmpFloat { r, op, k } => (r, op, Konst::Float(k)),
            Insn::LoadCmpStr { r, op, k } => (r, op, Konst::Table(k)),
            _ => return None,
        };
        let what = match refs.get(r as usize)? {
            Ref {
                loc: Loc::Field(f),
                indices,
            } => match indices.as_slice() {
                [] => Quick::Field(*f as usize),
                [e] => Quick::Elem(*f as usize, *e),
                _ => Quick::Ref(r),
            },
            Ref {
                loc: Loc::Context(c),
                indices,
            } if indices.is_empty() => Quick::Context(*c as usize),
            _ => Quick::Ref(r),
        };
        Some(Cond { what, op, k })
    }
}

impl Bytecode {
    /// Verifies and assembles a program; on failure, the index of the bad
    /// instruction and why.
    pub(crate) fn assemble(
        code: Vec<Insn>,
        consts: Vec<Const>,
        refs: Vec<Ref>,
        diagnostics: Vec<FilterError>,
    ) -> Result<Bytecode, (usize, String)> {
        let max_depth = verify(&code, &consts, &refs)?;
        let shortcut = Shortcut::of(&code, &refs);
        let bound_to_schema = refs
            .iter()
            .any(|r| matches!(r.loc, Loc::Field(_) | Loc::Context(_)));
        Ok(Bytecode {
            code,
            consts,
            refs,
            diagnostics,
            max_depth,
            shortcut,
            bound_to_schema,
        })
    }

    /// A program that rejects every event, with the reasons.
    pub(crate) fn never(diagnostics: Vec<FilterError>) -> Bytecode {
        Bytecode {
            code: vec![Insn::Fail(EvalError::NeverMatches)],
            consts: Vec::new(),
            refs: Vec::new(),
            diagnostics,
            max_depth: 0,
            shortcut: None,
            bound_to_schema: false,
        }
    }

    /// Why this filter can never match the event it was compiled for (a
    /// missing field, a type mismatch known from the schema...): LTTng
    /// accepts such filters and records nothing, and so do we; tools can
    /// show these as warnings. Empty for bytecode from
    /// [`from_bytes`](Self::from_bytes).
    pub fn diagnostics(&self) -> &[FilterError] {
        &self.diagnostics
    }

    /// Whether every evaluation rejects, whatever the event (the program is
    /// a single `Fail`).
    pub fn never_matches(&self) -> bool {
        matches!(self.code.as_slice(), [Insn::Fail(_)])
    }

    /// Whether the program reads fields by schema index (compiled with a
    /// schema) rather than by name.
    pub fn is_schema_bound(&self) -> bool {
        self.bound_to_schema
    }

    /// Number of instructions.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Whether there are no instructions (never true for a valid program).
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// The serialized form (little endian): `LTTF`, version, constants,
    /// references, instructions.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(16 + self.code.len() * 10);
        w.extend_from_slice(MAGIC);
        w.push(VERSION);
        put_u32(&mut w, self.consts.len());
        for c in &self.consts {
            match c {
                Const::Str { bytes, star } => {
                    w.push(if *star { 1 } else { 0 });
                    put_bytes(&mut w, bytes);
                }
                Const::Glob(p) => {
                    w.push(2);
                    put_bytes(&mut w, p);
                }
            }
        }
        put_u32(&mut w, self.refs.len());
        for r in &self.refs {
            match &r.loc {
                Loc::Field(i) => {
                    w.push(0);
                    put_u32(&mut w, *i as usize);
                }
                Loc::FieldNamed(n) => {
                    w.push(1);
                    put_bytes(&mut w, n.as_bytes());
                }
                Loc::Context(i) => {
                    w.push(2);
                    put_u32(&mut w, *i as usize);
                }
                Loc::ContextNamed(n) => {
                    w.push(3);
                    put_bytes(&mut w, n.as_bytes());
                }
                Loc::App { provider, name } => {
                    w.push(4);
                    put_bytes(&mut w, provider.as_bytes());
                    put_bytes(&mut w, name.as_bytes());
                }
            }
            put_u32(&mut w, r.indices.len());
            for i in &r.indices {
                w.extend_from_slice(&i.to_le_bytes());
            }
        }
        put_u32(&mut w, self.code.len());
        for insn in &self.code {
            match *insn {
                Insn::Return => w.push(0),
                Insn::Int(v) => {
                    w.push(1);
                    w.extend_from_slice(&v.to_le_bytes());
                }
                Insn::Float(v) => {
                    w.push(2);
                    w.extend_from_slice(&v.to_bits().to_le_bytes());
                }
                Insn::Str(n) => op_u32(&mut w, 3, n),
                Insn::Glob(n) => op_u32(&mut w, 4, n),
                Insn::Load(n) => op_u32(&mut w, 5, n),
                Insn::Cmp(op) => w.extend_from_slice(&[6, op.code()]),
                Insn::Bit(op) => w.extend_from_slice(&[7, op.code()]),
                Insn::Neg => w.push(8),
                Insn::Not => w.push(9),
                Insn::BitNot => w.push(10),
                Insn::ToInt => w.push(11),
                Insn::And(t) => op_u32(&mut w, 12, t),
                Insn::Or(t) => op_u32(&mut w, 13, t),
                Insn::Fail(e) => w.extend_from_slice(&[14, error_code(e)]),
                Insn::LoadCmpInt { r, op, k } => {
                    op_u32(&mut w, 15, r);
                    w.push(op.code());
                    w.extend_from_slice(&k.to_le_bytes());
                }
                Insn::LoadCmpFloat { r, op, k } => {
                    op_u32(&mut w, 16, r);
                    w.push(op.code());
                    w.extend_from_slice(&k.to_bits().to_le_bytes());
                }
                Insn::LoadCmpStr { r, op, k } => {
                    op_u32(&mut w, 17, r);
                    w.push(op.code());
                    w.extend_from_slice(&k.to_le_bytes());
                }
            }
        }
        w
    }

    /// Reads and verifies a serialized program. Any byte string is safe to
    /// pass: the result is a program that terminates without panicking, or
    /// an error saying where the input is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bytecode, BytecodeError> {
        let mut r = Reader { b: bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(BytecodeError::new(0, "not filter bytecode (bad magic)"));
        }
        let v = r.u8()?;
        if v != VERSION {
            return Err(BytecodeError::new(4, format!("unsupported version {v}")));
        }
        let n = r.count(5)?;
        let mut consts = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.pos;
            consts.push(match r.u8()? {
                0 => Const::Str {
                    bytes: r.bytes()?.to_vec(),
                    star: false,
                },
                1 => Const::Str {
                    bytes: r.bytes()?.to_vec(),
                    star: true,
                },
                2 => Const::Glob(r.bytes()?.to_vec()),
                t => return Err(BytecodeError::new(at, format!("unknown constant kind {t}"))),
            });
        }
        let n = r.count(5)?;
        let mut refs = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.pos;
            let loc = match r.u8()? {
                0 => Loc::Field(r.u32()?),
                1 => Loc::FieldNamed(r.string()?),
                2 => Loc::Context(r.u32()?),
                3 => Loc::ContextNamed(r.string()?),
                4 => Loc::App {
                    provider: r.string()?,
                    name: r.string()?,
                },
                t => {
                    return Err(BytecodeError::new(
                        at,
                        format!("unknown reference kind {t}"),
                    ))
                }
            };
            let k = r.count(8)?;
            let mut indices = Vec::with_capacity(k);
            for _ in 0..k {
                indices.push(r.u64()?);
            }
            refs.push(Ref { loc, indices });
        }
        let n = r.count(1)?;
        let code_at = r.pos;
        let mut code = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.pos;
            let insn = match r.u8()? {
                0 => Insn::Return,
                1 => Insn::Int(r.u64()? as i64),
                2 => Insn::Float(f64::from_bits(r.u64()?)),
                3 => Insn::Str(r.u32()?),
                4 => Insn::Glob(r.u32()?),
                5 => Insn::Load(r.u32()?),
                6 => Insn::Cmp(r.cmp_op()?),
                7 => {
                    let c = r.u8()?;
                    Insn::Bit(
                        BitOp::from_code(c)
                            .ok_or_else(|| BytecodeError::new(at, "bad bitwise operator"))?,
                    )
                }
                8 => Insn::Neg,
                9 => Insn::Not,
                10 => Insn::BitNot,
                11 => Insn::ToInt,
                12 => Insn::And(r.u32()?),
                13 => Insn::Or(r.u32()?),
                14 => {
                    let c = r.u8()?;
                    Insn::Fail(
                        error_from_code(c)
                            .ok_or_else(|| BytecodeError::new(at, "bad error code"))?,
                    )
                }
                15 => {
                    let reference = r.u32()?;
                    let op = r.cmp_op()?;
                    Insn::LoadCmpInt {
                        r: reference,
                        op,
                        k: r.u64()? as i64,
                    }
                }
                16 => {
                    let reference = r.u32()?;
                    let op = r.cmp_op()?;
                    Insn::LoadCmpFloat {
                        r: reference,
                        op,
                        k: f64::from_bits(r.u64()?),
                    }
                }
                17 => {
                    let reference = r.u32()?;
                    let op = r.cmp_op()?;
                    Insn::LoadCmpStr {
                        r: reference,
                        op,
                        k: r.u32()?,
                    }
                }
                op => return Err(BytecodeError::new(at, format!("unknown opcode {op}"))),
            };
            code.push(insn);
        }
        if r.pos != bytes.len() {
            return Err(BytecodeError::new(
                r.pos,
                "trailing bytes after the program",
            ));
        }
        Bytecode::assemble(code, consts, refs, Vec::new())
            .map_err(|(i, why)| BytecodeError::new(code_at, format!("instruction {i}: {why}")))
    }

    /// A human-readable listing, one instruction per line (for debugging
    /// and tests).
    pub fn disassemble(&self) -> String {
        let mut s = String::new();
        for (i, insn) in self.code.iter().enumerate() {
            let detail = match insn {
                Insn::Str(n) | Insn::Glob(n) => {
                    format!("{insn:?} = {:?}", self.consts.get(*n as usize))
                }
                Insn::Load(n) | Insn::LoadCmpInt { r: n, .. } | Insn::LoadCmpFloat { r: n, .. } => {
                    format!("{insn:?} = {:?}", self.refs.get(*n as usize))
                }
                Insn::LoadCmpStr { r, k, .. } => format!(
                    "{insn:?} = {:?} vs {:?}",
                    self.refs.get(*r as usize),
                    self.consts.get(*k as usize)
                ),
                other => format!("{other:?}"),
            };
            s.push_str(&format!("{i:4}  {detail}\n"));
        }
        s
    }
}

fn put_u32(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_u32(w, b.len());
    w.extend_from_slice(b);
}

fn op_u32(w: &mut Vec<u8>, op: u8, v: u32) {
    w.push(op);
    w.extend_from_slice(&v.to_le_bytes());
}

const ERRORS: [EvalError; 9] = [
    EvalError::MissingField,
    EvalError::MissingContext,
    EvalError::TypeMismatch,
    EvalError::IndexOutOfRange,
    EvalError::NotLoadable,
    EvalError::ShiftCount,
    EvalError::NotInteger,
    EvalError::NeverMatches,
    EvalError::Malformed,
];

fn error_code(e: EvalError) -> u8 {
    ERRORS
        .iter()
        .position(|&x| x == e)
        .unwrap_or(ERRORS.len() - 1) as u8
}

fn error_from_code(c: u8) -> Option<EvalError> {
    ERRORS.get(usize::from(c)).copied()
}

/// Bounds-checked little-endian reader.
struct Reader<'b> {
    b: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], BytecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| BytecodeError::new(self.pos, "truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, BytecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, BytecodeError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn u64(&mut self) -> Result<u64, BytecodeError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// An item count, refused before any allocation if the rest of the
    /// input could not hold that many items of `min_size` bytes.
    fn count(&mut self, min_size: usize) -> Result<usize, BytecodeError> {
        let at = self.pos;
        let n = self.u32()? as usize;
        let room = (self.b.len() - self.pos) / min_size.max(1);
        if n > MAX_ITEMS || n > room {
            return Err(BytecodeError::new(
                at,
                format!("count {n} is larger than the data allows"),
            ));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'b [u8], BytecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, BytecodeError> {
        let at = self.pos;
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| BytecodeError::new(at, "name is not UTF-8"))
    }

    fn cmp_op(&mut self) -> Result<CmpOp, BytecodeError> {
        let at = self.pos;
        let c = self.u8()?;
        CmpOp::from_code(c).ok_or_else(|| BytecodeError::new(at, "bad comparison operator"))
    }
}

/// Checks a program; on failure returns the instruction index and why.
fn verify(code: &[Insn], consts: &[Const], refs: &[Ref]) -> Result<usize, (usize, String)> {
    if code.is_empty() {
        return Err((0, "empty program".into()));
    }
    if code.len() > MAX_ITEMS || consts.len() > MAX_ITEMS || refs.len() > MAX_ITEMS {
        return Err((0, "program too large".into()));
    }
    // Depth on entry to each instruction, from fall-through or jumps.
    let mut entry: Vec<Option<usize>> = vec![None; code.len()];
    entry[0] = Some(0);
    let mut max_depth = 0;
    for (i, &insn) in code.iter().enumerate() {
        let depth = entry[i].ok_or((i, "unreachable instruction".to_string()))?;
        match insn {
            Insn::Str(n) => match consts.get(n as usize) {
                Some(Const::Str { .. }) => {}
                _ => return Err((i, format!("string constant {n} does not exist"))),
            },
            Insn::Glob(n) => match consts.get(n as usize) {
                Some(Const::Glob(_)) => {}
                _ => return Err((i, format!("glob constant {n} does not exist"))),
            },
            _ => {}
        }
        let (reference, constant) = match insn {
            Insn::Load(r) | Insn::LoadCmpInt { r, .. } | Insn::LoadCmpFloat { r, .. } => {
                (Some(r), None)
            }
            Insn::LoadCmpStr { r, k, .. } => (Some(r), Some(k)),
            _ => (None, None),
        };
        if let Some(r) = reference.filter(|&r| refs.get(r as usize).is_none()) {
            return Err((i, format!("reference {r} does not exist")));
        }
        if let Some(k) = constant.filter(|&k| consts.get(k as usize).is_none()) {
            return Err((i, format!("constant {k} does not exist")));
        }
        let (pops, pushes) = insn.stack_effect();
        if depth < pops {
            return Err((i, "stack underflow".into()));
        }
        let after = depth - pops + pushes;
        if after > MAX_STACK {
            return Err((i, format!("stack deeper than {MAX_STACK}")));
        }
        max_depth = max_depth.max(after);
        let mut reach = |target: usize, d: usize| -> Result<(), (usize, String)> {
            match entry.get_mut(target) {
                None => Err((i, format!("jump target {target} is outside the program"))),
                Some(slot) => match *slot {
                    Some(prev) if prev != d => Err((
                        i,
                        format!("stack depth {d} differs from {prev} at {target}"),
                    )),
                    _ => {
                        *slot = Some(d);
                        Ok(())
                    }
                },
            }
        };
        match insn {
            Insn::Return => {
                if depth != 1 {
                    return Err((i, format!("return with {depth} stack entries")));
                }
            }
            Insn::Fail(_) => {}
            Insn::And(t) | Insn::Or(t) => {
                let t = t as usize;
                if t <= i {
                    return Err((i, "backward or self jump".into()));
                }
                reach(t, depth)?;
                reach(i + 1, after)?;
            }
            _ => reach(i + 1, after)?,
        }
    }
    Ok(max_depth)
}
