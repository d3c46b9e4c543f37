//! What is known statically about an event's body (stream event context,
//! event context, payload), so readers can skip decoding bodies nobody
//! looks at: a sink that discards events, or one that copies packed bodies
//! as bytes, only needs to know where the next event starts.

use crate::layout::{Layout, Length, Node, NodeId};
use crate::metadata::{FieldType, StructType};

/// Which events need their bodies decoded into slots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Bodies {
    /// Every event's (the default).
    #[default]
    All,
    /// Only those of event classes that are not [packed]: the
    /// others are copied as bytes.
    Unpacked,
    /// None: only the event class and time matter (the header's slots
    /// may be left out too).
    None,
}

impl Bodies {
    /// Whether a body of a class with the given packing needs its slots.
    #[inline]
    pub fn needs(self, packed: bool) -> bool {
        match self {
            Bodies::All => true,
            Bodies::Unpacked => !packed,
            Bodies::None => false,
        }
    }
}

/// Whether the body scopes align nothing beyond a byte: then every field
/// keeps its position relative to a byte-aligned body start, and the body
/// can be copied as bytes to another such start.
pub fn packed(scopes: &[Option<&StructType>]) -> bool {
    scopes
        .iter()
        .flatten()
        .all(|s| s.min_align <= 8 && s.members.iter().all(|m| max_align(&m.ty) <= 8))
}

/// The largest alignment anywhere inside a field type.
fn max_align(ty: &FieldType) -> u32 {
    match ty {
        FieldType::Struct(s) => s
            .members
            .iter()
            .map(|m| max_align(&m.ty))
            .fold(s.min_align, u32::max),
        FieldType::Variant(v) => v.options.iter().map(|m| max_align(&m.ty)).fold(1, u32::max),
        FieldType::Array(a) => max_align(&a.element),
        FieldType::Sequence(q) => max_align(&q.element),
        other => other.align(),
    }
}

/// The size in bits of the body made of `roots` when it starts on a byte
/// boundary, if it is always the same and decoding it leaves nothing
/// behind (no register, special field or clock update): then skipping
/// that many bits is all decoding it would do, truncation aside.
pub fn fixed_bits(layout: &Layout, roots: &[Option<NodeId>]) -> Option<u64> {
    roots
        .iter()
        .flatten()
        .try_fold(0u64, |acc, &n| acc.checked_add(node_bits(layout, n)?))
}

/// [`fixed_bits`] of one node: whole bytes all along, so positions stay
/// byte-aligned and alignments of at most a byte add no padding.
fn node_bits(layout: &Layout, node: NodeId) -> Option<u64> {
    match &layout.nodes[node as usize] {
        Node::Int {
            size,
            align,
            action,
            ..
        } => (action.is_none() && size % 8 == 0 && *align <= 8).then_some(*size as u64),
        Node::Float { size, align, .. } => (size % 8 == 0 && *align <= 8).then_some(*size as u64),
        Node::Struct { align, members } if *align <= 8 => members
            .iter()
            .try_fold(0u64, |acc, &m| acc.checked_add(node_bits(layout, m)?)),
        Node::Text {
            len: Length::Fixed(n),
            align,
        } if *align <= 8 => n.checked_mul(8),
        // Zero-sized elements are left to the decoder: it bounds their
        // count.
        Node::Array {
            len: Length::Fixed(n),
            align,
            element,
        } if *align <= 8 => match node_bits(layout, *element)? {
            0 => None,
            bits => n.checked_mul(bits),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::compiled::CompiledTrace;

    #[test]
    fn fixed_bodies_are_whole_bytes_without_actions() {
        let text = r#"/* CTF 1.8 */
            typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
            typealias integer { size = 32; align = 32; signed = false; } := uint32_t;
            typealias integer { size = 4; align = 1; signed = false; } := uint4_t;
            trace { major = 1; minor = 8; byte_order = le; };
            event { name = "ints"; id = 0; fields := struct { uint8_t a; uint8_t b[3]; }; };
            event { name = "seq"; id = 1; fields := struct { uint8_t n; uint8_t s[n]; }; };
            event { name = "aligned"; id = 2; fields := struct { uint8_t a; uint32_t b; }; };
            event { name = "bits"; id = 3; fields := struct { uint4_t a; uint4_t b; }; };
            event { name = "text"; id = 4; fields := struct { string s; }; };"#;
        let t = CompiledTrace::new(crate::metadata::parse(text).unwrap()).unwrap();
        let fixed: Vec<_> = t.streams[0].events.iter().map(|e| e.fixed_body).collect();
        assert_eq!(fixed, [Some(32), None, None, None, None]);
        let packed: Vec<_> = t.streams[0].events.iter().map(|e| e.packed).collect();
        assert_eq!(packed, [true, true, false, true, true]);
    }
}
