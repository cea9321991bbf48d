/*
 * The public runtime API (include/mmsp/runtime.h): picks a back end from the format name or
 * the file's contents, holds the loaded model with a reference count, and checks every
 * mmsp_model_run call's tensors against the model's declared inputs and outputs before the
 * back end sees them. Calls: the back ends registered in `backends` (backend.h), libc.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmsp/runtime.h"
#include "runtime/backend.h"

/* Largest model file mmsp_model_load reads. */
#define RUNTIME_MAX_FILE_BYTES ((size_t)256 << 20)

/* The registered back ends, tried in order by content detection. One line per back end. */
static const struct model_backend *const backends[] = {
    &runtime_xgboost_backend,
    &runtime_onnx_backend,
};

struct mmsp_model {
    atomic_long refs;
    const struct model_backend *backend;
    void *state; /* owned; released through backend->release */
    struct model_desc desc;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const struct model_backend *backend_for_format(const char *format)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->format, format) == 0)
            return backends[i];
    return NULL;
}

static const struct model_backend *backend_detect(const void *data, size_t len)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->detect(data, len))
            return backends[i];
    return NULL;
}

mmsp_err mmsp_model_load_buffer(const void *data, size_t len, const char *format, const char *name,
                                mmsp_model **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    mmsp_model *m = NULL;
    const struct model_backend *be;

    if (!name)
        name = "model";
    if (err && errlen)
        err[0] = '\0';
    if (!out || (!data && len)) {
        set_err(err, errlen, "%s: invalid arguments", name);
        rc = MMSP_E_INVALID;
        goto out;
    }
    *out = NULL;
    if (!data)
        data = "";
    if (format) {
        be = backend_for_format(format);
        if (!be) {
            set_err(err, errlen, "%s: no back end for format '%s'", name, format);
            rc = MMSP_E_UNSUPPORTED;
            goto out;
        }
    } else {
        be = backend_detect(data, len);
        if (!be) {
            set_err(err, errlen, "%s: no back end recognises this file", name);
            rc = MMSP_E_UNSUPPORTED;
            goto out;
        }
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        set_err(err, errlen, "%s: out of memory", name);
        rc = MMSP_E_NOMEM;
        goto out;
    }
    rc = be->load(data, len, name, &m->state, &m->desc, err, errlen);
    if (rc)
        goto out;
    m->backend = be;
    m->desc.info.backend = be->name;
    atomic_init(&m->refs, 1);
    *out = m;
    m = NULL;
out:
    free(m);
    return rc;
}

mmsp_err mmsp_model_load(const char *path, mmsp_model **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    FILE *f = NULL;
    char *data = NULL;
    size_t cap = 0, len = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!path || !out) {
        set_err(err, errlen, "model: invalid arguments");
        rc = MMSP_E_INVALID;
        goto out;
    }
    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        rc = errno == ENOENT ? MMSP_E_NOT_FOUND : MMSP_E_IO;
        goto out;
    }
    /* Read in growing chunks so a pipe or a file that changes size is handled too. */
    for (;;) {
        if (len == cap) {
            if (cap >= RUNTIME_MAX_FILE_BYTES) {
                set_err(err, errlen, "%s: file larger than the %zu MB limit", path,
                        RUNTIME_MAX_FILE_BYTES >> 20);
                rc = MMSP_E_TOO_LARGE;
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap > RUNTIME_MAX_FILE_BYTES)
                ncap = RUNTIME_MAX_FILE_BYTES;
            char *p = realloc(data, ncap);
            if (!p) {
                set_err(err, errlen, "%s: out of memory", path);
                rc = MMSP_E_NOMEM;
                goto out;
            }
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                set_err(err, errlen, "%s: read error", path);
                rc = MMSP_E_IO;
                goto out;
            }
            break;
        }
    }
    rc = mmsp_model_load_buffer(data, len, NULL, path, out, err, errlen);
out:
    if (f)
        fclose(f);
    free(data);
    return rc;
}

mmsp_model *mmsp_model_retain(mmsp_model *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void mmsp_model_release(mmsp_model *m)
{
    if (!m)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    m->backend->release(m->state);
    free(m);
}

const mmsp_model_info *mmsp_model_get_info(const mmsp_model *m)
{
    return m ? &m->desc.info : NULL;
}

size_t mmsp_model_input_count(const mmsp_model *m)
{
    return m ? m->desc.n_inputs : 0;
}

size_t mmsp_model_output_count(const mmsp_model *m)
{
    return m ? m->desc.n_outputs : 0;
}

const mmsp_io_info *mmsp_model_input(const mmsp_model *m, size_t i)
{
    return (m && i < m->desc.n_inputs) ? &m->desc.inputs[i] : NULL;
}

const mmsp_io_info *mmsp_model_output(const mmsp_model *m, size_t i)
{
    return (m && i < m->desc.n_outputs) ? &m->desc.outputs[i] : NULL;
}

/*
 * Bytes of a tensor with `io`'s dims where dim 0 == -1 takes `batch`; 0 when another dim is
 * variable, the dtype has no fixed size or the product overflows.
 */
static size_t io_bytes(const mmsp_io_info *io, int64_t batch)
{
    size_t n = mmsp_dtype_size(io->dtype);
    if (n == 0 || batch < 0)
        return 0;
    for (int d = 0; d < io->ndim; d++) {
        int64_t v = io->dims[d];
        if (v == -1 && d == 0)
            v = batch;
        if (v < 0)
            return 0;
        if (v != 0 && n > SIZE_MAX / (size_t)v)
            return 0;
        n *= (size_t)v;
    }
    return n;
}

size_t mmsp_model_output_bytes(const mmsp_model *m, size_t i, int64_t batch)
{
    const mmsp_io_info *io = mmsp_model_output(m, i);
    return io ? io_bytes(io, batch) : 0;
}

/* Checks one input tensor against its description; sets *batch from dim 0 or checks it. */
static mmsp_err check_input(const mmsp_io_info *io, const mmsp_tensor *t, int64_t *batch, char *err,
                            size_t errlen)
{
    if (t->dtype != io->dtype) {
        const char *got = mmsp_dtype_name(t->dtype);
        set_err(err, errlen, "input '%s': datatype %s, expected %s", io->name, got ? got : "?",
                mmsp_dtype_name(io->dtype));
        return MMSP_E_DTYPE;
    }
    if (mmsp_dtype_size(io->dtype) == 0) {
        set_err(err, errlen,
                "input '%s': %s inputs are not supported through this API (no fixed element "
                "size)",
                io->name, mmsp_dtype_name(io->dtype));
        return MMSP_E_UNSUPPORTED;
    }
    if (t->ndim != io->ndim) {
        set_err(err, errlen, "input '%s': %d dims, expected %d", io->name, t->ndim, io->ndim);
        return MMSP_E_SHAPE;
    }
    for (int d = 0; d < io->ndim; d++) {
        if (t->shape[d] < 0) {
            set_err(err, errlen, "input '%s': negative dim %d", io->name, d);
            return MMSP_E_SHAPE;
        }
        if (io->dims[d] != -1 && t->shape[d] != io->dims[d]) {
            set_err(err, errlen, "input '%s': dim %d is %lld, expected %lld", io->name, d,
                    (long long)t->shape[d], (long long)io->dims[d]);
            return MMSP_E_SHAPE;
        }
    }
    /* Only a variable leading dim is a batch: inputs with a fixed dim 0 (a lookup table, a
     * bias fed as an input) do not have to agree with the others. */
    int64_t b = (io->ndim > 0 && io->dims[0] == -1) ? t->shape[0] : -1;
    if (b >= 0 && *batch >= 0 && b != *batch) {
        set_err(err, errlen, "input '%s': batch %lld differs from %lld of an earlier input",
                io->name, (long long)b, (long long)*batch);
        return MMSP_E_SHAPE;
    }
    if (b >= 0)
        *batch = b;
    int64_t elems;
    mmsp_err rc = mmsp_shape_elements(t->shape, t->ndim, &elems);
    if (rc || (uint64_t)elems > SIZE_MAX / mmsp_dtype_size(io->dtype)) {
        set_err(err, errlen, "input '%s': shape too large", io->name);
        return MMSP_E_SHAPE;
    }
    size_t need = (size_t)elems * mmsp_dtype_size(io->dtype);
    if (t->nbytes < need || (need && !t->data)) {
        set_err(err, errlen, "input '%s': %zu bytes of data, shape needs %zu", io->name, t->nbytes,
                need);
        return MMSP_E_SHAPE;
    }
    return MMSP_OK;
}

mmsp_err mmsp_model_run(const mmsp_model *m, const mmsp_tensor *inputs, size_t n_inputs,
                        mmsp_tensor *outputs, size_t n_outputs, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int64_t batch = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!m || (!inputs && n_inputs) || (!outputs && n_outputs)) {
        set_err(err, errlen, "run: invalid arguments");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (n_inputs != m->desc.n_inputs) {
        set_err(err, errlen, "run: %zu inputs given, the model takes %zu", n_inputs,
                m->desc.n_inputs);
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (n_outputs != m->desc.n_outputs) {
        set_err(err, errlen, "run: %zu outputs given, the model has %zu", n_outputs,
                m->desc.n_outputs);
        rc = MMSP_E_INVALID;
        goto out;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        rc = check_input(&m->desc.inputs[i], &inputs[i], &batch, err, errlen);
        if (rc)
            goto out;
    }
    if (batch < 0)
        batch = 1;
    for (size_t i = 0; i < n_outputs; i++) {
        const mmsp_io_info *io = &m->desc.outputs[i];
        size_t need = io_bytes(io, batch);
        if (need == 0 && batch != 0) {
            int dynamic = mmsp_dtype_size(io->dtype) == 0;
            for (int d = 1; d < io->ndim; d++)
                dynamic |= io->dims[d] < 0;
            if (dynamic)
                set_err(err, errlen,
                        "output '%s': its size is only known after the run (a %s output or a "
                        "variable dimension other than the batch); this API needs outputs of "
                        "static size per batch",
                        io->name, mmsp_dtype_name(io->dtype));
            else
                set_err(err, errlen, "output '%s': size for batch %lld overflows", io->name,
                        (long long)batch);
            rc = dynamic ? MMSP_E_UNSUPPORTED : MMSP_E_TOO_LARGE;
            goto out;
        }
        if (outputs[i].nbytes < need || (need && !outputs[i].data)) {
            set_err(err, errlen, "output '%s': buffer of %zu bytes, batch %lld needs %zu", io->name,
                    outputs[i].nbytes, (long long)batch, need);
            rc = MMSP_E_SHAPE;
            goto out;
        }
    }
    rc = m->backend->run(m->state, inputs, outputs, batch, err, errlen);
out:
    return rc;
}
