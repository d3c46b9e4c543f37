//! The event classes of a channel of a trace: ids handed to apps, which events
//! the session enables, the CTF metadata they add up to, and how long each
//! record is (so the consumer can count events per class without a full
//! decoder).

use std::collections::HashMap;

use ltt_ctf::metadata::{
    ArrayType, ByteOrder, DisplayBase, Encoding, EnumMapping, EnumType, EnvValue, EventClass,
    FieldRef, FieldType, FloatType, IntType, Member, Metadata, SequenceType, StreamClass,
    StringType, StructType,
};
use ltt_ctf::write::SchemaBuilder;
use ltt_ust::proto::{EventIds, WireEvent, WireKind};
use ltt_ust::{Context, ContextKind, IntKind, PROCNAME_LEN};

use crate::rules::EventRule;
use crate::sys::LocalTime;

/// Most event classes one trace accepts (apps cannot grow it without bound).
pub const MAX_EVENT_CLASSES: usize = 1 << 16;

/// What the `env` block says about the trace.
#[derive(Clone, Debug)]
pub struct TraceEnv {
    pub trace_name: String,
    pub created: LocalTime,
    pub hostname: String,
    pub uid: u32,
    pub uuid: [u8; 16],
    pub clock_offset_ns: i64,
    pub clock_uuid: Option<[u8; 16]>,
    /// Per-PID buffers: the app whose trace this is.
    pub app: Option<AppEnv>,
}

/// The app of a per-PID trace, as LTTng's `env` names it.
#[derive(Clone, Debug)]
pub struct AppEnv {
    pub vpid: u32,
    pub procname: String,
    /// When the app registered.
    pub registered: LocalTime,
}

/// How to step over one record's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Fixed(usize),
    /// NUL-terminated string.
    Str,
    /// `u64` length then that many elements of this many bytes.
    Seq(usize),
}

#[derive(Debug)]
struct Class {
    schema: WireEvent,
    steps: Vec<Step>,
    /// What apps are told about this class under the current rules.
    state: EventIds,
}

/// A rule with its filter parsed.
#[derive(Debug)]
struct Rule {
    rule: EventRule,
    filter: Option<ltt_filter::Ast>,
}

/// Registered event classes (id = index) and the session's event rules.
#[derive(Debug, Default)]
pub struct Registry {
    classes: Vec<Class>,
    by_schema: HashMap<WireEvent, u32>,
    rules: Vec<Rule>,
    /// Context fields of every record, in order.
    contexts: Vec<Context>,
    /// Their size in bytes.
    contexts_len: usize,
}

impl Registry {
    /// A registry whose events are enabled by `rules`, for records carrying
    /// `contexts`; the error names a filter that does not compile.
    pub fn new(rules: Vec<EventRule>, contexts: Vec<Context>) -> Result<Registry, String> {
        let mut r = Registry {
            contexts_len: contexts.iter().map(|c| c.kind().size()).sum(),
            contexts,
            ..Registry::default()
        };
        r.set_rules(rules)?;
        Ok(r)
    }

    /// The contexts every record carries.
    pub fn contexts(&self) -> &[Context] {
        &self.contexts
    }

    /// Replace the rules and recompute every class's state (nothing
    /// changes if a filter is invalid).
    pub fn set_rules(&mut self, rules: Vec<EventRule>) -> Result<(), String> {
        self.rules = rules
            .into_iter()
            .map(|rule| {
                let filter = rule.filter.as_deref().map(parse_filter).transpose()?;
                Ok(Rule { rule, filter })
            })
            .collect::<Result<_, String>>()?;
        for i in 0..self.classes.len() {
            self.classes[i].state = self.state_of(i as u32, &self.classes[i].schema);
        }
        Ok(())
    }

    /// The id of `event` (the same for every app declaring it identically;
    /// a different schema under the same name gets its own id) and what the
    /// app must do with it. `None` when the trace has no room left.
    pub fn register(&mut self, event: WireEvent) -> Option<EventIds> {
        let id = match self.by_schema.get(&event) {
            Some(&id) => id,
            None => {
                if self.classes.len() >= MAX_EVENT_CLASSES {
                    return None;
                }
                let id = self.classes.len() as u32;
                let state = self.state_of(id, &event);
                self.by_schema.insert(event.clone(), id);
                self.classes.push(Class {
                    steps: steps(&event),
                    schema: event,
                    state,
                });
                id
            }
        };
        Some(self.classes[id as usize].state.clone())
    }

    /// What apps are told about class `id`.
    pub fn state(&self, id: u32) -> Option<&EventIds> {
        self.classes.get(id as usize).map(|c| &c.state)
    }

    /// Enabled when an enabled rule selects the event; filtered unless one
    /// of those rules has no filter; filters that cannot match this
    /// event's schema are left out (none left: disabled).
    fn state_of(&self, id: u32, ev: &WireEvent) -> EventIds {
        let selecting: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.rule.enabled && r.rule.selects(&ev.name, ev.loglevel))
            .collect();
        if selecting.is_empty() {
            return EventIds::new(id, false);
        }
        if selecting.iter().any(|r| r.filter.is_none()) {
            return EventIds::new(id, true);
        }
        let schema = filter_schema(ev);
        let filters: Vec<Vec<u8>> = selecting
            .iter()
            .filter_map(|r| ltt_filter::compile(r.filter.as_ref()?, Some(&schema)).ok())
            .filter(|b| !b.never_matches())
            .map(|b| b.to_bytes())
            .collect();
        EventIds {
            id,
            enabled: !filters.is_empty(),
            filters,
        }
    }

    /// Number of event classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Name of event class `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        self.classes
            .get(id as usize)
            .map(|c| c.schema.name.as_str())
    }

    /// The length of the record at the start of `rec` and its class id;
    /// `None` if it is not a well-formed record of a known class.
    pub fn record_len(&self, rec: &[u8]) -> Option<(u32, usize)> {
        let u16_at = |o: usize| Some(u16::from_le_bytes(rec.get(o..o + 2)?.try_into().ok()?));
        let u32_at = |o: usize| Some(u32::from_le_bytes(rec.get(o..o + 4)?.try_into().ok()?));
        let (id, mut pos) = match u16_at(0)? {
            0xffff => (u32_at(2)?, 14),
            id => (id as u32, 6),
        };
        pos += self.contexts_len;
        let class = self.classes.get(id as usize)?;
        for step in &class.steps {
            pos = match *step {
                Step::Fixed(n) => pos + n,
                Step::Str => pos + rec.get(pos..)?.iter().position(|&b| b == 0)? + 1,
                Step::Seq(elem) => {
                    let n = u64::from_le_bytes(rec.get(pos..pos + 8)?.try_into().ok()?);
                    let bytes = usize::try_from(n).ok()?.checked_mul(elem)?;
                    pos.checked_add(8 + bytes)?
                }
            };
        }
        (pos <= rec.len()).then_some((id, pos))
    }

    /// The trace's metadata: LTTng's per-UID UST layout with every
    /// registered event class.
    pub fn metadata(&self, env: &TraceEnv) -> Metadata {
        let mut b = SchemaBuilder::new(env.uuid).clock_offset(env.clock_offset_ns);
        if let Some(u) = env.clock_uuid {
            b = b.clock_uuid(u);
        }
        let s = |v: &str| EnvValue::Str(v.to_string());
        b = b
            .env("domain", s("ust"))
            .env("tracer_name", s("lttng-ust"))
            .env("tracer_major", EnvValue::Int(2))
            .env("tracer_minor", EnvValue::Int(13))
            .env(
                "tracer_buffering_scheme",
                s(if env.app.is_some() { "pid" } else { "uid" }),
            )
            .env(
                "tracer_buffering_id",
                EnvValue::Int(env.app.as_ref().map_or(env.uid, |a| a.vpid) as i64),
            )
            .env("architecture_bit_width", EnvValue::Int(64))
            .env("trace_name", s(&env.trace_name))
            .env("trace_creation_datetime", s(&env.created.iso8601_basic()))
            .env("hostname", s(&env.hostname));
        if let Some(app) = &env.app {
            b = b
                .env("vpid", EnvValue::Int(app.vpid as i64))
                .env("procname", s(&app.procname))
                .env("vpid_datetime", s(&app.registered.iso8601_basic()));
        }
        b = b.event_context(event_context(&self.contexts));
        for (id, c) in self.classes.iter().enumerate() {
            b = b.event(
                &c.schema.name,
                id as u64,
                Some(c.schema.loglevel as i64),
                fields(&c.schema),
            );
        }
        b.build()
    }
}

/// The metadata of a trace whose channels have these registries: stream
/// class `k` and its events are those of `registries[k]`.
pub fn trace_metadata(registries: &[Registry], env: &TraceEnv) -> Metadata {
    let Some((first, rest)) = registries.split_first() else {
        return Registry::default().metadata(env);
    };
    let mut all = first.metadata(env);
    for (k, reg) in rest.iter().enumerate() {
        let k = k as u64 + 1;
        let m = reg.metadata(env);
        all.streams
            .extend(m.streams.into_iter().map(|s| StreamClass { id: k, ..s }));
        all.events.extend(m.events.into_iter().map(|e| EventClass {
            stream_id: Some(k),
            ..e
        }));
    }
    all
}

/// What filters know of `ev`: its payload fields in declaration order (the
/// order the tracer hands their values in) and lttng-ust's contexts.
fn filter_schema(ev: &WireEvent) -> ltt_filter::Schema {
    use ltt_filter::{ElemType, FieldType as F, IntType as I};
    let int = |k: &IntKind| I {
        signed: k.signed,
        bits: k.bits,
    };
    let elem = |k: &IntKind| {
        if k.text {
            ElemType::Text
        } else {
            ElemType::Integer(int(k))
        }
    };
    let mut schema = ltt_filter::Schema::new();
    for f in &ev.fields {
        let ty = match &f.kind {
            WireKind::Int(k) => F::Integer(int(k)),
            WireKind::Enum { container, .. } => F::Enum(int(container)),
            WireKind::F32 | WireKind::F64 => F::Float,
            WireKind::String => F::String,
            WireKind::Array { element, len } => F::Array {
                elem: elem(element),
                len: u64::from(*len),
            },
            WireKind::Sequence { element } => F::Sequence {
                elem: elem(element),
            },
        };
        schema.add_field(&f.name, ty);
    }
    schema.with_ust_contexts()
}

/// Parse a filter and compile it without schema, for the language's
/// errors (each event's schema only adds "never matches" verdicts).
pub fn parse_filter(expr: &str) -> Result<ltt_filter::Ast, String> {
    ltt_filter::parse(expr)
        .and_then(|ast| ltt_filter::compile(&ast, None).map(|_| ast))
        .map_err(|e| format!("invalid filter:\n{e}"))
}

fn steps(ev: &WireEvent) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let fixed = |out: &mut Vec<Step>, n: usize| match out.last_mut() {
        Some(Step::Fixed(m)) => *m += n,
        _ => out.push(Step::Fixed(n)),
    };
    for f in &ev.fields {
        match &f.kind {
            WireKind::Int(k) | WireKind::Enum { container: k, .. } => fixed(&mut out, k.bytes()),
            WireKind::F32 => fixed(&mut out, 4),
            WireKind::F64 => fixed(&mut out, 8),
            WireKind::String => out.push(Step::Str),
            WireKind::Array { element, len } => fixed(&mut out, element.bytes() * *len as usize),
            WireKind::Sequence { element } => out.push(Step::Seq(element.bytes())),
        }
    }
    out
}

fn int(k: &IntKind) -> IntType {
    IntType {
        size: k.bits as u32,
        align: 8,
        signed: k.signed,
        byte_order: if k.big_endian {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        },
        base: if k.hex {
            DisplayBase::Hexadecimal
        } else {
            DisplayBase::Decimal
        },
        encoding: if k.text {
            Encoding::Utf8
        } else {
            Encoding::None
        },
        clock: None,
    }
}

fn member(name: String, ty: FieldType) -> Member {
    Member { name, ty }
}

/// The payload struct as LTTng declares it: names prefixed with `_`,
/// sequences preceded by their `__NAME_length` field.
fn fields(ev: &WireEvent) -> StructType {
    let mut members = Vec::new();
    for f in &ev.fields {
        let name = format!("_{}", f.name);
        let ty = match &f.kind {
            WireKind::Int(k) => FieldType::Int(int(k)),
            WireKind::F32 | WireKind::F64 => {
                let (exp_dig, mant_dig) = if f.kind == WireKind::F32 {
                    (8, 24)
                } else {
                    (11, 53)
                };
                FieldType::Float(FloatType {
                    exp_dig,
                    mant_dig,
                    align: 8,
                    byte_order: ByteOrder::Little,
                })
            }
            WireKind::String => FieldType::String(StringType {
                encoding: Encoding::Utf8,
            }),
            WireKind::Array { element, len } => FieldType::Array(ArrayType {
                element: Box::new(FieldType::Int(int(element))),
                length: *len as u64,
            }),
            WireKind::Sequence { element } => {
                let len_name = format!("__{}_length", f.name);
                members.push(member(
                    len_name.clone(),
                    FieldType::Int(int(&IntKind::new(64, false))),
                ));
                FieldType::Sequence(SequenceType {
                    element: Box::new(FieldType::Int(int(element))),
                    length: FieldRef(vec![len_name]),
                })
            }
            WireKind::Enum { container, entries } => {
                let mut mappings: Vec<EnumMapping> = Vec::new();
                for e in entries {
                    let range = (e.start, e.end);
                    match mappings.iter_mut().find(|m| m.label == e.label) {
                        Some(m) => m.ranges.push(range),
                        None => mappings.push(EnumMapping {
                            label: e.label.clone(),
                            ranges: vec![range],
                        }),
                    }
                }
                FieldType::Enum(EnumType {
                    container: int(container),
                    mappings,
                })
            }
        };
        members.push(member(name, ty));
    }
    StructType {
        members,
        min_align: 1,
    }
}

/// The stream event context: the session's contexts, as lttng-ust types
/// them.
fn event_context(contexts: &[Context]) -> StructType {
    let members = contexts
        .iter()
        .map(|c| {
            let ty = match c.kind() {
                ContextKind::Signed32 => FieldType::Int(int(&IntKind::new(32, true))),
                ContextKind::Unsigned32 => FieldType::Int(int(&IntKind::new(32, false))),
                ContextKind::Unsigned64 => FieldType::Int(int(&IntKind::new(64, false))),
                ContextKind::Hex64 => FieldType::Int(int(&IntKind {
                    hex: true,
                    ..IntKind::new(64, false)
                })),
                ContextKind::Text17 => FieldType::Array(ArrayType {
                    element: Box::new(FieldType::Int(int(&IntKind {
                        text: true,
                        ..IntKind::new(8, true)
                    }))),
                    length: PROCNAME_LEN as u64,
                }),
            };
            member(c.field_name(), ty)
        })
        .collect();
    StructType {
        members,
        min_align: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ltt_ust::proto::WireField;
    use ltt_ust::DEFAULT_CONTEXTS;

    fn ev(name: &str, kinds: Vec<WireKind>) -> WireEvent {
        WireEvent {
            name: name.into(),
            loglevel: 13,
            fields: kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| WireField {
                    name: format!("f{i}"),
                    kind,
                })
                .collect(),
        }
    }

    #[test]
    fn ids_globs_and_record_lengths() {
        let mut r =
            Registry::new(vec![EventRule::new("demo:*")], DEFAULT_CONTEXTS.to_vec()).unwrap();
        let a = ev(
            "demo:a",
            vec![
                WireKind::Int(IntKind::new(32, true)),
                WireKind::String,
                WireKind::Sequence {
                    element: IntKind::new(16, false),
                },
            ],
        );
        assert_eq!(r.register(a.clone()), Some(EventIds::new(0, true)));
        assert_eq!(r.register(a), Some(EventIds::new(0, true)));
        assert_eq!(
            r.register(ev("other:b", vec![])),
            Some(EventIds::new(1, false))
        );
        // New rules apply to classes already registered.
        r.set_rules(vec![EventRule::new("other:*")]).unwrap();
        assert!(!r.state(0).unwrap().enabled && r.state(1).unwrap().enabled);
        let mut rec = vec![0xff, 0xff, 0, 0, 0, 0];
        rec.extend_from_slice(&[0; 8 + 8 + PROCNAME_LEN]);
        rec.extend_from_slice(&7i32.to_le_bytes());
        rec.extend_from_slice(b"hi\0");
        rec.extend_from_slice(&2u64.to_le_bytes());
        rec.extend_from_slice(&[1, 0, 2, 0]);
        let n = rec.len();
        rec.extend_from_slice(&[9; 5]);
        assert_eq!(r.record_len(&rec), Some((0, n)));
        assert_eq!(r.record_len(&rec[..n - 1]), None);
        let md = r.metadata(&TraceEnv {
            trace_name: "t".into(),
            created: LocalTime::now(),
            hostname: "h".into(),
            uid: 0,
            uuid: [1; 16],
            clock_offset_ns: 5,
            clock_uuid: None,
            app: None,
        });
        let text = ltt_ctf::write::to_tsdl(&md);
        let back = ltt_ctf::metadata::parse(&text).unwrap();
        assert_eq!(back.events.len(), 2);
        assert!(text.contains("__f2_length"));
    }

    #[test]
    fn filters_are_compiled_per_class() {
        let rule = |pattern: &str, filter: Option<&str>| EventRule {
            filter: filter.map(String::from),
            ..EventRule::new(pattern)
        };
        let mut r = Registry::new(
            vec![
                rule("demo:*", Some("f0 > 5")),
                rule("demo:*", Some("$ctx.procname == \"x*\"")),
                rule("demo:*", Some("nope == 1")),
            ],
            vec![],
        )
        .unwrap();
        let a = ev("demo:a", vec![WireKind::Int(IntKind::new(32, true))]);
        let ids = r.register(a).unwrap();
        assert!(ids.enabled);
        // `nope` is no field of demo:a: that filter never matches, left out.
        assert_eq!(ids.filters.len(), 2);
        let b = ltt_filter::Bytecode::from_bytes(&ids.filters[0]).unwrap();
        assert!(b.is_schema_bound());
        // Not enabled: no filter sent.
        let other = r.register(ev("other:b", vec![])).unwrap();
        assert!(!other.enabled && other.filters.is_empty());
        // A matching rule without filter records every hit.
        r.set_rules(vec![rule("demo:*", Some("f0 > 5")), rule("demo:a", None)])
            .unwrap();
        assert!(r.state(0).unwrap().enabled && r.state(0).unwrap().filters.is_empty());
        // Only filters that cannot match: disabled.
        let mut r = Registry::new(vec![rule("*", Some("missing == 1"))], vec![]).unwrap();
        assert!(!r.register(ev("demo:c", vec![])).unwrap().enabled);
        // A disabled rule enables nothing; a bad filter is refused.
        let mut off = EventRule::new("*");
        off.enabled = false;
        let mut r = Registry::new(vec![off], vec![]).unwrap();
        assert!(!r.register(ev("demo:c", vec![])).unwrap().enabled);
        assert!(Registry::new(vec![rule("*", Some("a =="))], vec![]).is_err());
    }
}
