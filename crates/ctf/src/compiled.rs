//! A trace's metadata compiled once for decoding: one layout arena, the
//! packet header, and per stream class its scopes and event classes.

use std::collections::HashMap;

use crate::body;
use crate::header::LttngHeader;
use crate::layout::{Compiler, Layout, LayoutError, NodeId, Scope};
use crate::metadata::{Clock, FieldType, Member, Metadata, StreamClass, StructType};
use crate::program::{ProgId, Programs};

/// A root scope: its layout node (for walking types) and its flattened
/// program (for decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    pub node: NodeId,
    pub prog: ProgId,
}

/// An event class ready to decode.
#[derive(Debug, Clone)]
pub struct CompiledEvent {
    /// Index in `Metadata::events`.
    pub class: usize,
    /// The event class id (as in `Metadata::events`, kept here for
    /// per-event use).
    pub id: u64,
    pub context: Option<Root>,
    pub fields: Option<Root>,
    /// Whether the body (stream event context, context, payload) aligns
    /// nothing beyond a byte (see [`body::packed`]).
    pub packed: bool,
    /// The body's size in bits when fixed and skippable (see
    /// [`body::fixed_bits`]).
    pub fixed_body: Option<u64>,
}

/// A stream class ready to decode.
#[derive(Debug, Clone)]
pub struct CompiledStream {
    /// Index in `Metadata::streams`.
    pub class: usize,
    pub id: u64,
    pub packet_context: Option<Root>,
    pub event_header: Option<Root>,
    pub event_context: Option<Root>,
    pub events: Vec<CompiledEvent>,
    /// Event index by id, for ids below `DENSE_IDS`.
    dense: Vec<Option<u32>>,
    /// Event index by id, for larger ids (CTF allows 64-bit ids).
    sparse: HashMap<u64, u32>,
    /// The clock of this stream (the one its fields map to, else the
    /// trace's only clock).
    pub clock: Option<usize>,
    /// The event header when it is just an LTTng header, which the reader
    /// then decodes without running its program (see
    /// [`LttngHeader::whole_program`]).
    pub lttng_header: Option<LttngHeader>,
}

const DENSE_IDS: u64 = 1 << 16;

impl CompiledStream {
    /// The index in `events` of the event class with id `id`.
    #[inline]
    pub fn event_index(&self, id: u64) -> Option<usize> {
        if id < DENSE_IDS {
            self.dense
                .get(id as usize)
                .copied()
                .flatten()
                .map(|i| i as usize)
        } else {
            self.sparse.get(&id).map(|&i| i as usize)
        }
    }
}

/// Compiled metadata.
#[derive(Debug, Clone)]
pub struct CompiledTrace {
    pub metadata: Metadata,
    pub layout: Layout,
    pub programs: Programs,
    pub packet_header: Option<Root>,
    pub streams: Vec<CompiledStream>,
}

impl CompiledTrace {
    /// Compiles `metadata`; errors name the scope and event.
    pub fn new(mut metadata: Metadata) -> Result<Self, LayoutError> {
        if metadata.streams.is_empty() {
            // A trace without stream blocks has one implicit stream class.
            metadata.streams.push(StreamClass {
                id: 0,
                packet_context: None,
                event_header: None,
                event_context: None,
            });
        }
        let clocks: Vec<Option<usize>> = (0..metadata.streams.len())
            .map(|i| stream_clock(&mut metadata, i))
            .collect();
        let mut c = Compiler::new();
        let packet_header = compile(
            &mut c,
            Scope::PacketHeader,
            metadata.trace.packet_header.as_ref(),
        )
        .map_err(|e| LayoutError(format!("trace packet header: {e}")))?;
        let mut streams = Vec::new();
        for (si, sc) in metadata.streams.iter().enumerate() {
            for s in [
                Scope::PacketContext,
                Scope::EventHeader,
                Scope::StreamEventContext,
                Scope::EventContext,
                Scope::EventFields,
            ] {
                c.drop_scope(s);
            }
            let ctx = |what: &str, e: LayoutError| {
                LayoutError(format!("stream class {}: {what}: {e}", sc.id))
            };
            let packet_context = compile(&mut c, Scope::PacketContext, sc.packet_context.as_ref())
                .map_err(|e| ctx("packet context", e))?;
            let event_header = compile(&mut c, Scope::EventHeader, sc.event_header.as_ref())
                .map_err(|e| ctx("event header", e))?;
            let event_context =
                compile(&mut c, Scope::StreamEventContext, sc.event_context.as_ref())
                    .map_err(|e| ctx("event context", e))?;
            let single_stream = metadata.streams.len() == 1;
            let mut events = Vec::new();
            let mut dense: Vec<Option<u32>> = Vec::new();
            let mut sparse: HashMap<u64, u32> = HashMap::new();
            for (ei, ev) in metadata.events.iter().enumerate() {
                let belongs = match ev.stream_id {
                    Some(id) => id == sc.id,
                    None => single_stream,
                };
                if !belongs {
                    continue;
                }
                c.drop_scope(Scope::EventContext);
                c.drop_scope(Scope::EventFields);
                let ectx = |what: &str, e: LayoutError| {
                    LayoutError(format!("event `{}`: {what}: {e}", ev.name))
                };
                let context = compile(&mut c, Scope::EventContext, ev.context.as_ref())
                    .map_err(|e| ectx("context", e))?;
                let fields = compile(&mut c, Scope::EventFields, ev.fields.as_ref())
                    .map_err(|e| ectx("fields", e))?;
                let index = events.len() as u32;
                let taken = if ev.id < DENSE_IDS {
                    let i = ev.id as usize;
                    if dense.len() <= i {
                        dense.resize(i + 1, None);
                    }
                    dense[i].replace(index).is_some()
                } else {
                    sparse.insert(ev.id, index).is_some()
                };
                if taken {
                    return Err(LayoutError(format!(
                        "stream class {}: duplicate event id {}",
                        sc.id, ev.id
                    )));
                }
                events.push(CompiledEvent {
                    class: ei,
                    id: ev.id,
                    context,
                    fields,
                    packed: body::packed(&[
                        sc.event_context.as_ref(),
                        ev.context.as_ref(),
                        ev.fields.as_ref(),
                    ]),
                    fixed_body: None,
                });
            }
            streams.push(CompiledStream {
                class: si,
                id: sc.id,
                packet_context,
                event_header,
                event_context,
                events,
                dense,
                sparse,
                clock: clocks[si],
                lttng_header: None,
            });
        }
        // Programs are flattened last: a later scope's reference may have
        // given an earlier field a register.
        let layout = c.layout;
        let mut programs = Programs::default();
        let mut flatten = |r: &mut Option<Root>| {
            if let Some(r) = r {
                r.prog = programs.add(&layout, r.node);
            }
        };
        let mut packet_header = packet_header;
        flatten(&mut packet_header);
        for s in &mut streams {
            flatten(&mut s.packet_context);
            flatten(&mut s.event_header);
            flatten(&mut s.event_context);
            let common = s.event_context.map(|r| r.node);
            for e in &mut s.events {
                flatten(&mut e.context);
                flatten(&mut e.fields);
                let nodes = [common, e.context.map(|r| r.node), e.fields.map(|r| r.node)];
                e.fixed_body = body::fixed_bits(&layout, &nodes);
            }
        }
        for s in &mut streams {
            s.lttng_header = s
                .event_header
                .and_then(|h| LttngHeader::whole_program(programs.ops(h.prog)));
        }
        Ok(CompiledTrace {
            metadata,
            layout,
            programs,
            packet_header,
            streams,
        })
    }

    /// The stream class with id `id`.
    pub fn stream(&self, id: u64) -> Option<&CompiledStream> {
        self.streams.iter().find(|s| s.id == id)
    }

    /// The clock of a stream class.
    pub fn clock(&self, stream: &CompiledStream) -> Option<&Clock> {
        stream.clock.map(|i| &self.metadata.clocks[i])
    }
}

/// Compiles an optional root scope.
fn compile(
    c: &mut Compiler,
    scope: Scope,
    ty: Option<&StructType>,
) -> Result<Option<Root>, LayoutError> {
    ty.map(|t| c.compile_scope(scope, t).map(|node| Root { node, prog: 0 }))
        .transpose()
}

/// The clock a stream's timestamps refer to: the first clock a field of
/// the stream class or its event classes maps to; else, when the stream has
/// unmapped `timestamp` (event header) or `timestamp_begin`/`timestamp_end`
/// (packet context) integers, the trace's only clock, or an implicit 1 GHz
/// clock named `default` when the trace declares none (babeltrace2's rule).
fn stream_clock(metadata: &mut Metadata, stream: usize) -> Option<usize> {
    let sc = &metadata.streams[stream];
    let scopes = [&sc.packet_context, &sc.event_header, &sc.event_context];
    let events = metadata
        .events
        .iter()
        .filter(|e| e.stream_id.is_none_or(|id| id == sc.id))
        .flat_map(|e| [&e.context, &e.fields]);
    let mapped = scopes
        .into_iter()
        .chain(events)
        .flatten()
        .find_map(|s| s.members.iter().find_map(|m| mapped_clock(&m.ty)));
    if let Some(name) = mapped {
        return metadata.clocks.iter().position(|c| c.name == name);
    }
    let implicit = sc.packet_context.as_ref().is_some_and(|p| {
        p.members.iter().any(|m| {
            matches!(m.name.as_str(), "timestamp_begin" | "timestamp_end")
                && matches!(&m.ty, FieldType::Int(i) if i.clock.is_none())
        })
    }) || sc
        .event_header
        .as_ref()
        .is_some_and(|h| has_unmapped_timestamp(&h.members));
    if !implicit {
        return None;
    }
    if metadata.clocks.is_empty() {
        metadata.clocks.push(Clock {
            name: "default".into(),
            uuid: None,
            description: None,
            freq: 1_000_000_000,
            precision: 0,
            offset_s: 0,
            offset: 0,
            absolute: false,
        });
    }
    Some(0)
}

fn mapped_clock(ty: &FieldType) -> Option<&str> {
    match ty {
        FieldType::Int(i) => i.clock.as_deref(),
        FieldType::Enum(e) => e.container.clock.as_deref(),
        FieldType::Struct(s) => s.members.iter().find_map(|m| mapped_clock(&m.ty)),
        FieldType::Variant(v) => v.options.iter().find_map(|m| mapped_clock(&m.ty)),
        FieldType::Array(a) => mapped_clock(&a.element),
        FieldType::Sequence(s) => mapped_clock(&s.element),
        _ => None,
    }
}

fn has_unmapped_timestamp(members: &[Member]) -> bool {
    members.iter().any(|m| match &m.ty {
        FieldType::Int(i) => m.name == "timestamp" && i.clock.is_none(),
        FieldType::Struct(s) => has_unmapped_timestamp(&s.members),
        FieldType::Variant(v) => has_unmapped_timestamp(&v.options),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_event_ids_are_found() {
        let text = r#"/* CTF 1.8 */
            typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
            trace { major = 1; minor = 8; byte_order = le; };
            stream { event.header := struct { uint32_t id; }; };
            event { name = "small"; id = 7; };
            event { name = "large"; id = 70000; };
            event { name = "huge"; id = 4000000000; };"#;
        let t = CompiledTrace::new(crate::metadata::parse(text).unwrap()).unwrap();
        let s = &t.streams[0];
        for (id, name) in [(7, "small"), (70000, "large"), (4_000_000_000, "huge")] {
            let i = s.event_index(id).expect("event found");
            assert_eq!(t.metadata.events[s.events[i].class].name, name);
        }
        assert!(s.event_index(8).is_none());
    }
}
