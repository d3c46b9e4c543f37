//! Random schemas and random values through the writer and the reader:
//! for random metadata (TSDL printed and parsed back), random values are
//! encoded for every event class with the layout's encoder and decoded
//! with the layout's program; the decoded values must equal the written
//! ones, and decoding must end exactly where encoding did.

use std::collections::HashMap;

use ltt_ctf::bits::BitReader;
use ltt_ctf::compiled::{CompiledTrace, Root};
use ltt_ctf::decode::{DecodeState, Frames, Slot};
use ltt_ctf::encode::Encoder;
use ltt_ctf::layout::{Layout, Length, Node, NodeId};
use ltt_ctf::metadata::{parse, ByteOrder, FieldType, Metadata};
use ltt_ctf::write::random::random_metadata;
use ltt_ctf::write::{to_tsdl, BitWriter};
use proptest::prelude::*;

/// A tiny deterministic generator (proptest supplies the seeds).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What a register feeds: a variant tag (valid values) or a length.
fn register_uses(layout: &Layout) -> HashMap<u16, Vec<(i128, i128)>> {
    let mut tags = HashMap::new();
    for n in &layout.nodes {
        if let Node::Variant { tag, choices, .. } = n {
            tags.insert(*tag, choices.iter().map(|&(lo, hi, _)| (lo, hi)).collect());
        }
    }
    tags
}

/// Generates slots for `node` in decoding order; strings go to `bytes`.
struct Gen<'a> {
    layout: &'a Layout,
    tags: HashMap<u16, Vec<(i128, i128)>>,
    regs: HashMap<u16, u64>,
    rng: Rng,
    bytes: Vec<u8>,
}

impl Gen<'_> {
    fn string(&mut self, max: u64) -> Slot {
        let len = (self.rng.next() % (max + 1)).min(12);
        let off = self.bytes.len() as u32;
        for _ in 0..len {
            self.bytes.push(b'a' + (self.rng.next() % 26) as u8);
        }
        Slot::Str {
            off,
            len: len as u32,
        }
    }

    fn slots(&mut self, node: NodeId, out: &mut Vec<Slot>) {
        match self.layout.nodes[node as usize].clone() {
            Node::Int {
                size,
                signed,
                action,
                ..
            } => {
                let mask = if size == 64 {
                    u64::MAX
                } else {
                    (1u64 << size) - 1
                };
                let mut raw = self.rng.next() & mask;
                if let Some(r) = action.save {
                    raw = match self.tags.get(&r) {
                        // A tag: pick a value one of the variant's ranges holds.
                        Some(ranges) if !ranges.is_empty() => {
                            let (lo, _) = ranges[(self.rng.next() % ranges.len() as u64) as usize];
                            (lo as i64 as u64) & mask
                        }
                        // A length: keep it small.
                        _ => self.rng.next() % 4,
                    };
                    self.regs.insert(r, raw);
                }
                out.push(if signed {
                    let shift = 64 - size as u32;
                    Slot::Sint(((raw << shift) as i64) >> shift)
                } else {
                    Slot::Uint(raw)
                });
            }
            Node::Float { size, .. } => {
                let v = (self.rng.next() % 1_000_000) as f64 / 7.0;
                out.push(Slot::Float(if size == 32 { v as f32 as f64 } else { v }));
            }
            Node::String => {
                let s = self.string(12);
                out.push(s);
            }
            Node::Uuid { .. } => {
                let off = self.bytes.len() as u32;
                self.bytes.extend_from_slice(&[7; 16]);
                out.push(Slot::Str { off, len: 16 });
            }
            Node::Text { len, .. } => {
                let n = self.length(len);
                let s = self.string(n);
                out.push(s);
            }
            Node::Struct { members, .. } => {
                for m in members {
                    self.slots(m, out);
                }
            }
            Node::Array { len, element, .. } => {
                let n = self.length(len);
                out.push(Slot::Len(n));
                for _ in 0..n {
                    self.slots(element, out);
                }
            }
            Node::Variant {
                tag,
                choices,
                options,
                ..
            } => {
                let value = self.regs.get(&tag).copied().unwrap_or(0);
                let choice = choices
                    .iter()
                    .find(|&&(lo, hi, _)| {
                        let v = value as i128;
                        let sv = value as i64 as i128;
                        (lo <= v && v <= hi) || (lo <= sv && sv <= hi)
                    })
                    .map_or(0, |c| c.2);
                out.push(Slot::Option(choice));
                self.slots(options[choice as usize], out);
            }
        }
    }

    fn length(&mut self, len: Length) -> u64 {
        match len {
            Length::Fixed(n) => n,
            Length::Register(r) => self.regs.get(&r).copied().unwrap_or(0),
        }
    }
}

/// Compares slots, strings by content.
fn same(a: &[Slot], ab: &[u8], b: &[Slot], bb: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Slot::Str { off: o1, len: l1 }, Slot::Str { off: o2, len: l2 }) => {
                ab[*o1 as usize..(*o1 + *l1) as usize] == bb[*o2 as usize..(*o2 + *l2) as usize]
            }
            (Slot::Float(f), Slot::Float(g)) => f.to_bits() == g.to_bits(),
            _ => x == y,
        })
}

/// Gives every scalar the trace's byte order. Random layouts otherwise
/// switch byte order inside a byte, which CTF forbids (the reader refuses
/// such fields; see `bits::tests`).
fn one_byte_order(m: &mut Metadata) {
    fn fix(t: &mut FieldType, bo: ByteOrder) {
        match t {
            FieldType::Int(i) => i.byte_order = bo,
            FieldType::Enum(e) => e.container.byte_order = bo,
            FieldType::Float(f) => f.byte_order = bo,
            FieldType::String(_) => {}
            FieldType::Struct(s) => s.members.iter_mut().for_each(|m| fix(&mut m.ty, bo)),
            FieldType::Variant(v) => v.options.iter_mut().for_each(|m| fix(&mut m.ty, bo)),
            FieldType::Array(a) => fix(&mut a.element, bo),
            FieldType::Sequence(q) => fix(&mut q.element, bo),
        }
    }
    let bo = m.trace.byte_order;
    let structs = m
        .trace
        .packet_header
        .iter_mut()
        .chain(m.streams.iter_mut().flat_map(|s| {
            [
                &mut s.packet_context,
                &mut s.event_header,
                &mut s.event_context,
            ]
            .into_iter()
            .flatten()
        }))
        .chain(
            m.events
                .iter_mut()
                .flat_map(|e| [&mut e.context, &mut e.fields].into_iter().flatten()),
        );
    for st in structs {
        st.members.iter_mut().for_each(|m| fix(&mut m.ty, bo));
    }
}

fn roundtrip(seed: u64) -> Result<(), TestCaseError> {
    let mut m = random_metadata(seed);
    one_byte_order(&mut m);
    let m = parse(&to_tsdl(&m))
        .map_err(|e| TestCaseError::fail(format!("seed {seed}: reparse: {e}")))?;
    let Ok(trace) = CompiledTrace::new(m) else {
        return Ok(()); // schemas the layout rejects are covered elsewhere
    };
    // Each event's scopes in decoding order, encoded one after the other
    // into one packet (a scope may refer to an earlier one's fields).
    let mut chains: Vec<Vec<Root>> = Vec::new();
    for s in &trace.streams {
        let head = [
            trace.packet_header,
            s.packet_context,
            s.event_header,
            s.event_context,
        ];
        for e in &s.events {
            chains.push(
                head.into_iter()
                    .chain([e.context, e.fields])
                    .flatten()
                    .collect(),
            );
        }
    }
    for chain in chains {
        let mut g = Gen {
            layout: &trace.layout,
            tags: register_uses(&trace.layout),
            regs: HashMap::new(),
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            bytes: Vec::new(),
        };
        let mut w = BitWriter::new();
        let mut encoder = Encoder::new(&trace.layout);
        let mut written = Vec::new();
        for root in &chain {
            let mut scope = Vec::new();
            g.slots(root.node, &mut scope);
            let mut i = 0;
            encoder
                .encode(&trace.layout, root.node, &scope, &mut i, &g.bytes, &mut w)
                .map_err(|e| TestCaseError::fail(format!("seed {seed}: encode: {e}")))?;
            written.push(scope);
        }
        let end = w.bit_position();
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes, end);
        let mut state = DecodeState::new(&trace.layout);
        let mut frames = Frames::default();
        for (root, want) in chain.iter().zip(&written) {
            let mut read = Vec::new();
            state
                .run(&trace.programs, root.prog, &mut r, &mut read, &mut frames)
                .map_err(|e| TestCaseError::fail(format!("seed {seed}: decode: {e}")))?;
            prop_assert!(
                same(want, &g.bytes, &read, &bytes),
                "seed {}: values differ:\n wrote {:?}\n read  {:?}",
                seed,
                want,
                read
            );
        }
        prop_assert_eq!(r.pos(), end, "seed {}: decoding stopped elsewhere", seed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_schemas_and_values_round_trip(seed in 1u64..u64::MAX) {
        roundtrip(seed)?;
    }
}
