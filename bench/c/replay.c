/*
 * replay.c - replays real allocation traces (../shared/traces/NAME.trace.gz)
 * through every variable-size family of the library and through glibc
 * malloc, jemalloc and mimalloc, all in the same run.
 *
 * Method, matching the traces README's reference figures:
 *  - the whole trace is parsed into an event array first (not timed);
 *  - events are applied in file order, single-threaded (always legal); one
 *    byte is written in every 4 KiB page of each new block ("page-touch"
 *    mode: allocator pages start untouched, so first-touch faults count);
 *  - CPU ns/event = process CPU time (user + system) over the replay / events;
 *    the system part and the page faults are reported apart (sys_ns_per_event,
 *    faults_per_1k_events); the pointer table is faulted in before the clock
 *    starts, for families and malloc-likes alike;
 *  - a size-0 request is made as 1 byte everywhere (malloc(0) hands out a
 *    unique block too); a failed realloc frees the old block, as the trace
 *    says it died, and counts as a failure like a NULL alloc.
 *
 * Footprint overhead (lower is better):
 *  - families: each runs in a forked child over memory it gets with
 *    create_in, region = 4 x peak live bytes requested rounded up to a power
 *    of two (min 1 MiB); footprint = resident bytes of that whole memory
 *    (mincore: region pages ever touched + metadata + control block) and
 *    overhead = footprint / peak live bytes requested;
 *  - malloc-likes: each runs in a fresh process (fork + exec of this
 *    program) so RSS is clean; overhead = (peak RSS - RSS before the replay)
 *    / peak live bytes, the peak read from VmHWM after resetting it
 *    (clear_refs 5) once the trace is loaded and the allocator initialised.
 * After the real traces come two synthetic ones, mixed_live10k and
 * pow2_live10k: the micro workloads of those names generated as traces
 * (trace.h), so that their footprint is measured the same way.
 * A family that only serves some sizes (slab: up to its largest class)
 * reports its failures; nothing is routed elsewhere. A run stops at a CPU
 * budget per run and says so (a first-fit list can be slow on 100k live
 * objects). Repetitions are interleaved across allocators.
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "memory_pool_core.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MP_BENCH_TRACE_DIR
#define MP_BENCH_TRACE_DIR "../shared/traces"
#endif

#define REPLAY_PAGE 4096u
#define REPLAY_MAX_TRACES 32
#define REPLAY_MAX_REPS 16
#define REPLAY_BUDGET_CHECK_MASK 16383u

typedef struct replay_opts {
    const char *trace_dir;
    const char *only_trace; /* NULL = every trace */
    const char *only_impl;  /* NULL = every allocator */
    size_t max_events;      /* 0 = all */
    int reps;
    double budget_s;        /* CPU seconds per run */
} replay_opts;

/* What one run reports back to the parent through a pipe. */
typedef struct replay_result {
    int ok;
    int timed_out;
    char note[120];
    uint64_t cpu_ns;
    uint64_t sys_ns;       /* the system-time part of cpu_ns (page faults, mmap) */
    uint64_t minor_faults; /* page faults during the replay */
    uint64_t events_done;
    uint64_t failures;
    uint64_t rejected_frees;
    double footprint_bytes;
    double usable_peak_bytes;
    double region_bytes;
} replay_result;

/* ------------------------------------------------------------ the loop */

typedef struct replay_ops {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size, size_t align); /* align 0 = plain */
    void *(*calloc)(void *ctx, size_t size);
    int (*realloc)(void *ctx, void **ptr, size_t size); /* 0 = done */
    void (*free)(void *ctx, void *ptr);
} replay_ops;

static void touch_pages(unsigned char *p, uint64_t size) {
    for (uint64_t off = 0; off < size; off += REPLAY_PAGE) p[off] = 1;
}

static void replay_events(const trace *t, const replay_ops *ops, void **ptrs, double budget_s,
                          replay_result *res) {
    const uint64_t budget_ns = (uint64_t)(budget_s * 1e9);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    const uint64_t start = bench_cpu_ns();
    size_t i;
    for (i = 0; i < t->event_count; i++) {
        const trace_event *e = &t->events[i];
        size_t size = e->size ? (size_t)e->size : 1;
        void *p;
        switch (e->kind) {
        case TRACE_ALLOC: p = ops->alloc(ops->ctx, size, e->align); break;
        case TRACE_CALLOC: p = ops->calloc(ops->ctx, size); break;
        case TRACE_REALLOC:
            p = ptrs[e->old_idx];
            ptrs[e->old_idx] = NULL;
            if (p == NULL) {
                p = ops->alloc(ops->ctx, size, 0); /* its earlier allocation failed */
            } else if (ops->realloc(ops->ctx, &p, size) != 0) {
                ops->free(ops->ctx, p);
                p = NULL;
            }
            break;
        default:
            if (ptrs[e->idx] != NULL) ops->free(ops->ctx, ptrs[e->idx]);
            ptrs[e->idx] = NULL;
            continue;
        }
        if (p == NULL) {
            res->failures++;
        } else {
            touch_pages(p, e->size);
        }
        ptrs[e->idx] = p;
        if ((i & REPLAY_BUDGET_CHECK_MASK) == REPLAY_BUDGET_CHECK_MASK && bench_cpu_ns() - start > budget_ns) {
            i++;
            res->timed_out = 1;
            break;
        }
    }
    res->cpu_ns = bench_cpu_ns() - start;
    getrusage(RUSAGE_SELF, &ru1);
    res->sys_ns = (uint64_t)((ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000000ll +
                             (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1000ll);
    res->minor_faults = (uint64_t)(ru1.ru_minflt - ru0.ru_minflt);
    res->events_done = i;
}

/* -------------------------------------------------- malloc-like adapters */

static void *mall_alloc(void *ctx, size_t size, size_t align) {
    bench_malloc *m = ctx;
    if (align == 0) return m->malloc_fn(size);
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    return m->memalign_fn(&p, align, size) == 0 ? p : NULL;
}
static void *mall_calloc(void *ctx, size_t size) { return ((bench_malloc *)ctx)->calloc_fn(1, size); }
static int mall_realloc(void *ctx, void **ptr, size_t size) {
    void *q = ((bench_malloc *)ctx)->realloc_fn(*ptr, size);
    if (q == NULL) return -1;
    *ptr = q;
    return 0;
}
static void mall_free(void *ctx, void *ptr) { ((bench_malloc *)ctx)->free_fn(ptr); }

/* ------------------------------------------------------ family adapters */

/* The four variable-size families share one API shape; the adapters only
 * differ in prefix and type. */
#define REPLAY_FAMILY_OPS(fam, T)                                                                  \
    static void *fam##_op_alloc(void *c, size_t size, size_t align) {                              \
        return align ? mp_##fam##_alloc_aligned((T *)c, size, align) : mp_##fam##_alloc((T *)c, size); \
    }                                                                                              \
    static void *fam##_op_calloc(void *c, size_t size) { return mp_##fam##_calloc((T *)c, size); } \
    static int fam##_op_realloc(void *c, void **p, size_t size) {                                  \
        return mp_##fam##_realloc((T *)c, p, size) != MP_OK;                                       \
    }                                                                                              \
    static void fam##_op_free(void *c, void *p) { (void)mp_##fam##_free((T *)c, p); }              \
    static void fam##_set_ops(replay_ops *o, T *inst) {                                            \
        o->ctx = inst;                                                                             \
        o->alloc = fam##_op_alloc;                                                                 \
        o->calloc = fam##_op_calloc;                                                               \
        o->realloc = fam##_op_realloc;                                                             \
        o->free = fam##_op_free;                                                                   \
    }

#if MP_BENCH_HAVE_BUDDY
REPLAY_FAMILY_OPS(buddy, MP_Buddy)
#endif
#if MP_BENCH_HAVE_SLAB
REPLAY_FAMILY_OPS(slab, MP_Slab)
#endif
#if MP_BENCH_HAVE_TLSF
REPLAY_FAMILY_OPS(tlsf, MP_Tlsf)
#endif
#if MP_BENCH_HAVE_FITLIST
REPLAY_FAMILY_OPS(fitlist, MP_FitList)
#endif

/* ------------------------------------------------------- allocator list */

enum { AL_BUDDY, AL_SLAB, AL_TLSF, AL_TLSF_SMALL, AL_FIT_FIRST, AL_FIT_BEST, AL_FIT_WORST, AL_GLIBC, AL_JEMALLOC, AL_MIMALLOC,
       AL_COUNT };

static const char *const al_names[AL_COUNT] = {"buddy", "slab", "tlsf", "tlsf:small", "fit:first", "fit:best",
                                               "fit:worst", "glibc", "jemalloc", "mimalloc"};

static int al_is_malloc(int al) { return al >= AL_GLIBC; }

static int al_implemented(int al) {
    switch (al) {
    case AL_BUDDY: return MP_BENCH_HAVE_BUDDY;
    case AL_SLAB: return MP_BENCH_HAVE_SLAB;
    case AL_TLSF:
    case AL_TLSF_SMALL: return MP_BENCH_HAVE_TLSF;
    case AL_FIT_FIRST:
    case AL_FIT_BEST:
    case AL_FIT_WORST: return MP_BENCH_HAVE_FITLIST;
    default: return 1;
    }
}

static size_t region_for(const trace *t) {
    size_t want = t->peak_live_bytes * 4, r = (size_t)1 << 20;
    while (r < want) r *= 2;
    return r;
}

/* Builds family `al` in fresh memory, replays, measures; runs in a child. */
static void run_family(int al, const trace *t, const replay_opts *o, replay_result *res) {
    size_t region = region_for(t), fp = 0;
    replay_ops ops;
    memset(&ops, 0, sizeof ops);
    void *mem = NULL;
    res->region_bytes = (double)region;
    switch (al) {
#if MP_BENCH_HAVE_BUDDY
    case AL_BUDDY: {
        MP_BuddyConfig cfg = {region, 16, 0, 0, NULL};
        fp = mp_buddy_footprint(&cfg);
        if (fp && (mem = bench_map(fp)) != NULL) buddy_set_ops(&ops, mp_buddy_create_in(mem, fp, &cfg));
        break;
    }
#endif
#if MP_BENCH_HAVE_SLAB
    case AL_SLAB: {
        MP_SlabConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.region_bytes = region;
        fp = mp_slab_footprint(&cfg);
        if (fp && (mem = bench_map(fp)) != NULL) slab_set_ops(&ops, mp_slab_create_in(mem, fp, &cfg));
        break;
    }
#endif
#if MP_BENCH_HAVE_TLSF
    case AL_TLSF:
    case AL_TLSF_SMALL: {
        /* tlsf:small: the same with small-object spans for every request
         * they can serve. */
        MP_TlsfConfig cfg = {region, 0, 0, NULL, MP_TLSF_CACHE_DEFAULT_BYTES,
                             al == AL_TLSF_SMALL ? MP_TLSF_SMALL_MAX_BYTES : 0};
        fp = mp_tlsf_footprint(&cfg);
        if (fp && (mem = bench_map(fp)) != NULL) tlsf_set_ops(&ops, mp_tlsf_create_in(mem, fp, &cfg));
        break;
    }
#endif
#if MP_BENCH_HAVE_FITLIST
    case AL_FIT_FIRST:
    case AL_FIT_BEST:
    case AL_FIT_WORST: {
        MP_FitListConfig cfg = {region, (MP_FitPolicy)(al - AL_FIT_FIRST), 0, NULL};
        fp = mp_fitlist_footprint(&cfg);
        if (fp && (mem = bench_map(fp)) != NULL) fitlist_set_ops(&ops, mp_fitlist_create_in(mem, fp, &cfg));
        break;
    }
#endif
    default: break;
    }
    if (ops.ctx == NULL) {
        snprintf(res->note, sizeof res->note, "create_in failed: %s (footprint %zu bytes)",
                 mp_status_str(mp_last_error().status), fp);
        return;
    }
    size_t table_bytes = t->id_count * sizeof(void *) + 1;
    void **ptrs = bench_map(table_bytes);
    if (ptrs == NULL) {
        snprintf(res->note, sizeof res->note, "out of memory for the pointer table");
        return;
    }
    memset(ptrs, 0, table_bytes); /* fault the table in now, as run_malloc does: it is the harness's */
    replay_events(t, &ops, ptrs, o->budget_s, res);
    MP_HeapStats hs;
    memset(&hs, 0, sizeof hs);
    MP_Status st = MP_ERR_UNSUPPORTED;
    switch (al) {
#if MP_BENCH_HAVE_BUDDY
    case AL_BUDDY: st = mp_buddy_stats(ops.ctx, &hs); break;
#endif
#if MP_BENCH_HAVE_SLAB
    case AL_SLAB: st = mp_slab_stats(ops.ctx, &hs); break;
#endif
#if MP_BENCH_HAVE_TLSF
    case AL_TLSF:
    case AL_TLSF_SMALL: st = mp_tlsf_stats(ops.ctx, &hs); break;
#endif
#if MP_BENCH_HAVE_FITLIST
    default: st = mp_fitlist_stats(ops.ctx, &hs); break;
#endif
    }
    if (st == MP_OK) {
        res->usable_peak_bytes = (double)hs.bytes_in_use_peak;
        res->rejected_frees = hs.rejected_free_count;
    }
    res->footprint_bytes = (double)bench_resident_bytes(mem, fp);
    res->ok = 1;
    /* The child exits right after: no destroy needed, and none is timed. */
}

/* Runs in a fresh process: loads the trace itself, then replays it. */
static void run_malloc(int al, const char *path, const replay_opts *o, replay_result *res) {
    bench_malloc m;
    bench_malloc_load((bench_malloc_id)(al - AL_GLIBC), &m);
    if (m.missing != NULL) {
        snprintf(res->note, sizeof res->note, "%s", m.missing);
        return;
    }
    trace t;
    char err[256];
    if (trace_load(path, o->max_events, &t, err, sizeof err) != 0) {
        snprintf(res->note, sizeof res->note, "%.119s", err);
        return;
    }
    size_t table_bytes = t.id_count * sizeof(void *) + 1;
    void **ptrs = bench_map(table_bytes);
    if (ptrs == NULL) {
        snprintf(res->note, sizeof res->note, "out of memory for the pointer table");
        return;
    }
    memset(ptrs, 0, table_bytes); /* fault the table in now: it is not the allocator's RSS */
    m.free_fn(m.malloc_fn(1));   /* initialise the allocator, as a preloaded one would be */
    int have_hwm = bench_reset_peak_rss() == 0;
    size_t rss_before = bench_rss_bytes();
    replay_ops ops = {&m, mall_alloc, mall_calloc, mall_realloc, mall_free};
    replay_events(&t, &ops, ptrs, o->budget_s, res);
    size_t peak = 0;
    if (have_hwm) {
        peak = bench_peak_rss_bytes();
    } else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        peak = (size_t)ru.ru_maxrss * 1024u;
        snprintf(res->note, sizeof res->note, "clear_refs refused: peak RSS from ru_maxrss (upper bound)");
    }
    res->footprint_bytes = peak > rss_before ? (double)(peak - rss_before) : 0.0;
    res->ok = 1;
}

/* ---------------------------------------------------- child processes */

static void write_result(int fd, const replay_result *res) {
    const char *p = (const char *)res;
    size_t left = sizeof *res;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n <= 0) return;
        p += n;
        left -= (size_t)n;
    }
}

static const char *self_argv0;

/* Runs allocator `al` on trace `path` (already loaded in `t` for families)
 * in a child and collects its result; a crash is reported, not fatal. */
static void run_in_child(int al, const char *path, const trace *t, const replay_opts *o, replay_result *res) {
    memset(res, 0, sizeof *res);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(res->note, sizeof res->note, "pipe: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm((unsigned)(o->budget_s * 4) + 60); /* a hung allocator must not hang the bench */
        if (al_is_malloc(al)) {
            char fd_text[16], max_text[32], budget_text[32];
            snprintf(fd_text, sizeof fd_text, "%d", fds[1]);
            snprintf(max_text, sizeof max_text, "%zu", o->max_events);
            snprintf(budget_text, sizeof budget_text, "%g", o->budget_s);
            execl("/proc/self/exe", self_argv0, "--child-malloc", al_names[al], path, max_text, budget_text, fd_text,
                  (char *)NULL);
            replay_result fail;
            memset(&fail, 0, sizeof fail);
            snprintf(fail.note, sizeof fail.note, "exec failed: %s", strerror(errno));
            write_result(fds[1], &fail);
            _exit(1);
        }
        replay_result r;
        memset(&r, 0, sizeof r);
        run_family(al, t, o, &r);
        write_result(fds[1], &r);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        snprintf(res->note, sizeof res->note, "fork: %s", strerror(errno));
        return;
    }
    size_t got = 0;
    while (got < sizeof *res) {
        ssize_t n = read(fds[0], (char *)res + got, sizeof *res - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof *res) {
        memset(res, 0, sizeof *res);
        if (WIFSIGNALED(status)) {
            snprintf(res->note, sizeof res->note, "crashed: %s", strsignal(WTERMSIG(status)));
        } else {
            snprintf(res->note, sizeof res->note, "child exited %d without a result", WEXITSTATUS(status));
        }
    }
}

static int child_malloc_main(char **argv) {
    /* argv: --child-malloc NAME PATH MAX_EVENTS BUDGET FD */
    replay_opts o;
    memset(&o, 0, sizeof o);
    o.max_events = (size_t)strtoull(argv[3], NULL, 10);
    o.budget_s = atof(argv[4]);
    int fd = atoi(argv[5]);
    replay_result res;
    memset(&res, 0, sizeof res);
    int al = -1;
    for (int i = AL_GLIBC; i < AL_COUNT; i++) {
        if (strcmp(argv[1], al_names[i]) == 0) al = i;
    }
    if (al < 0) {
        snprintf(res.note, sizeof res.note, "unknown allocator %s", argv[1]);
    } else {
        run_malloc(al, argv[2], &o, &res);
    }
    write_result(fd, &res);
    return 0;
}

/* ---------------------------------------------------- reference figures */

typedef struct ref_row {
    char trace[64];
    double ns[3];       /* glibc, jemalloc, mimalloc */
    double overhead[3];
} ref_row;

/* Reads the "Reference figures" table of the traces README: rows of a
 * trace name and six numbers. Returns the number of rows found. */
static size_t load_reference(const char *dir, ref_row *rows, size_t cap) {
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f) != NULL) {
        char name[64];
        double v[6];
        if (sscanf(line, "| %63s | %lf | %lf | %lf | %lf | %lf | %lf |", name, &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5]) != 7) {
            continue;
        }
        snprintf(rows[n].trace, sizeof rows[n].trace, "%s", name);
        for (int k = 0; k < 3; k++) {
            rows[n].ns[k] = v[k];
            rows[n].overhead[k] = v[3 + k];
        }
        n++;
    }
    fclose(f);
    return n;
}

/* ------------------------------------------------------------- output */

static void print_number_or_null(double v, int known) {
    if (known) {
        printf("%.3f", v);
    } else {
        printf("null");
    }
}

static void report(const char *name, const trace *t, int al, replay_result *runs, int reps, const ref_row *ref) {
    double ns[REPLAY_MAX_REPS], fpb[REPLAY_MAX_REPS], sys[REPLAY_MAX_REPS], faults[REPLAY_MAX_REPS];
    int ok = 0;
    const replay_result *first_ok = NULL;
    for (int r = 0; r < reps; r++) {
        if (!runs[r].ok) continue;
        if (first_ok == NULL) first_ok = &runs[r];
        ns[ok] = runs[r].events_done ? (double)runs[r].cpu_ns / (double)runs[r].events_done : 0.0;
        fpb[ok] = runs[r].footprint_bytes;
        double ev = runs[r].events_done ? (double)runs[r].events_done : 1.0;
        sys[ok] = (double)runs[r].sys_ns / ev;
        faults[ok] = 1000.0 * (double)runs[r].minor_faults / ev;
        ok++;
    }
    printf("{\"bench\":\"replay\",\"trace\":\"%s\",\"impl\":\"%s\",\"kind\":\"%s\",", name, al_names[al],
           al_is_malloc(al) ? "malloc" : "family");
    if (first_ok == NULL) {
        printf("\"error\":");
        bench_json_string(stdout, runs[0].note);
        printf("}\n");
        return;
    }
    bench_json_samples(stdout, "samples_cpu_ns_per_event", ns, (size_t)ok);
    bench_summary s = bench_summarize(ns, (size_t)ok); /* sorts: after the samples */
    bench_summary f = bench_summarize(fpb, (size_t)ok);
    bench_summary sy = bench_summarize(sys, (size_t)ok);
    bench_summary fa = bench_summarize(faults, (size_t)ok);
    double peak = (double)(t->peak_live_bytes ? t->peak_live_bytes : 1);
    printf("\"cpu_ns_per_event\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"reps\":%d,"
           "\"events_replayed\":%llu,\"events\":%zu,\"timed_out\":%s,\"failures\":%llu,\"rejected_frees\":%llu,"
           "\"footprint_bytes\":%.0f,\"overhead\":%.4f,\"usable_peak_bytes\":%.0f,\"region_bytes\":%.0f,",
           s.median, s.min, s.max, ok, (unsigned long long)first_ok->events_done, t->event_count,
           first_ok->timed_out ? "true" : "false", (unsigned long long)first_ok->failures,
           (unsigned long long)first_ok->rejected_frees, f.median, f.median / peak, first_ok->usable_peak_bytes,
           first_ok->region_bytes);
    printf("\"sys_ns_per_event\":%.3f,\"faults_per_1k_events\":%.3f,", sy.median, fa.median);
    int k = al - AL_GLIBC;
    printf("\"ref_cpu_ns_per_event\":");
    print_number_or_null(ref && k >= 0 ? ref->ns[k] : 0, ref != NULL && k >= 0);
    printf(",\"ref_overhead\":");
    print_number_or_null(ref && k >= 0 ? ref->overhead[k] : 0, ref != NULL && k >= 0);
    printf(",\"note\":");
    bench_json_string(stdout, first_ok->note);
    printf("}\n");
}

/* ---------------------------------------------------------------- main */

static int cmp_names(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* The *.trace.gz files of `dir`, sorted by name. */
static size_t list_traces(const char *dir, char names[][256], size_t cap) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    size_t n = 0;
    struct dirent *de;
    const char *suffix = ".trace.gz";
    while (n < cap && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > strlen(suffix) && len < 256 && strcmp(de->d_name + len - strlen(suffix), suffix) == 0) {
            snprintf(names[n++], 256, "%s", de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    return n;
}

/* Replays the trace at `path` (a file, or a TRACE_SYNTHETIC_PREFIX name)
 * under `name` through every allocator. */
static void replay_trace(const char *path, const char *name, const replay_opts *o, const ref_row *refs,
                         size_t ref_count) {
    char err[256];
    int synthetic = strncmp(path, TRACE_SYNTHETIC_PREFIX, strlen(TRACE_SYNTHETIC_PREFIX)) == 0;
    if (o->only_trace != NULL && strcmp(o->only_trace, name) != 0) return;
    fprintf(stderr, "replay %s: loading\n", name);
    trace t;
    if (trace_load(path, o->max_events, &t, err, sizeof err) != 0) {
        printf("{\"bench\":\"replay\",\"trace\":\"%s\",\"error\":", name);
        bench_json_string(stdout, err);
        printf("}\n");
        return;
    }
    const ref_row *ref = NULL;
    for (size_t i = 0; i < ref_count; i++) {
        if (strcmp(refs[i].trace, name) == 0) ref = &refs[i];
    }
    printf("{\"bench\":\"replay\",\"trace\":\"%s\",\"synthetic\":%s,\"events\":%zu,\"truncated\":%s,"
           "\"peak_live_bytes\":%zu,\"peak_live_objects\":%zu,\"threads\":%zu,\"region_bytes\":%zu}\n",
           name, synthetic ? "true" : "false", t.event_count, t.truncated ? "true" : "false", t.peak_live_bytes,
           t.peak_live_objects, t.thread_count, region_for(&t));
    int als[AL_COUNT], count = 0;
    for (int al = 0; al < AL_COUNT; al++) {
        if (al_implemented(al) && (o->only_impl == NULL || strcmp(o->only_impl, al_names[al]) == 0)) als[count++] = al;
    }
    static replay_result runs[AL_COUNT][REPLAY_MAX_REPS];
    int done[AL_COUNT] = {0}, stop[AL_COUNT] = {0};
    for (int rep = 0; rep < o->reps; rep++) {
        for (int k = 0; k < count; k++) {
            int j = (k + rep) % count; /* rotate the order every repetition */
            if (stop[j]) continue;
            fprintf(stderr, "replay %s: %s, repetition %d/%d\n", name, al_names[als[j]], rep + 1, o->reps);
            replay_result *r = &runs[j][done[j]++];
            run_in_child(als[j], path, &t, o, r);
            /* A run that failed or hit the budget is not repeated. */
            if (!r->ok || r->timed_out) stop[j] = 1;
        }
    }
    for (int j = 0; j < count; j++) report(name, &t, als[j], runs[j], done[j], ref);
    fflush(stdout);
    trace_free(&t);
}

static void usage(void) {
    fprintf(stderr, "usage: mp_bench_replay [--quick] [--traces DIR] [--trace NAME] [--impl NAME]\n"
                    "                       [--max-events N] [--reps N] [--budget-s S]\n");
}

int main(int argc, char **argv) {
    self_argv0 = argv[0];
    if (argc == 7 && strcmp(argv[1], "--child-malloc") == 0) return child_malloc_main(argv + 1);
    bench_reexec_with_tunables(argv, NULL);
    replay_opts o = {MP_BENCH_TRACE_DIR, NULL, NULL, 0, 3, 10.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--quick") == 0) {
            o.reps = 1;
            o.max_events = 20000;
            o.budget_s = 2.0;
        } else if (strcmp(a, "--traces") == 0 && has) {
            o.trace_dir = argv[++i];
        } else if (strcmp(a, "--trace") == 0 && has) {
            o.only_trace = argv[++i];
        } else if (strcmp(a, "--impl") == 0 && has) {
            o.only_impl = argv[++i];
        } else if (strcmp(a, "--max-events") == 0 && has) {
            o.max_events = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--reps") == 0 && has) {
            o.reps = atoi(argv[++i]);
        } else if (strcmp(a, "--budget-s") == 0 && has) {
            o.budget_s = atof(argv[++i]);
        } else {
            usage();
            return 2;
        }
    }
    if (o.reps < 1 || o.reps > REPLAY_MAX_REPS || !(o.budget_s > 0)) {
        usage();
        return 2;
    }
    static char files[REPLAY_MAX_TRACES][256];
    size_t n = list_traces(o.trace_dir, files, REPLAY_MAX_TRACES);
    ref_row refs[REPLAY_MAX_TRACES];
    size_t ref_count = load_reference(o.trace_dir, refs, REPLAY_MAX_TRACES);
    printf("{\"bench\":\"replay\",\"meta\":{\"mode\":\"page-touch\",\"mode_text\":\"one byte written in every 4 KiB "
           "page of each new block; allocator memory starts untouched (first-touch faults are timed)\","
           "\"region_rule\":\"4 x peak live bytes requested, rounded up to a power of two, min 1 MiB\","
           "\"footprint_family\":\"resident bytes (mincore) of the family's whole create_in memory\","
           "\"footprint_malloc\":\"peak RSS (VmHWM after clear_refs) - RSS before the replay, fresh process\","
           "\"reps\":%d,\"max_events\":%zu,\"budget_s\":%g,\"compiler\":",
           o.reps, o.max_events, o.budget_s);
    bench_json_string(stdout, bench_compiler());
    printf(",\"trace_dir\":");
    bench_json_string(stdout, o.trace_dir);
    printf(",\"traces\":%zu,\"reference_rows\":%zu}}\n", n, ref_count);
    for (int al = 0; al < AL_COUNT; al++) {
        if (al_implemented(al)) continue;
        printf("{\"bench\":\"replay\",\"impl\":\"%s\",\"kind\":\"family\",\"skipped\":\"%s\"}\n", al_names[al],
               BENCH_NOT_IMPLEMENTED);
    }
    if (n == 0) { /* a clone without ../shared/traces: no real trace to replay, not an error */
        printf("{\"bench\":\"replay\",\"impl\":\"all\",\"kind\":\"traces\",\"skipped\":");
        bench_json_string(stdout, "no *.trace.gz files in the trace directory (pass --traces DIR)");
        printf("}\n");
    }
    for (size_t i = 0; i < n; i++) {
        char path[1024], name[256];
        snprintf(path, sizeof path, "%s/%s", o.trace_dir, files[i]);
        snprintf(name, sizeof name, "%.*s", (int)(strlen(files[i]) - strlen(".trace.gz")), files[i]);
        replay_trace(path, name, &o, refs, ref_count);
    }
    /* The micro workloads with live sets, for their footprint (see trace.h). */
    static const char *const synthetic[] = {"mixed_live10k", "pow2_live10k"};
    for (size_t i = 0; i < sizeof synthetic / sizeof synthetic[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s%s", TRACE_SYNTHETIC_PREFIX, synthetic[i]);
        replay_trace(path, synthetic[i], &o, refs, ref_count);
    }
    return 0;
}
