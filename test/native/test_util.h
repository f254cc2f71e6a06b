/*
 * test_util.h - helpers several C suites share beside the harness (mp_test.h):
 * KIB/MIB, alignment of a real address, resident pages of a range (mincore, for the
 * trim tests), fixed-pool stats snapshots, and writes into bytes the allocator
 * keeps poisoned (for the tests that prove such writes never reach the
 * allocator). Include it after defining _DEFAULT_SOURCE (mincore, sysconf),
 * like the suites that need it.
 */
#ifndef MP_TEST_UTIL_H
#define MP_TEST_UTIL_H

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mp_internal.h" /* MP_POISON, MP_UNPOISON */
#include "mp_test.h"

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MP_TEST_VALGRIND 1
#endif
#endif

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

static inline int mp_test_is_aligned(const void *p, size_t align) { return ((uintptr_t)p & (align - 1)) == 0; }

/* Resident pages among the whole pages of [p, p + bytes) (`p` page aligned),
 * by mincore; a failing mincore is a failed CHECK (and 0). */
static inline size_t mp_test_resident_pages(void *p, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = bytes / page, resident = 0;
    unsigned char *vec = malloc(pages == 0 ? 1 : pages);
    int ok = vec != NULL && mincore(p, pages * page, vec) == 0;
    CHECK(ok);
    if (ok)
        for (size_t i = 0; i < pages; i++) resident += vec[i] & 1u;
    free(vec);
    return resident;
}

/* The stats of a fixed pool (zeroed first, so whole structs compare with
 * memcmp); a failing mp_fixed_pool_stats is a failed CHECK. */
static inline MP_FixedPoolStats mp_test_fixed_stats(const MP_FixedPool *pool) {
    MP_FixedPoolStats s;
    memset(&s, 0, sizeof s);
    CHECK_STATUS(mp_fixed_pool_stats(pool, &s), MP_OK);
    return s;
}

static inline int mp_test_same_fixed_stats(MP_FixedPoolStats a, MP_FixedPoolStats b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* 1 if ASan (in this build) says the byte at `p` is poisoned; always 1
 * without ASan, so CHECK(mp_test_is_poisoned(p)) only checks under ASan. */
static inline int mp_test_is_poisoned(const void *p) {
#if MP_SANITIZER_HERE_ == MP_SANITIZER_ASAN
    return __asan_address_is_poisoned(p) != 0;
#else
    (void)p;
    return 1;
#endif
}

/* Fills `n` bytes at `p` with a pattern derived from `seed` (a block's
 * offset, say); mp_test_pattern_intact tells whether it is still there. */
static inline void mp_test_fill_pattern(unsigned char *p, size_t n, size_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed * 7u + i);
}

static inline int mp_test_pattern_intact(const unsigned char *p, size_t n, size_t seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 7u + i)) return 0;
    return 1;
}

/* Writes `value` over `n` bytes the allocator keeps poisoned (freed or
 * metadata bytes), making them accessible to ASan and valgrind first. They
 * stay accessible; mp_test_stale_write poisons them again. */
static inline void mp_test_scribble(void *p, size_t n, uint8_t value) {
    MP_UNPOISON(p, n);
#if defined(MP_TEST_VALGRIND)
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
    memset(p, value, n);
}

/* A write through a stale pointer: as mp_test_scribble, then the bytes are
 * poisoned again, as the allocator left them. */
static inline void mp_test_stale_write(void *p, size_t n, uint8_t value) {
    mp_test_scribble(p, n, value);
    MP_POISON(p, n);
#if defined(MP_TEST_VALGRIND)
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
}

#endif
