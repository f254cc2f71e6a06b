/*
 * trace.c - reads an mtrace-text trace (gzip'd or plain) into trace_event[].
 *
 * Decompression: zlib's inflate with gzip auto-detection, restarted after
 * each member so concatenated members read as one stream; without zlib the
 * file is piped through `gzip -dc`. Nothing here calls malloc: zlib gets an
 * mmap-backed allocator, buffers are static or mapped. That keeps glibc's
 * heap untouched for a malloc replay in the same process.
 *
 * Ids: the format allows any unique positive integers, so ids are renumbered
 * densely in birth order through an open-addressing hash table (linear
 * probing, entries deleted when the object dies, so the table holds only
 * live objects). A free or realloc of an id that is not live is an error:
 * the trace would not be a legal replay.
 *
 * Synthetic traces: a path "synthetic:NAME" is not read but generated
 * (trace_synthetic below) from the micro benchmarks' sequences, so the
 * replay's footprint and CPU figures exist for those workloads too.
 */
#define _GNU_SOURCE
#include "trace.h"

#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if MP_BENCH_HAVE_ZLIB
#include <zlib.h>
#endif

/* ------------------------------------------------------- mapped arrays */

/* Grows a mapped array to at least `need` bytes (doubling); 0 or -1. */
static int grow_mapping(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 1u << 20;
    while (cap2 < need) cap2 *= 2;
    void *q = *p == NULL ? mmap(NULL, cap2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                         : mremap(*p, *cap, cap2, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

static void drop_mapping(void **p, size_t *cap) {
    if (*p != NULL) munmap(*p, *cap);
    *p = NULL;
    *cap = 0;
}

/* ------------------------------------------------------------ id table */

typedef struct id_table {
    uint64_t *keys; /* 0 = empty slot (ids are positive) */
    uint32_t *vals;
    size_t cap;     /* power of two */
    size_t count;
} id_table;

static size_t id_slot(const id_table *t, uint64_t id) {
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (t->cap - 1);
}

static void id_table_free(id_table *t) {
    if (t->keys != NULL) munmap(t->keys, t->cap * sizeof *t->keys);
    if (t->vals != NULL) munmap(t->vals, t->cap * sizeof *t->vals);
    memset(t, 0, sizeof *t);
}

static int id_table_init(id_table *t, size_t cap) {
    t->cap = cap;
    t->count = 0;
    t->keys = mmap(NULL, cap * sizeof *t->keys, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    t->vals = mmap(NULL, cap * sizeof *t->vals, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t->keys == MAP_FAILED || t->vals == MAP_FAILED) {
        if (t->keys == MAP_FAILED) t->keys = NULL;
        if (t->vals == MAP_FAILED) t->vals = NULL;
        id_table_free(t);
        return -1;
    }
    return 0;
}

static void id_table_put_raw(id_table *t, uint64_t id, uint32_t val) {
    size_t i = id_slot(t, id);
    while (t->keys[i] != 0) i = (i + 1) & (t->cap - 1);
    t->keys[i] = id;
    t->vals[i] = val;
    t->count++;
}

/* Inserts a new id; -1 when it is already live or memory runs out. */
static int id_table_insert(id_table *t, uint64_t id, uint32_t val) {
    if ((t->count + 1) * 2 > t->cap) {
        id_table bigger;
        if (id_table_init(&bigger, t->cap * 2) != 0) return -1;
        for (size_t i = 0; i < t->cap; i++) {
            if (t->keys[i] != 0) id_table_put_raw(&bigger, t->keys[i], t->vals[i]);
        }
        id_table_free(t);
        *t = bigger;
    }
    size_t i = id_slot(t, id);
    for (; t->keys[i] != 0; i = (i + 1) & (t->cap - 1)) {
        if (t->keys[i] == id) return -1;
    }
    t->keys[i] = id;
    t->vals[i] = val;
    t->count++;
    return 0;
}

/* Removes a live id and returns its value; -1 if it is not live. Deletion
 * shifts later entries of the probe run back so lookups stay correct. */
static int64_t id_table_remove(id_table *t, uint64_t id) {
    size_t mask = t->cap - 1, i = id_slot(t, id);
    while (t->keys[i] != id) {
        if (t->keys[i] == 0) return -1;
        i = (i + 1) & mask;
    }
    int64_t val = t->vals[i];
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->keys[j] != 0; j = (j + 1) & mask) {
        size_t home = id_slot(t, t->keys[j]);
        /* Move entry j into the hole unless its home lies cyclically in (hole, j]. */
        int stays = (hole <= j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->keys[hole] = t->keys[j];
            t->vals[hole] = t->vals[j];
            hole = j;
        }
    }
    t->keys[hole] = 0;
    t->count--;
    return val;
}

/* -------------------------------------------------------------- reader */

typedef struct reader {
    int fd;
    pid_t child; /* `gzip -dc` child, 0 if none */
    int inflating;
    int at_eof;
    unsigned char in[1 << 16];
#if MP_BENCH_HAVE_ZLIB
    z_stream zs;
#endif
} reader;

#if MP_BENCH_HAVE_ZLIB
/* zlib allocator backed by mmap (no malloc); the size sits in front. */
static voidpf map_zalloc(voidpf opaque, uInt items, uInt size) {
    (void)opaque;
    size_t bytes = (size_t)items * size + 16;
    unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return Z_NULL;
    memcpy(p, &bytes, sizeof bytes);
    return p + 16;
}

static void map_zfree(voidpf opaque, voidpf address) {
    (void)opaque;
    unsigned char *p = (unsigned char *)address - 16;
    size_t bytes;
    memcpy(&bytes, p, sizeof bytes);
    munmap(p, bytes);
}
#endif

static int reader_open(reader *r, const char *path, char *err, size_t err_bytes) {
    memset(r, 0, sizeof *r);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, err_bytes, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char magic[2] = {0, 0};
    ssize_t got = pread(r->fd, magic, 2, 0);
    if (got != 2 || magic[0] != 0x1f || magic[1] != 0x8b) return 0; /* plain text */
#if MP_BENCH_HAVE_ZLIB
    r->zs.zalloc = map_zalloc;
    r->zs.zfree = map_zfree;
    if (inflateInit2(&r->zs, 15 + 32) != Z_OK) {
        snprintf(err, err_bytes, "inflateInit2 failed");
        close(r->fd);
        return -1;
    }
    r->inflating = 1;
    return 0;
#else
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, err_bytes, "pipe: %s", strerror(errno));
        close(r->fd);
        return -1;
    }
    r->child = fork();
    if (r->child == 0) {
        dup2(r->fd, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("gzip", "gzip", "-dc", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    close(r->fd);
    r->fd = fds[0];
    if (r->child < 0) {
        snprintf(err, err_bytes, "fork: %s", strerror(errno));
        close(r->fd);
        return -1;
    }
    return 0;
#endif
}

/* Reads up to `cap` decompressed bytes; 0 at the end, -1 on error. */
static long reader_read(reader *r, char *out, size_t cap) {
    if (!r->inflating) {
        ssize_t n = read(r->fd, out, cap);
        return n < 0 ? -1 : (long)n;
    }
#if MP_BENCH_HAVE_ZLIB
    r->zs.next_out = (Bytef *)out;
    r->zs.avail_out = (uInt)cap;
    while (r->zs.avail_out == cap) {
        if (r->zs.avail_in == 0) {
            if (r->at_eof) break;
            ssize_t n = read(r->fd, r->in, sizeof r->in);
            if (n < 0) return -1;
            if (n == 0) {
                r->at_eof = 1;
                break;
            }
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)n;
        }
        int rc = inflate(&r->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (inflateReset(&r->zs) != Z_OK) return -1; /* next member, if any */
        } else if (rc != Z_OK) { /* Z_BUF_ERROR: no progress with input and room: corrupt */
            return -1;
        }
    }
    return (long)(cap - r->zs.avail_out);
#else
    return -1;
#endif
}

static void reader_close(reader *r) {
#if MP_BENCH_HAVE_ZLIB
    if (r->inflating) inflateEnd(&r->zs);
#endif
    close(r->fd);
    if (r->child > 0) {
        kill(r->child, SIGTERM); /* we may stop before the end */
        waitpid(r->child, NULL, 0);
    }
}

/* Appends `ev`; 0 or -1 (out of memory). */
static int trace_push(trace *t, const trace_event *ev) {
    size_t cap_bytes = t->events_capacity * sizeof(trace_event);
    if (grow_mapping((void **)&t->events, &cap_bytes, (t->event_count + 1) * sizeof(trace_event)) != 0) return -1;
    t->events_capacity = cap_bytes / sizeof(trace_event);
    t->events[t->event_count++] = *ev;
    return 0;
}

/* -------------------------------------------------------------- parser */

typedef struct parser {
    trace *t;
    id_table ids;
    uint64_t *sizes; /* requested size per dense index */
    size_t sizes_cap;
    size_t live_bytes, live_objects;
    size_t line_no;
    char *err;
    size_t err_bytes;
} parser;

static int parse_fail(parser *p, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->err_bytes, "line %zu: %s", p->line_no, msg);
    return -1;
}

/* Reads up to `max` space-separated unsigned numbers; returns how many. */
static int parse_numbers(const char *s, uint64_t *out, int max) {
    int n = 0;
    while (*s == ' ') s++;
    while (*s >= '0' && *s <= '9' && n < max) {
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') v = v * 10u + (uint64_t)(*s++ - '0');
        out[n++] = v;
        if (*s != ' ') break;
        s++;
    }
    return *s == '\0' ? n : -1;
}

static int object_born(parser *p, uint64_t id, uint64_t size, uint32_t *idx) {
    *idx = (uint32_t)p->t->id_count;
    if (id == 0 || p->t->id_count >= UINT32_MAX) return parse_fail(p, "bad id %llu", (unsigned long long)id);
    if (id_table_insert(&p->ids, id, *idx) != 0) return parse_fail(p, "id %llu born twice", (unsigned long long)id);
    if (grow_mapping((void **)&p->sizes, &p->sizes_cap, (p->t->id_count + 1) * sizeof *p->sizes) != 0) {
        return parse_fail(p, "out of memory");
    }
    p->sizes[*idx] = size;
    p->t->id_count++;
    p->live_bytes += size;
    p->live_objects++;
    if (p->live_bytes > p->t->peak_live_bytes) p->t->peak_live_bytes = p->live_bytes;
    if (p->live_objects > p->t->peak_live_objects) p->t->peak_live_objects = p->live_objects;
    return 0;
}

static int object_dies(parser *p, uint64_t id, uint32_t *idx) {
    int64_t v = id_table_remove(&p->ids, id);
    if (v < 0) return parse_fail(p, "id %llu is not live", (unsigned long long)id);
    *idx = (uint32_t)v;
    p->live_bytes -= p->sizes[*idx];
    p->live_objects--;
    return 0;
}

static int parse_line(parser *p, const char *line) {
    uint64_t v[3];
    trace_event ev;
    memset(&ev, 0, sizeof ev);
    int n;
    switch (line[0]) {
    case '\0':
    case '#': return 0;
    case 't':
        if (parse_numbers(line + 1, v, 1) != 1) return parse_fail(p, "bad thread line");
        if (v[0] + 1 > p->t->thread_count) p->t->thread_count = (size_t)v[0] + 1;
        return 0;
    case 'a':
    case 'c':
        n = parse_numbers(line + 1, v, 3);
        if (n < 2 || (n == 3 && line[0] == 'c')) return parse_fail(p, "bad %c line", line[0]);
        ev.kind = line[0] == 'a' ? TRACE_ALLOC : TRACE_CALLOC;
        ev.size = v[1];
        ev.align = n == 3 ? (uint32_t)v[2] : 0;
        if (object_born(p, v[0], v[1], &ev.idx) != 0) return -1;
        break;
    case 'r':
        if (parse_numbers(line + 1, v, 3) != 3) return parse_fail(p, "bad r line");
        ev.kind = TRACE_REALLOC;
        ev.size = v[2];
        if (object_dies(p, v[0], &ev.old_idx) != 0 || object_born(p, v[1], v[2], &ev.idx) != 0) return -1;
        break;
    case 'f':
        if (parse_numbers(line + 1, v, 1) != 1) return parse_fail(p, "bad f line");
        ev.kind = TRACE_FREE;
        if (object_dies(p, v[0], &ev.idx) != 0) return -1;
        break;
    default: return parse_fail(p, "unknown line type '%c'", line[0]);
    }
    return trace_push(p->t, &ev) == 0 ? 0 : parse_fail(p, "out of memory");
}

/* The micro workload `name` (mixed_live10k or pow2_live10k) as a trace:
 * BENCH_LIVE allocations, then TRACE_SYNTHETIC_OPS ops that each free the
 * live block micro.c's op i frees (victims[i]) and allocate the size it
 * allocates, every object a new id. */
#define TRACE_SYNTHETIC_OPS 500000u
static int trace_synthetic(const char *name, size_t max_events, trace *out, char *err, size_t err_bytes) {
    size_t seq_bytes = BENCH_SEQ_LEN * sizeof(uint32_t);
    size_t map_bytes = 4 * seq_bytes + BENCH_LIVE * (sizeof(uint32_t) + sizeof(uint64_t));
    uint32_t *victims = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (victims == MAP_FAILED) {
        snprintf(err, err_bytes, "out of memory");
        return -1;
    }
    uint32_t *mixed = victims + BENCH_SEQ_LEN, *pow2 = mixed + BENCH_SEQ_LEN, *arena = pow2 + BENCH_SEQ_LEN;
    uint32_t *live_idx = arena + BENCH_SEQ_LEN;
    uint64_t *live_size = (uint64_t *)(live_idx + BENCH_LIVE);
    bench_sequences(victims, mixed, pow2, arena);
    const uint32_t *sizes = strcmp(name, "mixed_live10k") == 0 ? mixed : strcmp(name, "pow2_live10k") == 0 ? pow2 : NULL;
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (sizes == NULL) {
        snprintf(err, err_bytes, "no synthetic trace named %s (mixed_live10k, pow2_live10k)", name);
        rc = -1;
    }
    size_t live_bytes = 0;
    size_t total = BENCH_LIVE + 2 * (size_t)TRACE_SYNTHETIC_OPS;
    for (size_t e = 0; rc == 0 && e < total; e++) {
        if (max_events != 0 && out->event_count >= max_events) {
            out->truncated = 1;
            break;
        }
        trace_event ev = {0, 0, 0, 0, TRACE_ALLOC};
        size_t k = e, size = sizes[e & BENCH_SEQ_MASK]; /* the prefill: block e */
        int dies = 0;
        if (e >= BENCH_LIVE) { /* op i: free its victim (even event), then allocate its size */
            size_t i = (e - BENCH_LIVE) / 2;
            k = victims[i & BENCH_SEQ_MASK];
            size = sizes[(i + BENCH_LIVE) & BENCH_SEQ_MASK];
            dies = (e - BENCH_LIVE) % 2 == 0;
        }
        if (dies) {
            ev.kind = TRACE_FREE;
            ev.idx = live_idx[k];
            live_bytes -= live_size[k];
        } else {
            ev.size = size;
            ev.idx = (uint32_t)out->id_count++;
            live_idx[k] = ev.idx;
            live_size[k] = size;
            live_bytes += size;
            if (live_bytes > out->peak_live_bytes) out->peak_live_bytes = live_bytes;
        }
        if (trace_push(out, &ev) != 0) {
            snprintf(err, err_bytes, "out of memory");
            rc = -1;
        }
    }
    out->peak_live_objects = out->event_count < BENCH_LIVE ? out->event_count : BENCH_LIVE;
    out->thread_count = out->event_count > 0 ? 1 : 0;
    munmap(victims, map_bytes);
    if (rc != 0) trace_free(out);
    return rc;
}

int trace_load(const char *path, size_t max_events, trace *out, char *err, size_t err_bytes) {
    if (strncmp(path, TRACE_SYNTHETIC_PREFIX, strlen(TRACE_SYNTHETIC_PREFIX)) == 0)
        return trace_synthetic(path + strlen(TRACE_SYNTHETIC_PREFIX), max_events, out, err, err_bytes);
    static reader r;           /* 64 KiB input buffer: not on the stack */
    static char chunk[1 << 16];
    static char line[8192];
    memset(out, 0, sizeof *out);
    parser p;
    memset(&p, 0, sizeof p);
    p.t = out;
    p.err = err;
    p.err_bytes = err_bytes;
    if (id_table_init(&p.ids, 1u << 16) != 0) {
        snprintf(err, err_bytes, "out of memory");
        return -1;
    }
    if (reader_open(&r, path, err, err_bytes) != 0) {
        id_table_free(&p.ids);
        return -1;
    }
    size_t len = 0;
    int too_long = 0, rc = 0;
    long got;
    while (rc == 0 && !out->truncated && (got = reader_read(&r, chunk, sizeof chunk)) != 0) {
        if (got < 0) {
            rc = -1;
            snprintf(err, err_bytes, "read or decompression error in %s", path);
            break;
        }
        for (long i = 0; i < got && rc == 0; i++) {
            char c = chunk[i];
            if (c != '\n') {
                if (len + 1 < sizeof line) {
                    line[len++] = c;
                } else {
                    too_long = 1; /* only comments (cmdline) may be this long */
                }
                continue;
            }
            p.line_no++;
            line[len] = '\0';
            if (too_long && line[0] != '#') rc = parse_fail(&p, "line too long");
            if (rc == 0 && !too_long) rc = parse_line(&p, line);
            len = 0;
            too_long = 0;
            if (max_events != 0 && out->event_count >= max_events) {
                out->truncated = 1;
                break;
            }
        }
    }
    if (rc == 0 && len > 0 && !out->truncated) {
        line[len] = '\0';
        p.line_no++;
        rc = parse_line(&p, line);
    }
    reader_close(&r);
    if (out->event_count > 0 && out->thread_count == 0) out->thread_count = 1; /* a trace starts in thread 0 */
    id_table_free(&p.ids);
    drop_mapping((void **)&p.sizes, &p.sizes_cap);
    if (rc != 0) trace_free(out);
    return rc;
}

void trace_free(trace *t) {
    if (t->events != NULL) munmap(t->events, t->events_capacity * sizeof(trace_event));
    memset(t, 0, sizeof *t);
}
