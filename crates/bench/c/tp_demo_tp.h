/*
 * Tracepoint provider `demo` for `ltt-bench tracepoint` and `ltt-bench
 * filter`: the same three events, with the same fields, as ltt-demo's
 * provider (crates/demo/src/main.rs), so both tracers write the same
 * payloads.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER demo

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./tp_demo_tp.h"

#if !defined(TP_DEMO_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define TP_DEMO_TP_H

#include <endian.h>
#include <lttng/tracepoint.h>
#include <stddef.h>
#include <stdint.h>

TRACEPOINT_EVENT(demo, empty,
	TP_ARGS(),
	TP_FIELDS()
)

TRACEPOINT_EVENT(demo, one_int,
	TP_ARGS(int32_t, v),
	TP_FIELDS(
		ctf_integer(int32_t, v, v)
	)
)
TRACEPOINT_LOGLEVEL(demo, one_int, TRACE_DEBUG_UNIT)

TRACEPOINT_ENUM(demo, State,
	TP_ENUM_VALUES(
		ctf_enum_value("IDLE", 0)
		ctf_enum_value("RUNNING", 1)
		ctf_enum_range("BUSY", 2, 4)
		ctf_enum_value("NEGATIVE", -1)
		ctf_enum_range("HIGH", 100, 199)
	)
)

TRACEPOINT_ENUM(demo, Mode,
	TP_ENUM_VALUES(
		ctf_enum_value("ZERO", 0)
		ctf_enum_value("ONE", 1)
		ctf_enum_value("TWO", 2)
		ctf_enum_value("TEN", 10)
		ctf_enum_value("ELEVEN", 11)
	)
)

/*
 * The integers are computed from `i` inside the probe, as ltt-demo builds
 * its arguments inside the tracepoint macro. ltt's `as network` fields take
 * host-order values; LTTng-UST's network macros take values already in
 * network order, hence the htobe*() here.
 */
TRACEPOINT_EVENT(demo, all_types,
	TP_ARGS(uint64_t, i, uint32_t, t, const char *, word,
		const int32_t *, arr, const uint8_t *, arrhex,
		const int32_t *, seq, const uint16_t *, seq16),
	TP_FIELDS(
		ctf_integer(int8_t, s8, (int8_t) i)
		ctf_integer(uint8_t, u8, (uint8_t) (i * 3))
		ctf_integer(int16_t, s16, -(int16_t) i)
		ctf_integer(uint16_t, u16, (uint16_t) i)
		ctf_integer(int32_t, s32, -(int32_t) i * 1000)
		ctf_integer(uint32_t, u32, (uint32_t) i * 100000u)
		ctf_integer(int64_t, s64, -(int64_t) i * 1000000000007LL)
		ctf_integer(uint64_t, u64, UINT64_MAX - i)
		ctf_integer_hex(uint32_t, hex32, 0xdead0000u | ((uint32_t) i & 0xffff))
		ctf_integer_hex(uint64_t, hex64, 0x0123456789000000ULL | i)
		ctf_integer_network(uint16_t, net16, htobe16((uint16_t) i))
		ctf_integer_network(uint32_t, net32, htobe32((uint32_t) i << 8))
		ctf_integer_network(uint64_t, net64, htobe64(i << 20))
		ctf_integer_network_hex(uint32_t, nethex32,
				htobe32(0xfe000000u | (uint32_t) i))
		ctf_float(float, f32, (float) i * 0.5f)
		ctf_float(double, f64, (double) i / 3.0)
		ctf_string(str, word)
		ctf_array(int32_t, arr, arr, 4)
		ctf_array_hex(uint8_t, arrhex, arrhex, 4)
		ctf_sequence(int32_t, seq, seq, size_t, (size_t) (i % 4))
		ctf_sequence(uint16_t, seq16, seq16, size_t, (size_t) (i % 3))
		ctf_array_text(char, text8, "abcdefgh", 8)
		ctf_sequence_text(char, seqtext, "sequence", size_t, (size_t) (1 + i % 8))
		ctf_enum(demo, State, int32_t, state,
			 i % 4 == 0 ? 0 : i % 4 == 1 ? 3 : i % 4 == 2 ? -1 : 50)
		ctf_enum(demo, Mode, uint8_t, mode, (uint8_t) (i % 13))
	)
)
TRACEPOINT_LOGLEVEL(demo, all_types, TRACE_INFO)

#endif /* TP_DEMO_TP_H */

#include <lttng/tracepoint-event.h>
