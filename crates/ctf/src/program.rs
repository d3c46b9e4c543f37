//! Layouts flattened into straight-line programs for the decoder: structs
//! dissolve into their members (an alignment op where needed), so decoding
//! an event is one loop over ops, recursing only into array elements and
//! variant options.

use crate::header::LttngHeader;
use crate::layout::{IntAction, Layout, Length, Node, NodeId};
use crate::metadata::ByteOrder;

/// Index of a program.
pub type ProgId = u32;

/// One decoding step.
#[derive(Debug, Clone)]
pub enum Op {
    Align(u32),
    /// An LTTng event header in one step; the generic ops it stands for
    /// follow it (see [`crate::header`]).
    LttngHeader(LttngHeader),
    /// Consecutive packed scalars (whole bytes, byte alignment, no
    /// actions): one bounds check, then plain loads. LTTng's x86 payloads
    /// are made of these.
    Run {
        order: ByteOrder,
        /// Total size in bytes.
        bytes: u32,
        /// Each field with its byte offset in the run.
        fields: Box<[(u32, RunField)]>,
    },
    /// A whole-byte, byte-aligned integer (the common case).
    IntBytes {
        bytes: u8,
        align: u32,
        order: ByteOrder,
        signed: bool,
        action: IntAction,
    },
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
    Uuid {
        align: u32,
    },
    Text {
        len: Length,
        align: u32,
    },
    /// An array of packed scalars (elements that could be [`RunField`]s)
    /// decoded in bulk; the generic [`Op::Array`] follows it, for arrays
    /// that do not fit the packet (it reports the error).
    ScalarArray {
        len: Length,
        align: u32,
        order: ByteOrder,
        field: RunField,
    },
    Array {
        len: Length,
        align: u32,
        element: ProgId,
    },
    Variant {
        tag: u16,
        tag_signed: bool,
        choices: Box<[(i128, i128, u32)]>,
        options: Box<[ProgId]>,
    },
}

/// One field of an [`Op::Run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunField {
    Uint(u8),
    Sint(u8),
    F32,
    F64,
}

impl RunField {
    /// Size in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            RunField::Uint(b) | RunField::Sint(b) => b as u32,
            RunField::F32 => 4,
            RunField::F64 => 8,
        }
    }
}

/// All programs of a trace.
#[derive(Debug, Clone, Default)]
pub struct Programs {
    ops: Vec<Op>,
    /// Op range of each program.
    ranges: Vec<(u32, u32)>,
}

impl Programs {
    /// The ops of program `p`.
    #[inline]
    pub fn ops(&self, p: ProgId) -> &[Op] {
        let (a, b) = self.ranges[p as usize];
        &self.ops[a as usize..b as usize]
    }

    /// Every op of every program; [`range`](Self::range) indexes into it.
    #[inline]
    pub fn all(&self) -> &[Op] {
        &self.ops
    }

    /// The op range of program `p` in [`all`](Self::all).
    #[inline]
    pub fn range(&self, p: ProgId) -> (u32, u32) {
        self.ranges[p as usize]
    }

    /// Flattens the layout tree rooted at `node` into a new program.
    pub fn add(&mut self, layout: &Layout, node: NodeId) -> ProgId {
        let mut ops = Vec::new();
        self.flatten(layout, node, &mut ops);
        let ops = self.fuse_headers(fuse_runs(ops));
        let start = self.ops.len() as u32;
        self.ops.extend(ops);
        self.ranges.push((start, self.ops.len() as u32));
        (self.ranges.len() - 1) as ProgId
    }

    /// Puts a fused [`LttngHeader`] op before the generic ops of each
    /// LTTng event header.
    fn fuse_headers(&self, ops: Vec<Op>) -> Vec<Op> {
        let mut out = Vec::with_capacity(ops.len() + 1);
        for i in 0..ops.len() {
            if let Some(h) = LttngHeader::detect(&ops[i..], self) {
                out.push(Op::LttngHeader(h));
            }
            out.push(ops[i].clone());
        }
        out
    }

    fn flatten(&mut self, layout: &Layout, node: NodeId, ops: &mut Vec<Op>) {
        match &layout.nodes[node as usize] {
            Node::Struct { align, members } => {
                // The first member aligns itself; only a stricter struct
                // alignment needs its own op.
                let first = members.first().map_or(1, |&m| node_align(layout, m));
                if *align > first {
                    ops.push(Op::Align(*align));
                }
                for &m in members {
                    self.flatten(layout, m, ops);
                }
            }
            Node::Int {
                size,
                align,
                order,
                signed,
                action,
            } if *size % 8 == 0 && *align % 8 == 0 => ops.push(Op::IntBytes {
                bytes: *size / 8,
                align: *align,
                order: *order,
                signed: *signed,
                action: *action,
            }),
            Node::Int {
                size,
                align,
                order,
                signed,
                action,
            } => ops.push(Op::Int {
                size: *size,
                align: *align,
                order: *order,
                signed: *signed,
                action: *action,
            }),
            Node::Float { size, align, order } => ops.push(Op::Float {
                size: *size,
                align: *align,
                order: *order,
            }),
            Node::String => ops.push(Op::String),
            Node::Uuid { align } => ops.push(Op::Uuid { align: *align }),
            Node::Text { len, align } => ops.push(Op::Text {
                len: *len,
                align: *align,
            }),
            Node::Array {
                len,
                align,
                element,
            } => {
                let element = self.add(layout, *element);
                if let [op] = self.ops(element) {
                    if let Some((field, order)) = run_field(op) {
                        ops.push(Op::ScalarArray {
                            len: *len,
                            align: *align,
                            order,
                            field,
                        });
                    }
                }
                ops.push(Op::Array {
                    len: *len,
                    align: *align,
                    element,
                });
            }
            Node::Variant {
                tag,
                tag_signed,
                choices,
                options,
            } => {
                let options: Box<[ProgId]> = options.iter().map(|&o| self.add(layout, o)).collect();
                ops.push(Op::Variant {
                    tag: *tag,
                    tag_signed: *tag_signed,
                    choices: choices.clone().into_boxed_slice(),
                    options,
                });
            }
        }
    }
}

/// The alignment a node applies before its first bit.
fn node_align(layout: &Layout, node: NodeId) -> u32 {
    match &layout.nodes[node as usize] {
        Node::Int { align, .. } | Node::Float { align, .. } | Node::Struct { align, .. } => *align,
        Node::Array { align, .. } | Node::Text { align, .. } | Node::Uuid { align } => {
            (*align).max(1)
        }
        Node::String => 8,
        Node::Variant { .. } => 1,
    }
}

/// The run field an op can become: a whole-byte scalar with byte
/// alignment and no action.
fn run_field(op: &Op) -> Option<(RunField, ByteOrder)> {
    match op {
        Op::IntBytes {
            bytes,
            align: 8,
            order,
            signed,
            action,
        } if action.is_none() => Some((
            if *signed {
                RunField::Sint(*bytes)
            } else {
                RunField::Uint(*bytes)
            },
            *order,
        )),
        Op::Float {
            size,
            align: 8,
            order,
        } => Some((
            if *size == 32 {
                RunField::F32
            } else {
                RunField::F64
            },
            *order,
        )),
        _ => None,
    }
}

/// The single op for a lone run field.
fn run_op(f: RunField, order: ByteOrder) -> Op {
    let none = IntAction::default();
    match f {
        RunField::Uint(b) | RunField::Sint(b) => Op::IntBytes {
            bytes: b,
            align: 8,
            order,
            signed: matches!(f, RunField::Sint(_)),
            action: none,
        },
        RunField::F32 => Op::Float {
            size: 32,
            align: 8,
            order,
        },
        RunField::F64 => Op::Float {
            size: 64,
            align: 8,
            order,
        },
    }
}

/// Fuses consecutive run fields of one byte order into [`Op::Run`]s.
fn fuse_runs(ops: Vec<Op>) -> Vec<Op> {
    let mut out = Vec::with_capacity(ops.len());
    let mut run: Vec<RunField> = Vec::new();
    let mut run_order = ByteOrder::Little;
    let flush = |run: &mut Vec<RunField>, order: ByteOrder, out: &mut Vec<Op>| {
        match run.len() {
            0 => return,
            // A lone field decodes as fast on its own.
            1 => {
                out.push(run_op(run[0], order));
                run.clear();
                return;
            }
            _ => {}
        }
        let mut bytes = 0;
        let fields = run
            .drain(..)
            .map(|f| {
                bytes += f.bytes();
                (bytes - f.bytes(), f)
            })
            .collect();
        out.push(Op::Run {
            order,
            bytes,
            fields,
        });
    };
    for op in ops {
        match run_field(&op) {
            Some((f, order)) => {
                if !run.is_empty() && order != run_order {
                    flush(&mut run, run_order, &mut out);
                }
                run_order = order;
                run.push(f);
            }
            None => {
                flush(&mut run, run_order, &mut out);
                out.push(op);
            }
        }
    }
    flush(&mut run, run_order, &mut out);
    out
}
