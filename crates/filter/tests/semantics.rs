//! The documented semantics, one behavior per assertion, through the public
//! API (with and without a schema).

use ltt_filter::fuzzing::SampleEvent;
use ltt_filter::{compile_str, parse, ErrorKind, EvalError, FieldSource, Value};

fn ev() -> SampleEvent {
    SampleEvent::samples().remove(0)
}

/// Evaluates with and without schema; both must agree.
fn eval(expr: &str, e: &SampleEvent) -> Result<bool, EvalError> {
    let schema = SampleEvent::schema();
    let by_name = compile_str(expr, None).unwrap_or_else(|err| panic!("{err}"));
    let by_index = compile_str(expr, Some(&schema)).unwrap_or_else(|err| panic!("{err}"));
    let a = by_name.evaluate(e);
    assert_eq!(a.is_ok_and(|x| x), by_index.matches(e), "{expr}");
    a
}

fn holds(expr: &str, e: &SampleEvent) -> bool {
    eval(expr, e).unwrap_or(false)
}

#[test]
fn integers_are_signed_64_bit() {
    let mut e = ev();
    e.flags = 1 << 63;
    e.a = u32::MAX;
    assert!(holds("flags < 0", &e));
    assert!(holds("a > -1", &e));
    assert!(holds("0x8000000000000000 < 0", &e));
    assert!(holds("0xffffffffffffffff == -1", &e));
}

#[test]
fn bitwise_and_shifts() {
    let mut e = ev();
    e.b = -6;
    e.i = 7;
    assert!(holds("(b >> 63) == 1", &e), "logical shift");
    assert!(!holds("(b >> 1) < 0", &e));
    assert!(holds("(1 << 63) < 0", &e));
    assert_eq!(eval("(i << 64) == 0", &e), Err(EvalError::ShiftCount));
    assert_eq!(eval("(i >> -1) == 0", &e), Err(EvalError::ShiftCount));
    assert!(holds("i & 1 == 1", &e), "& binds tighter than ==");
    assert!(holds("~i == -8", &e));
    assert!(holds("(i ^ 5) == 2 && (i | 8) == 15", &e));
}

#[test]
fn logical_operators() {
    let mut e = ev();
    e.i = 3;
    e.d = 0.5;
    assert!(holds("(i && 5) == 5", &e), "&& yields its right operand");
    assert!(holds("(i || 0) == 1", &e), "|| yields 1");
    assert!(!holds("d && 1", &e), "doubles are truncated for && and ||");
    assert!(holds("!!d", &e), "but not for !");
    assert!(holds("~i && 1", &e));
    // Short circuit: a right side that would fail is not evaluated...
    let e3 = ev_with_i(3);
    let expr = "i == 3 || missing == 1";
    assert!(compile_str(expr, None).unwrap().matches(&e3));
    // ...but a field the schema says the event lacks makes the whole filter
    // never match, as in LTTng (which refuses to link it).
    let linked = compile_str(expr, Some(&SampleEvent::schema())).unwrap();
    assert!(linked.never_matches() && !linked.matches(&e3));
    assert_eq!(eval("i == 4 || name", &e), Err(EvalError::TypeMismatch));
}

fn ev_with_i(i: u64) -> SampleEvent {
    SampleEvent { i, ..ev() }
}

#[test]
fn floats() {
    let mut e = ev();
    e.d = 2.0;
    e.i = 2;
    assert!(holds("d == 2", &e));
    assert!(holds("i == 2.0", &e));
    assert!(holds("d > 1.5 && d < 0x1.2p1", &e));
    assert!(holds("-d < 0", &e));
    assert_eq!(eval("d", &e), Err(EvalError::NotInteger));
    e.d = f64::NAN;
    assert!(!holds("d == d", &e));
    assert!(holds("d != d", &e));
    assert!(holds("d && 1", &e), "NaN converts to i64::MIN, not 0");
}

#[test]
fn strings_and_globs() {
    let mut e = ev();
    e.name = b"alpha".to_vec();
    assert!(holds(r#"name == "alpha""#, &e));
    assert!(holds(r#"name == "al*""#, &e));
    assert!(holds(r#"name == "*ph*""#, &e));
    assert!(holds(r#"name == "a*p*a""#, &e));
    assert!(!holds(r#"name == "*b""#, &e));
    assert!(holds(r#"name != "*b""#, &e));
    assert!(holds(r#"name < "beta""#, &e));
    assert!(holds(r#"name > "ALPHA""#, &e));
    assert!(
        !holds(r#"name < "a*""#, &e),
        "a star-ended literal is equal to what it prefixes"
    );
    assert!(holds(r#"'alpha' == name"#, &e));
    assert!(
        holds(r#"+name == "alpha""#, &e),
        "unary + is a no-op, even on strings"
    );
    assert!(holds(r#"text == "txt""#, &e), "text arrays stop at NUL");
    e.name = b"a*b".to_vec();
    assert!(holds(r#"name == "a\*b""#, &e));
    assert!(!holds(r#"name == "a\*c""#, &e));
    e.name = "é".as_bytes().to_vec();
    assert!(holds(r#"name < "a""#, &e), "bytes compare as signed chars");
    assert_eq!(eval("name == 5", &e), Err(EvalError::TypeMismatch));
}

#[test]
fn references() {
    let e = ev();
    assert!(holds("arr[3] == 42", &e));
    assert_eq!(eval("arr[4] == 0", &e), Err(EvalError::IndexOutOfRange));
    assert_eq!(eval("arr == 5", &e), Err(EvalError::NotLoadable));
    assert_eq!(eval("arr[1][0] == 5", &e), Err(EvalError::NotLoadable));
    assert_eq!(eval("seq[0] == 0", &e), Err(EvalError::IndexOutOfRange));
    assert!(holds("$ctx.procname == \"lab*\" && $ctx.vpid > 0", &e));
    assert_eq!(eval("missing == 1", &e), Err(EvalError::MissingField));
    assert_eq!(eval("$ctx.vtid == 1", &e), Err(EvalError::MissingContext));
    assert!(holds("$app.myprov:int == 0", &e));
    let mut odd = ev();
    odd.app_int = None;
    assert_eq!(
        eval("$app.myprov:int == 0", &odd),
        Err(EvalError::MissingContext)
    );
    assert!(holds("e == -2", &e), "enumerations compare by value");
}

#[test]
fn compile_time_refusals() {
    for (expr, kind) in [
        ("i % 8 == 0", ErrorKind::UnsupportedOperator),
        ("i * 2 == 10", ErrorKind::UnsupportedOperator),
        ("\"a\" == 5", ErrorKind::Type),
        ("!\"a\"", ErrorKind::Type),
        ("i & 1.5", ErrorKind::Type),
        ("\"a\" && i", ErrorKind::Type),
        ("2.5", ErrorKind::Type),
        ("\"x\"", ErrorKind::Type),
        ("name < \"a*b\"", ErrorKind::Glob),
        ("\"*a\" == \"b*\"", ErrorKind::Glob),
        ("name == \"a\\nb\"", ErrorKind::Escape),
        ("name == \"a\\\\b\"", ErrorKind::Escape),
        ("$foo.bar == 1", ErrorKind::Reference),
        ("$ctx == 1", ErrorKind::Reference),
        ("arr[i] == 1", ErrorKind::Reference),
        ("arr[-1] == 1", ErrorKind::Reference),
        ("", ErrorKind::Syntax),
        ("i ==", ErrorKind::Syntax),
        ("(i == 1", ErrorKind::Syntax),
        ("i = 1", ErrorKind::Syntax),
    ] {
        let e = compile_str(expr, None).expect_err(expr);
        assert_eq!(e.kind(), kind, "{expr}: {e}");
    }
    let long = format!("i == 1{}", " ".repeat(70_000));
    assert_eq!(parse(&long).unwrap_err().kind(), ErrorKind::Limit);
}

#[test]
fn error_display_points_at_the_column() {
    let e = compile_str("i == 1 &&\n  name < \"x*y\"", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Glob);
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("filter error at column 10: only `==` and `!=`"),
        "{text}"
    );
    assert_eq!(lines[1], "    name < \"x*y\"");
    assert_eq!(lines[2], "           ^^^^^");
}

#[test]
fn deep_stack_never_matches_like_lttng() {
    // Eleven stack entries: more than lttng-ust's 10.
    let expr = "i == (i == (i == (i == (i == (i == (i == (i == (i == (i == 1)))))))))";
    let bc = compile_str(expr, None).unwrap();
    assert!(bc.never_matches());
    assert!(bc.diagnostics()[0].to_string().contains("stack"));
    let ok = "i == (i == (i == (i == (i == (i == (i == (i == (i == 1))))))))";
    assert!(!compile_str(ok, None).unwrap().never_matches());
}

#[test]
fn unsigned_elements_work_in_logical_operators() {
    // lttng-ust 2.13's generic CAST_TO_S64 errors on unsigned registers;
    // this is one of the documented deliberate differences.
    struct Source([u32; 2]);
    impl FieldSource for Source {
        fn field_named(&self, name: &str) -> Option<Value<'_>> {
            (name == "useq").then_some(Value::Ints(ltt_filter::IntSeq::U32(&self.0)))
        }
    }
    let bc = compile_str("useq[0] && useq[1] == 7", None).unwrap();
    assert!(bc.matches(&Source([u32::MAX, 7])));
    assert!(!bc.matches(&Source([0, 7])));
}

#[test]
fn sources_may_answer_only_by_name() {
    struct Minimal;
    impl FieldSource for Minimal {
        fn field_named(&self, name: &str) -> Option<Value<'_>> {
            (name == "x").then_some(Value::Signed(5))
        }
    }
    assert!(compile_str("x == 5", None).unwrap().matches(&Minimal));
    assert!(!compile_str("y == 5 || x == 5", None)
        .unwrap()
        .matches(&Minimal));
}

#[test]
fn bytecode_round_trips() {
    let schema = SampleEvent::schema();
    for expr in [
        "i > 5 && (name == \"*a\" || d < 2.5)",
        "$app.myprov:str == \"x\" || arr[2] != 0",
    ] {
        for s in [None, Some(&schema)] {
            let bc = compile_str(expr, s).unwrap();
            let back = ltt_filter::Bytecode::from_bytes(&bc.to_bytes()).unwrap();
            assert_eq!(back.to_bytes(), bc.to_bytes());
            for e in SampleEvent::samples() {
                assert_eq!(back.evaluate(&e), bc.evaluate(&e), "{expr}");
            }
        }
    }
}
