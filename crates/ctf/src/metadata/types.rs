//! Type specifiers (`integer {}`, `floating_point {}`, `string`, `enum`,
//! `struct`, `variant`, type names), declarators (`name[2][len]`), and the
//! `typealias` / `typedef` declarations that name types.
//!
//! Type names are C-like word lists (`uint32_t`, `unsigned long`, `void *`);
//! as in babeltrace's lexer, an identifier is part of a type name only if it
//! is a declared type name, which is how `uint32_t magic;` splits into a
//! type and a field name.

use std::collections::{HashMap, HashSet};

use super::lexer::{Tok, P};
use super::model::*;
use super::parser::{byte_order_word, is_keyword, Ns, Parser, Result, Ty, Value};

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

    /// `{ key = value; ... }` of `integer`, `floating_point`, `string`.
    fn attr_body(&mut self, what: &str) -> Result<Vec<(&'a str, Value<'a>, usize)>> {
        self.expect(P::LBrace, &format!("`{what}`"))?;
        let mut attrs = Vec::new();
        while !self.eat(P::RBrace) {
            let Tok::Ident(key) = *self.peek() else {
                return Err(self.unexpected(&format!("an attribute or `}}` in `{what}`")));
            };
            self.advance();
            self.expect(P::Eq, &format!("`{key}`"))?;
            let (value, off) = self.value()?;
            self.expect(P::Semi, &format!("the value of `{key}`"))?;
            attrs.push((key, value, off));
        }
        Ok(attrs)
    }

    /// Rejects a second `key` in one attribute body.
    fn first_time(&self, seen: &mut u32, bit: u32, key: &str, off: usize) -> Result<()> {
        if *seen & bit != 0 {
            return Err(self.err_at(off, format!("duplicate `{key}` attribute")));
        }
        *seen |= bit;
        Ok(())
    }

    fn integer_spec(&mut self) -> Result<Ty> {
        let start = self.advance().offset;
        let attrs = self.attr_body("integer")?;
        let mut t = IntType {
            size: 0,
            align: 0,
            signed: false,
            byte_order: self.native,
            base: DisplayBase::Decimal,
            encoding: Encoding::None,
            clock: None,
        };
        let mut seen = 0u32;
        for (key, v, off) in &attrs {
            let (v, off) = (v, *off);
            match *key {
                "size" => {
                    self.first_time(&mut seen, 1, key, off)?;
                    t.size = self.as_u32(v, off, "integer `size`")?;
                    if !(1..=64).contains(&t.size) {
                        return Err(self.err_at(
                            off,
                            format!("integer `size` must be 1 to 64 bits, found {}", t.size),
                        ));
                    }
                }
                "align" => {
                    self.first_time(&mut seen, 2, key, off)?;
                    t.align = self.alignment(v, off)?;
                }
                "signed" => {
                    self.first_time(&mut seen, 4, key, off)?;
                    t.signed = self.as_bool(v, off, "integer `signed`")?;
                }
                "byte_order" => {
                    self.first_time(&mut seen, 8, key, off)?;
                    t.byte_order = self.type_byte_order(v, off)?;
                }
                "encoding" => {
                    self.first_time(&mut seen, 16, key, off)?;
                    t.encoding = self.encoding(v, off)?;
                }
                "base" => {
                    self.first_time(&mut seen, 32, key, off)?;
                    t.base = self.base(v, off)?;
                }
                "map" => {
                    self.first_time(&mut seen, 64, key, off)?;
                    t.clock = Some(self.clock_map(v, off)?);
                }
                _ => {}
            }
        }
        if seen & 1 == 0 {
            return Err(self.err_at(start, "`integer` has no `size`"));
        }
        if seen & 2 == 0 {
            t.align = if t.size % 8 == 0 { 8 } else { 1 };
        }
        Ok(Ty::leaf(FieldType::Int(t)))
    }

    fn float_spec(&mut self) -> Result<Ty> {
        let start = self.advance().offset;
        let attrs = self.attr_body("floating_point")?;
        let mut t = FloatType {
            exp_dig: 0,
            mant_dig: 0,
            align: 8,
            byte_order: self.native,
        };
        let mut seen = 0u32;
        for (key, v, off) in &attrs {
            let (v, off) = (v, *off);
            match *key {
                "exp_dig" => {
                    self.first_time(&mut seen, 1, key, off)?;
                    t.exp_dig = self.as_u32(v, off, "`exp_dig`")?;
                }
                "mant_dig" => {
                    self.first_time(&mut seen, 2, key, off)?;
                    t.mant_dig = self.as_u32(v, off, "`mant_dig`")?;
                }
                "align" => {
                    self.first_time(&mut seen, 4, key, off)?;
                    t.align = self.alignment(v, off)?;
                }
                "byte_order" => {
                    self.first_time(&mut seen, 8, key, off)?;
                    t.byte_order = self.type_byte_order(v, off)?;
                }
                _ => {}
            }
        }
        // Babeltrace reads binary32 and binary64 only.
        if !matches!((t.exp_dig, t.mant_dig), (8, 24) | (11, 53)) {
            return Err(self.err_at(
                start,
                format!(
                    "unsupported floating point type (exp_dig = {}, mant_dig = {}): only 32-bit (8, 24) and 64-bit (11, 53) are valid",
                    t.exp_dig, t.mant_dig
                ),
            ));
        }
        Ok(Ty::leaf(FieldType::Float(t)))
    }

    fn string_spec(&mut self) -> Result<Ty> {
        self.advance();
        let mut t = StringType::default();
        if self.peek_is(P::LBrace) {
            let mut seen = 0u32;
            for (key, v, off) in self.attr_body("string")? {
                if key == "encoding" {
                    self.first_time(&mut seen, 1, key, off)?;
                    t.encoding = self.encoding(&v, off)?;
                }
            }
        }
        Ok(Ty::leaf(FieldType::String(t)))
    }

    fn alignment(&self, v: &Value<'_>, off: usize) -> Result<u32> {
        let a = self.as_u32(v, off, "`align`")?;
        if !a.is_power_of_two() {
            return Err(self.err_at(off, format!("`align` must be a power of two, found {a}")));
        }
        Ok(a)
    }

    fn type_byte_order(&self, v: &Value<'_>, off: usize) -> Result<ByteOrder> {
        let w = self.as_word(v, off, "`byte_order`")?;
        match byte_order_word(w) {
            Some(order) => Ok(order.unwrap_or(self.native)),
            None => Err(self.err_at(off, format!("unknown byte order `{w}`"))),
        }
    }

    fn encoding(&self, v: &Value<'_>, off: usize) -> Result<Encoding> {
        let w = self.as_word(v, off, "`encoding`")?;
        match w.to_ascii_lowercase().as_str() {
            "none" => Ok(Encoding::None),
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "ascii" => Ok(Encoding::Ascii),
            _ => Err(self.err_at(off, format!("unknown encoding `{w}`"))),
        }
    }

    fn base(&self, v: &Value<'_>, off: usize) -> Result<DisplayBase> {
        let base = match v {
            Value::Int(2) => Some(DisplayBase::Binary),
            Value::Int(8) => Some(DisplayBase::Octal),
            Value::Int(10) => Some(DisplayBase::Decimal),
            Value::Int(16) => Some(DisplayBase::Hexadecimal),
            Value::Path(p) if p.len() == 1 => match p[0] {
                "decimal" | "dec" | "d" | "i" | "u" => Some(DisplayBase::Decimal),
                "hexadecimal" | "hex" | "x" | "X" | "p" => Some(DisplayBase::Hexadecimal),
                "octal" | "oct" | "o" => Some(DisplayBase::Octal),
                "binary" | "bin" | "b" => Some(DisplayBase::Binary),
                _ => None,
            },
            _ => None,
        };
        base.ok_or_else(|| self.err_at(off, "unknown integer `base`"))
    }

    /// `map = clock.NAME.value`: the clock must be declared before, as
    /// babeltrace requires.
    fn clock_map(&self, v: &Value<'_>, off: usize) -> Result<String> {
        let name = match v {
            Value::Path(p) if p.len() == 3 && p[0] == "clock" && p[2] == "value" => p[1],
            _ => return Err(self.err_at(off, "integer `map` must be `clock.NAME.value`")),
        };
        if !self.doc.clocks.iter().any(|c| c.name == name) {
            return Err(self.err_at(off, format!("integer `map` names unknown clock `{name}`")));
        }
        Ok(name.to_string())
    }

    /// An optional type tag name after `struct`/`variant`/`enum`.
    fn tag_name(&mut self) -> Option<&'a str> {
        let name = self.peek_ident().filter(|w| !is_keyword(w))?;
        self.advance();
        Some(name)
    }

    /// `enum [NAME] [: CONTAINER] { entries }` or `enum NAME`.
    fn enum_spec(&mut self) -> Result<Ty> {
        let start = self.advance().offset;
        let name = self.tag_name();
        let container = if self.eat(P::Colon) {
            Some(self.enum_container()?)
        } else {
            None
        };
        if !self.peek_is(P::LBrace) {
            return match (name, container) {
                (Some(name), None) => self.instantiate(Ns::Enum, name, start),
                _ => Err(self.unexpected("`{` to start the enum entries")),
            };
        }
        let container = match container {
            Some(c) => c,
            None => self.implicit_enum_container(start)?,
        };
        let mappings = self.enum_body(&container)?;
        let ranges: usize = mappings.iter().map(|m| m.ranges.len()).sum();
        let ty = Ty {
            ft: FieldType::Enum(EnumType {
                container,
                mappings,
            }),
            depth: 1,
            nodes: 1 + ranges as u64,
        };
        if let Some(name) = name {
            self.declare(Ns::Enum, name.to_string(), ty.clone(), start)?;
        }
        Ok(ty)
    }

    fn enum_container(&mut self) -> Result<IntType> {
        let off = self.offset();
        match self.type_spec()?.ft {
            FieldType::Int(t) => Ok(t),
            _ => Err(self.err_at(off, "an enum container must be an integer type")),
        }
    }

    /// No `: TYPE`: the container is the typealias `int`, which must exist.
    fn implicit_enum_container(&mut self, off: usize) -> Result<IntType> {
        match self.lookup(Ns::Alias, "int").map(|t| &t.ft) {
            Some(FieldType::Int(t)) => Ok(t.clone()),
            Some(_) => Err(self.err_at(off, "enum without container: type `int` is not an integer")),
            None => Err(self.err_at(
                off,
                "enum without container needs a typealias named `int`",
            )),
        }
    }

    /// `{ "label" = v, label = a ... b, label, }`: a bare label takes the
    /// previous value plus one (0 first); entries with one label merge.
    fn enum_body(&mut self, container: &IntType) -> Result<Vec<EnumMapping>> {
        self.expect(P::LBrace, "enum container")?;
        let (min, max) = int_range(container);
        let mut mappings: Vec<EnumMapping> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut next: i128 = 0;
        while !self.eat(P::RBrace) {
            let off = self.offset();
            let label = match self.advance().tok {
                Tok::Ident(s) => s.to_string(),
                Tok::Str(s) => s.into_owned(),
                other => {
                    return Err(self.err_at(
                        off,
                        format!("expected an enum label, found {}", other.describe()),
                    ))
                }
            };
            let (lo, hi) = self.enum_range(next)?;
            if lo > hi {
                return Err(self.err_at(
                    off,
                    format!("enum label `{label}`: range start {lo} is greater than its end {hi}"),
                ));
            }
            for v in [lo, hi] {
                if v < min || v > max {
                    return Err(self.err_at(
                        off,
                        format!(
                            "enum label `{label}`: value {v} does not fit the {}-bit {} container",
                            container.size,
                            if container.signed { "signed" } else { "unsigned" }
                        ),
                    ));
                }
            }
            next = hi + 1;
            match index.get(&label) {
                Some(&i) => mappings[i].ranges.push((lo, hi)),
                None => {
                    index.insert(label.clone(), mappings.len());
                    mappings.push(EnumMapping {
                        label,
                        ranges: vec![(lo, hi)],
                    });
                }
            }
            if !self.eat(P::Comma) {
                self.expect(P::RBrace, "enum entries")?;
                break;
            }
        }
        if mappings.is_empty() {
            return Err(self.err("enum has no entries"));
        }
        Ok(mappings)
    }

    /// `= a`, `= a ... b`, or nothing (the next value).
    fn enum_range(&mut self, next: i128) -> Result<(i128, i128)> {
        if !self.eat(P::Eq) {
            return Ok((next, next));
        }
        let lo = self.signed_int()?;
        let hi = if self.eat(P::Ellipsis) {
            self.signed_int()?
        } else {
            lo
        };
        Ok((lo, hi))
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
        self.expect(P::LBrace, &format!("`{what}`"))?;
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
            let more = self.peek_is(P::Comma);
            let elem = if more {
                self.copy(&base, off)?
            } else {
                std::mem::replace(&mut base, Ty::leaf(FieldType::String(StringType::default())))
            };
            let ty = self.apply_suffixes(elem, suffixes, off)?;
            add(self, name, off, ty)?;
            if !self.eat(P::Comma) {
                self.expect(P::Semi, &format!("field `{name}`"))?;
                return Ok(());
            }
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
        self.expect(P::Semi, &format!("typealias `{name}`"))?;
        let ty = self.apply_suffixes(base, left, name_off)?;
        let ty = self.apply_suffixes(ty, right, name_off)?;
        self.declare(Ns::Alias, name, ty, name_off)
    }

    /// `typedef TYPE name[suffixes], ...;`
    pub(super) fn typedef(&mut self) -> Result<()> {
        self.advance();
        let base = self.type_spec()?;
        loop {
            let off = self.offset();
            let name = self.alias_name()?;
            let suffixes = self.suffixes()?;
            let elem = self.copy(&base, off)?;
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
                return Err(self.err(format!("`{w}` is a reserved keyword and cannot name a type")));
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

/// The inclusive range of values an integer type holds.
fn int_range(t: &IntType) -> (i128, i128) {
    let size = t.size.clamp(1, 64);
    if t.signed {
        (-(1i128 << (size - 1)), (1i128 << (size - 1)) - 1)
    } else {
        (0, (1i128 << size) - 1)
    }
}
