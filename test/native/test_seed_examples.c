/*
 * test_seed_examples.c - the C examples of seed 004_efb88dac96de32a0 (fixed
 * pool, arena, order book, scratch buffers), kept as the seed wrote them so
 * that code written against that document keeps compiling, with their
 * results checked. Only `data`, `Order`, `process` and
 * `handle_pool_exhaustion`, which the seed leaves to the reader, are defined
 * here.
 */
#include "mp_test.h"

static unsigned char data[1024];

typedef struct Order {
    long price;
    long quantity;
    char symbol[16];
} Order;

static int exhaustion_calls;
static void handle_pool_exhaustion(void) { exhaustion_calls++; }

static float processed_first;
static char processed_last;
static void process(float *temp_data, char *temp_str) {
    temp_data[999] = 2.5f;
    temp_str[255] = 'z';
    processed_first = temp_data[999];
    processed_last = temp_str[255];
}

static void fixed_pool_api_reference_example_runs_as_documented(void) {
    memset(data, 0xAB, sizeof data);

    // Create pool for 256 objects of 64 bytes
    MP_FixedPool* pool = mp_fixed_pool_create(64, 256);
    if (!pool) {
        fprintf(stderr, "Failed to create pool\n");
        exit(1);
    }

    // Allocate objects
    void* obj1 = mp_fixed_pool_alloc(pool);
    void* obj2 = mp_fixed_pool_alloc(pool);

    // Use objects
    memcpy(obj1, data, 64);

    CHECK(obj1 != NULL && obj2 != NULL && obj1 != obj2);
    CHECK(memcmp(obj1, data, 64) == 0);
    MP_FixedPoolStats before;
    CHECK_STATUS(mp_fixed_pool_stats(pool, &before), MP_OK);
    CHECK(before.allocated == 2);

    // Free objects
    mp_fixed_pool_free(pool, obj1);
    mp_fixed_pool_free(pool, obj2);

    // Or reset entire pool
    mp_fixed_pool_reset(pool);

    // Get statistics
    MP_FixedPoolStats stats;
    mp_fixed_pool_stats(pool, &stats);
    printf("Allocated: %zu/%zu\n", stats.allocated, stats.capacity);

    CHECK(stats.allocated == 0);
    CHECK(stats.capacity == 256);
    CHECK(stats.free_count == 2);
    CHECK(mp_fixed_pool_check(pool) == 0);

    // Cleanup
    mp_fixed_pool_destroy(pool);
}

static void arena_api_reference_example_runs_as_documented(void) {
    memset(data, 0xCD, sizeof data);

    // Create 1MB arena
    MP_Arena* arena = mp_arena_create(1024 * 1024);
    if (!arena) {
        fprintf(stderr, "Failed to create arena\n");
        exit(1);
    }

    // Allocate various sizes
    void* buf1 = mp_arena_alloc(arena, 1024, 8);  // 1KB, 8-byte aligned
    void* buf2 = mp_arena_alloc(arena, 512, 16);  // 512B, 16-byte aligned

    // Use allocations
    memcpy(buf1, data, 1024);

    CHECK(buf1 != NULL && buf2 != NULL);
    CHECK((uintptr_t)buf1 % 8 == 0 && (uintptr_t)buf2 % 16 == 0);
    CHECK((char *)buf2 >= (char *)buf1 + 1024);
    CHECK(memcmp(buf1, data, 1024) == 0);
    MP_ArenaStats before;
    CHECK_STATUS(mp_arena_stats(arena, &before), MP_OK);
    CHECK(before.offset == 1536); /* the mapped buffer is page aligned: no padding */

    // Reset entire arena (O(1))
    mp_arena_reset(arena);

    // Get statistics
    MP_ArenaStats stats;
    mp_arena_stats(arena, &stats);
    printf("Used: %zu/%zu bytes\n", stats.offset, stats.buffer_size);

    CHECK(stats.offset == 0);
    CHECK(stats.buffer_size == 1024 * 1024);
    CHECK(stats.offset_peak == 1536);
    CHECK(mp_arena_check(arena) == 0);

    // Cleanup
    mp_arena_destroy(arena);
}

static void order_book_use_case_allocates_fills_and_frees_orders(void) {
    // Fixed pool for order entries (same size)
    MP_FixedPool* order_pool = mp_fixed_pool_create(sizeof(Order), 10000);

    // Allocate order
    Order* order = (Order*)mp_fixed_pool_alloc(order_pool);
    if (!order) {
        handle_pool_exhaustion();
    }

    REQUIRE(order != NULL);
    CHECK(exhaustion_calls == 0);
    CHECK((uintptr_t)order % _Alignof(Order) == 0);

    // Fill order
    order->price = 12345;
    order->quantity = 100;

    // Process...
    CHECK(order->price == 12345 && order->quantity == 100);
    CHECK(mp_fixed_pool_owns(order_pool, order) == 1);

    // Free back to pool
    mp_fixed_pool_free(order_pool, order);

    CHECK(mp_fixed_pool_owns(order_pool, order) == 0);

    // Cleanup
    mp_fixed_pool_destroy(order_pool);
}

static void scratch_buffer_use_case_reuses_the_arena_after_reset(void) {
    // Arena for temporary allocations
    MP_Arena* scratch = mp_arena_create(1024 * 1024);

    // Allocate various sizes
    float* temp_data = mp_arena_alloc(scratch, 1000 * sizeof(float), 16);
    char* temp_str = mp_arena_alloc(scratch, 256, 1);

    REQUIRE(temp_data != NULL && temp_str != NULL);

    // Do computation
    process(temp_data, temp_str);

    CHECK(processed_first == 2.5f && processed_last == 'z');

    // Bulk free (O(1))
    mp_arena_reset(scratch);

    // Reuse for next computation
    int* more_data = mp_arena_alloc(scratch, 500 * sizeof(int), 8);

    CHECK((void *)more_data == (void *)temp_data); /* the reset made the start reusable */
    more_data[499] = 7;
    CHECK(more_data[499] == 7);
    mp_arena_destroy(scratch);
}

MP_TEST_MAIN(TEST_CASE(fixed_pool_api_reference_example_runs_as_documented),
             TEST_CASE(arena_api_reference_example_runs_as_documented),
             TEST_CASE(order_book_use_case_allocates_fills_and_frees_orders),
             TEST_CASE(scratch_buffer_use_case_reuses_the_arena_after_reset))
