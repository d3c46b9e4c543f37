#!/usr/bin/env python3
"""Regenerates fuzz/corpus/{metadata,packet} from the shared fixtures.

Usage: python3 fuzz/seeds/make_corpus.py [FIXTURES_DIR]
(default: $LTT_FIXTURES, else ../shared/fixtures beside the repository).

metadata/: real metadata streams (packetized and text, deduplicated) plus
hand-made corrupt variants.
packet/: one byte selecting a seed metadata (index into SEED_METADATA in
fuzz/common/targets.rs; +0x80 = split the data over two files) followed by
real stream data (at most 64 KiB), plus hand-made corrupt variants.
Files found by fuzzing (crash-*, interesting inputs) are kept: only the
files this script writes are overwritten.
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.dirname(HERE)
REPO = os.path.dirname(FUZZ)
FIX = (sys.argv[1] if len(sys.argv) > 1 else
       os.environ.get("LTT_FIXTURES", os.path.join(REPO, "..", "shared", "fixtures")))
BT = os.path.join(FIX, "babeltrace-corpus")
LT = os.path.join(FIX, "lttng")
MAX = 64 * 1024

META_DIR = os.path.join(FUZZ, "corpus", "metadata")
PACKET_DIR = os.path.join(FUZZ, "corpus", "packet")
TRACE_DIR = os.path.join(FUZZ, "corpus", "trace")
SEEDS = sorted(os.listdir(os.path.join(HERE, "metadata")))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(dir_, name, data):
    os.makedirs(dir_, exist_ok=True)
    with open(os.path.join(dir_, name), "wb") as f:
        f.write(data[: MAX + 1])


def patch(data, off, fmt, *values):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, *values)
    return bytes(b)


def flip(data, offsets):
    b = bytearray(data)
    for o in offsets:
        b[o % len(b)] ^= 0xFF
    return bytes(b)


def depacketize(data):
    out, off = b"", 0
    while off + 37 <= len(data):
        content, packet = struct.unpack_from("<II", data, off + 24)
        out += data[off + 37: off + content // 8]
        off += packet // 8
    return out


# ------------------------------------------------------------------ metadata

def metadata_corpus():
    seen = set()
    files = []
    for root, _, names in os.walk(FIX):
        for n in sorted(names):
            if n == "metadata":
                files.append(os.path.join(root, n))
    files.sort()
    for path in files:
        data = read(path)
        h = hashlib.sha1(data).hexdigest()
        if h in seen or len(data) > MAX:
            continue
        seen.add(h)
        rel = os.path.relpath(os.path.dirname(path), FIX).replace(os.sep, "_")
        rel = rel.replace("babeltrace-corpus_", "bt-").replace("_ust_uid_0_64-bit", "")
        # Keep the corpus small: one of LTTng's many filter sessions.
        if rel.startswith("lttng_filters_") and not rel.startswith("lttng_filters_f00_"):
            continue
        write(META_DIR, "real-" + rel, data)
    write(META_DIR, "real-lttng_basic.tsdl", read(os.path.join(LT, "basic.metadata.tsdl.txt")))

    basic_pkt = read(os.path.join(LT, "basic", "ust", "uid", "0", "64-bit", "metadata"))
    basic_txt = read(os.path.join(LT, "basic.metadata.tsdl.txt"))
    small = read(os.path.join(BT, "succeed", "smalltrace", "metadata"))
    # Packetized: truncated inside the header, inside the text, and a bad
    # magic; content_size > packet_size; huge packet_size; zero sizes;
    # content_size not a multiple of 8; header length > content.
    write(META_DIR, "bad-pkt-trunc-header", basic_pkt[:20])
    write(META_DIR, "bad-pkt-trunc-text", basic_pkt[:1000])
    write(META_DIR, "bad-pkt-magic", patch(basic_pkt, 0, "<I", 0x75D11D58))
    write(META_DIR, "bad-pkt-content-gt-packet", patch(basic_pkt, 24, "<I", 0xFFFFFFF0))
    write(META_DIR, "bad-pkt-huge-packet", patch(basic_pkt, 28, "<I", 0xFFFFFFF8))
    write(META_DIR, "bad-pkt-zero-sizes", patch(patch(basic_pkt, 24, "<I", 0), 28, "<I", 0))
    write(META_DIR, "bad-pkt-content-odd", patch(basic_pkt, 24, "<I", 37 * 8 + 3))
    write(META_DIR, "bad-pkt-content-lt-header", patch(basic_pkt, 24, "<I", 8))
    write(META_DIR, "bad-pkt-compressed", patch(basic_pkt, 32, "<B", 1))
    write(META_DIR, "bad-pkt-version", patch(basic_pkt, 35, "<BB", 2, 0))
    write(META_DIR, "bad-pkt-flipped", flip(basic_pkt, [40, 333, 777, 1500, 2222, 3000]))
    # Text: truncated, flipped, non-UTF-8, wrong version, and grammar limits.
    write(META_DIR, "bad-txt-trunc", basic_txt[: len(basic_txt) // 2])
    write(META_DIR, "bad-txt-flipped", flip(basic_txt, [100, 900, 1700, 2500, 4000, 6000]))
    write(META_DIR, "bad-txt-nonutf8", small[:50] + b"\xff\xfe" + small[52:])
    write(META_DIR, "bad-txt-version", b"/* CTF 2.0 */\n" + small)
    head = small.split(b"event {")[0]
    ev = lambda body: head + b"event {\n name = x;\n id = 0;\n fields := struct {\n" + body + b"\n };\n};\n"
    write(META_DIR, "bad-txt-int-size-huge", ev(b"integer { size = 18446744073709551615; } a;"))
    write(META_DIR, "bad-txt-int-size-zero", ev(b"integer { size = 0; } a;"))
    write(META_DIR, "bad-txt-align-zero", ev(b"integer { size = 8; align = 0; } a;"))
    write(META_DIR, "bad-txt-align-huge", ev(b"integer { size = 8; align = 9223372036854775808; } a;"))
    write(META_DIR, "bad-txt-array-huge", ev(b"integer { size = 8; } a[18446744073709551615];"))
    write(META_DIR, "bad-txt-seq-unknown-len", ev(b"integer { size = 8; } a[nope];"))
    write(META_DIR, "bad-txt-float-weird", ev(b"floating_point { exp_dig = 200; mant_dig = 1; } f;"))
    write(META_DIR, "bad-txt-enum-overlap", ev(b"enum : integer { size = 8; } { A = 0 ... 300, B = -5 } e;"))
    write(META_DIR, "bad-txt-deep-struct", ev(b"struct { " * 300 + b"integer { size = 8; } x;" + b" } s;" * 300))
    write(META_DIR, "bad-txt-deep-array", ev(b"integer { size = 8; } a" + b"[2]" * 2000 + b";"))
    write(META_DIR, "bad-txt-typealias-chain",
          b"".join(b"typealias struct { t%d a; t%d b; } := t%d;\n" % (i, i, i + 1) for i in range(64))
          .replace(b"t0 a; t0 b;", b"integer { size = 8; } a; integer { size = 8; } b;") + small)
    write(META_DIR, "bad-txt-variant-tag-missing",
          ev(b"integer { size = 8; } t; variant <nope> { integer { size = 8; } a; } v;"))
    write(META_DIR, "bad-txt-unterminated-comment", small + b"/* never closed")
    write(META_DIR, "bad-txt-unterminated-string", small + b'env { s = "never closed')
    write(META_DIR, "bad-txt-empty", b"")


# ------------------------------------------------------------------- packet

# (selector, name, file, bytes kept): selector = index into SEED_METADATA.
PACKETS = [
    (0, "lttng-basic-ch0", os.path.join(LT, "basic/ust/uid/0/64-bit/channel0_0"), MAX),
    (0, "lttng-basic-ch1", os.path.join(LT, "basic/ust/uid/0/64-bit/channel0_1"), MAX),
    (1, "smalltrace", os.path.join(BT, "succeed/smalltrace/dummystream"), MAX),
    (2, "sequence-ch2", os.path.join(BT, "succeed/sequence/channel0_2"), MAX),
    (2, "sequence-ch0-empty", os.path.join(BT, "succeed/sequence/channel0_0"), MAX),
    (3, "meta-variant-reserved-keywords", os.path.join(BT, "succeed/meta-variant-reserved-keywords/stream"), MAX),
    (4, "struct-array-align-elem", os.path.join(BT, "succeed/struct-array-align-elem/stream"), MAX),
    (5, "barectf-event-before-packet", os.path.join(BT, "succeed/barectf-event-before-packet/stream"), MAX),
    (6, "no-packet-context", os.path.join(BT, "succeed/no-packet-context/stream"), MAX),
    (7, "lttng-crash", os.path.join(BT, "succeed/lttng-crash/chan_0"), MAX),
    (8, "valid-events-then-invalid-events", os.path.join(BT, "fail/valid-events-then-invalid-events/trace/dummystream"), MAX),
    (9, "succeed1-2packets", os.path.join(BT, "succeed/succeed1/dummystream"), MAX),
    (10, "meta-ctx-sequence-empty", os.path.join(BT, "succeed/meta-ctx-sequence/stream"), MAX),
    (11, "array-align-elem", os.path.join(BT, "succeed/array-align-elem/stream"), MAX),
    (12, "ev-disc-no-ts-begin-end", os.path.join(BT, "succeed/ev-disc-no-ts-begin-end/stream"), MAX),
    (13, "invalid-packet-size", os.path.join(BT, "fail/invalid-packet-size/trace/channel0_3"), MAX),
    (14, "multi-domains-kernel-ch1", os.path.join(BT, "succeed/multi-domains/kernel/kernel_channel_1"), MAX),
    (14, "multi-domains-kernel-ch0", os.path.join(BT, "succeed/multi-domains/kernel/kernel_channel_0"), 16384),
    (15, "crlf-metadata", os.path.join(BT, "succeed/crlf-metadata/channel0_0"), MAX),
    (1, "fail-smalltrace", os.path.join(BT, "fail/smalltrace/dummystream-fail"), MAX),
]


def packet_corpus():
    for sel, name, path, keep in PACKETS:
        write(PACKET_DIR, "real-%02d-%s" % (sel, name), bytes([sel]) + read(path)[:keep])
    ch0 = read(os.path.join(LT, "basic/ust/uid/0/64-bit/channel0_0"))
    ch1 = read(os.path.join(LT, "basic/ust/uid/0/64-bit/channel0_1"))
    seq = read(os.path.join(BT, "succeed/sequence/channel0_2"))
    s1 = read(os.path.join(BT, "succeed/succeed1/dummystream"))[:32768]
    # Two files (selector top bit): the two basic channels, split evenly.
    write(PACKET_DIR, "real-80-lttng-basic-two-files", bytes([0x80]) + ch0[:16384] + ch1[:16384])

    b = bytes([0])
    # lttng basic: packet context at 32: content_size @48, packet_size @56.
    write(PACKET_DIR, "bad-00-trunc-header", b + ch0[:30])
    write(PACKET_DIR, "bad-00-trunc-mid-packet", b + ch0[:1000])
    write(PACKET_DIR, "bad-00-bad-magic", b + patch(ch0, 0, "<I", 0xC1FC1FC2))
    write(PACKET_DIR, "bad-00-huge-packet-size", b + patch(ch0, 56, "<Q", 0xFFFFFFFFFFFFFFF8))
    write(PACKET_DIR, "bad-00-huge-content-size", b + patch(ch0, 48, "<Q", 0xFFFFFFFFFFFFFFF8))
    write(PACKET_DIR, "bad-00-packet-size-zero", b + patch(patch(ch0, 56, "<Q", 0), 48, "<Q", 0))
    write(PACKET_DIR, "bad-00-packet-size-odd", b + patch(ch0, 56, "<Q", 24576 * 8 - 3))
    write(PACKET_DIR, "bad-00-content-lt-context", b + patch(ch0, 48, "<Q", 100))
    write(PACKET_DIR, "bad-00-content-mid-event", b + patch(ch0, 48, "<Q", 85 * 8 + 5))
    write(PACKET_DIR, "bad-00-small-packets", b + patch(patch(ch0, 56, "<Q", 84 * 8), 48, "<Q", 84 * 8))
    write(PACKET_DIR, "bad-00-unknown-stream-id", b + patch(ch0, 20, "<I", 77))
    write(PACKET_DIR, "bad-00-unknown-event-id", b + patch(ch0, 84 + 2, "<I", 0xFFFFFFFF))
    write(PACKET_DIR, "bad-00-flipped", b + flip(ch0, [90, 123, 400, 1024, 4000, 9999, 20000]))
    # sequence: first event's sequence length (u64 at byte 81).
    b2 = bytes([2])
    write(PACKET_DIR, "bad-02-huge-seq-len", b2 + patch(seq, 81, "<Q", 0xFFFFFFFFFFFFFFFF))
    write(PACKET_DIR, "bad-02-big-seq-len", b2 + patch(seq, 81, "<Q", 0x40000000))
    write(PACKET_DIR, "bad-02-seq-len-past-content", b2 + patch(seq, 81, "<Q", 200))
    write(PACKET_DIR, "bad-02-extended-id-unknown", b2 + patch(seq, 69, "<I", 12345))
    # succeed1 (u32 content_size @20, packet_size @24).
    b9 = bytes([9])
    write(PACKET_DIR, "bad-09-huge-packet-size", b9 + patch(s1, 24, "<I", 0xFFFFFFF8))
    write(PACKET_DIR, "bad-09-content-gt-packet", b9 + patch(s1, 20, "<I", 0x00040008))
    write(PACKET_DIR, "bad-09-unterminated-string", b9 + patch(s1[:4096], 20, "<I", 4096 * 8))
    # Selector out of range wraps; empty data.
    write(PACKET_DIR, "bad-7f-selector-wraps", bytes([0x7F]) + ch0[:4096])
    write(PACKET_DIR, "bad-00-empty-data", b)


# -------------------------------------------------------------------- trace

def trace_input(meta, data):
    return struct.pack("<H", len(meta)) + meta + data


def trace_corpus():
    # Each real packet seed with its metadata text inlined (data <= 32 KiB).
    for sel, name, path, keep in PACKETS:
        meta = read(os.path.join(HERE, "metadata", SEEDS[sel]))
        write(TRACE_DIR, "real-%s" % name, trace_input(meta, read(path)[: min(keep, 32768)]))
    basic = os.path.join(LT, "basic/ust/uid/0/64-bit")
    write(TRACE_DIR, "real-lttng-basic-packetized-metadata",
          trace_input(read(os.path.join(basic, "metadata")), read(os.path.join(basic, "channel0_1"))[:24576]))
    # Layout corner cases: huge arrays/sequences of empty structs, zero-length
    # arrays of huge arrays, empty variant options, odd alignments and sizes.
    head = b"/* CTF 1.8 */\ntrace { major = 1; minor = 8; byte_order = le; };\n"
    ev = lambda fields: head + b"event { name = a; fields := struct { " + fields + b" }; };\n"
    cases = {
        "empty-struct-array": b"struct {} x[1000000000000];",
        "empty-struct-seq": b"integer { size = 64; } n; struct {} x[n];",
        "zero-array-of-huge": b"integer { size = 8; } x[0][1000000000000];",
        "empty-fields": b"",
        "variant-empty-options": b"enum : integer { size = 8; } { A = 0, B = 1 } t; "
                                 b"variant <t> { struct {} A; struct {} B; } v;",
        "odd-bits": b"integer { size = 3; align = 1; } a; integer { size = 61; align = 1; byte_order = be; } b; "
                    b"floating_point { exp_dig = 8; mant_dig = 24; align = 1; } f;",
        "string-seq": b"integer { size = 8; } n; string s[n];",
        "nested-seq": b"integer { size = 8; } n; struct { integer { size = 8; } m; integer { size = 8; } y[m]; } x[n];",
        "align-huge": b"integer { size = 8; align = 1048576; } a;",
    }
    for name, fields in cases.items():
        write(TRACE_DIR, "bad-" + name, trace_input(ev(fields), bytes(range(256)) + b"\xff" * 64))


def main():
    if not os.path.isdir(FIX):
        sys.exit("fixtures folder %s not found" % FIX)
    metadata_corpus()
    packet_corpus()
    trace_corpus()


if __name__ == "__main__":
    main()
