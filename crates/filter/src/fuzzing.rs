//! Entry points for cargo-fuzz (`fuzz/fuzz_targets/filter_*.rs`) and for the
//! test that replays the seed corpus (`tests/corpus/`). Each takes arbitrary
//! bytes and panics only when it finds a bug: a panic elsewhere in the crate,
//! a print/parse round trip that changes the tree, bytecode that does not
//! survive serialization, or an interpreter that disagrees with the
//! reference evaluator.

use crate::value::{FieldSource, IntSeq, Value};
use crate::{compile, parse, reference, Bytecode, ElemType, FieldType, IntType, Schema};

/// Parses `data` (if UTF-8); when it parses, checks the round trip through
/// the printer, compiles with and without a schema, reloads the bytecode
/// from its bytes and compares interpreter and reference evaluator on
/// sample events.
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ast = match parse(text) {
        Ok(ast) => ast,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let printed = ast.to_string();
    let again = match parse(&printed) {
        Ok(a) => a,
        Err(e) => panic!("printed form of {text:?} does not parse: {printed:?}: {e}"),
    };
    assert_eq!(ast, again, "round trip of {text:?} through {printed:?}");
    let schema = SampleEvent::schema();
    let events = SampleEvent::samples();
    for schema in [None, Some(&schema)] {
        match compile(&ast, schema) {
            Ok(bc) => {
                let reloaded = match Bytecode::from_bytes(&bc.to_bytes()) {
                    Ok(b) => b,
                    Err(e) => panic!(
                        "bytecode of {text:?} does not reload: {e}\n{}",
                        bc.disassemble()
                    ),
                };
                for ev in &events {
                    let got = bc.evaluate(ev);
                    assert_eq!(
                        got,
                        reloaded.evaluate(ev),
                        "reloaded bytecode differs on {text:?}"
                    );
                    let want = reference::evaluate(&ast, schema, ev);
                    assert_eq!(
                        Some(matches!(got, Ok(true))),
                        want,
                        "interpreter ({got:?}) and reference disagree on {text:?} (schema: {}) for {ev:?}\n{}",
                        schema.is_some(),
                        bc.disassemble()
                    );
                }
            }
            Err(e) => {
                let _ = e.to_string();
                assert_eq!(
                    reference::evaluate(&ast, schema, &events[0]),
                    None,
                    "{text:?}"
                );
            }
        }
    }
}

/// Loads `data` as bytecode; when it verifies, runs it on sample events and
/// checks that its serialization reloads to the same program.
pub fn fuzz_bytecode(data: &[u8]) {
    let Ok(bc) = Bytecode::from_bytes(data) else {
        return;
    };
    for ev in &SampleEvent::samples() {
        let _ = bc.evaluate(ev);
    }
    let bytes = bc.to_bytes();
    match Bytecode::from_bytes(&bytes) {
        Ok(again) => assert_eq!(again.to_bytes(), bytes, "serialization is not stable"),
        Err(e) => panic!("re-serialized bytecode does not load: {e}"),
    }
}

/// An event with one field of each kind, readable by index (through
/// [`SampleEvent::schema`]) and by name. Used by fuzzing and tests.
#[derive(Clone, Debug)]
pub struct SampleEvent {
    pub i: u64,
    pub arr: [i32; 4],
    pub seq: Vec<i32>,
    pub a: u32,
    pub b: i64,
    pub flags: u64,
    pub neg: i8,
    pub d: f64,
    pub name: Vec<u8>,
    pub text: Vec<u8>,
    pub e: i64,
    pub procname: Vec<u8>,
    pub vpid: i32,
    pub app_int: Option<i64>,
    pub app_str: Option<Vec<u8>>,
}

const FIELDS: [&str; 11] = [
    "i", "arr", "seq", "a", "b", "flags", "neg", "d", "name", "text", "e",
];

impl SampleEvent {
    /// The schema matching [`FieldSource::field`] indices of this event,
    /// with lttng-ust's contexts (only `vpid` and `procname` have values).
    pub fn schema() -> Schema {
        use FieldType::*;
        Schema::new()
            .with_field("i", Integer(IntType::unsigned(64)))
            .with_field(
                "arr",
                Array {
                    elem: ElemType::Integer(IntType::signed(32)),
                    len: 4,
                },
            )
            .with_field(
                "seq",
                Sequence {
                    elem: ElemType::Integer(IntType::signed(32)),
                },
            )
            .with_field("a", Integer(IntType::unsigned(32)))
            .with_field("b", Integer(IntType::signed(64)))
            .with_field("flags", Integer(IntType::unsigned(64)))
            .with_field("neg", Integer(IntType::signed(8)))
            .with_field("d", Float)
            .with_field("name", String)
            .with_field(
                "text",
                Array {
                    elem: ElemType::Text,
                    len: 8,
                },
            )
            .with_field("e", Enum(IntType::signed(32)))
            .with_ust_contexts()
    }

    /// A few events spanning signs, lengths and special values.
    pub fn samples() -> Vec<SampleEvent> {
        (0..8u64)
            .map(|k| SampleEvent {
                i: [0, 1, 7, 500, 999, 1 << 63, u64::MAX, 3][k as usize],
                arr: [k as i32 * 37, k as i32 - 4, (k * k) as i32, 42],
                seq: (0..k as i32 % 7).map(|j| j * 3 - 2).collect(),
                a: (k as u32).wrapping_mul(2_654_435_761),
                b: 100 - 40 * k as i64,
                flags: (k << 61) | k,
                neg: -(k as i8),
                d: [-5.0, 0.0, 0.5, 2.0, f64::NAN, 1e300, -0.0, 120.5][k as usize],
                name: [
                    &b"alpha"[..],
                    b"beta",
                    b"ALPHA",
                    b"",
                    b"a*b",
                    b"lab_event",
                    b"al\0x",
                    "é".as_bytes(),
                ][k as usize]
                    .to_vec(),
                text: b"txt\0abcd".to_vec(),
                e: k as i64 - 2,
                procname: b"lab_app".to_vec(),
                vpid: 4242,
                app_int: (k % 2 == 0).then_some(k as i64),
                app_str: (k % 3 == 0).then(|| b"x".to_vec()),
            })
            .collect()
    }
}

impl FieldSource for SampleEvent {
    fn field(&self, index: usize) -> Option<Value<'_>> {
        Some(match index {
            0 => Value::Unsigned(self.i),
            1 => Value::Ints(IntSeq::I32(&self.arr)),
            2 => Value::Ints(IntSeq::I32(&self.seq)),
            3 => Value::Unsigned(u64::from(self.a)),
            4 => Value::Signed(self.b),
            5 => Value::Unsigned(self.flags),
            6 => Value::Signed(i64::from(self.neg)),
            7 => Value::Float(self.d),
            8 => Value::Str(&self.name),
            9 => Value::Str(&self.text),
            10 => Value::Signed(self.e),
            _ => return None,
        })
    }

    fn field_named(&self, name: &str) -> Option<Value<'_>> {
        self.field(FIELDS.iter().position(|f| *f == name)?)
    }

    fn context(&self, index: usize) -> Option<Value<'_>> {
        match index {
            0 => Some(Value::Signed(i64::from(self.vpid))),
            2 => Some(Value::Str(&self.procname)),
            _ => None,
        }
    }

    fn context_named(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "vpid" => self.context(0),
            "procname" => self.context(2),
            _ => None,
        }
    }

    fn app_context(&self, provider: &str, name: &str) -> Option<Value<'_>> {
        match (provider, name) {
            ("myprov", "int") => self.app_int.map(Value::Signed),
            ("myprov", "str") => self.app_str.as_deref().map(Value::Str),
            _ => None,
        }
    }
}
