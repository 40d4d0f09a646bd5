/* The work shares of the engine's custom operations (work_share.c), on threads of the test's own
 * that begin and drain a share as ggml's threads do, run after run: every chunk is done exactly
 * once in every run; a thread that is held back has chunks of its range taken by the others;
 * without a share (or with more threads than it has slots) each thread does exactly its static
 * range; and a context without room gives no share instead of aborting. */
#include "ggml.h"
#include "internal.h"
#include "test_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define MAX_THREADS 80
#define MAX_CHUNKS 1000

typedef struct run_state {
    cc_work_share *    share;
    int                nth;
    int64_t            n;
    int                runs;
    int                delayed;   /* the thread held back at the start of each run, or -1 */
    pthread_barrier_t  start, end;
    _Atomic int        done[MAX_CHUNKS];
    int                by[MAX_CHUNKS];   /* the thread that did each chunk in the last run */
    int                bad_runs;         /* runs where a chunk was done other than once */
    int                stolen;           /* chunks of the delayed thread's range done by another */
} run_state;

typedef struct thread_arg {
    run_state * s;
    int         ith;
} thread_arg;

static void pause_ms(int ms) {
    struct timespec t = { 0, (long) ms * 1000000L };
    nanosleep(&t, NULL);
}

static void * worker(void * p) {
    thread_arg * a = p;
    run_state * s = a->s;
    for (int r = 0; r < s->runs; r++) {
        pthread_barrier_wait(&s->start);
        if (a->ith == s->delayed) pause_ms(20);
        cc_work w;
        cc_work_begin(&w, s->share, a->ith, s->nth, s->n);
        for (int64_t c; (c = cc_work_next(&w)) >= 0;) {
            atomic_fetch_add(&s->done[c], 1);
            s->by[c] = a->ith;
            /* long enough that a held-back thread's range is still there to take from */
            if (s->delayed >= 0) pause_ms(1);
        }
        pthread_barrier_wait(&s->end);
        /* one thread checks the run while the others wait for the next */
        if (a->ith == 0) {
            bool ok = true;
            for (int64_t c = 0; c < s->n; c++) {
                ok = ok && atomic_load(&s->done[c]) == 1;
                atomic_store(&s->done[c], 0);
            }
            if (!ok) s->bad_runs++;
            if (s->delayed >= 0) {
                const int64_t lo = s->n * s->delayed / s->nth, hi = s->n * (s->delayed + 1) / s->nth;
                for (int64_t c = lo; c < hi; c++) s->stolen += s->by[c] != s->delayed;
            }
        }
    }
    return NULL;
}

/* Runs nth threads over n chunks, `runs` times; returns the state for the caller to check. */
static run_state * run(cc_work_share * share, int nth, int64_t n, int runs, int delayed) {
    run_state * s = calloc(1, sizeof(*s));
    s->share = share;
    s->nth = nth;
    s->n = n;
    s->runs = runs;
    s->delayed = delayed;
    pthread_barrier_init(&s->start, NULL, (unsigned) nth);
    pthread_barrier_init(&s->end, NULL, (unsigned) nth);
    pthread_t ids[MAX_THREADS];
    thread_arg args[MAX_THREADS];
    for (int i = 0; i < nth; i++) {
        args[i] = (thread_arg) { s, i };
        CHECK(pthread_create(&ids[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < nth; i++) pthread_join(ids[i], NULL);
    pthread_barrier_destroy(&s->start);
    pthread_barrier_destroy(&s->end);
    return s;
}

int main(void) {
    struct ggml_init_params ip = { cc_work_share_room() * 32, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    CHECK(ctx != NULL);

    /* every chunk once per run, at the thread counts and sizes the graphs have, one share used
     * run after run as a cached graph's is */
    const int threads[] = { 1, 2, 3, 8 };
    const int64_t sizes[] = { 0, 1, 5, 57, MAX_CHUNKS };
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
            cc_work_share * share = cc_work_share_new(ctx, 0);
            CHECK(share != NULL);
            run_state * s = run(share, threads[t], sizes[z], 50, -1);
            CHECK_MSG(s->bad_runs == 0, "%d threads, %lld chunks: %d of 50 runs did a chunk other than once",
                      threads[t], (long long) sizes[z], s->bad_runs);
            free(s);
        }
    }

    /* a thread held back: the others take chunks of its range, and still each is done once */
    cc_work_share * share = cc_work_share_new(ctx, 42);
    CHECK(share != NULL && cc_work_share_data(share) == 42);
    run_state * s = run(share, 2, 40, 5, 1);
    CHECK(s->bad_runs == 0);
    CHECK_MSG(s->stolen > 0, "no chunk of the held-back thread's range was taken by the other");
    free(s);
    s = run(share, 3, 57, 5, 0);
    CHECK(s->bad_runs == 0);
    CHECK(s->stolen > 0);
    free(s);

    /* without a share, and with more threads than a share has slots: the static split, so the
     * held-back thread still does its whole range itself */
    s = run(NULL, 3, 57, 3, 2);
    CHECK(s->bad_runs == 0);
    CHECK_MSG(s->stolen == 0, "%d chunks moved without a share", s->stolen);
    free(s);
    cc_work_share * big = cc_work_share_new(ctx, 0);
    s = run(big, CC_WORK_SHARE_THREADS + 2, 200, 2, 5);
    CHECK(s->bad_runs == 0);
    CHECK_MSG(s->stolen == 0, "%d chunks moved beyond the share's slots", s->stolen);
    free(s);

    /* a full context: no share (and no abort from ggml) */
    struct ggml_init_params small = { cc_work_share_room() * 3, NULL, true };
    struct ggml_context * tiny = ggml_init(small);
    int made = 0;
    while (made < 10 && cc_work_share_new(tiny, 0)) made++;
    /* (the room a share asks for is an upper bound of what it takes) */
    CHECK_MSG(made >= 3 && made < 10, "%d shares in the room for 3", made);
    ggml_free(tiny);

    ggml_free(ctx);
    return test_finish("test_work_share");
}
