/*
 * arena.c - bump allocator with marks: O(1) alloc, rewind and reset.
 *
 * Algorithm. `cur` is the address of the first unused byte of the buffer;
 * alloc pads it up to the requested alignment (computed on the real address,
 * so a buffer that is only 16-byte aligned still yields 4096-aligned blocks),
 * hands out [cur + pad, cur + pad + size) and moves `cur` past it. Nothing is
 * freed one block at a time: rewind moves `cur` back to a mark, reset to the
 * start. Each reset starts a new epoch; a mark remembers its epoch, so a mark
 * taken before a reset is refused after it, as is a mark beyond `cur`. Within
 * an epoch a mark is only a position (rewinds do not invalidate marks, so
 * marks nest): rewinding to it frees whatever lies past it, even blocks
 * allocated after an earlier rewind to a lower mark.
 *
 * Memory layout. The buffer holds user data only; the control block lives
 * elsewhere:
 *   create     one OS mapping: buffer at its page-aligned start, control block
 *              after it (64-byte aligned), beyond any page trim releases;
 *   create_ex  buffer = cfg->region, control block from malloc;
 *   create_in  control block at the first 64-byte boundary of the caller
 *              memory, buffer right after it.
 *
 * The fast path is one power-of-two test, two compares, one add: size 0
 * takes the slow path (it must return a pointer inside the buffer, so it
 * fails when the arena is full), as does every failure. Overflow cannot
 * occur: the padding is computed as (-cur) mod align and compared against the
 * remaining bytes, never added to an address first.
 *
 * Window (MP_ArenaWindow, the header's inline fast path). The arena records
 * its one open window. A refill moves `cur` past a chunk of at least
 * chunk_bytes and hands [chunk, chunk end) to the window, which bumps inside
 * it inline; giving the tail back (refill, close, reset, rewind) moves `cur`
 * back to the window's position when the chunk is still the last thing
 * allocated, and folds the window's allocation count into the arena's.
 *
 * Invariants that check() verifies (returns how many are violated):
 *   magic intact; base <= cur <= end; end - base == buffer_size > 0;
 *   offset_peak <= buffer_size; epoch >= 1; owner kind known; an open window
 *   points back at the arena and its chunk lies inside [base, cur].
 *
 * Threads. An arena is single-threaded: cfg->flags must be 0, and
 * MP_FLAG_THREAD_SAFE is refused with MP_ERR_INVALID_ARGUMENT (share an arena
 * behind your own lock, or give each thread its own).
 *
 * Sanitizers. The unused tail [cur, end) is poisoned: create poisons the
 * buffer, alloc unpoisons exactly the bytes handed out (alignment padding
 * stays poisoned), rewind and reset re-poison what they give back. Destroy
 * unpoisons the buffer, which may be caller memory.
 */
#include "mp_internal.h"

#include <stdlib.h>

#define MP_ARENA_MAGIC 0x4D504152454E4131ull /* "MPARENA1" */
#define MP_ARENA_CONTROL_ALIGN 64u

typedef enum arena_owner {
    ARENA_OWNS_MAPPING = 1, /* create: buffer and control block in one OS mapping */
    ARENA_OWNS_CONTROL = 2, /* create_ex with a region: control block from malloc */
    ARENA_IN_CALLER = 3     /* create_in: everything in caller memory */
} arena_owner;

struct MP_Arena {
    /* Hot fields first. */
    uintptr_t cur; /* first unused byte */
    uintptr_t end; /* one past the buffer */
    uint64_t alloc_count;
    uint8_t *base;
    size_t buffer_size;
    /* offset_peak is brought up to date lazily: the offset only grows
     * between a rewind or reset, so the peak is max(this, current offset)
     * and the hot path need not compare. */
    size_t offset_peak_before;
    uint64_t failed_alloc_count;
    uint64_t reset_count;
    uint64_t epoch; /* >= 1; bumped by reset */
    void *mapping;  /* ARENA_OWNS_MAPPING: the mapping; ARENA_OWNS_CONTROL: this block */
    size_t mapping_bytes;
    uint64_t magic;
    uint32_t owner;         /* arena_owner */
    MP_ArenaWindow *window; /* the open window, or NULL */
};

/* ------------------------------------------------------------- creation */

/* Validates a config; on error records it and returns the status. */
static MP_Status arena_validate(const MP_ArenaConfig *cfg) {
    if (cfg == NULL || cfg->size == 0 || cfg->flags != 0) {
        return mp_fail(MP_ERR_INVALID_ARGUMENT, cfg == NULL ? 0 : cfg->size, 0, 0);
    }
    if (cfg->size > (size_t)PTRDIFF_MAX) return mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->size, 0, 0);
    return MP_OK;
}

static MP_Arena *arena_init(void *control, uint8_t *buffer, size_t size, arena_owner owner) {
    MP_Arena *a = (MP_Arena *)control;
    memset(a, 0, sizeof *a);
    a->base = buffer;
    a->cur = (uintptr_t)buffer;
    a->end = (uintptr_t)buffer + size;
    a->buffer_size = size;
    a->epoch = 1;
    a->owner = (uint32_t)owner;
    a->magic = MP_ARENA_MAGIC;
    MP_POISON(buffer, size);
    return a;
}

MP_Arena *mp_arena_create_ex(const MP_ArenaConfig *cfg) {
    if (arena_validate(cfg) != MP_OK) return NULL;
    if (cfg->region != NULL) {
        if (cfg->region_bytes < cfg->size) {
            mp_fail(MP_ERR_INVALID_ARGUMENT, cfg->size, cfg->region_bytes, 0);
            return NULL;
        }
        void *control = malloc(sizeof(MP_Arena));
        if (control == NULL) {
            mp_fail(MP_ERR_OUT_OF_MEMORY, sizeof(MP_Arena), 0, 0);
            return NULL;
        }
        MP_Arena *a = arena_init(control, cfg->region, cfg->size, ARENA_OWNS_CONTROL);
        a->mapping = control;
        return a;
    }
    size_t control_at = mp_align_up(cfg->size, MP_ARENA_CONTROL_ALIGN), total;
    if (!mp_add_checked(control_at, sizeof(MP_Arena), &total)) {
        mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->size, 0, 0);
        return NULL;
    }
    uint8_t *map = mp_os_map(total);
    if (map == NULL) {
        mp_fail(MP_ERR_OUT_OF_MEMORY, cfg->size, 0, 0);
        return NULL;
    }
    MP_Arena *a = arena_init(map + control_at, map, cfg->size, ARENA_OWNS_MAPPING);
    a->mapping = map;
    a->mapping_bytes = total;
    return a;
}

MP_Arena *mp_arena_create(size_t size) {
    MP_ArenaConfig cfg = {size, 0, NULL, 0};
    return mp_arena_create_ex(&cfg);
}

/* Caller memory for create_in: slack to the 64-byte boundary, the control
 * block (rounded to 64 bytes), the buffer. */
size_t mp_arena_footprint(const MP_ArenaConfig *cfg) {
    if (arena_validate(cfg) != MP_OK) return 0;
    size_t head = (MP_ARENA_CONTROL_ALIGN - 1) + mp_align_up(sizeof(MP_Arena), MP_ARENA_CONTROL_ALIGN), total;
    if (!mp_add_checked(head, cfg->size, &total)) {
        mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->size, 0, 0);
        return 0;
    }
    return total;
}

MP_Arena *mp_arena_create_in(void *memory, size_t size, const MP_ArenaConfig *cfg) {
    size_t need = mp_arena_footprint(cfg);
    if (need == 0) return NULL;
    if (memory == NULL || size < need) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, need, size, 0);
        return NULL;
    }
    uint8_t *control = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, MP_ARENA_CONTROL_ALIGN);
    uint8_t *buffer = control + mp_align_up(sizeof(MP_Arena), MP_ARENA_CONTROL_ALIGN);
    return arena_init(control, buffer, cfg->size, ARENA_IN_CALLER);
}

static void arena_window_empty(MP_Arena *a);

void mp_arena_destroy(MP_Arena *arena) {
    if (arena == NULL) return;
    if (arena->window != NULL) {
        arena_window_empty(arena);
        arena->window->arena = NULL;
    }
    arena_owner owner = (arena_owner)arena->owner;
    void *mapping = arena->mapping;
    size_t mapping_bytes = arena->mapping_bytes;
    MP_UNPOISON(arena->base, arena->buffer_size);
    arena->magic = 0;
    if (owner == ARENA_OWNS_MAPPING) {
        mp_os_unmap(mapping, mapping_bytes);
    } else if (owner == ARENA_OWNS_CONTROL) {
        free(mapping);
    }
}

/* ------------------------------------------------------------------ alloc */

/* Everything the fast path does not take: size 0, invalid alignment and
 * requests that do not fit. */
static MP_COLD void *arena_alloc_slow(MP_Arena *a, size_t size, size_t align) {
    if (!mp_is_pow2(align)) {
        a->failed_alloc_count++;
        mp_fail(MP_ERR_ALIGNMENT, size, (size_t)(a->end - a->cur), 0);
        return NULL;
    }
    size_t remaining = (size_t)(a->end - a->cur);
    size_t pad = (size_t)(0 - a->cur) & (align - 1);
    size_t largest = pad < remaining ? remaining - pad : 0;
    /* A request of size > 0 that fits never gets here (the fast path takes it). */
    if (size == 0 && pad < remaining) { /* inside the buffer, consumes only the padding */
        a->cur += pad;
        a->alloc_count++;
        return (void *)a->cur;
    }
    a->failed_alloc_count++;
    mp_fail(size > SIZE_MAX - pad ? MP_ERR_SIZE_OVERFLOW : MP_ERR_OUT_OF_MEMORY, size, remaining, largest);
    return NULL;
}

void *mp_arena_alloc(MP_Arena *arena, size_t size, size_t align) {
    if (MP_UNLIKELY(arena == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    uintptr_t cur = arena->cur;
    size_t remaining = (size_t)(arena->end - cur);
    size_t pad = (size_t)(0 - cur) & (align - 1);
    /* align is a power of two iff align ^ (align - 1) > align - 1 (false for
     * 0); size - 1 >= remaining catches size 0 and size > remaining. */
    bool refused = ((align ^ (align - 1)) <= align - 1) | (size - 1 >= remaining) | (pad > remaining - size);
    if (MP_UNLIKELY(refused)) return arena_alloc_slow(arena, size, align);
    uintptr_t block = cur + pad;
    arena->cur = block + size;
    arena->alloc_count++;
    MP_UNPOISON((void *)block, size);
    return (void *)block;
}

/* ------------------------------------------------------ marks and resets */

static size_t arena_offset(const MP_Arena *a) { return (size_t)(a->cur - (uintptr_t)a->base); }

static size_t arena_peak(const MP_Arena *a) {
    size_t offset = arena_offset(a);
    return offset > a->offset_peak_before ? offset : a->offset_peak_before;
}

/* Moves `cur` back to `offset` and poisons what it gives back. */
static void arena_move_back(MP_Arena *a, size_t offset) {
    a->offset_peak_before = arena_peak(a);
    uintptr_t old_cur = a->cur;
    a->cur = (uintptr_t)a->base + offset;
    MP_POISON((void *)a->cur, (size_t)(old_cur - a->cur));
}

MP_Status mp_arena_reset(MP_Arena *arena) {
    if (arena == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    arena_window_empty(arena);
    arena_move_back(arena, 0);
    arena->epoch++;
    arena->reset_count++;
    return MP_OK;
}

MP_ArenaMark mp_arena_mark(const MP_Arena *arena) {
    MP_ArenaMark mark = {0, 0}; /* epoch 0 is never valid: rewinding to it fails */
    if (arena == NULL) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
        return mark;
    }
    mark.offset = arena_offset(arena);
    mark.epoch = arena->epoch;
    return mark;
}

MP_Status mp_arena_rewind(MP_Arena *arena, MP_ArenaMark mark) {
    if (arena == NULL || mark.epoch != arena->epoch || mark.offset > arena_offset(arena))
        return mp_fail(MP_ERR_INVALID_ARGUMENT, mark.offset, 0, 0);
    arena_window_empty(arena); /* may give back a tail the mark lies in */
    if (mark.offset < arena_offset(arena)) arena_move_back(arena, mark.offset);
    return MP_OK;
}

/* ------------------------------------------------------------ inspection */

MP_Status mp_arena_stats(const MP_Arena *arena, MP_ArenaStats *out) {
    if (arena == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    out->offset = arena_offset(arena);
    out->buffer_size = arena->buffer_size;
    out->offset_peak = arena_peak(arena);
    out->alloc_count = arena->alloc_count + (arena->window != NULL ? arena->window->alloc_count : 0);
    out->failed_alloc_count = arena->failed_alloc_count;
    out->reset_count = arena->reset_count;
    return MP_OK;
}

int mp_arena_owns(const MP_Arena *arena, const void *ptr) {
    if (arena == NULL) return 0;
    uintptr_t p = (uintptr_t)ptr;
    return p >= (uintptr_t)arena->base && p < arena->cur;
}

size_t mp_arena_check(const MP_Arena *arena) {
    if (arena == NULL || arena->magic != MP_ARENA_MAGIC) return 1;
    uintptr_t base = (uintptr_t)arena->base;
    size_t violations = 0;
    violations += arena->cur < base || arena->cur > arena->end;
    violations += arena->end < base || arena->end - base != arena->buffer_size || arena->buffer_size == 0;
    violations += arena->offset_peak_before > arena->buffer_size;
    violations += arena->epoch == 0;
    violations += arena->owner < ARENA_OWNS_MAPPING || arena->owner > ARENA_IN_CALLER;
    const MP_ArenaWindow *w = arena->window;
    if (w != NULL) {
        violations += w->arena != arena;
        violations += w->cur > w->end;
        violations += w->end != 0 && (w->cur < base || w->end > arena->cur);
    }
    return violations;
}

void *mp_arena_base(const MP_Arena *arena) { return arena == NULL ? NULL : arena->base; }

MP_Status mp_arena_trim(MP_Arena *arena, size_t *released_bytes) {
    if (released_bytes != NULL) *released_bytes = 0;
    if (arena == NULL || released_bytes == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    if (arena->owner != ARENA_OWNS_MAPPING) return MP_OK;
    /* Rounds inward to whole pages: the page holding `cur` stays, and the
     * control block, past `end`, is never reached. */
    *released_bytes = mp_os_release_pages((void *)arena->cur, (size_t)(arena->end - arena->cur));
    return MP_OK;
}

/* ----------------------------------------------------------------- window */

/* Folds the window's count into the arena, gives its unused tail back when
 * the chunk is still the last allocation, and leaves the window empty. */
static void arena_window_empty(MP_Arena *a) {
    MP_ArenaWindow *w = a->window;
    if (w == NULL) return;
    a->alloc_count += w->alloc_count;
    w->alloc_count = 0;
    if (w->end != 0 && w->end == a->cur) {
        MP_POISON((void *)w->cur, (size_t)(w->end - w->cur));
        a->cur = w->cur;
    }
    w->cur = w->end = 0;
}

#define MP_ARENA_WINDOW_DEFAULT_CHUNK ((size_t)64 << 10)

MP_Status mp_arena_window_open(MP_Arena *arena, MP_ArenaWindow *window, size_t chunk_bytes) {
    if (arena == NULL || window == NULL || arena->window != NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    window->cur = window->end = 0;
    window->alloc_count = 0;
    window->arena = arena;
    window->chunk_bytes = chunk_bytes != 0 ? chunk_bytes : MP_ARENA_WINDOW_DEFAULT_CHUNK;
    arena->window = window;
    return MP_OK;
}

MP_Status mp_arena_window_close(MP_ArenaWindow *window) {
    if (window == NULL || window->arena == NULL || window->arena->window != window)
        return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_Arena *a = window->arena;
    arena_window_empty(a);
    a->window = NULL;
    window->arena = NULL;
    return MP_OK;
}

/* The window could not serve the request inline: return the tail, reserve a
 * chunk of max(chunk_bytes, size + align - 1) bytes (or what is left, when
 * that still holds the request) and bump from it. Requests no chunk can
 * serve (size 0, bad alignment, too large) go to mp_arena_alloc, so they
 * succeed or fail exactly as there. */
void *mp_arena_window_refill_alloc(MP_ArenaWindow *window, size_t size, size_t align) {
    if (window == NULL || window->arena == NULL || window->arena->window != window) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    MP_Arena *a = window->arena;
    arena_window_empty(a);
    size_t remaining = (size_t)(a->end - a->cur);
    if (size == 0 || !mp_is_pow2(align) || size > remaining || align - 1 > remaining - size)
        return mp_arena_alloc(a, size, align);
    size_t need = size + (align - 1);
    size_t chunk = need > window->chunk_bytes ? need : window->chunk_bytes;
    if (chunk > remaining) chunk = remaining;
    window->cur = a->cur;
    window->end = a->cur + chunk;
    a->cur += chunk;
    MP_UNPOISON((void *)window->cur, chunk);
    uintptr_t block = mp_align_up_ptr(window->cur, align);
    window->cur = block + size;
    window->alloc_count = 1;
    return (void *)block;
}
