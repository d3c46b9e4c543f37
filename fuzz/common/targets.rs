// The logic of the ltt-ctf fuzz targets, written once and `include!`d by
// both the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the corpus
// replay test (`crates/ctf/tests/fuzz_corpus.rs`), so that what the fuzzers
// check and what `cargo test` checks cannot drift apart.
//
// Each entry point takes arbitrary bytes. It panics only when it finds a
// bug: a panic inside ltt-ctf, a broken invariant of the public API, or a
// reader that does not terminate within the bound its input allows.
//
// This file is a list of items (no inner attributes, no top-level `use`),
// wrapped in one module so that it includes cleanly anywhere.

#[allow(dead_code)]
pub mod ctf_fuzz {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};

    use ltt_ctf::compiled::CompiledTrace;
    use ltt_ctf::decode::Slot;
    use ltt_ctf::metadata::{parse, read_metadata};
    use ltt_ctf::stream::{Item, StreamReader};
    use ltt_ctf::write::to_tsdl;

    /// Fixed, real metadata texts the `packet` target decodes data with.
    /// The first input byte picks one (`(byte & 0x7f) % len`); new entries
    /// go at the end so that existing corpus files keep their meaning.
    pub const SEED_METADATA: &[(&str, &str)] = &[
        (
            "00-lttng-basic",
            include_str!("../seeds/metadata/00-lttng-basic.tsdl"),
        ),
        (
            "01-smalltrace",
            include_str!("../seeds/metadata/01-smalltrace.tsdl"),
        ),
        (
            "02-sequence",
            include_str!("../seeds/metadata/02-sequence.tsdl"),
        ),
        (
            "03-meta-variant-reserved-keywords",
            include_str!("../seeds/metadata/03-meta-variant-reserved-keywords.tsdl"),
        ),
        (
            "04-struct-array-align-elem",
            include_str!("../seeds/metadata/04-struct-array-align-elem.tsdl"),
        ),
        (
            "05-barectf-event-before-packet",
            include_str!("../seeds/metadata/05-barectf-event-before-packet.tsdl"),
        ),
        (
            "06-no-packet-context",
            include_str!("../seeds/metadata/06-no-packet-context.tsdl"),
        ),
        (
            "07-lttng-crash",
            include_str!("../seeds/metadata/07-lttng-crash.tsdl"),
        ),
        (
            "08-valid-events-then-invalid-events",
            include_str!("../seeds/metadata/08-valid-events-then-invalid-events.tsdl"),
        ),
        (
            "09-succeed1",
            include_str!("../seeds/metadata/09-succeed1.tsdl"),
        ),
        (
            "10-meta-ctx-sequence",
            include_str!("../seeds/metadata/10-meta-ctx-sequence.tsdl"),
        ),
        (
            "11-array-align-elem",
            include_str!("../seeds/metadata/11-array-align-elem.tsdl"),
        ),
        (
            "12-ev-disc-no-ts-begin-end",
            include_str!("../seeds/metadata/12-ev-disc-no-ts-begin-end.tsdl"),
        ),
        (
            "13-invalid-packet-size",
            include_str!("../seeds/metadata/13-invalid-packet-size.tsdl"),
        ),
        (
            "14-multi-domains-kernel",
            include_str!("../seeds/metadata/14-multi-domains-kernel.tsdl"),
        ),
        (
            "15-crlf-metadata",
            include_str!("../seeds/metadata/15-crlf-metadata.tsdl"),
        ),
    ];

    /// Which seed metadata a `packet` input uses, and whether its data is
    /// split over two files.
    pub fn packet_selector(byte: u8) -> (usize, bool) {
        (
            (byte & 0x7f) as usize % SEED_METADATA.len(),
            byte & 0x80 != 0,
        )
    }

    /// The compiled seed metadata (compiled once per process).
    pub fn seed_trace(index: usize) -> Arc<CompiledTrace> {
        static TRACES: OnceLock<Vec<Arc<CompiledTrace>>> = OnceLock::new();
        let traces = TRACES.get_or_init(|| {
            SEED_METADATA
                .iter()
                .map(|(name, text)| {
                    let m = read_metadata(text.as_bytes())
                        .unwrap_or_else(|e| panic!("seed metadata {name} does not parse: {e}"));
                    let c = CompiledTrace::new(m)
                        .unwrap_or_else(|e| panic!("seed metadata {name} does not compile: {e}"));
                    Arc::new(c)
                })
                .collect()
        });
        Arc::clone(&traces[index])
    }

    /// `metadata` target: any bytes read as a metadata stream (packetized
    /// or text) give `Ok` or `Err`, never a panic; what reads also
    /// compiles to `Ok` or `Err`.
    pub fn fuzz_metadata(data: &[u8]) {
        let m = match read_metadata(data) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        };
        match CompiledTrace::new(m) {
            Ok(c) => {
                for s in &c.streams {
                    let _ = c.clock(s);
                    let _ = c.stream(s.id);
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    /// `metadata_roundtrip` target: what reads prints as TSDL (`to_tsdl`)
    /// that parses back to the same model, as `write::tsdl` promises.
    pub fn fuzz_metadata_roundtrip(data: &[u8]) {
        let Ok(m) = read_metadata(data) else {
            return;
        };
        let text = to_tsdl(&m);
        let back = match parse(&text) {
            Ok(b) => b,
            Err(e) => panic!("to_tsdl output does not parse: {e}\n--- text:\n{text}"),
        };
        assert!(
            back == m,
            "model differs after to_tsdl/parse round trip\n--- text:\n{text}"
        );
    }

    /// The most items a reader may yield for `len` bytes of data: each
    /// event takes at least one bit (the reader rejects empty events) and
    /// each packet at least one byte, plus `End`.
    pub fn item_bound(len: usize) -> u64 {
        10 * len as u64 + 16
    }

    /// Absolute cap on items for one input, whatever its size.
    pub const MAX_ITEMS: u64 = 10_000_000;

    /// `packet` target: the first byte picks a seed metadata
    /// ([`packet_selector`]), the rest is stream data, written to one file
    /// (or two, split in the middle, when the byte's top bit is set) and
    /// read packet by packet and event by event to the end or the first
    /// error. Checks the reader's invariants along the way and that it
    /// ends within [`item_bound`] items.
    pub fn fuzz_packet(data: &[u8]) {
        let Some((&selector, rest)) = data.split_first() else {
            return;
        };
        let (index, split) = packet_selector(selector);
        let parts = if split {
            let mid = rest.len() / 2;
            vec![&rest[..mid], &rest[mid..]]
        } else {
            vec![rest]
        };
        decode_stream(seed_trace(index), parts);
    }

    /// `trace` target: metadata and data both fuzzed. Bytes 0-1 (LE) give
    /// the metadata length `n` (clamped), the next `n` bytes are a metadata
    /// stream, the rest is stream data. When the metadata reads and
    /// compiles, the data is decoded as in [`fuzz_packet`].
    pub fn fuzz_trace(data: &[u8]) {
        let Some((head, rest)) = data.split_first_chunk::<2>() else {
            return;
        };
        let n = (u16::from_le_bytes(*head) as usize).min(rest.len());
        let (meta, stream) = rest.split_at(n);
        let Ok(m) = read_metadata(meta) else {
            return;
        };
        let Ok(c) = CompiledTrace::new(m) else {
            return;
        };
        decode_stream(Arc::new(c), vec![stream]);
    }

    /// An input of the `trace` target: `metadata` then `data`.
    pub fn trace_input(metadata: &[u8], data: &[u8]) -> Vec<u8> {
        let n = u16::try_from(metadata.len()).expect("metadata of at most 64 KiB");
        let mut v = n.to_le_bytes().to_vec();
        v.extend_from_slice(metadata);
        v.extend_from_slice(data);
        v
    }

    /// Writes `parts` to files and reads them as one stream with `trace`
    /// to `End` or the first error, checking the reader's invariants and
    /// that it ends within [`item_bound`] items.
    pub fn decode_stream(trace: Arc<CompiledTrace>, parts: Vec<&[u8]>) {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let files = TempFiles::new(parts);
        let lens: Vec<u64> = files.parts.iter().map(|p| p.len() as u64).collect();
        let mut reader = StreamReader::new(trace, files.paths.clone());
        let bound = item_bound(total).min(MAX_ITEMS);
        let mut items = 0u64;
        let mut in_packet = false;
        loop {
            items += 1;
            assert!(
                items <= bound,
                "reader yielded more than {bound} items for {total} bytes of data: it does not terminate"
            );
            match reader.next_item() {
                Ok(Item::End) => {
                    assert!(!in_packet, "End inside a packet");
                    // End is sticky.
                    assert_eq!(
                        reader.next_item().ok(),
                        Some(Item::End),
                        "End is not sticky"
                    );
                    break;
                }
                Ok(Item::PacketBegin) => {
                    assert!(!in_packet, "PacketBegin inside a packet");
                    in_packet = true;
                    check_packet(&reader, &lens);
                }
                Ok(Item::Event) => {
                    assert!(in_packet, "Event outside a packet");
                    check_event(&reader);
                }
                Ok(Item::PacketEnd) => {
                    assert!(in_packet, "PacketEnd outside a packet");
                    in_packet = false;
                }
                Err(e) => {
                    let _ = e.to_string();
                    // Asking again after an error must not panic either.
                    for _ in 0..2 {
                        let _ = reader.next_item();
                    }
                    break;
                }
            }
            let _ = reader.clock();
            let _ = reader.path();
        }
    }

    fn check_slots(slots: &[Slot], bytes: usize, what: &str) {
        for s in slots {
            if let Slot::Str { off, len } = *s {
                let end = off as u64 + len as u64;
                assert!(
                    end <= bytes as u64,
                    "{what}: string slot {off}+{len} lies outside the packet ({bytes} bytes)"
                );
            }
        }
    }

    fn check_packet(reader: &StreamReader, lens: &[u64]) {
        let p = reader.packet();
        assert!(
            p.file < lens.len(),
            "packet file index {} out of range",
            p.file
        );
        assert!(
            p.content_size <= p.packet_size,
            "content size exceeds packet size"
        );
        assert!(
            p.packet_size > 0 && p.packet_size.is_multiple_of(8),
            "bad packet size {}",
            p.packet_size
        );
        assert!(
            p.offset + p.packet_size / 8 <= lens[p.file],
            "packet at {} of {} bytes goes past the end of its {}-byte file",
            p.offset,
            p.packet_size / 8,
            lens[p.file]
        );
        assert!(
            p.context_start <= p.slots.len(),
            "context start past the slots"
        );
        let stream = reader.stream_class();
        let _ = stream.event_index(0);
        assert!(p.stream_class < reader.trace().streams.len());
        let bytes = reader.packet_bytes();
        assert_eq!(bytes.len() as u64, p.packet_size / 8, "packet_bytes length");
        check_slots(&p.slots, bytes.len(), "packet header/context");
    }

    fn check_event(reader: &StreamReader) {
        let p = reader.packet();
        let ev = reader.event();
        let slots = reader.event_slots();
        let stream = reader.stream_class();
        assert!(
            ev.event < stream.events.len(),
            "event index {} out of range",
            ev.event
        );
        assert!(
            ev.offset * 8 < p.content_size,
            "event starts past the packet content"
        );
        let s = ev.scopes;
        let ranges = [s.header, s.stream_context, s.context, s.fields];
        let mut prev = 0u32;
        for (begin, end) in ranges {
            assert!(
                prev <= begin && begin <= end,
                "event scope ranges out of order: {s:?}"
            );
            prev = end;
        }
        assert!(
            prev as usize <= slots.len(),
            "event scopes past the slots: {s:?}"
        );
        check_slots(slots, reader.packet_bytes().len(), "event");
    }

    /// Data files for one input, removed on drop (also when a check
    /// panics, so that a long fuzzing run does not fill the temp folder).
    struct TempFiles<'a> {
        parts: Vec<&'a [u8]>,
        paths: Vec<PathBuf>,
    }

    impl<'a> TempFiles<'a> {
        fn new(parts: Vec<&'a [u8]>) -> Self {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir();
            let paths: Vec<PathBuf> = (0..parts.len())
                .map(|i| dir.join(format!("ltt-fuzz-packet-{}-{n}-{i}", std::process::id())))
                .collect();
            for (path, part) in paths.iter().zip(&parts) {
                std::fs::write(path, part)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            }
            TempFiles { parts, paths }
        }
    }

    impl Drop for TempFiles<'_> {
        fn drop(&mut self) {
            for p in &self.paths {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
