/*
 * os.c - the only file that talks to the operating system: mapping regions,
 * returning pages, the page size. POSIX (Linux, macOS) only for now.
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
