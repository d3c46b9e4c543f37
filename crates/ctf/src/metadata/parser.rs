//! The recursive-descent TSDL parser: token cursor, lexical scopes of type
//! names, resource limits, and the top-level loop. Attribute values are in
//! `values.rs`, blocks (`trace`, `stream`, ...) in `blocks.rs`, type
//! specifiers in `types.rs` (`scalars.rs`, `enums.rs`), and the checks of
//! sequence lengths and variant tags, run at the end, in `refs.rs`.
//!
//! Types are resolved while parsing (typealiases expanded, `native` byte
//! order replaced), so the trace byte order must be known before the first
//! typealias: LTTng declares them before the `trace` block, hence a quick
//! look-ahead for `trace { byte_order = ...; }` first, as babeltrace does.
//!
//! Hostile input is bounded three ways: nesting (recursion) depth, type depth
//! (a typealias can nest without recursing), and a budget of type nodes that
//! copies of named types consume (typealiases of structs of typealiases of
//! structs would otherwise grow exponentially).

use std::collections::{HashMap, HashSet};

use super::error::MetadataError;
use super::lexer::{tokenize, Tok, Token, P};
use super::model::*;

/// Deepest nesting of blocks and types accepted.
pub(super) const MAX_DEPTH: u32 = 64;

/// Reserved words: not valid as field names.
pub(super) fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "align"
            | "callsite"
            | "const"
            | "char"
            | "clock"
            | "double"
            | "enum"
            | "env"
            | "event"
            | "floating_point"
            | "float"
            | "integer"
            | "int"
            | "long"
            | "short"
            | "signed"
            | "stream"
            | "string"
            | "struct"
            | "trace"
            | "typealias"
            | "typedef"
            | "unsigned"
            | "variant"
            | "void"
            | "_Bool"
            | "_Complex"
            | "_Imaginary"
    )
}

pub(super) type Result<T> = std::result::Result<T, MetadataError>;

/// A type being built, with what the resource limits need to know.
#[derive(Debug, Clone)]
pub(super) struct Ty {
    pub ft: FieldType,
    /// Nesting depth (a scalar is 1).
    pub depth: u32,
    /// Number of nodes (what a copy costs).
    pub nodes: u64,
}

impl Ty {
    pub(super) fn leaf(ft: FieldType) -> Ty {
        Ty {
            ft,
            depth: 1,
            nodes: 1,
        }
    }
}

/// The namespaces of named types: typealias/typedef names, and the tags of
/// `struct NAME`, `variant NAME` and `enum NAME`, are separate as in C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    Alias,
    Struct,
    Variant,
    Enum,
}

impl Ns {
    fn describe(self) -> &'static str {
        match self {
            Ns::Alias => "type",
            Ns::Struct => "struct",
            Ns::Variant => "variant",
            Ns::Enum => "enum",
        }
    }
}

/// One lexical scope (the document, a block, or a struct/variant body).
#[derive(Default)]
struct Scope {
    names: [HashMap<String, Ty>; 4],
}

/// Where a scope struct was assigned, for error messages of later checks.
pub(super) type ScopePos = Option<usize>;

/// What the document declared so far.
#[derive(Default)]
pub(super) struct Doc {
    pub trace: Option<TraceBlock>,
    pub trace_offset: usize,
    pub packet_header_pos: ScopePos,
    pub env: Vec<(String, EnvValue)>,
    /// Where each env key is in `env` (a later value replaces an earlier).
    pub env_index: HashMap<String, usize>,
    pub clocks: Vec<Clock>,
    pub clock_names: HashSet<String>,
    pub stream_ids: HashSet<u64>,
    /// Stream classes with the block offset and the positions of
    /// `packet.context`, `event.header`, `event.context`.
    pub streams: Vec<(StreamClass, usize, [ScopePos; 3])>,
    /// Event classes with the block offset and the positions of
    /// `context`, `fields`.
    pub events: Vec<(EventClass, usize, [ScopePos; 2])>,
}

pub(super) struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token<'a>>,
    pos: usize,
    depth: u32,
    scopes: Vec<Scope>,
    /// Byte order that `native` stands for.
    pub(super) native: ByteOrder,
    /// Type nodes that copies of named types may still create: a million
    /// plus one per byte of text, far above what real metadata uses (a
    /// copy needs a reference of several bytes) and low enough that a
    /// hostile document fails in well under a second.
    budget: u64,
    pub(super) doc: Doc,
}

/// Parses a whole TSDL document.
pub fn parse(text: &str) -> Result<Metadata> {
    let toks = tokenize(text)?;
    let native = prescan_byte_order(&toks).unwrap_or(ByteOrder::NATIVE);
    let mut p = Parser {
        text,
        toks,
        pos: 0,
        depth: 0,
        scopes: vec![Scope::default()],
        native,
        budget: (1 << 20) + text.len() as u64,
        doc: Doc::default(),
    };
    p.document()?;
    p.finish()
}

/// The byte order of the first top-level `trace` block, found by scanning
/// tokens only (the block is parsed properly later).
fn prescan_byte_order(toks: &[Token<'_>]) -> Option<ByteOrder> {
    let mut depth = 0i64;
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct(P::LBrace) => depth += 1,
            Tok::Punct(P::RBrace) => depth -= 1,
            Tok::Ident("trace") if depth == 0 => {
                if matches!(toks.get(i + 1), Some(t) if t.tok == Tok::Punct(P::LBrace)) {
                    return trace_block_byte_order(&toks[i + 2..]);
                }
            }
            _ => {}
        }
    }
    None
}

fn trace_block_byte_order(body: &[Token<'_>]) -> Option<ByteOrder> {
    let mut depth = 1i64;
    for (i, t) in body.iter().enumerate() {
        match &t.tok {
            Tok::Punct(P::LBrace) => depth += 1,
            Tok::Punct(P::RBrace) => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            Tok::Ident("byte_order") if depth == 1 => {
                if body.get(i + 1).map(|t| &t.tok) != Some(&Tok::Punct(P::Eq)) {
                    continue;
                }
                return match body.get(i + 2).map(|t| &t.tok) {
                    Some(Tok::Ident(w)) => byte_order_word(w).flatten(),
                    Some(Tok::Str(w)) => byte_order_word(w).flatten(),
                    _ => None,
                };
            }
            _ => {}
        }
    }
    None
}

/// `Some(None)` is `native`; `None` is not a byte order.
pub(super) fn byte_order_word(w: &str) -> Option<Option<ByteOrder>> {
    match w {
        "native" => Some(None),
        "be" | "big" | "big_endian" | "network" => Some(Some(ByteOrder::Big)),
        "le" | "little" | "little_endian" => Some(Some(ByteOrder::Little)),
        _ => None,
    }
}

/// Cursor and error helpers.
impl<'a> Parser<'a> {
    pub(super) fn peek(&self) -> &Tok<'a> {
        self.peek_at(0)
    }

    pub(super) fn peek_at(&self, ahead: usize) -> &Tok<'a> {
        let last = self.toks.len() - 1;
        &self.toks[(self.pos + ahead).min(last)].tok
    }

    pub(super) fn peek_ident(&self) -> Option<&'a str> {
        match *self.peek() {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn peek_is(&self, p: P) -> bool {
        *self.peek() == Tok::Punct(p)
    }

    /// Offset of the current token.
    pub(super) fn offset(&self) -> usize {
        let last = self.toks.len() - 1;
        self.toks[self.pos.min(last)].offset
    }

    /// Takes the current token and moves on (the end token stays).
    pub(super) fn advance(&mut self) -> Token<'a> {
        let last = self.toks.len() - 1;
        if self.pos >= last {
            return self.toks[last].clone();
        }
        let offset = self.toks[self.pos].offset;
        let placeholder = Token {
            tok: Tok::Eof,
            offset,
        };
        self.pos += 1;
        std::mem::replace(&mut self.toks[self.pos - 1], placeholder)
    }

    pub(super) fn eat(&mut self, p: P) -> bool {
        let hit = self.peek_is(p);
        if hit {
            self.pos += 1;
        }
        hit
    }

    pub(super) fn eat_ident(&mut self, word: &str) -> bool {
        let hit = self.peek_ident() == Some(word);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Consumes `p` or fails with "expected `p` after `context`".
    /// The context is formatted only on error (this is on every path).
    pub(super) fn expect(&mut self, p: P, context: impl std::fmt::Display) -> Result<usize> {
        let off = self.offset();
        if self.eat(p) {
            Ok(off)
        } else {
            Err(self.unexpected(&format!("`{}` after {context}", p.text())))
        }
    }

    /// "expected WHAT, found TOKEN" at the current token.
    pub(super) fn unexpected(&self, what: &str) -> MetadataError {
        self.err(format!("expected {what}, found {}", self.peek().describe()))
    }

    pub(super) fn err(&self, msg: impl Into<String>) -> MetadataError {
        self.err_at(self.offset(), msg)
    }

    pub(super) fn err_at(&self, offset: usize, msg: impl Into<String>) -> MetadataError {
        MetadataError::in_text(self.text, offset, msg)
    }

    /// Enters one nesting level (a block or a type); fails past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Checks the depth of a type being built.
    pub(super) fn check_type_depth(&self, depth: u32, offset: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.err_at(
                offset,
                format!("type nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// Pays for `nodes` new type nodes out of the document's budget.
    pub(super) fn charge(&mut self, nodes: u64, offset: usize) -> Result<()> {
        match self.budget.checked_sub(nodes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(self.err_at(
                offset,
                "types expand to too many fields (metadata too large or recursive typealiases)",
            )),
        }
    }

    /// A copy of `ty` paid for out of the budget.
    pub(super) fn copy(&mut self, ty: &Ty, offset: usize) -> Result<Ty> {
        self.charge(ty.nodes, offset)?;
        Ok(ty.clone())
    }
}

/// Lexical scopes of named types.
impl<'a> Parser<'a> {
    pub(super) fn push_scope(&mut self) {
        self.scopes.push(Scope::default());
    }

    pub(super) fn pop_scope(&mut self) {
        if self.scopes.len() > 1 {
            self.scopes.pop();
        }
    }

    pub(super) fn lookup(&self, ns: Ns, name: &str) -> Option<&Ty> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.names[ns as usize].get(name))
    }

    /// Declares `name` in the innermost scope; redeclaring in the same scope
    /// is an error (as in babeltrace), shadowing an outer one is not.
    pub(super) fn declare(&mut self, ns: Ns, name: String, ty: Ty, offset: usize) -> Result<()> {
        let Some(scope) = self.scopes.last_mut() else {
            return Err(self.err_at(offset, "internal error: no scope"));
        };
        let table = &mut scope.names[ns as usize];
        if table.contains_key(&name) {
            return Err(self.err_at(
                offset,
                format!(
                    "{} `{name}` is already declared in this scope",
                    ns.describe()
                ),
            ));
        }
        table.insert(name, ty);
        Ok(())
    }

    /// A copy of the named type, or an "unknown" error.
    pub(super) fn instantiate(&mut self, ns: Ns, name: &str, offset: usize) -> Result<Ty> {
        match self.lookup(ns, name) {
            Some(ty) => {
                let ty = ty.clone();
                self.charge(ty.nodes, offset)?;
                Ok(ty)
            }
            None => Err(self.err_at(offset, format!("unknown {} `{name}`", ns.describe()))),
        }
    }
}

/// The top level.
impl<'a> Parser<'a> {
    fn document(&mut self) -> Result<()> {
        while *self.peek() != Tok::Eof {
            let block = matches!(self.peek_at(1), Tok::Punct(P::LBrace));
            match self.peek_ident() {
                Some("trace") if block => self.trace_block()?,
                Some("env") if block => self.env_block()?,
                Some("clock") if block => self.clock_block()?,
                Some("stream") if block => self.stream_block()?,
                Some("event") if block => self.event_block()?,
                Some("callsite") if block => self.callsite_block()?,
                Some("typealias") => self.typealias()?,
                Some("typedef") => self.typedef()?,
                _ => self.type_declaration()?,
            }
        }
        Ok(())
    }

    /// `struct NAME { ... };` and the like: a type specifier declaring a
    /// named type, without fields.
    pub(super) fn type_declaration(&mut self) -> Result<()> {
        if self.peek_ident().is_none() {
            return Err(self.unexpected("a declaration or a block"));
        }
        self.type_spec()?;
        self.expect(P::Semi, "type declaration")?;
        Ok(())
    }

    /// Assembles the model once the whole text is read.
    fn finish(self) -> Result<Metadata> {
        let end = self.text.len();
        let Doc {
            trace,
            trace_offset,
            packet_header_pos,
            env,
            clocks,
            streams,
            events,
            ..
        } = self.doc;
        let Some(trace) = trace else {
            return Err(MetadataError::in_text(
                self.text,
                end,
                "metadata has no `trace` block",
            ));
        };
        let checks = super::refs::DocChecks {
            text: self.text,
            trace: &trace,
            trace_offset,
            packet_header_pos,
            streams: &streams,
            events: &events,
        };
        checks.run()?;
        Ok(Metadata {
            trace,
            env,
            clocks,
            streams: streams.into_iter().map(|(s, ..)| s).collect(),
            events: events.into_iter().map(|(e, ..)| e).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prescan_finds_the_trace_byte_order_after_typealiases() {
        let toks = tokenize(
            "typealias integer { byte_order = le; } := x; trace { packet.header := struct { integer { byte_order = le; } a; }; byte_order = be; };",
        )
        .unwrap();
        assert_eq!(prescan_byte_order(&toks), Some(ByteOrder::Big));
    }
}
