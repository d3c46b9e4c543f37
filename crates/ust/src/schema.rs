//! What an event looks like: its fields' CTF types, derived at compile time
//! from the Rust types of the tracepoint's arguments, and how each value is
//! encoded on the fast path.
//!
//! Every layout is LTTng's "packed" x86-64 one: little-endian (network-order
//! integers aside), every field byte-aligned, so a record is the plain
//! concatenation of its fields and no padding is ever written.

use ltt_filter::{IntSeq, Value};

/// The 15 LTTng log levels (`TRACE_EMERG` = 0 … `TRACE_DEBUG` = 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LogLevel {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    DebugSystem = 7,
    DebugProgram = 8,
    DebugProcess = 9,
    DebugModule = 10,
    DebugUnit = 11,
    DebugFunction = 12,
    DebugLine = 13,
    Debug = 14,
}

impl LogLevel {
    /// LTTng's level for events declared without one.
    pub const DEFAULT: LogLevel = LogLevel::DebugLine;

    /// The level with numeric value `v`, if it is one of the 15.
    pub const fn from_u8(v: u8) -> Option<LogLevel> {
        use LogLevel::*;
        Some(match v {
            0 => Emerg,
            1 => Alert,
            2 => Crit,
            3 => Err,
            4 => Warning,
            5 => Notice,
            6 => Info,
            7 => DebugSystem,
            8 => DebugProgram,
            9 => DebugProcess,
            10 => DebugModule,
            11 => DebugUnit,
            12 => DebugFunction,
            13 => DebugLine,
            14 => Debug,
            _ => return None,
        })
    }
}

/// An integer's CTF type: width, signedness, display base, byte order, and
/// whether it is a character of a text array or sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntKind {
    /// 8, 16, 32 or 64.
    pub bits: u8,
    pub signed: bool,
    /// Displayed in hexadecimal (`base = 16`).
    pub hex: bool,
    /// Stored big-endian (network byte order).
    pub big_endian: bool,
    /// 8-bit element of a text array/sequence (`encoding = UTF8`): readers
    /// show the whole array as a string.
    pub text: bool,
}

impl IntKind {
    /// A plain little-endian decimal integer.
    pub const fn new(bits: u8, signed: bool) -> IntKind {
        IntKind {
            bits,
            signed,
            hex: false,
            big_endian: false,
            text: false,
        }
    }

    /// Bytes of one value.
    pub const fn bytes(&self) -> usize {
        self.bits as usize / 8
    }
}

/// One label of an enumeration and the inclusive range of values it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnumEntry {
    pub label: &'static str,
    pub start: i128,
    pub end: i128,
}

/// The CTF type of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Int(IntKind),
    F32,
    F64,
    /// NUL-terminated string.
    String,
    /// Fixed-length array of integers.
    Array {
        element: IntKind,
        len: u32,
    },
    /// Variable-length sequence of integers, preceded by its length as a
    /// `u64` field `_NAME_length` (LTTng's `ctf_sequence(..., size_t, ...)`).
    Sequence {
        element: IntKind,
    },
    /// An integer whose values readers show with the labels of `entries`.
    Enum {
        container: IntKind,
        entries: &'static [EnumEntry],
    },
}

/// How a field is shown, chosen in the tracepoint declaration with
/// `NAME: TYPE as FORMAT` (`hex`, `network`, `network_hex`, `text`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    /// Integers (and integer array/sequence elements) shown in hexadecimal.
    Hex,
    /// Integer stored in network byte order (big-endian). Pass the value in
    /// host order: it is swapped when written, so readers show it as given.
    Network,
    /// [`Format::Network`] shown in hexadecimal.
    NetworkHex,
    /// An 8-bit array or sequence that readers show as a string.
    Text,
}

/// `kind` with `format` applied. A format that does not fit the type is a
/// compile-time error, since the field kinds are constants.
pub const fn apply_format(kind: FieldKind, format: Format) -> FieldKind {
    match (format, kind) {
        (Format::Plain, k) => k,
        (Format::Hex, FieldKind::Int(i)) => FieldKind::Int(IntKind { hex: true, ..i }),
        (Format::Hex, FieldKind::Array { element, len }) => FieldKind::Array {
            element: IntKind {
                hex: true,
                ..element
            },
            len,
        },
        (Format::Hex, FieldKind::Sequence { element }) => FieldKind::Sequence {
            element: IntKind {
                hex: true,
                ..element
            },
        },
        (Format::Network, FieldKind::Int(i)) => FieldKind::Int(IntKind {
            big_endian: true,
            ..i
        }),
        (Format::NetworkHex, FieldKind::Int(i)) => FieldKind::Int(IntKind {
            big_endian: true,
            hex: true,
            ..i
        }),
        (Format::Text, FieldKind::Array { element, len }) if element.bits == 8 => {
            FieldKind::Array {
                element: IntKind {
                    text: true,
                    ..element
                },
                len,
            }
        }
        (Format::Text, FieldKind::Sequence { element }) if element.bits == 8 => {
            FieldKind::Sequence {
                element: IntKind {
                    text: true,
                    ..element
                },
            }
        }
        (Format::Hex, _) => panic!("`as hex` applies to integers and integer arrays/sequences"),
        (Format::Network | Format::NetworkHex, _) => {
            panic!("`as network` applies to integers only")
        }
        (Format::Text, _) => panic!("`as text` applies to arrays and slices of u8/i8 only"),
    }
}

/// One field of an event: its name (without LTTng's leading `_`) and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDesc {
    pub name: &'static str,
    pub kind: FieldKind,
}

/// An event class as declared in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventDesc {
    /// `provider:event`, the name readers show and event rules match.
    pub name: &'static str,
    pub loglevel: LogLevel,
    pub fields: &'static [FieldDesc],
}

/// The bytes of one record being written: a cursor over the reserved space.
pub struct Out<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Out<'a> {
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut [u8]) -> Out<'a> {
        Out { buf, pos: 0 }
    }

    /// Append `bytes` (panics past the reservation, like slicing: a
    /// [`Field`] whose `encode` writes more than its `encoded_len` is a bug).
    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    /// Bytes written so far.
    #[inline(always)]
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// A Rust type usable as a tracepoint argument: its CTF type and encoding.
///
/// Implemented for the integers, `f32`/`f64`, `&str`, arrays and slices of
/// integers, and the enums declared with [`ctf_enum!`](crate::ctf_enum).
/// `encode` must write exactly `encoded_len` bytes.
pub trait Field {
    /// The field's CTF type before any `as FORMAT`.
    const KIND: FieldKind;
    /// Bytes `encode` writes for this value.
    fn encoded_len(&self) -> usize;
    /// Append the value; `kind` is the declared kind (format applied), which
    /// says e.g. whether integers are big-endian.
    fn encode(&self, kind: &FieldKind, out: &mut Out<'_>);
    /// The value as `ltt record --filter` expressions see it (borrowed, no
    /// allocation); `kind` as for [`encode`](Self::encode). The default,
    /// for types filters cannot read, makes any filter using the field
    /// reject the event.
    #[inline(always)]
    fn filter_value(&self, kind: &FieldKind) -> Value<'_> {
        let _ = kind;
        Value::Unsupported
    }
}

/// An integer type usable alone, as an array/sequence element, or as an
/// enum container.
pub trait IntField: Copy {
    const INT: IntKind;
    /// Append the value in the given byte order.
    fn put(self, big_endian: bool, out: &mut Out<'_>);
    /// The value as filters see it.
    fn filter_value(self) -> Value<'static>;
    /// A slice of them as filters see it.
    fn filter_seq(items: &[Self]) -> IntSeq<'_>;
}

/// `items` as text for filters (8-bit elements only; others: unsupported).
#[inline]
fn text_value<T: IntField>(items: &[T]) -> Value<'_> {
    if T::INT.bits == 8 && std::mem::size_of::<T>() == 1 {
        // SAFETY: T is an 8-bit integer (u8 or i8): same size, alignment 1,
        // every bit pattern valid as a byte.
        Value::Str(unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), items.len()) })
    } else {
        Value::Unsupported
    }
}

#[inline]
fn elements_value<'a, T: IntField>(items: &'a [T], kind: &FieldKind) -> Value<'a> {
    let text = match kind {
        FieldKind::Array { element, .. } | FieldKind::Sequence { element } => element.text,
        _ => false,
    };
    if text {
        text_value(items)
    } else {
        Value::Ints(T::filter_seq(items))
    }
}

const PTR_BITS: u8 = usize::BITS as u8;

macro_rules! int_fields {
    ($($t:ty => $bits:expr, $signed:expr, $variant:ident($as:ty), $seq:ident($elem:ty);)*) => {$(
        impl IntField for $t {
            const INT: IntKind = IntKind::new($bits, $signed);
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn filter_value(self) -> Value<'static> {
                Value::$variant(self as $as)
            }
            #[inline(always)]
            fn filter_seq(items: &[Self]) -> IntSeq<'_> {
                const _: () = assert!(std::mem::size_of::<$t>() == std::mem::size_of::<$elem>());
                // SAFETY: $t and $elem are integers of the same size and
                // signedness (isize/usize: the pointer-width integer), so
                // same layout and every bit pattern valid.
                IntSeq::$seq(unsafe {
                    std::slice::from_raw_parts(items.as_ptr().cast::<$elem>(), items.len())
                })
            }
            #[inline(always)]
            fn put(self, big_endian: bool, out: &mut Out<'_>) {
                if big_endian {
                    out.put(&self.to_be_bytes())
                } else {
                    out.put(&self.to_le_bytes())
                }
            }
        }
        impl Field for $t {
            const KIND: FieldKind = FieldKind::Int(<$t as IntField>::INT);
            #[inline(always)]
            fn encoded_len(&self) -> usize {
                std::mem::size_of::<$t>()
            }
            #[inline(always)]
            fn encode(&self, kind: &FieldKind, out: &mut Out<'_>) {
                let be = matches!(kind, FieldKind::Int(IntKind { big_endian: true, .. }));
                IntField::put(*self, be, out)
            }
            #[inline(always)]
            fn filter_value(&self, _: &FieldKind) -> Value<'_> {
                IntField::filter_value(*self)
            }
        }
    )*};
}

#[cfg(target_pointer_width = "64")]
macro_rules! ptr_ints {
    ($mac:ident) => {
        $mac! {
            isize => PTR_BITS, true, Signed(i64), I64(i64);
            usize => PTR_BITS, false, Unsigned(u64), U64(u64);
        }
    };
}
#[cfg(target_pointer_width = "32")]
macro_rules! ptr_ints {
    ($mac:ident) => {
        $mac! {
            isize => PTR_BITS, true, Signed(i64), I32(i32);
            usize => PTR_BITS, false, Unsigned(u64), U32(u32);
        }
    };
}

int_fields! {
    i8 => 8, true, Signed(i64), I8(i8);
    i16 => 16, true, Signed(i64), I16(i16);
    i32 => 32, true, Signed(i64), I32(i32);
    i64 => 64, true, Signed(i64), I64(i64);
    u8 => 8, false, Unsigned(u64), U8(u8);
    u16 => 16, false, Unsigned(u64), U16(u16);
    u32 => 32, false, Unsigned(u64), U32(u32);
    u64 => 64, false, Unsigned(u64), U64(u64);
}
ptr_ints!(int_fields);

impl Field for f32 {
    const KIND: FieldKind = FieldKind::F32;
    #[inline(always)]
    fn encoded_len(&self) -> usize {
        4
    }
    #[inline(always)]
    fn encode(&self, _: &FieldKind, out: &mut Out<'_>) {
        out.put(&self.to_le_bytes())
    }
    #[inline(always)]
    fn filter_value(&self, _: &FieldKind) -> Value<'_> {
        Value::Float(f64::from(*self))
    }
}

impl Field for f64 {
    const KIND: FieldKind = FieldKind::F64;
    #[inline(always)]
    fn encoded_len(&self) -> usize {
        8
    }
    #[inline(always)]
    fn encode(&self, _: &FieldKind, out: &mut Out<'_>) {
        out.put(&self.to_le_bytes())
    }
    #[inline(always)]
    fn filter_value(&self, _: &FieldKind) -> Value<'_> {
        Value::Float(*self)
    }
}

/// The part of `s` a reader sees: CTF strings end at the first NUL, so an
/// embedded NUL truncates (as `strlen` does for LTTng's `ctf_string`).
#[inline]
fn c_str_part(s: &str) -> &[u8] {
    let b = s.as_bytes();
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

impl Field for &str {
    const KIND: FieldKind = FieldKind::String;
    #[inline]
    fn encoded_len(&self) -> usize {
        c_str_part(self).len() + 1
    }
    #[inline]
    fn encode(&self, _: &FieldKind, out: &mut Out<'_>) {
        out.put(c_str_part(self));
        out.put(&[0]);
    }
    #[inline(always)]
    fn filter_value(&self, _: &FieldKind) -> Value<'_> {
        Value::Str(self.as_bytes())
    }
}

#[inline(always)]
/// Elements are always little-endian: formats set byte order on scalars only.
fn put_elements<T: IntField>(items: &[T], out: &mut Out<'_>) {
    if T::INT.bits == 8 {
        // SAFETY: T is an 8-bit integer (u8 or i8): same size, alignment 1,
        // every bit pattern valid as a byte.
        let bytes = unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), items.len()) };
        out.put(bytes);
    } else {
        for &v in items {
            v.put(false, out);
        }
    }
}

impl<T: IntField, const N: usize> Field for [T; N] {
    const KIND: FieldKind = FieldKind::Array {
        element: T::INT,
        len: N as u32,
    };
    #[inline]
    fn encoded_len(&self) -> usize {
        N * T::INT.bytes()
    }
    #[inline]
    fn encode(&self, _: &FieldKind, out: &mut Out<'_>) {
        put_elements(self, out)
    }
    #[inline]
    fn filter_value(&self, kind: &FieldKind) -> Value<'_> {
        elements_value(self, kind)
    }
}

impl<T: IntField> Field for &[T] {
    const KIND: FieldKind = FieldKind::Sequence { element: T::INT };
    #[inline]
    fn encoded_len(&self) -> usize {
        8 + self.len() * T::INT.bytes()
    }
    #[inline]
    fn encode(&self, _: &FieldKind, out: &mut Out<'_>) {
        out.put(&(self.len() as u64).to_le_bytes());
        put_elements(self, out)
    }
    #[inline]
    fn filter_value(&self, kind: &FieldKind) -> Value<'_> {
        elements_value(self, kind)
    }
}

/// Declares an enumeration field type: a newtype over an integer whose
/// values readers print with their labels (`( "BUSY" : container = 3 )`).
/// Values outside every range are allowed and print as `<unknown>`.
///
/// ```
/// ltt_ust::ctf_enum! {
///     /// A worker's state.
///     pub enum State: i32 {
///         IDLE = 0,
///         RUNNING = 1,
///         BUSY = 2..=4,
///         NEGATIVE = -1,
///     }
/// }
/// assert_eq!(State::BUSY, State(2));
/// ```
///
/// Each label becomes an associated constant holding the start of its range.
#[macro_export]
macro_rules! ctf_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $int:ty {
            $( $label:ident = $start:literal $(..= $end:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis struct $name(pub $int);

        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $( pub const $label: $name = $name($start); )*
        }

        impl $crate::Field for $name {
            const KIND: $crate::FieldKind = $crate::FieldKind::Enum {
                container: <$int as $crate::IntField>::INT,
                entries: &[
                    $( $crate::EnumEntry {
                        label: stringify!($label),
                        start: $start as i128,
                        end: $crate::__enum_end!($start $(, $end)?) as i128,
                    }, )*
                ],
            };
            #[inline(always)]
            fn encoded_len(&self) -> usize {
                ::std::mem::size_of::<$int>()
            }
            #[inline(always)]
            fn encode(&self, _: &$crate::FieldKind, out: &mut $crate::Out<'_>) {
                $crate::IntField::put(self.0, false, out)
            }
            #[inline(always)]
            fn filter_value(&self, _: &$crate::FieldKind) -> $crate::FilterValue<'_> {
                $crate::IntField::filter_value(self.0)
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __enum_end {
    ($start:literal) => {
        $start
    };
    ($start:literal, $end:literal) => {
        $end
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::ctf_enum! {
        enum Mode: u8 { ZERO = 0, SOME = 1..=9 }
    }

    fn encode<T: Field>(v: T, kind: FieldKind) -> Vec<u8> {
        let mut buf = vec![0u8; v.encoded_len()];
        let mut out = Out::new(&mut buf);
        v.encode(&kind, &mut out);
        assert_eq!(out.position(), buf.len());
        buf
    }

    #[test]
    fn kinds_and_formats() {
        assert_eq!(<i32 as Field>::KIND, FieldKind::Int(IntKind::new(32, true)));
        let net = apply_format(<u16 as Field>::KIND, Format::Network);
        assert_eq!(encode(0x1234u16, net), [0x12, 0x34]);
        assert_eq!(encode(0x1234u16, <u16 as Field>::KIND), [0x34, 0x12]);
        let text = apply_format(<&[u8] as Field>::KIND, Format::Text);
        assert!(matches!(text, FieldKind::Sequence { element } if element.text));
        assert_eq!(
            encode(&b"ab"[..], text),
            [2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']
        );
        assert_eq!(encode([1i16, -1], <[i16; 2]>::KIND), [1, 0, 0xff, 0xff]);
        let FieldKind::Enum { entries, .. } = Mode::KIND else {
            panic!("not an enum")
        };
        assert_eq!(entries[1].end, 9);
        assert_eq!(encode(Mode::SOME, Mode::KIND), [1]);
    }

    #[test]
    fn filter_values() {
        let v = |x: Value<'_>| format!("{x:?}");
        assert_eq!(v(Field::filter_value(&-3i16, &i16::KIND)), "Signed(-3)");
        assert_eq!(
            v(Field::filter_value(&u64::MAX, &u64::KIND)),
            v(Value::Unsigned(u64::MAX))
        );
        assert_eq!(v(Field::filter_value(&1.5f32, &f32::KIND)), "Float(1.5)");
        assert_eq!(
            v(Field::filter_value(&"ab", &<&str>::KIND)),
            v(Value::Str(b"ab"))
        );
        assert_eq!(
            v(Field::filter_value(&Mode::SOME, &Mode::KIND)),
            "Unsigned(1)"
        );
        assert_eq!(
            v(Field::filter_value(&[1usize, 2], &<[usize; 2]>::KIND)),
            "Ints([Some(1), Some(2)])"
        );
        let seq: &[i8] = &[-1, 2];
        assert_eq!(
            v(Field::filter_value(&seq, &<&[i8]>::KIND)),
            "Ints([Some(-1), Some(2)])"
        );
        let text = apply_format(<&[u8] as Field>::KIND, Format::Text);
        let seq: &[u8] = b"hi";
        assert_eq!(v(Field::filter_value(&seq, &text)), v(Value::Str(b"hi")));
    }

    #[test]
    fn strings_stop_at_nul() {
        assert_eq!(encode("a\0b", FieldKind::String), b"a\0");
        assert_eq!(encode("", FieldKind::String), b"\0");
    }
}
