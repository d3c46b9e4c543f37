/*
 * Tracepoint provider `lab` for the ltt reader benchmark.
 *
 * Two events: `lab:one_int`, the smallest useful event (what a reader's
 * per-event overhead is measured with), and `lab:all_types`, one field of
 * every LTTng-UST field macro, so that every decoder and every text
 * formatting path of the reader is exercised.
 *
 * Uses the classic (pre-2.13) macro names, which LTTng-UST 2.13 still
 * accepts, so the provider also builds against older LTTng-UST.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER lab

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./lab_tp.h"

#if !defined(LAB_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define LAB_TP_H

#include <endian.h>
#include <lttng/tracepoint.h>
#include <stddef.h>
#include <stdint.h>

TRACEPOINT_EVENT(lab, one_int,
	TP_ARGS(int, v),
	TP_FIELDS(
		ctf_integer(int, v, v)
	)
)

/* Single values, a range and an auto-numbered label (value 10). */
TRACEPOINT_ENUM(lab, state,
	TP_ENUM_VALUES(
		ctf_enum_value("IDLE", 0)
		ctf_enum_value("RUNNING", 1)
		ctf_enum_range("WAITING", 2, 9)
		ctf_enum_auto("AUTO")
	)
)

/*
 * `i` drives every integer, `text` must hold at least 8 bytes (the
 * fixed-size text array reads 8), `bytes` at least 8 (the sequences are
 * `len` <= 8 long).
 */
TRACEPOINT_EVENT(lab, all_types,
	TP_ARGS(uint64_t, i, const char *, text, const uint8_t *, bytes,
		size_t, len, double, d),
	TP_FIELDS(
		ctf_integer(int8_t, s8, (int8_t) i)
		ctf_integer(uint8_t, u8, (uint8_t) i)
		ctf_integer(int16_t, s16, -(int16_t) i)
		ctf_integer(uint16_t, u16, (uint16_t) (i * 3))
		ctf_integer(int32_t, s32, -(int32_t) (i * 7))
		ctf_integer(uint32_t, u32, (uint32_t) (i * 11))
		ctf_integer(int64_t, s64, -(int64_t) (i * 1000003))
		ctf_integer(uint64_t, u64, i * 0x9e3779b97f4a7c15ULL)
		ctf_integer_hex(uint32_t, hex32, (uint32_t) i)
		ctf_integer_hex(uint64_t, hex64, i << 20)
		/* The network variants take values already in network order. */
		ctf_integer_network(uint32_t, net32, htobe32((uint32_t) i))
		ctf_integer_network_hex(uint16_t, nethex16, htobe16((uint16_t) i))
		ctf_float(float, f32, (float) d)
		ctf_float(double, f64, d)
		ctf_string(str, text)
		ctf_array(uint8_t, arr, bytes, 4)
		ctf_array_hex(uint16_t, arrhex, (const uint16_t *) bytes, 2)
		ctf_array_text(char, arrtext, text, 8)
		ctf_sequence(uint8_t, seq, bytes, size_t, len)
		ctf_sequence_hex(uint8_t, seqhex, bytes, uint32_t, (uint32_t) len)
		ctf_sequence_text(char, seqtext, text, size_t, len)
		ctf_enum(lab, state, int, state, (int) (i % 12))
	)
)

#endif /* LAB_TP_H */

#include <lttng/tracepoint-event.h>
