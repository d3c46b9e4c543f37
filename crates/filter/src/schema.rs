//! What an event carries, as far as filters care: the payload fields and the
//! contexts, with their types. Compiling against a schema resolves names to
//! indices (evaluation then reads fields by index) and finds at compile time
//! the problems LTTng finds when it links a filter to an event.

/// An integer's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntType {
    pub signed: bool,
    /// Size in bits (8, 16, 32, 64; informative: every integer is read as a
    /// 64-bit value).
    pub bits: u8,
}

impl IntType {
    pub const fn signed(bits: u8) -> IntType {
        IntType { signed: true, bits }
    }
    pub const fn unsigned(bits: u8) -> IntType {
        IntType {
            signed: false,
            bits,
        }
    }
}

/// Elements of an array or sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// Integers: usable only element by element (`arr[2]`).
    Integer(IntType),
    /// Characters with a text encoding: the whole array is a string.
    Text,
}

/// A field's type as filters see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Integer(IntType),
    /// An enumeration: compared by its integer value, never by label.
    Enum(IntType),
    /// `float` or `double`: read as a double.
    Float,
    /// NUL-terminated string.
    String,
    /// Fixed-length array.
    Array {
        elem: ElemType,
        len: u64,
    },
    /// Variable-length sequence.
    Sequence {
        elem: ElemType,
    },
    /// Anything filters cannot load (structure, variant, blob...): any use
    /// makes the filter never match, as in LTTng.
    Unsupported,
}

/// A named, typed field or context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// The name as written in filters: without LTTng's leading `_` (see
    /// [`filter_name`]).
    pub name: String,
    pub ty: FieldType,
}

/// The fields and contexts of one event.
///
/// Indices are positions in [`fields`](Self::fields) and
/// [`contexts`](Self::contexts); a [`FieldSource`](crate::FieldSource) for
/// bytecode compiled against this schema answers
/// [`field(i)`](crate::FieldSource::field) with the i-th field's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<FieldDef>,
    contexts: Vec<FieldDef>,
}

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Adds a payload field (builder style).
    pub fn with_field(mut self, name: &str, ty: FieldType) -> Schema {
        self.add_field(name, ty);
        self
    }

    /// Adds a context (builder style).
    pub fn with_context(mut self, name: &str, ty: FieldType) -> Schema {
        self.add_context(name, ty);
        self
    }

    /// Adds a payload field; returns its index.
    pub fn add_field(&mut self, name: &str, ty: FieldType) -> usize {
        self.fields.push(FieldDef {
            name: name.to_string(),
            ty,
        });
        self.fields.len() - 1
    }

    /// Adds a context; returns its index.
    pub fn add_context(&mut self, name: &str, ty: FieldType) -> usize {
        self.contexts.push(FieldDef {
            name: name.to_string(),
            ty,
        });
        self.contexts.len() - 1
    }

    /// Adds the contexts lttng-ust 2.13 lets every filter read through
    /// `$ctx.NAME`, whether or not the channel records them (LTTng filters
    /// on a static table of them). Indices follow the order listed here:
    /// `vpid, vtid, procname, pthread_id, cpu_id, ip, vuid, veuid, vsuid,
    /// vgid, vegid, vsgid, cgroup_ns, ipc_ns, mnt_ns, net_ns, pid_ns,
    /// time_ns, user_ns, uts_ns`.
    pub fn with_ust_contexts(mut self) -> Schema {
        use FieldType::*;
        let pid = Integer(IntType::signed(32));
        let id = Integer(IntType::unsigned(32));
        let ns = Integer(IntType::unsigned(64));
        for (name, ty) in [
            ("vpid", pid),
            ("vtid", pid),
            ("procname", String),
            ("pthread_id", Integer(IntType::unsigned(64))),
            ("cpu_id", Integer(IntType::signed(32))),
            ("ip", Integer(IntType::unsigned(64))),
            ("vuid", id),
            ("veuid", id),
            ("vsuid", id),
            ("vgid", id),
            ("vegid", id),
            ("vsgid", id),
            ("cgroup_ns", ns),
            ("ipc_ns", ns),
            ("mnt_ns", ns),
            ("net_ns", ns),
            ("pid_ns", ns),
            ("time_ns", ns),
            ("user_ns", ns),
            ("uts_ns", ns),
        ] {
            self.add_context(name, ty);
        }
        self
    }

    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    pub fn contexts(&self) -> &[FieldDef] {
        &self.contexts
    }

    /// Index of the payload field with that name (as written in filters).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Index of the context with that name.
    pub fn context_index(&self, name: &str) -> Option<usize> {
        self.contexts.iter().position(|f| f.name == name)
    }
}

/// The name filters use for a field whose metadata name is `metadata_name`:
/// LTTng prefixes payload field names with one `_` in the CTF metadata (the
/// user writes `i`, the metadata says `_i`; `__seq_length` is `_seq_length`).
/// Sources looking fields up by name should apply this to their metadata
/// names (strip exactly one leading underscore) before comparing.
pub fn filter_name(metadata_name: &str) -> &str {
    metadata_name.strip_prefix('_').unwrap_or(metadata_name)
}
