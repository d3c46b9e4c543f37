//! `sink.text.pretty`: one line per event, byte-for-byte as babeltrace2
//! 2.0 prints it; discarded events and packets as warnings on stderr.

use std::io::Write;
use std::sync::Arc;

use ltt_ctf::decode::Slot;
use ltt_ctf::metadata::EnvValue;

use crate::color::Colors;
use crate::ir::FieldClass;
use crate::message::{Discarded, EventView, Message, MessageKind, StreamInfo, TraceInfo};
use crate::sink::Sink;
use crate::text::{push_code, push_escaped, push_g_field, push_i64, push_int, push_u64};
use crate::timefmt;
use crate::Error;

/// Which names and fields to print, and how to print times.
#[derive(Debug, Clone)]
pub struct PrettyOptions {
    pub no_delta: bool,
    pub clock_cycles: bool,
    pub clock_seconds: bool,
    pub clock_date: bool,
    pub clock_gmt: bool,
    pub name_payload: bool,
    pub name_context: bool,
    pub name_scope: bool,
    pub name_header: bool,
    pub field_trace: bool,
    pub field_hostname: bool,
    pub field_domain: bool,
    pub field_procname: bool,
    pub field_vpid: bool,
    pub field_loglevel: bool,
    pub field_emf: bool,
    pub field_callsite: bool,
    pub colors: Colors,
}

impl Default for PrettyOptions {
    fn default() -> Self {
        PrettyOptions {
            no_delta: false,
            clock_cycles: false,
            clock_seconds: false,
            clock_date: false,
            clock_gmt: false,
            name_payload: true,
            name_context: true,
            name_scope: false,
            name_header: false,
            field_trace: false,
            field_hostname: true,
            field_domain: false,
            field_procname: true,
            field_vpid: true,
            field_loglevel: false,
            field_emf: false,
            field_callsite: false,
            colors: Colors::none(),
        }
    }
}

const NS_PER_S: i64 = 1_000_000_000;

/// Output is buffered here and written in chunks of this size.
const FLUSH_AT: usize = 64 * 1024;

/// The formatted packet context of the packet being printed.
#[derive(Default)]
struct PacketCache {
    stream: usize,
    file: usize,
    offset: u64,
    valid: bool,
    text: Vec<u8>,
}

/// The pretty printer. Per-event work is kept to formatting what changes:
/// the trace's header fields, a packet's context and the calendar part of
/// a timestamp are formatted once and reused.
pub struct Pretty<W: Write> {
    out: W,
    opts: PrettyOptions,
    line: Vec<u8>,
    last_ns: Option<i64>,
    delta_ns: Option<u64>,
    last_cycles: Option<u64>,
    delta_cycles: Option<u64>,
    negative_warned: bool,
    start_line: bool,
    /// `(seconds, "[YYYY-MM-DD ]HH:MM:SS")` of the last printed time.
    second: Option<(i64, Vec<u8>)>,
    /// Per trace (and line-start state): its header fields (hostname,
    /// domain, procname, vpid) as printed, and whether any was.
    traces: Vec<((*const TraceInfo, bool), Vec<u8>, bool)>,
    packet: PacketCache,
}

impl<W: Write> Pretty<W> {
    pub fn new(out: W, opts: PrettyOptions) -> Self {
        Pretty {
            out,
            opts,
            line: Vec::with_capacity(FLUSH_AT + 4096),
            last_ns: None,
            delta_ns: None,
            last_cycles: None,
            delta_cycles: None,
            negative_warned: false,
            start_line: true,
            second: None,
            traces: Vec::new(),
            packet: PacketCache::default(),
        }
    }

    fn name_equal(&mut self, name: &str) {
        push_code(&mut self.line, self.opts.colors.name);
        self.line.extend_from_slice(name.as_bytes());
        push_code(&mut self.line, self.opts.colors.reset);
        self.line.extend_from_slice(b" = ");
    }

    fn field_name_equal(&mut self, name: &str) {
        push_code(&mut self.line, self.opts.colors.field_name);
        self.line.extend_from_slice(name.as_bytes());
        push_code(&mut self.line, self.opts.colors.reset);
        self.line.extend_from_slice(b" = ");
    }

    /// Wall-clock time of `ns` (ns from origin), as babeltrace2 prints it.
    fn timestamp_wall(&mut self, ns: Option<i64>, update_last: bool) {
        let Some(ns) = ns else {
            self.line.extend_from_slice(b"??:??:??.?????????");
            return;
        };
        if update_last {
            if let Some(last) = self.last_ns {
                self.delta_ns = Some(ns.wrapping_sub(last) as u64);
            }
            self.last_ns = Some(ns);
        }
        let sec = ns / NS_PER_S;
        let nsec = ns % NS_PER_S;
        let (negative, sec_abs, nsec_abs) = if sec >= 0 && nsec >= 0 {
            (false, sec as u64, nsec as u64)
        } else if sec == 0 {
            (true, 0, (-nsec) as u64)
        } else {
            (true, sec.unsigned_abs(), nsec.unsigned_abs())
        };
        if !self.opts.clock_seconds {
            if negative && !self.negative_warned {
                eprintln!("[warning] Fallback to [sec.ns] to print negative time value. Use --clock-seconds.");
                self.negative_warned = true;
            } else if self.calendar(sec_abs as i64) {
                self.line.push(b'.');
                push_padded(&mut self.line, nsec_abs, 9);
                return;
            }
        }
        if negative {
            self.line.push(b'-');
        }
        push_u64(&mut self.line, sec_abs);
        self.line.push(b'.');
        push_padded(&mut self.line, nsec_abs, 9);
    }

    /// Appends `[YYYY-MM-DD ]HH:MM:SS` for `secs`, computed once per second.
    fn calendar(&mut self, secs: i64) -> bool {
        if let Some((s, text)) = &self.second {
            if *s == secs {
                self.line.extend_from_slice(text);
                return true;
            }
        }
        let tm = if self.opts.clock_gmt {
            Some(timefmt::gmtime(secs))
        } else {
            timefmt::localtime(secs)
        };
        let Some(tm) = tm else {
            return false;
        };
        let mut text = Vec::with_capacity(20);
        if self.opts.clock_date {
            let _ = write!(text, "{:04}-{:02}-{:02} ", tm.year, tm.month, tm.day);
        }
        let _ = write!(text, "{:02}:{:02}:{:02}", tm.hour, tm.min, tm.sec);
        self.line.extend_from_slice(&text);
        self.second = Some((secs, text));
        true
    }

    fn event_timestamp(&mut self, msg: &Message<'_>) {
        if msg.stream.clock().is_none() {
            return;
        }
        let names = self.opts.name_header;
        if names {
            self.name_equal("timestamp");
        } else {
            self.line.push(b'[');
        }
        push_code(&mut self.line, self.opts.colors.timestamp);
        if self.opts.clock_cycles {
            let cycles = msg.clock.unwrap_or(0);
            push_padded(&mut self.line, cycles, 20);
            if let Some(last) = self.last_cycles {
                self.delta_cycles = Some(cycles.wrapping_sub(last));
            }
            self.last_cycles = Some(cycles);
        } else {
            self.timestamp_wall(msg.ns(), true);
        }
        push_code(&mut self.line, self.opts.colors.reset);
        if !names {
            self.line.extend_from_slice(b"] ");
        }
        if !self.opts.no_delta {
            if names {
                self.line.extend_from_slice(b", ");
                self.name_equal("delta");
            } else {
                self.line.push(b'(');
            }
            if self.opts.clock_cycles {
                match self.delta_cycles {
                    Some(d) => {
                        self.line.push(b'+');
                        push_padded(&mut self.line, d, 12);
                    }
                    None => self.line.extend_from_slice(b"+????????????"),
                }
            } else {
                match self.delta_ns {
                    Some(d) => {
                        self.line.push(b'+');
                        push_u64(&mut self.line, d / 1_000_000_000);
                        self.line.push(b'.');
                        push_padded(&mut self.line, d % 1_000_000_000, 9);
                    }
                    None => self.line.extend_from_slice(b"+?.?????????"),
                }
            }
            if !names {
                self.line.extend_from_slice(b") ");
            }
        }
        self.start_line = !names;
    }

    /// The trace's env header fields as printed (after the first
    /// separator), and whether there is any.
    fn env_fields(&mut self, m: &ltt_ctf::metadata::Metadata) -> (Vec<u8>, bool) {
        let saved = std::mem::take(&mut self.line);
        let names = self.opts.name_header;
        let env_fields: [(bool, &str, &str); 4] = [
            (self.opts.field_hostname, "hostname", "trace:hostname"),
            (self.opts.field_domain, "domain", "trace:domain"),
            (self.opts.field_procname, "procname", "trace:procname"),
            (self.opts.field_vpid, "vpid", "trace:vpid"),
        ];
        let mut dom = false;
        for (enabled, key, label) in env_fields {
            if !enabled {
                continue;
            }
            let Some(value) = m.env(key) else { continue };
            self.separator();
            if names {
                self.name_equal(label);
            } else if dom && key != "hostname" {
                self.line.push(b':');
            }
            match (key, value) {
                ("vpid", EnvValue::Int(v)) => {
                    let _ = write!(self.line, "({v})");
                }
                ("vpid", EnvValue::Str(_)) => self.line.extend_from_slice(b"(0)"),
                (_, EnvValue::Str(s)) => self.line.extend_from_slice(s.as_bytes()),
                (_, EnvValue::Int(v)) => push_i64(&mut self.line, *v),
            }
            dom = true;
        }
        let text = std::mem::replace(&mut self.line, saved);
        (text, dom)
    }

    fn separator(&mut self) {
        if !self.start_line {
            self.line.extend_from_slice(b", ");
        }
    }

    fn event_header(&mut self, msg: &Message<'_>, ev: &EventView<'_>) {
        let names = self.opts.name_header;
        self.event_timestamp(msg);
        let trace = &msg.stream.trace;
        let m = &trace.compiled.metadata;
        let mut dom = false;
        if self.opts.field_trace {
            if let Some(name) = &trace.name {
                self.separator();
                if names {
                    self.name_equal("trace");
                }
                self.line.extend_from_slice(name.as_bytes());
                if names {
                    self.line.extend_from_slice(b", ");
                }
            }
        }
        let key = (Arc::as_ptr(trace), self.start_line);
        let cached = match self.traces.iter().position(|(t, _, _)| *t == key) {
            Some(i) => i,
            None => {
                let (text, printed) = self.env_fields(m);
                self.traces.push((key, text, printed));
                self.traces.len() - 1
            }
        };
        let (_, text, printed) = &self.traces[cached];
        self.line.extend_from_slice(text);
        dom |= *printed;
        if self.opts.field_loglevel {
            if let Some(level) = ev.class().loglevel.filter(|l| (0..=14).contains(l)) {
                self.separator();
                if names {
                    self.name_equal("loglevel");
                } else if dom {
                    self.line.push(b':');
                }
                let _ = write!(self.line, "{} ({level})", LOG_LEVELS[level as usize]);
                dom = true;
            }
        }
        if self.opts.field_emf {
            if let Some(uri) = &ev.class().emf_uri {
                self.separator();
                if names {
                    self.name_equal("model.emf.uri");
                } else if dom {
                    self.line.push(b':');
                }
                self.line.extend_from_slice(uri.as_bytes());
                dom = true;
            }
        }
        if dom && !names {
            self.line.push(b' ');
        }
        self.separator();
        self.start_line = true;
        if names {
            self.name_equal("name");
        }
        push_code(&mut self.line, self.opts.colors.event_name);
        self.line.extend_from_slice(ev.class().name.as_bytes());
        push_code(&mut self.line, self.opts.colors.reset);
        self.line
            .extend_from_slice(if names { b", " } else { b": " });
    }

    fn scope(
        &mut self,
        label: &str,
        fc: Option<&FieldClass>,
        slots: &[Slot],
        ev: &EventView<'_>,
        names: bool,
    ) {
        let Some(fc) = fc else { return };
        self.separator();
        self.start_line = false;
        if self.opts.name_scope {
            self.name_equal(label);
        }
        let mut i = 0;
        self.field(fc, slots, &mut i, ev.bytes(), names);
    }

    /// Appends a field of any class.
    fn field(&mut self, fc: &FieldClass, slots: &[Slot], i: &mut usize, bytes: &[u8], names: bool) {
        if !self.scalar(fc, slots, i, bytes) {
            self.compound(fc, slots, i, bytes, names);
        }
    }

    /// Appends a field of a scalar class (integer, enumeration, float,
    /// string); `false` for the others. Inlined into the loops over
    /// members and elements, so most fields cost no recursive call.
    #[inline(always)]
    fn scalar(&mut self, fc: &FieldClass, slots: &[Slot], i: &mut usize, bytes: &[u8]) -> bool {
        let slot = slots.get(*i).copied();
        match fc {
            FieldClass::Int {
                signed, size, base, ..
            } => {
                *i += 1;
                push_code(&mut self.line, self.opts.colors.number);
                push_int(&mut self.line, raw(slot), *signed, *size, *base);
                push_code(&mut self.line, self.opts.colors.reset);
            }
            FieldClass::Enum {
                signed,
                size,
                base,
                mappings,
                ..
            } => {
                *i += 1;
                let v = raw(slot);
                let value = if *signed { v as i64 as i128 } else { v as i128 };
                self.line.extend_from_slice(b"( ");
                let mut n = 0;
                for m in mappings {
                    if m.ranges.iter().any(|&(lo, hi)| lo <= value && value <= hi) {
                        if n > 0 {
                            self.line.extend_from_slice(b", ");
                        }
                        push_code(&mut self.line, self.opts.colors.enum_label);
                        push_escaped(&mut self.line, m.label.as_bytes());
                        push_code(&mut self.line, self.opts.colors.reset);
                        n += 1;
                    }
                }
                if n == 0 {
                    push_code(&mut self.line, self.opts.colors.unknown);
                    self.line.extend_from_slice(b"<unknown>");
                    push_code(&mut self.line, self.opts.colors.reset);
                }
                self.line.extend_from_slice(b" : container = ");
                push_code(&mut self.line, self.opts.colors.number);
                push_int(&mut self.line, v, *signed, *size, *base);
                push_code(&mut self.line, self.opts.colors.reset);
                self.line.extend_from_slice(b" )");
            }
            FieldClass::Float { double } => {
                *i += 1;
                push_code(&mut self.line, self.opts.colors.number);
                let v = if let Some(Slot::Float(f)) = slot {
                    f
                } else {
                    0.0
                };
                push_g_field(&mut self.line, v, !*double);
                push_code(&mut self.line, self.opts.colors.reset);
            }
            FieldClass::String => {
                *i += 1;
                push_code(&mut self.line, self.opts.colors.string);
                let s = match slot {
                    Some(Slot::Str { off, len }) => &bytes[off as usize..(off + len) as usize],
                    _ => &[][..],
                };
                push_escaped(&mut self.line, s);
                push_code(&mut self.line, self.opts.colors.reset);
            }
            _ => return false,
        }
        true
    }

    /// Appends a field of a compound class (structure, array, variant).
    fn compound(
        &mut self,
        fc: &FieldClass,
        slots: &[Slot],
        i: &mut usize,
        bytes: &[u8],
        names: bool,
    ) {
        let slot = slots.get(*i).copied();
        match fc {
            FieldClass::Struct { members, .. } => {
                self.line.push(b'{');
                let mut printed = 0;
                for (name, m) in members {
                    if m.hidden() {
                        crate::ir::skip(m, slots, i);
                        continue;
                    }
                    // Two pushes: a slice of either length would be a memcpy call.
                    if printed > 0 {
                        self.line.push(b',');
                    }
                    self.line.push(b' ');
                    if names {
                        self.field_name_equal(name);
                    }
                    if !self.scalar(m, slots, i, bytes) {
                        self.compound(m, slots, i, bytes, names);
                    }
                    printed += 1;
                }
                self.line.extend_from_slice(b" }");
            }
            FieldClass::StaticArray { element, .. } | FieldClass::DynamicArray { element } => {
                *i += 1;
                let n = if let Some(Slot::Len(n)) = slot { n } else { 0 };
                self.line.push(b'[');
                for k in 0..n {
                    // Two pushes: a slice of either length would be a memcpy call.
                    if k > 0 {
                        self.line.push(b',');
                    }
                    self.line.push(b' ');
                    if names {
                        self.line.push(b'[');
                        push_u64(&mut self.line, k);
                        self.line.extend_from_slice(b"] = ");
                    }
                    if !self.scalar(element, slots, i, bytes) {
                        self.compound(element, slots, i, bytes, names);
                    }
                }
                self.line.extend_from_slice(b" ]");
            }
            FieldClass::Variant { options } => {
                *i += 1;
                let k = if let Some(Slot::Option(k)) = slot {
                    k as usize
                } else {
                    0
                };
                self.line.extend_from_slice(b"{ ");
                if let Some((_, o)) = options.get(k) {
                    self.field(o, slots, i, bytes, names);
                }
                self.line.extend_from_slice(b" }");
            }
            // Scalars: `field` and the loops print them before calling.
            _ => {
                self.scalar(fc, slots, i, bytes);
            }
        }
    }

    /// Appends the packet context scope, formatted once per packet.
    fn packet_context(&mut self, msg: &Message<'_>, ev: &EventView<'_>, fc: &FieldClass) {
        let p = ev.packet();
        let stream = msg.stream as *const StreamInfo as usize;
        let c = &self.packet;
        if !(c.valid && c.stream == stream && c.file == p.file && c.offset == p.offset) {
            let mut text = std::mem::take(&mut self.packet.text);
            text.clear();
            let saved = std::mem::replace(&mut self.line, text);
            let mut i = 0;
            self.field(
                fc,
                &p.slots[p.context_start..],
                &mut i,
                ev.bytes(),
                self.opts.name_context,
            );
            let text = std::mem::replace(&mut self.line, saved);
            self.packet = PacketCache {
                stream,
                file: p.file,
                offset: p.offset,
                valid: true,
                text,
            };
        }
        self.separator();
        self.start_line = false;
        if self.opts.name_scope {
            self.name_equal("stream.packet.context");
        }
        self.line.extend_from_slice(&self.packet.text);
    }

    fn event(&mut self, msg: &Message<'_>, ev: &EventView<'_>) -> Result<(), Error> {
        self.start_line = true;
        self.event_header(msg, ev);
        let ir = msg.stream.ir();
        let eir = &ir.events[ev.index()];
        let names_ctx = self.opts.name_context;
        if let Some(fc) = &ir.packet_context {
            self.packet_context(msg, ev, fc);
        }
        self.scope(
            "stream.event.context",
            ir.common_context.as_ref(),
            ev.scope(ev.scopes().stream_context),
            ev,
            names_ctx,
        );
        self.scope(
            "event.context",
            eir.specific_context.as_ref(),
            ev.scope(ev.scopes().context),
            ev,
            names_ctx,
        );
        self.scope(
            "event.fields",
            eir.payload.as_ref(),
            ev.scope(ev.scopes().fields),
            ev,
            self.opts.name_payload,
        );
        self.line.push(b'\n');
        if self.line.len() >= FLUSH_AT {
            self.out.write_all(&self.line)?;
            self.line.clear();
        }
        Ok(())
    }

    fn discarded(&mut self, stream: &StreamInfo, d: &Discarded, what: &str) -> Result<(), Error> {
        // Events printed so far go out first; the warning is built in the
        // line buffer (the time formatting writes there) and sent to stderr.
        self.out.write_all(&self.line)?;
        self.line.clear();
        let tc = Colors::terminal_warning();
        let _ = write!(
            self.line,
            "{}{}WARNING{}{}: {} ",
            tc.yellow,
            tc.bold,
            tc.reset,
            tc.yellow,
            if d.count.is_some() {
                "Tracer discarded"
            } else {
                "Tracer may have discarded"
            }
        );
        match d.count {
            Some(n) => {
                let _ = write!(self.line, "{n} {what}{}", if n == 1 { "" } else { "s" });
            }
            None => {
                let _ = write!(self.line, "{what}s");
            }
        }
        self.line.push(b' ');
        let clock = stream.clock();
        match (d.begin, d.end, clock) {
            (Some(b), Some(e), Some(c)) => {
                self.line.extend_from_slice(b"between [");
                self.timestamp_wall(c.ns_from_origin(b), false);
                self.line.extend_from_slice(b"] and [");
                self.timestamp_wall(c.ns_from_origin(e), false);
                self.line.push(b']');
            }
            _ => self.line.extend_from_slice(b"(unknown time range)"),
        }
        let trace = &stream.trace;
        let _ = write!(
            self.line,
            " in trace \"{}\" ",
            trace.name.as_deref().unwrap_or("(unknown)")
        );
        match trace.uuid {
            Some(u) => {
                let _ = write!(self.line, "(UUID: {}) ", crate::format_uuid(&u));
            }
            None => self.line.extend_from_slice(b"(no UUID) "),
        }
        let _ = write!(
            self.line,
            "within stream \"{}\" (stream class ID: {}, stream ID: {}).{}",
            stream.name, stream.class_id, stream.id, tc.reset
        );
        self.line.push(b'\n');
        self.out.flush()?;
        let mut err = std::io::stderr().lock();
        err.write_all(&self.line)?;
        self.line.clear();
        Ok(())
    }
}

/// The raw bits of an integer slot.
#[inline]
fn raw(slot: Option<Slot>) -> u64 {
    match slot {
        Some(Slot::Uint(v)) => v,
        Some(Slot::Sint(v)) => v as u64,
        _ => 0,
    }
}

/// babeltrace2's names of the LTTng log levels.
const LOG_LEVELS: [&str; 15] = [
    "TRACE_EMERG",
    "TRACE_ALERT",
    "TRACE_CRIT",
    "TRACE_ERR",
    "TRACE_WARNING",
    "TRACE_NOTICE",
    "TRACE_INFO",
    "TRACE_DEBUG_SYSTEM",
    "TRACE_DEBUG_PROGRAM",
    "TRACE_DEBUG_PROCESS",
    "TRACE_DEBUG_MODULE",
    "TRACE_DEBUG_UNIT",
    "TRACE_DEBUG_FUNCTION",
    "TRACE_DEBUG_LINE",
    "TRACE_DEBUG",
];

impl<W: Write> Sink for Pretty<W> {
    fn consume(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        match &msg.kind {
            MessageKind::Event(ev) => self.event(msg, ev),
            MessageKind::DiscardedEvents(d) => self.discarded(msg.stream, d, "event"),
            MessageKind::DiscardedPackets(d) => self.discarded(msg.stream, d, "packet"),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.out.write_all(&self.line)?;
        self.line.clear();
        self.out.flush()?;
        Ok(())
    }
}

/// Appends `v` in decimal, zero-padded to `width` digits.
#[inline]
fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(v).as_bytes();
    for _ in digits.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(digits);
}
