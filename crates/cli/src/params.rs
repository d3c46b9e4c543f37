//! babeltrace2's component parameter syntax (`-p 'k=v,k2=[a, "b"]'`):
//! `null`, booleans, integers (`0x`, `0b`, `0` prefixes; a leading `+`
//! makes them unsigned), reals, bare or quoted strings, arrays, maps.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Real(f64),
    Str(String),
    Array(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Uint(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }
}

/// Parses `NAME=VALUE[,NAME=VALUE...]`.
pub fn parse(text: &str) -> Result<BTreeMap<String, Value>> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        text,
    };
    let map = p.entries(None)?;
    p.ws();
    if p.i < p.s.len() {
        bail!("{}", p.error("unexpected character"));
    }
    Ok(map)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!(
            "invalid parameters `{}`: {what} at column {}",
            self.text,
            self.i + 1
        )
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// `k=v` entries until `close` (or the end).
    fn entries(&mut self, close: Option<u8>) -> Result<BTreeMap<String, Value>> {
        let mut map = BTreeMap::new();
        loop {
            self.ws();
            if self.peek() == close || self.peek().is_none() {
                return Ok(map);
            }
            let key = self.word();
            if key.is_empty() {
                bail!("{}", self.error("expected a parameter name"));
            }
            self.ws();
            if self.peek() != Some(b'=') {
                bail!("{}", self.error("expected `=`"));
            }
            self.i += 1;
            let value = self.value()?;
            map.insert(key, value);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                c if c == close => return Ok(map),
                _ => bail!("{}", self.error("expected `,`")),
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':' | b'/' | b'+')
        }) {
            self.i += 1;
        }
        self.text[start..self.i].to_owned()
    }

    fn value(&mut self) -> Result<Value> {
        self.ws();
        match self.peek() {
            Some(b'"') => self.quoted().map(Value::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => bail!("{}", self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let map = self.entries(Some(b'}'))?;
                if self.peek() != Some(b'}') {
                    bail!("{}", self.error("expected `}`"));
                }
                self.i += 1;
                Ok(Value::Map(map))
            }
            _ => {
                let w = self.word();
                if w.is_empty() {
                    bail!("{}", self.error("expected a value"));
                }
                Ok(scalar(&w))
            }
        }
    }

    fn quoted(&mut self) -> Result<String> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    if let Some(n) = self.peek() {
                        self.i += 1;
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        bail!("{}", self.error("unterminated string"))
    }
}

/// A bare word: null, bool, number or string.
fn scalar(w: &str) -> Value {
    match w {
        "null" | "nul" | "NULL" => return Value::Null,
        "true" | "TRUE" | "yes" | "YES" => return Value::Bool(true),
        "false" | "FALSE" | "no" | "NO" => return Value::Bool(false),
        _ => {}
    }
    let (unsigned, neg, digits) = match w.as_bytes().first() {
        Some(b'+') => (true, false, &w[1..]),
        Some(b'-') => (false, true, &w[1..]),
        _ => (false, false, w),
    };
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if let Ok(v) = u64::from_str_radix(body, radix) {
        if unsigned {
            return Value::Uint(v);
        }
        if let Ok(v) = i64::try_from(v) {
            return Value::Int(if neg { -v } else { v });
        }
    }
    match w.parse::<f64>() {
        Ok(f) if w.contains(['.', 'e', 'E']) => Value::Real(f),
        _ => Value::Str(w.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_babeltrace_params() {
        let m =
            parse(r#"inputs=["/a/b", c], begin=12.5, n=+0x10, flag=yes, name="x, y", m={k=-3}"#)
                .unwrap();
        assert_eq!(
            m["inputs"],
            Value::Array(vec![Value::Str("/a/b".into()), Value::Str("c".into())])
        );
        assert_eq!(m["begin"], Value::Real(12.5));
        assert_eq!(m["n"], Value::Uint(16));
        assert_eq!(m["flag"], Value::Bool(true));
        assert_eq!(m["name"], Value::Str("x, y".into()));
        assert_eq!(
            m["m"],
            Value::Map(BTreeMap::from([("k".into(), Value::Int(-3))]))
        );
        assert!(parse("a=").is_err());
        assert!(parse("a=[1,").is_err());
    }
}
