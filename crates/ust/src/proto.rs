//! The app ↔ session daemon protocol: a handful of length-prefixed binary
//! messages on a Unix stream socket, validated on both sides (neither side
//! trusts the other).
//!
//! ```text
//! frame   = len:u32le payload[len]            (len <= MAX_FRAME)
//! payload = type:u8 body                      (integers little-endian,
//!                                              strings = len:u16 + UTF-8)
//! app → daemon  HELLO     magic:u64 version:u16 pid:u32 uid:u32 gid:u32 bits:u8
//!                         procname:str
//! daemon → app  WELCOME   version:u16 status:u8
//! app → daemon  PROVIDER  name:str n:u16 event*n     providers are numbered
//!                                                    0, 1, … in sending order
//!     event     = name:str loglevel:u8 n:u16 field*n
//!     field     = name:str kind
//!     kind      = 1 int | 2 (f32) | 3 (f64) | 4 (string) | 5 int len:u32
//!               | 6 int (sequence) | 7 int n:u16 (label:str start:i128 end:i128)*n
//!     int       = bits:u8 flags:u8 (1 signed, 2 hex, 4 big-endian, 8 text)
//! daemon → app  STATES    slot:u8 provider:u32 n:u16 ids*n
//!                                                    one per event, in order
//!     ids       = id:u32 enabled:u8 nf:u16 (len:u32 bytecode[len])*nf
//! daemon → app  CHANNEL   slot:u8 n:u8 context*n     then the channel memfd
//!                                                    (SCM_RIGHTS): write there,
//!                                                    with these contexts
//! daemon → app  SYNC      seq:u32                    the app answers SYNC seq
//! app → daemon  SYNC      seq:u32                    once all before is applied
//! ```
//!
//! The connection lives as long as the app: after the handshake the daemon
//! may send STATES, CHANNEL and SYNC at any time (a session starts, an
//! event rule changes, a session stops), and a thread of the app applies
//! them in order. The daemon answers each PROVIDER with its STATES for
//! every slot, 0 to [`MAX_SLOTS`] - 1, in that order. Each channel of a
//! tracing session has a slot (up to [`MAX_SLOTS`] at once): its ring
//! buffer, its contexts, and its events' ids and filters.
//!
//! An enabled event with filters (`ltt record --filter`) is recorded only
//! when one of its filters' bytecodes ([`ltt_filter::Bytecode::to_bytes`],
//! compiled by the daemon against the event's schema) accepts it; the app
//! validates each with [`ltt_filter::Bytecode::from_bytes`] and leaves the
//! event disabled if one is refused.
//!
//! This belongs in `ltt-proto` once that crate exists; it lives here so the
//! tracer needs nothing more than this file.

use std::io::{self, Read, Write};

use crate::context::Context;
use crate::schema::{EventDesc, FieldKind, IntKind};

/// First field of HELLO.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LTTUST\0\0");
/// Protocol version; a daemon refuses other versions.
pub const VERSION: u16 = 4;
/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 1 << 20;
/// Channels (of all sessions together) an app can record into at once.
pub const MAX_SLOTS: usize = 8;
/// Largest number of events in one provider, fields in one event, entries
/// in one enumeration.
pub const MAX_ITEMS: usize = 4096;
/// Largest fixed array length.
pub const MAX_ARRAY_LEN: u32 = 1 << 20;

pub const MSG_HELLO: u8 = 1;
pub const MSG_WELCOME: u8 = 2;
pub const MSG_PROVIDER: u8 = 3;
pub const MSG_STATES: u8 = 4;
pub const MSG_CHANNEL: u8 = 5;
pub const MSG_SYNC: u8 = 6;
pub const MSG_DETACH: u8 = 7;

/// WELCOME status: the app may trace; the channel fd follows.
pub const STATUS_OK: u8 = 0;
/// WELCOME status: tracing refused (version, bitness); no fd follows.
pub const STATUS_REFUSED: u8 = 1;

/// A malformed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub &'static str);

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed tracer message: {}", self.0)
    }
}

impl std::error::Error for ProtoError {}

impl From<ProtoError> for io::Error {
    fn from(e: ProtoError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// HELLO: who the app is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
    /// 32 or 64: the app's pointer width (selects the trace).
    pub bits: u8,
    pub procname: String,
}

/// An enumeration label received from an app.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WireEnumEntry {
    pub label: String,
    pub start: i128,
    pub end: i128,
}

/// A field type received from an app: [`FieldKind`] with owned labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WireKind {
    Int(IntKind),
    F32,
    F64,
    String,
    Array {
        element: IntKind,
        len: u32,
    },
    Sequence {
        element: IntKind,
    },
    Enum {
        container: IntKind,
        entries: Vec<WireEnumEntry>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WireField {
    pub name: String,
    pub kind: WireKind,
}

/// An event class received from an app.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WireEvent {
    /// `provider:event`.
    pub name: String,
    /// 0..=14.
    pub loglevel: u8,
    pub fields: Vec<WireField>,
}

/// PROVIDER: the event classes of one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub events: Vec<WireEvent>,
}

/// Builds a payload.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn new(msg_type: u8) -> Enc {
        Enc(vec![msg_type])
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i128(&mut self, v: i128) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A string, cut to 65535 bytes (on a character boundary).
    pub fn str(&mut self, s: &str) -> &mut Self {
        let mut n = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.u16(n as u16);
        self.0.extend_from_slice(&s.as_bytes()[..n]);
        self
    }
    fn int(&mut self, k: &IntKind) -> &mut Self {
        let flags =
            k.signed as u8 | (k.hex as u8) << 1 | (k.big_endian as u8) << 2 | (k.text as u8) << 3;
        self.u8(k.bits).u8(flags)
    }
}

/// Reads a payload; every read is bounds-checked.
pub struct Dec<'a> {
    buf: &'a [u8],
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        if self.buf.len() < n {
            return Err(ProtoError("truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], ProtoError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, ProtoError> {
        Ok(self.arr::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, ProtoError> {
        self.arr().map(u16::from_le_bytes)
    }
    pub fn u32(&mut self) -> Result<u32, ProtoError> {
        self.arr().map(u32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Result<u64, ProtoError> {
        self.arr().map(u64::from_le_bytes)
    }
    pub fn i128(&mut self) -> Result<i128, ProtoError> {
        self.arr().map(i128::from_le_bytes)
    }
    pub fn str(&mut self) -> Result<String, ProtoError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtoError("string is not UTF-8"))
    }
    fn count(&mut self) -> Result<usize, ProtoError> {
        let n = self.u16()? as usize;
        if n > MAX_ITEMS {
            return Err(ProtoError("too many items"));
        }
        Ok(n)
    }
    fn int(&mut self) -> Result<IntKind, ProtoError> {
        let bits = self.u8()?;
        let flags = self.u8()?;
        if !matches!(bits, 8 | 16 | 32 | 64) || flags & !0xf != 0 {
            return Err(ProtoError("bad integer type"));
        }
        let k = IntKind {
            bits,
            signed: flags & 1 != 0,
            hex: flags & 2 != 0,
            big_endian: flags & 4 != 0,
            text: flags & 8 != 0,
        };
        if k.text && bits != 8 {
            return Err(ProtoError("text elements must be 8-bit"));
        }
        Ok(k)
    }
    /// Fails unless everything was read.
    /// A session slot number, below [`MAX_SLOTS`].
    fn slot(&mut self) -> Result<u8, ProtoError> {
        let s = self.u8()?;
        if s as usize >= MAX_SLOTS {
            return Err(ProtoError("bad session slot"));
        }
        Ok(s)
    }

    pub fn end(&self) -> Result<(), ProtoError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtoError("trailing bytes"))
        }
    }
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_FRAME {
        return Err(ProtoError("frame too large").into());
    }
    let mut buf = Vec::with_capacity(4 + payload.len());
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)
}

/// Reads one frame's payload (exactly: never past its end, so that a file
/// descriptor sent after it stays with its own byte).
pub fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(ProtoError("bad frame length").into());
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

pub fn encode_hello(h: &Hello) -> Vec<u8> {
    let mut e = Enc::new(MSG_HELLO);
    e.u64(MAGIC)
        .u16(VERSION)
        .u32(h.pid)
        .u32(h.uid)
        .u32(h.gid)
        .u8(h.bits)
        .str(&h.procname);
    e.0
}

pub fn decode_hello(p: &[u8]) -> Result<Hello, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_HELLO {
        return Err(ProtoError("expected HELLO"));
    }
    if d.u64()? != MAGIC {
        return Err(ProtoError("bad magic"));
    }
    if d.u16()? != VERSION {
        return Err(ProtoError("unsupported version"));
    }
    let h = Hello {
        pid: d.u32()?,
        uid: d.u32()?,
        gid: d.u32()?,
        bits: d.u8()?,
        procname: d.str()?,
    };
    d.end()?;
    Ok(h)
}

pub fn encode_welcome(status: u8) -> Vec<u8> {
    let mut e = Enc::new(MSG_WELCOME);
    e.u16(VERSION).u8(status);
    e.0
}

/// The WELCOME status.
pub fn decode_welcome(p: &[u8]) -> Result<u8, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_WELCOME {
        return Err(ProtoError("expected WELCOME"));
    }
    if d.u16()? != VERSION {
        return Err(ProtoError("unsupported version"));
    }
    let status = d.u8()?;
    d.end()?;
    Ok(status)
}

fn encode_kind(e: &mut Enc, k: &FieldKind) {
    match k {
        FieldKind::Int(i) => {
            e.u8(1).int(i);
        }
        FieldKind::F32 => {
            e.u8(2);
        }
        FieldKind::F64 => {
            e.u8(3);
        }
        FieldKind::String => {
            e.u8(4);
        }
        FieldKind::Array { element, len } => {
            e.u8(5).int(element).u32(*len);
        }
        FieldKind::Sequence { element } => {
            e.u8(6).int(element);
        }
        FieldKind::Enum { container, entries } => {
            e.u8(7).int(container).u16(entries.len() as u16);
            for x in entries.iter() {
                e.str(x.label).i128(x.start).i128(x.end);
            }
        }
    }
}

fn decode_kind(d: &mut Dec<'_>) -> Result<WireKind, ProtoError> {
    Ok(match d.u8()? {
        1 => WireKind::Int(d.int()?),
        2 => WireKind::F32,
        3 => WireKind::F64,
        4 => WireKind::String,
        5 => {
            let element = d.int()?;
            let len = d.u32()?;
            if len > MAX_ARRAY_LEN {
                return Err(ProtoError("array too long"));
            }
            WireKind::Array { element, len }
        }
        6 => WireKind::Sequence { element: d.int()? },
        7 => {
            let container = d.int()?;
            let n = d.count()?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let label = d.str()?;
                let (start, end) = (d.i128()?, d.i128()?);
                if start > end {
                    return Err(ProtoError("enum range start > end"));
                }
                entries.push(WireEnumEntry { label, start, end });
            }
            WireKind::Enum { container, entries }
        }
        _ => return Err(ProtoError("unknown field kind")),
    })
}

/// PROVIDER for `name` and its events.
pub fn encode_provider(name: &str, events: &[&EventDesc]) -> Vec<u8> {
    let mut e = Enc::new(MSG_PROVIDER);
    e.str(name).u16(events.len() as u16);
    for ev in events {
        e.str(ev.name)
            .u8(ev.loglevel as u8)
            .u16(ev.fields.len() as u16);
        for f in ev.fields {
            e.str(f.name);
            encode_kind(&mut e, &f.kind);
        }
    }
    e.0
}

/// Whether `s` may follow `_` in a TSDL identifier.
fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub fn decode_provider(p: &[u8]) -> Result<Provider, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_PROVIDER {
        return Err(ProtoError("expected PROVIDER"));
    }
    let name = d.str()?;
    let n = d.count()?;
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let ev_name = d.str()?;
        if ev_name.is_empty() || ev_name.len() > 255 || ev_name.chars().any(char::is_control) {
            return Err(ProtoError("bad event name"));
        }
        let loglevel = d.u8()?;
        if loglevel > 14 {
            return Err(ProtoError("bad log level"));
        }
        let nf = d.count()?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            let fname = d.str()?;
            if !is_ident(&fname) {
                return Err(ProtoError("bad field name"));
            }
            fields.push(WireField {
                name: fname,
                kind: decode_kind(&mut d)?,
            });
        }
        events.push(WireEvent {
            name: ev_name,
            loglevel,
            fields,
        });
    }
    d.end()?;
    Ok(Provider { name, events })
}

/// One event's entry in STATES: its id, whether the session enables it, and
/// the serialized filters of an enabled event (none: record every hit).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventIds {
    pub id: u32,
    pub enabled: bool,
    pub filters: Vec<Vec<u8>>,
}

impl EventIds {
    /// An entry without filters.
    pub fn new(id: u32, enabled: bool) -> EventIds {
        EventIds {
            id,
            enabled,
            filters: Vec::new(),
        }
    }
}

/// STATES of provider number `provider` in session slot `slot`: one entry
/// per event, in order.
pub fn encode_states(slot: u8, provider: u32, ids: &[EventIds]) -> Vec<u8> {
    let mut e = Enc::new(MSG_STATES);
    e.u8(slot).u32(provider).u16(ids.len() as u16);
    for x in ids {
        e.u32(x.id).u8(x.enabled as u8).u16(x.filters.len() as u16);
        for f in &x.filters {
            e.u32(f.len() as u32);
            e.0.extend_from_slice(f);
        }
    }
    e.0
}

/// Decode STATES: the slot, the provider number and its events' states.
pub fn decode_states(p: &[u8]) -> Result<(u8, u32, Vec<EventIds>), ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_STATES {
        return Err(ProtoError("expected STATES"));
    }
    let slot = d.slot()?;
    let provider = d.u32()?;
    let n = d.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = d.u32()?;
        let enabled = d.u8()? != 0;
        let nf = d.count()?;
        let mut filters = Vec::with_capacity(nf.min(16));
        for _ in 0..nf {
            let len = d.u32()? as usize;
            filters.push(d.take(len)?.to_vec());
        }
        out.push(EventIds {
            id,
            enabled,
            filters,
        });
    }
    d.end()?;
    Ok((slot, provider, out))
}

/// Most contexts one channel may have.
pub const MAX_CONTEXTS: usize = 32;

/// A channel's blocking timeout meaning "wait for room as long as it
/// takes" (`--blocking-timeout inf`); 0 means "never wait".
pub const BLOCK_FOREVER: u64 = u64::MAX;

/// CHANNEL: session slot, contexts, and how long a writer may wait for
/// room in a full buffer, in µs (0: discard at once; [`BLOCK_FOREVER`]).
pub fn encode_channel(slot: u8, contexts: &[Context], blocking_us: u64) -> Vec<u8> {
    let mut e = Enc::new(MSG_CHANNEL);
    e.u8(slot).u8(contexts.len() as u8);
    for c in contexts {
        e.u8(*c as u8);
    }
    e.u64(blocking_us);
    e.0
}

/// What a CHANNEL message says (its fd follows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMsg {
    pub slot: u8,
    pub contexts: Vec<Context>,
    pub blocking_us: u64,
}

/// The slot, contexts and blocking timeout of a CHANNEL message.
pub fn decode_channel(p: &[u8]) -> Result<ChannelMsg, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_CHANNEL {
        return Err(ProtoError("expected CHANNEL"));
    }
    let slot = d.slot()?;
    let n = d.u8()? as usize;
    if n > MAX_CONTEXTS {
        return Err(ProtoError("too many contexts"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let c = Context::from_code(d.u8()?).ok_or(ProtoError("unknown context"))?;
        if out.contains(&c) {
            return Err(ProtoError("context given twice"));
        }
        out.push(c);
    }
    let blocking_us = d.u64()?;
    d.end()?;
    Ok(ChannelMsg {
        slot,
        contexts: out,
        blocking_us,
    })
}

pub fn encode_sync(seq: u32) -> Vec<u8> {
    let mut e = Enc::new(MSG_SYNC);
    e.u32(seq);
    e.0
}

pub fn decode_sync(p: &[u8]) -> Result<u32, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_SYNC {
        return Err(ProtoError("expected SYNC"));
    }
    let seq = d.u32()?;
    d.end()?;
    Ok(seq)
}

/// DETACH: the app lets go of the channel of `slot` (its events there
/// were disabled before), so that its memory can be freed.
pub fn encode_detach(slot: u8) -> Vec<u8> {
    let mut e = Enc::new(MSG_DETACH);
    e.u8(slot);
    e.0
}

pub fn decode_detach(p: &[u8]) -> Result<u8, ProtoError> {
    let mut d = Dec::new(p);
    if d.u8()? != MSG_DETACH {
        return Err(ProtoError("expected DETACH"));
    }
    let slot = d.slot()?;
    d.end()?;
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{EnumEntry, FieldDesc, LogLevel};

    #[test]
    fn provider_round_trip() {
        static ENTRIES: [EnumEntry; 1] = [EnumEntry {
            label: "A",
            start: -1,
            end: 3,
        }];
        static FIELDS: [FieldDesc; 3] = [
            FieldDesc {
                name: "v",
                kind: FieldKind::Int(IntKind::new(32, true)),
            },
            FieldDesc {
                name: "s",
                kind: FieldKind::Sequence {
                    element: IntKind::new(8, false),
                },
            },
            FieldDesc {
                name: "e",
                kind: FieldKind::Enum {
                    container: IntKind::new(8, true),
                    entries: &ENTRIES,
                },
            },
        ];
        let ev = EventDesc {
            name: "p:ev",
            loglevel: LogLevel::Info,
            fields: &FIELDS,
        };
        let p = decode_provider(&encode_provider("p", &[&ev])).unwrap();
        assert_eq!(p.name, "p");
        assert_eq!(p.events[0].name, "p:ev");
        assert_eq!(p.events[0].loglevel, 6);
        assert_eq!(p.events[0].fields.len(), 3);
        assert!(
            matches!(&p.events[0].fields[2].kind, WireKind::Enum { entries, .. } if entries[0].start == -1)
        );
        // Every truncation is an error, never a panic.
        let bytes = encode_provider("p", &[&ev]);
        for n in 0..bytes.len() {
            assert!(decode_provider(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn hello_states_sync_round_trip() {
        let h = Hello {
            pid: 7,
            uid: 1000,
            gid: 100,
            bits: 64,
            procname: "demo".into(),
        };
        assert_eq!(decode_hello(&encode_hello(&h)).unwrap(), h);
        let ids = vec![
            EventIds {
                id: 3,
                enabled: true,
                filters: vec![vec![1, 2, 3], vec![]],
            },
            EventIds::new(4, false),
        ];
        let bytes = encode_states(2, 9, &ids);
        assert_eq!(decode_states(&bytes).unwrap(), (2, 9, ids));
        assert!(decode_states(&encode_states(MAX_SLOTS as u8, 9, &[])).is_err());
        for n in 0..bytes.len() {
            assert!(decode_states(&bytes[..n]).is_err());
        }
        assert_eq!(decode_sync(&encode_sync(77)).unwrap(), 77);
        assert_eq!(decode_detach(&encode_detach(3)).unwrap(), 3);
        assert!(decode_detach(&encode_detach(MAX_SLOTS as u8)).is_err());
        let ctx = [Context::Ip, Context::Vpid];
        assert_eq!(
            decode_channel(&encode_channel(1, &ctx, BLOCK_FOREVER)).unwrap(),
            ChannelMsg {
                slot: 1,
                contexts: ctx.to_vec(),
                blocking_us: BLOCK_FOREVER
            }
        );
        assert!(decode_sync(&encode_channel(0, &ctx, 0)).is_err());
        assert!(decode_channel(&encode_channel(0, &[Context::Ip, Context::Ip], 0)).is_err());
        let cut = encode_channel(0, &ctx, 5);
        assert!(decode_channel(&cut[..cut.len() - 1]).is_err());
        assert_eq!(decode_welcome(&encode_welcome(STATUS_OK)).unwrap(), 0);
    }
}
