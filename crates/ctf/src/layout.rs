//! Compiles metadata types into a decoding layout: an arena of nodes with
//! field references (sequence lengths, variant tags) resolved to registers,
//! and the fields with a special meaning (packet sizes, event ids, clock
//! values) marked, so the per-event decoder never looks anything up by name.

use crate::metadata::{ByteOrder, EnumType, FieldRef, FieldType, StructType};

/// Index of a node in a [`Layout`].
pub type NodeId = u32;

/// What to do with a decoded integer beyond storing it in its slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntAction {
    /// Save the value in this register (referenced as a length or tag).
    pub save: Option<u16>,
    /// Save the value in this special register (see [`Special`]).
    pub special: Option<Special>,
    /// The integer samples the stream's clock: update the current value.
    pub clock: bool,
}

impl IntAction {
    /// Whether the integer needs nothing beyond its slot.
    #[inline(always)]
    pub fn is_none(&self) -> bool {
        self.save.is_none() && self.special.is_none() && !self.clock
    }
}

/// Fields whose value has a meaning for the reader, found by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Special {
    Magic,
    StreamId,
    StreamInstanceId,
    TimestampBegin,
    TimestampEnd,
    ContentSize,
    PacketSize,
    PacketSeqNum,
    EventsDiscarded,
    EventId,
}

/// Number of [`Special`] registers.
pub const SPECIALS: usize = 10;

/// One decoding step.
#[derive(Debug, Clone)]
pub enum Node {
    Int {
        size: u8,
        align: u32,
        order: ByteOrder,
        signed: bool,
        action: IntAction,
    },
    Float {
        size: u8,
        align: u32,
        order: ByteOrder,
    },
    String,
    /// A byte array or sequence with a text encoding: decoded as one string.
    Text {
        len: Length,
        align: u32,
    },
    Struct {
        align: u32,
        members: Vec<NodeId>,
    },
    Array {
        len: Length,
        align: u32,
        element: NodeId,
    },
    Variant {
        tag: u16,
        tag_signed: bool,
        /// (low, high, option index) in mapping order; the first match wins.
        choices: Vec<(i128, i128, u32)>,
        options: Vec<NodeId>,
    },
    /// The `uuid` field of a packet header: a 16-byte array checked as a whole.
    Uuid {
        align: u32,
    },
}

/// Length of an array (fixed) or a sequence (a register).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Fixed(u64),
    Register(u16),
}

/// The root scopes of an event, in decoding order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    PacketHeader,
    PacketContext,
    EventHeader,
    StreamEventContext,
    EventContext,
    EventFields,
}

impl Scope {
    fn prefix(self) -> &'static [&'static str] {
        match self {
            Scope::PacketHeader => &["trace", "packet", "header"],
            Scope::PacketContext => &["stream", "packet", "context"],
            Scope::EventHeader => &["stream", "event", "header"],
            Scope::StreamEventContext => &["stream", "event", "context"],
            Scope::EventContext => &["event", "context"],
            Scope::EventFields => &["event", "fields"],
        }
    }
}

/// A compile error: a reference that does not resolve, a tag that is not
/// an enumeration, a length that is not an unsigned integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LayoutError(pub String);

/// Whether a field type decodes as a string (text array or sequence).
pub fn is_text(ty: &FieldType) -> bool {
    let element = match ty {
        FieldType::Array(a) => &a.element,
        FieldType::Sequence(s) => &s.element,
        _ => return false,
    };
    matches!(&**element, FieldType::Int(i)
        if i.size == 8 && i.align % 8 == 0 && i.encoding != crate::metadata::Encoding::None)
}

/// A named node visible to later references.
struct Visible {
    name: String,
    node: NodeId,
    /// The type (needed to follow `a.b` paths and to read enum mappings).
    ty: FieldType,
}

/// The arena of compiled nodes plus the register count.
#[derive(Debug, Default, Clone)]
pub struct Layout {
    pub nodes: Vec<Node>,
    pub registers: u16,
}

/// Compiles scopes one after the other, keeping each finished root scope
/// visible to the next (an event payload may refer to its header).
#[derive(Default)]
pub struct Compiler {
    pub layout: Layout,
    /// Finished root scopes: their top-level members, by scope.
    roots: Vec<(Scope, Vec<Visible>)>,
    /// The frames of the scope being compiled, innermost last.
    frames: Vec<Vec<Visible>>,
    scope: Option<Scope>,
}

impl Compiler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles a root scope; returns its struct node.
    pub fn compile_scope(&mut self, scope: Scope, ty: &StructType) -> Result<NodeId, LayoutError> {
        self.scope = Some(scope);
        self.frames.clear();
        let id = self.compile_struct(ty, true)?;
        let top = self.frames.pop().unwrap_or_default();
        self.roots.retain(|(s, _)| *s != scope);
        self.roots.push((scope, top));
        self.scope = None;
        Ok(id)
    }

    /// Forgets a root scope (e.g. one event's payload before the next).
    pub fn drop_scope(&mut self, scope: Scope) {
        self.roots.retain(|(s, _)| *s != scope);
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.layout.nodes.push(node);
        (self.layout.nodes.len() - 1) as NodeId
    }

    /// Compiles a struct; `keep_frame` leaves its frame on the stack for
    /// the caller (root scopes keep their members visible).
    fn compile_struct(&mut self, ty: &StructType, keep_frame: bool) -> Result<NodeId, LayoutError> {
        self.frames.push(Vec::new());
        let mut members = Vec::with_capacity(ty.members.len());
        for m in &ty.members {
            let id = self.compile(&m.ty, Some(&m.name))?;
            members.push(id);
            if let Some(frame) = self.frames.last_mut() {
                frame.push(Visible {
                    name: m.name.clone(),
                    node: id,
                    ty: m.ty.clone(),
                });
            }
        }
        if !keep_frame {
            self.frames.pop();
        }
        Ok(self.push(Node::Struct {
            align: ty.align(),
            members,
        }))
    }

    fn compile(&mut self, ty: &FieldType, name: Option<&str>) -> Result<NodeId, LayoutError> {
        Ok(match ty {
            FieldType::Int(i) => {
                let special = name.and_then(|n| self.special_for(n));
                let action = IntAction {
                    save: None,
                    special,
                    // The packet end time never moves the stream clock.
                    clock: special != Some(Special::TimestampEnd)
                        && (i.clock.is_some()
                            || self.is_implicit_timestamp(name)
                            || special == Some(Special::TimestampBegin)),
                };
                self.push(Node::Int {
                    size: i.size as u8,
                    align: i.align,
                    order: i.byte_order,
                    signed: i.signed,
                    action,
                })
            }
            FieldType::Enum(e) => {
                let i = &e.container;
                let action = IntAction {
                    save: None,
                    special: name.and_then(|n| self.special_for(n)),
                    clock: i.clock.is_some(),
                };
                self.push(Node::Int {
                    size: i.size as u8,
                    align: i.align,
                    order: i.byte_order,
                    signed: i.signed,
                    action,
                })
            }
            FieldType::Float(f) => {
                let size = f.size();
                if size != 32 && size != 64 {
                    return Err(LayoutError(format!(
                        "unsupported floating point size {size} bits"
                    )));
                }
                self.push(Node::Float {
                    size: size as u8,
                    align: f.align,
                    order: f.byte_order,
                })
            }
            FieldType::String(_) => self.push(Node::String),
            FieldType::Struct(s) => self.compile_struct(s, false)?,
            FieldType::Array(a) => {
                if name == Some("uuid")
                    && self.scope == Some(Scope::PacketHeader)
                    && a.length == 16
                    && matches!(&*a.element, FieldType::Int(i) if i.size == 8)
                {
                    return Ok(self.push(Node::Uuid {
                        align: a.element.align(),
                    }));
                }
                self.compile_array(ty, &a.element, Length::Fixed(a.length))?
            }
            FieldType::Sequence(s) => {
                let reg = self.resolve_length(&s.length)?;
                self.compile_array(ty, &s.element, Length::Register(reg))?
            }
            FieldType::Variant(v) => {
                let (reg, tag_signed, tag) = self.resolve_tag(&v.tag)?;
                let mut options = Vec::with_capacity(v.options.len());
                for o in &v.options {
                    options.push(self.compile(&o.ty, Some(&o.name))?);
                }
                let mut choices = Vec::new();
                for m in &tag.mappings {
                    let Some(idx) = option_for_label(&v.options, &m.label) else {
                        continue;
                    };
                    for &(lo, hi) in &m.ranges {
                        choices.push((lo, hi, idx as u32));
                    }
                }
                self.push(Node::Variant {
                    tag: reg,
                    tag_signed,
                    choices,
                    options,
                })
            }
        })
    }

    fn compile_array(
        &mut self,
        ty: &FieldType,
        element: &FieldType,
        len: Length,
    ) -> Result<NodeId, LayoutError> {
        let align = element.align();
        if is_text(ty) {
            return Ok(self.push(Node::Text { len, align }));
        }
        // Element references resolve inside the element, not the array.
        let element = self.compile(element, None)?;
        Ok(self.push(Node::Array {
            len,
            align,
            element,
        }))
    }

    /// Babeltrace gives meaning to fields by name in the packet header,
    /// packet context and event header.
    fn special_for(&self, name: &str) -> Option<Special> {
        let top_level = self.frames.len() == 1;
        match self.scope? {
            Scope::PacketHeader if top_level => match name {
                "magic" => Some(Special::Magic),
                "stream_id" => Some(Special::StreamId),
                "stream_instance_id" => Some(Special::StreamInstanceId),
                _ => None,
            },
            Scope::PacketContext if top_level => match name {
                "timestamp_begin" => Some(Special::TimestampBegin),
                "timestamp_end" => Some(Special::TimestampEnd),
                "content_size" => Some(Special::ContentSize),
                "packet_size" => Some(Special::PacketSize),
                "packet_seq_num" => Some(Special::PacketSeqNum),
                "events_discarded" => Some(Special::EventsDiscarded),
                _ => None,
            },
            Scope::EventHeader if name == "id" => Some(Special::EventId),
            _ => None,
        }
    }

    /// Unmapped integers named `timestamp` in the event header sample the
    /// trace's clock (babeltrace's implicit mapping).
    fn is_implicit_timestamp(&self, name: Option<&str>) -> bool {
        self.scope == Some(Scope::EventHeader) && name == Some("timestamp")
    }

    fn resolve(&mut self, path: &FieldRef) -> Result<(NodeId, FieldType), LayoutError> {
        let parts = &path.0;
        let shown = parts.join(".");
        let Some(first) = parts.first() else {
            return Err(LayoutError("empty field reference".into()));
        };
        // Absolute path: a scope prefix then members.
        for (scope, members) in &self.roots {
            let prefix = scope.prefix();
            if parts.len() > prefix.len() && parts[..prefix.len()].iter().eq(prefix.iter()) {
                return follow(&self.layout.nodes, members, &parts[prefix.len()..]).ok_or_else(
                    || LayoutError(format!("cannot resolve field reference `{shown}`")),
                );
            }
        }
        if let Some(scope) = self.scope {
            let prefix = scope.prefix();
            if parts.len() > prefix.len() && parts[..prefix.len()].iter().eq(prefix.iter()) {
                let rest = &parts[prefix.len()..];
                if let Some(frame) = self.frames.first() {
                    if let Some(found) = follow(&self.layout.nodes, frame, rest) {
                        return Ok(found);
                    }
                }
                return Err(LayoutError(format!(
                    "cannot resolve field reference `{shown}`"
                )));
            }
        }
        // Relative: innermost frame outward, then earlier root scopes.
        for frame in self.frames.iter().rev() {
            if frame.iter().any(|v| &v.name == first) {
                if let Some(found) = follow(&self.layout.nodes, frame, parts) {
                    return Ok(found);
                }
            }
        }
        for (_, members) in self.roots.iter().rev() {
            if let Some(found) = follow(&self.layout.nodes, members, parts) {
                return Ok(found);
            }
        }
        Err(LayoutError(format!(
            "cannot resolve field reference `{shown}`"
        )))
    }

    fn register_for(&mut self, node: NodeId) -> u16 {
        match &mut self.layout.nodes[node as usize] {
            Node::Int { action, .. } => {
                if let Some(r) = action.save {
                    return r;
                }
                let r = self.layout.registers;
                action.save = Some(r);
                self.layout.registers += 1;
                r
            }
            _ => u16::MAX,
        }
    }

    fn resolve_length(&mut self, path: &FieldRef) -> Result<u16, LayoutError> {
        let (node, ty) = self.resolve(path)?;
        match ty {
            FieldType::Int(i) if !i.signed => Ok(self.register_for(node)),
            FieldType::Enum(e) if !e.container.signed => Ok(self.register_for(node)),
            _ => Err(LayoutError(format!(
                "sequence length `{}` is not an unsigned integer",
                path.0.join(".")
            ))),
        }
    }

    fn resolve_tag(&mut self, path: &FieldRef) -> Result<(u16, bool, EnumType), LayoutError> {
        let (node, ty) = self.resolve(path)?;
        match ty {
            FieldType::Enum(e) => Ok((self.register_for(node), e.container.signed, e)),
            _ => Err(LayoutError(format!(
                "variant tag `{}` is not an enumeration",
                path.0.join(".")
            ))),
        }
    }
}

/// Follows `parts` through `members` and nested structs.
fn follow(nodes: &[Node], members: &[Visible], parts: &[String]) -> Option<(NodeId, FieldType)> {
    let (first, rest) = parts.split_first()?;
    let v = members.iter().rev().find(|v| &v.name == first)?;
    let mut node = v.node;
    let mut ty = v.ty.clone();
    for part in rest {
        let (FieldType::Struct(s), Node::Struct { members, .. }) = (&ty, &nodes[node as usize])
        else {
            return None;
        };
        let idx = s.members.iter().position(|m| &m.name == part)?;
        node = *members.get(idx)?;
        ty = s.members[idx].ty.clone();
    }
    Some((node, ty))
}

/// The option a variant selects for an enum label: exact name first, then
/// LTTng's `_`-prefixed option names.
fn option_for_label(options: &[crate::metadata::Member], label: &str) -> Option<usize> {
    options
        .iter()
        .position(|o| o.name == label)
        .or_else(|| {
            options
                .iter()
                .position(|o| o.name.strip_prefix('_') == Some(label))
        })
        .or_else(|| {
            let stripped = label.strip_prefix('_')?;
            options.iter().position(|o| o.name == stripped)
        })
}
