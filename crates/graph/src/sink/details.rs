//! `sink.text.details`: babeltrace2 2.0's exhaustive, deterministic dump of
//! every message, used to compare graphs byte for byte. The first message
//! of a trace also prints its trace class (stream classes, clock, field
//! classes, event classes); then each message is a block of indented
//! `Property: value` lines, numbers with digit separators (`1,795,692,113`,
//! `0xdea2:fcaf`), strings raw.
//!
//! The output never has colors: babeltrace2 colors it only on a terminal,
//! and this sink exists for comparisons.

use std::io::Write;
use std::sync::Arc;

use ltt_ctf::decode::Slot;
use ltt_ctf::layout::{Layout, Length, Node, NodeId};
use ltt_ctf::metadata::{DisplayBase, EnvValue, FieldType, StreamClass};

use crate::clock::ClockClass;
use crate::ir::FieldClass;
use crate::message::{Discarded, EventView, Message, MessageKind, StreamInfo, TraceInfo};
use crate::sink::Sink;
use crate::Error;

/// The component's parameters, with babeltrace2's defaults.
#[derive(Debug, Clone)]
pub struct DetailsOptions {
    /// Accepted for parameter compatibility; the output is never colored.
    pub color: bool,
    /// One line per message, no metadata-style blocks.
    pub compact: bool,
    /// Print trace, stream and event classes the first time they appear.
    pub with_metadata: bool,
    /// Print the messages themselves (off: only the classes).
    pub with_data: bool,
    /// Print clock snapshots.
    pub with_time: bool,
    pub with_trace_name: bool,
    /// CTF 1.8 stream classes have no names, so this changes nothing.
    pub with_stream_class_name: bool,
    /// Print a stream's name (its first data file's absolute path).
    pub with_stream_name: bool,
    /// Print trace and clock class UUIDs.
    pub with_uuid: bool,
}

impl Default for DetailsOptions {
    fn default() -> Self {
        DetailsOptions {
            color: false,
            compact: false,
            with_metadata: true,
            with_data: true,
            with_time: true,
            with_trace_name: true,
            with_stream_class_name: true,
            with_stream_name: true,
            with_uuid: true,
        }
    }
}

/// The stream class properties babeltrace2's CTF source derives from the
/// packet context (see `ctf-meta-update-stream-class-config.c`).
#[derive(Debug, Clone, Copy, Default)]
struct StreamConfig {
    packets_begin_cs: bool,
    packets_end_cs: bool,
    discarded_events: bool,
    discarded_events_cs: bool,
    discarded_packets: bool,
    discarded_packets_cs: bool,
}

impl StreamConfig {
    fn new(sc: &StreamClass, has_clock: bool) -> Self {
        let has = |name: &str| {
            sc.packet_context.as_ref().is_some_and(|pc| {
                pc.member(name)
                    .is_some_and(|m| matches!(m.ty, FieldType::Int(_) | FieldType::Enum(_)))
            })
        };
        // Clock snapshots need a clock class: without one the times cannot
        // be expressed, whatever the packet context holds.
        let begin = has("timestamp_begin") && has_clock;
        let end = has("timestamp_end") && has_clock;
        let discarded_events = has("events_discarded");
        let discarded_packets = has("packet_seq_num");
        StreamConfig {
            packets_begin_cs: begin,
            packets_end_cs: end,
            discarded_events,
            discarded_events_cs: discarded_events && begin && end,
            discarded_packets,
            discarded_packets_cs: discarded_packets && begin && end,
        }
    }
}

/// What the sink remembers about a trace it has seen.
struct TraceState {
    trace: Arc<TraceInfo>,
    /// The number in follow tags (`{Trace 0, …}`), given in order of first
    /// appearance.
    unique_id: Option<u64>,
    class_written: bool,
    /// (stream id, stream class id) of every known stream of the trace.
    streams: Vec<(u64, u64)>,
    /// By stream class index (as `trace.compiled.streams`).
    configs: Vec<StreamConfig>,
}

/// Root scope of a field path, as babeltrace2 names it.
#[derive(Debug, Clone, Copy)]
enum RootScope {
    PacketContext,
    CommonContext,
    SpecificContext,
    Payload,
}

impl RootScope {
    fn label(self) -> &'static str {
        match self {
            RootScope::PacketContext => "Packet context",
            RootScope::CommonContext => "Event common context",
            RootScope::SpecificContext => "Event specific context",
            RootScope::Payload => "Event payload",
        }
    }
}

/// One step of a field path: a member/option index, or "the current
/// element" of an array.
#[derive(Debug, Clone, Copy)]
enum PathItem {
    Index(u64),
    Current,
}

/// Where the integer saved in a decoder register lives in the IR: the
/// length field of a sequence or the selector of a variant.
#[derive(Debug, Clone)]
struct FieldPath {
    register: u16,
    scope: RootScope,
    items: Vec<PathItem>,
}

/// The details sink.
pub struct Details<W: Write> {
    out: W,
    opts: DetailsOptions,
    /// The current message's text (babeltrace2 builds a message's block
    /// before writing it, to know whether to separate it from the last).
    buf: Vec<u8>,
    indent: usize,
    printed_something: bool,
    traces: Vec<TraceState>,
    next_trace_id: u64,
}

impl<W: Write> Details<W> {
    pub fn new(out: W, opts: DetailsOptions) -> Self {
        Details {
            out,
            opts,
            buf: Vec::with_capacity(8192),
            indent: 0,
            printed_something: false,
            traces: Vec::new(),
            next_trace_id: 0,
        }
    }

    /// Declares a stream the trace's [`TraceInfo::streams`] does not list
    /// (a trace's "Stream beginning" block lists every stream of the
    /// trace). Unlisted streams are added as their stream beginning arrives.
    pub fn register_stream(&mut self, stream: &StreamInfo) {
        let t = self.state(&stream.trace);
        let key = (stream.id, stream.class_id);
        let streams = &mut self.traces[t].streams;
        if !streams.contains(&key) {
            streams.push(key);
        }
    }

    /// The writer, e.g. to read back a `Vec<u8>`.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn state(&mut self, trace: &Arc<TraceInfo>) -> usize {
        if let Some(i) = self
            .traces
            .iter()
            .position(|t| Arc::ptr_eq(&t.trace, trace))
        {
            return i;
        }
        let configs = trace
            .compiled
            .streams
            .iter()
            .map(|cs| {
                StreamConfig::new(
                    &trace.compiled.metadata.streams[cs.class],
                    cs.clock.is_some(),
                )
            })
            .collect();
        self.traces.push(TraceState {
            trace: Arc::clone(trace),
            unique_id: None,
            class_written: false,
            streams: trace.streams.clone(),
            configs,
        });
        self.traces.len() - 1
    }

    // ---- low-level writing ----

    #[inline]
    fn s(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    #[inline]
    fn nl(&mut self) {
        self.buf.push(b'\n');
    }

    #[inline]
    fn write_indent(&mut self) {
        self.buf.resize(self.buf.len() + self.indent, b' ');
    }

    #[inline]
    fn uint(&mut self, v: u64) {
        push_uint(&mut self.buf, v, DisplayBase::Decimal);
    }

    #[inline]
    fn int(&mut self, v: i64) {
        push_int(&mut self.buf, v, DisplayBase::Decimal);
    }

    /// `NAME:` on its own indented line start.
    fn name_colon(&mut self, name: &str) {
        self.write_indent();
        self.s(name);
        self.buf.push(b':');
    }

    fn str_prop_line(&mut self, name: &str, value: &str) {
        self.name_colon(name);
        self.buf.push(b' ');
        self.s(value);
        self.nl();
    }

    fn uint_prop_line(&mut self, name: &str, value: u64) {
        self.name_colon(name);
        self.buf.push(b' ');
        self.uint(value);
        self.nl();
    }

    fn bool_prop_line(&mut self, name: &str, value: bool) {
        self.name_colon(name);
        self.s(if value { " Yes\n" } else { " No\n" });
    }

    fn uuid_prop_line(&mut self, name: &str, uuid: &[u8; 16]) {
        self.name_colon(name);
        self.buf.push(b' ');
        push_uuid(&mut self.buf, uuid);
        self.nl();
    }

    // ---- metadata ----

    /// Writes the trace class the first time the trace shows up.
    fn try_write_meta(&mut self, t: usize, trace: &TraceInfo) {
        if !self.opts.with_metadata || self.traces[t].class_written {
            return;
        }
        if self.opts.compact && self.printed_something {
            // No blank lines between compact messages: set the class apart.
            self.nl();
        }
        self.write_trace_class(trace);
        self.traces[t].class_written = true;
    }

    fn write_trace_class(&mut self, trace: &TraceInfo) {
        self.write_indent();
        self.s("Trace class");
        let mut order: Vec<usize> = (0..trace.compiled.streams.len()).collect();
        order.sort_by_key(|&i| trace.compiled.streams[i].id);
        if !order.is_empty() {
            self.s(":\n");
        }
        self.indent += 2;
        for i in order {
            self.write_stream_class(trace, i);
        }
        if trace.compiled.streams.is_empty() {
            self.nl();
        }
        self.indent -= 2;
    }

    fn write_stream_class(&mut self, trace: &TraceInfo, index: usize) {
        let cs = &trace.compiled.streams[index];
        let layout = &trace.compiled.layout;
        let ir = &trace.ir[index];
        let clock = cs.clock.map(|c| &trace.clocks[c]);
        let cfg = StreamConfig::new(&trace.compiled.metadata.streams[cs.class], clock.is_some());
        self.write_indent();
        self.s("Stream class (ID ");
        self.uint(cs.id);
        self.s("):\n");
        self.indent += 2;
        self.bool_prop_line("Supports packets", true);
        self.bool_prop_line(
            "Packets have beginning default clock snapshot",
            cfg.packets_begin_cs,
        );
        self.bool_prop_line(
            "Packets have end default clock snapshot",
            cfg.packets_end_cs,
        );
        self.bool_prop_line("Supports discarded events", cfg.discarded_events);
        if cfg.discarded_events {
            self.bool_prop_line(
                "Discarded events have default clock snapshots",
                cfg.discarded_events_cs,
            );
        }
        self.bool_prop_line("Supports discarded packets", cfg.discarded_packets);
        if cfg.discarded_packets {
            self.bool_prop_line(
                "Discarded packets have default clock snapshots",
                cfg.discarded_packets_cs,
            );
        }
        if let Some(c) = clock {
            self.name_colon("Default clock class");
            self.nl();
            self.indent += 2;
            self.write_clock_class(c);
            self.indent -= 2;
        }

        let mut paths = Vec::new();
        let roots = [
            (
                RootScope::PacketContext,
                ir.packet_context.as_ref(),
                cs.packet_context,
            ),
            (
                RootScope::CommonContext,
                ir.common_context.as_ref(),
                cs.event_context,
            ),
        ];
        for (scope, fc, node) in roots {
            if let (Some(fc), Some(node)) = (fc, node) {
                collect_paths(layout, fc, node.node, scope, &mut Vec::new(), &mut paths);
            }
        }
        if let (Some(fc), Some(node)) = (&ir.packet_context, cs.packet_context.map(|r| r.node)) {
            self.write_root_field_class("Packet context field class", layout, fc, node, &paths);
        }
        if let (Some(fc), Some(node)) = (&ir.common_context, cs.event_context.map(|r| r.node)) {
            self.write_root_field_class(
                "Event common context field class",
                layout,
                fc,
                node,
                &paths,
            );
        }

        let stream_paths = paths.len();
        let mut events: Vec<usize> = (0..cs.events.len()).collect();
        let meta = &trace.compiled.metadata;
        events.sort_by_key(|&e| meta.events[cs.events[e].class].id);
        for e in events {
            let ce = &cs.events[e];
            let ec = &meta.events[ce.class];
            let eir = &ir.events[e];
            paths.truncate(stream_paths);
            let roots = [
                (
                    RootScope::SpecificContext,
                    eir.specific_context.as_ref(),
                    ce.context,
                ),
                (RootScope::Payload, eir.payload.as_ref(), ce.fields),
            ];
            for (scope, fc, node) in roots {
                if let (Some(fc), Some(node)) = (fc, node) {
                    collect_paths(layout, fc, node.node, scope, &mut Vec::new(), &mut paths);
                }
            }
            self.write_indent();
            self.s("Event class `");
            self.s(&ec.name);
            self.s("` (ID ");
            self.uint(ec.id);
            self.s("):\n");
            self.indent += 2;
            if let Some(level) = ec.loglevel.and_then(log_level_name) {
                self.str_prop_line("Log level", level);
            }
            if let Some(uri) = &ec.emf_uri {
                self.str_prop_line("EMF URI", uri);
            }
            if let (Some(fc), Some(node)) = (&eir.specific_context, ce.context.map(|r| r.node)) {
                self.write_root_field_class(
                    "Specific context field class",
                    layout,
                    fc,
                    node,
                    &paths,
                );
            }
            if let (Some(fc), Some(node)) = (&eir.payload, ce.fields.map(|r| r.node)) {
                self.write_root_field_class("Payload field class", layout, fc, node, &paths);
            }
            self.indent -= 2;
        }
        self.indent -= 2;
    }

    fn write_clock_class(&mut self, c: &ClockClass) {
        self.str_prop_line("Name", &c.name);
        if let Some(d) = &c.description {
            self.str_prop_line("Description", d);
        }
        self.uint_prop_line("Frequency (Hz)", c.freq);
        self.uint_prop_line("Precision (cycles)", c.precision);
        self.name_colon("Offset (s)");
        self.buf.push(b' ');
        self.int(c.offset_s);
        self.nl();
        self.uint_prop_line("Offset (cycles)", c.offset_cycles);
        self.bool_prop_line("Origin is Unix epoch", c.unix_epoch);
        if self.opts.with_uuid {
            if let Some(u) = &c.uuid {
                self.uuid_prop_line("UUID", u);
            }
        }
    }

    fn write_root_field_class(
        &mut self,
        name: &str,
        layout: &Layout,
        fc: &FieldClass,
        node: NodeId,
        paths: &[FieldPath],
    ) {
        self.name_colon(name);
        self.buf.push(b' ');
        self.write_field_class(layout, fc, node, paths);
        self.nl();
    }

    fn write_field_path(&mut self, path: &FieldPath) {
        self.buf.push(b'[');
        self.s(path.scope.label());
        self.s(": ");
        for (k, item) in path.items.iter().enumerate() {
            if k > 0 {
                self.s(", ");
            }
            match item {
                PathItem::Index(i) => self.uint(*i),
                PathItem::Current => self.s("<current>"),
            }
        }
        self.buf.push(b']');
    }

    /// A field class: its kind and one-line properties, then (indented on
    /// the following lines) members, mappings, element or options.
    fn write_field_class(
        &mut self,
        layout: &Layout,
        fc: &FieldClass,
        node: NodeId,
        paths: &[FieldPath],
    ) {
        let n = &layout.nodes[node as usize];
        match fc {
            FieldClass::Int {
                signed, size, base, ..
            } => {
                self.s(if *signed {
                    "Signed integer"
                } else {
                    "Unsigned integer"
                });
                self.write_int_props(*size, *base);
                self.buf.push(b')');
            }
            FieldClass::Enum {
                signed,
                size,
                base,
                mappings,
                ..
            } => {
                self.s(if *signed {
                    "Signed enumeration"
                } else {
                    "Unsigned enumeration"
                });
                self.write_int_props(*size, *base);
                self.s(", ");
                self.uint(mappings.len() as u64);
                self.s(if mappings.len() == 1 {
                    " mapping)"
                } else {
                    " mappings)"
                });
                self.indent += 2;
                if !mappings.is_empty() {
                    self.buf.push(b':');
                    let mut sorted: Vec<_> = mappings.iter().collect();
                    sorted.sort_by(|a, b| a.label.as_bytes().cmp(b.label.as_bytes()));
                    for m in sorted {
                        self.nl();
                        self.name_colon(&m.label);
                        self.write_ranges(m.ranges.iter().copied(), *signed);
                    }
                }
                self.indent -= 2;
            }
            FieldClass::Float { double } => {
                self.s(if *double {
                    "Double-precision real"
                } else {
                    "Single-precision real"
                });
            }
            FieldClass::String => self.s("String"),
            FieldClass::Struct { members, .. } => {
                let count = members.iter().filter(|(_, m)| !m.hidden()).count();
                self.s("Structure (");
                self.uint(count as u64);
                self.s(if count == 1 { " member)" } else { " members)" });
                self.indent += 2;
                if count > 0 {
                    self.buf.push(b':');
                    let ids: &[NodeId] = match n {
                        Node::Struct { members, .. } => members,
                        _ => &[],
                    };
                    for ((name, m), &id) in members.iter().zip(ids) {
                        if m.hidden() {
                            continue;
                        }
                        self.nl();
                        self.name_colon(name);
                        self.buf.push(b' ');
                        self.write_field_class(layout, m, id, paths);
                    }
                }
                self.indent -= 2;
            }
            FieldClass::StaticArray { len, element } => {
                self.s("Static array (Length ");
                self.uint(*len);
                self.buf.push(b')');
                self.write_element(layout, element, n, paths);
            }
            FieldClass::DynamicArray { element } => {
                let path = match n {
                    Node::Array {
                        len: Length::Register(r),
                        ..
                    } => paths.iter().find(|p| p.register == *r),
                    _ => None,
                };
                match path {
                    Some(p) => {
                        self.s("Dynamic array (with length field) (Length field path ");
                        self.write_field_path(p);
                        self.buf.push(b')');
                    }
                    None => self.s("Dynamic array (no length field)"),
                }
                self.write_element(layout, element, n, paths);
            }
            FieldClass::Variant { options } => {
                let (tag, signed, choices, ids) = match n {
                    Node::Variant {
                        tag,
                        tag_signed,
                        choices,
                        options,
                    } => (*tag, *tag_signed, choices.as_slice(), options.as_slice()),
                    _ => (u16::MAX, false, &[][..], &[][..]),
                };
                self.s(if signed {
                    "Variant (signed integer selector) ("
                } else {
                    "Variant (unsigned integer selector) ("
                });
                self.uint(options.len() as u64);
                self.s(if options.len() == 1 {
                    " option"
                } else {
                    " options"
                });
                if let Some(p) = paths.iter().find(|p| p.register == tag) {
                    self.s(", Selector field path ");
                    self.write_field_path(p);
                }
                self.buf.push(b')');
                self.indent += 2;
                if !options.is_empty() {
                    self.buf.push(b':');
                    for (k, ((name, o), &id)) in options.iter().zip(ids).enumerate() {
                        self.nl();
                        self.name_colon(name);
                        let ranges = choices
                            .iter()
                            .filter(|c| c.2 as usize == k)
                            .map(|&(lo, hi, _)| (lo, hi));
                        self.write_ranges(ranges, signed);
                        self.s(": ");
                        self.write_field_class(layout, o, id, paths);
                    }
                }
                self.indent -= 2;
            }
        }
    }

    fn write_int_props(&mut self, size: u32, base: DisplayBase) {
        self.s(" (");
        push_u64(&mut self.buf, size as u64);
        self.s("-bit, Base ");
        self.uint(match base {
            DisplayBase::Binary => 2,
            DisplayBase::Octal => 8,
            DisplayBase::Decimal => 10,
            DisplayBase::Hexadecimal => 16,
        });
    }

    fn write_element(
        &mut self,
        layout: &Layout,
        element: &FieldClass,
        n: &Node,
        paths: &[FieldPath],
    ) {
        self.indent += 2;
        self.s(":\n");
        self.name_colon("Element");
        self.buf.push(b' ');
        // The IR has arrays only where the layout has array nodes.
        if let Node::Array { element: id, .. } = n {
            self.write_field_class(layout, element, *id, paths);
        }
        self.indent -= 2;
    }

    /// ` [LO, HI]` per range, sorted; babeltrace2 prints unsigned bounds
    /// through a signed conversion, so values past `i64::MAX` show negative.
    fn write_ranges(&mut self, ranges: impl Iterator<Item = (i128, i128)>, signed: bool) {
        let mut sorted: Vec<(i64, i64)> = ranges.map(|(lo, hi)| (lo as i64, hi as i64)).collect();
        if signed {
            sorted.sort_unstable();
        } else {
            sorted.sort_unstable_by_key(|&(lo, hi)| (lo as u64, hi as u64));
        }
        for (lo, hi) in sorted {
            self.s(" [");
            self.int(lo);
            if lo != hi {
                self.s(", ");
                self.int(hi);
            }
            self.buf.push(b']');
        }
    }

    // ---- data ----

    fn write_time(&mut self, cycles: Option<u64>, clock: Option<&ClockClass>) {
        if !self.opts.with_time {
            return;
        }
        let Some(cycles) = cycles else {
            self.write_time_str("Unknown");
            return;
        };
        let compact = self.opts.compact;
        self.buf.push(b'[');
        self.uint(cycles);
        if !compact {
            self.s(" cycles");
        }
        if let Some(ns) = clock.and_then(|c| c.ns_from_origin(cycles)) {
            self.s(if compact { " " } else { ", " });
            self.int(ns);
            if !compact {
                self.s(" ns from origin");
            }
        }
        self.buf.push(b']');
        self.buf.push(if compact { b' ' } else { b'\n' });
    }

    fn write_time_str(&mut self, what: &str) {
        if !self.opts.with_time {
            return;
        }
        self.buf.push(b'[');
        self.s(what);
        self.buf.push(b']');
        self.buf.push(if self.opts.compact { b' ' } else { b'\n' });
    }

    fn write_follow_tag(&mut self, t: usize, stream: &StreamInfo) {
        let id = match self.traces[t].unique_id {
            Some(id) => id,
            None => {
                let id = self.next_trace_id;
                self.next_trace_id += 1;
                self.traces[t].unique_id = Some(id);
                id
            }
        };
        if self.opts.compact {
            self.buf.push(b'{');
            push_u64(&mut self.buf, id);
            self.buf.push(b' ');
            push_u64(&mut self.buf, stream.class_id);
            self.buf.push(b' ');
            push_u64(&mut self.buf, stream.id);
            self.s("} ");
        } else {
            self.s("{Trace ");
            push_u64(&mut self.buf, id);
            self.s(", Stream class ID ");
            push_u64(&mut self.buf, stream.class_id);
            self.s(", Stream ID ");
            push_u64(&mut self.buf, stream.id);
            self.s("}\n");
        }
    }

    fn stream_beginning(&mut self, t: usize, msg: &Message<'_>) {
        let stream = msg.stream;
        self.try_write_meta(t, &stream.trace);
        if !self.opts.with_data {
            return;
        }
        if !self.buf.is_empty() {
            self.nl();
        }
        if let Some(c) = stream.clock() {
            self.write_time(msg.clock, Some(c));
        }
        self.write_follow_tag(t, stream);
        self.s("Stream beginning");
        if self.opts.compact {
            self.nl();
            return;
        }
        self.s(":\n");
        self.indent += 2;
        if self.opts.with_stream_name {
            self.str_prop_line("Name", &stream.name);
        }
        self.write_trace(t, &stream.trace);
        self.indent -= 2;
    }

    fn write_trace(&mut self, t: usize, trace: &TraceInfo) {
        self.write_indent();
        self.s("Trace");
        if self.opts.with_trace_name {
            // src.ctf.fs always names its traces, possibly with "".
            self.s(" `");
            self.s(trace.name.as_deref().unwrap_or(""));
            self.buf.push(b'`');
        }
        self.indent += 2;
        let mut printed_prop = false;
        if self.opts.with_uuid {
            if let Some(u) = &trace.uuid {
                self.s(":\n");
                printed_prop = true;
                self.uuid_prop_line("UUID", u);
            }
        }
        let env = &trace.compiled.metadata.env;
        if !env.is_empty() {
            if !printed_prop {
                self.s(":\n");
                printed_prop = true;
            }
            self.write_indent();
            self.s("Environment (");
            self.uint(env.len() as u64);
            self.s(if env.len() == 1 {
                " entry):\n"
            } else {
                " entries):\n"
            });
            self.indent += 2;
            let mut sorted: Vec<&(String, EnvValue)> = env.iter().collect();
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (name, value) in sorted {
                self.name_colon(name);
                self.buf.push(b' ');
                match value {
                    EnvValue::Int(v) => self.int(*v),
                    EnvValue::Str(s) => self.s(s),
                }
                self.nl();
            }
            self.indent -= 2;
        }
        let mut streams = self.traces[t].streams.clone();
        streams.sort_unstable();
        if !streams.is_empty() && !printed_prop {
            self.s(":\n");
            printed_prop = true;
        }
        for (id, class_id) in streams {
            self.write_indent();
            self.s("Stream (ID ");
            self.uint(id);
            self.s(", Class ID ");
            self.uint(class_id);
            self.s(")\n");
        }
        self.indent -= 2;
        if !printed_prop {
            self.nl();
        }
    }

    fn event(&mut self, t: usize, msg: &Message<'_>, ev: &EventView<'_>) {
        let stream = msg.stream;
        self.try_write_meta(t, &stream.trace);
        if !self.opts.with_data {
            return;
        }
        if !self.buf.is_empty() {
            self.nl();
        }
        if let Some(c) = stream.clock() {
            self.write_time(msg.clock, Some(c));
        }
        self.write_follow_tag(t, stream);
        self.s("Event `");
        self.s(&ev.class().name);
        self.s(if self.opts.compact {
            "` ("
        } else {
            "` (Class ID "
        });
        self.uint(ev.class().id);
        self.buf.push(b')');
        if self.opts.compact {
            self.nl();
            return;
        }
        self.s(":\n");
        self.indent += 2;
        let ir = stream.ir();
        let eir = &ir.events[ev.index()];
        let scopes = [
            (
                "Common context",
                ir.common_context.as_ref(),
                ev.scopes().stream_context,
            ),
            (
                "Specific context",
                eir.specific_context.as_ref(),
                ev.scopes().context,
            ),
            ("Payload", eir.payload.as_ref(), ev.scopes().fields),
        ];
        for (name, fc, range) in scopes {
            if let Some(fc) = fc {
                self.write_root_field(name, fc, ev.scope(range), ev.bytes());
            }
        }
        self.indent -= 2;
    }

    fn packet_beginning(
        &mut self,
        t: usize,
        msg: &Message<'_>,
        packet: &ltt_ctf::stream::PacketInfo,
    ) {
        if !self.opts.with_data {
            return;
        }
        let stream = msg.stream;
        if self.traces[t].configs[stream.class].packets_begin_cs {
            self.write_time(msg.clock, stream.clock());
        }
        self.write_follow_tag(t, stream);
        self.s("Packet beginning");
        if self.opts.compact {
            self.nl();
            return;
        }
        match &stream.ir().packet_context {
            Some(fc) => {
                self.s(":\n");
                self.indent += 2;
                let slots = packet.slots.get(packet.context_start..).unwrap_or(&[]);
                // The message does not carry the packet's bytes: strings in
                // a packet context (unseen in practice) print empty.
                self.write_root_field("Context", fc, slots, &[]);
                self.indent -= 2;
            }
            None => self.nl(),
        }
    }

    fn packet_end(&mut self, t: usize, msg: &Message<'_>) {
        if !self.opts.with_data {
            return;
        }
        let stream = msg.stream;
        if self.traces[t].configs[stream.class].packets_end_cs {
            self.write_time(msg.clock, stream.clock());
        }
        self.write_follow_tag(t, stream);
        self.s("Packet end\n");
    }

    fn stream_end(&mut self, t: usize, msg: &Message<'_>) {
        if !self.opts.with_data {
            return;
        }
        let stream = msg.stream;
        if let Some(c) = stream.clock() {
            self.write_time(msg.clock, Some(c));
        }
        self.write_follow_tag(t, stream);
        self.s("Stream end\n");
    }

    fn discarded(&mut self, t: usize, msg: &Message<'_>, d: &Discarded, what: &str) {
        if !self.opts.with_data {
            return;
        }
        let stream = msg.stream;
        let cfg = self.traces[t].configs[stream.class];
        let with_cs = if what == "events" {
            cfg.discarded_events_cs
        } else {
            cfg.discarded_packets_cs
        };
        if with_cs {
            self.write_time(d.begin, stream.clock());
            self.write_time(d.end, stream.clock());
        }
        self.write_follow_tag(t, stream);
        self.s("Discarded ");
        self.s(what);
        match d.count {
            Some(n) => {
                self.s(" (");
                self.uint(n);
                self.buf.push(b' ');
                self.s(what);
                self.s(")\n");
            }
            None => self.nl(),
        }
    }

    fn inactivity(&mut self, msg: &Message<'_>) {
        let clock = msg.stream.clock();
        if msg.clock.is_some() {
            self.write_time(msg.clock, clock);
        }
        self.s("Message iterator inactivity");
        if self.opts.compact {
            self.nl();
            return;
        }
        self.s(":\n");
        if let Some(c) = clock {
            self.indent += 2;
            self.name_colon("Clock class");
            self.nl();
            self.indent += 2;
            self.write_clock_class(c);
            self.indent -= 4;
        }
    }

    fn write_root_field(&mut self, name: &str, fc: &FieldClass, slots: &[Slot], bytes: &[u8]) {
        self.name_colon(name);
        let mut i = 0;
        self.write_field(fc, slots, &mut i, bytes);
        self.nl();
    }

    /// A field's value after its `name:` (or `[index]:`): scalars on the
    /// same line after a space, members and elements on indented lines.
    fn write_field(&mut self, fc: &FieldClass, slots: &[Slot], i: &mut usize, bytes: &[u8]) {
        let slot = slots.get(*i).copied();
        match fc {
            FieldClass::Int { signed, base, .. } | FieldClass::Enum { signed, base, .. } => {
                *i += 1;
                self.buf.push(b' ');
                match (slot, signed) {
                    (Some(Slot::Sint(v)), _) => push_int(&mut self.buf, v, *base),
                    (Some(Slot::Uint(v)), true) => push_int(&mut self.buf, v as i64, *base),
                    (Some(Slot::Uint(v)), false) => push_uint(&mut self.buf, v, *base),
                    _ => push_uint(&mut self.buf, 0, *base),
                }
            }
            FieldClass::Float { .. } => {
                *i += 1;
                self.buf.push(b' ');
                let v = if let Some(Slot::Float(f)) = slot {
                    f
                } else {
                    0.0
                };
                push_f(&mut self.buf, v);
            }
            FieldClass::String => {
                *i += 1;
                self.buf.push(b' ');
                if let Some(Slot::Str { off, len }) = slot {
                    let s = bytes
                        .get(off as usize..(off as usize + len as usize))
                        .unwrap_or(&[]);
                    // Printed with `%s`: a NUL ends the string.
                    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                    self.buf.extend_from_slice(&s[..end]);
                }
            }
            FieldClass::Struct { members, .. } => {
                if members.iter().all(|(_, m)| m.hidden()) {
                    for (_, m) in members {
                        crate::ir::skip(m, slots, i);
                    }
                    self.s(" Empty");
                    return;
                }
                self.indent += 2;
                for (name, m) in members {
                    if m.hidden() {
                        crate::ir::skip(m, slots, i);
                        continue;
                    }
                    self.nl();
                    self.name_colon(name);
                    self.write_field(m, slots, i, bytes);
                }
                self.indent -= 2;
            }
            FieldClass::StaticArray { element, .. } | FieldClass::DynamicArray { element } => {
                *i += 1;
                let n = if let Some(Slot::Len(n)) = slot { n } else { 0 };
                if n == 0 {
                    self.s(" Empty");
                    return;
                }
                self.s(" Length ");
                self.uint(n);
                self.buf.push(b':');
                self.indent += 2;
                for k in 0..n {
                    self.nl();
                    self.write_indent();
                    self.buf.push(b'[');
                    self.uint(k);
                    self.s("]:");
                    self.write_field(element, slots, i, bytes);
                }
                self.indent -= 2;
            }
            FieldClass::Variant { options } => {
                *i += 1;
                let k = if let Some(Slot::Option(k)) = slot {
                    k as usize
                } else {
                    0
                };
                if let Some((_, o)) = options.get(k) {
                    self.write_field(o, slots, i, bytes);
                }
            }
        }
    }
}

impl<W: Write> Sink for Details<W> {
    fn consume(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        self.buf.clear();
        self.indent = 0;
        let t = self.state(&msg.stream.trace);
        match &msg.kind {
            MessageKind::StreamBeginning => {
                let key = (msg.stream.id, msg.stream.class_id);
                if !self.traces[t].streams.contains(&key) {
                    self.traces[t].streams.push(key);
                }
                self.stream_beginning(t, msg);
            }
            MessageKind::PacketBeginning(p) => self.packet_beginning(t, msg, p),
            MessageKind::Event(ev) => self.event(t, msg, ev),
            MessageKind::DiscardedEvents(d) => self.discarded(t, msg, d, "events"),
            MessageKind::DiscardedPackets(d) => self.discarded(t, msg, d, "packets"),
            MessageKind::PacketEnd(_) => self.packet_end(t, msg),
            MessageKind::StreamEnd => self.stream_end(t, msg),
            MessageKind::Inactivity => self.inactivity(msg),
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.printed_something && !self.opts.compact {
            // A blank line between message blocks.
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(&self.buf)?;
        self.printed_something = true;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.out.flush()?;
        Ok(())
    }
}

/// Records, for every integer the decoder saves in a register (sequence
/// lengths, variant selectors), its path in the IR: member indices count
/// only the fields babeltrace2 keeps.
fn collect_paths(
    layout: &Layout,
    fc: &FieldClass,
    node: NodeId,
    scope: RootScope,
    items: &mut Vec<PathItem>,
    out: &mut Vec<FieldPath>,
) {
    let Some(n) = layout.nodes.get(node as usize) else {
        return;
    };
    match (fc, n) {
        (FieldClass::Int { .. } | FieldClass::Enum { .. }, Node::Int { action, .. }) => {
            if let Some(register) = action.save {
                out.push(FieldPath {
                    register,
                    scope,
                    items: items.clone(),
                });
            }
        }
        (FieldClass::Struct { members, .. }, Node::Struct { members: ids, .. }) => {
            let mut index = 0;
            for ((_, m), &id) in members.iter().zip(ids) {
                if m.hidden() {
                    continue;
                }
                items.push(PathItem::Index(index));
                collect_paths(layout, m, id, scope, items, out);
                items.pop();
                index += 1;
            }
        }
        (
            FieldClass::StaticArray { element, .. } | FieldClass::DynamicArray { element },
            Node::Array { element: id, .. },
        ) => {
            items.push(PathItem::Current);
            collect_paths(layout, element, *id, scope, items, out);
            items.pop();
        }
        (FieldClass::Variant { options }, Node::Variant { options: ids, .. }) => {
            for (k, ((_, o), &id)) in options.iter().zip(ids).enumerate() {
                items.push(PathItem::Index(k as u64));
                collect_paths(layout, o, id, scope, items, out);
                items.pop();
            }
        }
        _ => {}
    }
}

/// babeltrace2's names of the CTF log levels 0 (emergency) to 14 (debug).
fn log_level_name(level: i64) -> Option<&'static str> {
    const NAMES: [&str; 15] = [
        "Emergency",
        "Alert",
        "Critical",
        "Error",
        "Warning",
        "Notice",
        "Info",
        "Debug (system)",
        "Debug (program)",
        "Debug (process)",
        "Debug (module)",
        "Debug (unit)",
        "Debug (function)",
        "Debug (line)",
        "Debug",
    ];
    usize::try_from(level)
        .ok()
        .and_then(|l| NAMES.get(l).copied())
}

#[inline]
fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `v`'s digits in `radix`, with `sep` between groups of `group`
/// digits counted from the right.
fn push_digits(out: &mut Vec<u8>, mut v: u64, radix: u64, group: usize, sep: Option<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tmp = [0u8; 64];
    let mut n = 0;
    loop {
        tmp[n] = DIGITS[(v % radix) as usize];
        n += 1;
        v /= radix;
        if v == 0 {
            break;
        }
    }
    for k in (0..n).rev() {
        out.push(tmp[k]);
        if let Some(s) = sep {
            if k > 0 && k % group == 0 {
                out.push(s);
            }
        }
    }
}

/// Appends the magnitude `abs` in `base` the way babeltrace2's details
/// sink does: decimal with `,` every 3 digits (only from 10,000 on), hex
/// (`0x`, also for binary) with `:` every 4 digits, octal (`0`) with `:`
/// every 3.
fn push_magnitude(out: &mut Vec<u8>, abs: u64, base: DisplayBase, small: bool) {
    match base {
        DisplayBase::Binary | DisplayBase::Hexadecimal => {
            out.extend_from_slice(b"0x");
            push_digits(out, abs, 16, 4, Some(b':'));
        }
        DisplayBase::Octal => {
            out.push(b'0');
            push_digits(out, abs, 8, 3, Some(b':'));
        }
        DisplayBase::Decimal => push_digits(out, abs, 10, 3, (!small).then_some(b',')),
    }
}

/// babeltrace2 details' `format_uint`.
fn push_uint(out: &mut Vec<u8>, v: u64, base: DisplayBase) {
    push_magnitude(out, v, base, v <= 9999);
}

/// babeltrace2 details' `format_int`: sign, then the magnitude.
fn push_int(out: &mut Vec<u8>, v: i64, base: DisplayBase) {
    if v < 0 {
        out.push(b'-');
    }
    push_magnitude(out, v.unsigned_abs(), base, (-9999..=9999).contains(&v));
}

/// Appends `v` like C's `printf("%f", v)`.
fn push_f(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(out, "{v:.6}");
    }
}

/// Appends a UUID in its canonical lowercase form.
fn push_uuid(out: &mut Vec<u8>, u: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (k, b) in u.iter().enumerate() {
        if matches!(k, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint(v: u64, base: DisplayBase) -> String {
        let mut o = Vec::new();
        push_uint(&mut o, v, base);
        String::from_utf8(o).unwrap()
    }

    fn int(v: i64, base: DisplayBase) -> String {
        let mut o = Vec::new();
        push_int(&mut o, v, base);
        String::from_utf8(o).unwrap()
    }

    fn f(v: f64) -> String {
        let mut o = Vec::new();
        push_f(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn numbers_like_babeltrace() {
        use DisplayBase::*;
        assert_eq!(uint(9801, Decimal), "9801");
        assert_eq!(uint(10_000, Decimal), "10,000");
        assert_eq!(uint(1_795_692_113, Decimal), "1,795,692,113");
        assert_eq!(
            uint(18_446_744_073_708_551_615, Decimal),
            "18,446,744,073,708,551,615"
        );
        assert_eq!(int(-9999, Decimal), "-9999");
        assert_eq!(int(-29_700, Decimal), "-29,700");
        assert_eq!(int(i64::MIN, Decimal), "-9,223,372,036,854,775,808");
        assert_eq!(uint(0xdea2_fcaf, Hexadecimal), "0xdea2:fcaf");
        assert_eq!(
            uint(0x0123_4567_89bb_102f, Hexadecimal),
            "0x123:4567:89bb:102f"
        );
        assert_eq!(uint(0xfd0dcb, Hexadecimal), "0xfd:0dcb");
        assert_eq!(uint(0, Hexadecimal), "0x0");
        assert_eq!(int(-0x10, Hexadecimal), "-0x10");
        assert_eq!(uint(5, Binary), "0x5");
        assert_eq!(uint(0, Octal), "00");
        assert_eq!(uint(0o1234567, Octal), "01:234:567");
    }

    #[test]
    fn floats_like_percent_f() {
        assert_eq!(f(499_996.75), "499996.750000");
        assert_eq!(f(333_333.333_333_33), "333333.333333");
        assert_eq!(f(-0.0), "-0.000000");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(f64::NEG_INFINITY), "-inf");
        assert_eq!(f(f64::NAN), "nan");
        assert_eq!(f(1e20), "100000000000000000000.000000");
    }

    #[test]
    fn uuid_format() {
        let mut o = Vec::new();
        push_uuid(
            &mut o,
            &[
                0x9f, 0x5f, 0x1b, 0x91, 0x0e, 0x13, 0x48, 0xcd, 0xa8, 0, 0x5c, 0x9b, 0x0a, 0x0a,
                0x7f, 0xcc,
            ],
        );
        assert_eq!(o, b"9f5f1b91-0e13-48cd-a800-5c9b0a0a7fcc");
    }
}
