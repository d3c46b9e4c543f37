//! Enumerations: `enum [NAME] [: CONTAINER] { "label" = v, label = a ... b,
//! label, }`. A bare label takes the previous value plus one (0 first),
//! entries with the same label merge into one mapping, and every value must
//! fit the container (a missing container is the typealias `int`).

use std::collections::HashMap;

use super::lexer::{Tok, P};
use super::model::*;
use super::parser::{Ns, Parser, Result, Ty};

impl<'a> Parser<'a> {
    /// `enum [NAME] [: CONTAINER] { entries }` or `enum NAME`.
    pub(super) fn enum_spec(&mut self) -> Result<Ty> {
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
            Some(_) => {
                Err(self.err_at(off, "enum without container: type `int` is not an integer"))
            }
            None => Err(self.err_at(off, "enum without container needs a typealias named `int`")),
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
                            if container.signed {
                                "signed"
                            } else {
                                "unsigned"
                            }
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
