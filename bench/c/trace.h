/*
 * trace.h - loading an mtrace-text trace (../shared/traces/TRACE_FORMAT.md)
 * into an array of events for replay.c. Loading is never timed.
 */
#ifndef MP_BENCH_TRACE_H
#define MP_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef enum trace_kind { TRACE_ALLOC = 0, TRACE_CALLOC = 1, TRACE_REALLOC = 2, TRACE_FREE = 3 } trace_kind;

/* One event. Object ids are renumbered densely (0 .. id_count - 1) so the
 * replayer keeps its live pointers in a flat array. */
typedef struct trace_event {
    uint64_t size;    /* bytes requested (a, c, r) */
    uint32_t idx;     /* object born (a, c, r) or dying (f) */
    uint32_t old_idx; /* object dying in a realloc (r) */
    uint32_t align;   /* requested alignment of an aligned `a`, else 0 */
    uint32_t kind;    /* trace_kind */
} trace_event;

typedef struct trace {
    trace_event *events;      /* mapped memory, never the malloc heap */
    size_t event_count;
    size_t events_capacity;
    size_t id_count;
    size_t peak_live_bytes;   /* highest sum of requested sizes of live objects */
    size_t peak_live_objects;
    size_t thread_count;      /* highest `t N` + 1 */
    int truncated;            /* stopped at the caller's max_events */
} trace;

/** Prefix of a path that names a generated trace: "synthetic:mixed_live10k"
 * and "synthetic:pow2_live10k" are the micro workloads of those names (10,000
 * live blocks, then 500,000 free + alloc ops), with the same seeded
 * sequences (bench_sequences). */
#define TRACE_SYNTHETIC_PREFIX "synthetic:"

/** Loads `path` (a .trace.gz, or plain text, or a TRACE_SYNTHETIC_PREFIX
 * name) keeping at most `max_events` events (0 = all). Uses no malloc (so a replay in the same process starts
 * from an untouched heap). Returns 0, or -1 with a message in `err`. */
int trace_load(const char *path, size_t max_events, trace *out, char *err, size_t err_bytes);
/** Releases the event array. */
void trace_free(trace *t);

#endif /* MP_BENCH_TRACE_H */
