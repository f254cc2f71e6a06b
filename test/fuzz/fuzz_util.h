/*
 * fuzz_util.h - shared by fuzz_fixed_pool.c and fuzz_arena.c: reading
 * operations from the fuzzer's bytes, a trapping assertion, and the one user
 * bug the harnesses commit on purpose: writing into memory the allocator got
 * back (freed slots, rewound arena bytes). Sanitizers would stop that write
 * (which the test/wrong programs prove); here it is hidden from them, since
 * the question is whether the allocator survives it.
 */
#ifndef MP_FUZZ_UTIL_H
#define MP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_DISABLE_ERROR_REPORTING ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING ((void)0)
#endif

#define FUZZ_ASSERT(cond)              \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
} fuzz_input;

static inline int fuzz_more(const fuzz_input *in) { return in->pos < in->size; }

/* The next byte; 0 once the input is used up. */
static inline uint8_t fuzz_byte(fuzz_input *in) { return in->pos < in->size ? in->data[in->pos++] : 0; }

static inline size_t fuzz_u16(fuzz_input *in) {
    size_t lo = fuzz_byte(in);
    return lo | (size_t)fuzz_byte(in) << 8;
}

/* Writes `n` bytes derived from `seed` at `p`, which the allocator owns. */
__attribute__((no_sanitize_address, noinline, unused)) static void fuzz_scribble(unsigned char *p, size_t n,
                                                                                 uint8_t seed) {
    VALGRIND_DISABLE_ERROR_REPORTING;
    volatile unsigned char *v = p; /* volatile: no memset call for ASan to intercept */
    for (size_t i = 0; i < n; i++) v[i] = (unsigned char)(seed + i * 29u);
    VALGRIND_ENABLE_ERROR_REPORTING;
}

#endif
