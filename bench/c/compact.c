/*
 * compact.c - mp_bench_compact: throughput of mp_pool compaction, in GB/s of
 * live data moved (the bytes of the blocks that changed place, divided by
 * the wall time of one unbudgeted mp_pool_defragment), per strategy and
 * block size (64 B, 256 B, 1 KiB, 4 KiB, mixed 16..4096 B).
 *
 * Setup per sample: a fresh pool of --pool-mib MiB (default 32) is filled
 * with blocks of the size until 90% of it is handed out (or allocation
 * fails), every block written once, then half the blocks, chosen at random
 * (fixed seed), are freed; the pass is timed alone. The median over --reps
 * samples (default 5) is reported with min and max, plus what the pass did:
 * bytes and blocks moved, fragmentation before and after.
 *
 * Output: one JSON object per line, like mp_bench_micro: a meta line, then
 * {"bench":"compact","workload":"compact_<block>","impl":"pool:<strategy>",
 *  "ns_per_op":{"median",...} (wall ns of the pass per block moved),
 *  "gb_per_s":{"median",...},"bytes_moved":...,"blocks_moved":...,
 *  "live_bytes":...,"fragmentation_before":...,"fragmentation_after":...}.
 */
#include "bench_util.h"
#include "memory_pool_core.h"

#include <stdlib.h>
#include <string.h>

#define BENCH_COMPACT_MAX_REPS 64

typedef struct strategy_case {
    const char *name;
    MP_PoolStrategy strategy;
} strategy_case;

static const strategy_case strategies[] = {
    {"tlsf", MP_STRATEGY_TLSF},   {"first_fit", MP_STRATEGY_FIRST_FIT}, {"best_fit", MP_STRATEGY_BEST_FIT},
    {"worst_fit", MP_STRATEGY_WORST_FIT}, {"buddy", MP_STRATEGY_BUDDY},  {"slab", MP_STRATEGY_SLAB},
    {"auto", MP_STRATEGY_AUTO},
};

/* Block sizes; 0 = mixed 16..4096 B. */
static const size_t block_sizes[] = {64, 256, 1024, 4096, 0};

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct sample {
    double gb_per_s;
    double ns_per_block; /* pass time / blocks moved */
    MP_DefragResult r;
    size_t live_bytes;
} sample;

/* One sample; 0 on failure (printed to stderr). */
static int run_sample(MP_PoolStrategy strategy, size_t pool_bytes, size_t block, uint64_t seed, sample *out) {
    MP_PoolConfig cfg = {.pool_bytes = pool_bytes, .strategy = strategy, .defrag_enabled = 0};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    if (p == NULL) return 0;
    size_t cap = pool_bytes / 16, n = 0, used = 0;
    MP_Handle *h = malloc(cap * sizeof *h);
    uint8_t fill[4096];
    memset(fill, 0xA5, sizeof fill);
    while (h != NULL && n < cap && used < pool_bytes / 10 * 9) {
        size_t size = block != 0 ? block : 16 + (size_t)(rng_next(&seed) % 4081);
        if (mp_pool_alloc(p, size, 0, 0, &h[n]) != MP_OK) break;
        (void)mp_pool_write(p, h[n], 0, fill, size);
        used += size;
        n++;
    }
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        if (rng_next(&seed) & 1) {
            (void)mp_pool_free(p, h[i]);
        } else {
            MP_PoolBlockInfo info;
            if (mp_pool_block_info(p, h[i], &info) == MP_OK) live += info.size_bytes;
        }
    }
    uint64_t t0 = bench_wall_ns();
    MP_Status st = mp_pool_defragment(p, 0, &out->r);
    uint64_t t1 = bench_wall_ns();
    int ok = st == MP_OK && mp_pool_check(p) == 0;
    if (!ok) fprintf(stderr, "compact: pass failed: %s\n", mp_status_str(st));
    out->gb_per_s = (double)out->r.bytes_moved / (double)(t1 - t0 ? t1 - t0 : 1);
    out->ns_per_block = (double)(t1 - t0) / (double)(out->r.blocks_moved ? out->r.blocks_moved : 1);
    out->live_bytes = live;
    free(h);
    mp_pool_destroy(p);
    return ok;
}

static void usage(void) {
    fprintf(stderr, "usage: mp_bench_compact [--quick] [--reps N] [--pool-mib M] [--only STRATEGY]\n");
}

int main(int argc, char **argv) {
    int reps = 5;
    size_t pool_mib = 32;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            reps = 3;
            pool_mib = 8;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--pool-mib") == 0 && i + 1 < argc) {
            pool_mib = (size_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (reps < 1 || reps > BENCH_COMPACT_MAX_REPS || pool_mib < 1 || pool_mib > 4096) {
        usage();
        return 2;
    }
    printf("{\"bench\":\"compact\",\"meta\":{\"compiler\":");
    bench_json_string(stdout, bench_compiler());
    printf(",\"reps\":%d,\"pool_bytes\":%zu,\"fill_percent\":90,\"freed\":\"half, at random\","
           "\"unit\":\"GB/s = bytes of moved blocks / ns of one unbudgeted mp_pool_defragment\","
           "\"workloads\":[",
           reps, pool_mib << 20);
    for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; b++) {
        if (block_sizes[b] != 0)
            printf("%s{\"name\":\"compact_%zu\",\"op\":\"one block of %zu B moved by a full compaction "
                   "(pool 90%% full, half the blocks freed at random)\"}",
                   b ? "," : "", block_sizes[b], block_sizes[b]);
        else
            printf("%s{\"name\":\"compact_mixed\",\"op\":\"one block of 16..4096 B moved by a full "
                   "compaction (pool 90%% full, half the blocks freed at random)\"}",
                   b ? "," : "");
    }
    printf("]}}\n");
    for (size_t s = 0; s < sizeof strategies / sizeof strategies[0]; s++) {
        if (only != NULL && strcmp(only, strategies[s].name) != 0) continue;
        for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; b++) {
            double gbs[BENCH_COMPACT_MAX_REPS], nsb[BENCH_COMPACT_MAX_REPS];
            sample last = {0};
            int ok = 1;
            for (int r = 0; r < reps && ok; r++) {
                ok = run_sample(strategies[s].strategy, pool_mib << 20, block_sizes[b], 42u + (uint64_t)r, &last);
                gbs[r] = last.gb_per_s;
                nsb[r] = last.ns_per_block;
            }
            if (!ok) return 1;
            bench_summary sum = bench_summarize(gbs, (size_t)reps);
            bench_summary ns = bench_summarize(nsb, (size_t)reps);
            char block[24];
            if (block_sizes[b] != 0)
                snprintf(block, sizeof block, "%zu", block_sizes[b]);
            else
                snprintf(block, sizeof block, "mixed");
            printf("{\"bench\":\"compact\",\"workload\":\"compact_%s\",\"impl\":\"pool:%s\","
                   "\"kind\":\"family\",\"strategy\":\"%s\",\"block\":\"%s\","
                   "\"ns_per_op\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
                   "\"gb_per_s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"reps\":%d,"
                   "\"bytes_moved\":%zu,\"blocks_moved\":%zu,\"live_bytes\":%zu,"
                   "\"fragmentation_before\":%.4f,\"fragmentation_after\":%.4f}\n",
                   block, strategies[s].name, strategies[s].name, block, ns.median, ns.min, ns.max, sum.median,
                   sum.min, sum.max, reps, last.r.bytes_moved,
                   last.r.blocks_moved, last.live_bytes, last.r.fragmentation_before, last.r.fragmentation_after);
            fflush(stdout);
        }
    }
    return 0;
}
