package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The pool sizing rules of ModelOptions' class comment. */
class ModelOptionsTest {

    @Test
    void chosenSizesNeverRunMoreThreadsThanCores() {
        for (int cores = 1; cores <= 128; cores++) {
            ModelOptions.PoolSize both = ModelOptions.pool(0, 0, cores);
            assertThat(both.contexts() * both.threadsPerContext()).as("defaults on %d cores", cores).isEqualTo(cores);
            // the default favours the latency of one caller: every core on the one context
            assertThat(both).isEqualTo(new ModelOptions.PoolSize(1, cores));
            for (int n = 1; n <= cores; n++) {
                ModelOptions.PoolSize contexts = ModelOptions.pool(0, n, cores);
                assertThat(contexts.contexts()).isEqualTo(n);
                assertThat(contexts.threadsPerContext()).isPositive();
                assertThat(contexts.contexts() * contexts.threadsPerContext()).as("%d contexts on %d cores", n, cores).isLessThanOrEqualTo(cores);
                ModelOptions.PoolSize threads = ModelOptions.pool(n, 0, cores);
                assertThat(threads.threadsPerContext()).isEqualTo(n);
                assertThat(threads.contexts()).isPositive();
                assertThat(threads.contexts() * threads.threadsPerContext()).as("%d threads on %d cores", n, cores).isLessThanOrEqualTo(cores);
            }
        }
    }

    @Test
    void moreContextsThanCoresGetOneThreadEach() {
        assertThat(ModelOptions.pool(0, 8, 2)).isEqualTo(new ModelOptions.PoolSize(8, 1));
        assertThat(ModelOptions.pool(8, 0, 2)).isEqualTo(new ModelOptions.PoolSize(1, 8));
    }

    @Test
    void explicitSizesAreKeptEvenWhenTheyOversubscribe() {
        assertThat(ModelOptions.pool(2, 2, 2)).isEqualTo(new ModelOptions.PoolSize(2, 2));
        assertThat(ModelOptions.pool(1, 1, 64)).isEqualTo(new ModelOptions.PoolSize(1, 1));
    }

    @Test
    void defaultsResolveAgainstThisMachine() {
        ModelOptions defaults = ModelOptions.defaults();
        assertThat(defaults.threads()).isZero();
        assertThat(defaults.contexts()).isZero();
        assertThat(defaults.maxContexts() * defaults.threadsPerContext())
                .isLessThanOrEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(defaults.maxImagePixels()).isEqualTo(Images.DEFAULT_MAX_PIXELS);
        assertThat(defaults.toBuilder().build()).isEqualTo(defaults);
    }

    @Test
    void rejectsNegativeSizes() {
        assertThatThrownBy(() -> ModelOptions.builder().threads(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads");
        assertThatThrownBy(() -> ModelOptions.builder().contexts(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contexts");
        assertThatThrownBy(() -> ModelOptions.builder().maxImagePixels(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxImagePixels");
    }
}
