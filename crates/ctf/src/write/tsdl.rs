//! Printing a metadata model as TSDL text.
//!
//! Every type is printed inline with every attribute explicit (no
//! typealiases, no `native` byte order), so the text means the same thing to
//! any reader whatever its defaults: parsing it gives back the model.

use std::fmt::Write as _;

use crate::metadata::{
    ByteOrder, Clock, DisplayBase, Encoding, EnumType, EnvValue, EventClass, FieldRef, FieldType,
    FloatType, IntType, Member, Metadata, StreamClass, StructType, TraceBlock, VariantType,
};

/// Prints `metadata` as TSDL: `/* CTF 1.8 */`, then the trace, env, clock,
/// stream and event blocks in that order (LTTng's order, which babeltrace2
/// expects: clocks before the types mapping to them are used in events).
pub fn to_tsdl(metadata: &Metadata) -> String {
    let mut p = Printer {
        out: String::with_capacity(4096),
    };
    p.out.push_str("/* CTF 1.8 */\n\n");
    p.trace(&metadata.trace);
    if !metadata.env.is_empty() {
        p.env(&metadata.env);
    }
    for clock in &metadata.clocks {
        p.clock(clock);
    }
    // A lone stream class may leave its id implicit (0); babeltrace2
    // complains about an explicit id when the packet header has no
    // `stream_id` to select it, so print it only when it carries meaning.
    let has_stream_id = metadata
        .trace
        .packet_header
        .as_ref()
        .is_some_and(|h| h.member("stream_id").is_some());
    let implicit_id = metadata.streams.len() == 1 && !has_stream_id;
    for stream in &metadata.streams {
        p.stream(stream, !(implicit_id && stream.id == 0));
    }
    for event in &metadata.events {
        p.event(event);
    }
    p.out
}

/// Formats a UUID the way TSDL writes it: 8-4-4-4-12 lowercase hex.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `text` as a TSDL string literal: quoted, with C escapes for quotes,
/// backslashes and control characters (other text passes through as UTF-8).
pub fn quote(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(s, "\\{:03o}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

struct Printer {
    out: String,
}

fn order_name(order: ByteOrder) -> &'static str {
    match order {
        ByteOrder::Little => "le",
        ByteOrder::Big => "be",
    }
}

fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::None => "none",
        Encoding::Utf8 => "UTF8",
        Encoding::Ascii => "ASCII",
    }
}

fn base_value(base: DisplayBase) -> u32 {
    match base {
        DisplayBase::Binary => 2,
        DisplayBase::Octal => 8,
        DisplayBase::Decimal => 10,
        DisplayBase::Hexadecimal => 16,
    }
}

fn path(r: &FieldRef) -> String {
    r.0.join(".")
}

impl Printer {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push('\t');
        }
    }

    fn trace(&mut self, t: &TraceBlock) {
        self.out.push_str("trace {\n");
        if let Some(major) = t.major {
            let _ = writeln!(self.out, "\tmajor = {major};");
        }
        if let Some(minor) = t.minor {
            let _ = writeln!(self.out, "\tminor = {minor};");
        }
        if let Some(uuid) = &t.uuid {
            let _ = writeln!(self.out, "\tuuid = \"{}\";", format_uuid(uuid));
        }
        let _ = writeln!(self.out, "\tbyte_order = {};", order_name(t.byte_order));
        if let Some(header) = &t.packet_header {
            self.scope("packet.header", header);
        }
        self.out.push_str("};\n\n");
    }

    fn env(&mut self, env: &[(String, EnvValue)]) {
        self.out.push_str("env {\n");
        for (key, value) in env {
            match value {
                EnvValue::Int(v) => {
                    let _ = writeln!(self.out, "\t{key} = {v};");
                }
                EnvValue::Str(s) => {
                    let _ = writeln!(self.out, "\t{key} = {};", quote(s));
                }
            }
        }
        self.out.push_str("};\n\n");
    }

    fn clock(&mut self, c: &Clock) {
        self.out.push_str("clock {\n");
        let _ = writeln!(self.out, "\tname = {};", quote(&c.name));
        if let Some(uuid) = &c.uuid {
            let _ = writeln!(self.out, "\tuuid = \"{}\";", format_uuid(uuid));
        }
        if let Some(d) = &c.description {
            let _ = writeln!(self.out, "\tdescription = {};", quote(d));
        }
        let _ = writeln!(self.out, "\tfreq = {};", c.freq);
        let _ = writeln!(self.out, "\tprecision = {};", c.precision);
        let _ = writeln!(self.out, "\toffset_s = {};", c.offset_s);
        let _ = writeln!(self.out, "\toffset = {};", c.offset);
        let _ = writeln!(self.out, "\tabsolute = {};", c.absolute);
        self.out.push_str("};\n\n");
    }

    fn stream(&mut self, s: &StreamClass, print_id: bool) {
        self.out.push_str("stream {\n");
        if print_id {
            let _ = writeln!(self.out, "\tid = {};", s.id);
        }
        if let Some(t) = &s.event_header {
            self.scope("event.header", t);
        }
        if let Some(t) = &s.packet_context {
            self.scope("packet.context", t);
        }
        if let Some(t) = &s.event_context {
            self.scope("event.context", t);
        }
        self.out.push_str("};\n\n");
    }

    fn event(&mut self, e: &EventClass) {
        self.out.push_str("event {\n");
        let _ = writeln!(self.out, "\tname = {};", quote(&e.name));
        let _ = writeln!(self.out, "\tid = {};", e.id);
        if let Some(sid) = e.stream_id {
            let _ = writeln!(self.out, "\tstream_id = {sid};");
        }
        if let Some(level) = e.loglevel {
            let _ = writeln!(self.out, "\tloglevel = {level};");
        }
        if let Some(uri) = &e.emf_uri {
            let _ = writeln!(self.out, "\tmodel.emf.uri = {};", quote(uri));
        }
        if let Some(t) = &e.context {
            self.scope("context", t);
        }
        if let Some(t) = &e.fields {
            self.scope("fields", t);
        }
        self.out.push_str("};\n\n");
    }

    /// `\tNAME := struct { ... };` inside a top-level block.
    fn scope(&mut self, name: &str, st: &StructType) {
        let _ = write!(self.out, "\t{name} := ");
        self.struct_spec(st, 1);
        self.out.push_str(";\n");
    }

    /// A member declaration `TYPE name[..][..];` on its own line. Arrays and
    /// sequences are C declarators: the outermost length comes first, so
    /// `name[2][3]` is two arrays of three.
    fn member(&mut self, m: &Member, depth: usize) {
        self.indent(depth);
        let mut ty = &m.ty;
        let mut suffix = String::new();
        loop {
            match ty {
                FieldType::Array(a) => {
                    let _ = write!(suffix, "[{}]", a.length);
                    ty = &a.element;
                }
                FieldType::Sequence(s) => {
                    let _ = write!(suffix, "[{}]", path(&s.length));
                    ty = &s.element;
                }
                _ => break,
            }
        }
        self.type_spec(ty, depth);
        let _ = writeln!(self.out, " {}{suffix};", m.name);
    }

    /// The type specifier of a non-array type, opening at the current
    /// column; nested lines are indented one level deeper than `depth`.
    fn type_spec(&mut self, ty: &FieldType, depth: usize) {
        match ty {
            FieldType::Int(t) => self.int_spec(t),
            FieldType::Float(t) => self.float_spec(t),
            FieldType::String(t) => {
                let _ = write!(
                    self.out,
                    "string {{ encoding = {}; }}",
                    encoding_name(t.encoding)
                );
            }
            FieldType::Enum(t) => self.enum_spec(t, depth),
            FieldType::Struct(t) => self.struct_spec(t, depth),
            FieldType::Variant(t) => self.variant_spec(t, depth),
            FieldType::Array(_) | FieldType::Sequence(_) => {
                // member() peels arrays and sequences into declarator
                // suffixes before printing the element type.
                unreachable!("arrays are printed as declarators")
            }
        }
    }

    fn int_spec(&mut self, t: &IntType) {
        let _ = write!(
            self.out,
            "integer {{ size = {}; align = {}; signed = {}; encoding = {}; base = {}; byte_order = {};",
            t.size,
            t.align,
            t.signed,
            encoding_name(t.encoding),
            base_value(t.base),
            order_name(t.byte_order),
        );
        if let Some(clock) = &t.clock {
            let _ = write!(self.out, " map = clock.{clock}.value;");
        }
        self.out.push_str(" }");
    }

    fn float_spec(&mut self, t: &FloatType) {
        let _ = write!(
            self.out,
            "floating_point {{ exp_dig = {}; mant_dig = {}; align = {}; byte_order = {}; }}",
            t.exp_dig,
            t.mant_dig,
            t.align,
            order_name(t.byte_order),
        );
    }

    fn enum_spec(&mut self, t: &EnumType, depth: usize) {
        self.out.push_str("enum : ");
        self.int_spec(&t.container);
        self.out.push_str(" {\n");
        for m in &t.mappings {
            let label = quote(&m.label);
            for &(lo, hi) in &m.ranges {
                self.indent(depth + 1);
                if lo == hi {
                    let _ = writeln!(self.out, "{label} = {lo},");
                } else {
                    let _ = writeln!(self.out, "{label} = {lo} ... {hi},");
                }
            }
        }
        self.indent(depth);
        self.out.push('}');
    }

    fn struct_spec(&mut self, t: &StructType, depth: usize) {
        self.out.push_str("struct {\n");
        for m in &t.members {
            self.member(m, depth + 1);
        }
        self.indent(depth);
        self.out.push('}');
        if t.min_align > 1 {
            let _ = write!(self.out, " align({})", t.min_align);
        }
    }

    fn variant_spec(&mut self, t: &VariantType, depth: usize) {
        let _ = writeln!(self.out, "variant <{}> {{", path(&t.tag));
        for m in &t.options {
            self.member(m, depth + 1);
        }
        self.indent(depth);
        self.out.push('}');
    }
}
