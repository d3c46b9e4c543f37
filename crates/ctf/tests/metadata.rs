//! The TSDL parser through its public API: every real metadata stream in the
//! fixtures, babeltrace's failing ones, and small synthetic documents for
//! each grammar feature and limit.

use std::path::{Path, PathBuf};

use ltt_ctf::metadata::*;

// ---------------------------------------------------------------- helpers

/// The shared fixtures folder (`LTT_FIXTURES` overrides the default).
fn fixtures() -> PathBuf {
    let dir = std::env::var_os("LTT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        });
    assert!(
        dir.is_dir(),
        "fixtures folder {} is missing: set LTT_FIXTURES to the shared fixtures directory",
        dir.display()
    );
    dir
}

fn fixture_bytes(rel: &str) -> Vec<u8> {
    let path = fixtures().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_fixture(rel: &str) -> Result<Metadata, MetadataError> {
    read_metadata(&fixture_bytes(rel))
}

fn corpus(trace: &str) -> Metadata {
    let rel = format!("babeltrace-corpus/{trace}/metadata");
    read_fixture(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn lttng_basic_text() -> Metadata {
    let bytes = fixture_bytes("lttng/basic.metadata.tsdl.txt");
    read_metadata(&bytes).expect("lttng/basic.metadata.tsdl.txt")
}

/// Every `metadata` file under `dir`.
fn metadata_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            metadata_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "metadata") {
            out.push(path);
        }
    }
}

/// A minimal document around `body` (little-endian trace, `uint8_t`/`int`).
fn doc(body: &str) -> String {
    format!(
        "/* CTF 1.8 */\n\
         typealias integer {{ size = 8; align = 8; signed = false; }} := uint8_t;\n\
         typealias integer {{ size = 32; signed = true; }} := int;\n\
         trace {{ major = 1; minor = 8; byte_order = le; }};\n\
         {body}\n"
    )
}

/// The payload of the only event of `doc(body)`.
fn fields_of(body: &str) -> StructType {
    let m = parse(&doc(body)).unwrap_or_else(|e| panic!("{e}\n{body}"));
    m.events[0].fields.clone().expect("fields")
}

fn event_fields(fields: &str) -> StructType {
    fields_of(&format!(
        "event {{ name = e; fields := struct {{ {fields} }}; }};"
    ))
}

fn parse_err(text: &str) -> MetadataError {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

fn member<'a>(s: &'a StructType, name: &str) -> &'a FieldType {
    &s.member(name)
        .unwrap_or_else(|| panic!("no member {name} in {s:?}"))
        .ty
}

fn int(ft: &FieldType) -> &IntType {
    match ft {
        FieldType::Int(t) => t,
        other => panic!("not an integer: {other:?}"),
    }
}

fn names(s: &StructType) -> Vec<&str> {
    s.members.iter().map(|m| m.name.as_str()).collect()
}

fn field_ref(path: &str) -> FieldRef {
    FieldRef(path.split('.').map(str::to_string).collect())
}

// ------------------------------------------------------- every fixture

#[test]
fn every_readable_fixture_parses() {
    let mut files = Vec::new();
    metadata_files(&fixtures(), &mut files);
    files.sort();
    let expected_failures = [
        "fail/fail1/",
        "fail/fail2/",
        "fail/integer-range/",
        "fail/invalid-sequence-length-field-class/",
        "fail/invalid-variant-selector-field-class/",
        "fail/lttng-modules-2.0-pre1/",
        "fail/metadata-syntax-error/",
        "fail/packet-based-metadata/",
        "fail/smalltrace/",
    ];
    let mut parsed = 0;
    for path in &files {
        let shown = path.display().to_string();
        let result = read_metadata(&std::fs::read(path).expect("read metadata"));
        let should_fail = expected_failures.iter().any(|f| shown.contains(f));
        match (result, should_fail) {
            (Ok(m), false) => {
                parsed += 1;
                assert_eq!(m.trace.major, Some(1), "{shown}");
            }
            (Err(e), true) => assert!(!e.message.is_empty()),
            (Ok(_), true) => panic!("{shown} should be rejected"),
            (Err(e), false) => panic!("{shown}: {e}"),
        }
    }
    assert!(parsed > 100, "only {parsed} metadata files found");
}

#[test]
fn failing_fixtures_fail_where_babeltrace_does() {
    let cases: [(&str, u32, u32, &str); 7] = [
        ("fail1", 15, 10, "major"),
        ("smalltrace", 6, 10, "major"),
        ("fail2", 9, 16, "escape"),
        ("integer-range", 7, 10, "out of range"),
        ("metadata-syntax-error", 3, 58, "found `]`"),
        (
            "invalid-sequence-length-field-class",
            19,
            2,
            "length `len` names a struct",
        ),
        (
            "invalid-variant-selector-field-class",
            19,
            2,
            "tag `selector` names a struct",
        ),
    ];
    for (name, line, column, what) in cases {
        let e = read_fixture(&format!("babeltrace-corpus/fail/{name}/metadata")).unwrap_err();
        assert_eq!((e.line, e.column), (line, column), "{name}: {e}");
        assert!(e.message.contains(what), "{name}: {e}");
        assert!(e
            .to_string()
            .starts_with(&format!("line {line}, column {column}: ")));
    }
    for name in ["packet-based-metadata", "lttng-modules-2.0-pre1"] {
        let e = read_fixture(&format!("babeltrace-corpus/fail/{name}/metadata")).unwrap_err();
        assert_eq!((e.line, e.offset), (0, Some(0)), "{name}: {e}");
        assert_eq!(
            e.to_string(),
            "at byte offset 0: invalid metadata packet version 116.121 (expected 1.8)"
        );
    }
    // These fail in their data streams, not in their metadata.
    corpus("fail/invalid-packet-size/trace");
    corpus("fail/valid-events-then-invalid-events/trace");
}

// ------------------------------------------------------- LTTng UST

#[test]
fn lttng_basic_trace_env_and_clock() {
    let m = lttng_basic_text();
    assert_eq!((m.trace.major, m.trace.minor), (Some(1), Some(8)));
    assert_eq!(m.trace.byte_order, ByteOrder::Little);
    let uuid = m.trace.uuid.expect("trace uuid");
    assert_eq!(&uuid[..4], &[0x69, 0x39, 0xe6, 0x67]);
    assert_eq!(m.env_str("hostname"), Some("vm"));
    assert_eq!(m.env_str("domain"), Some("ust"));
    assert_eq!(m.env("tracer_major"), Some(&EnvValue::Int(2)));
    assert_eq!(m.env_str("trace_name"), Some("lab-basic"));
    let clock = m.clock("monotonic").expect("monotonic clock");
    assert_eq!(clock.freq, 1_000_000_000);
    assert_eq!(clock.offset, 1_795_692_113_876_767_490);
    assert_eq!(
        (clock.offset_s, clock.precision, clock.absolute),
        (0, 0, false)
    );
    assert_eq!(clock.description.as_deref(), Some("Monotonic Clock"));
    assert_eq!(clock.uuid.map(|u| u[0]), Some(0x9f));

    let header = m.trace.packet_header.as_ref().expect("packet header");
    assert_eq!(
        names(header),
        ["magic", "uuid", "stream_id", "stream_instance_id"]
    );
    match member(header, "uuid") {
        FieldType::Array(a) => {
            assert_eq!(a.length, 16);
            assert_eq!(int(&a.element).size, 8);
        }
        other => panic!("uuid: {other:?}"),
    }
}

#[test]
fn lttng_basic_stream_uses_the_large_event_header() {
    let m = lttng_basic_text();
    assert_eq!(m.streams.len(), 1);
    let s = &m.streams[0];
    assert_eq!(s.id, 0);
    let header = s.event_header.as_ref().expect("event header");
    assert_eq!(header.min_align, 8);
    assert_eq!(names(header), ["id", "v"]);
    let FieldType::Enum(id) = member(header, "id") else {
        panic!("id is not an enum")
    };
    assert_eq!(id.container.size, 16);
    assert_eq!(id.mappings[0].label, "compact");
    assert_eq!(id.mappings[0].ranges, [(0, 65534)]);
    assert_eq!(id.mappings[1].ranges, [(65535, 65535)]);
    let FieldType::Variant(v) = member(header, "v") else {
        panic!("v is not a variant")
    };
    assert_eq!(v.tag, field_ref("id"));
    let FieldType::Struct(compact) = &v.options[0].ty else {
        panic!("compact option")
    };
    let ts = int(member(compact, "timestamp"));
    assert_eq!((ts.size, ts.clock.as_deref()), (32, Some("monotonic")));

    let pc = s.packet_context.as_ref().expect("packet context");
    assert_eq!(
        names(pc),
        [
            "timestamp_begin",
            "timestamp_end",
            "content_size",
            "packet_size",
            "packet_seq_num",
            "events_discarded",
            "cpu_id"
        ]
    );
    assert_eq!(
        int(member(pc, "events_discarded")).size,
        64,
        "unsigned long"
    );
    let ctx = s.event_context.as_ref().expect("event context");
    assert_eq!(names(ctx), ["_vpid", "_vtid", "_procname"]);
    match member(ctx, "_procname") {
        FieldType::Array(a) => {
            assert_eq!(a.length, 17);
            assert_eq!(int(&a.element).encoding, Encoding::Utf8);
        }
        other => panic!("_procname: {other:?}"),
    }
}

#[test]
fn lttng_basic_all_types_event() {
    let m = lttng_basic_text();
    let names_of_events: Vec<&str> = m.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names_of_events,
        ["lab:all_types", "lab:empty", "lab:one_int", "lab:filt"]
    );
    let e = &m.events[0];
    assert_eq!((e.id, e.stream_id, e.loglevel), (0, Some(0), Some(6)));
    let f = e.fields.as_ref().expect("fields");
    assert_eq!(
        names(f),
        [
            "_s8",
            "_u8",
            "_s16",
            "_u16",
            "_s32",
            "_u32",
            "_s64",
            "_u64",
            "_hex32",
            "_hex64",
            "_net16",
            "_net32",
            "_net64",
            "_nethex32",
            "_f32",
            "_f64",
            "_str",
            "_arr",
            "_arrhex",
            "__seq_length",
            "_seq",
            "__seq16_length",
            "_seq16",
            "_text8",
            "__seqtext_length",
            "_seqtext",
            "_state",
            "_mode"
        ]
    );
    let s8 = int(member(f, "_s8"));
    assert_eq!((s8.size, s8.signed, s8.align), (8, true, 8));
    assert_eq!(int(member(f, "_hex64")).base, DisplayBase::Hexadecimal);
    let net = int(member(f, "_net32"));
    assert_eq!((net.byte_order, net.signed), (ByteOrder::Big, false));
    assert_eq!(int(member(f, "_u64")).byte_order, ByteOrder::Little);
    match (member(f, "_f32"), member(f, "_f64")) {
        (FieldType::Float(a), FieldType::Float(b)) => {
            assert_eq!((a.exp_dig, a.mant_dig, a.size()), (8, 24, 32));
            assert_eq!((b.exp_dig, b.mant_dig, b.size()), (11, 53, 64));
        }
        other => panic!("floats: {other:?}"),
    }
    assert_eq!(member(f, "_str"), &FieldType::String(StringType::default()));
    match member(f, "_seq") {
        FieldType::Sequence(s) => {
            assert_eq!(s.length, field_ref("__seq_length"));
            assert_eq!(int(&s.element).size, 32);
        }
        other => panic!("_seq: {other:?}"),
    }
    let FieldType::Enum(state) = member(f, "_state") else {
        panic!("_state")
    };
    assert!(state.container.signed);
    let ranges = |label: &str| {
        state
            .mappings
            .iter()
            .find(|m| m.label == label)
            .map(|m| m.ranges.clone())
    };
    assert_eq!(ranges("BUSY"), Some(vec![(2, 4)]));
    assert_eq!(ranges("NEGATIVE"), Some(vec![(-1, -1)]));
    assert_eq!(ranges("HIGH"), Some(vec![(100, 199)]));
    let FieldType::Enum(mode) = member(f, "_mode") else {
        panic!("_mode")
    };
    let auto: Vec<(&str, i128)> = mode
        .mappings
        .iter()
        .map(|m| (m.label.as_str(), m.ranges[0].0))
        .collect();
    assert_eq!(
        auto,
        [
            ("ZERO", 0),
            ("ONE_AUTO", 1),
            ("TWO_AUTO", 2),
            ("TEN", 10),
            ("ELEVEN_AUTO", 11)
        ]
    );
    let empty = m.events[1].fields.as_ref().expect("lab:empty fields");
    assert!(empty.members.is_empty());
}

#[test]
fn packetized_lttng_metadata_matches_its_text_form() {
    let bytes = fixture_bytes("lttng/basic/ust/uid/0/64-bit/metadata");
    assert!(is_packetized(&bytes));
    let packets = decode_packetized(&bytes).expect("packets");
    assert_eq!(packets.byte_order, ByteOrder::Little);
    let from_packets = read_metadata(&bytes).expect("packetized metadata");
    assert_eq!(packets.uuid, from_packets.trace.uuid);
    assert_eq!(from_packets, lttng_basic_text());
}

#[test]
fn packet_uuid_must_match_the_trace_uuid() {
    let mut bytes = fixture_bytes("lttng/basic/ust/uid/0/64-bit/metadata");
    let packet_size = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as usize / 8;
    let mut at = 0;
    // The same wrong UUID in every packet: consistent, but not the trace's.
    while at < bytes.len() {
        bytes[at + 4] ^= 0xFF;
        at += packet_size;
    }
    let e = read_metadata(&bytes).unwrap_err();
    assert!(e.message.contains("trace block"), "{e}");
}

// ---------------------------------------------------------- other tracers

#[test]
fn lttng_kernel_metadata() {
    let m = corpus("succeed/multi-domains/kernel");
    assert_eq!(m.env_str("domain"), Some("kernel"));
    assert_eq!(m.env_str("trace_name"), Some(""));
    let e = &m.events[0];
    assert_eq!(
        (e.name.as_str(), e.loglevel),
        ("lttng_test_filter_event", None)
    );
    let f = e.fields.as_ref().expect("fields");
    let pad = member(f, "_bitfield_array_padding");
    assert_eq!(
        pad,
        &FieldType::Struct(StructType {
            members: vec![],
            min_align: 8
        })
    );
    match member(f, "_bitfield_array") {
        FieldType::Array(a) => {
            assert_eq!(a.length, 192);
            let bit = int(&a.element);
            assert_eq!((bit.size, bit.align), (1, 1));
        }
        other => panic!("{other:?}"),
    }
    let FieldType::Enum(en) = member(f, "_enum0") else {
        panic!("_enum0")
    };
    let starts: Vec<i128> = en.mappings.iter().map(|m| m.ranges[0].0).collect();
    assert_eq!(starts, [0, 23, 27, 28, 101, 304]);
}

#[test]
fn barectf_metadata() {
    let m = corpus("succeed/barectf-event-before-packet");
    let clock = m.clock("default").expect("clock named by an identifier");
    assert_eq!(
        (clock.offset_s, clock.offset, clock.absolute),
        (1_434_072_888, 0, false)
    );
    assert_eq!(m.trace.packet_header.as_ref().map(|h| h.min_align), Some(1));
    assert_eq!(m.env("tracer_patch"), Some(&EnvValue::Int(0)));
    let e = &m.events[0];
    assert_eq!((e.name.as_str(), e.loglevel), ("simple_uint32", Some(2)));
    let ts = int(member(
        m.streams[0].event_header.as_ref().expect("header"),
        "timestamp",
    ));
    assert_eq!((ts.align, ts.clock.as_deref()), (64, Some("default")));
}

#[test]
fn babeltrace_corpus_oddities() {
    // `name = string;`: a keyword as an event name.
    assert_eq!(corpus("succeed/succeed1").events[0].name, "string");
    // Escapes in (ignored) trace attributes; numbers in every base.
    corpus("succeed/succeed3");
    corpus("succeed/succeed4");
    // Unknown attributes are ignored, `:=` ones included.
    assert_eq!(corpus("succeed/warnings").events.len(), 1);
    // CRLF and LF versions of one trace describe the same types.
    let (crlf, lf) = (
        corpus("succeed/crlf-metadata"),
        corpus("succeed/lf-metadata"),
    );
    assert_eq!((crlf.streams, crlf.events), (lf.streams, lf.events));
    // No stream block, zero-length arrays.
    let m = corpus("succeed/array-align-elem");
    assert!(m.streams.is_empty());
    match member(m.events[0].fields.as_ref().expect("fields"), "b") {
        FieldType::Array(a) => assert_eq!((a.length, int(&a.element).align), (0, 16)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn variant_options_named_after_keywords_with_underscores() {
    let m = corpus("succeed/meta-variant-reserved-keywords");
    assert_eq!(m.trace.byte_order, ByteOrder::Big);
    let f = m.events[0].fields.as_ref().expect("fields");
    let FieldType::Enum(tag) = member(f, "tag") else {
        panic!("tag")
    };
    assert_eq!(
        int(&FieldType::Int(tag.container.clone())).byte_order,
        ByteOrder::Big
    );
    assert_eq!(tag.mappings[1].label, "_callsite");
    assert_eq!(tag.mappings[1].ranges, [(1, 1)]);
    assert_eq!(tag.mappings.len(), 28);
    let FieldType::Variant(v) = member(f, "var") else {
        panic!("var")
    };
    assert_eq!(v.options[27].name, "__Imaginary");
    assert_eq!(v.tag, field_ref("tag"));
}

// --------------------------------------------------- synthetic documents

#[test]
fn crlf_line_endings_and_comments() {
    let text = doc("// line comment\r\nevent {\r\n\tname = \"a\"; /* block\r\n comment */\r\n\tfields := struct { uint8_t x; };\r\n};")
        .replace('\n', "\r\n");
    let m = parse(&text).expect("CRLF");
    assert_eq!(names(m.events[0].fields.as_ref().expect("fields")), ["x"]);
    let e = parse_err(&doc(
        "event {\r\n name = a;\r\n fields := struct { uint8_t x };\r\n};",
    ));
    assert_eq!((e.line, e.column), (7, 31), "{e}");
}

#[test]
fn nested_arrays_are_outermost_first() {
    let f = event_fields("uint8_t a[2][3]; uint8_t n; uint8_t s[n][4];");
    match member(&f, "a") {
        FieldType::Array(outer) => {
            assert_eq!(outer.length, 2);
            match &*outer.element {
                FieldType::Array(inner) => assert_eq!(inner.length, 3),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    match member(&f, "s") {
        FieldType::Sequence(seq) => {
            assert_eq!(seq.length, field_ref("n"));
            assert!(matches!(&*seq.element, FieldType::Array(a) if a.length == 4));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn variant_tags_at_definition_or_use_site() {
    let f = fields_of(
        "variant choice { uint8_t a; string b; };\n\
         enum sel : uint8_t { a, b };\n\
         event { name = e; fields := struct {\n\
           enum sel s;\n\
           variant choice <s> v;\n\
           variant <s> { uint8_t a; uint8_t b; } w;\n\
         }; };",
    );
    match (member(&f, "v"), member(&f, "w")) {
        (FieldType::Variant(v), FieldType::Variant(w)) => {
            assert_eq!(v.tag, field_ref("s"));
            assert_eq!(v.options[1].ty, FieldType::String(StringType::default()));
            assert_eq!(w.tag, field_ref("s"));
        }
        other => panic!("{other:?}"),
    }
    let e = parse_err(&doc(
        "variant choice { uint8_t a; };\nevent { name = e; fields := struct { variant choice v; }; };",
    ));
    assert!(e.message.contains("no tag"), "{e}");
}

#[test]
fn typealiases_are_lexically_scoped() {
    let f = event_fields(
        "struct { typealias integer { size = 16; } := small; small x; } inner; uint8_t y;",
    );
    let FieldType::Struct(inner) = member(&f, "inner") else {
        panic!("inner")
    };
    assert_eq!(int(member(inner, "x")).size, 16);
    let e = parse_err(&doc(
        "event { name = e; fields := struct { struct { typealias integer { size = 16; } := small; } a; small b; }; };",
    ));
    assert!(e.message.contains("unknown type `small`"), "{e}");
    // Shadowing an outer name is fine; redeclaring in one scope is not.
    let f = event_fields("typealias integer { size = 16; } := uint8_t; uint8_t z;");
    assert_eq!(int(member(&f, "z")).size, 16);
    let e = parse_err(&doc("typealias integer { size = 16; } := uint8_t;"));
    assert!(e.message.contains("already declared"), "{e}");
}

#[test]
fn multi_word_and_pointer_type_names() {
    let f = fields_of(
        "typealias integer { size = 64; } := unsigned long;\n\
         typealias integer { size = 32; } := void *;\n\
         typedef integer { size = 16; } u16_t, u16_arr[2];\n\
         event { name = e; fields := struct { unsigned long a; void *p; u16_t b; u16_arr c; }; };",
    );
    assert_eq!(int(member(&f, "a")).size, 64);
    assert_eq!(int(member(&f, "p")).size, 32);
    assert_eq!(int(member(&f, "b")).size, 16);
    assert!(matches!(member(&f, "c"), FieldType::Array(a) if a.length == 2));
    let e = parse_err(&doc(
        "event { name = e; fields := struct { unsigned int a; }; };",
    ));
    assert!(e.message.contains("unknown type `unsigned int`"), "{e}");
}

#[test]
fn enum_values_auto_signed_and_64_bit() {
    let f = event_fields(
        "enum : integer { size = 64; } { A, B = 18446744073709551615 } u;\n\
         enum : integer { size = 64; signed = true; } { MIN = -9223372036854775808, MAX = 9223372036854775807, M = -3 ... -1, N } s;\n\
         enum : uint8_t { X = 1, Y, X = 5 ... 6, \"quoted \\\" label\" } merged;\n\
         enum { I = -5 } implicit;",
    );
    let mappings = |n: &str| match member(&f, n) {
        FieldType::Enum(e) => e.mappings.clone(),
        other => panic!("{other:?}"),
    };
    let u = mappings("u");
    assert_eq!(u[0].ranges, [(0, 0)]);
    assert_eq!(u[1].ranges, [(u64::MAX as i128, u64::MAX as i128)]);
    let s = mappings("s");
    assert_eq!(s[0].ranges, [(i64::MIN as i128, i64::MIN as i128)]);
    assert_eq!(s[2].ranges, [(-3, -1)]);
    assert_eq!(s[3].ranges, [(0, 0)]);
    let merged = mappings("merged");
    assert_eq!(merged.len(), 3);
    assert_eq!(merged[0].label, "X");
    assert_eq!(merged[0].ranges, [(1, 1), (5, 6)]);
    assert_eq!(merged[1].ranges, [(2, 2)]);
    assert_eq!(merged[2].label, "quoted \" label");
    assert_eq!(merged[2].ranges, [(7, 7)]);
    match member(&f, "implicit") {
        FieldType::Enum(e) => assert_eq!((e.container.size, e.container.signed), (32, true)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_enums() {
    for (entries, what) in [
        ("{ A = 3 ... 1 }", "greater than"),
        ("{ A = 256 }", "does not fit"),
        ("{ A = -1 }", "does not fit"),
        ("{ A = 255, B }", "does not fit"),
        ("{ }", "no entries"),
        ("{ A = -9223372036854775809 }", "below the 64-bit range"),
    ] {
        let text = doc(&format!(
            "event {{ name = e; fields := struct {{ enum : uint8_t {entries} x; }}; }};"
        ));
        let e = parse_err(&text);
        assert!(e.message.contains(what), "{entries}: {e}");
        assert_eq!(e.line, 5, "{entries}: {e}");
    }
    let e = parse_err(
        "trace { major = 1; minor = 8; byte_order = le; };\nevent { name = e; fields := struct { enum { A } x; }; };",
    );
    assert!(e.message.contains("typealias named `int`"), "{e}");
}

#[test]
fn native_byte_order_resolves_to_the_trace_order_declared_later() {
    let m = parse(
        "typealias integer { size = 32; byte_order = native; } := u32;\n\
         typealias integer { size = 16; } := u16;\n\
         typealias floating_point { exp_dig = 8; mant_dig = 24; } := f;\n\
         typealias integer { size = 16; byte_order = network; } := n16;\n\
         typealias integer { size = 16; byte_order = le; } := l16;\n\
         trace { major = 1; minor = 8; byte_order = be; packet.header := struct { u32 magic; }; };\n\
         event { name = e; fields := struct { u16 a; f b; n16 c; l16 d; }; };",
    )
    .expect("document");
    assert_eq!(m.trace.byte_order, ByteOrder::Big);
    let magic = int(member(
        m.trace.packet_header.as_ref().expect("header"),
        "magic",
    ));
    assert_eq!(magic.byte_order, ByteOrder::Big);
    let f = m.events[0].fields.as_ref().expect("fields");
    assert_eq!(int(member(f, "a")).byte_order, ByteOrder::Big);
    assert!(
        matches!(member(f, "b"), FieldType::Float(t) if t.byte_order == ByteOrder::Big && t.align == 8)
    );
    assert_eq!(int(member(f, "c")).byte_order, ByteOrder::Big);
    assert_eq!(int(member(f, "d")).byte_order, ByteOrder::Little);
}

#[test]
fn integer_defaults_and_attributes() {
    let f = event_fields(
        "integer { size = 3; } a; integer { size = 16; } b;\n\
         integer { size = 8; signed = TRUE; base = x; encoding = utf8; align = 32; } c;\n\
         integer { size = 8; base = oct; encoding = ASCII; } d; integer { size = 8; base = 2; } e;\n\
         string { encoding = UTF8; } s; string { } t;",
    );
    let a = int(member(&f, "a"));
    assert_eq!(
        (a.align, a.signed, a.base, a.encoding),
        (1, false, DisplayBase::Decimal, Encoding::None)
    );
    assert_eq!(int(member(&f, "b")).align, 8);
    let c = int(member(&f, "c"));
    assert_eq!(
        (c.signed, c.base, c.encoding, c.align),
        (true, DisplayBase::Hexadecimal, Encoding::Utf8, 32)
    );
    let d = int(member(&f, "d"));
    assert_eq!((d.base, d.encoding), (DisplayBase::Octal, Encoding::Ascii));
    assert_eq!(int(member(&f, "e")).base, DisplayBase::Binary);
    assert_eq!(
        member(&f, "s"),
        &FieldType::String(StringType {
            encoding: Encoding::Utf8
        })
    );
    assert_eq!(member(&f, "t"), &FieldType::String(StringType::default()));
}

#[test]
fn invalid_scalar_types() {
    for (ty, what) in [
        ("integer { size = 0; }", "1 to 64"),
        ("integer { size = 65; }", "1 to 64"),
        ("integer { align = 8; }", "no `size`"),
        ("integer { size = 8; align = 3; }", "power of two"),
        ("integer { size = 8; size = 8; }", "duplicate"),
        ("integer { size = 8; byte_order = middle; }", "byte order"),
        ("integer { size = 8; base = 7; }", "base"),
        ("integer { size = 8; encoding = EBCDIC; }", "encoding"),
        (
            "integer { size = 8; map = clock.nope.value; }",
            "unknown clock",
        ),
        ("integer { size = 8; map = nope; }", "clock.NAME.value"),
        (
            "floating_point { exp_dig = 5; mant_dig = 11; }",
            "floating point",
        ),
        ("string { encoding = 3; }", "encoding"),
    ] {
        let e = parse_err(&doc(&format!(
            "event {{ name = e; fields := struct {{ {ty} x; }}; }};"
        )));
        assert!(e.message.contains(what), "{ty}: {e}");
        assert_eq!(e.line, 5, "{ty}: {e}");
    }
}

#[test]
fn clock_mapping_and_attributes() {
    let m = parse(&doc(
        "clock { name = c; freq = 1000; offset_s = -5; offset = 9223372036854775807; precision = 3; absolute = TRUE; uuid = \"00112233-4455-6677-8899-aabbccddeeff\"; unknown = 1; };\n\
         clock { name = \"d\"; absolute = 1; };\n\
         event { name = e; fields := struct { integer { size = 64; map = clock.c.value; } ts; }; };",
    ))
    .expect("document");
    let c = m.clock("c").expect("c");
    assert_eq!(
        (c.freq, c.offset_s, c.offset, c.precision, c.absolute),
        (1000, -5, i64::MAX, 3, true)
    );
    assert_eq!(c.uuid.map(|u| u[15]), Some(0xff));
    assert!(m.clock("d").expect("d").absolute);
    let ts = int(member(m.events[0].fields.as_ref().expect("fields"), "ts"));
    assert_eq!(ts.clock.as_deref(), Some("c"));
    for (block, what) in [
        ("clock { freq = 1; };", "no `name`"),
        (
            "clock { name = a; }; clock { name = a; };",
            "duplicate clock",
        ),
        ("clock { name = a; freq = 0; };", "freq"),
        (
            "clock { name = a; offset = 9223372036854775808; };",
            "signed 64-bit",
        ),
        ("clock { name = a; uuid = \"zz\"; };", "UUID"),
        ("clock { name = a; absolute = maybe; };", "boolean"),
    ] {
        let e = parse_err(&doc(block));
        assert!(e.message.contains(what), "{block}: {e}");
    }
}

#[test]
fn env_values() {
    let m = parse(&doc(
        "env { s = \"tab\\there\"; n = -42; big = 18446744073709551615; ident = ignored; s = \"again\"; };",
    ))
    .expect("document");
    assert_eq!(m.env_str("s"), Some("again"));
    assert_eq!(m.env("n"), Some(&EnvValue::Int(-42)));
    assert_eq!(
        m.env("big"),
        Some(&EnvValue::Int(-1)),
        "wraps like babeltrace's int64_t"
    );
    assert_eq!(m.env("ident"), None);
    assert_eq!(m.env.len(), 3);
}

#[test]
fn streams_and_events() {
    let m = parse(&doc(
        "struct hdr { uint8_t id; };\n\
         typealias struct { uint8_t x; } := ctx_t;\n\
         stream { id = 3; event.header := struct hdr; event.context := ctx_t; packet.context := struct { uint8_t p; }; whatever := struct {}; };\n\
         event { name = \"a:b\"; id = 7; stream_id = 3; loglevel = -1; model.emf.uri = \"http://x\"; context := struct { uint8_t c; }; };\n\
         callsite { name = \"a:b\"; func = \"main\"; file = \"x.c\"; line = 12; ip = 0x1234; };",
    ))
    .expect("document");
    let s = &m.streams[0];
    assert_eq!(s.id, 3);
    assert_eq!(names(s.event_header.as_ref().expect("header")), ["id"]);
    assert_eq!(names(s.event_context.as_ref().expect("context")), ["x"]);
    let e = &m.events[0];
    assert_eq!(
        (e.name.as_str(), e.id, e.stream_id, e.loglevel),
        ("a:b", 7, Some(3), Some(-1))
    );
    assert_eq!(e.emf_uri.as_deref(), Some("http://x"));
    assert!(e.fields.is_none());
    assert_eq!(names(e.context.as_ref().expect("context")), ["c"]);

    for (body, what) in [
        (
            "stream { id = 1; }; stream { id = 1; };",
            "duplicate stream",
        ),
        (
            "event { name = a; }; event { name = b; };",
            "duplicate event id",
        ),
        ("event { id = 1; };", "no `name`"),
        (
            "event { name = a; fields := uint8_t; };",
            "must be a struct",
        ),
        (
            "event { name = a; fields := struct {}; fields := struct {}; };",
            "duplicate `fields`",
        ),
        (
            "stream { event.header := integer { size = 8; }; };",
            "must be a struct",
        ),
        (
            "event { name = a; fields := struct { uint8_t x; uint8_t x; }; };",
            "duplicate field `x`",
        ),
        (
            "event { name = a; fields := struct { uint8_t string; }; };",
            "reserved keyword",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; };",
            "duplicate `trace`",
        ),
        ("foo { };", "unknown type `foo`"),
    ] {
        let e = parse_err(&doc(body));
        assert!(e.message.contains(what), "{body}: {e}");
    }
}

#[test]
fn trace_block_requirements() {
    let e = parse_err("typealias integer { size = 8; } := u8;");
    assert!(e.message.contains("no `trace` block"), "{e}");
    assert_eq!(e.line, 1);
    for (trace, what) in [
        ("trace { major = 1; minor = 8; };", "no `byte_order`"),
        ("trace { minor = 8; byte_order = le; };", "no `major`"),
        (
            "trace { major = 1; minor = 7; byte_order = le; };",
            "must be 8",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = native; };",
            "native",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; uuid = \"x\"; };",
            "UUID",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; packet.header := string; };",
            "struct",
        ),
    ] {
        let e = parse_err(trace);
        assert!(e.message.contains(what), "{trace}: {e}");
    }
}

#[test]
fn sequence_lengths_and_variant_tags_are_checked() {
    let ok = event_fields(
        "uint8_t n; struct { uint8_t m; uint8_t inner[n]; uint8_t mine[m]; } s; uint8_t t[s.m];",
    );
    assert_eq!(names(&ok), ["n", "s", "t"]);
    let m = parse(&doc(
        "stream { event.header := struct { enum : uint8_t { A, B } id; uint8_t len; }; };\n\
         event { name = e; fields := struct { uint8_t a[stream.event.header.len]; variant <stream.event.header.id> { uint8_t A; string B; } v; uint8_t b[event.fields.a]; uint8_t c[env.n]; }; };",
    ));
    assert!(m.is_err(), "`event.fields.a` is an array");
    parse(&doc(
        "stream { event.header := struct { enum : uint8_t { A, B } id; uint8_t len; }; };\n\
         event { name = e; fields := struct { uint8_t a[stream.event.header.len]; variant <stream.event.header.id> { uint8_t A; string B; } v; uint8_t c[env.n]; }; };",
    ))
    .expect("absolute references");
    for (fields, what) in [
        ("uint8_t a[nope];", "does not name a field"),
        ("uint8_t a[b]; uint8_t b;", "declared after"),
        ("struct { uint8_t a[s]; } s;", "containing it"),
        ("string n; uint8_t a[n];", "names a string"),
        (
            "integer { size = 8; signed = true; } n; uint8_t a[n];",
            "signed integer",
        ),
        ("uint8_t t; variant <t> { uint8_t x; } v;", "not an enum"),
        ("uint8_t a[event.fields.nope];", "does not name"),
        (
            "uint8_t a[stream.packet.context.n];",
            "scope that does not exist",
        ),
    ] {
        let e = parse_err(&doc(&format!(
            "event {{ name = e; fields := struct {{ {fields} }}; }};"
        )));
        assert!(e.message.contains(what), "{fields}: {e}");
        assert_eq!((e.line, e.column), (5, 19), "{fields}: {e}");
    }
    let e = parse_err(&doc(
        "stream { packet.context := struct { uint8_t a[event.fields.x]; }; };",
    ));
    assert!(e.message.contains("decoded later"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    for (body, line, column, what) in [
        (
            "event { name = e; fields := struct { uint8_t x }; };",
            5,
            48,
            "`;` after field `x`",
        ),
        (
            "event { name = e; fields := struct { uint8_t x[4; }; };",
            5,
            49,
            "`]`",
        ),
        ("event { name = e }", 5, 18, "`;` after the value of `name`"),
        ("event { name = e;", 6, 1, "end of metadata"),
        ("event { name = \"e; };", 5, 16, "unterminated string"),
        (
            "event { name = e; fields := struct { uint8_t x[-1]; }; };",
            5,
            48,
            "negative",
        ),
        ("event { name = @; };", 5, 16, "unexpected character '@'"),
    ] {
        let e = parse_err(&doc(body));
        assert_eq!((e.line, e.column), (line, column), "{body}: {e}");
        assert!(e.message.contains(what), "{body}: {e}");
    }
}

#[test]
fn text_metadata_must_be_utf8_and_say_ctf_1_8() {
    let mut bytes = doc("").into_bytes();
    bytes.insert(20, 0xFF);
    let e = read_metadata(&bytes).unwrap_err();
    assert_eq!((e.line, e.offset), (0, Some(20)));
    let e = read_metadata(doc("").replace("CTF 1.8", "CTF 1.9").as_bytes()).unwrap_err();
    assert!(e.message.contains("1.9"), "{e}");
    assert!(read_metadata(doc("").replace("/* CTF 1.8 */", "").as_bytes()).is_ok());
}

// ------------------------------------------------ hostile input, limits

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "event {{ name = e; fields := {}{}; }};",
        "struct { ".repeat(10_000),
        "} x; ".repeat(10_000)
    );
    let e = parse_err(&doc(&deep));
    assert!(e.message.contains("nesting deeper"), "{e}");

    let mut aliases = String::from("typealias struct { uint8_t a; } := t0;\n");
    for i in 1..200 {
        aliases.push_str(&format!("typealias struct {{ t{} a; }} := t{i};\n", i - 1));
    }
    let e = parse_err(&doc(&aliases));
    assert!(e.message.contains("nested deeper"), "{e}");

    let brackets = format!(
        "event {{ name = e; fields := struct {{ uint8_t a{}; }}; }};",
        "[1]".repeat(100)
    );
    assert!(parse_err(&doc(&brackets)).message.contains("nested deeper"));
}

#[test]
fn exponential_typealiases_hit_the_budget() {
    let mut aliases = String::from("typealias struct { uint8_t a; uint8_t b; } := t0;\n");
    for i in 1..60 {
        aliases.push_str(&format!(
            "typealias struct {{ t{0} a; t{0} b; }} := t{i};\n",
            i - 1
        ));
    }
    let start = std::time::Instant::now();
    let e = parse_err(&doc(&aliases));
    assert!(e.message.contains("too many"), "{e}");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn truncated_and_mutated_metadata_never_panics() {
    let text = std::fs::read_to_string(fixtures().join("lttng/basic.metadata.tsdl.txt"))
        .expect("basic metadata text");
    let mut boundaries: Vec<usize> = (0..text.len()).step_by(13).collect();
    boundaries.push(text.len());
    for end in boundaries {
        if text.is_char_boundary(end) {
            let _ = parse(&text[..end]);
        }
    }
    let bytes = text.as_bytes();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..200 {
        let mut mutated = bytes.to_vec();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % mutated.len() as u64) as usize;
            let alphabet = b"{}[]();:=<>.,\"'/*-+x09 \n\\\0";
            mutated[at] = alphabet[(seed >> 32) as usize % alphabet.len()];
        }
        let _ = read_metadata(&mutated);
    }
}

#[test]
fn large_metadata_parses_fast() {
    let text = std::fs::read_to_string(fixtures().join("lttng/basic.metadata.tsdl.txt"))
        .expect("basic metadata text");
    let start = text.find("event {").expect("an event");
    let end = text[start..]
        .find("\n};\n")
        .map(|e| start + e + 4)
        .expect("event end");
    let event = &text[start..end];
    let mut big = text[..start].to_string();
    let mut id = 100;
    while big.len() < 1 << 20 {
        big.push_str(&event.replace("id = 0;", &format!("id = {id};")));
        id += 1;
    }
    let t0 = std::time::Instant::now();
    let m = parse(&big).expect("big metadata");
    let took = t0.elapsed();
    assert_eq!(m.events.len(), id - 100);
    // Well under 100 ms in release builds; debug builds are ~10x slower.
    let limit = if cfg!(debug_assertions) { 3000 } else { 100 };
    assert!(took.as_millis() < limit, "1 MB parsed in {took:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_metadata(&bytes);
        }

        #[test]
        fn arbitrary_tsdl_tokens_never_panic(words in proptest::collection::vec(
            prop::sample::select(vec![
                "struct", "variant", "enum", "integer", "{", "}", "[", "]", "<", ">", ";", ":", ":=",
                "=", ",", "...", "x", "y", "size", "8", "-1", "\"s\"", "trace", "event", "typealias",
                "typedef", "uint8_t", "align", "(", ")", "fields", ".", "byte_order", "le",
            ]),
            0..64,
        )) {
            let text = format!("typealias integer {{ size = 8; }} := uint8_t; {}", words.join(" "));
            let _ = parse(&text);
        }
    }
}
