/*
 * lab_app KIND COUNT THREADS: emits COUNT events of KIND (`one_int` or
 * `all_types`) from THREADS threads, for the ltt reader benchmark.
 *
 * Several threads spread the events over several per-CPU streams, so the
 * readers also have to merge streams by time, as with real traces.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_tp.h"

enum kind { ONE_INT, ALL_TYPES };

struct job {
	enum kind kind;
	uint64_t first;
	uint64_t count;
};

/* Strings of several lengths (each >= 8 bytes, see lab_tp.h). */
static const char *const texts[] = {
	"hello, world",
	"lab-bench",
	"a somewhat longer string, to vary the event sizes",
	"tab\there",
};

static const uint8_t bytes[8] = { 1, 2, 3, 0x7f, 0x80, 0xfe, 0xff, 42 };

static void *emit(void *arg)
{
	const struct job *job = arg;
	uint64_t i;

	for (i = job->first; i < job->first + job->count; i++) {
		if (job->kind == ONE_INT) {
			tracepoint(lab, one_int, (int) i);
		} else {
			tracepoint(lab, all_types, i, texts[i % 4], bytes,
				   (size_t) (i % 9), (double) i / 8.0);
		}
	}
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
	enum kind kind;
	uint64_t count, threads, t, first = 0;
	pthread_t *tids;
	struct job *jobs;

	if (argc != 4) {
		fprintf(stderr, "usage: %s one_int|all_types COUNT THREADS\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "one_int") == 0) {
		kind = ONE_INT;
	} else if (strcmp(argv[1], "all_types") == 0) {
		kind = ALL_TYPES;
	} else {
		fprintf(stderr, "lab_app: unknown event kind `%s`\n", argv[1]);
		return 2;
	}
	if (parse_u64(argv[2], &count) || parse_u64(argv[3], &threads) || threads == 0) {
		fprintf(stderr, "lab_app: COUNT and THREADS must be integers, THREADS >= 1\n");
		return 2;
	}
	tids = calloc(threads, sizeof(*tids));
	jobs = calloc(threads, sizeof(*jobs));
	if (!tids || !jobs) {
		perror("lab_app: calloc");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		jobs[t].kind = kind;
		jobs[t].first = first;
		jobs[t].count = count / threads + (t < count % threads ? 1 : 0);
		first += jobs[t].count;
		if (pthread_create(&tids[t], NULL, emit, &jobs[t]) != 0) {
			perror("lab_app: pthread_create");
			return 1;
		}
	}
	for (t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	printf("%" PRIu64 "\n", count);
	free(tids);
	free(jobs);
	return 0;
}
