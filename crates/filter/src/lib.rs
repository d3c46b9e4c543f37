//! The LTTng filter language (`lttng enable-event --filter EXPR`): parser,
//! checks, compiler to a compact bytecode, and an interpreter that never
//! allocates, never panics and always terminates, whatever bytes it is
//! handed.
//!
//! The one idea: a filter is compiled once per event type — against that
//! event's [`Schema`] when known, which turns field names into indices and
//! settles every type question LTTng settles when it links a filter to an
//! event — and then evaluated per event by reading fields through a
//! [`FieldSource`]. Evaluation answers "record or not": every error means
//! "not", exactly as in LTTng.
//!
//! ```
//! use ltt_filter::{compile, parse, FieldSource, FieldType, IntType, Schema, Value};
//!
//! struct Event { i: u64, name: &'static str }
//! impl FieldSource for Event {
//!     fn field(&self, index: usize) -> Option<Value<'_>> {
//!         match index {
//!             0 => Some(Value::Unsigned(self.i)),
//!             1 => Some(Value::Str(self.name.as_bytes())),
//!             _ => None,
//!         }
//!     }
//! }
//!
//! let schema = Schema::new()
//!     .with_field("i", FieldType::Integer(IntType::unsigned(64)))
//!     .with_field("name", FieldType::String);
//! let filter = compile(&parse(r#"i & 1 == 1 && name == "al*""#)?, Some(&schema))?;
//! assert!(filter.matches(&Event { i: 3, name: "alpha" }));
//! assert!(!filter.matches(&Event { i: 2, name: "alpha" }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The language
//!
//! As in LTTng 2.13: integer constants (decimal, octal with a leading `0`,
//! hex; C suffixes ignored), floating point constants, string constants in
//! `"…"` or `'…'` whose only escape is `\*` (a literal star), field
//! references (`name`, `a.b`, `a->b`, `seq[3]`), `$ctx.NAME`,
//! `$app.PROVIDER:NAME`, unary `+ - ! ~`, `<< >> & ^ |`, comparisons,
//! `&&`, `||` and parentheses. Precedence is LTTng's, not C's: bitwise
//! operators bind tighter than comparisons, so `flags & 0x8 == 8` means
//! `(flags & 0x8) == 8`. `* / % +` and binary `-` parse but are refused, as
//! LTTng refuses them.
//!
//! Field names are written without the leading underscore LTTng puts in
//! CTF metadata (the user writes `i`, the metadata says `_i`): sources that
//! look fields up by name should strip exactly one leading `_` from
//! metadata names ([`filter_name`]). Members of nested structures are
//! looked up by their dotted path (`a.b`); LTTng-UST payloads are flat, so
//! there such a reference never matches, as in LTTng.
//!
//! # Semantics, quirks included
//!
//! Everything below is what lttng-ust 2.13 does; the fixture tests check
//! it against 64 filters recorded with LTTng 2.13.9 / lttng-ust 2.13.5.
//!
//! - **Rejected at compile time** (the `lttng enable-event` errors):
//!   arithmetic operators; a string literal compared with a number, or used
//!   with `!`, `-`, `~`, `&&`, `||` or bitwise operators; a float constant
//!   in a bitwise operation; a string or floating point constant as the
//!   whole filter; a non-constant or negative index; `$ctx`/`$app` without
//!   a name, or any other `$root`; two globbing patterns compared (except
//!   two "star at the end" ones); a full globbing pattern with anything but
//!   `==`/`!=`; a backslash escape other than `\*`.
//! - **Never matches the event** (accepted, records nothing; the reason is
//!   in [`Bytecode::diagnostics`]), when the schema shows it: a field or
//!   context the event does not have (`missing == 1 || x == 2` rejects even
//!   when `x == 2`), a type mismatch (`name == 5` with a string `name`,
//!   `arr == 5` on an integer array, a bitwise operation on a double, ...),
//!   a static array index out of range (`arr[4]` on a 4-element array), a
//!   filter whose whole value is a double (`d`) or a string, an expression
//!   needing more than LTTng's 10 stack entries.
//! - **Integers** are signed 64-bit: unsigned fields are cast, so a `u64`
//!   of 2^63 or more is negative (`flags > 0` is false for them); `a > -1`
//!   holds for any `u32`. Constants are read as unsigned then cast too
//!   (`0x8000000000000000 < 0`).
//! - **Bitwise operators** work on the 64-bit pattern; `>>` is a *logical*
//!   shift (`(b >> 63) == 1` for a negative `b`, never `-1`); a shift count
//!   outside 0..=63 rejects the event (`(i << 64) == 0` matches nothing).
//! - **Comparisons**: integer vs double converts the integer to double;
//!   doubles compare as IEEE (NaN is unequal to everything). Strings compare
//!   byte-wise in C `strcmp` order with bytes as *signed* chars (x86-64), so
//!   `name < "beta"` holds for `alpha` and `ALPHA`, and UTF-8 sorts before
//!   ASCII. A string literal ending in `*` matches any string it prefixes,
//!   for every comparison operator (`name < "b*"` is false for `beta`); a
//!   `*` elsewhere makes a globbing pattern (`*` matches any run of bytes,
//!   runs of stars count as one). Strings stop at a NUL byte.
//! - **`&&` and `||`** short-circuit. Their operands are converted to
//!   integers, doubles by truncation toward zero (so `d && 1` is false for
//!   `d = 0.5` although `!!d` is true; NaN and out-of-range doubles become
//!   i64::MIN, as on x86-64); a string there rejects the event. The value of
//!   `a && b` is `b` when `a` holds (`(i && 5) == 5`), of `a || b` is 1 when
//!   `a` holds.
//! - **Unary**: `-` wraps (`-(-2^63)` is itself); `!` works on integers and
//!   doubles; `~` on integers only; `+` does nothing at all (LTTng generates
//!   no instruction for it, so `+name == "x"` works on a string).
//! - **Run-time rejection** (without schema, or for `$app` contexts whose
//!   type is dynamic): the same type rules, checked per event.
//! - **Result**: a non-zero integer records the event.
//!
//! # Deliberate differences from lttng-ust 2.13
//!
//! Where LTTng is plainly buggy, this crate does what is right:
//! - *Sequence bounds.* lttng-ust compares an element's byte offset with
//!   `length × element size in bits`, so `seq[5]` reads past the end of a
//!   shorter sequence (garbage) instead of rejecting; only length 0 is
//!   caught. Here an index at or past the length rejects the event. The
//!   fixture test `seq_index_bound_is_checked_in_elements` shows the
//!   difference: for `seq[5] > 0` LTTng recorded 857 events, 715 of them
//!   through out-of-bounds reads.
//! - *Unsigned operands of `&&`/`||`.* lttng-ust's generic `CAST_TO_S64`
//!   falls through into an error for an unsigned register, so an unsigned
//!   array or sequence element used directly as an operand
//!   (`useq[0] && x`), or an unsigned `$app` context, rejects every event
//!   there (read from the sources, not seen in the fixtures); here it is
//!   evaluated.
//! - *Several indices.* lttng-tools' parser links a second `[N]` where
//!   the IR generator never looks, so `arr[1][2]` reads `arr[1]` (read from
//!   the sources, not in the fixtures); here a second index on an integer
//!   element never matches.
//!
//! # Bytecode
//!
//! [`Bytecode::to_bytes`] gives a compact serialization for sending a
//! compiled filter to a tracer; [`Bytecode::from_bytes`] verifies
//! everything before accepting (operands, forward-only jumps, stack depth
//! on every path, termination by `Return`/`Fail`). See [`bytecode`].

mod ast;
pub mod bytecode;
mod check;
mod compile;
mod error;
pub mod fuzzing;
mod glob;
mod interp;
mod lexer;
mod ops;
mod parser;
pub mod reference;
mod schema;
mod value;

#[cfg(feature = "bench")]
pub mod bench;

pub use ast::{Ast, BinaryOp, Expr, FieldRef, PathSegment, Scope, StrKind, StrLit, UnaryOp};
pub use bytecode::Bytecode;
pub use compile::compile;
pub use error::{BytecodeError, ErrorKind, EvalError, FilterError, Span};
pub use interp::IntTest;
pub use parser::{parse, MAX_DEPTH, MAX_EXPRESSION_LEN};
pub use schema::{filter_name, ElemType, FieldDef, FieldType, IntType, Schema};
pub use value::{FieldSource, IntElements, IntSeq, Value};

/// Parses and compiles in one step.
pub fn compile_str(expr: &str, schema: Option<&Schema>) -> Result<Bytecode, FilterError> {
    compile(&parse(expr)?, schema)
}
