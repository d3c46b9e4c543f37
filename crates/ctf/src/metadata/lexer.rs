//! TSDL tokens. The whole text is tokenized up front: the parser needs
//! arbitrary look-ahead once (to find the trace byte order before the
//! typealiases that depend on it), and a token vector makes that trivial.
//! Tokens keep only their byte offset; lines and columns are computed when
//! an error is reported.

use std::borrow::Cow;

use super::error::MetadataError;

/// Punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum P {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Semi,
    Comma,
    Colon,
    /// `:=`
    TypeAssign,
    Eq,
    Lt,
    Gt,
    Dot,
    /// `...`
    Ellipsis,
    Plus,
    Minus,
    Star,
    /// `->`
    Arrow,
}

impl P {
    pub(super) fn text(self) -> &'static str {
        match self {
            P::LBrace => "{",
            P::RBrace => "}",
            P::LBracket => "[",
            P::RBracket => "]",
            P::LParen => "(",
            P::RParen => ")",
            P::Semi => ";",
            P::Comma => ",",
            P::Colon => ":",
            P::TypeAssign => ":=",
            P::Eq => "=",
            P::Lt => "<",
            P::Gt => ">",
            P::Dot => ".",
            P::Ellipsis => "...",
            P::Plus => "+",
            P::Minus => "-",
            P::Star => "*",
            P::Arrow => "->",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
    /// An identifier or a keyword (the parser tells them apart: keywords
    /// are valid in attribute names and values, not as field names).
    Ident(&'a str),
    /// An integer literal's magnitude (the sign is a separate token).
    Int(u64),
    Str(Cow<'a, str>),
    /// A character literal, kept as text (only ever an ignored value).
    Char(Cow<'a, str>),
    Punct(P),
    Eof,
}

impl Tok<'_> {
    /// How the token is named in error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(v) => format!("integer `{v}`"),
            Tok::Str(s) => format!("string \"{}\"", s.escape_default()),
            Tok::Char(s) => format!("character literal '{}'", s.escape_default()),
            Tok::Punct(p) => format!("`{}`", p.text()),
            Tok::Eof => "end of metadata".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub offset: usize,
}

/// Splits `text` into tokens, ending with [`Tok::Eof`].
pub(super) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, MetadataError> {
    let mut lx = Lexer {
        text,
        bytes: text.as_bytes(),
        i: 0,
        out: Vec::with_capacity(text.len() / 5 + 1),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    out: Vec<Token<'a>>,
}

impl<'a> Lexer<'a> {
    fn run(&mut self) -> Result<(), MetadataError> {
        while let Some(&c) = self.bytes.get(self.i) {
            let start = self.i;
            let tok = match c {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.i += 1;
                    continue;
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    self.block_comment()?;
                    continue;
                }
                b'/' if self.peek(1) == Some(b'/') => {
                    self.i = memchr(b'\n', self.bytes, self.i).unwrap_or(self.bytes.len());
                    continue;
                }
                b'"' => Tok::Str(self.quoted(b'"')?),
                b'\'' => Tok::Char(self.quoted(b'\'')?),
                b'0'..=b'9' => Tok::Int(self.number()?),
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => Tok::Ident(self.ident()),
                _ => Tok::Punct(self.punct()?),
            };
            self.out.push(Token { tok, offset: start });
        }
        self.out.push(Token {
            tok: Tok::Eof,
            offset: self.bytes.len(),
        });
        Ok(())
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.i + ahead).copied()
    }

    fn err(&self, offset: usize, msg: impl Into<String>) -> MetadataError {
        MetadataError::in_text(self.text, offset, msg)
    }

    fn block_comment(&mut self) -> Result<(), MetadataError> {
        let start = self.i;
        match self.text[start + 2..].find("*/") {
            Some(end) => {
                self.i = start + 2 + end + 2;
                Ok(())
            }
            None => Err(self.err(start, "unterminated comment")),
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.i;
        while matches!(
            self.peek(0),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')
        ) {
            self.i += 1;
        }
        &self.text[start..self.i]
    }

    /// A decimal, octal (`0` prefix) or hexadecimal (`0x`) literal with an
    /// optional C suffix (`U`, `UL`, `ULL`, ...), as babeltrace's lexer.
    fn number(&mut self) -> Result<u64, MetadataError> {
        let start = self.i;
        let (radix, digits_start) = match (self.peek(0), self.peek(1)) {
            (Some(b'0'), Some(b'x' | b'X')) => (16, start + 2),
            (Some(b'0'), _) => (8, start),
            _ => (10, start),
        };
        let is_digit = |c: u8| {
            if radix == 16 {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        };
        self.i = digits_start;
        while self.peek(0).is_some_and(is_digit) {
            self.i += 1;
        }
        let digits = &self.text[digits_start..self.i];
        if digits.is_empty() {
            return Err(self.err(start, "hexadecimal literal without digits"));
        }
        while matches!(self.peek(0), Some(b'u' | b'U' | b'l' | b'L')) {
            self.i += 1;
        }
        if matches!(self.peek(0), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            return Err(self.err(
                start,
                format!("invalid integer literal `{}`", self.literal_text(start)),
            ));
        }
        digits_value(digits, radix).map_err(|why| {
            self.err(
                start,
                format!("{why} in integer literal `{}`", self.literal_text(start)),
            )
        })
    }

    /// The literal starting at `start`, for messages (bounded in length).
    fn literal_text(&self, start: usize) -> &'a str {
        let end = self.bytes[start..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .map_or(self.bytes.len(), |p| start + p)
            .min(start + 80);
        &self.text[start..end]
    }

    /// A string or character literal with C escapes. Raw newlines are
    /// accepted (babeltrace's lexer does); NUL bytes are not.
    fn quoted(&mut self, quote: u8) -> Result<Cow<'a, str>, MetadataError> {
        let start = self.i;
        self.i += 1;
        let body_start = self.i;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.err(start, "unterminated string literal"));
            };
            match c {
                _ if c == quote => break,
                0 => return Err(self.err(self.i, "NUL byte in string literal")),
                b'\\' => {
                    let buf = owned.get_or_insert_with(|| self.bytes[body_start..self.i].to_vec());
                    let esc_at = self.i;
                    self.i += 1;
                    let (bytes, len) = escape(&self.bytes[self.i..])
                        .map_err(|why| MetadataError::in_text(self.text, esc_at, why))?;
                    buf.extend_from_slice(bytes.as_slice());
                    self.i += len;
                }
                _ => {
                    if let Some(buf) = owned.as_mut() {
                        buf.push(c);
                    }
                    self.i += 1;
                }
            }
        }
        let body = &self.text[body_start..self.i];
        self.i += 1;
        Ok(match owned {
            None => Cow::Borrowed(body),
            Some(buf) => match String::from_utf8(buf) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        })
    }

    fn punct(&mut self) -> Result<P, MetadataError> {
        let c = self.bytes[self.i];
        let (p, len) = match (c, self.peek(1), self.peek(2)) {
            (b':', Some(b'='), _) => (P::TypeAssign, 2),
            (b'.', Some(b'.'), Some(b'.')) => (P::Ellipsis, 3),
            (b'-', Some(b'>'), _) => (P::Arrow, 2),
            (b'{', ..) => (P::LBrace, 1),
            (b'}', ..) => (P::RBrace, 1),
            (b'[', ..) => (P::LBracket, 1),
            (b']', ..) => (P::RBracket, 1),
            (b'(', ..) => (P::LParen, 1),
            (b')', ..) => (P::RParen, 1),
            (b';', ..) => (P::Semi, 1),
            (b',', ..) => (P::Comma, 1),
            (b':', ..) => (P::Colon, 1),
            (b'=', ..) => (P::Eq, 1),
            (b'<', ..) => (P::Lt, 1),
            (b'>', ..) => (P::Gt, 1),
            (b'.', ..) => (P::Dot, 1),
            (b'+', ..) => (P::Plus, 1),
            (b'-', ..) => (P::Minus, 1),
            (b'*', ..) => (P::Star, 1),
            _ => {
                let ch = self.text[self.i..].chars().next().unwrap_or('?');
                return Err(self.err(self.i, format!("unexpected character {ch:?}")));
            }
        };
        self.i += len;
        Ok(p)
    }
}

fn memchr(needle: u8, haystack: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

/// The value of `digits` in `radix`, or why it has none.
fn digits_value(digits: &str, radix: u32) -> Result<u64, &'static str> {
    digits.bytes().try_fold(0u64, |acc, c| {
        let d = (c as char).to_digit(radix).ok_or("invalid digit")?;
        acc.checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or("value out of range (more than 64 bits)")
    })
}

/// Bytes an escape sequence stands for (at most 4 for `\u`/`\U`).
#[derive(Default)]
struct EscBytes {
    buf: [u8; 4],
    len: usize,
}

impl EscBytes {
    fn byte(b: u8) -> Self {
        let mut e = EscBytes::default();
        e.buf[0] = b;
        e.len = 1;
        e
    }

    fn char(c: char) -> Self {
        let mut e = EscBytes::default();
        e.len = c.encode_utf8(&mut e.buf).len();
        e
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Decodes the escape whose text (after the backslash) starts `rest`:
/// returns its bytes and how many input bytes it used.
fn escape(rest: &[u8]) -> Result<(EscBytes, usize), String> {
    let Some(&c) = rest.first() else {
        return Err("unterminated escape sequence".into());
    };
    let simple = match c {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0C),
        b'v' => Some(0x0B),
        b'\\' | b'"' | b'\'' | b'?' => Some(c),
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((EscBytes::byte(b), 1));
    }
    match c {
        b'0'..=b'7' => {
            let len = rest
                .iter()
                .take(3)
                .take_while(|d| matches!(d, b'0'..=b'7'))
                .count();
            let v = rest[..len]
                .iter()
                .fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
            let b = u8::try_from(v).map_err(|_| "octal escape out of range".to_string())?;
            Ok((EscBytes::byte(b), len))
        }
        b'x' => {
            let len = rest[1..]
                .iter()
                .take_while(|d| d.is_ascii_hexdigit())
                .count();
            let text = std::str::from_utf8(&rest[1..1 + len]).unwrap_or("");
            match u8::from_str_radix(text, 16) {
                Ok(b) if len > 0 => Ok((EscBytes::byte(b), 1 + len)),
                _ => Err("invalid `\\x` escape".into()),
            }
        }
        b'u' | b'U' => {
            let len = if c == b'u' { 4 } else { 8 };
            let hex = rest
                .get(1..1 + len)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
            let ch = hex
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32)
                .ok_or_else(|| format!("invalid `\\{}` escape", c as char))?;
            Ok((EscBytes::char(ch), 1 + len))
        }
        _ => {
            let shown = String::from_utf8_lossy(&rest[..rest.len().min(4)])
                .chars()
                .next();
            Err(format!(
                "invalid escape sequence `\\{}`",
                shown.unwrap_or('?')
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok<'_>> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn integers_in_every_base_with_suffixes() {
        assert_eq!(
            toks("0x1F 017 0 42 18446744073709551615 7ULL"),
            vec![
                Tok::Int(31),
                Tok::Int(15),
                Tok::Int(0),
                Tok::Int(42),
                Tok::Int(u64::MAX),
                Tok::Int(7),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn bad_integers_are_errors() {
        assert!(tokenize("18446744073709551616").is_err());
        assert!(tokenize("08").is_err());
        assert!(tokenize("0x").is_err());
        assert!(tokenize("12ab").is_err());
    }

    #[test]
    fn punctuation_and_comments() {
        assert_eq!(
            toks("a := b; /* c */ x...y // z\n:"),
            vec![
                Tok::Ident("a"),
                Tok::Punct(P::TypeAssign),
                Tok::Ident("b"),
                Tok::Punct(P::Semi),
                Tok::Ident("x"),
                Tok::Punct(P::Ellipsis),
                Tok::Ident("y"),
                Tok::Punct(P::Colon),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            toks(r#""a\"b\\c\n\x41\101\u00e9""#)[0],
            Tok::Str(Cow::Owned("a\"b\\c\nAAé".into()))
        );
        assert!(tokenize(r#""\o040""#).is_err());
        assert!(tokenize("\"abc").is_err());
        assert!(tokenize("\"a\0b\"").is_err());
        assert!(tokenize("/* open").is_err());
        assert!(tokenize("a # b").is_err());
    }

    #[test]
    fn error_offsets_point_at_the_culprit() {
        let e = tokenize("x\n  \"\\q\"").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
    }
}
