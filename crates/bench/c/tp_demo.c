/*
 * tp_demo --iterations N --threads T --payload empty|one-int|all-types:
 * the LTTng-UST twin of ltt-demo (crates/demo) for `ltt-bench tracepoint`
 * and `ltt-bench filter`. Every thread hits one event per iteration; the
 * last line is `RESULT iterations=N threads=T ns_per_event=X`, the mean
 * over threads of each thread's loop time (clock_gettime around the loop
 * only) divided by N, exactly as ltt-demo computes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp_demo_tp.h"

enum payload { EMPTY, ONE_INT, ALL_TYPES };

struct job {
	enum payload payload;
	uint32_t t;
	uint64_t iterations;
	uint64_t ns;
};

static const char *const words[5] = {
	"hello", "with space", "tab\tand \"quotes\"", "utf-8: \xc3\xa9 \xe2\x9c\x93",
	"back\\slash",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void *emit(void *arg)
{
	struct job *job = arg;
	uint64_t i, n = job->iterations, start = now_ns();

	switch (job->payload) {
	case EMPTY:
		for (i = 0; i < n; i++)
			tracepoint(demo, empty);
		break;
	case ONE_INT:
		for (i = 0; i < n; i++)
			tracepoint(demo, one_int, (int32_t) i);
		break;
	case ALL_TYPES:
		for (i = 0; i < n; i++) {
			/* Built only when the event is enabled, as in ltt-demo. */
			if (tracepoint_enabled(demo, all_types)) {
				int32_t arr[4] = { (int32_t) i, -1, (int32_t) job->t, 42 };
				uint8_t arrhex[4] = { 0xde, 0xad, (uint8_t) i, 0 };
				int32_t seq[3] = { (int32_t) i, -(int32_t) i, 7 };
				uint16_t seq16[2] = { (uint16_t) i, 0xbeef };

				do_tracepoint(demo, all_types, i, job->t, words[i % 5],
					      arr, arrhex, seq, seq16);
			}
		}
		break;
	}
	job->ns = now_ns() - start;
	return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || end == s ? -1 : 0;
}

int main(int argc, char **argv)
{
	enum payload payload = ALL_TYPES;
	uint64_t iterations = 1000, threads = 1, t, total = 0;
	pthread_t *tids;
	struct job *jobs;
	int a;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--iterations") == 0) {
			if (parse_u64(argv[a + 1], &iterations))
				goto usage;
		} else if (strcmp(argv[a], "--threads") == 0) {
			if (parse_u64(argv[a + 1], &threads))
				goto usage;
		} else if (strcmp(argv[a], "--payload") == 0) {
			if (strcmp(argv[a + 1], "empty") == 0)
				payload = EMPTY;
			else if (strcmp(argv[a + 1], "one-int") == 0)
				payload = ONE_INT;
			else if (strcmp(argv[a + 1], "all-types") == 0)
				payload = ALL_TYPES;
			else
				goto usage;
		} else {
			goto usage;
		}
	}
	if (a != argc)
		goto usage;
	if (threads == 0)
		threads = 1;
	tids = calloc(threads, sizeof(*tids));
	jobs = calloc(threads, sizeof(*jobs));
	if (!tids || !jobs) {
		perror("tp_demo: calloc");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		jobs[t].payload = payload;
		jobs[t].t = (uint32_t) t;
		jobs[t].iterations = iterations;
		if (pthread_create(&tids[t], NULL, emit, &jobs[t]) != 0) {
			perror("tp_demo: pthread_create");
			return 1;
		}
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tids[t], NULL);
		total += jobs[t].ns;
	}
	printf("RESULT iterations=%" PRIu64 " threads=%" PRIu64 " ns_per_event=%.1f\n",
	       iterations, threads,
	       iterations == 0 ? 0.0 : (double) total / (double) threads / (double) iterations);
	free(tids);
	free(jobs);
	return 0;

usage:
	fprintf(stderr,
		"usage: %s [--iterations N] [--threads T] [--payload empty|one-int|all-types]\n",
		argv[0]);
	return 2;
}
