//! Whole-document checks run once everything is parsed: stream and event
//! ids, and every sequence length and variant tag, resolved the way
//! babeltrace resolves them so that a trace it rejects is rejected here.
//!
//! A reference is absolute when it starts with a scope prefix
//! (`stream.event.header.`, `event.fields.`, ...), else relative: looked up
//! by name in the enclosing structs, innermost first, within the same scope.
//! The target must come before the field that uses it (not contain it), a
//! sequence length must be an unsigned integer (or enum), and a variant tag
//! an enum. `env.` references are accepted unchecked (babeltrace 2 does not
//! support them; the decoder decides).
//!
//! The model keeps no positions, so errors point at the `:=` that assigned
//! the scope and name the field path.

use std::collections::{HashMap, HashSet};

use super::error::MetadataError;
use super::model::*;
use super::parser::ScopePos;

/// The dynamic scopes, in the order they are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Root {
    PacketHeader,
    PacketContext,
    EventHeader,
    EventCommonContext,
    EventSpecificContext,
    EventPayload,
}

impl Root {
    /// The absolute path prefix (as path components) naming this scope.
    fn prefix(self) -> &'static [&'static str] {
        match self {
            Root::PacketHeader => &["trace", "packet", "header"],
            Root::PacketContext => &["stream", "packet", "context"],
            Root::EventHeader => &["stream", "event", "header"],
            Root::EventCommonContext => &["stream", "event", "context"],
            Root::EventSpecificContext => &["event", "context"],
            Root::EventPayload => &["event", "fields"],
        }
    }

    const ALL: [Root; 6] = [
        Root::PacketHeader,
        Root::PacketContext,
        Root::EventHeader,
        Root::EventCommonContext,
        Root::EventSpecificContext,
        Root::EventPayload,
    ];
}

/// The scopes visible from one event (or stream, or the trace).
#[derive(Default)]
struct Roots<'m>([Option<&'m StructType>; 6]);

impl<'m> Roots<'m> {
    fn get(&self, r: Root) -> Option<&'m StructType> {
        self.0[r as usize]
    }
}

/// The parsed document, as the parser holds it, with scope positions.
pub(super) struct DocChecks<'d> {
    pub text: &'d str,
    pub trace: &'d TraceBlock,
    pub trace_offset: usize,
    pub packet_header_pos: ScopePos,
    pub streams: &'d [(StreamClass, usize, [ScopePos; 3])],
    pub events: &'d [(EventClass, usize, [ScopePos; 2])],
}

impl DocChecks<'_> {
    pub(super) fn run(&self) -> Result<(), MetadataError> {
        let mut roots = Roots::default();
        roots.0[Root::PacketHeader as usize] = self.trace.packet_header.as_ref();
        let at = self.packet_header_pos.unwrap_or(self.trace_offset);
        self.check(&roots, Root::PacketHeader, at, || "trace".into())?;
        for (s, start, pos) in self.streams {
            let roots = stream_roots(&roots, s);
            let what = || format!("stream {}", s.id);
            for (i, r) in [
                Root::PacketContext,
                Root::EventHeader,
                Root::EventCommonContext,
            ]
            .into_iter()
            .enumerate()
            {
                self.check(&roots, r, pos[i].unwrap_or(*start), what)?;
            }
        }
        let index = StreamIndex::new(self.streams);
        self.check_event_ids(&index)?;
        for (e, start, pos) in self.events {
            let stream = index.of(e);
            let mut roots =
                stream.map_or_else(|| roots_of_trace(self.trace), |s| stream_roots(&roots, s));
            roots.0[Root::EventSpecificContext as usize] = e.context.as_ref();
            roots.0[Root::EventPayload as usize] = e.fields.as_ref();
            let what = || format!("event \"{}\"", e.name);
            self.check(
                &roots,
                Root::EventSpecificContext,
                pos[0].unwrap_or(*start),
                what,
            )?;
            self.check(&roots, Root::EventPayload, pos[1].unwrap_or(*start), what)?;
        }
        Ok(())
    }

    /// Two event classes of one stream class cannot share an id.
    fn check_event_ids(&self, index: &StreamIndex<'_>) -> Result<(), MetadataError> {
        let mut seen = HashSet::new();
        for (e, start, _) in self.events {
            let stream = index.of(e).map_or(e.stream_id.unwrap_or(0), |s| s.id);
            if !seen.insert((stream, e.id)) {
                return Err(MetadataError::in_text(
                    self.text,
                    *start,
                    format!(
                        "event \"{}\": duplicate event id {} in stream class {stream}",
                        e.name, e.id
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check(
        &self,
        roots: &Roots<'_>,
        root: Root,
        at: usize,
        what: impl Fn() -> String,
    ) -> Result<(), MetadataError> {
        let Some(st) = roots.get(root) else {
            return Ok(());
        };
        let mut w = Walker {
            roots,
            root,
            frames: Vec::new(),
            names: Vec::new(),
            index: HashMap::new(),
        };
        w.members(&st.members).map_err(|msg| {
            let scope = root.prefix().join(".");
            MetadataError::in_text(self.text, at, format!("{}, {scope}: {msg}", what()))
        })
    }
}

/// Stream classes by id (hashed: a hostile document can hold many).
struct StreamIndex<'s> {
    by_id: HashMap<u64, &'s StreamClass>,
    only: Option<&'s StreamClass>,
}

impl<'s> StreamIndex<'s> {
    fn new(streams: &'s [(StreamClass, usize, [ScopePos; 3])]) -> Self {
        StreamIndex {
            by_id: streams.iter().map(|(s, ..)| (s.id, s)).collect(),
            only: match streams {
                [(s, ..)] => Some(s),
                _ => None,
            },
        }
    }

    /// The stream class an event belongs to: its `stream_id`, or the only one.
    fn of(&self, e: &EventClass) -> Option<&'s StreamClass> {
        match e.stream_id {
            Some(id) => self.by_id.get(&id).copied(),
            None => self.only,
        }
    }
}

fn roots_of_trace(trace: &TraceBlock) -> Roots<'_> {
    let mut r = Roots::default();
    r.0[Root::PacketHeader as usize] = trace.packet_header.as_ref();
    r
}

fn stream_roots<'m>(trace: &Roots<'m>, s: &'m StreamClass) -> Roots<'m> {
    let mut r = Roots(trace.0);
    r.0[Root::PacketContext as usize] = s.packet_context.as_ref();
    r.0[Root::EventHeader as usize] = s.event_header.as_ref();
    r.0[Root::EventCommonContext as usize] = s.event_context.as_ref();
    r
}

/// One compound being walked: its members (none for an array or sequence,
/// whose element has no name) and the index of the member being visited
/// (-1 for an element, as in babeltrace's field paths).
struct Frame<'m> {
    members: Option<&'m [Member]>,
    index: i64,
}

/// What a reference must point at.
#[derive(Clone, Copy)]
enum Want {
    Length,
    Tag,
}

struct Walker<'m, 'r> {
    roots: &'r Roots<'m>,
    root: Root,
    frames: Vec<Frame<'m>>,
    /// Field names down to the current one, for messages.
    names: Vec<&'m str>,
    /// Name → index maps of large member lists, so that lookups stay
    /// linear overall on hostile input (keyed by the slice address).
    index: HashMap<usize, HashMap<&'m str, usize>>,
}

impl<'m> Walker<'m, '_> {
    fn members(&mut self, members: &'m [Member]) -> Result<(), String> {
        self.frames.push(Frame {
            members: Some(members),
            index: 0,
        });
        for (i, m) in members.iter().enumerate() {
            if let Some(f) = self.frames.last_mut() {
                f.index = i as i64;
            }
            self.names.push(&m.name);
            self.field(&m.ty)?;
            self.names.pop();
        }
        self.frames.pop();
        Ok(())
    }

    fn field(&mut self, ft: &'m FieldType) -> Result<(), String> {
        match ft {
            FieldType::Struct(s) => self.members(&s.members),
            FieldType::Variant(v) => {
                self.check(&v.tag, Want::Tag)?;
                self.members(&v.options)
            }
            FieldType::Array(a) => self.element(&a.element),
            FieldType::Sequence(s) => {
                self.check(&s.length, Want::Length)?;
                self.element(&s.element)
            }
            _ => Ok(()),
        }
    }

    fn element(&mut self, element: &'m FieldType) -> Result<(), String> {
        self.frames.push(Frame {
            members: None,
            index: -1,
        });
        self.field(element)?;
        self.frames.pop();
        Ok(())
    }

    /// Resolves `r` from the current position and checks its target.
    fn check(&mut self, r: &FieldRef, want: Want) -> Result<(), String> {
        self.resolve(r, want).map_err(|why| {
            let (path, field) = (r.0.join("."), self.names.join("."));
            match want {
                Want::Length => format!("sequence `{field}`: length `{path}` {why}"),
                Want::Tag => format!("variant `{field}`: tag `{path}` {why}"),
            }
        })
    }

    /// The reasons `r` is invalid from here, if it is (phrased to follow
    /// the reference in a message).
    fn resolve(&mut self, r: &FieldRef, want: Want) -> Result<(), String> {
        if r.0.first().map(String::as_str) == Some("env") && r.0.len() > 1 {
            return Ok(());
        }
        let (target_root, target_path, target) = match absolute_root(&r.0) {
            Some((root, tail)) => self.absolute(root, tail)?,
            None => self
                .relative(&r.0)
                .ok_or_else(|| "does not name a field of this scope".to_string())?,
        };
        if target_root == self.root {
            self.check_order(&target_path)?;
        }
        check_kind(target, want)
    }

    fn absolute(
        &mut self,
        root: Root,
        tail: &[String],
    ) -> Result<(Root, Vec<i64>, &'m FieldType), String> {
        if root > self.root {
            return Err("refers to a scope decoded later".into());
        }
        let st = self
            .roots
            .get(root)
            .ok_or_else(|| "refers to a scope that does not exist".to_string())?;
        let (path, target) = self
            .lookup(&st.members, tail)
            .ok_or_else(|| "does not name an existing field".to_string())?;
        Ok((root, path, target))
    }

    /// Innermost enclosing compound first, as babeltrace.
    fn relative(&mut self, tokens: &[String]) -> Option<(Root, Vec<i64>, &'m FieldType)> {
        for depth in (0..self.frames.len()).rev() {
            let Some(members) = self.frames[depth].members else {
                continue;
            };
            if let Some((tail, target)) = self.lookup(members, tokens) {
                let mut path: Vec<i64> = self.frames[..depth].iter().map(|f| f.index).collect();
                path.extend(tail);
                return Some((self.root, path, target));
            }
        }
        None
    }

    /// Follows `tokens` from `members`, through arrays and sequences
    /// (element index -1) and into structs and variants by name.
    fn lookup(
        &mut self,
        members: &'m [Member],
        tokens: &[String],
    ) -> Option<(Vec<i64>, &'m FieldType)> {
        let (first, rest) = tokens.split_first()?;
        let i = self.position(members, first)?;
        let mut path = vec![i as i64];
        let mut ft = &members[i].ty;
        for tok in rest {
            loop {
                match ft {
                    FieldType::Array(a) => ft = &a.element,
                    FieldType::Sequence(s) => ft = &s.element,
                    _ => break,
                }
                path.push(-1);
            }
            let ms = match ft {
                FieldType::Struct(s) => &s.members,
                FieldType::Variant(v) => &v.options,
                _ => return None,
            };
            let i = self.position(ms, tok)?;
            path.push(i as i64);
            ft = &ms[i].ty;
        }
        Some((path, ft))
    }

    fn position(&mut self, members: &'m [Member], name: &str) -> Option<usize> {
        if members.len() <= 16 {
            return members.iter().position(|m| m.name == name);
        }
        let map = self
            .index
            .entry(members.as_ptr() as usize)
            .or_insert_with(|| {
                members
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, m)| (m.name.as_str(), i))
                    .collect()
            });
        map.get(name).copied()
    }

    /// The target must be before the current field in the same scope.
    fn check_order(&self, target: &[i64]) -> Result<(), String> {
        let here: Vec<i64> = self.frames.iter().map(|f| f.index).collect();
        let split = target.iter().zip(&here).position(|(t, h)| t != h);
        match split {
            None => Err("refers to the field itself or to a field containing it".into()),
            Some(i) if target[i] > here[i] => Err("refers to a field declared after it".into()),
            Some(_) => Ok(()),
        }
    }
}

/// `Some((scope, rest))` when `tokens` starts with a scope prefix and names
/// something inside it.
fn absolute_root(tokens: &[String]) -> Option<(Root, &[String])> {
    Root::ALL.into_iter().find_map(|root| {
        let prefix = root.prefix();
        let matches = tokens.len() > prefix.len() && tokens.iter().zip(prefix).all(|(t, p)| t == p);
        matches.then(|| (root, &tokens[prefix.len()..]))
    })
}

fn check_kind(target: &FieldType, want: Want) -> Result<(), String> {
    match (want, target) {
        (Want::Length, FieldType::Int(t)) if !t.signed => Ok(()),
        (Want::Length, FieldType::Enum(t)) if !t.container.signed => Ok(()),
        (Want::Tag, FieldType::Enum(_)) => Ok(()),
        (Want::Length, _) => Err(format!(
            "names {}, not an unsigned integer",
            kind_name(target)
        )),
        (Want::Tag, _) => Err(format!("names {}, not an enum", kind_name(target))),
    }
}

fn kind_name(t: &FieldType) -> &'static str {
    match t {
        FieldType::Int(i) if i.signed => "a signed integer",
        FieldType::Int(_) => "an integer",
        FieldType::Float(_) => "a floating point number",
        FieldType::String(_) => "a string",
        FieldType::Enum(_) => "an enum",
        FieldType::Struct(_) => "a struct",
        FieldType::Variant(_) => "a variant",
        FieldType::Array(_) => "an array",
        FieldType::Sequence(_) => "a sequence",
    }
}
