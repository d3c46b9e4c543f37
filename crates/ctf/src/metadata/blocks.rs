//! The top-level blocks: `trace`, `env`, `clock`, `stream`, `event`,
//! `callsite`. Each is a list of `key = value;` and `key := type;` entries
//! (plus type declarations, scoped to the block). Unknown keys are ignored
//! as babeltrace does (it only warns); known keys given twice are errors.

use std::borrow::Cow;

use super::lexer::{Tok, P};
use super::model::*;
use super::parser::{byte_order_word, Parser, Result, ScopePos, Ty};
use super::values::Value;

/// One entry of a block.
pub(super) enum Entry<'a> {
    /// A typealias, typedef or named type declaration (already declared).
    Decl,
    Value {
        key: Cow<'a, str>,
        value: Value<'a>,
        value_off: usize,
    },
    Type {
        key: Cow<'a, str>,
        key_off: usize,
        ty: Ty,
    },
}

/// Keys seen in a block, to reject duplicates of the known ones.
#[derive(Default)]
struct Seen(Vec<&'static str>);

impl<'a> Parser<'a> {
    /// Parses `KEYWORD { entries } ;`, handing each entry to `on_entry`.
    /// Returns the offset of the keyword.
    fn block(
        &mut self,
        what: &str,
        mut on_entry: impl FnMut(&mut Self, Entry<'a>) -> Result<()>,
    ) -> Result<usize> {
        let start = self.advance().offset;
        self.expect(P::LBrace, format_args!("`{what}`"))?;
        self.enter()?;
        self.push_scope();
        while !self.eat(P::RBrace) {
            let entry = self.block_entry(what)?;
            on_entry(self, entry)?;
        }
        self.pop_scope();
        self.leave();
        self.expect(P::Semi, format_args!("`{what}` block"))?;
        Ok(start)
    }

    fn block_entry(&mut self, what: &str) -> Result<Entry<'a>> {
        let declares_type =
            matches!(
                self.peek_ident(),
                Some("struct" | "variant" | "enum" | "integer" | "floating_point" | "string")
            ) && !matches!(self.peek_at(1), Tok::Punct(P::Eq | P::TypeAssign | P::Dot));
        match self.peek_ident() {
            Some("typealias") => self.typealias().map(|_| Entry::Decl),
            Some("typedef") => self.typedef().map(|_| Entry::Decl),
            Some(_) if declares_type => self.type_declaration().map(|_| Entry::Decl),
            Some(_) => self.assignment(),
            None => Err(self.unexpected(&format!("an attribute or `}}` in `{what}` block"))),
        }
    }

    /// `key = value;` or `key := type;`.
    fn assignment(&mut self) -> Result<Entry<'a>> {
        let key_off = self.offset();
        let key = self.dotted()?;
        if self.eat(P::Eq) {
            let (value, value_off) = self.value()?;
            self.expect(P::Semi, format_args!("the value of `{key}`"))?;
            Ok(Entry::Value {
                key,
                value,
                value_off,
            })
        } else if self.eat(P::TypeAssign) {
            let ty = self.type_spec()?;
            self.expect(P::Semi, format_args!("the type of `{key}`"))?;
            Ok(Entry::Type { key, key_off, ty })
        } else {
            Err(self.unexpected(&format!("`=` or `:=` after `{key}`")))
        }
    }

    /// Records `key` as seen; a second time is an error.
    fn once(&self, seen: &mut Seen, key: &'static str, off: usize) -> Result<()> {
        if seen.0.contains(&key) {
            return Err(self.err_at(off, format!("duplicate `{key}` attribute")));
        }
        seen.0.push(key);
        Ok(())
    }

    /// The struct a scope (`packet.header :=` ...) is assigned.
    fn scope_struct(&self, key: &str, key_off: usize, ty: Ty) -> Result<StructType> {
        match ty.ft {
            FieldType::Struct(s) => Ok(s),
            _ => Err(self.err_at(key_off, format!("`{key}` must be a struct"))),
        }
    }

    pub(super) fn trace_block(&mut self) -> Result<()> {
        if self.doc.trace.is_some() {
            return Err(self.err("duplicate `trace` block"));
        }
        let mut t = TraceBlock {
            major: None,
            minor: None,
            uuid: None,
            byte_order: self.native,
            packet_header: None,
        };
        let mut byte_order = None;
        let mut ph_pos = None;
        let mut seen = Seen::default();
        let start = self.block("trace", |p, entry| match entry {
            Entry::Value {
                key,
                value,
                value_off: off,
            } => match &*key {
                "major" => {
                    p.once(&mut seen, "major", off)?;
                    t.major = Some(p.version(&value, off, "major", 1)?);
                    Ok(())
                }
                "minor" => {
                    p.once(&mut seen, "minor", off)?;
                    t.minor = Some(p.version(&value, off, "minor", 8)?);
                    Ok(())
                }
                "uuid" => {
                    p.once(&mut seen, "uuid", off)?;
                    t.uuid = Some(p.as_uuid(&value, off, "trace `uuid`")?);
                    Ok(())
                }
                "byte_order" => {
                    p.once(&mut seen, "byte_order", off)?;
                    byte_order = Some((p.trace_byte_order(&value, off)?, off));
                    Ok(())
                }
                _ => Ok(()),
            },
            Entry::Type { key, key_off, ty } if key == "packet.header" => {
                p.once(&mut seen, "packet.header", key_off)?;
                t.packet_header = Some(p.scope_struct(&key, key_off, ty)?);
                ph_pos = Some(key_off);
                Ok(())
            }
            _ => Ok(()),
        })?;
        for (attr, value) in [("major", t.major), ("minor", t.minor)] {
            if value.is_none() {
                return Err(self.err_at(start, format!("`trace` block has no `{attr}`")));
            }
        }
        let Some((order, off)) = byte_order else {
            return Err(self.err_at(start, "`trace` block has no `byte_order`"));
        };
        if order != self.native {
            return Err(self.err_at(
                off,
                "the trace byte order could not be determined before the types using it",
            ));
        }
        t.byte_order = order;
        self.doc.trace = Some(t);
        self.doc.trace_offset = start;
        self.doc.packet_header_pos = ph_pos;
        Ok(())
    }

    /// `major`/`minor`: babeltrace accepts CTF 1.8 only.
    fn version(&self, v: &Value<'_>, off: usize, what: &str, want: u64) -> Result<u64> {
        let n = self.as_u64(v, off, &format!("trace `{what}`"))?;
        if n != want {
            return Err(self.err_at(
                off,
                format!("trace `{what}` must be {want} (CTF 1.8), found {n}"),
            ));
        }
        Ok(n)
    }

    fn trace_byte_order(&self, v: &Value<'_>, off: usize) -> Result<ByteOrder> {
        let w = self.as_word(v, off, "trace `byte_order`")?;
        match byte_order_word(w) {
            Some(Some(order)) => Ok(order),
            Some(None) => Err(self.err_at(off, "the trace byte order cannot be `native`")),
            None => Err(self.err_at(off, format!("unknown byte order `{w}`"))),
        }
    }

    /// `env { key = value; ... };`: integers and strings are kept (integers
    /// beyond `i64::MAX` wrap, as babeltrace stores them in an `int64_t`);
    /// other values are ignored, as babeltrace does with a warning.
    pub(super) fn env_block(&mut self) -> Result<()> {
        let mut entries = Vec::new();
        self.block("env", |_, entry| {
            if let Entry::Value { key, value, .. } = entry {
                let v = match value {
                    Value::Int(i) => EnvValue::Int(i as i64),
                    Value::Str(s) => EnvValue::Str(s.into_owned()),
                    Value::Path(_) => return Ok(()),
                };
                entries.push((key, v));
            }
            Ok(())
        })?;
        for (key, v) in entries {
            match self.doc.env_index.get(&*key) {
                Some(&i) => self.doc.env[i].1 = v,
                None => {
                    let key = key.into_owned();
                    self.doc.env_index.insert(key.clone(), self.doc.env.len());
                    self.doc.env.push((key, v));
                }
            }
        }
        Ok(())
    }

    pub(super) fn clock_block(&mut self) -> Result<()> {
        let mut c = Clock {
            name: String::new(),
            uuid: None,
            description: None,
            freq: 1_000_000_000,
            precision: 0,
            offset_s: 0,
            offset: 0,
            absolute: false,
        };
        let mut seen = Seen::default();
        let start = self.block("clock", |p, entry| {
            let Entry::Value {
                key,
                value,
                value_off: off,
            } = entry
            else {
                return Ok(());
            };
            let v = &value;
            match &*key {
                "name" => {
                    p.once(&mut seen, "name", off)?;
                    c.name = p.as_text(v, off, "clock `name`")?;
                }
                "uuid" => {
                    p.once(&mut seen, "uuid", off)?;
                    c.uuid = Some(p.as_uuid(v, off, "clock `uuid`")?);
                }
                "description" => {
                    p.once(&mut seen, "description", off)?;
                    c.description = Some(p.as_text(v, off, "clock `description`")?);
                }
                "freq" => {
                    p.once(&mut seen, "freq", off)?;
                    c.freq = p.as_u64(v, off, "clock `freq`")?;
                    if c.freq == 0 {
                        return Err(p.err_at(off, "clock `freq` must not be 0"));
                    }
                }
                "precision" => {
                    p.once(&mut seen, "precision", off)?;
                    c.precision = p.as_u64(v, off, "clock `precision`")?;
                }
                "offset_s" => {
                    p.once(&mut seen, "offset_s", off)?;
                    c.offset_s = p.as_i64(v, off, "clock `offset_s`")?;
                }
                "offset" => {
                    p.once(&mut seen, "offset", off)?;
                    c.offset = p.as_i64(v, off, "clock `offset`")?;
                }
                "absolute" => {
                    p.once(&mut seen, "absolute", off)?;
                    c.absolute = p.as_bool(v, off, "clock `absolute`")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        if !seen.0.contains(&"name") {
            return Err(self.err_at(start, "`clock` block has no `name`"));
        }
        if !self.doc.clock_names.insert(c.name.clone()) {
            return Err(self.err_at(start, format!("duplicate clock `{}`", c.name)));
        }
        self.doc.clocks.push(c);
        Ok(())
    }

    pub(super) fn stream_block(&mut self) -> Result<()> {
        let mut s = StreamClass {
            id: 0,
            packet_context: None,
            event_header: None,
            event_context: None,
        };
        let mut pos: [ScopePos; 3] = [None; 3];
        let mut seen = Seen::default();
        let start = self.block("stream", |p, entry| match entry {
            Entry::Value {
                key,
                value,
                value_off: off,
            } if key == "id" => {
                p.once(&mut seen, "id", off)?;
                s.id = p.as_u64(&value, off, "stream `id`")?;
                Ok(())
            }
            Entry::Type { key, key_off, ty } => {
                let (name, slot, i) = match &*key {
                    "packet.context" => ("packet.context", &mut s.packet_context, 0),
                    "event.header" => ("event.header", &mut s.event_header, 1),
                    "event.context" => ("event.context", &mut s.event_context, 2),
                    _ => return Ok(()),
                };
                p.once(&mut seen, name, key_off)?;
                *slot = Some(p.scope_struct(&key, key_off, ty)?);
                pos[i] = Some(key_off);
                Ok(())
            }
            _ => Ok(()),
        })?;
        if !self.doc.stream_ids.insert(s.id) {
            return Err(self.err_at(start, format!("duplicate stream class id {}", s.id)));
        }
        self.doc.streams.push((s, start, pos));
        Ok(())
    }

    pub(super) fn event_block(&mut self) -> Result<()> {
        let mut e = EventClass {
            name: String::new(),
            id: 0,
            stream_id: None,
            loglevel: None,
            emf_uri: None,
            context: None,
            fields: None,
        };
        let mut pos: [ScopePos; 2] = [None; 2];
        let mut seen = Seen::default();
        let start = self.block("event", |p, entry| match entry {
            Entry::Value {
                key,
                value,
                value_off: off,
            } => p.event_value(&mut e, &mut seen, &key, &value, off),
            Entry::Type { key, key_off, ty } => {
                let (name, slot, i) = match &*key {
                    "context" => ("context", &mut e.context, 0),
                    "fields" => ("fields", &mut e.fields, 1),
                    _ => return Ok(()),
                };
                p.once(&mut seen, name, key_off)?;
                *slot = Some(p.scope_struct(&key, key_off, ty)?);
                pos[i] = Some(key_off);
                Ok(())
            }
            Entry::Decl => Ok(()),
        })?;
        if !seen.0.contains(&"name") {
            return Err(self.err_at(start, "`event` block has no `name`"));
        }
        self.doc.events.push((e, start, pos));
        Ok(())
    }

    fn event_value(
        &self,
        e: &mut EventClass,
        seen: &mut Seen,
        key: &str,
        v: &Value<'_>,
        off: usize,
    ) -> Result<()> {
        match key {
            "name" => {
                self.once(seen, "name", off)?;
                e.name = self.as_text(v, off, "event `name`")?;
            }
            "id" => {
                self.once(seen, "id", off)?;
                e.id = self.as_u64(v, off, "event `id`")?;
            }
            "stream_id" => {
                self.once(seen, "stream_id", off)?;
                e.stream_id = Some(self.as_u64(v, off, "event `stream_id`")?);
            }
            "loglevel" => {
                self.once(seen, "loglevel", off)?;
                e.loglevel = Some(self.as_i64(v, off, "event `loglevel`")?);
            }
            "model.emf.uri" => {
                self.once(seen, "model.emf.uri", off)?;
                e.emf_uri = Some(self.as_text(v, off, "event `model.emf.uri`")?);
            }
            _ => {}
        }
        Ok(())
    }

    /// `callsite { ... };`: parsed for syntax, then ignored.
    pub(super) fn callsite_block(&mut self) -> Result<()> {
        self.block("callsite", |_, _| Ok(())).map(|_| ())
    }
}
