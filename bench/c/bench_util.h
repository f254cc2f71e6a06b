/*
 * bench_util.h - what micro.c and replay.c share: clocks, sample statistics,
 * JSON output, which allocator families the library implements, and the
 * malloc baselines (glibc, jemalloc, mimalloc) loaded side by side in one
 * process.
 *
 * Why dlopen for jemalloc and mimalloc: both Debian libraries export `malloc`
 * itself, so linking either one would silently replace glibc's malloc in the
 * whole process and the "glibc" baseline would measure something else. They
 * are opened with RTLD_LOCAL instead, so their symbols never interpose, and
 * every baseline is checked to really live in the library it is named after.
 * libjemalloc.so.2 uses initial-exec TLS, which glibc refuses to dlopen unless
 * the optional static TLS surplus is raised: bench_reexec_with_tunables()
 * re-executes the program once with GLIBC_TUNABLES set for that (and for
 * any other tunable the program needs, such as malloc's huge pages).
 */
#ifndef MP_BENCH_UTIL_H
#define MP_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Set by bench/c/CMakeLists.txt to 1 for each family whose functions are all
 * defined in native/core (a family still under construction is 0). */
#ifndef MP_BENCH_HAVE_FIXED
#define MP_BENCH_HAVE_FIXED 0
#endif
#ifndef MP_BENCH_HAVE_ARENA
#define MP_BENCH_HAVE_ARENA 0
#endif
#ifndef MP_BENCH_HAVE_BUDDY
#define MP_BENCH_HAVE_BUDDY 0
#endif
#ifndef MP_BENCH_HAVE_SLAB
#define MP_BENCH_HAVE_SLAB 0
#endif
#ifndef MP_BENCH_HAVE_TLSF
#define MP_BENCH_HAVE_TLSF 0
#endif
#ifndef MP_BENCH_HAVE_FITLIST
#define MP_BENCH_HAVE_FITLIST 0
#endif

#define BENCH_NOT_IMPLEMENTED "not implemented in native/core yet (skipped, not faked)"
#define BENCH_NOT_INSTALLED "not installed (apt-get install libjemalloc-dev libmimalloc-dev)"

/* ------------------------------------------------------------------ clocks */

/** Monotonic wall clock, nanoseconds. */
uint64_t bench_wall_ns(void);
/** CPU time of the whole process (user + system), nanoseconds. */
uint64_t bench_cpu_ns(void);

/* -------------------------------------------------------------- statistics */

typedef struct bench_summary {
    double median;
    double min;
    double max;
} bench_summary;

/** Median, min and max of `n` >= 1 samples (the array is sorted in place). */
bench_summary bench_summarize(double *samples, size_t n);

/* -------------------------------------------------------------------- JSON */

/** Writes `s` as a JSON string literal (quotes included). */
void bench_json_string(FILE *out, const char *s);
/** Writes `"name":[v0,v1,...],` (the raw samples, in run order). */
void bench_json_samples(FILE *out, const char *name, const double *values, size_t n);

/* ------------------------------------------------------------ memory, RSS */

/** Maps `bytes` of zeroed anonymous memory (lazily committed); NULL on failure.
 * Used for all bench bookkeeping so glibc's heap stays untouched by it. */
void *bench_map(size_t bytes);
void bench_unmap(void *p, size_t bytes);
/** Resident bytes of the process now (/proc/self/statm). */
size_t bench_rss_bytes(void);
/** Resets the kernel's peak-RSS mark to the current RSS (clear_refs 5);
 * returns 0 on success, -1 when the kernel refuses. */
int bench_reset_peak_rss(void);
/** Peak RSS since start or the last reset (VmHWM), bytes; 0 if unknown. */
size_t bench_peak_rss_bytes(void);
/** Resident bytes of the mapping [p, p + bytes) (mincore); p page aligned. */
size_t bench_resident_bytes(void *p, size_t bytes);

/* ------------------------------------------------------ workload sequences */

#define BENCH_LIVE 10000u     /* live blocks of the live10k workloads */
#define BENCH_SEQ_LEN 65536u  /* power of two: sequences are indexed with a mask */
#define BENCH_SEQ_MASK (BENCH_SEQ_LEN - 1u)

/** The seeded sequences of the micro workloads (micro.c), BENCH_SEQ_LEN
 * entries each, from one splitmix64 stream in this order: `victims` (which
 * of the BENCH_LIVE live blocks an op replaces), `mixed` (16..4096 B,
 * uniform), `pow2` (16, 32, .. 4096 B, uniform), `arena` (8..256 B, multiples
 * of 8). The synthetic traces of replay.c (trace_synthetic) replay the same
 * `victims`, `mixed` and `pow2`. */
void bench_sequences(uint32_t *victims, uint32_t *mixed, uint32_t *pow2, uint32_t *arena);
/** Seed of bench_sequences (reported in the micro bench's meta). */
#define BENCH_SEED 0x6d656d706f6f6cull

/* -------------------------------------------------------- malloc baselines */

typedef enum bench_malloc_id { BENCH_GLIBC = 0, BENCH_JEMALLOC = 1, BENCH_MIMALLOC = 2, BENCH_MALLOC_COUNT = 3 } bench_malloc_id;

typedef struct bench_malloc {
    const char *name;      /**< "glibc", "jemalloc", "mimalloc" */
    char version[64];      /**< library version, "" if unknown */
    const char *missing;   /**< NULL when usable, else why it is not */
    void *(*malloc_fn)(size_t size);
    void *(*calloc_fn)(size_t count, size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
    int (*memalign_fn)(void **out, size_t align, size_t size); /**< posix_memalign */
} bench_malloc;

/** Re-executes the program once with glibc's optional static TLS raised so
 * that libjemalloc.so.2 can be dlopen'ed, and with `extra` (a
 * "name=value" tunable, or NULL) in GLIBC_TUNABLES too; returns only when no
 * re-exec is needed (or it failed, in which case jemalloc reports why it is
 * missing). MP_BENCH_NO_REEXEC (set by bench/callgrind.sh) skips it. */
void bench_reexec_with_tunables(char **argv, const char *extra);
/** Fills `out` for one baseline: dlopens jemalloc/mimalloc (paths found at
 * configure time) and checks that the functions really come from that
 * library. `out->missing` says why a baseline cannot run. */
void bench_malloc_load(bench_malloc_id id, bench_malloc *out);

/** Compiler that built the benches ("gcc 12.2.0"). */
const char *bench_compiler(void);

#if defined(__GNUC__)
/** Keeps the compiler from proving a block unused (and deleting the
 * malloc/free pair, which gcc does for malloc). */
#define BENCH_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")
#else
#define BENCH_ESCAPE(p) ((void)(p))
#endif

#endif /* MP_BENCH_UTIL_H */
