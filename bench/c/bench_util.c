/*
 * bench_util.c - clocks, statistics, JSON strings, RSS probes and the loading
 * of the malloc baselines for the C benchmarks (see bench_util.h for why
 * jemalloc and mimalloc are dlopen'ed rather than linked).
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MP_BENCH_JEMALLOC_PATH
#define MP_BENCH_JEMALLOC_PATH ""
#endif
#ifndef MP_BENCH_MIMALLOC_PATH
#define MP_BENCH_MIMALLOC_PATH ""
#endif

/* The surplus libjemalloc.so.2's initial-exec TLS block needs (2.6 KiB) plus room. */
#define BENCH_STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

uint64_t bench_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_summary bench_summarize(double *samples, size_t n) {
    bench_summary s = {0, 0, 0};
    if (n == 0) return s;
    qsort(samples, n, sizeof *samples, bench_cmp_double);
    s.min = samples[0];
    s.max = samples[n - 1];
    s.median = (n % 2) ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2.0;
    return s;
}

void bench_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

void bench_json_samples(FILE *out, const char *name, const double *values, size_t n) {
    fprintf(out, "\"%s\":[", name);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s%.3f", i ? "," : "", values[i]);
    fprintf(out, "],");
}

static uint64_t bench_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bench_sequences(uint32_t *victims, uint32_t *mixed, uint32_t *pow2, uint32_t *arena) {
    uint64_t rng = BENCH_SEED;
    for (size_t i = 0; i < BENCH_SEQ_LEN; i++) victims[i] = (uint32_t)(bench_splitmix64(&rng) % BENCH_LIVE);
    for (size_t i = 0; i < BENCH_SEQ_LEN; i++) mixed[i] = (uint32_t)(16 + bench_splitmix64(&rng) % (4096 - 16 + 1));
    for (size_t i = 0; i < BENCH_SEQ_LEN; i++) pow2[i] = 16u << (bench_splitmix64(&rng) % 9);
    for (size_t i = 0; i < BENCH_SEQ_LEN; i++) arena[i] = (uint32_t)(8 * (1 + bench_splitmix64(&rng) % 32));
}

void *bench_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void bench_unmap(void *p, size_t bytes) {
    if (p != NULL) munmap(p, bytes);
}

/* Reads a small /proc file into `buf` without stdio (stdio would malloc). */
static size_t bench_read_proc(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = '\0';
    return (size_t)n;
}

size_t bench_rss_bytes(void) {
    char buf[128];
    if (bench_read_proc("/proc/self/statm", buf, sizeof buf) == 0) return 0;
    char *p = buf;
    (void)strtoull(p, &p, 10); /* total program size */
    unsigned long long resident_pages = strtoull(p, NULL, 10);
    return (size_t)resident_pages * (size_t)sysconf(_SC_PAGESIZE);
}

int bench_reset_peak_rss(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, "5", 1);
    close(fd);
    return n == 1 ? 0 : -1;
}

size_t bench_peak_rss_bytes(void) {
    char buf[4096];
    if (bench_read_proc("/proc/self/status", buf, sizeof buf) == 0) return 0;
    const char *line = strstr(buf, "VmHWM:");
    if (line == NULL) return 0;
    return (size_t)strtoull(line + 6, NULL, 10) * 1024u;
}

size_t bench_resident_bytes(void *p, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (bytes + page - 1) / page;
    unsigned char *vec = bench_map(pages);
    if (vec == NULL) return 0;
    size_t resident = 0;
    if (mincore(p, bytes, vec) == 0) {
        for (size_t i = 0; i < pages; i++) resident += vec[i] & 1u;
    }
    bench_unmap(vec, pages);
    return resident * page;
}

void bench_reexec_with_tunables(char **argv, const char *extra) {
    if (getenv("MP_BENCH_NO_REEXEC") != NULL) return;
    const char *tun = getenv("GLIBC_TUNABLES");
    const char *need[2] = {MP_BENCH_JEMALLOC_PATH[0] != '\0' ? BENCH_STATIC_TLS_TUNABLE : NULL, extra};
    char value[1024];
    snprintf(value, sizeof value, "%s", tun != NULL ? tun : "");
    int missing = 0;
    for (int i = 0; i < 2; i++) {
        if (need[i] == NULL || strstr(value, need[i]) != NULL) continue;
        size_t used = strlen(value);
        snprintf(value + used, sizeof value - used, "%s%s", used ? ":" : "", need[i]);
        missing = 1;
    }
    if (!missing) return;
    setenv("GLIBC_TUNABLES", value, 1);
    setenv("MP_BENCH_NO_REEXEC", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed: go on; jemalloc's dlopen will report the TLS error. */
}

/* dlsym returns an object pointer; copying its bytes into a function pointer
 * is the POSIX-sanctioned conversion (a cast is not ISO C). */
#define BENCH_SYM(handle, name, fnptr)                    \
    do {                                                  \
        void *sym_ = dlsym((handle), (name));             \
        memcpy(&(fnptr), &sym_, sizeof sym_);             \
    } while (0)

/* Name of the shared object a function lives in, "" if unknown. */
static const char *bench_object_of(void *fn_address) {
    Dl_info info;
    if (dladdr(fn_address, &info) == 0 || info.dli_fname == NULL) return "";
    return info.dli_fname;
}

static int bench_glibc_memalign(void **out, size_t align, size_t size) {
    return posix_memalign(out, align, size);
}

static void bench_load_glibc(bench_malloc *m) {
    m->malloc_fn = malloc;
    m->calloc_fn = calloc;
    m->realloc_fn = realloc;
    m->free_fn = free;
    m->memalign_fn = bench_glibc_memalign;
    snprintf(m->version, sizeof m->version, "%s", gnu_get_libc_version());
    void *addr;
    void *(*fn)(size_t) = malloc;
    memcpy(&addr, &fn, sizeof addr);
    if (strstr(bench_object_of(addr), "libc.so") == NULL) {
        m->missing = "malloc is not glibc's in this process (interposed)";
    }
}

static void bench_load_jemalloc(bench_malloc *m) {
    if (MP_BENCH_JEMALLOC_PATH[0] == '\0') {
        m->missing = BENCH_NOT_INSTALLED;
        return;
    }
    void *h = dlopen(MP_BENCH_JEMALLOC_PATH, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        m->missing = "dlopen of libjemalloc failed (static TLS? set GLIBC_TUNABLES=" BENCH_STATIC_TLS_TUNABLE ")";
        return;
    }
    BENCH_SYM(h, "malloc", m->malloc_fn);
    BENCH_SYM(h, "calloc", m->calloc_fn);
    BENCH_SYM(h, "realloc", m->realloc_fn);
    BENCH_SYM(h, "free", m->free_fn);
    BENCH_SYM(h, "posix_memalign", m->memalign_fn);
    int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t) = NULL;
    BENCH_SYM(h, "mallctl", mallctl_fn);
    if (!m->malloc_fn || !m->calloc_fn || !m->realloc_fn || !m->free_fn || !m->memalign_fn || !mallctl_fn) {
        m->missing = "libjemalloc lacks an expected symbol";
        return;
    }
    void *addr;
    memcpy(&addr, &m->malloc_fn, sizeof addr);
    if (strstr(bench_object_of(addr), "jemalloc") == NULL) {
        m->missing = "dlsym(malloc) did not resolve into libjemalloc";
        return;
    }
    const char *ver = NULL;
    size_t len = sizeof ver;
    if (mallctl_fn("version", &ver, &len, NULL, 0) == 0 && ver != NULL) {
        snprintf(m->version, sizeof m->version, "%.20s", ver);
    }
}

static void bench_load_mimalloc(bench_malloc *m) {
    if (MP_BENCH_MIMALLOC_PATH[0] == '\0') {
        m->missing = BENCH_NOT_INSTALLED;
        return;
    }
    void *h = dlopen(MP_BENCH_MIMALLOC_PATH, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        m->missing = "dlopen of libmimalloc failed";
        return;
    }
    BENCH_SYM(h, "mi_malloc", m->malloc_fn);
    BENCH_SYM(h, "mi_calloc", m->calloc_fn);
    BENCH_SYM(h, "mi_realloc", m->realloc_fn);
    BENCH_SYM(h, "mi_free", m->free_fn);
    BENCH_SYM(h, "mi_posix_memalign", m->memalign_fn);
    _Bool (*in_heap)(const void *) = NULL;
    int (*version_fn)(void) = NULL;
    BENCH_SYM(h, "mi_is_in_heap_region", in_heap);
    BENCH_SYM(h, "mi_version", version_fn);
    if (!m->malloc_fn || !m->calloc_fn || !m->realloc_fn || !m->free_fn || !m->memalign_fn || !in_heap ||
        !version_fn) {
        m->missing = "libmimalloc lacks an expected symbol";
        return;
    }
    void *probe = m->malloc_fn(64);
    int ok = probe != NULL && in_heap(probe);
    m->free_fn(probe);
    if (!ok) {
        m->missing = "mi_malloc returned memory outside mimalloc's heap";
        return;
    }
    int v = version_fn();
    snprintf(m->version, sizeof m->version, "%d.%d.%d", v / 100, (v / 10) % 10, v % 10);
}

void bench_malloc_load(bench_malloc_id id, bench_malloc *out) {
    static const char *const names[BENCH_MALLOC_COUNT] = {"glibc", "jemalloc", "mimalloc"};
    memset(out, 0, sizeof *out);
    out->name = names[id];
    switch (id) {
    case BENCH_GLIBC: bench_load_glibc(out); break;
    case BENCH_JEMALLOC: bench_load_jemalloc(out); break;
    case BENCH_MIMALLOC: bench_load_mimalloc(out); break;
    default: out->missing = "unknown baseline"; break;
    }
}

const char *bench_compiler(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown C compiler";
#endif
}
