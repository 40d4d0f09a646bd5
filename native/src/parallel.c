/* A parallel loop for the host-side work around the graphs (segmentation's upsampling and
 * per-pixel softmax), on the context's thread count. The graphs themselves run on ggml's
 * thread pool; this work runs between them, so the same cores are free. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct cc_parallel_task {
    cc_parallel_fn fn;
    void *         arg;
    int            ith, nth;
} cc_parallel_task;

static void * cc_parallel_main(void * p) {
    cc_parallel_task * t = p;
    t->fn(t->arg, t->ith, t->nth);
    return NULL;
}

void cc_parallel_run(int n_threads, cc_parallel_fn fn, void * arg) {
    if (n_threads <= 1) {
        fn(arg, 0, 1);
        return;
    }
    /* a thread that cannot be started does its share on the caller, after its own */
    cc_parallel_task * tasks = malloc(sizeof(cc_parallel_task) * (size_t) n_threads);
    pthread_t *        ids   = malloc(sizeof(pthread_t) * (size_t) n_threads);
    bool *             run   = calloc((size_t) n_threads, sizeof(bool));
    if (!tasks || !ids || !run) {
        free(tasks);
        free(ids);
        free(run);
        for (int i = 0; i < n_threads; i++) fn(arg, i, n_threads);
        return;
    }
    for (int i = 1; i < n_threads; i++) {
        tasks[i] = (cc_parallel_task) { fn, arg, i, n_threads };
        run[i] = pthread_create(&ids[i], NULL, cc_parallel_main, &tasks[i]) == 0;
    }
    fn(arg, 0, n_threads);
    for (int i = 1; i < n_threads; i++) {
        if (run[i]) {
            pthread_join(ids[i], NULL);
        } else {
            fn(arg, i, n_threads);
        }
    }
    free(tasks);
    free(ids);
    free(run);
}
