/*
 * test_slab_inline.c - the header's inline fast path of the slab allocator
 * (mp_slab_alloc_inline / mp_slab_free_inline) against the out-of-line
 * calls. A differential test drives two instances of one config with the
 * same seeded operations (allocations of several classes and of sizes no
 * class holds, frees, double frees, interior, foreign and NULL pointers,
 * reallocs, trims, resets, until the region runs out), one instance only
 * out of line, the other mixing inline and out-of-line calls at random, and
 * requires equal results (block offsets, statuses, mp_last_error), equal
 * heap and class stats and check() == 0 on both after every step; a model
 * of the live blocks checks their contents. Directed tests: misuse through
 * the inline path (double free, foreign, interior, after reset, after a
 * moving realloc) is refused as out of line and changes nothing but the
 * rejected-free counter; the peak stays exact while the hand holds a freed
 * slot; thread-safe and NULL instances go out of line; under ASan a slot
 * freed inline is poisoned and one allocated inline is writable.
 */
#define _DEFAULT_SOURCE
#include "test_util.h"

#define REGION_BYTES ((size_t)128 << 10) /* 32 slabs of 4 KiB: the region runs out */
#define SLAB_BYTES ((size_t)4096)
#define MAX_LIVE 512

static MP_Slab *make_slab(uint32_t flags) {
    static const size_t classes[] = {8, 16, 48, 64, 128, 256, 1024};
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = REGION_BYTES;
    cfg.slab_bytes = SLAB_BYTES;
    cfg.class_sizes = classes;
    cfg.class_count = sizeof classes / sizeof classes[0];
    cfg.flags = flags;
    return mp_slab_create_ex(&cfg);
}

/* 1 when this file's inline calls may run inline on `s`. */
static int inline_open(MP_Slab *s) {
    MP_SlabHot *hot = (MP_SlabHot *)(void *)s;
    return MP_SLAB_HOT_LIMIT_(hot) != 0;
}

static MP_SlabHot hot_of(MP_Slab *s) { return *(MP_SlabHot *)(void *)s; }

static MP_HeapStats heap_stats(const MP_Slab *s) {
    MP_HeapStats st;
    memset(&st, 0, sizeof st);
    CHECK_STATUS(mp_slab_stats(s, &st), MP_OK);
    return st;
}

/* Heap stats and every class's stats of `a` and `b` are equal. */
static int same_stats(const MP_Slab *a, const MP_Slab *b) {
    MP_HeapStats sa = heap_stats(a), sb = heap_stats(b);
    if (memcmp(&sa, &sb, sizeof sa) != 0) return 0;
    for (size_t c = 0; c < mp_slab_class_count(a); c++) {
        MP_SlabClassStats ca, cb;
        memset(&ca, 0, sizeof ca);
        memset(&cb, 0, sizeof cb);
        CHECK_STATUS(mp_slab_class_stats(a, c, &ca), MP_OK);
        CHECK_STATUS(mp_slab_class_stats(b, c, &cb), MP_OK);
        if (memcmp(&ca, &cb, sizeof ca) != 0) return 0;
    }
    return 1;
}

/* ------------------------------------------------------ differential */

typedef struct block {
    size_t offset, size;
} block;

typedef struct twin {
    MP_Slab *a, *b; /* a: out of line only; b: inline and out of line mixed */
    unsigned char *base_a, *base_b;
    block live[MAX_LIVE];
    size_t live_n;
    size_t gone[MAX_LIVE]; /* offsets freed (or released by reset), for double frees */
    size_t gone_n;
    uint64_t rng;
    long inline_hits; /* inline calls that ran on the hand, not out of line */
} twin;

static void remember_gone(twin *t, size_t offset) {
    t->gone[t->gone_n < MAX_LIVE ? t->gone_n++ : (size_t)(mp_test_rand(&t->rng) % MAX_LIVE)] = offset;
}

static void twin_alloc(twin *t, size_t size) {
    if (t->live_n == MAX_LIVE) return;
    mp_clear_last_error();
    unsigned char *pa = mp_slab_alloc(t->a, size);
    MP_Status why_a = mp_last_error().status;
    int use_inline = (int)(mp_test_rand(&t->rng) & 1u);
    MP_SlabHot before = hot_of(t->b);
    mp_clear_last_error();
    unsigned char *pb = use_inline ? mp_slab_alloc_inline(t->b, size) : mp_slab_alloc(t->b, size);
    MP_Status why_b = mp_last_error().status;
    CHECK((pa == NULL) == (pb == NULL));
    CHECK(why_a == why_b);
    if (pa == NULL || pb == NULL) return;
    size_t offset = (size_t)(pa - t->base_a);
    CHECK((size_t)(pb - t->base_b) == offset);
    if (use_inline && (before.hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_FREE && before.hand == pb) t->inline_hits++;
    mp_test_fill_pattern(pa, size, offset);
    mp_test_fill_pattern(pb, size, offset); /* under ASan: proves the inline alloc unpoisoned it */
    t->live[t->live_n].offset = offset;
    t->live[t->live_n].size = size;
    t->live_n++;
}

/* Frees `pa` / `pb` (the same offset in both, or the same foreign pointer)
 * in both instances; returns the status (checked equal). */
static MP_Status twin_free_ptrs(twin *t, void *pa, void *pb) {
    mp_clear_last_error();
    MP_Status got_a = mp_slab_free(t->a, pa);
    MP_Status why_a = mp_last_error().status;
    int use_inline = (int)(mp_test_rand(&t->rng) & 1u);
    MP_SlabHot before = hot_of(t->b);
    mp_clear_last_error();
    MP_Status got_b = use_inline ? mp_slab_free_inline(t->b, pb) : mp_slab_free(t->b, pb);
    MP_Status why_b = mp_last_error().status;
    CHECK(got_a == got_b);
    CHECK(why_a == why_b);
    if (use_inline && (before.hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_LIVE && before.hand == pb) t->inline_hits++;
    if (got_b == MP_OK) CHECK(mp_test_is_poisoned(pb));
    return got_b;
}

static void twin_free_live(twin *t, size_t i) {
    block bl = t->live[i];
    CHECK(mp_test_pattern_intact(t->base_a + bl.offset, bl.size, bl.offset));
    CHECK(mp_test_pattern_intact(t->base_b + bl.offset, bl.size, bl.offset));
    CHECK_STATUS(twin_free_ptrs(t, t->base_a + bl.offset, t->base_b + bl.offset), MP_OK);
    t->live[i] = t->live[--t->live_n];
    remember_gone(t, bl.offset);
}

static void twin_realloc(twin *t, size_t i, size_t size) {
    block bl = t->live[i];
    void *pa = t->base_a + bl.offset, *pb = t->base_b + bl.offset;
    MP_Status sa = mp_slab_realloc(t->a, &pa, size);
    MP_Status sb = mp_slab_realloc(t->b, &pb, size);
    CHECK(sa == sb);
    CHECK((size_t)((unsigned char *)pa - t->base_a) == (size_t)((unsigned char *)pb - t->base_b));
    if (sa != MP_OK) return;
    size_t offset = (size_t)((unsigned char *)pa - t->base_a), kept = bl.size < size ? bl.size : size;
    CHECK(mp_test_pattern_intact(pa, kept, bl.offset));
    CHECK(mp_test_pattern_intact(pb, kept, bl.offset));
    if (offset != bl.offset) remember_gone(t, bl.offset);
    mp_test_fill_pattern(pa, size, offset);
    mp_test_fill_pattern(pb, size, offset);
    t->live[i].offset = offset;
    t->live[i].size = size;
}

static size_t pick_size(uint64_t r) {
    static const size_t sizes[] = {64, 64, 64, 60, 33, 8, 100, 200, 1000, 1024, 0, 2000};
    return sizes[r % (sizeof sizes / sizeof sizes[0])]; /* 2000: no class holds it */
}

static void twin_step(twin *t) {
    uint64_t r = mp_test_rand(&t->rng);
    unsigned what = (unsigned)(r % 100u);
    size_t pick = (size_t)(r >> 32);
    static unsigned char foreign[64];
    if (what < 42) {
        twin_alloc(t, pick_size(r >> 8));
    } else if (what < 80) {
        if (t->live_n != 0) twin_free_live(t, t->live_n - 1 - (pick % 4 < 3 ? 0 : pick % t->live_n));
    } else if (what < 85) { /* double free (or after reset, or a stale slot reused since: OK) */
        if (t->gone_n != 0) {
            size_t off = t->gone[pick % t->gone_n];
            int reused = 0;
            for (size_t i = 0; i < t->live_n; i++) reused |= t->live[i].offset == off;
            if (!reused) CHECK(twin_free_ptrs(t, t->base_a + off, t->base_b + off) != MP_OK);
        }
    } else if (what < 89) { /* interior pointer of a live block */
        if (t->live_n != 0) {
            block bl = t->live[pick % t->live_n];
            size_t in = 1 + (pick >> 8) % 7;
            CHECK_STATUS(twin_free_ptrs(t, t->base_a + bl.offset + in, t->base_b + bl.offset + in),
                         MP_ERR_INVALID_ADDRESS);
        }
    } else if (what < 91) {
        CHECK_STATUS(twin_free_ptrs(t, foreign + 8, foreign + 8), MP_ERR_INVALID_ADDRESS);
    } else if (what < 92) {
        CHECK_STATUS(twin_free_ptrs(t, NULL, NULL), MP_ERR_INVALID_ADDRESS);
    } else if (what < 96) {
        if (t->live_n != 0) twin_realloc(t, pick % t->live_n, pick_size(r >> 12));
    } else if (what < 98) {
        size_t ra = 0, rb = 0;
        CHECK_STATUS(mp_slab_trim(t->a, &ra), MP_OK);
        CHECK_STATUS(mp_slab_trim(t->b, &rb), MP_OK);
        CHECK(ra == rb);
    } else if (what < 99) {
        CHECK_STATUS(mp_slab_reset(t->a), MP_OK);
        CHECK_STATUS(mp_slab_reset(t->b), MP_OK);
        while (t->live_n != 0) remember_gone(t, t->live[--t->live_n].offset);
    }
    CHECK(same_stats(t->a, t->b));
    CHECK(mp_slab_check(t->a) == 0);
    CHECK(mp_slab_check(t->b) == 0);
}

static void inline_and_out_of_line_agree(void) {
    for (uint64_t seed = 1; seed <= 6; seed++) {
        static twin t;
        memset(&t, 0, sizeof t);
        t.rng = seed * 0x9E3779B97F4A7C15ull;
        t.a = make_slab(0);
        t.b = make_slab(0);
        REQUIRE(t.a != NULL && t.b != NULL);
        REQUIRE(inline_open(t.b));
        t.base_a = mp_slab_base(t.a);
        t.base_b = mp_slab_base(t.b);
        int failures_before = mp_test_failures_;
        for (int i = 0; i < 4000 && mp_test_failures_ == failures_before; i++) twin_step(&t);
        CHECK(t.inline_hits > 100); /* the inline paths really ran (~190 per seed) */
        mp_slab_destroy(t.a);
        mp_slab_destroy(t.b);
    }
}

/* ------------------------------------------------------------ misuse */

/* `bad` freed inline on `b` and out of line on `a` (twins in the same
 * state): the same refusal, mp_last_error and stats, and `b` unchanged
 * otherwise (hand, check, the next allocation). */
static void refused_alike(MP_Slab *a, MP_Slab *b, void *bad_a, void *bad_b, MP_Status expected) {
    MP_SlabHot before = hot_of(b);
    MP_HeapStats st_before = heap_stats(b);
    mp_clear_last_error();
    CHECK_STATUS(mp_slab_free(a, bad_a), expected);
    CHECK(mp_last_error().status == expected);
    mp_clear_last_error();
    CHECK_STATUS(mp_slab_free_inline(b, bad_b), expected);
    CHECK(mp_last_error().status == expected);
    MP_SlabHot after = hot_of(b);
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    MP_HeapStats st_after = heap_stats(b);
    CHECK(st_after.rejected_free_count == st_before.rejected_free_count + 1);
    st_after.rejected_free_count = st_before.rejected_free_count;
    CHECK(memcmp(&st_before, &st_after, sizeof st_before) == 0);
    CHECK(same_stats(a, b));
    CHECK(mp_slab_check(a) == 0 && mp_slab_check(b) == 0);
}

static void misuse_through_inline_is_refused_as_out_of_line(void) {
    MP_Slab *a = make_slab(0), *b = make_slab(0);
    REQUIRE(a != NULL && b != NULL);
    unsigned char *base_a = mp_slab_base(a), *base_b = mp_slab_base(b);
    unsigned char *keep_a = mp_slab_alloc(a, 64), *keep_b = mp_slab_alloc_inline(b, 64);
    unsigned char *pa = mp_slab_alloc(a, 64), *pb = mp_slab_alloc_inline(b, 64);
    REQUIRE(keep_a != NULL && keep_b != NULL && pa != NULL && pb != NULL);
    CHECK(pa - base_a == pb - base_b);
    CHECK_STATUS(mp_slab_free(a, pa), MP_OK);
    CHECK_STATUS(mp_slab_free_inline(b, pb), MP_OK); /* out of line: checked, into the hand */
    pa = mp_slab_alloc(a, 64);
    pb = mp_slab_alloc_inline(b, 64); /* inline: the hand, LIVE now */
    CHECK(pa - base_a == pb - base_b);
    CHECK(hot_of(b).hand == pb && (hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_LIVE);
    CHECK_STATUS(mp_slab_free(a, pa), MP_OK);
    CHECK_STATUS(mp_slab_free_inline(b, pb), MP_OK); /* inline: the LIVE hand, FREE now */
    CHECK((hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_FREE);
    /* Double free of the hand slot, of an older freed slot. */
    refused_alike(a, b, pa, pb, MP_ERR_DOUBLE_FREE);
    refused_alike(a, b, pa, pb, MP_ERR_DOUBLE_FREE);
    /* Interior pointers: of the LIVE hand, of a live slot. */
    pa = mp_slab_alloc(a, 64);
    pb = mp_slab_alloc_inline(b, 64);
    CHECK((hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_LIVE);
    refused_alike(a, b, pa + 8, pb + 8, MP_ERR_INVALID_ADDRESS);
    refused_alike(a, b, keep_a + 1, keep_b + 1, MP_ERR_INVALID_ADDRESS);
    /* Foreign and NULL pointers, a pointer below the region. */
    static unsigned char foreign[64];
    refused_alike(a, b, foreign, foreign, MP_ERR_INVALID_ADDRESS);
    refused_alike(a, b, NULL, NULL, MP_ERR_INVALID_ADDRESS);
    refused_alike(a, b, base_a - 64, base_b - 64, MP_ERR_INVALID_ADDRESS);
    /* A moving realloc forgets the LIVE hand: its old slot is free now. */
    void *ma = pa, *mb = pb;
    CHECK_STATUS(mp_slab_realloc(a, &ma, 200), MP_OK);
    CHECK_STATUS(mp_slab_realloc(b, &mb, 200), MP_OK);
    CHECK(ma != pa && mb != pb && (hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) != MP_SLAB_HAND_LIVE);
    refused_alike(a, b, pa, pb, MP_ERR_DOUBLE_FREE);
    /* Reset forgets the hand: blocks freed by reset are not the caller's. */
    pa = mp_slab_alloc(a, 200);
    pb = mp_slab_alloc(b, 200);
    CHECK_STATUS(mp_slab_free(a, pa), MP_OK);
    CHECK_STATUS(mp_slab_free_inline(b, pb), MP_OK);
    pa = mp_slab_alloc(a, 200);
    pb = mp_slab_alloc_inline(b, 200);
    CHECK(hot_of(b).hand == pb && (hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_LIVE);
    CHECK_STATUS(mp_slab_reset(a), MP_OK);
    CHECK_STATUS(mp_slab_reset(b), MP_OK);
    CHECK((hot_of(b).hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_EMPTY);
    refused_alike(a, b, pa, pb, MP_ERR_INVALID_ADDRESS);
    mp_slab_destroy(a);
    mp_slab_destroy(b);
}

/* The peak while the hand holds a freed slot of one class and another class
 * allocates: exact, as the stored headroom leaves the hand out. */
static void peak_stays_exact_around_the_hand(void) {
    MP_Slab *s = make_slab(0);
    REQUIRE(s != NULL);
    void *a = mp_slab_alloc_inline(s, 64);
    REQUIRE(a != NULL);
    CHECK(heap_stats(s).bytes_in_use_peak == 64);
    CHECK_STATUS(mp_slab_free_inline(s, a), MP_OK); /* FREE hand: in use 0 */
    CHECK(heap_stats(s).bytes_in_use == 0 && heap_stats(s).bytes_in_use_peak == 64);
    void *b = mp_slab_alloc_inline(s, 128); /* another class: out of line, new peak 128 */
    REQUIRE(b != NULL);
    CHECK(heap_stats(s).bytes_in_use_peak == 128);
    CHECK(mp_slab_check(s) == 0);
    void *c = mp_slab_alloc_inline(s, 64); /* the hand, inline: new peak 192 */
    CHECK(c == a);
    CHECK(heap_stats(s).bytes_in_use == 192 && heap_stats(s).bytes_in_use_peak == 192);
    CHECK_STATUS(mp_slab_free_inline(s, c), MP_OK);
    CHECK_STATUS(mp_slab_free_inline(s, b), MP_OK); /* out of line: the FREE hand goes to its cache */
    CHECK(heap_stats(s).bytes_in_use == 0 && heap_stats(s).bytes_in_use_peak == 192);
    c = mp_slab_alloc_inline(s, 64); /* from the cache: no new peak */
    CHECK(c == a && heap_stats(s).bytes_in_use_peak == 192);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

/* The heap's counts after every kind of step the hand takes (round trips
 * inline, the LIVE slot freed out of line, a LIVE slot forgotten when
 * another slot is freed, a LIVE slot moved by realloc), against counts kept
 * here; hand_word holds the round trips not yet folded; a damaged word is
 * reported by check(). */
static void hand_word_counts_every_path(void) {
    MP_Slab *s = make_slab(0);
    REQUIRE(s != NULL);
    REQUIRE(inline_open(s));
    MP_SlabHot *hot = (MP_SlabHot *)(void *)s;
    uint64_t allocs = 0, frees = 0;
#define COUNTS_ARE(live)                                                                      \
    do {                                                                                      \
        MP_HeapStats st_ = heap_stats(s);                                                     \
        CHECK(st_.alloc_count == allocs && st_.free_count == frees);                          \
        CHECK(st_.live_block_count == (size_t)(live) && st_.alloc_count - st_.free_count == (live)); \
        CHECK(mp_slab_check(s) == 0);                                                         \
    } while (0)
    unsigned char *p = mp_slab_alloc_inline(s, 64); /* out of line: no hand yet */
    REQUIRE(p != NULL);
    allocs++;
    CHECK_STATUS(mp_slab_free_inline(s, p), MP_OK); /* out of line: into the hand */
    frees++;
    COUNTS_ARE(0);
    for (int i = 0; i < 1000; i++) {
        unsigned char *q = mp_slab_alloc_inline(s, 64);
        CHECK(q == p);
        allocs++;
        CHECK_STATUS(mp_slab_free_inline(s, q), MP_OK);
        frees++;
    }
    CHECK((hot->hand_word >> MP_SLAB_HAND_COUNT_SHIFT) == 1000);
    CHECK((hot->hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_FREE);
    COUNTS_ARE(0);
    unsigned char *q = mp_slab_alloc_inline(s, 64); /* LIVE */
    allocs++;
    COUNTS_ARE(1);
    /* A damaged word: state 3, then LIVE with no allocation counted. */
    uint64_t saved = hot->hand_word;
    hot->hand_word = saved | MP_SLAB_HAND_STATE_MASK;
    CHECK(mp_slab_check(s) > 0);
    hot->hand_word = MP_SLAB_HAND_LIVE;
    CHECK(mp_slab_check(s) > 0);
    hot->hand_word = saved;
    CHECK(mp_slab_check(s) == 0);
    CHECK_STATUS(mp_slab_free(s, q), MP_OK); /* the LIVE slot, out of line: as inline */
    frees++;
    CHECK((hot->hand_word >> MP_SLAB_HAND_COUNT_SHIFT) == 1001);
    COUNTS_ARE(0);
    q = mp_slab_alloc_inline(s, 64); /* LIVE */
    unsigned char *r = mp_slab_alloc(s, 64); /* not the hand: it is LIVE */
    REQUIRE(q == p && r != NULL && r != q);
    allocs += 2;
    COUNTS_ARE(2);
    CHECK_STATUS(mp_slab_free(s, r), MP_OK); /* forgets LIVE q, folds, r is the hand */
    frees++;
    CHECK(hot->hand == r && (hot->hand_word >> MP_SLAB_HAND_COUNT_SHIFT) == 0);
    COUNTS_ARE(1);
    CHECK_STATUS(mp_slab_free_inline(s, q), MP_OK); /* q is no hand now: checked out of line */
    frees++;
    CHECK_STATUS(mp_slab_free_inline(s, q), MP_ERR_DOUBLE_FREE);
    COUNTS_ARE(0);
    q = mp_slab_alloc_inline(s, 64);
    REQUIRE(q != NULL && (hot->hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_LIVE);
    allocs++;
    void *moved = q;
    CHECK_STATUS(mp_slab_realloc(s, &moved, 300), MP_OK); /* the LIVE slot moves to another class */
    CHECK((hot->hand_word & MP_SLAB_HAND_STATE_MASK) == MP_SLAB_HAND_EMPTY);
    CHECK(heap_stats(s).live_block_count == 1 && mp_slab_check(s) == 0);
    CHECK_STATUS(mp_slab_free_inline(s, q), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_slab_free_inline(s, moved), MP_OK);
    CHECK(heap_stats(s).live_block_count == 0 && heap_stats(s).alloc_count == heap_stats(s).free_count);
    CHECK(mp_slab_check(s) == 0);
#undef COUNTS_ARE
    mp_slab_destroy(s);
}

static void thread_safe_and_null_instances_go_out_of_line(void) {
    MP_Slab *s = make_slab(MP_FLAG_THREAD_SAFE);
    REQUIRE(s != NULL);
    CHECK(!inline_open(s));
    for (int i = 0; i < 100; i++) {
        void *p = mp_slab_alloc_inline(s, 64);
        REQUIRE(p != NULL);
        CHECK_STATUS(mp_slab_free_inline(s, p), MP_OK);
        CHECK_STATUS(mp_slab_free_inline(s, p), MP_ERR_DOUBLE_FREE);
    }
    MP_HeapStats st = heap_stats(s);
    CHECK(st.alloc_count == 100 && st.free_count == 100 && st.rejected_free_count == 100);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
    mp_clear_last_error();
    CHECK(mp_slab_alloc_inline(NULL, 64) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_free_inline(NULL, NULL), MP_ERR_INVALID_ARGUMENT);
}

/* Every class width (4-, 8-, 16- and 32-bit size entries) through the hand:
 * the requested sizes stored inline are what stats sum. */
static void every_entry_width_round_trips(void) {
    static const size_t classes[] = {8, 64, 4096, 65536};
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = (size_t)1 << 20;
    cfg.slab_bytes = (size_t)1 << 17;
    cfg.class_sizes = classes;
    cfg.class_count = 4;
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    static const size_t sizes[] = {5, 7, 50, 64, 3000, 4096, 40000, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = mp_slab_alloc_inline(s, sizes[i]);
        REQUIRE(p != NULL);
        CHECK_STATUS(mp_slab_free_inline(s, p), MP_OK);
        unsigned char *q = mp_slab_alloc_inline(s, sizes[i] - 1); /* the hand, inline when in the table */
        CHECK(q == p);
        q[sizes[i] - 2] = 1;
        CHECK(heap_stats(s).bytes_requested == sizes[i] - 1);
        CHECK(mp_slab_usable_size(s, q) == classes[i / 2]);
        CHECK(mp_slab_check(s) == 0);
        CHECK_STATUS(mp_slab_free_inline(s, q), MP_OK);
        CHECK(heap_stats(s).bytes_requested == 0);
        CHECK_STATUS(mp_slab_free_inline(s, q), MP_ERR_DOUBLE_FREE);
        CHECK(mp_slab_check(s) == 0);
    }
    mp_slab_destroy(s);
}

MP_TEST_MAIN(TEST_CASE(inline_and_out_of_line_agree), TEST_CASE(misuse_through_inline_is_refused_as_out_of_line),
             TEST_CASE(peak_stays_exact_around_the_hand), TEST_CASE(hand_word_counts_every_path),
             TEST_CASE(thread_safe_and_null_instances_go_out_of_line),
             TEST_CASE(every_entry_width_round_trips))
