/*
 * mp_internal.h - declarations shared by the C core files; never installed.
 *
 * Holds: the per-thread last error, OS region mapping (os.c), alignment and
 * overflow-safe arithmetic, sanitizer poisoning hooks and a small lock.
 */
#ifndef MP_INTERNAL_H
#define MP_INTERNAL_H

#include "memory_pool_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define MP_LIKELY(x) __builtin_expect(!!(x), 1)
#define MP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MP_INLINE static inline __attribute__((always_inline))
#define MP_NOINLINE __attribute__((noinline))
#define MP_COLD __attribute__((cold, noinline))
#else
#define MP_LIKELY(x) (x)
#define MP_UNLIKELY(x) (x)
#define MP_INLINE static inline
#define MP_NOINLINE
#define MP_COLD
#endif

/* ------------------------------------------------------------ last error */

/** Records why a call failed, for mp_last_error(); always returns `status`
 * so callers can write `return mp_fail(...)`. Cold: only failures call it. */
MP_COLD MP_Status mp_fail(MP_Status status, size_t requested, size_t available, size_t largest_free);

/* ------------------------------------------------------------- arithmetic */

MP_INLINE bool mp_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/** Rounds `x` up to a multiple of the power of two `a`; false on overflow. */
MP_INLINE bool mp_align_up_checked(size_t x, size_t a, size_t *out) {
    size_t r = x + (a - 1);
    if (r < x) return false;
    *out = r & ~(a - 1);
    return true;
}

MP_INLINE size_t mp_align_up(size_t x, size_t a) { return (x + (a - 1)) & ~(a - 1); }
MP_INLINE uintptr_t mp_align_up_ptr(uintptr_t x, uintptr_t a) { return (x + (a - 1)) & ~(a - 1); }

/** a * b with overflow detection. */
MP_INLINE bool mp_mul_checked(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__)
    return !__builtin_mul_overflow(a, b, out);
#else
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
#endif
}

MP_INLINE bool mp_add_checked(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

/** floor(log2(x)) for x > 0. */
MP_INLINE unsigned mp_log2_floor(size_t x) {
#if defined(__GNUC__)
    return (unsigned)(sizeof(size_t) * 8 - 1 - (unsigned)__builtin_clzl((unsigned long)x));
#else
    unsigned r = 0;
    while (x >>= 1) r++;
    return r;
#endif
}

/* ------------------------------------------------------------- OS memory */

/** Page size of the system (cached). */
size_t mp_os_page_size(void);
/** Maps `size` bytes of zeroed, page-aligned, lazily committed memory; NULL on
 * failure. */
void *mp_os_map(size_t size);
void mp_os_unmap(void *ptr, size_t size);
/** Gives the whole pages inside [ptr, ptr + size) back to the OS (contents
 * become zero on next touch); returns the bytes released. */
size_t mp_os_release_pages(void *ptr, size_t size);

/* ----------------------------------------------------- sanitizer poisoning */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MP_ASAN 1
#endif

#if defined(MP_ASAN)
#include <sanitizer/asan_interface.h>
#define MP_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define MP_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(MP_WITH_VALGRIND)
#include <valgrind/memcheck.h>
#define MP_POISON(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define MP_UNPOISON(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#else
#define MP_POISON(p, n) ((void)(p), (void)(n))
#define MP_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------ lock */

/** A test-and-test-and-set spin lock for the short critical sections of
 * thread-safe instances (no syscalls, no allocation). */
typedef struct mp_lock {
    _Atomic int locked;
} mp_lock;

void mp_lock_init(mp_lock *l);
void mp_lock_acquire(mp_lock *l);
void mp_lock_release(mp_lock *l);

#endif /* MP_INTERNAL_H */
