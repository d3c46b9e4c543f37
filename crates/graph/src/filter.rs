//! `filter.ltt.filter`: keeps the events an LTTng filter expression
//! accepts (beyond babeltrace2, which has no expression filter). Payload
//! fields are found by name (`a.b` for nested members), contexts by
//! `$ctx.NAME` in the event's common context, specific context, then the
//! packet context (`cpu_id`); other messages pass through.

use std::cell::OnceCell;

use ltt_ctf::decode::Slot;
use ltt_filter::{Bytecode, FieldSource, IntElements, IntSeq, Value};

use crate::ir::FieldClass;
use crate::iter::MessageIterator;
use crate::message::{EventView, Message, MessageKind};
use crate::Error;

/// The filter iterator.
pub struct Filter<I: MessageIterator> {
    upstream: I,
    bytecode: Bytecode,
}

impl<I: MessageIterator> Filter<I> {
    pub fn new(upstream: I, bytecode: Bytecode) -> Self {
        Filter { upstream, bytecode }
    }
}

impl<I: MessageIterator> MessageIterator for Filter<I> {
    fn advance(&mut self) -> Result<bool, Error> {
        loop {
            if !self.upstream.advance()? {
                return Ok(false);
            }
            let msg = self.upstream.current();
            let keep = match &msg.kind {
                MessageKind::Event(ev) => self.bytecode.matches(&EventFields {
                    ev,
                    msg: &msg,
                    arrays: Default::default(),
                }),
                _ => true,
            };
            if keep {
                return Ok(true);
            }
        }
    }

    fn current(&self) -> Message<'_> {
        self.upstream.current()
    }

    fn current_ns(&self) -> Option<i64> {
        self.upstream.current_ns()
    }
}

/// Array fields one evaluation can look at; more read as unsupported.
const ARRAYS: usize = 8;

/// An event seen by the filter interpreter.
struct EventFields<'a, 'b> {
    ev: &'b EventView<'a>,
    msg: &'b Message<'a>,
    /// Views of the array fields looked up so far (no allocation: the
    /// interpreter borrows them for the evaluation).
    arrays: [OnceCell<SlotInts<'a>>; ARRAYS],
}

impl<'a> EventFields<'a, '_> {
    /// A value for the interpreter, with array slots turned into a view.
    fn convert(&self, found: Found<'a>) -> Option<Value<'_>> {
        Some(match found {
            Found::Value(v) => v,
            Found::Ints(elems) => {
                let cell = self.arrays.iter().find(|c| c.get().is_none())?;
                let view = cell.get_or_init(|| SlotInts(elems));
                Value::Ints(IntSeq::Dyn(view))
            }
        })
    }
}

/// What a lookup found: a plain value, or the element slots of an integer
/// array.
enum Found<'s> {
    Value(Value<'s>),
    Ints(&'s [Slot]),
}

/// Integer elements of an array or sequence, read from its slots.
struct SlotInts<'a>(&'a [Slot]);

impl IntElements for SlotInts<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, index: usize) -> Option<i64> {
        match self.0.get(index)? {
            Slot::Uint(v) => Some(*v as i64),
            Slot::Sint(v) => Some(*v),
            _ => None,
        }
    }
}

/// The value of member `path` of struct `fc` whose slots are `slots`.
fn lookup<'s>(
    fc: &FieldClass,
    slots: &'s [Slot],
    bytes: &'s [u8],
    path: &str,
) -> Option<Found<'s>> {
    let (first, rest) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    let FieldClass::Struct { members, .. } = fc else {
        return None;
    };
    let mut i = 0;
    for (name, m) in members {
        if name == first {
            return match rest {
                Some(rest) => lookup(m, &slots[i..], bytes, rest),
                None => value(m, slots, i, bytes),
            };
        }
        crate::ir::skip(m, slots, &mut i);
    }
    None
}

fn value<'s>(fc: &FieldClass, slots: &'s [Slot], i: usize, bytes: &'s [u8]) -> Option<Found<'s>> {
    Some(Found::Value(match (fc, slots.get(i)?) {
        (FieldClass::Int { .. } | FieldClass::Enum { .. }, Slot::Uint(v)) => Value::Unsigned(*v),
        (FieldClass::Int { .. } | FieldClass::Enum { .. }, Slot::Sint(v)) => Value::Signed(*v),
        (FieldClass::Float { .. }, Slot::Float(f)) => Value::Float(*f),
        (FieldClass::String, Slot::Str { off, len }) => {
            Value::Str(bytes.get(*off as usize..(*off + *len) as usize)?)
        }
        (
            FieldClass::StaticArray { element, .. } | FieldClass::DynamicArray { element },
            Slot::Len(n),
        ) => match **element {
            FieldClass::Int { .. } | FieldClass::Enum { .. } => {
                return Some(Found::Ints(slots.get(i + 1..i + 1 + *n as usize)?));
            }
            _ => Value::Unsupported,
        },
        _ => Value::Unsupported,
    }))
}

impl FieldSource for EventFields<'_, '_> {
    fn field_named(&self, name: &str) -> Option<Value<'_>> {
        let ir = self.msg.stream.ir();
        let payload = ir.events[self.ev.index()].payload.as_ref()?;
        let found = lookup(
            payload,
            self.ev.scope(self.ev.scopes().fields),
            self.ev.bytes(),
            name,
        )?;
        self.convert(found)
    }

    fn context_named(&self, name: &str) -> Option<Value<'_>> {
        let ir = self.msg.stream.ir();
        let scopes = self.ev.scopes();
        let p = self.ev.packet();
        let candidates = [
            (
                ir.common_context.as_ref(),
                self.ev.scope(scopes.stream_context),
            ),
            (
                ir.events[self.ev.index()].specific_context.as_ref(),
                self.ev.scope(scopes.context),
            ),
            (ir.packet_context.as_ref(), &p.slots[p.context_start..]),
        ];
        let found = candidates
            .into_iter()
            .find_map(|(fc, slots)| lookup(fc?, slots, self.ev.bytes(), name))?;
        self.convert(found)
    }
}
