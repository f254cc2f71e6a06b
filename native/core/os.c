/*
 * os.c - the only file that talks to the operating system: mapping regions,
 * returning pages, huge-page advice, the page size. POSIX (Linux, macOS) only
 * for now.
 */
#define _DEFAULT_SOURCE
#include "mp_internal.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

static _Atomic size_t mp_page_size_cache;

size_t mp_os_page_size(void) {
    size_t ps = atomic_load_explicit(&mp_page_size_cache, memory_order_relaxed);
    if (MP_LIKELY(ps != 0)) return ps;
    long v = sysconf(_SC_PAGESIZE);
    ps = v > 0 ? (size_t)v : 4096;
    atomic_store_explicit(&mp_page_size_cache, ps, memory_order_relaxed);
    return ps;
}

void *mp_os_map(size_t size) {
    if (size == 0) return NULL;
    size_t len;
    if (!mp_align_up_checked(size, mp_os_page_size(), &len)) return NULL;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mp_os_unmap(void *ptr, size_t size) {
    if (ptr == NULL || size == 0) return;
    munmap(ptr, mp_align_up(size, mp_os_page_size()));
}

size_t mp_os_release_pages(void *ptr, size_t size) {
    size_t ps = mp_os_page_size();
    uintptr_t start = mp_align_up_ptr((uintptr_t)ptr, ps);
    uintptr_t end = ((uintptr_t)ptr + size) & ~(uintptr_t)(ps - 1);
    if (end <= start) return 0;
    if (madvise((void *)start, end - start, MADV_DONTNEED) != 0) return 0;
    return (size_t)(end - start);
}

#if defined(__linux__) && !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25 /* Linux 6.1; older kernels refuse it (EINVAL) */
#endif

#define MP_HUGE_PAGE_BYTES ((uintptr_t)2 << 20)

MP_Status mp_advise_huge_pages(void *addr, size_t bytes) {
    if (addr == NULL || bytes == 0 || (uintptr_t)addr > UINTPTR_MAX - bytes)
        return mp_fail(MP_ERR_INVALID_ARGUMENT, bytes, 0, 0);
#if defined(MADV_HUGEPAGE)
    /* madvise takes whole pages: the pages wholly inside the range. */
    size_t ps = mp_os_page_size();
    uintptr_t start = mp_align_up_ptr((uintptr_t)addr, ps);
    uintptr_t end = ((uintptr_t)addr + bytes) & ~(uintptr_t)(ps - 1);
    if (end <= start) return MP_OK;
    if (madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) return mp_fail(MP_ERR_UNSUPPORTED, bytes, 0, 0);
#if defined(__linux__)
    /* Pages touched before the advice (a SharedArrayBuffer that calloc
     * cleared, say) keep their small pages until khugepaged gets to them,
     * slowly and on another core; untouched ones get huge pages when first
     * faulted. So each aligned 2 MiB with a resident page now is collapsed
     * at once (best effort: an older kernel refuses, nothing changes), and
     * memory no one touched stays unresident. */
    size_t per_huge = (size_t)(MP_HUGE_PAGE_BYTES / ps);
    unsigned char resident[512];
    if (per_huge <= sizeof resident) {
        for (uintptr_t c = mp_align_up_ptr(start, MP_HUGE_PAGE_BYTES); c <= end && end - c >= MP_HUGE_PAGE_BYTES;
             c += MP_HUGE_PAGE_BYTES) {
            if (mincore((void *)c, MP_HUGE_PAGE_BYTES, resident) != 0) continue;
            unsigned char any = 0;
            for (size_t i = 0; i < per_huge; i++) any |= resident[i];
            if (any & 1u) (void)madvise((void *)c, MP_HUGE_PAGE_BYTES, MADV_COLLAPSE);
        }
    }
#endif
    return MP_OK;
#else
    return mp_fail(MP_ERR_UNSUPPORTED, bytes, 0, 0);
#endif
}
