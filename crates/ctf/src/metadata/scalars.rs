//! Scalar type specifiers: `integer { ... }`, `floating_point { ... }`,
//! `string [{ ... }]`, and their attribute values. Defaults and checks
//! follow babeltrace: an integer needs a `size` of 1 to 64 bits, aligns on 8
//! when its size is a multiple of 8 (else 1), and a float is binary32 or
//! binary64.

use super::lexer::{Tok, P};
use super::model::*;
use super::parser::{byte_order_word, Parser, Result, Ty};
use super::values::Value;

impl<'a> Parser<'a> {
    /// `{ key = value; ... }` of `integer`, `floating_point`, `string`.
    fn attr_body(&mut self, what: &str) -> Result<Vec<(&'a str, Value<'a>, usize)>> {
        self.expect(P::LBrace, format_args!("`{what}`"))?;
        let mut attrs = Vec::new();
        while !self.eat(P::RBrace) {
            let Tok::Ident(key) = *self.peek() else {
                return Err(self.unexpected(&format!("an attribute or `}}` in `{what}`")));
            };
            self.advance();
            self.expect(P::Eq, format_args!("`{key}`"))?;
            let (value, off) = self.value()?;
            self.expect(P::Semi, format_args!("the value of `{key}`"))?;
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

    pub(super) fn integer_spec(&mut self) -> Result<Ty> {
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
            t.align = if t.size & 7 == 0 { 8 } else { 1 };
        }
        Ok(Ty::leaf(FieldType::Int(t)))
    }

    pub(super) fn float_spec(&mut self) -> Result<Ty> {
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

    pub(super) fn string_spec(&mut self) -> Result<Ty> {
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

    pub(super) fn alignment(&self, v: &Value<'_>, off: usize) -> Result<u32> {
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
            Value::Path(p) => match &**p {
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
        let parts: Vec<&str> = match v {
            Value::Path(p) => p.split('.').collect(),
            _ => Vec::new(),
        };
        let name = match parts[..] {
            ["clock", name, "value"] => name,
            _ => return Err(self.err_at(off, "integer `map` must be `clock.NAME.value`")),
        };
        if !self.doc.clock_names.contains(name) {
            return Err(self.err_at(off, format!("integer `map` names unknown clock `{name}`")));
        }
        Ok(name.to_string())
    }
}
