//! Attribute values (`unary_expression` in babeltrace's grammar) and their
//! conversions. Babeltrace is lenient about spelling: an identifier stands
//! for a string (`name = func_enter;`), a string for a word (`"le"`), an
//! integer for a boolean.

use std::borrow::Cow;

use super::lexer::{Tok, P};
use super::parser::{Parser, Result};

/// An attribute value (`unary_expression` in babeltrace's grammar).
#[derive(Debug, Clone)]
pub(super) enum Value<'a> {
    Int(i128),
    Str(Cow<'a, str>),
    /// An identifier or keyword, possibly dotted (`clock.monotonic.value`),
    /// borrowed from the text when it is a single word (the common case).
    Path(Cow<'a, str>),
}

/// Attribute values.
impl<'a> Parser<'a> {
    /// Parses a value and returns it with its offset.
    pub(super) fn value(&mut self) -> Result<(Value<'a>, usize)> {
        let off = self.offset();
        let v = match self.peek().clone() {
            Tok::Punct(P::Plus | P::Minus) | Tok::Int(_) => Value::Int(self.signed_int()?),
            Tok::Str(s) | Tok::Char(s) => {
                self.advance();
                Value::Str(s)
            }
            Tok::Ident(_) => Value::Path(self.dotted()?),
            _ => return Err(self.unexpected("a value")),
        };
        Ok((v, off))
    }

    /// An integer literal with an optional sign: unsigned up to `u64::MAX`,
    /// negative down to `i64::MIN`.
    pub(super) fn signed_int(&mut self) -> Result<i128> {
        let off = self.offset();
        let negative = if self.eat(P::Minus) {
            true
        } else {
            self.eat(P::Plus);
            false
        };
        let Tok::Int(v) = *self.peek() else {
            return Err(self.unexpected("an integer"));
        };
        self.advance();
        let v = i128::from(v);
        if !negative {
            return Ok(v);
        }
        if v > 1i128 << 63 {
            return Err(self.err_at(off, format!("integer -{v} is below the 64-bit range")));
        }
        Ok(-v)
    }

    /// `word(.word)*` as one string; only dotted paths allocate.
    pub(super) fn dotted(&mut self) -> Result<Cow<'a, str>> {
        let Tok::Ident(first) = *self.peek() else {
            return Err(self.unexpected("an identifier"));
        };
        if !(self.peek_at(1) == &Tok::Punct(P::Dot) && matches!(self.peek_at(2), Tok::Ident(_))) {
            self.advance();
            return Ok(Cow::Borrowed(first));
        }
        Ok(Cow::Owned(self.dotted_words()?.join(".")))
    }

    /// `word(.word)*` where words are identifiers or keywords.
    pub(super) fn dotted_words(&mut self) -> Result<Vec<&'a str>> {
        let mut words = Vec::with_capacity(1);
        loop {
            match *self.peek() {
                Tok::Ident(w) => {
                    self.advance();
                    words.push(w);
                }
                _ => return Err(self.unexpected("an identifier")),
            }
            if !(self.peek_is(P::Dot) && matches!(self.peek_at(1), Tok::Ident(_))) {
                return Ok(words);
            }
            self.advance();
        }
    }

    pub(super) fn as_u64(&self, v: &Value<'_>, off: usize, what: &str) -> Result<u64> {
        match v {
            Value::Int(i) => u64::try_from(*i)
                .map_err(|_| self.err_at(off, format!("{what} must not be negative, found {i}"))),
            _ => Err(self.err_at(off, format!("{what} must be an integer"))),
        }
    }

    pub(super) fn as_u32(&self, v: &Value<'_>, off: usize, what: &str) -> Result<u32> {
        let n = self.as_u64(v, off, what)?;
        u32::try_from(n).map_err(|_| self.err_at(off, format!("{what} is too large: {n}")))
    }

    pub(super) fn as_i64(&self, v: &Value<'_>, off: usize, what: &str) -> Result<i64> {
        match v {
            Value::Int(i) => i64::try_from(*i).map_err(|_| {
                self.err_at(
                    off,
                    format!("{what} is out of the signed 64-bit range: {i}"),
                )
            }),
            _ => Err(self.err_at(off, format!("{what} must be an integer"))),
        }
    }

    /// `true`/`TRUE`/`false`/`FALSE` or an integer (non-zero is true).
    pub(super) fn as_bool(&self, v: &Value<'_>, off: usize, what: &str) -> Result<bool> {
        match v {
            Value::Int(i) => Ok(*i != 0),
            Value::Path(p) if matches!(&**p, "true" | "TRUE") => Ok(true),
            Value::Path(p) if matches!(&**p, "false" | "FALSE") => Ok(false),
            _ => Err(self.err_at(off, format!("{what} must be a boolean"))),
        }
    }

    /// A string literal, or an identifier taken as text (babeltrace accepts
    /// `name = func_enter;`).
    pub(super) fn as_text(&self, v: &Value<'_>, off: usize, what: &str) -> Result<String> {
        match v {
            Value::Str(s) => Ok(s.to_string()),
            Value::Path(p) => Ok(p.to_string()),
            Value::Int(_) => Err(self.err_at(off, format!("{what} must be a string"))),
        }
    }

    /// A single word, quoted or not (`le`, `"le"`, `UTF8`).
    pub(super) fn as_word<'v>(&self, v: &'v Value<'_>, off: usize, what: &str) -> Result<&'v str> {
        match v {
            Value::Str(s) => Ok(s),
            Value::Path(p) if !p.contains('.') => Ok(p),
            _ => Err(self.err_at(off, format!("{what} must be a word"))),
        }
    }

    pub(super) fn as_uuid(&self, v: &Value<'_>, off: usize, what: &str) -> Result<[u8; 16]> {
        match v {
            Value::Str(s) => parse_uuid(s).ok_or_else(|| {
                self.err_at(
                    off,
                    format!("{what} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): \"{s}\""),
                )
            }),
            _ => Err(self.err_at(off, format!("{what} must be a UUID string"))),
        }
    }
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub(super) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut hex = b.iter().filter(|&&c| c != b'-');
    let mut out = [0u8; 16];
    for byte in &mut out {
        let hi = (*hex.next()? as char).to_digit(16)?;
        let lo = (*hex.next()? as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let u = parse_uuid("2a6422d0-6cee-11e0-8c08-cb07d7b3a564").unwrap();
        assert_eq!(u[0], 0x2a);
        assert_eq!(u[15], 0x64);
        assert!(parse_uuid("2a6422d0-6cee-11e0-8c08-cb07d7b3a56").is_none());
        assert!(parse_uuid("2a6422d0x6cee-11e0-8c08-cb07d7b3a564").is_none());
        assert!(parse_uuid("2a6422d0-6cee-11e0-8c08-cb07d7b3a56g").is_none());
    }
}
