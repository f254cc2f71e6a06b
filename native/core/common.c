/*
 * common.c - version, status names and the per-thread last error.
 */
#include "mp_internal.h"

#include <stdatomic.h>

const char *mp_version(void) { return MP_VERSION_STRING; }

int mp_version_number(void) { return MP_VERSION_NUMBER; }

const char *mp_status_str(MP_Status status) {
    switch (status) {
#define MP_STATUS_NAME_(name, value, text) \
    case name:                             \
        return #name;
        MP_STATUS_LIST(MP_STATUS_NAME_)
#undef MP_STATUS_NAME_
    default:
        return "MP_ERR_UNKNOWN";
    }
}

const char *mp_status_description(MP_Status status) {
    switch (status) {
#define MP_STATUS_TEXT_(name, value, text) \
    case name:                             \
        return text;
        MP_STATUS_LIST(MP_STATUS_TEXT_)
#undef MP_STATUS_TEXT_
    default:
        return "unknown status";
    }
}

static _Thread_local MP_ErrorInfo mp_tls_last_error;

MP_Status mp_fail(MP_Status status, size_t requested, size_t available, size_t largest_free) {
    mp_tls_last_error.status = status;
    mp_tls_last_error.requested_bytes = requested;
    mp_tls_last_error.available_bytes = available;
    mp_tls_last_error.largest_free_bytes = largest_free;
    return status;
}

MP_ErrorInfo mp_last_error(void) { return mp_tls_last_error; }

void mp_clear_last_error(void) { memset(&mp_tls_last_error, 0, sizeof mp_tls_last_error); }

void mp_lock_init(mp_lock *l) { atomic_init(&l->locked, 0); }

void mp_lock_acquire(mp_lock *l) {
    for (;;) {
        if (!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)) return;
        while (atomic_load_explicit(&l->locked, memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}

void mp_lock_release(mp_lock *l) { atomic_store_explicit(&l->locked, 0, memory_order_release); }
