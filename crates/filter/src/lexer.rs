//! Tokens of the filter language, following LTTng's flex lexer: C-like
//! numbers (decimal, octal from a leading `0`, hex, floats with optional
//! suffixes), identifiers that may hold `:`, `$` globals, string and
//! character constants whose only escape is `\*`, and C comments.

use crate::error::{ErrorKind, FilterError, Span};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Int(u64),
    Float(f64),
    /// Raw text between the quotes, newlines dropped.
    Str(String),
    Ident(String),
    /// `$name`, `$` included.
    Global(String),
    LBracket,
    RBracket,
    LParen,
    RParen,
    Dot,
    Arrow,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Bang,
    Tilde,
    Amp,
    Pipe,
    Caret,
    /// Tokens LTTng's lexer knows but its grammar never accepts
    /// (`{ } : := ; ... , =`).
    Unusable(&'static str),
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Int(v) => format!("integer `{v}`"),
            Tok::Float(v) => format!("number `{v}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Ident(s) | Tok::Global(s) => format!("`{s}`"),
            Tok::Eof => "end of expression".to_string(),
            other => format!("`{}`", other.punct()),
        }
    }

    fn punct(&self) -> &'static str {
        match self {
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Dot => ".",
            Tok::Arrow => "->",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::Tilde => "~",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            Tok::Caret => "^",
            Tok::Unusable(s) => s,
            _ => "?",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, FilterError> {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    out: Vec<Token>,
}

/// Punctuators, longest first so that a prefix never shadows a longer one.
const PUNCTS: &[(&str, Tok)] = &[
    ("...", Tok::Unusable("...")),
    ("->", Tok::Arrow),
    ("<<", Tok::Shl),
    (">>", Tok::Shr),
    ("<=", Tok::Le),
    (">=", Tok::Ge),
    ("==", Tok::EqEq),
    ("!=", Tok::Ne),
    ("&&", Tok::AndAnd),
    ("||", Tok::OrOr),
    (":=", Tok::Unusable(":=")),
    ("[", Tok::LBracket),
    ("]", Tok::RBracket),
    ("(", Tok::LParen),
    (")", Tok::RParen),
    (".", Tok::Dot),
    ("+", Tok::Plus),
    ("-", Tok::Minus),
    ("*", Tok::Star),
    ("/", Tok::Slash),
    ("%", Tok::Percent),
    ("<", Tok::Lt),
    (">", Tok::Gt),
    ("!", Tok::Bang),
    ("~", Tok::Tilde),
    ("&", Tok::Amp),
    ("|", Tok::Pipe),
    ("^", Tok::Caret),
    ("{", Tok::Unusable("{")),
    ("}", Tok::Unusable("}")),
    (";", Tok::Unusable(";")),
    (",", Tok::Unusable(",")),
    ("=", Tok::Unusable("=")),
];

impl<'s> Lexer<'s> {
    fn err(&self, msg: impl Into<String>, start: usize, end: usize) -> FilterError {
        FilterError::new(ErrorKind::Syntax, msg, Span::new(start, end), self.src)
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.pos + ahead).copied()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            span: Span::new(start, self.pos),
        });
    }

    fn run(&mut self) -> Result<(), FilterError> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            match c {
                b' ' | b'\t' | b'\n' => self.pos += 1,
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'/' if self.peek(1) == Some(b'/') => self.line_comment(),
                b'"' | b'\'' => self.string(c, start)?,
                b'L' if matches!(self.peek(1), Some(b'"' | b'\'')) => {
                    self.pos += 1;
                    let q = self.b[self.pos];
                    self.string(q, start)?;
                }
                b'0'..=b'9' => self.number(start)?,
                b'.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.number(start)?,
                b'$' => {
                    self.pos += 1;
                    match self.ident_len(self.pos) {
                        0 => {
                            return Err(self.err(
                                "`$` must start `$ctx.NAME` or `$app.PROVIDER:NAME`",
                                start,
                                start + 1,
                            ))
                        }
                        n => {
                            self.pos += n;
                            let name = self.src[start..self.pos].to_string();
                            self.push(Tok::Global(name), start);
                        }
                    }
                }
                _ => {
                    let n = self.ident_len(self.pos);
                    // A lone `:` is the COLON punctuator; `::`, `:a`, `a:b`
                    // are identifiers (LTTng's longest-match rule).
                    if n > 0 && !(n == 1 && c == b':') {
                        self.pos += n;
                        let name = self.src[start..self.pos].to_string();
                        self.push(Tok::Ident(name), start);
                    } else if c == b':' {
                        if self.peek(1) == Some(b'=') {
                            self.pos += 2;
                            self.push(Tok::Unusable(":="), start);
                        } else {
                            self.pos += 1;
                            self.push(Tok::Unusable(":"), start);
                        }
                    } else if let Some((p, tok)) = PUNCTS
                        .iter()
                        .find(|(p, _)| self.b[self.pos..].starts_with(p.as_bytes()))
                    {
                        self.pos += p.len();
                        self.push(tok.clone(), start);
                    } else {
                        let ch = self.src[start..].chars().next().unwrap_or('?');
                        return Err(self.err(
                            format!("unexpected character `{}`", ch.escape_debug()),
                            start,
                            start + ch.len_utf8(),
                        ));
                    }
                }
            }
        }
        let end = self.b.len();
        self.out.push(Token {
            tok: Tok::Eof,
            span: Span::new(end, end),
        });
        Ok(())
    }

    /// `/* ... */`; an unterminated comment runs to the end of the text, as
    /// with LTTng's lexer.
    fn block_comment(&mut self) {
        self.pos += 2;
        while self.pos < self.b.len() {
            if self.b[self.pos..].starts_with(b"*/") {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
    }

    fn line_comment(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    /// Length of the identifier starting at `at`: `[A-Za-z_:]` or a
    /// `\uXXXX` / `\UXXXXXXXX` escape, then also digits.
    fn ident_len(&self, at: usize) -> usize {
        let mut i = at;
        while let Some(&c) = self.b.get(i) {
            if c.is_ascii_alphabetic() || c == b'_' || c == b':' || (c.is_ascii_digit() && i > at) {
                i += 1;
            } else if c == b'\\' {
                let digits = match self.b.get(i + 1) {
                    Some(b'u') => 4,
                    Some(b'U') => 8,
                    _ => break,
                };
                let hex = &self.b[(i + 2).min(self.b.len())..];
                if hex.len() >= digits && hex[..digits].iter().all(u8::is_ascii_hexdigit) {
                    i += 2 + digits;
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        i - at
    }

    /// A string (`"`) or character (`'`) constant; both make strings.
    fn string(&mut self, quote: u8, start: usize) -> Result<(), FilterError> {
        self.pos += 1;
        let mut raw = Vec::new();
        loop {
            let c = match self.peek(0) {
                Some(c) => c,
                None => return Err(self.err("unterminated string constant", start, self.pos)),
            };
            if c == quote {
                self.pos += 1;
                break;
            }
            match c {
                b'\n' => self.pos += 1,
                0 => {
                    return Err(self.err(
                        "NUL character in string constant",
                        self.pos,
                        self.pos + 1,
                    ))
                }
                b'\\' => {
                    let at = self.pos;
                    match self.peek(1) {
                        Some(b'*') => {
                            raw.extend_from_slice(b"\\*");
                            self.pos += 2;
                        }
                        _ => {
                            let shown = self.src[at..].chars().take(2).collect::<String>();
                            return Err(FilterError::new(
                                ErrorKind::Escape,
                                format!(
                                    "unsupported escape sequence `{}` (the only escape LTTng accepts is `\\*`, a literal star)",
                                    shown.escape_debug()
                                ),
                                Span::new(at, at + shown.len()),
                                self.src,
                            ));
                        }
                    }
                }
                _ => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
        if quote == b'\'' && raw.is_empty() {
            return Err(self.err("empty character constant", start, self.pos));
        }
        // Only whole UTF-8 sequences were copied (the quote, backslash and
        // newline are ASCII), so this cannot fail; stay total anyway.
        let raw = String::from_utf8(raw)
            .map_err(|_| self.err("invalid UTF-8 in string constant", start, self.pos))?;
        self.push(Tok::Str(raw), start);
        Ok(())
    }

    /// Numbers: the longest of LTTng's integer and float patterns wins; on
    /// a tie the integer forms (listed first in LTTng's lexer) win.
    fn number(&mut self, start: usize) -> Result<(), FilterError> {
        let s = &self.b[start..];
        let mut best: Option<(usize, NumKind)> = None;
        let mut consider = |len: Option<usize>, kind: NumKind| {
            if let Some(len) = len {
                let longer = match best {
                    Some((l, _)) => len > l,
                    None => true,
                };
                if longer {
                    best = Some((len, kind));
                }
            }
        };
        consider(hex_int(s), NumKind::Hex);
        consider(octal_int(s), NumKind::Octal);
        consider(decimal_int(s), NumKind::Decimal);
        consider(dec_float(s), NumKind::Float);
        consider(hex_float(s), NumKind::HexFloat);
        let (len, kind) = match best {
            Some(b) => b,
            None => return Err(self.err("malformed number", start, start + 1)),
        };
        let text = &self.src[start..start + len];
        self.pos = start + len;
        let tok = match kind {
            NumKind::Hex => Tok::Int(scan_int(&text[2..], 16, 17)),
            NumKind::Octal => Tok::Int(scan_int(&text[1..], 8, 22)),
            NumKind::Decimal => Tok::Int(scan_int(text, 10, 20)),
            NumKind::Float => {
                let body = text.trim_end_matches(['f', 'F', 'l', 'L']);
                match body.parse::<f64>() {
                    Ok(v) => Tok::Float(v),
                    Err(_) => {
                        return Err(self.err("malformed floating point constant", start, self.pos))
                    }
                }
            }
            NumKind::HexFloat => Tok::Float(parse_hex_float(text)),
        };
        self.push(tok, start);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum NumKind {
    Hex,
    Octal,
    Decimal,
    Float,
    HexFloat,
}

fn count(s: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&c| pred(c)).count()
}

/// C integer suffix `u`, `l`, `ll`, `ul`, `lu`, `ull`, `llu` (case as
/// LTTng allows: `ll` and `LL` but not `lL`).
fn int_suffix(s: &[u8]) -> usize {
    let u = |i: usize| matches!(s.get(i), Some(b'u' | b'U'));
    let l = |i: usize| -> usize {
        match (s.get(i), s.get(i + 1)) {
            (Some(b'l'), Some(b'l')) | (Some(b'L'), Some(b'L')) => 2,
            (Some(b'l' | b'L'), _) => 1,
            _ => 0,
        }
    };
    if u(0) {
        1 + l(1)
    } else {
        match l(0) {
            0 => 0,
            n => n + usize::from(u(n)),
        }
    }
}

fn hex_int(s: &[u8]) -> Option<usize> {
    if s.len() > 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X') {
        let h = count(&s[2..], |c| c.is_ascii_hexdigit());
        (h > 0).then(|| 2 + h + int_suffix(&s[2 + h..]))
    } else {
        None
    }
}

fn octal_int(s: &[u8]) -> Option<usize> {
    (s.first() == Some(&b'0')).then(|| {
        let o = count(&s[1..], |c| (b'0'..=b'7').contains(&c));
        1 + o + int_suffix(&s[1 + o..])
    })
}

fn decimal_int(s: &[u8]) -> Option<usize> {
    matches!(s.first(), Some(b'1'..=b'9')).then(|| {
        let d = count(s, |c| c.is_ascii_digit());
        d + int_suffix(&s[d..])
    })
}

/// `[Ee][+-]?[0-9]+` (or `[Pp]...` for hex floats), if complete.
fn exponent(s: &[u8], letters: [u8; 2]) -> usize {
    if !s.first().is_some_and(|c| letters.contains(c)) {
        return 0;
    }
    let sign = usize::from(matches!(s.get(1), Some(b'+' | b'-')));
    let d = count(&s[1 + sign..], |c| c.is_ascii_digit());
    if d == 0 {
        0
    } else {
        1 + sign + d
    }
}

fn float_suffix(s: &[u8]) -> usize {
    usize::from(matches!(s.first(), Some(b'f' | b'F' | b'l' | b'L')))
}

/// `D+ E FS?`, `D* . D+ E? FS?`, `D+ . D* E? FS?`.
fn dec_float(s: &[u8]) -> Option<usize> {
    let d1 = count(s, |c| c.is_ascii_digit());
    if s.get(d1) == Some(&b'.') {
        let d2 = count(&s[d1 + 1..], |c| c.is_ascii_digit());
        if d1 == 0 && d2 == 0 {
            return None;
        }
        let mut n = d1 + 1 + d2;
        n += exponent(&s[n..], [b'e', b'E']);
        Some(n + float_suffix(&s[n..]))
    } else if d1 > 0 {
        let e = exponent(&s[d1..], [b'e', b'E']);
        (e > 0).then(|| d1 + e + float_suffix(&s[d1 + e..]))
    } else {
        None
    }
}

/// `0x H+ P FS?`, `0x H* . H+ P? FS?`, `0x H+ . H* P? FS?`.
fn hex_float(s: &[u8]) -> Option<usize> {
    if !(s.len() > 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X')) {
        return None;
    }
    let h1 = count(&s[2..], |c| c.is_ascii_hexdigit());
    let mut n = 2 + h1;
    if s.get(n) == Some(&b'.') {
        let h2 = count(&s[n + 1..], |c| c.is_ascii_hexdigit());
        if h1 == 0 && h2 == 0 {
            return None;
        }
        n += 1 + h2;
        n += exponent(&s[n..], [b'p', b'P']);
    } else {
        let p = exponent(&s[n..], [b'p', b'P']);
        if h1 == 0 || p == 0 {
            return None;
        }
        n += p;
    }
    Some(n + float_suffix(&s[n..]))
}

/// Value of an integer constant as LTTng's `sscanf` reads it: at most
/// `width` digits, saturating at 2^64-1 on overflow (glibc's behavior).
fn scan_int(digits: &str, radix: u32, width: usize) -> u64 {
    let mut v: u64 = 0;
    for c in digits.chars().take(width) {
        let d = match c.to_digit(radix) {
            Some(d) => u64::from(d),
            None => break,
        };
        v = match v
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(d))
        {
            Some(v) => v,
            None => return u64::MAX,
        };
    }
    v
}

/// Hexadecimal float (`0x1.8p3`): mantissa digits, binary exponent.
fn parse_hex_float(text: &str) -> f64 {
    let body = text[2..].trim_end_matches(['f', 'F', 'l', 'L']);
    let (mant, exp) = match body.find(['p', 'P']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let mut value: f64 = 0.0;
    let mut frac_digits: i64 = 0;
    let mut seen_dot = false;
    for c in mant.chars() {
        if c == '.' {
            seen_dot = true;
            continue;
        }
        let d = c.to_digit(16).unwrap_or(0);
        value = value * 16.0 + f64::from(d);
        if seen_dot {
            frac_digits += 1;
        }
    }
    let e = exp
        .saturating_sub(frac_digits.saturating_mul(4))
        .clamp(-2000, 2000);
    value * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_follow_c_and_lttng() {
        assert_eq!(toks("010")[0], Tok::Int(8));
        assert_eq!(toks("0")[0], Tok::Int(0));
        assert_eq!(toks("0x10")[0], Tok::Int(16));
        assert_eq!(toks("10ul")[0], Tok::Int(10));
        assert_eq!(toks("10LLU")[0], Tok::Int(10));
        assert_eq!(toks("1.5")[0], Tok::Float(1.5));
        assert_eq!(toks(".5")[0], Tok::Float(0.5));
        assert_eq!(toks("1.")[0], Tok::Float(1.0));
        assert_eq!(toks("17.34e9")[0], Tok::Float(17.34e9));
        assert_eq!(toks("1e3f")[0], Tok::Float(1000.0));
        assert_eq!(toks("09.5")[0], Tok::Float(9.5));
        assert_eq!(toks("0x1.8p1")[0], Tok::Float(3.0));
        assert_eq!(toks("0x8000000000000000")[0], Tok::Int(1 << 63));
        assert_eq!(toks("99999999999999999999")[0], Tok::Int(u64::MAX));
        // `08` is octal 0 then decimal 8 (a syntax error later).
        assert_eq!(toks("08")[..2], [Tok::Int(0), Tok::Int(8)]);
        assert_eq!(toks("1e")[..2], [Tok::Int(1), Tok::Ident("e".into())]);
    }

    #[test]
    fn identifiers_strings_and_comments() {
        assert_eq!(
            toks("$app.prov:ctx")[..3],
            [
                Tok::Global("$app".into()),
                Tok::Dot,
                Tok::Ident("prov:ctx".into())
            ]
        );
        assert_eq!(
            toks("a /* x */ // y")[..2],
            [Tok::Ident("a".into()), Tok::Eof]
        );
        assert_eq!(toks("\"a\\*b\"")[0], Tok::Str("a\\*b".into()));
        assert_eq!(toks("'x'")[0], Tok::Str("x".into()));
        assert_eq!(toks("L\"x\"")[0], Tok::Str("x".into()));
        assert_eq!(toks("\"a\nb\"")[0], Tok::Str("ab".into()));
        assert_eq!(toks(":")[0], Tok::Unusable(":"));
        assert!(tokenize("\"a\\nb\"").is_err());
        assert!(tokenize("\"a\\\\b\"").is_err());
        assert!(tokenize("\"abc").is_err());
        assert!(tokenize("$").is_err());
        assert!(tokenize("a # b").is_err());
    }
}
