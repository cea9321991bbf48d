/*
 * The runtime's back-end vtable. model.c (the public API of include/mmsp/runtime.h) owns
 * everything generic: reference counting, the io descriptions, checking the caller's tensors
 * against them. A back end only turns bytes into an opaque state and runs validated tensors
 * through it.
 *
 * Adding a back end (e.g. ONNX): write src/runtime/<name>/<name>.c defining
 *     const struct model_backend runtime_<name>_backend = {...};
 * declare it below, and add one line to the `backends` table in model.c. docs/runtime.md
 * walks through it. Back ends may call common/ and libc; they never call model.c.
 */
#ifndef MMSP_RUNTIME_BACKEND_H
#define MMSP_RUNTIME_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/runtime.h"

/* Most inputs or outputs a model may declare. */
#define RUNTIME_MAX_IO 16

/*
 * What a back end's load fills in. Strings and arrays it points to are owned by the back
 * end's state and live until its release(state) is called.
 */
struct model_desc {
    mmsp_model_info info;
    size_t n_inputs, n_outputs;
    mmsp_io_info inputs[RUNTIME_MAX_IO];
    mmsp_io_info outputs[RUNTIME_MAX_IO];
};

struct model_backend {
    const char *name;   /* "xgboost": mmsp_model_info.backend */
    const char *format; /* "xgboost_json": the format argument of mmsp_model_load_buffer */

    /* Nonzero when the bytes look like this back end's format (cheap: a prefix sniff). */
    int (*detect)(const void *data, size_t len);

    /*
     * Parses and validates data[0..len) (not kept after return). On success *state is a new
     * state owned by the caller (freed with release) and *desc describes it. On failure
     * writes "<name>: <what is wrong>" into err. Must never crash or hang on any input.
     */
    mmsp_err (*load)(const void *data, size_t len, const char *name, void **state,
                     struct model_desc *desc, char *err, size_t errlen);

    /*
     * Runs `batch` rows. model.c has already checked inputs (count, dtype, dims, nbytes) and
     * outputs (count, data, nbytes >= the size for batch). run writes the output values and
     * each output's name/dtype/ndim/shape. Must be thread-safe on a shared state.
     */
    mmsp_err (*run)(const void *state, const mmsp_tensor *inputs, mmsp_tensor *outputs,
                    int64_t batch, char *err, size_t errlen);

    /* Frees a state returned by load. */
    void (*release)(void *state);
};

/* The registered back ends (see `backends` in model.c). */
extern const struct model_backend runtime_xgboost_backend;
extern const struct model_backend runtime_onnx_backend;

#endif
