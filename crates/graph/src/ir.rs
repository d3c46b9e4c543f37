//! Field classes as babeltrace2's trace IR exposes them: names without
//! LTTng's leading underscore, text arrays as strings, and the fields that
//! only carry meaning for the decoder (packet sizes, clock values) hidden
//! unless another field refers to them. Built once per trace from the
//! metadata and its compiled layout; sinks print from these.

use ltt_ctf::compiled::{CompiledTrace, Root};
use ltt_ctf::decode::Slot;
use ltt_ctf::layout::{Layout, Node, NodeId};
use ltt_ctf::metadata::{DisplayBase, EnumMapping, FieldType, StructType};

/// A field class.
#[derive(Debug, Clone)]
pub enum FieldClass {
    Int {
        signed: bool,
        size: u32,
        base: DisplayBase,
        hidden: bool,
    },
    Enum {
        signed: bool,
        size: u32,
        base: DisplayBase,
        mappings: Vec<EnumMapping>,
        hidden: bool,
    },
    Float {
        double: bool,
    },
    String,
    Struct {
        members: Vec<(String, FieldClass)>,
        hidden: bool,
    },
    StaticArray {
        len: u64,
        element: Box<FieldClass>,
    },
    DynamicArray {
        element: Box<FieldClass>,
    },
    Variant {
        options: Vec<(String, FieldClass)>,
    },
}

impl FieldClass {
    /// Whether the field is left out of the IR.
    pub fn hidden(&self) -> bool {
        matches!(
            self,
            FieldClass::Int { hidden: true, .. }
                | FieldClass::Enum { hidden: true, .. }
                | FieldClass::Struct { hidden: true, .. }
        )
    }
}

/// Field classes of one event class.
#[derive(Debug, Clone, Default)]
pub struct EventIr {
    pub specific_context: Option<FieldClass>,
    pub payload: Option<FieldClass>,
}

/// Field classes of one stream class.
#[derive(Debug, Clone, Default)]
pub struct StreamIr {
    pub packet_context: Option<FieldClass>,
    pub common_context: Option<FieldClass>,
    /// By index in the compiled stream's `events`.
    pub events: Vec<EventIr>,
}

/// Builds the IR of every stream class of a trace.
pub fn build(trace: &CompiledTrace) -> Vec<StreamIr> {
    let m = &trace.metadata;
    trace
        .streams
        .iter()
        .map(|cs| {
            let sc = &m.streams[cs.class];
            StreamIr {
                packet_context: root(
                    &trace.layout,
                    sc.packet_context.as_ref(),
                    cs.packet_context,
                    true,
                ),
                common_context: root(
                    &trace.layout,
                    sc.event_context.as_ref(),
                    cs.event_context,
                    false,
                ),
                events: cs
                    .events
                    .iter()
                    .map(|ce| {
                        let ec = &m.events[ce.class];
                        EventIr {
                            specific_context: root(
                                &trace.layout,
                                ec.context.as_ref(),
                                ce.context,
                                false,
                            ),
                            payload: root(&trace.layout, ec.fields.as_ref(), ce.fields, false),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

fn root(
    layout: &Layout,
    ty: Option<&StructType>,
    root: Option<Root>,
    packet_context: bool,
) -> Option<FieldClass> {
    let (ty, node) = (ty?, root?.node);
    let fc = structure(layout, ty, node, packet_context);
    (!fc.hidden()).then_some(fc)
}

/// The packet context members babeltrace2 consumes itself.
fn is_special_packet_member(name: &str) -> bool {
    matches!(
        name,
        "timestamp_begin"
            | "timestamp_end"
            | "content_size"
            | "packet_size"
            | "packet_seq_num"
            | "events_discarded"
    )
}

/// Strips the one leading underscore CTF readers remove from field names.
pub fn strip(name: &str) -> String {
    name.strip_prefix('_').unwrap_or(name).to_owned()
}

fn structure(layout: &Layout, ty: &StructType, node: NodeId, packet_context: bool) -> FieldClass {
    let Node::Struct { members: ids, .. } = &layout.nodes[node as usize] else {
        return FieldClass::Struct {
            members: Vec::new(),
            hidden: true,
        };
    };
    let members: Vec<(String, FieldClass)> = ty
        .members
        .iter()
        .zip(ids)
        .map(|(m, &id)| {
            let special = packet_context && is_special_packet_member(&m.name);
            (strip(&m.name), class(layout, &m.ty, id, special))
        })
        .collect();
    let hidden = !members.is_empty() && members.iter().all(|(_, f)| f.hidden());
    FieldClass::Struct { members, hidden }
}

fn class(layout: &Layout, ty: &FieldType, node: NodeId, special: bool) -> FieldClass {
    let n = &layout.nodes[node as usize];
    let referenced = matches!(n, Node::Int { action, .. } if action.save.is_some());
    match ty {
        FieldType::Int(i) => FieldClass::Int {
            signed: i.signed,
            size: i.size,
            base: i.base,
            hidden: (special || i.clock.is_some()) && !referenced,
        },
        FieldType::Enum(e) => FieldClass::Enum {
            signed: e.container.signed,
            size: e.container.size,
            base: e.container.base,
            mappings: e.mappings.clone(),
            hidden: (special || e.container.clock.is_some()) && !referenced,
        },
        FieldType::Float(f) => FieldClass::Float {
            double: f.size() == 64,
        },
        FieldType::String(_) => FieldClass::String,
        FieldType::Struct(s) => structure(layout, s, node, false),
        FieldType::Array(a) => match n {
            Node::Array { element, .. } => FieldClass::StaticArray {
                len: a.length,
                element: Box::new(class(layout, &a.element, *element, false)),
            },
            _ => FieldClass::String,
        },
        FieldType::Sequence(s) => match n {
            Node::Array { element, .. } => FieldClass::DynamicArray {
                element: Box::new(class(layout, &s.element, *element, false)),
            },
            _ => FieldClass::String,
        },
        FieldType::Variant(v) => match n {
            Node::Variant { options, .. } => FieldClass::Variant {
                options: v
                    .options
                    .iter()
                    .zip(options)
                    .map(|(o, &id)| (strip(&o.name), class(layout, &o.ty, id, false)))
                    .collect(),
            },
            _ => FieldClass::Variant {
                options: Vec::new(),
            },
        },
    }
}

/// Skips the slots of a field (one not printed, or not the one sought).
pub fn skip(fc: &FieldClass, slots: &[Slot], i: &mut usize) {
    match fc {
        FieldClass::Struct { members, .. } => {
            for (_, m) in members {
                skip(m, slots, i);
            }
        }
        FieldClass::StaticArray { element, .. } | FieldClass::DynamicArray { element } => {
            let n = if let Some(Slot::Len(n)) = slots.get(*i) {
                *n
            } else {
                0
            };
            *i += 1;
            for _ in 0..n {
                skip(element, slots, i);
            }
        }
        FieldClass::Variant { options } => {
            let k = if let Some(Slot::Option(k)) = slots.get(*i) {
                *k as usize
            } else {
                0
            };
            *i += 1;
            if let Some((_, o)) = options.get(k) {
                skip(o, slots, i);
            }
        }
        _ => *i += 1,
    }
}
