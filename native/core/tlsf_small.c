/*
 * tlsf_small.c - small-object spans in front of TLSF
 * (MP_TlsfConfig.small_bytes): requests of up to 512 bytes served from
 * equal slots with no header, for programs that allocate mostly small
 * objects.
 *
 * Why. A TLSF block carries a 16-byte header, so a 48-byte object costs 64
 * bytes, and every free reads that header and coalesces with its
 * neighbours (two or three more cache lines). The allocation traces of
 * real programs (../shared/traces) are 89-98% requests of 128 bytes or
 * less, allocated and freed in separate phases, which a cache of recently
 * freed blocks rarely serves. Spans serve those requests from slots of a
 * fixed size: nothing is written into the heap on alloc or free, and the
 * only metadata read is the span's descriptor.
 *
 * Layout. The heap is cut into chunks of TLSF_SPAN_BYTES (16 KiB) aligned
 * to their size (chunk k starts at chunk_base + k * 16 KiB). A span is a
 * used TLSF block of exactly TLSF_SPAN_AREA payload bytes whose payload
 * starts on a chunk boundary, so the header of the next block ends the
 * chunk and spans can sit side by side; its header carries TLSF_W_SPAN. Its
 * payload is cut into slots of one class (16, 32, ... 256 bytes, then 288,
 * 320, ... 512), slot i at chunk + i * slot_bytes. Outside the heap, in the
 * control block: a byte per chunk (map: class + 1 of the span starting it,
 * 0 = none) and a descriptor per chunk (tlsf_span: a bitmap of free slots,
 * the count of used ones, and links in its class's list of spans with a
 * free slot). A pointer is a small object iff the map names a span for its
 * chunk; the slot index is a multiply by the class's reciprocal.
 *
 * Allocation takes the lowest free slot of the span heading its class's
 * list (a span leaves the list when full, and a span that a free makes
 * non-full goes to the head), so spans fill from their start and the pages
 * a span never used stay untouched. A class with no span with a free slot
 * takes a parked span, else a new one from TLSF (an aligned allocation);
 * when TLSF has no room for one, the request is served by an ordinary
 * block instead. A span that a free empties stays with its class if it is
 * the class's only span with room (so alloc/free pairs do not move spans),
 * else it is parked: kept empty, on a list any class takes spans from
 * first. Parking instead of giving spans back matters: a span needs an
 * aligned block, which TLSF finds only in a free block of twice the span's
 * size, so a span given back is rarely the one taken next and the heap
 * would creep into untouched pages. Trim, reset and an allocation finding
 * no room give every empty span back to TLSF.
 *
 * Hostile input. Frees and reallocs of small objects are validated
 * against the descriptor only: a pointer not at a slot start of the span
 * (MP_ERR_INVALID_ADDRESS) or at a free slot (MP_ERR_DOUBLE_FREE) changes
 * nothing. Free slots hold no metadata, so an overrun from one object into
 * the next corrupts only that object, never the spans' bookkeeping; an
 * overrun past a span's last slot reaches the next block's TLSF header,
 * which validation catches as it does for any block. The span's own header
 * is validated (tag, span flag) when the span goes back to TLSF, and walks
 * take a span flag only where the map and descriptor agree
 * (tlsf_small_span_ok): a forged flag is reported as corruption.
 *
 * realloc of a slot: it stays while the size keeps its class; else it
 * moves (to a slot or a block), and one that cannot move to a smaller size
 * stays where it is. A block realloc, like an alloc, that finds no room
 * gives empty spans back and tries again.
 *
 * Counters: a small object counts its slot size as both usable and
 * requested bytes (the exact request is not kept).
 *
 * Invariants (tlsf_small_check and the span blocks met by mp_tlsf_check's
 * walk): every span block has a payload on a chunk boundary of exactly the
 * span area and a map entry, and every map entry names such a block; a
 * span's class is its map entry's; no free bit past its capacity, no free
 * bit below `low`, used = capacity - free bits; a span is listed iff it
 * has a free slot, in its class's list only, with consistent back links
 * and no cycle; span_count = spans found.
 */
#include "tlsf_small.h"

/* ------------------------------------------------------------- set-up */

size_t tlsf_small_chunks(size_t region_bytes) { return (region_bytes >> TLSF_SPAN_LOG2) + 2u; }

size_t tlsf_small_control_bytes(size_t region_bytes, size_t small_bytes) {
    if (small_bytes == 0) return 0;
    size_t chunks = tlsf_small_chunks(region_bytes);
    return mp_align_up(sizeof(tlsf_small), 16u) + mp_align_up(chunks, 16u) + chunks * sizeof(tlsf_span);
}

/* Slot bytes of class c: 16-byte steps to 256, then 32-byte steps. */
static unsigned tlsf_small_class_bytes(unsigned c) { return c < 16u ? (c + 1u) * 16u : 256u + (c - 15u) * 32u; }

void tlsf_small_init(MP_Tlsf *t, void *mem, size_t small_bytes) {
    tlsf_small *s = mem;
    memset(s, 0, sizeof *s);
    s->chunk_base = (uint8_t *)((uintptr_t)t->env.first & ~(uintptr_t)(TLSF_SPAN_BYTES - 1u));
    s->chunk_count = (size_t)((t->env.sentinel - s->chunk_base) >> TLSF_SPAN_LOG2) + 1u;
    s->map = (uint8_t *)mem + mp_align_up(sizeof(tlsf_small), 16u);
    s->spans = (tlsf_span *)(void *)(s->map + mp_align_up(tlsf_small_chunks(t->stats.region_bytes), 16u));
    s->max_bytes = small_bytes;
    unsigned c = 0;
    for (unsigned i = 0; i <= TLSF_SMALL_MAX >> 4; i++) {
        while (tlsf_small_class_bytes(c) < i * 16u) c++;
        s->class_of[i] = (uint8_t)c;
    }
    s->class_count = (unsigned)s->class_of[(small_bytes + 15u) >> 4] + 1u;
    for (c = 0; c < TLSF_SMALL_CLASSES; c++) {
        unsigned bytes = tlsf_small_class_bytes(c);
        s->slot_bytes[c] = (uint16_t)bytes;
        s->capacity[c] = (uint16_t)(TLSF_SPAN_AREA / bytes);
        s->recip[c] = (uint32_t)((((uint64_t)1 << 32) + bytes - 1u) / bytes);
    }
    t->small = s;
    t->small_fast = (t->flags & MP_FLAG_THREAD_SAFE) ? 0 : small_bytes;
}

void tlsf_small_format(MP_Tlsf *t) {
    tlsf_small *s = t->small;
    if (s == NULL) return;
    memset(s->map, 0, s->chunk_count);
    memset(s->avail, 0, sizeof s->avail);
    s->span_count = 0;
    s->parked = 0;
    s->parked_count = 0;
}

/* ------------------------------------------------------------ span life */

/* Makes span `h` an empty span of class c, listed. */
static void tlsf_small_format_span(tlsf_small *s, uint32_t h, unsigned c) {
    tlsf_span *sp = &s->spans[h - 1u];
    memset(sp, 0, sizeof *sp);
    sp->cls = (uint8_t)c;
    sp->slot = s->slot_bytes[c];
    sp->capacity = s->capacity[c];
    sp->recip = s->recip[c];
    unsigned cap = s->capacity[c];
    for (unsigned w = 0; w < TLSF_SPAN_WORDS; w++) {
        unsigned from = w * 64u;
        sp->free_bits[w] = cap >= from + 64u ? ~0ull : cap > from ? (1ull << (cap - from)) - 1u : 0;
    }
    s->map[h - 1u] = (uint8_t)(c + 1u);
    tlsf_small_link(s, h);
}

uint32_t tlsf_small_new_span(MP_Tlsf *t, unsigned c) {
    tlsf_small *s = t->small;
    uint32_t h = s->parked;
    if (h != 0) {
        s->parked = s->spans[h - 1u].next;
        s->parked_count--;
        tlsf_small_format_span(s, h, c);
        return h;
    }
    uint8_t *payload = tlsf_take_span(t);
    if (payload == NULL) return 0;
    const tlsf_env *e = &t->env;
    uint8_t *b = payload - TLSF_HDR_BYTES;
    uint64_t w0 = tlsf_peek64(b);
    tlsf_hdr_store(e, b, w0 | TLSF_W_SPAN);
    MP_POISON(payload, tlsf_w_bytes(w0) - TLSF_HDR_BYTES);
    h = (uint32_t)((size_t)(payload - s->chunk_base) >> TLSF_SPAN_LOG2) + 1u;
    s->span_count++;
    tlsf_small_format_span(s, h, c);
    return h;
}

/* Gives the span `h` (no object in use, on no list) back to TLSF.
 * MP_ERR_CORRUPTION, and nothing changed, if its header or a neighbour
 * fails validation. */
static MP_Status tlsf_small_release(MP_Tlsf *t, uint32_t h) {
    tlsf_small *s = t->small;
    const tlsf_env *e = &t->env;
    uint8_t *b = tlsf_small_chunk_at(s, h) - TLSF_HDR_BYTES;
    uint64_t w0;
    if (!tlsf_hdr_load(e, b, &w0) || !(w0 & TLSF_W_SPAN) || (w0 & (TLSF_W_FREE | TLSF_W_CACHED)) ||
        tlsf_w_bytes(w0) < TLSF_SPAN_BYTES || !tlsf_fits_heap(e, b, tlsf_w_size(w0)))
        return MP_ERR_CORRUPTION;
    /* The block's header is rewritten by the release; keep the map and the
     * list until it has validated the neighbours. */
    size_t usable, requested;
    MP_Status st = tlsf_release_block(t, b, w0 & ~TLSF_W_SPAN, &usable, &requested);
    if (st != MP_OK) return st;
    s->map[h - 1u] = 0;
    s->span_count--;
    return MP_OK;
}

size_t tlsf_small_release_empty(MP_Tlsf *t) {
    tlsf_small *s = t->small;
    size_t released = 0;
    if (s == NULL) return 0;
    uint32_t h = s->parked, kept = 0;
    s->parked = 0;
    while (h != 0) {
        uint32_t next = s->spans[h - 1u].next;
        if (tlsf_small_release(t, h) == MP_OK) {
            released++;
            s->parked_count--;
        } else {
            s->spans[h - 1u].next = kept; /* stays parked */
            kept = h;
        }
        h = next;
    }
    s->parked = kept;
    for (unsigned c = 0; c < TLSF_SMALL_CLASSES; c++) {
        for (h = s->avail[c]; h != 0;) {
            uint32_t next = s->spans[h - 1u].next;
            if (s->spans[h - 1u].used == 0) {
                tlsf_small_unlink(s, h);
                if (tlsf_small_release(t, h) == MP_OK) {
                    released++;
                } else {
                    tlsf_small_link(s, h);
                }
            }
            h = next;
        }
    }
    return released;
}

MP_Status tlsf_small_free_relist(MP_Tlsf *t, uint32_t h, unsigned used_before) {
    tlsf_small *s = t->small;
    tlsf_span *sp = &s->spans[h - 1u];
    unsigned c = sp->cls, slot = sp->slot;
    if (used_before == sp->capacity) tlsf_small_link(s, h);
    if (used_before == 1u && (s->avail[c] != h || sp->next != 0)) {
        /* Empty and not its class's only span with room: parked. */
        tlsf_small_unlink(s, h);
        sp->next = s->parked;
        sp->listed = TLSF_SPAN_PARKED;
        s->parked = h;
        s->parked_count++;
    }
    tlsf_count_free(t, slot, slot);
    return MP_OK;
}

/* ------------------------------------------------------------- inspect */

bool tlsf_small_has_empty(const MP_Tlsf *t) {
    const tlsf_small *s = t->small;
    if (s == NULL) return false;
    if (s->parked != 0) return true;
    for (unsigned c = 0; c < TLSF_SMALL_CLASSES; c++)
        if (s->avail[c] != 0 && s->spans[s->avail[c] - 1u].used == 0) return true;
    return false;
}

void tlsf_small_usage(const MP_Tlsf *t, size_t *objects, size_t *bytes) {
    const tlsf_small *s = t->small;
    if (s == NULL) return;
    for (size_t h = 0; h < s->chunk_count; h++) {
        if (s->map[h] == 0) continue;
        *objects += s->spans[h].used;
        *bytes += (size_t)s->spans[h].used * s->slot_bytes[s->spans[h].cls];
    }
}

bool tlsf_small_span_ok(const MP_Tlsf *t, const uint8_t *b, uint64_t w0) {
    const tlsf_small *s = t->small;
    const uint8_t *payload = b + TLSF_HDR_BYTES;
    if (s == NULL || ((uintptr_t)payload & (TLSF_SPAN_BYTES - 1u)) != 0 || payload < s->chunk_base ||
        tlsf_w_bytes(w0) < TLSF_SPAN_BYTES || tlsf_w_bytes(w0) > TLSF_SPAN_BYTES + TLSF_MIN_BLOCK_BYTES)
        return false;
    size_t h = (size_t)(payload - s->chunk_base) >> TLSF_SPAN_LOG2;
    return h < s->chunk_count && s->map[h] != 0 && s->spans[h].cls + 1u == s->map[h] &&
           s->spans[h].cls < s->class_count;
}

size_t tlsf_small_span_tally(const MP_Tlsf *t, const uint8_t *b, uint64_t w0, size_t *used, size_t *bytes) {
    if (!tlsf_small_span_ok(t, b, w0)) return 1;
    const tlsf_small *s = t->small;
    size_t h = (size_t)(b + TLSF_HDR_BYTES - s->chunk_base) >> TLSF_SPAN_LOG2;
    const tlsf_span *sp = &s->spans[h];
    size_t bad = 0;
    unsigned c = sp->cls;
    if (sp->slot != s->slot_bytes[c] || sp->capacity != s->capacity[c] || sp->recip != s->recip[c]) bad++;
    unsigned cap = s->capacity[c], free_slots = 0;
    for (unsigned w = 0; w < TLSF_SPAN_WORDS; w++) {
        uint64_t bits = sp->free_bits[w];
        unsigned from = w * 64u;
        uint64_t allowed = cap >= from + 64u ? ~0ull : cap > from ? (1ull << (cap - from)) - 1u : 0;
        if (bits & ~allowed) bad++;
        if (w < sp->low && bits != 0) bad++;
        free_slots += (unsigned)__builtin_popcountll(bits & allowed);
    }
    if (sp->low >= TLSF_SPAN_WORDS) bad++;
    if (sp->used + free_slots != cap) bad++;
    if (sp->listed == TLSF_SPAN_PARKED ? sp->used != 0 : (sp->listed != TLSF_SPAN_FULL) != (free_slots != 0))
        bad++;
    *used += sp->used;
    *bytes += (size_t)sp->used * s->slot_bytes[c];
    return bad;
}

size_t tlsf_small_check(const MP_Tlsf *t, size_t spans_in_heap) {
    const tlsf_small *s = t->small;
    if (s == NULL) return t->small_fast != 0;
    size_t bad = 0, mapped = 0, listed = 0, has_free = 0, parked = 0, parked_found = 0;
    if (s->chunk_base != (uint8_t *)((uintptr_t)t->env.first & ~(uintptr_t)(TLSF_SPAN_BYTES - 1u)) ||
        s->max_bytes == 0 || s->max_bytes > TLSF_SMALL_MAX || t->small_fast != ((t->flags & MP_FLAG_THREAD_SAFE) ? 0 : s->max_bytes))
        bad++;
    for (size_t h = 0; h < s->chunk_count; h++) {
        if (s->map[h] == 0) continue;
        mapped++;
        if (s->spans[h].listed == TLSF_SPAN_LISTED) has_free++;
        if (s->spans[h].listed == TLSF_SPAN_PARKED) parked++;
        if (s->spans[h].listed > TLSF_SPAN_PARKED) bad++;
    }
    if (mapped != spans_in_heap || mapped != s->span_count) bad++;
    for (unsigned c = 0; c < TLSF_SMALL_CLASSES; c++) {
        uint32_t prev = 0;
        for (uint32_t h = s->avail[c]; h != 0; h = s->spans[h - 1u].next) {
            if (h > s->chunk_count || listed > mapped || s->map[h - 1u] != c + 1u) return bad + 1;
            const tlsf_span *sp = &s->spans[h - 1u];
            if (sp->listed != TLSF_SPAN_LISTED || sp->prev != prev) bad++;
            prev = h;
            listed++;
        }
        if (c >= s->class_count && s->avail[c] != 0) bad++;
    }
    if (listed != has_free) bad++;
    for (uint32_t h = s->parked; h != 0; h = s->spans[h - 1u].next) {
        if (h > s->chunk_count || parked_found > mapped || s->map[h - 1u] == 0) return bad + 1;
        if (s->spans[h - 1u].listed != TLSF_SPAN_PARKED) bad++;
        parked_found++;
    }
    if (parked_found != parked || parked != s->parked_count) bad++;
    return bad;
}

int tlsf_small_walk_span(const MP_Tlsf *t, const uint8_t *b, MP_WalkFn fn, void *ctx) {
    const tlsf_small *s = t->small;
    uint8_t *chunk = (uint8_t *)b + TLSF_HDR_BYTES;
    const tlsf_span *sp = &s->spans[(size_t)(chunk - s->chunk_base) >> TLSF_SPAN_LOG2];
    unsigned slot = s->slot_bytes[sp->cls];
    for (unsigned i = 0; i < s->capacity[sp->cls]; i++) {
        bool is_free = (sp->free_bits[i >> 6] >> (i & 63u)) & 1u;
        int stop = fn(chunk + (size_t)i * slot, slot, !is_free, ctx);
        if (stop != 0) return stop;
    }
    return 0;
}

void tlsf_small_free_stats_add(const MP_Tlsf *t, const uint8_t *b, MP_FreeStats *fs) {
    const tlsf_small *s = t->small;
    const uint8_t *chunk = b + TLSF_HDR_BYTES;
    const tlsf_span *sp = &s->spans[(size_t)(chunk - s->chunk_base) >> TLSF_SPAN_LOG2];
    unsigned slot = s->slot_bytes[sp->cls];
    size_t n = (size_t)s->capacity[sp->cls] - sp->used;
    fs->free_bytes += n * slot;
    fs->free_block_count += n;
    if (n != 0 && slot > fs->largest_free_block_bytes) fs->largest_free_block_bytes = slot;
}
