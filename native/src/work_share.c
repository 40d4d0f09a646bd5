/* Chunks of one custom operation's work shared between ggml's threads by stealing.
 *
 * ggml hands each thread of an operation (ith, nth) and puts a barrier after it, so a thread that
 * is slowed (a busy neighbour on a shared machine, a core at a lower clock) holds all the others
 * at that barrier: with equal static shares, two threads of a ViT-B/16 window spent 1-5% of their
 * time waiting there. Here each thread starts on the same contiguous share as the static split
 * (so it still packs each head, or streams each weight tile, once) and takes chunks from its front;
 * a thread whose share is done takes single chunks from the back of another's.
 *
 * A share is one 64-bit word per thread, [lo, hi) in its two halves, changed only by
 * compare-and-swap. The owner writes its range as it starts; a thread that looks at a share not
 * yet written this run finds the empty range the last run left there, since every share is drained
 * before the operation's barrier. So no reset between runs is needed, and a graph can be run again
 * and again. */
#include "internal.h"

#include <stdatomic.h>

struct cc_work_share {
    intptr_t         data;   /* the operation's own parameters */
    _Atomic uint64_t range[CC_WORK_SHARE_THREADS];
};

static uint64_t cc_range(int64_t lo, int64_t hi) {
    return (uint64_t) lo | ((uint64_t) hi << 32);
}

static int64_t cc_range_lo(uint64_t r) { return (int64_t) (r & 0xFFFFFFFFu); }
static int64_t cc_range_hi(uint64_t r) { return (int64_t) (r >> 32); }

size_t cc_work_share_room(void) {
    return sizeof(cc_work_share) + ggml_tensor_overhead() + 64;
}

cc_work_share * cc_work_share_new(struct ggml_context * ctx, intptr_t data) {
    /* ggml_new_buffer aborts when the context is full: take the room only while it is there
     * (the object header it adds is smaller than a tensor's overhead) */
    if (ggml_get_mem_size(ctx) - ggml_used_mem(ctx) < cc_work_share_room()) return NULL;
    cc_work_share * s = ggml_new_buffer(ctx, sizeof(cc_work_share));
    s->data = data;
    for (int i = 0; i < CC_WORK_SHARE_THREADS; i++) atomic_init(&s->range[i], 0);
    return s;
}

intptr_t cc_work_share_data(const cc_work_share * share) {
    return share->data;
}

void cc_work_begin(cc_work * w, cc_work_share * share, int ith, int nth, int64_t n) {
    const int64_t lo = n * ith / nth, hi = n * (ith + 1) / nth;
    /* beyond the slots or the 32-bit halves: the static split alone */
    const bool shared = share && nth <= CC_WORK_SHARE_THREADS && n < ((int64_t) 1 << 32);
    *w = (cc_work) { .share = shared ? share : NULL, .ith = ith, .nth = nth, .next = lo, .end = hi };
    if (shared) atomic_store_explicit(&share->range[ith], cc_range(lo, hi), memory_order_release);
}

int64_t cc_work_next(cc_work * w) {
    if (!w->share) return w->next < w->end ? w->next++ : -1;
    /* its own range from the front */
    _Atomic uint64_t * own = &w->share->range[w->ith];
    uint64_t r = atomic_load_explicit(own, memory_order_acquire);
    while (cc_range_lo(r) < cc_range_hi(r)) {
        if (atomic_compare_exchange_weak_explicit(own, &r, cc_range(cc_range_lo(r) + 1, cc_range_hi(r)),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            return cc_range_lo(r);
        }
    }
    /* then one chunk from the back of another thread's */
    for (int i = 1; i < w->nth; i++) {
        _Atomic uint64_t * other = &w->share->range[(w->ith + i) % w->nth];
        r = atomic_load_explicit(other, memory_order_acquire);
        while (cc_range_lo(r) < cc_range_hi(r)) {
            if (atomic_compare_exchange_weak_explicit(other, &r, cc_range(cc_range_lo(r), cc_range_hi(r) - 1),
                                                      memory_order_acq_rel, memory_order_acquire)) {
                return cc_range_hi(r) - 1;
            }
        }
    }
    return -1;
}
