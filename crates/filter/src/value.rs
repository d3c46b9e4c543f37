//! How evaluation reads an event: the [`FieldSource`] trait, implemented by
//! the tracer (over a tracepoint's arguments) and by the reader (over a
//! decoded event), and the borrowed [`Value`]s it hands out. Nothing here
//! allocates: strings and arrays are borrowed from the event.

/// A field's value, borrowed from the event.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// Any signed integer, or a signed enumeration's value.
    Signed(i64),
    /// Any unsigned integer, or an unsigned enumeration's value. Filters see
    /// it as a signed 64-bit value (two's complement: 2^63 and above are
    /// negative), as LTTng does.
    Unsigned(u64),
    /// `float` or `double`.
    Float(f64),
    /// A string, or an array/sequence of text characters. Comparison stops
    /// at the first NUL byte if there is one.
    Str(&'a [u8]),
    /// An array or sequence of integers: only its elements are usable
    /// (`arr[3]`).
    Ints(IntSeq<'a>),
    /// A field of a type filters cannot read (structure, variant, blob).
    Unsupported,
}

/// Integer elements of an array or sequence, in whatever form the source
/// has them.
#[derive(Clone, Copy)]
pub enum IntSeq<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    /// Elements decoded on demand (for example from a packet buffer).
    Dyn(&'a dyn IntElements),
}

/// Random access to integer elements, for sources that do not hold them as
/// a native slice.
pub trait IntElements {
    /// Number of elements.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `index` as a 64-bit value (unsigned ones cast), `None` if out
    /// of range.
    fn get(&self, index: usize) -> Option<i64>;
}

impl IntSeq<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            IntSeq::I8(s) => s.len(),
            IntSeq::I16(s) => s.len(),
            IntSeq::I32(s) => s.len(),
            IntSeq::I64(s) => s.len(),
            IntSeq::U8(s) => s.len(),
            IntSeq::U16(s) => s.len(),
            IntSeq::U32(s) => s.len(),
            IntSeq::U64(s) => s.len(),
            IntSeq::Dyn(d) => d.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `index` as filters see it (signed 64-bit), `None` past the
    /// end.
    pub fn get(&self, index: u64) -> Option<i64> {
        let i = usize::try_from(index).ok()?;
        match self {
            IntSeq::I8(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::I16(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::I32(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::I64(s) => s.get(i).copied(),
            IntSeq::U8(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::U16(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::U32(s) => s.get(i).map(|&v| i64::from(v)),
            IntSeq::U64(s) => s.get(i).map(|&v| v as i64),
            IntSeq::Dyn(d) => d.get(i),
        }
    }
}

impl std::fmt::Debug for IntSeq<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for i in 0..self.len() as u64 {
            l.entry(&self.get(i));
        }
        l.finish()
    }
}

/// Where a filter reads an event's fields.
///
/// Bytecode compiled with a [`Schema`](crate::Schema) asks by index
/// ([`field`](Self::field), [`context`](Self::context): positions in the
/// schema); bytecode compiled without asks by name
/// ([`field_named`](Self::field_named), [`context_named`](Self::context_named)).
/// Application contexts are always asked by name. Every method defaults to
/// "absent", so a source implements what it supports; an absent value makes
/// the filter reject the event, as LTTng does.
///
/// Names are as written in filters: payload fields without LTTng's leading
/// underscore (see [`filter_name`](crate::filter_name)); nested members of
/// structures as a dotted path (`a.b`).
pub trait FieldSource {
    /// Payload field number `index` of the schema the bytecode was compiled
    /// with.
    fn field(&self, index: usize) -> Option<Value<'_>> {
        let _ = index;
        None
    }

    /// Context number `index` of the schema.
    fn context(&self, index: usize) -> Option<Value<'_>> {
        let _ = index;
        None
    }

    /// Payload field by name.
    fn field_named(&self, name: &str) -> Option<Value<'_>> {
        let _ = name;
        None
    }

    /// Context by name (`procname` for `$ctx.procname`).
    fn context_named(&self, name: &str) -> Option<Value<'_>> {
        let _ = name;
        None
    }

    /// Application context `$app.PROVIDER:NAME`.
    fn app_context(&self, provider: &str, name: &str) -> Option<Value<'_>> {
        let _ = (provider, name);
        None
    }
}
