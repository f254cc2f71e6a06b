/*
 * seeded_driver.c - runs a libFuzzer harness without libFuzzer: a fixed set
 * of seeded pseudo-random inputs of varied lengths, so ctest exercises every
 * harness deterministically. MP_FUZZ_RUNS overrides the number of inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(void) {
    const char *env = getenv("MP_FUZZ_RUNS");
    long runs = env ? strtol(env, NULL, 10) : 2000;
    if (runs <= 0) runs = 2000;
    static uint8_t buf[1 << 16];
    uint64_t s = 0x5EEDF00Dull;
    for (long r = 0; r < runs; r++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = (size_t)((s >> 33) % (r % 10 == 0 ? sizeof buf : 4096));
        for (size_t i = 0; i < len; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (uint8_t)(s >> 56);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("%ld passed, 0 failed\n", runs);
    return 0;
}
