/*
 * test_common.c - status names and descriptions, version, per-thread last
 * error, huge-page advice.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mp_test.h"

static const MP_Status all_statuses[] = {
#define STATUS_VALUE_(name, value, text) name,
    MP_STATUS_LIST(STATUS_VALUE_)
#undef STATUS_VALUE_
};
#define STATUS_COUNT (sizeof all_statuses / sizeof all_statuses[0])

static void every_status_has_a_distinct_name_equal_to_its_identifier(void) {
    static const char *const identifiers[] = {
#define STATUS_IDENT_(name, value, text) #name,
        MP_STATUS_LIST(STATUS_IDENT_)
#undef STATUS_IDENT_
    };
    CHECK(STATUS_COUNT == (size_t)MP_STATUS_COUNT_);
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        CHECK(strcmp(mp_status_str(all_statuses[i]), identifiers[i]) == 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(mp_status_str(all_statuses[i]), mp_status_str(all_statuses[j])) != 0);
    }
    CHECK(strcmp(mp_status_str(MP_ERR_DOUBLE_FREE), "MP_ERR_DOUBLE_FREE") == 0);
}

static void every_status_has_a_distinct_nonempty_description(void) {
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        const char *text = mp_status_description(all_statuses[i]);
        REQUIRE(text != NULL);
        CHECK(text[0] != '\0');
        for (size_t j = 0; j < i; j++) CHECK(strcmp(text, mp_status_description(all_statuses[j])) != 0);
    }
}

static void values_outside_the_enum_are_named_unknown(void) {
    CHECK(strcmp(mp_status_str(MP_STATUS_COUNT_), "MP_ERR_UNKNOWN") == 0);
    CHECK(strcmp(mp_status_str((MP_Status)-1), "MP_ERR_UNKNOWN") == 0);
    CHECK(strcmp(mp_status_description((MP_Status)1000), "unknown status") == 0);
}

static void version_string_and_number_match_the_header_macros(void) {
    CHECK(strcmp(mp_version(), MP_VERSION_STRING) == 0);
    CHECK(mp_version_number() == MP_VERSION_NUMBER);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", MP_VERSION_MAJOR, MP_VERSION_MINOR, MP_VERSION_PATCH);
    CHECK(strcmp(mp_version(), expected) == 0);
    CHECK(MP_VERSION_NUMBER == MP_VERSION_MAJOR * 10000 + MP_VERSION_MINOR * 100 + MP_VERSION_PATCH);
}

static void last_error_records_the_failure_and_clear_resets_it(void) {
    mp_clear_last_error();
    CHECK(mp_last_error().status == MP_OK);
    MP_FixedPool *pool = mp_fixed_pool_create(32, 1);
    REQUIRE(pool != NULL);
    CHECK(mp_fixed_pool_alloc(pool) != NULL);
    CHECK(mp_last_error().status == MP_OK); /* success leaves it alone */
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY);
    CHECK(e.requested_bytes == 32);
    CHECK(e.available_bytes == 0);
    CHECK(e.largest_free_bytes == 0);
    mp_clear_last_error();
    e = mp_last_error();
    CHECK(e.status == MP_OK && e.requested_bytes == 0 && e.available_bytes == 0 && e.largest_free_bytes == 0);
    mp_fixed_pool_destroy(pool);
}

static void *fail_in_other_thread(void *arg) {
    (void)arg;
    mp_clear_last_error();
    CHECK(mp_arena_create(0) == NULL);
    return (void *)(uintptr_t)mp_last_error().status;
}

static void last_error_is_per_thread(void) {
    mp_clear_last_error();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fail_in_other_thread, NULL) == 0);
    void *result = NULL;
    pthread_join(t, &result);
    CHECK((MP_Status)(uintptr_t)result == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_last_error().status == MP_OK);
}

#if defined(__linux__)
/* The VmFlags line of the /proc/self/smaps entry holding `addr`, or "". */
static void vm_flags_of(const void *addr, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL) return;
    char line[512];
    int inside = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line);
            break;
        }
    }
    fclose(f);
}

/* True where the kernel has transparent huge pages (madvise then takes the
 * advice whatever their mode). */
static int thp_available(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == NULL) return 0;
    fclose(f);
    return 1;
}
#endif

static void huge_page_advice_marks_the_range_and_keeps_its_contents(void) {
    CHECK_STATUS(mp_advise_huge_pages(NULL, 4096), MP_ERR_INVALID_ARGUMENT);
    uint8_t byte = 0;
    CHECK_STATUS(mp_advise_huge_pages(&byte, 0), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_advise_huge_pages((void *)(UINTPTR_MAX - 8), 64), MP_ERR_INVALID_ARGUMENT);
#if defined(__linux__)
    size_t len = (size_t)8 << 20;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    for (size_t i = 0; i < len; i += 4096) p[i] = (uint8_t)(i >> 12);
    /* A range smaller than a page holds no whole page: nothing to advise. */
    CHECK_STATUS(mp_advise_huge_pages(p + 1, 100), MP_OK);
    char flags[512];
    vm_flags_of(p, flags, sizeof flags);
    CHECK(strstr(flags, " hg") == NULL);
    if (thp_available()) {
        CHECK_STATUS(mp_advise_huge_pages(p, len), MP_OK);
        vm_flags_of(p + len / 2, flags, sizeof flags);
        CHECK(strstr(flags, " hg") != NULL);
    }
    int same = 1;
    for (size_t i = 0; i < len; i += 4096) same &= p[i] == (uint8_t)(i >> 12);
    CHECK(same);
    munmap(p, len);
#endif
}

MP_TEST_MAIN(TEST_CASE(every_status_has_a_distinct_name_equal_to_its_identifier),
             TEST_CASE(every_status_has_a_distinct_nonempty_description),
             TEST_CASE(values_outside_the_enum_are_named_unknown),
             TEST_CASE(version_string_and_number_match_the_header_macros),
             TEST_CASE(last_error_records_the_failure_and_clear_resets_it),
             TEST_CASE(last_error_is_per_thread),
             TEST_CASE(huge_page_advice_marks_the_range_and_keeps_its_contents))
