package dev.clearclip;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * At most {@link #maxContexts()} native inference contexts of one model, created on first need and
 * lent to one call at a time; a call that finds none idle and the pool full waits for one to come
 * back. Generic over the handle type so it knows nothing of the engine. Lifetime (no borrowing
 * after {@link #freeAll()}) is the owner's business: {@link ClipModel} guards both with its
 * lifecycle lock.
 *
 * @param <C> the context handle
 */
final class ContextPool<C> {

    private final int maxContexts;
    private final int threadsPerContext;
    private final Supplier<C> create;
    private final Consumer<C> free;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition returned = lock.newCondition();
    private final Deque<C> idle = new ArrayDeque<>();
    private final List<C> all = new ArrayList<>();

    ContextPool(ModelOptions.PoolSize size, Supplier<C> create, Consumer<C> free) {
        this.maxContexts = size.contexts();
        this.threadsPerContext = size.threadsPerContext();
        this.create = create;
        this.free = free;
    }

    int maxContexts() {
        return maxContexts;
    }

    int threadsPerContext() {
        return threadsPerContext;
    }

    /** An idle context, a new one if the pool is not full, else the next one given back. */
    C borrow() {
        lock.lock();
        try {
            while (true) {
                C ctx = idle.pollFirst();
                if (ctx != null) {
                    return ctx;
                }
                if (all.size() < maxContexts) {
                    C created = create.get();
                    all.add(created);
                    return created;
                }
                returned.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    void giveBack(C ctx) {
        lock.lock();
        try {
            // most recently used first: its memory is the likeliest to be warm
            idle.addFirst(ctx);
            returned.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Number of contexts created and not yet freed. */
    int created() {
        lock.lock();
        try {
            return all.size();
        } finally {
            lock.unlock();
        }
    }

    /** Frees every context; the caller guarantees none is lent out. */
    void freeAll() {
        lock.lock();
        try {
            for (C ctx : all) {
                free.accept(ctx);
            }
            all.clear();
            idle.clear();
        } finally {
            lock.unlock();
        }
    }
}
