/*
 * The Thrift compact protocol, as much of it as the Parquet footer and page headers use:
 * reading (a bounded cursor: every length is checked against the bytes left, nesting is
 * limited to THRIFT_MAX_DEPTH, unknown fields of any type are skipped, a struct's fields are
 * handed to a per-struct handler by thrift_struct / thrift_fields) and writing (into a
 * common/buf with a ceiling). Integers are zigzag varints; field headers carry a delta of the
 * field id when it fits in 4 bits.
 * Calls: common/buf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pq_internal.h"

void pq_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool thrift_fail(struct thrift_in *in, const char *fmt, ...)
{
    if (!in->failed && in->err && in->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->err, in->errlen, fmt, ap);
        va_end(ap);
    }
    in->failed = true;
    in->p = in->end;
    return false;
}

static bool varint(struct thrift_in *in, uint64_t *v)
{
    uint64_t r = 0;
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end)
            return thrift_fail(in, "thrift: truncated varint");
        uint8_t b = *in->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return thrift_fail(in, "thrift: varint too long");
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

bool thrift_field(struct thrift_in *in, int16_t *last_id, int *id, int *type)
{
    if (in->failed)
        return false;
    if (in->p >= in->end)
        return thrift_fail(in, "thrift: truncated struct");
    uint8_t b = *in->p++;
    *type = b & 0x0f;
    if (*type == TT_STOP) {
        *id = 0;
        return true;
    }
    int delta = b >> 4;
    if (delta) {
        *id = *last_id + delta;
    } else {
        uint64_t v = 0;
        if (!varint(in, &v))
            return false;
        int64_t fid = unzigzag(v);
        if (fid < -32768 || fid > 32767)
            return thrift_fail(in, "thrift: bad field id");
        *id = (int)fid;
    }
    if (*type > TT_STRUCT)
        return thrift_fail(in, "thrift: bad field type %d", *type);
    *last_id = (int16_t)*id;
    return true;
}

bool thrift_i64(struct thrift_in *in, int type, int64_t *v)
{
    if (type != TT_I64 && type != TT_I32 && type != TT_I16)
        return thrift_fail(in, "thrift: expected an integer (type %d)", type);
    uint64_t u = 0;
    if (!varint(in, &u))
        return false;
    *v = unzigzag(u);
    return true;
}

bool thrift_i32(struct thrift_in *in, int type, int32_t *v)
{
    int64_t w = 0;
    if (type == TT_BYTE) {
        if (in->p >= in->end)
            return thrift_fail(in, "thrift: truncated byte");
        *v = (int8_t)*in->p++;
        return true;
    }
    if (!thrift_i64(in, type, &w))
        return false;
    if (w < INT32_MIN || w > INT32_MAX)
        return thrift_fail(in, "thrift: i32 out of range");
    *v = (int32_t)w;
    return true;
}

bool thrift_bool(int type, bool *v)
{
    if (type != TT_TRUE && type != TT_FALSE)
        return false;
    *v = type == TT_TRUE;
    return true;
}

bool thrift_binary(struct thrift_in *in, int type, const uint8_t **p, size_t *len)
{
    if (type != TT_BINARY)
        return thrift_fail(in, "thrift: expected binary (type %d)", type);
    uint64_t n = 0;
    if (!varint(in, &n))
        return false;
    if (n > (uint64_t)(in->end - in->p))
        return thrift_fail(in, "thrift: binary of %llu bytes past the end", (unsigned long long)n);
    *p = in->p;
    *len = (size_t)n;
    in->p += n;
    return true;
}

bool thrift_list(struct thrift_in *in, int type, int *elem, size_t *n)
{
    if (type != TT_LIST && type != TT_SET)
        return thrift_fail(in, "thrift: expected a list (type %d)", type);
    if (in->p >= in->end)
        return thrift_fail(in, "thrift: truncated list");
    uint8_t b = *in->p++;
    uint64_t size = b >> 4;
    *elem = b & 0x0f;
    if (size == 15 && !varint(in, &size))
        return false;
    /* every element takes at least one byte, except booleans in no list we read */
    if (size > (uint64_t)(in->end - in->p))
        return thrift_fail(in, "thrift: list of %llu elements past the end",
                           (unsigned long long)size);
    if (*elem == TT_STOP || *elem > TT_STRUCT)
        return thrift_fail(in, "thrift: bad list element type %d", *elem);
    *n = (size_t)size;
    return true;
}

bool thrift_enter(struct thrift_in *in, int type)
{
    if (type != TT_STRUCT)
        return thrift_fail(in, "thrift: expected a struct (type %d)", type);
    if (++in->depth > THRIFT_MAX_DEPTH)
        return thrift_fail(in, "thrift: nested too deep");
    return true;
}

void thrift_leave(struct thrift_in *in)
{
    in->depth--;
}

bool thrift_fields(struct thrift_in *in, thrift_field_fn *on_field, void *ctx)
{
    int16_t last = 0;
    int id = 0, t = 0;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            return true;
        if (!on_field(in, id, t, ctx))
            return false;
    }
}

bool thrift_struct(struct thrift_in *in, int type, thrift_field_fn *on_field, void *ctx)
{
    if (!thrift_enter(in, type) || !thrift_fields(in, on_field, ctx))
        return false;
    thrift_leave(in);
    return true;
}

static bool skip_field(struct thrift_in *in, int id, int type, void *ctx)
{
    return thrift_skip(in, type);
}

bool thrift_skip(struct thrift_in *in, int type)
{
    if (in->failed)
        return false;
    uint64_t u = 0;
    const uint8_t *bp = NULL;
    size_t n = 0;
    int elem = 0;
    switch (type) {
    case TT_TRUE:
    case TT_FALSE:
        return true;
    case TT_BYTE:
        if (in->p >= in->end)
            return thrift_fail(in, "thrift: truncated byte");
        in->p++;
        return true;
    case TT_I16:
    case TT_I32:
    case TT_I64:
        return varint(in, &u);
    case TT_DOUBLE:
        if (in->end - in->p < 8)
            return thrift_fail(in, "thrift: truncated double");
        in->p += 8;
        return true;
    case TT_BINARY:
        return thrift_binary(in, type, &bp, &n);
    case TT_LIST:
    case TT_SET:
        if (!thrift_list(in, type, &elem, &n))
            return false;
        if (++in->depth > THRIFT_MAX_DEPTH)
            return thrift_fail(in, "thrift: nested too deep");
        for (size_t i = 0; i < n; i++) {
            if (elem == TT_TRUE || elem == TT_FALSE) { /* one byte each inside a list */
                if (in->p >= in->end)
                    return thrift_fail(in, "thrift: truncated list");
                in->p++;
            } else if (!thrift_skip(in, elem)) {
                return false;
            }
        }
        in->depth--;
        return true;
    case TT_MAP: {
        if (!varint(in, &u))
            return false;
        if (u == 0)
            return true;
        if (in->p >= in->end)
            return thrift_fail(in, "thrift: truncated map");
        uint8_t kv = *in->p++;
        if (u > (uint64_t)(in->end - in->p))
            return thrift_fail(in, "thrift: map past the end");
        if (++in->depth > THRIFT_MAX_DEPTH)
            return thrift_fail(in, "thrift: nested too deep");
        for (uint64_t i = 0; i < u; i++) {
            int kt = kv >> 4, vt = kv & 0x0f;
            if (kt == TT_STOP || kt > TT_STRUCT || vt == TT_STOP || vt > TT_STRUCT)
                return thrift_fail(in, "thrift: bad map types");
            for (int k = 0; k < 2; k++) {
                int t = k ? vt : kt;
                if (t == TT_TRUE || t == TT_FALSE) {
                    if (in->p >= in->end)
                        return thrift_fail(in, "thrift: truncated map");
                    in->p++;
                } else if (!thrift_skip(in, t)) {
                    return false;
                }
            }
        }
        in->depth--;
        return true;
    }
    case TT_STRUCT:
        return thrift_struct(in, type, skip_field, NULL);
    default:
        return thrift_fail(in, "thrift: bad type %d", type);
    }
}

/* ---- writing ---- */

void thrift_out_init(struct thrift_out *o, struct buf *b)
{
    memset(o, 0, sizeof *o);
    o->b = b;
}

static void put(struct thrift_out *o, const void *p, size_t n)
{
    if (o->rc)
        return;
    o->rc = buf_append(o->b, p, n);
}

static void put_varint(struct thrift_out *o, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(o, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void field(struct thrift_out *o, int id, int type)
{
    int16_t *last = &o->last[o->depth];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        put(o, &b, 1);
    } else {
        uint8_t b = (uint8_t)type;
        put(o, &b, 1);
        put_varint(o, zigzag(id));
    }
    *last = (int16_t)id;
}

void thrift_w_i32(struct thrift_out *o, int id, int32_t v)
{
    field(o, id, TT_I32);
    put_varint(o, zigzag(v));
}

void thrift_w_i64(struct thrift_out *o, int id, int64_t v)
{
    field(o, id, TT_I64);
    put_varint(o, zigzag(v));
}

void thrift_w_bool(struct thrift_out *o, int id, bool v)
{
    field(o, id, v ? TT_TRUE : TT_FALSE);
}

void thrift_w_binary(struct thrift_out *o, int id, const void *p, size_t len)
{
    field(o, id, TT_BINARY);
    put_varint(o, len);
    put(o, p, len);
}

void thrift_w_struct_begin(struct thrift_out *o, int id)
{
    if (id)
        field(o, id, TT_STRUCT);
    if (o->depth + 1 >= THRIFT_MAX_DEPTH) {
        o->rc = MMSP_E_INTERNAL;
        return;
    }
    o->last[++o->depth] = 0;
}

void thrift_w_struct_end(struct thrift_out *o)
{
    uint8_t stop = 0;
    put(o, &stop, 1);
    if (o->depth > 0)
        o->depth--;
}

void thrift_w_list_begin(struct thrift_out *o, int id, int elem_type, size_t n)
{
    field(o, id, TT_LIST);
    if (n < 15) {
        uint8_t b = (uint8_t)(n << 4 | (size_t)elem_type);
        put(o, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xf0 | elem_type);
        put(o, &b, 1);
        put_varint(o, n);
    }
}

void thrift_w_list_i32(struct thrift_out *o, int32_t v)
{
    put_varint(o, zigzag(v));
}

void thrift_w_list_binary(struct thrift_out *o, const void *p, size_t len)
{
    put_varint(o, len);
    put(o, p, len);
}

void thrift_w_stop(struct thrift_out *o)
{
    uint8_t stop = 0;
    put(o, &stop, 1);
}
