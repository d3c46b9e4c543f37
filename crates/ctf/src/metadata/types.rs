//! Type specifiers: the dispatch to each kind, type names, `struct` and
//! `variant`, declarators (`name[2][len]`), and the `typealias` / `typedef`
//! declarations that name types. Scalars are in `scalars.rs`, enums in
//! `enums.rs`.
//!
//! Type names are C-like word lists (`uint32_t`, `unsigned long`, `void *`);
//! as in babeltrace's lexer, an identifier is part of a type name only if it
//! is a declared type name, which is how `uint32_t magic;` splits into a
//! type and a field name.

use std::collections::HashSet;

use super::lexer::{Tok, P};
use super::model::*;
use super::parser::{is_keyword, Ns, Parser, Result, Ty};

/// C keywords that make up type names (`unsigned long`); they only mean
/// something through a typealias.
const TYPE_WORDS: &[&str] = &[
    "char",
    "double",
    "float",
    "int",
    "long",
    "short",
    "signed",
    "unsigned",
    "void",
    "_Bool",
    "_Complex",
    "_Imaginary",
];

/// A declarator suffix: `[4]` or `[len]`.
enum Suffix {
    Len(u64),
    Ref(FieldRef),
}

/// A tag that is no tag: variants declared without `<tag>` get one at their
/// use site; one reaching a field without it is an error.
fn untagged() -> FieldRef {
    FieldRef(Vec::new())
}

impl<'a> Parser<'a> {
    /// Parses a type specifier.
    pub(super) fn type_spec(&mut self) -> Result<Ty> {
        self.enter()?;
        let ty = self.type_spec_inner();
        self.leave();
        ty
    }

    fn type_spec_inner(&mut self) -> Result<Ty> {
        while self.eat_ident("const") {}
        match self.peek_ident() {
            Some("integer") => self.integer_spec(),
            Some("floating_point") => self.float_spec(),
            Some("string") => self.string_spec(),
            Some("enum") => self.enum_spec(),
            Some("struct") => self.struct_spec(),
            Some("variant") => self.variant_spec(),
            _ => self.named_type(),
        }
    }

    /// A type name: type keywords (`unsigned long`) or one declared
    /// identifier, then pointer stars (`void *`).
    fn named_type(&mut self) -> Result<Ty> {
        let off = self.offset();
        // Fast path, without building a name: `uint32_t x;`.
        if let Some(w) = self.peek_ident().filter(|w| !is_keyword(w)) {
            if *self.peek_at(1) != Tok::Punct(P::Star) && self.lookup(Ns::Alias, w).is_some() {
                self.advance();
                return self.instantiate(Ns::Alias, w, off);
            }
        }
        let mut name = String::new();
        loop {
            match self.peek_ident() {
                Some("const") => {}
                Some(w) if TYPE_WORDS.contains(&w) => push_word(&mut name, w),
                Some(w) if name.is_empty() && !is_keyword(w) => {
                    if self.lookup(Ns::Alias, w).is_none() {
                        return Err(self.err(format!("unknown type `{w}`")));
                    }
                    push_word(&mut name, w);
                    self.advance();
                    break;
                }
                _ => break,
            }
            self.advance();
        }
        if name.is_empty() {
            return Err(self.unexpected("a type"));
        }
        while self.eat(P::Star) {
            name.push_str(" *");
        }
        self.instantiate(Ns::Alias, &name, off)
    }

    /// An optional type tag name after `struct`/`variant`/`enum`.
    pub(super) fn tag_name(&mut self) -> Option<&'a str> {
        let name = self.peek_ident().filter(|w| !is_keyword(w))?;
        self.advance();
        Some(name)
    }

    /// `struct [NAME] { members } [align(N)]` or `struct NAME`.
    fn struct_spec(&mut self) -> Result<Ty> {
        let start = self.advance().offset;
        let name = self.tag_name();
        if !self.peek_is(P::LBrace) {
            return match name {
                Some(name) => self.instantiate(Ns::Struct, name, start),
                None => Err(self.unexpected("a struct name or `{`")),
            };
        }
        let (members, depth, nodes) = self.members_body("struct")?;
        let min_align = self.struct_align()?;
        self.check_type_depth(depth + 1, start)?;
        let ty = Ty {
            ft: FieldType::Struct(StructType { members, min_align }),
            depth: depth + 1,
            nodes: nodes + 1,
        };
        if let Some(name) = name {
            self.declare(Ns::Struct, name.to_string(), ty.clone(), start)?;
        }
        Ok(ty)
    }

    /// The optional `align(N)` after a struct body (1 when absent).
    fn struct_align(&mut self) -> Result<u32> {
        if !(self.peek_ident() == Some("align") && *self.peek_at(1) == Tok::Punct(P::LParen)) {
            return Ok(1);
        }
        self.advance();
        self.advance();
        let (v, off) = self.value()?;
        let align = self.alignment(&v, off)?;
        self.expect(P::RParen, "struct alignment")?;
        Ok(align)
    }

    /// `variant [NAME] [<tag>] { options }` or `variant NAME [<tag>]`.
    fn variant_spec(&mut self) -> Result<Ty> {
        let start = self.advance().offset;
        let name = self.tag_name();
        let tag = if self.eat(P::Lt) {
            let tag = self.field_ref()?;
            self.expect(P::Gt, "variant tag")?;
            Some(tag)
        } else {
            None
        };
        if !self.peek_is(P::LBrace) {
            let Some(name) = name else {
                return Err(self.unexpected("a variant name or `{`"));
            };
            let mut ty = self.instantiate(Ns::Variant, name, start)?;
            if let (Some(tag), FieldType::Variant(v)) = (tag, &mut ty.ft) {
                v.tag = tag;
            }
            return Ok(ty);
        }
        let (options, depth, nodes) = self.members_body("variant")?;
        self.check_type_depth(depth + 1, start)?;
        let ty = Ty {
            ft: FieldType::Variant(VariantType {
                tag: tag.unwrap_or_else(untagged),
                options,
            }),
            depth: depth + 1,
            nodes: nodes + 1,
        };
        if let Some(name) = name {
            self.declare(Ns::Variant, name.to_string(), ty.clone(), start)?;
        }
        Ok(ty)
    }

    /// `a.b.c`: a field reference (sequence length or variant tag).
    fn field_ref(&mut self) -> Result<FieldRef> {
        let words = self.dotted_words()?;
        Ok(FieldRef(words.into_iter().map(str::to_string).collect()))
    }

    /// The body of a struct or variant: its own scope of type names, then
    /// fields. Returns the members, their greatest depth and node count.
    fn members_body(&mut self, what: &str) -> Result<(Vec<Member>, u32, u64)> {
        self.expect(P::LBrace, format_args!("`{what}`"))?;
        self.push_scope();
        let mut members = Vec::new();
        let mut names: HashSet<&'a str> = HashSet::new();
        let (mut depth, mut nodes) = (0u32, 0u64);
        while !self.eat(P::RBrace) {
            match self.peek_ident() {
                Some("typealias") => self.typealias()?,
                Some("typedef") => self.typedef()?,
                _ => self.fields(|p, name, off, ty| {
                    if !names.insert(name) {
                        return Err(p.err_at(off, format!("duplicate field `{name}` in {what}")));
                    }
                    depth = depth.max(ty.depth);
                    nodes += ty.nodes;
                    members.push(Member {
                        name: name.to_string(),
                        ty: ty.ft,
                    });
                    Ok(())
                })?,
            }
        }
        self.pop_scope();
        Ok((members, depth, nodes))
    }

    /// `TYPE name, name[2], ...;` (or `TYPE;` declaring a named type only),
    /// handing each field to `add`.
    fn fields(
        &mut self,
        mut add: impl FnMut(&mut Self, &'a str, usize, Ty) -> Result<()>,
    ) -> Result<()> {
        let mut base = self.type_spec()?;
        if self.eat(P::Semi) {
            return Ok(());
        }
        loop {
            let off = self.offset();
            let name = self.field_name()?;
            let suffixes = self.suffixes()?;
            self.check_tagged(&base, name, off)?;
            let elem = self.take_or_copy(&mut base, off)?;
            let ty = self.apply_suffixes(elem, suffixes, off)?;
            add(self, name, off, ty)?;
            if !self.eat(P::Comma) {
                self.expect(P::Semi, format_args!("field `{name}`"))?;
                return Ok(());
            }
        }
    }

    /// The type of one declarator of a list: a paid-for copy of `base` when
    /// more declarators follow (`uint8_t a, b;`), else `base` itself.
    fn take_or_copy(&mut self, base: &mut Ty, off: usize) -> Result<Ty> {
        if self.peek_is(P::Comma) {
            self.copy(base, off)
        } else {
            let spent = Ty::leaf(FieldType::String(StringType::default()));
            Ok(std::mem::replace(base, spent))
        }
    }

    /// A field name: an identifier that is not a reserved keyword.
    fn field_name(&mut self) -> Result<&'a str> {
        match *self.peek() {
            Tok::Ident(w) if is_keyword(w) => Err(self.err(format!(
                "`{w}` is a reserved keyword and cannot name a field"
            ))),
            Tok::Ident(w) => {
                self.advance();
                Ok(w)
            }
            _ => Err(self.unexpected("a field name")),
        }
    }

    /// A variant declared without a tag can only be a field with one.
    fn check_tagged(&self, ty: &Ty, name: &str, off: usize) -> Result<()> {
        match &ty.ft {
            FieldType::Variant(v) if v.tag.0.is_empty() => Err(self.err_at(
                off,
                format!("variant field `{name}` has no tag (write `variant NAME <tag> {name}`)"),
            )),
            _ => Ok(()),
        }
    }

    /// `[4]` (array) and `[len]` / `[a.b]` (sequence) suffixes.
    fn suffixes(&mut self) -> Result<Vec<Suffix>> {
        let mut out = Vec::new();
        while self.eat(P::LBracket) {
            let suffix = match *self.peek() {
                Tok::Int(n) => {
                    self.advance();
                    Suffix::Len(n)
                }
                Tok::Ident(_) => Suffix::Ref(self.field_ref()?),
                Tok::Punct(P::Minus) => return Err(self.err("array length must not be negative")),
                _ => return Err(self.unexpected("an array length or a length field name")),
            };
            self.expect(P::RBracket, "array or sequence length")?;
            out.push(suffix);
        }
        Ok(out)
    }

    /// Wraps `ty` in arrays/sequences; `x[2][3]` is an array of 2 arrays of
    /// 3, so the last suffix is the innermost.
    fn apply_suffixes(&self, mut ty: Ty, suffixes: Vec<Suffix>, off: usize) -> Result<Ty> {
        for s in suffixes.into_iter().rev() {
            let element = Box::new(ty.ft);
            let ft = match s {
                Suffix::Len(length) => FieldType::Array(ArrayType { element, length }),
                Suffix::Ref(length) => FieldType::Sequence(SequenceType { element, length }),
            };
            ty = Ty {
                ft,
                depth: ty.depth + 1,
                nodes: ty.nodes + 1,
            };
            self.check_type_depth(ty.depth, off)?;
        }
        Ok(ty)
    }

    /// `typealias TYPE [suffixes] := NAME [suffixes];`
    pub(super) fn typealias(&mut self) -> Result<()> {
        self.advance();
        let base = self.type_spec()?;
        let left = self.suffixes()?;
        self.expect(P::TypeAssign, "the aliased type")?;
        let name_off = self.offset();
        let name = self.alias_name()?;
        let right = self.suffixes()?;
        self.expect(P::Semi, format_args!("typealias `{name}`"))?;
        let ty = self.apply_suffixes(base, left, name_off)?;
        let ty = self.apply_suffixes(ty, right, name_off)?;
        self.declare(Ns::Alias, name, ty, name_off)
    }

    /// `typedef TYPE name[suffixes], ...;`
    pub(super) fn typedef(&mut self) -> Result<()> {
        self.advance();
        let mut base = self.type_spec()?;
        loop {
            let off = self.offset();
            let name = self.alias_name()?;
            let suffixes = self.suffixes()?;
            let elem = self.take_or_copy(&mut base, off)?;
            let ty = self.apply_suffixes(elem, suffixes, off)?;
            self.declare(Ns::Alias, name, ty, off)?;
            if !self.eat(P::Comma) {
                return self.expect(P::Semi, "typedef").map(|_| ());
            }
        }
    }

    /// The name a typealias/typedef declares: words (`uint32_t`,
    /// `unsigned long`) then stars (`void *`).
    fn alias_name(&mut self) -> Result<String> {
        let mut name = String::new();
        while let Some(w) = self.peek_ident() {
            if w == "const" {
                self.advance();
                continue;
            }
            if is_keyword(w) && !TYPE_WORDS.contains(&w) {
                return Err(self.err(format!(
                    "`{w}` is a reserved keyword and cannot name a type"
                )));
            }
            push_word(&mut name, w);
            self.advance();
        }
        if name.is_empty() {
            return Err(self.unexpected("a type name"));
        }
        while self.eat(P::Star) {
            name.push_str(" *");
        }
        Ok(name)
    }
}

fn push_word(name: &mut String, w: &str) {
    if !name.is_empty() {
        name.push(' ');
    }
    name.push_str(w);
}
