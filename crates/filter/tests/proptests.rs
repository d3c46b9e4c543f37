//! Property tests: random expression trees survive print → parse, and the
//! compiled bytecode agrees with the reference tree-walking evaluator on
//! random events, with and without a schema, before and after a trip
//! through `to_bytes`/`from_bytes`.

use ltt_filter::fuzzing::SampleEvent;
use ltt_filter::{
    compile, parse, reference, Ast, BinaryOp, Bytecode, Expr, FieldRef, PathSegment, Scope, StrLit,
    UnaryOp,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn field(scope: Scope, names: &[&str], indices: &[u64]) -> Expr {
    let mut path: Vec<PathSegment> = names
        .iter()
        .map(|n| PathSegment {
            name: n.to_string(),
            indices: Vec::new(),
        })
        .collect();
    if let Some(last) = path.last_mut() {
        last.indices = indices.to_vec();
    }
    Expr::Field(FieldRef {
        scope,
        path,
        span: Default::default(),
    })
}

fn leaf() -> impl Strategy<Value = Expr> {
    let ints = prop_oneof![
        0u64..12,
        Just(63u64),
        Just(64u64),
        Just(500u64),
        Just(1 << 63),
        Just(u64::MAX),
        any::<u64>(),
    ]
    .prop_map(Expr::int);
    let floats = prop_oneof![
        Just(0.0f64),
        Just(0.5),
        Just(2.0),
        Just(120.5),
        Just(1e300),
        Just(f64::INFINITY),
        (0.0f64..1000.0),
    ]
    .prop_map(|value| Expr::Float {
        value,
        span: Default::default(),
    });
    let strings = prop::collection::vec(
        prop_oneof![
            Just("a"),
            Just("l"),
            Just("b"),
            Just("*"),
            Just("\\*"),
            Just("é"),
            Just("\""),
            Just("alpha")
        ],
        0..5,
    )
    .prop_map(|parts| Expr::Str(StrLit::new(&parts.concat())));
    let payload = prop_oneof![
        Just(field(Scope::Payload, &["i"], &[])),
        Just(field(Scope::Payload, &["a"], &[])),
        Just(field(Scope::Payload, &["b"], &[])),
        Just(field(Scope::Payload, &["flags"], &[])),
        Just(field(Scope::Payload, &["neg"], &[])),
        Just(field(Scope::Payload, &["d"], &[])),
        Just(field(Scope::Payload, &["name"], &[])),
        Just(field(Scope::Payload, &["text"], &[])),
        Just(field(Scope::Payload, &["e"], &[])),
        Just(field(Scope::Payload, &["missing"], &[])),
        Just(field(Scope::Payload, &["arr"], &[])),
        Just(field(Scope::Payload, &["name"], &[0])),
        Just(field(Scope::Payload, &["a", "b"], &[])),
        Just(field(Scope::Payload, &["arr"], &[1, 2])),
        (0u64..6).prop_map(|k| field(Scope::Payload, &["arr"], &[k])),
        (0u64..8).prop_map(|k| field(Scope::Payload, &["seq"], &[k])),
    ];
    let contexts = prop_oneof![
        Just(field(Scope::Context, &["vpid"], &[])),
        Just(field(Scope::Context, &["procname"], &[])),
        Just(field(Scope::Context, &["vtid"], &[])),
        Just(field(Scope::Context, &["nope"], &[])),
        Just(field(Scope::AppContext, &["myprov:int"], &[])),
        Just(field(Scope::AppContext, &["myprov:str"], &[])),
        Just(field(Scope::AppContext, &["noprov"], &[])),
    ];
    prop_oneof![3 => ints, 1 => floats, 2 => strings, 5 => payload, 1 => contexts]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop_oneof![
        10 => prop::sample::select(vec![Eq, Ne, Lt, Gt, Le, Ge]),
        6 => prop::sample::select(vec![BitAnd, BitOr, BitXor, Shl, Shr]),
        6 => prop::sample::select(vec![And, Or]),
        1 => prop::sample::select(vec![Mul, Div, Mod, Add, Sub]),
    ]
}

fn unary_op() -> impl Strategy<Value = UnaryOp> {
    prop::sample::select(vec![
        UnaryOp::Plus,
        UnaryOp::Minus,
        UnaryOp::Not,
        UnaryOp::BitNot,
    ])
}

/// Any tree: mostly ill-typed, exercising refusals and run-time errors.
fn any_expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            1 => (unary_op(), inner.clone()).prop_map(|(op, e)| Expr::unary(op, e)),
            3 => (binary_op(), inner.clone(), inner).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
        ]
    })
}

fn cmp_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop_oneof![3 => Just(Eq), 2 => Just(Ne), 1 => prop::sample::select(vec![Lt, Gt, Le, Ge])]
}

/// Numeric operands (integers mostly, some doubles).
fn num_leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        4 => prop_oneof![0u64..8, Just(1 << 63), Just(u64::MAX), Just(63u64), Just(64u64)].prop_map(Expr::int),
        6 => prop::sample::select(vec!["i", "a", "b", "flags", "neg", "e"]).prop_map(|n| field(Scope::Payload, &[n], &[])),
        2 => (0u64..5).prop_map(|k| field(Scope::Payload, &["arr"], &[k])),
        2 => (0u64..7).prop_map(|k| field(Scope::Payload, &["seq"], &[k])),
        1 => Just(field(Scope::Context, &["vpid"], &[])),
        1 => Just(field(Scope::AppContext, &["myprov:int"], &[])),
        1 => Just(field(Scope::Payload, &["d"], &[])),
        1 => prop_oneof![Just(0.0f64), Just(0.5), Just(2.0), Just(1e300)].prop_map(|value| Expr::Float { value, span: Default::default() }),
    ]
}

/// String comparisons, with fields on one side.
fn str_cmp() -> impl Strategy<Value = Expr> {
    let fields = prop_oneof![
        Just(field(Scope::Payload, &["name"], &[])),
        Just(field(Scope::Payload, &["text"], &[])),
        Just(field(Scope::Context, &["procname"], &[])),
        Just(field(Scope::AppContext, &["myprov:str"], &[])),
    ];
    let lits = prop::collection::vec(
        prop_oneof![
            Just("a"),
            Just("l"),
            Just("*"),
            Just("\\*"),
            Just("alpha"),
            Just("b"),
            Just("é")
        ],
        0..4,
    )
    .prop_map(|p| Expr::Str(StrLit::new(&p.concat())));
    (fields, cmp_op(), lits, any::<bool>()).prop_map(|(f, op, l, swap)| {
        if swap {
            Expr::binary(op, l, f)
        } else {
            Expr::binary(op, f, l)
        }
    })
}

/// Mostly well-typed trees, so that many filters pass some events.
fn typed_expr() -> impl Strategy<Value = Expr> {
    use BinaryOp::*;
    let leaf = prop_oneof![
        3 => (num_leaf(), cmp_op(), num_leaf()).prop_map(|(l, op, r)| Expr::binary(op, l, r)),
        1 => str_cmp(),
        1 => num_leaf(),
    ];
    leaf.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            1 => (unary_op(), inner.clone()).prop_map(|(op, e)| Expr::unary(op, e)),
            3 => (prop::sample::select(vec![And, Or]), inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            1 => (prop::sample::select(vec![BitAnd, BitOr, BitXor, Shl, Shr]), inner.clone(), num_leaf()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            1 => (cmp_op(), inner, num_leaf()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
        ]
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    prop_oneof![1 => any_expr(), 3 => typed_expr()]
}

fn event() -> impl Strategy<Value = SampleEvent> {
    let base = SampleEvent::samples().remove(0);
    (
        prop_oneof![0u64..10, Just(1 << 63), Just(u64::MAX), any::<u64>()],
        prop::array::uniform4(prop_oneof![-3i32..50, any::<i32>()]),
        prop::collection::vec(-3i32..12, 0..8),
        (
            any::<u32>(),
            prop_oneof![-5i64..5, any::<i64>()],
            any::<u64>(),
            any::<i8>(),
        ),
        prop_oneof![
            Just(0.0f64),
            Just(-0.0),
            Just(0.5),
            Just(2.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e300),
            -1e3f64..1e3
        ],
        prop::sample::select(vec![
            "alpha", "beta", "ALPHA", "", "a*b", "al", "é", "lab_app", "\"", "a\0b",
        ]),
        (
            prop::option::of(-3i64..3),
            prop::option::of(Just(b"al".to_vec())),
        ),
    )
        .prop_map(
            move |(i, arr, seq, (a, b, flags, neg), d, name, (app_int, app_str))| SampleEvent {
                i,
                arr,
                seq,
                a,
                b,
                flags,
                neg,
                d,
                name: name.as_bytes().to_vec(),
                app_int,
                app_str,
                ..base.clone()
            },
        )
}

/// proptest's generation of nested strategies is deeply recursive and can
/// exceed the 2 MiB stack of test threads in debug builds: run each property
/// on a thread with room to spare.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    let t = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn test thread");
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    })
}

#[test]
fn print_parse_round_trip() {
    on_big_stack(|| {
        let result = runner(2000).run(&expr(), |e| {
            let text = e.to_string();
            let parsed =
                parse(&text).map_err(|err| TestCaseError::fail(format!("{text}\n{err}")))?;
            prop_assert_eq!(parsed.expr(), &e, "{}", text);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}

#[test]
fn interpreter_agrees_with_reference() {
    on_big_stack(|| {
        let strategy = (expr(), prop::collection::vec(event(), 1..6));
        let result = runner(2000).run(&strategy, |(e, evs)| {
            let ast = Ast::new(e);
            let schema = SampleEvent::schema();
            for schema in [None, Some(&schema)] {
                match compile(&ast, schema) {
                    Err(_) => {
                        prop_assert_eq!(reference::evaluate(&ast, schema, &evs[0]), None, "{}", ast)
                    }
                    Ok(bc) => {
                        let reloaded =
                            Bytecode::from_bytes(&bc.to_bytes()).expect("own bytecode reloads");
                        for ev in &evs {
                            let want = reference::evaluate(&ast, schema, ev);
                            let got = bc.evaluate(ev);
                            prop_assert_eq!(
                                Some(matches!(got, Ok(true))),
                                want,
                                "`{}` (schema: {}) on {:?}: interpreter {:?}\n{}",
                                ast,
                                schema.is_some(),
                                ev,
                                got,
                                bc.disassemble()
                            );
                            prop_assert_eq!(reloaded.evaluate(ev), got);
                        }
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}
