/*
 * mp_test.h - the tiny test harness of the C suites: CHECK records a failure
 * with file and line and goes on; MP_TEST_MAIN runs the listed tests and
 * prints "N passed, N failed" (a test passes when none of its CHECKs failed).
 */
#ifndef MP_TEST_H
#define MP_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_pool_core.h"

static int mp_test_failures_;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            mp_test_failures_++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                      \
    do {                                                                                  \
        MP_Status got_ = (expr);                                                          \
        if (got_ != (expected)) {                                                         \
            mp_test_failures_++;                                                          \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
                    mp_status_str(got_), mp_status_str(expected));                         \
        }                                                                                 \
    } while (0)

/* REQUIRE stops the current test when it fails (use before dereferencing). */
#define REQUIRE(cond)                                                               \
    do {                                                                            \
        if (!(cond)) {                                                              \
            mp_test_failures_++;                                                    \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            return;                                                                 \
        }                                                                           \
    } while (0)

typedef struct mp_test_case {
    const char *name;
    void (*fn)(void);
} mp_test_case;

#define TEST_CASE(fn) {#fn, fn}

static inline int mp_test_run(const mp_test_case *cases, size_t n) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = mp_test_failures_;
        cases[i].fn();
        if (mp_test_failures_ == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define MP_TEST_MAIN(...)                                                      \
    int main(void) {                                                           \
        static const mp_test_case cases_[] = {__VA_ARGS__};                    \
        return mp_test_run(cases_, sizeof cases_ / sizeof cases_[0]);          \
    }

/* Deterministic PRNG for property tests (splitmix64). */
static inline uint64_t mp_test_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
