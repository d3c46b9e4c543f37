//! The metadata model: what a TSDL document declares, with every type
//! resolved (typealiases expanded, `native` byte order replaced by the
//! trace's). Names are kept exactly as written (LTTng's leading `_`
//! included); stripping for display is the reader's business.

/// Byte order of a scalar field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order of the machine running this code.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
}

/// Character encoding of an integer (text arrays) or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    #[default]
    None,
    Utf8,
    Ascii,
}

/// Preferred display base of an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DisplayBase {
    Binary,
    Octal,
    #[default]
    Decimal,
    Hexadecimal,
}

/// `integer { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntType {
    /// Width in bits, 1..=64.
    pub size: u32,
    /// Alignment in bits (a power of two, >= 1).
    pub align: u32,
    pub signed: bool,
    pub byte_order: ByteOrder,
    pub base: DisplayBase,
    pub encoding: Encoding,
    /// `map = clock.NAME.value`: the clock this integer samples.
    pub clock: Option<String>,
}

/// `floating_point { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloatType {
    pub exp_dig: u32,
    pub mant_dig: u32,
    /// Alignment in bits.
    pub align: u32,
    pub byte_order: ByteOrder,
}

impl FloatType {
    /// Total width in bits (32 or 64 for anything a reader accepts).
    pub fn size(&self) -> u32 {
        self.exp_dig + self.mant_dig
    }
}

/// `string [{ encoding = ...; }]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StringType {
    pub encoding: Encoding,
}

/// One label of an enumeration with every range mapped to it, in
/// declaration order (entries with the same label are merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumMapping {
    pub label: String,
    /// Inclusive ranges; values are signed or unsigned per the container,
    /// both fit an `i128`.
    pub ranges: Vec<(i128, i128)>,
}

/// `enum [NAME] : CONTAINER { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    pub container: IntType,
    pub mappings: Vec<EnumMapping>,
}

/// A named member of a struct, or an option of a variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub ty: FieldType,
}

/// `struct [NAME] { ... } [align(N)]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    pub members: Vec<Member>,
    /// The `align(N)` attribute in bits (1 when absent). The effective
    /// alignment also takes the members' into account: see [`FieldType::align`].
    pub min_align: u32,
}

/// A reference to another field (sequence length, variant tag) exactly as
/// written, split on dots: `stream.event.header.id` gives four components,
/// `_seq_length` one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef(pub Vec<String>);

/// `variant [NAME] <TAG> { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantType {
    pub tag: FieldRef,
    pub options: Vec<Member>,
}

/// `T name[N]`: a fixed-length array.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayType {
    pub element: Box<FieldType>,
    pub length: u64,
}

/// `T name[lenref]`: a sequence whose length is another field's value.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceType {
    pub element: Box<FieldType>,
    pub length: FieldRef,
}

/// Any field type.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Int(IntType),
    Float(FloatType),
    String(StringType),
    Enum(EnumType),
    Struct(StructType),
    Variant(VariantType),
    Array(ArrayType),
    Sequence(SequenceType),
}

impl FieldType {
    /// Alignment in bits applied before the field is read. A variant's
    /// depends on the selected option and is 1 here (it is applied when the
    /// option is known).
    pub fn align(&self) -> u32 {
        match self {
            FieldType::Int(t) => t.align,
            FieldType::Enum(t) => t.container.align,
            FieldType::Float(t) => t.align,
            FieldType::String(_) => 8,
            FieldType::Struct(s) => s.align(),
            FieldType::Variant(_) => 1,
            FieldType::Array(a) => a.element.align(),
            FieldType::Sequence(s) => s.element.align(),
        }
    }
}

impl StructType {
    /// Effective alignment: the `align()` attribute or the largest member
    /// alignment, whichever is larger.
    pub fn align(&self) -> u32 {
        self.members
            .iter()
            .map(|m| m.ty.align())
            .fold(self.min_align.max(1), u32::max)
    }

    /// The member called `name`, if any.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// A value of the `env` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Int(i64),
    Str(String),
}

/// `clock { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub name: String,
    pub uuid: Option<[u8; 16]>,
    pub description: Option<String>,
    /// Frequency in Hz (default 1 GHz).
    pub freq: u64,
    pub precision: u64,
    pub offset_s: i64,
    /// Offset in cycles.
    pub offset: i64,
    pub absolute: bool,
}

/// The `trace { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceBlock {
    pub major: Option<u64>,
    pub minor: Option<u64>,
    pub uuid: Option<[u8; 16]>,
    pub byte_order: ByteOrder,
    pub packet_header: Option<StructType>,
}

/// A `stream { ... }` block: a stream class.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamClass {
    /// `id` (0 when absent: only valid for a single stream class).
    pub id: u64,
    pub packet_context: Option<StructType>,
    pub event_header: Option<StructType>,
    pub event_context: Option<StructType>,
}

/// An `event { ... }` block: an event class.
#[derive(Debug, Clone, PartialEq)]
pub struct EventClass {
    pub name: String,
    /// `id` (0 when absent).
    pub id: u64,
    /// `stream_id` (None when absent: the trace's only stream class).
    pub stream_id: Option<u64>,
    pub loglevel: Option<i64>,
    pub emf_uri: Option<String>,
    pub context: Option<StructType>,
    pub fields: Option<StructType>,
}

/// A whole metadata document.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub trace: TraceBlock,
    /// Environment entries in declaration order.
    pub env: Vec<(String, EnvValue)>,
    pub clocks: Vec<Clock>,
    pub streams: Vec<StreamClass>,
    pub events: Vec<EventClass>,
}

impl Metadata {
    /// The env entry called `key`.
    pub fn env(&self, key: &str) -> Option<&EnvValue> {
        self.env.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The env entry called `key` if it is a string.
    pub fn env_str(&self, key: &str) -> Option<&str> {
        match self.env(key) {
            Some(EnvValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The clock called `name`.
    pub fn clock(&self, name: &str) -> Option<&Clock> {
        self.clocks.iter().find(|c| c.name == name)
    }
}
