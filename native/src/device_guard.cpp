// The engine's only C++: ggml's GPU backends report some device failures by throwing (Vulkan's
// vk::DeviceLostError and vk::SystemError, e.g. out of device memory, std::bad_alloc). An
// exception must not unwind into the engine's C frames and on into the JVM's native call, where
// it would end the process; these wrappers catch it at the ggml call and turn it into a status
// and a message (internal.h, "device guard").
// internal.h is C; the three declarations it has for these are repeated here with C linkage.
#include "ggml-backend.h"

#include <cstdio>
#include <exception>
#include <new>

extern "C" {
enum ggml_status cc_guarded_sched_compute(ggml_backend_sched_t sched, struct ggml_cgraph * gf,
                                          char * what, size_t size);
bool cc_guarded_tensor_set(struct ggml_tensor * t, const void * data, size_t offset, size_t n,
                           char * what, size_t size);
ggml_backend_t cc_guarded_dev_init(ggml_backend_dev_t dev, char * what, size_t size);
}

static void cc_guard_message(char * what, size_t size, const char * text) {
    if (what && size) std::snprintf(what, size, "%s", text ? text : "unknown exception");
}

extern "C" enum ggml_status cc_guarded_sched_compute(ggml_backend_sched_t sched,
                                                     struct ggml_cgraph * gf, char * what,
                                                     size_t size) {
    try {
        return ggml_backend_sched_graph_compute(sched, gf);
    } catch (const std::bad_alloc & e) {
        cc_guard_message(what, size, e.what());
        return GGML_STATUS_ALLOC_FAILED;
    } catch (const std::exception & e) {
        cc_guard_message(what, size, e.what());
        return GGML_STATUS_FAILED;
    } catch (...) {
        cc_guard_message(what, size, NULL);
        return GGML_STATUS_FAILED;
    }
}

extern "C" bool cc_guarded_tensor_set(struct ggml_tensor * t, const void * data, size_t offset,
                                      size_t n, char * what, size_t size) {
    try {
        ggml_backend_tensor_set(t, data, offset, n);
        return true;
    } catch (const std::exception & e) {
        cc_guard_message(what, size, e.what());
    } catch (...) {
        cc_guard_message(what, size, NULL);
    }
    return false;
}

extern "C" ggml_backend_t cc_guarded_dev_init(ggml_backend_dev_t dev, char * what, size_t size) {
    try {
        return ggml_backend_dev_init(dev, NULL);
    } catch (const std::exception & e) {
        cc_guard_message(what, size, e.what());
    } catch (...) {
        cc_guard_message(what, size, NULL);
    }
    return NULL;
}
