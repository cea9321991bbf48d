/*
 * The Parquet writer: buffers appended rows per column, and every row_group_rows rows (and at
 * close) writes a row group: per column an optional dictionary page (STRING columns, when the
 * dictionary is small enough), then data pages (v1 or v2) of page_rows rows each holding
 * definition levels (nullable columns, RLE/bit-packed hybrid) and the values (PLAIN or
 * RLE_DICTIONARY indices), compressed with the chosen codec; min / max / null count statistics
 * per chunk. At close the Thrift footer (FileMetaData) is written, the file fsync'd and renamed
 * from "<path>.tmp" to path, so that path only ever names a complete file.
 * Calls: thrift.c, codec.c, encoding.c, common/buf, libc stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pq_internal.h"

#define META_MAX       (PARQUET_MAX_FOOTER)
#define PAGE_BUF_MAX   ((size_t)PARQUET_MAX_PAGE)
#define DICT_MAX_BYTES (1u << 20) /* a bigger string dictionary falls back to PLAIN */
#define DICT_MAX_N     (1u << 16)

struct wchunk {
    int64_t data_page_offset, dict_page_offset; /* -1: none */
    int64_t total_uncompressed, total_compressed;
    int64_t num_values, null_count;
    bool dict;
    bool has_minmax;
    uint8_t *min, *max; /* owned */
    size_t min_len, max_len;
};

struct wrg {
    int64_t num_rows, file_offset, total_uncompressed, total_compressed;
    struct wchunk *chunks;
};

struct parquet_writer {
    char *path, *tmp;
    FILE *f;
    int64_t offset;
    struct parquet_schema schema;
    struct parquet_writer_options o;
    struct parquet_column *cols; /* buffered rows */
    size_t buffered;
    int64_t rows_total;
    struct wrg *rgs;
    size_t nrg, rg_cap;
    struct buf raw, comp, hdr;
    uint32_t *idx;
    size_t idx_cap;
};

static int codec_id(enum parquet_codec c)
{
    switch (c) {
    case PARQUET_CODEC_SNAPPY:
        return CODEC_SNAPPY;
    case PARQUET_CODEC_ZSTD:
        return CODEC_ZSTD;
    case PARQUET_CODEC_GZIP:
        return CODEC_GZIP;
    default:
        return CODEC_UNCOMPRESSED;
    }
}

static int phys_of(enum parquet_type t)
{
    switch (t) {
    case PARQUET_BOOL:
        return PT_BOOLEAN;
    case PARQUET_INT32:
        return PT_INT32;
    case PARQUET_FLOAT:
        return PT_FLOAT;
    case PARQUET_DOUBLE:
        return PT_DOUBLE;
    case PARQUET_STRING:
        return PT_BYTE_ARRAY;
    default:
        return PT_INT64;
    }
}

void parquet_writer_options_default(struct parquet_writer_options *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PARQUET_CODEC_SNAPPY;
    o->dictionary = true;
    o->page_version = 1;
    o->row_group_rows = 65536;
    o->page_rows = 16384;
}

static void wchunk_free(struct wchunk *c)
{
    free(c->min);
    free(c->max);
}

static void writer_free(struct parquet_writer *w)
{
    if (!w)
        return;
    if (w->f)
        fclose(w->f);
    for (size_t i = 0; i < w->nrg; i++) {
        for (size_t c = 0; c < w->schema.ncols; c++)
            wchunk_free(&w->rgs[i].chunks[c]);
        free(w->rgs[i].chunks);
    }
    free(w->rgs);
    if (w->cols)
        for (size_t c = 0; c < w->schema.ncols; c++)
            parquet_column_free(&w->cols[c]);
    free(w->cols);
    free(w->schema.fields);
    buf_release(&w->raw);
    buf_release(&w->comp);
    buf_release(&w->hdr);
    free(w->idx);
    free(w->path);
    free(w->tmp);
    free(w);
}

mmsp_err parquet_writer_open(const char *path, const struct parquet_schema *schema,
                             const struct parquet_writer_options *opts, struct parquet_writer **out,
                             char *err, size_t errlen)
{
    *out = NULL;
    mmsp_err rc = MMSP_E_NOMEM;
    if (!schema || schema->ncols == 0 || schema->ncols > PARQUET_MAX_COLUMNS) {
        pq_errf(err, errlen, "parquet: a schema needs 1 to %d columns", PARQUET_MAX_COLUMNS);
        return MMSP_E_INVALID;
    }
    for (size_t i = 0; i < schema->ncols; i++) {
        const struct parquet_field *f = &schema->fields[i];
        if ((unsigned)f->type >= PARQUET_TYPE_COUNT || !f->name[0] ||
            strnlen(f->name, sizeof f->name) > PARQUET_MAX_NAME) {
            pq_errf(err, errlen, "parquet: column %zu: bad type or name", i);
            return MMSP_E_INVALID;
        }
    }
    struct parquet_writer_options o;
    if (opts)
        o = *opts;
    else
        parquet_writer_options_default(&o);
    if ((o.page_version != 1 && o.page_version != 2) || o.row_group_rows == 0 ||
        (unsigned)o.codec > PARQUET_CODEC_GZIP) {
        pq_errf(err, errlen, "parquet: bad writer options (page version 1 or 2, rows > 0)");
        return MMSP_E_INVALID;
    }
    if (o.page_rows == 0)
        o.page_rows = 16384;
    struct parquet_writer *w = calloc(1, sizeof *w);
    if (!w)
        return MMSP_E_NOMEM;
    w->o = o;
    buf_init(&w->raw, PAGE_BUF_MAX);
    buf_init(&w->comp, PAGE_BUF_MAX);
    buf_init(&w->hdr, META_MAX);
    size_t plen = strlen(path);
    w->path = strdup(path);
    w->tmp = malloc(plen + 5);
    w->schema.fields = malloc(schema->ncols * sizeof *w->schema.fields);
    w->cols = calloc(schema->ncols, sizeof *w->cols);
    if (!w->path || !w->tmp || !w->schema.fields || !w->cols)
        goto out;
    memcpy(w->tmp, path, plen);
    memcpy(w->tmp + plen, ".tmp", 5);
    memcpy(w->schema.fields, schema->fields, schema->ncols * sizeof *w->schema.fields);
    w->schema.ncols = schema->ncols;
    for (size_t i = 0; i < schema->ncols; i++)
        parquet_column_init(&w->cols[i], schema->fields[i].type);
    w->f = fopen(w->tmp, "wbe");
    if (!w->f) {
        pq_errf(err, errlen, "%s: %s", w->tmp, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    if (fwrite("PAR1", 1, 4, w->f) != 4) {
        pq_errf(err, errlen, "%s: write failed", w->tmp);
        rc = MMSP_E_IO;
        goto out;
    }
    w->offset = 4;
    *out = w;
    return MMSP_OK;
out:
    if (rc == MMSP_E_NOMEM)
        pq_errf(err, errlen, "parquet: out of memory");
    if (w->f)
        unlink(w->tmp);
    writer_free(w);
    return rc;
}

/* Appends rows [from, from + k) of src to the buffered column dst. */
static mmsp_err copy_rows(struct parquet_column *dst, const struct parquet_column *src, size_t from,
                          size_t k)
{
    size_t need = dst->rows + k;
    if (need > dst->cap) {
        size_t ncap = dst->cap ? dst->cap : 1024;
        while (ncap < need)
            ncap *= 2;
        if (dst->type == PARQUET_STRING) {
            uint64_t *o = realloc(dst->offsets, (ncap + 1) * sizeof *o);
            if (!o)
                return MMSP_E_NOMEM;
            if (!dst->offsets)
                o[0] = 0;
            dst->offsets = o;
        } else {
            void *v = realloc(dst->values, ncap * parquet_type_size(dst->type));
            if (!v)
                return MMSP_E_NOMEM;
            dst->values = v;
        }
        uint8_t *valid = realloc(dst->valid, ncap);
        if (!valid)
            return MMSP_E_NOMEM;
        dst->valid = valid;
        dst->cap = ncap;
    }
    if (!dst->valid) {
        dst->valid = malloc(dst->cap ? dst->cap : 1);
        if (!dst->valid)
            return MMSP_E_NOMEM;
    }
    if (src->valid)
        memcpy(dst->valid + dst->rows, src->valid + from, k);
    else
        memset(dst->valid + dst->rows, 1, k);
    if (dst->type == PARQUET_STRING) {
        uint64_t s0 = src->offsets[from], s1 = src->offsets[from + k];
        uint64_t used = dst->offsets[dst->rows];
        if (s1 < s0 || s1 - s0 > (1ull << 31) || used + (s1 - s0) > (1ull << 31))
            return MMSP_E_TOO_LARGE;
        if (used + (s1 - s0) > dst->data_cap) {
            size_t ncap = dst->data_cap ? dst->data_cap : 4096;
            while (ncap < used + (s1 - s0))
                ncap *= 2;
            char *d = realloc(dst->data, ncap);
            if (!d)
                return MMSP_E_NOMEM;
            dst->data = d;
            dst->data_cap = ncap;
        }
        if (s1 > s0)
            memcpy(dst->data + used, src->data + s0, s1 - s0);
        for (size_t i = 0; i < k; i++)
            dst->offsets[dst->rows + i + 1] = used + (src->offsets[from + i + 1] - s0);
    } else {
        size_t es = parquet_type_size(dst->type);
        memcpy((char *)dst->values + dst->rows * es, (const char *)src->values + from * es, k * es);
    }
    dst->rows += k;
    return MMSP_OK;
}

static mmsp_err put(struct parquet_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
    if (n && fwrite(p, 1, n, w->f) != n) {
        pq_errf(err, errlen, "%s: write failed: %s", w->tmp, strerror(errno));
        return MMSP_E_IO;
    }
    w->offset += (int64_t)n;
    return MMSP_OK;
}

/* Writes a page: header (built from the arguments) + w->comp. v2: def_len bytes of levels at
 * the start of comp are uncompressed. */
static mmsp_err write_page(struct parquet_writer *w, int type, size_t usize, int32_t num_values,
                           int32_t num_nulls, int encoding, int32_t def_len, bool compressed,
                           struct wchunk *ch, char *err, size_t errlen)
{
    if (usize > INT32_MAX || w->comp.len > INT32_MAX) {
        pq_errf(err, errlen, "parquet: page too large");
        return MMSP_E_TOO_LARGE;
    }
    buf_reset(&w->hdr);
    struct thrift_out o;
    thrift_out_init(&o, &w->hdr);
    thrift_w_i32(&o, 1, type);
    thrift_w_i32(&o, 2, (int32_t)usize);
    thrift_w_i32(&o, 3, (int32_t)w->comp.len);
    if (type == PAGE_DICTIONARY) {
        thrift_w_struct_begin(&o, 7);
        thrift_w_i32(&o, 1, num_values);
        thrift_w_i32(&o, 2, encoding);
        thrift_w_struct_end(&o);
    } else if (type == PAGE_DATA) {
        thrift_w_struct_begin(&o, 5);
        thrift_w_i32(&o, 1, num_values);
        thrift_w_i32(&o, 2, encoding);
        thrift_w_i32(&o, 3, ENC_RLE);
        thrift_w_i32(&o, 4, ENC_RLE);
        thrift_w_struct_end(&o);
    } else {
        thrift_w_struct_begin(&o, 8);
        thrift_w_i32(&o, 1, num_values);
        thrift_w_i32(&o, 2, num_nulls);
        thrift_w_i32(&o, 3, num_values);
        thrift_w_i32(&o, 4, encoding);
        thrift_w_i32(&o, 5, def_len);
        thrift_w_i32(&o, 6, 0);
        thrift_w_bool(&o, 7, compressed);
        thrift_w_struct_end(&o);
    }
    thrift_w_stop(&o);
    if (o.rc) {
        pq_errf(err, errlen, "parquet: page header too large");
        return o.rc;
    }
    mmsp_err rc = put(w, w->hdr.data, w->hdr.len, err, errlen);
    if (!rc)
        rc = put(w, w->comp.data, w->comp.len, err, errlen);
    ch->total_uncompressed += (int64_t)(w->hdr.len + usize);
    ch->total_compressed += (int64_t)(w->hdr.len + w->comp.len);
    return rc;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

/* Builds the dictionary of a string column: idx[i] = entry of row i (non-null rows), entries
 * listed by their first row in *first (owned by the caller). false when too big. */
static bool build_dict(const struct parquet_column *c, size_t rows, uint32_t *idx, size_t **first,
                       size_t *n_out)
{
    size_t tsize = 16;
    while (tsize < rows * 2)
        tsize *= 2;
    int32_t *table = malloc(tsize * sizeof *table);
    size_t *fr = malloc((rows ? rows : 1) * sizeof *fr);
    bool ok = table && fr;
    size_t n = 0, bytes = 0;
    if (ok)
        memset(table, 0xff, tsize * sizeof *table);
    for (size_t i = 0; ok && i < rows; i++) {
        if (!c->valid[i])
            continue;
        const char *s = c->data + c->offsets[i];
        size_t len = c->offsets[i + 1] - c->offsets[i];
        size_t h = hash_bytes(s, len) & (tsize - 1);
        for (;;) {
            int32_t e = table[h];
            if (e < 0) {
                if (n >= DICT_MAX_N || bytes + len + 4 > DICT_MAX_BYTES) {
                    ok = false;
                    break;
                }
                table[h] = (int32_t)n;
                fr[n] = i;
                idx[i] = (uint32_t)n++;
                bytes += len + 4;
                break;
            }
            size_t j = fr[e];
            size_t jl = c->offsets[j + 1] - c->offsets[j];
            if (jl == len && memcmp(c->data + c->offsets[j], s, len) == 0) {
                idx[i] = (uint32_t)e;
                break;
            }
            h = (h + 1) & (tsize - 1);
        }
    }
    free(table);
    if (!ok) {
        free(fr);
        return false;
    }
    *first = fr;
    *n_out = n;
    return true;
}

/* Appends the PLAIN encoding of non-null rows [r0, r1) of c to b. */
static mmsp_err plain(const struct parquet_column *c, size_t r0, size_t r1, struct buf *b)
{
    mmsp_err rc = MMSP_OK;
    size_t es = parquet_type_size(c->type);
    if (c->type == PARQUET_BOOL) {
        char *at;
        size_t n = 0;
        for (size_t i = r0; i < r1; i++)
            n += c->valid[i];
        rc = buf_reserve(b, (n + 7) / 8, &at);
        if (rc)
            return rc;
        memset(at, 0, (n + 7) / 8);
        size_t k = 0;
        for (size_t i = r0; i < r1; i++)
            if (c->valid[i]) {
                if (((const uint8_t *)c->values)[i])
                    at[k >> 3] = (char)(at[k >> 3] | (1 << (k & 7)));
                k++;
            }
        b->len += (n + 7) / 8;
        return MMSP_OK;
    }
    for (size_t i = r0; i < r1 && !rc; i++) {
        if (!c->valid[i])
            continue;
        if (c->type == PARQUET_STRING) {
            uint64_t len = c->offsets[i + 1] - c->offsets[i];
            uint8_t l[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                            (uint8_t)(len >> 24)};
            rc = buf_append(b, l, 4);
            if (!rc)
                rc = buf_append(b, c->data + c->offsets[i], len);
        } else {
            rc = buf_append(b, (const char *)c->values + i * es, es);
        }
    }
    return rc;
}

/* Statistics of the buffered column (non-null rows). */
static mmsp_err stats(const struct parquet_column *c, size_t rows, struct wchunk *ch)
{
    size_t es = parquet_type_size(c->type);
    size_t lo = SIZE_MAX, hi = SIZE_MAX;
    for (size_t i = 0; i < rows; i++) {
        if (!c->valid[i]) {
            ch->null_count++;
            continue;
        }
        if (lo == SIZE_MAX) {
            bool nan = (c->type == PARQUET_FLOAT && isnan(((const float *)c->values)[i])) ||
                       (c->type == PARQUET_DOUBLE && isnan(((const double *)c->values)[i]));
            if (!nan)
                lo = hi = i;
            continue;
        }
        int lt = 0, gt = 0;
        switch (c->type) {
        case PARQUET_BOOL:
        case PARQUET_INT32:
        case PARQUET_INT64:
        case PARQUET_TIMESTAMP_MS:
        case PARQUET_TIMESTAMP_US: {
            int64_t v, a, b;
            if (c->type == PARQUET_BOOL) {
                v = ((const uint8_t *)c->values)[i];
                a = ((const uint8_t *)c->values)[lo];
                b = ((const uint8_t *)c->values)[hi];
            } else if (c->type == PARQUET_INT32) {
                v = ((const int32_t *)c->values)[i];
                a = ((const int32_t *)c->values)[lo];
                b = ((const int32_t *)c->values)[hi];
            } else {
                v = ((const int64_t *)c->values)[i];
                a = ((const int64_t *)c->values)[lo];
                b = ((const int64_t *)c->values)[hi];
            }
            lt = v < a;
            gt = v > b;
            break;
        }
        case PARQUET_FLOAT:
        case PARQUET_DOUBLE: {
            double v, a, b;
            if (c->type == PARQUET_FLOAT) {
                v = ((const float *)c->values)[i];
                a = ((const float *)c->values)[lo];
                b = ((const float *)c->values)[hi];
            } else {
                v = ((const double *)c->values)[i];
                a = ((const double *)c->values)[lo];
                b = ((const double *)c->values)[hi];
            }
            if (isnan(v))
                continue;
            lt = v < a;
            gt = v > b;
            break;
        }
        default: {
            size_t l = c->offsets[i + 1] - c->offsets[i];
            const char *s = c->data + c->offsets[i];
            size_t la = c->offsets[lo + 1] - c->offsets[lo];
            size_t lb = c->offsets[hi + 1] - c->offsets[hi];
            int ca = memcmp(s, c->data + c->offsets[lo], l < la ? l : la);
            int cb = memcmp(s, c->data + c->offsets[hi], l < lb ? l : lb);
            lt = ca < 0 || (ca == 0 && l < la);
            gt = cb > 0 || (cb == 0 && l > lb);
            break;
        }
        }
        if (lt)
            lo = i;
        if (gt)
            hi = i;
    }
    if (lo == SIZE_MAX)
        return MMSP_OK;
    const void *pmin, *pmax;
    size_t lmin, lmax;
    if (c->type == PARQUET_STRING) {
        pmin = c->data + c->offsets[lo];
        lmin = c->offsets[lo + 1] - c->offsets[lo];
        pmax = c->data + c->offsets[hi];
        lmax = c->offsets[hi + 1] - c->offsets[hi];
    } else {
        pmin = (const char *)c->values + lo * es;
        pmax = (const char *)c->values + hi * es;
        lmin = lmax = es;
    }
    ch->min = malloc(lmin ? lmin : 1);
    ch->max = malloc(lmax ? lmax : 1);
    if (!ch->min || !ch->max)
        return MMSP_E_NOMEM;
    memcpy(ch->min, pmin, lmin);
    memcpy(ch->max, pmax, lmax);
    ch->min_len = lmin;
    ch->max_len = lmax;
    ch->has_minmax = true;
    return MMSP_OK;
}

static int bit_width(size_t n)
{
    int bw = 0;
    while (bw < 32 && (n >> bw) != 0)
        bw++;
    return bw;
}

static mmsp_err write_chunk(struct parquet_writer *w, size_t col, struct wchunk *ch, char *err,
                            size_t errlen)
{
    const struct parquet_column *c = &w->cols[col];
    bool nullable = w->schema.fields[col].nullable;
    size_t rows = w->buffered;
    int codec = codec_id(w->o.codec);
    int v2 = w->o.page_version == 2;
    size_t *first = NULL;
    size_t ndict = 0;
    mmsp_err rc;
    ch->dict_page_offset = -1;
    ch->num_values = (int64_t)rows;
    rc = stats(c, rows, ch);
    if (rc)
        goto out;
    if (!nullable && ch->null_count) {
        pq_errf(err, errlen, "parquet: column %s is not nullable but has nulls",
                w->schema.fields[col].name);
        rc = MMSP_E_INVALID;
        goto out;
    }
    rc = MMSP_E_NOMEM;
    if (c->type == PARQUET_STRING && w->o.dictionary) {
        if (w->idx_cap < rows + 8) {
            uint32_t *ix = realloc(w->idx, (rows + 8) * sizeof *ix);
            if (!ix)
                goto out;
            w->idx = ix;
            w->idx_cap = rows + 8;
        }
        ch->dict = build_dict(c, rows, w->idx, &first, &ndict);
    }
    if (ch->dict) {
        buf_reset(&w->raw);
        rc = MMSP_OK;
        for (size_t k = 0; k < ndict && !rc; k++)
            rc = plain(c, first[k], first[k] + 1, &w->raw);
        if (rc)
            goto out_big;
        buf_reset(&w->comp);
        rc = pq_compress(codec, w->o.level, (const uint8_t *)w->raw.data, w->raw.len, &w->comp, err,
                         errlen);
        if (rc)
            goto out;
        ch->dict_page_offset = w->offset;
        rc = write_page(w, PAGE_DICTIONARY, w->raw.len, (int32_t)ndict, 0,
                        v2 ? ENC_PLAIN : ENC_PLAIN_DICTIONARY, 0, codec != CODEC_UNCOMPRESSED, ch,
                        err, errlen);
        if (rc)
            goto out;
    }
    ch->data_page_offset = w->offset;
    int enc = ch->dict ? (v2 ? ENC_RLE_DICTIONARY : ENC_PLAIN_DICTIONARY) : ENC_PLAIN;
    int bw = ch->dict ? bit_width(ndict > 1 ? ndict - 1 : 0) : 0;
    if (ch->dict && bw == 0)
        bw = 1;
    for (size_t r0 = 0; r0 < rows || (rows == 0 && r0 == 0); r0 += w->o.page_rows) {
        size_t r1 = r0 + w->o.page_rows < rows ? r0 + w->o.page_rows : rows;
        size_t n = r1 - r0, nulls = 0;
        for (size_t i = r0; i < r1; i++)
            nulls += !c->valid[i];
        buf_reset(&w->raw);
        size_t def_len = 0;
        rc = MMSP_OK;
        if (nullable) {
            size_t at = w->raw.len;
            if (!v2)
                rc = buf_append(&w->raw, "\0\0\0\0", 4);
            if (!rc)
                rc = pq_rle_encode_bits(c->valid + r0, n, &w->raw);
            if (rc)
                goto out_big;
            def_len = w->raw.len - at - (v2 ? 0 : 4);
            if (!v2) {
                uint8_t *l = (uint8_t *)w->raw.data + at;
                l[0] = (uint8_t)def_len;
                l[1] = (uint8_t)(def_len >> 8);
                l[2] = (uint8_t)(def_len >> 16);
                l[3] = (uint8_t)(def_len >> 24);
            }
        }
        size_t vstart = w->raw.len;
        if (ch->dict) {
            uint8_t b = (uint8_t)bw;
            rc = buf_append(&w->raw, &b, 1);
            size_t k = 0;
            for (size_t i = r0; i < r1; i++)
                if (c->valid[i])
                    w->idx[k++] = w->idx[i];
            /* idx is compacted in place: rows before r1 are not needed again */
            if (!rc)
                rc = pq_rle_encode(w->idx, k, bw, &w->raw);
            /* restore nothing: later pages read idx[i] for i >= r1, untouched (k <= i) */
        } else {
            rc = plain(c, r0, r1, &w->raw);
        }
        if (rc)
            goto out_big;
        buf_reset(&w->comp);
        if (v2) {
            rc = buf_append(&w->comp, w->raw.data, def_len);
            if (!rc)
                rc = pq_compress(codec, w->o.level, (const uint8_t *)w->raw.data + vstart,
                                 w->raw.len - vstart, &w->comp, err, errlen);
        } else {
            rc = pq_compress(codec, w->o.level, (const uint8_t *)w->raw.data, w->raw.len, &w->comp,
                             err, errlen);
        }
        if (rc)
            goto out;
        rc = write_page(w, v2 ? PAGE_DATA_V2 : PAGE_DATA, w->raw.len, (int32_t)n, (int32_t)nulls,
                        enc, (int32_t)def_len, codec != CODEC_UNCOMPRESSED, ch, err, errlen);
        if (rc)
            goto out;
        if (rows == 0)
            break;
    }
    rc = MMSP_OK;
    goto out;
out_big:
    pq_errf(err, errlen, "parquet: page too large or out of memory");
out:
    if (rc == MMSP_E_NOMEM)
        pq_errf(err, errlen, "parquet: out of memory");
    free(first);
    return rc;
}

mmsp_err parquet_writer_flush(struct parquet_writer *w, char *err, size_t errlen)
{
    if (w->buffered == 0)
        return MMSP_OK;
    if (w->nrg == w->rg_cap) {
        size_t ncap = w->rg_cap ? w->rg_cap * 2 : 8;
        struct wrg *g = realloc(w->rgs, ncap * sizeof *g);
        if (!g) {
            pq_errf(err, errlen, "parquet: out of memory");
            return MMSP_E_NOMEM;
        }
        w->rgs = g;
        w->rg_cap = ncap;
    }
    struct wrg *g = &w->rgs[w->nrg];
    memset(g, 0, sizeof *g);
    g->chunks = calloc(w->schema.ncols, sizeof *g->chunks);
    if (!g->chunks) {
        pq_errf(err, errlen, "parquet: out of memory");
        return MMSP_E_NOMEM;
    }
    w->nrg++;
    g->num_rows = (int64_t)w->buffered;
    g->file_offset = w->offset;
    mmsp_err rc = MMSP_OK;
    for (size_t c = 0; c < w->schema.ncols && !rc; c++) {
        rc = write_chunk(w, c, &g->chunks[c], err, errlen);
        g->total_uncompressed += g->chunks[c].total_uncompressed;
        g->total_compressed += g->chunks[c].total_compressed;
    }
    for (size_t c = 0; c < w->schema.ncols; c++)
        parquet_column_clear(&w->cols[c]);
    w->buffered = 0;
    return rc;
}

mmsp_err parquet_writer_write(struct parquet_writer *w, const struct parquet_column *cols,
                              size_t ncols, size_t rows, char *err, size_t errlen)
{
    if (ncols != w->schema.ncols) {
        pq_errf(err, errlen, "parquet: %zu columns given, the schema has %zu", ncols,
                w->schema.ncols);
        return MMSP_E_INVALID;
    }
    for (size_t c = 0; c < ncols; c++) {
        const struct parquet_field *f = &w->schema.fields[c];
        if (cols[c].type != f->type || cols[c].rows < rows ||
            (f->type == PARQUET_STRING ? !cols[c].offsets : (!cols[c].values && rows))) {
            pq_errf(err, errlen, "parquet: column %s: wrong type or fewer than %zu rows", f->name,
                    rows);
            return MMSP_E_INVALID;
        }
        if (!f->nullable && cols[c].valid && memchr(cols[c].valid, 0, rows)) {
            pq_errf(err, errlen, "parquet: column %s is not nullable but has nulls", f->name);
            return MMSP_E_INVALID;
        }
    }
    size_t done = 0;
    while (done < rows) {
        size_t k = w->o.row_group_rows - w->buffered;
        if (k > rows - done)
            k = rows - done;
        for (size_t c = 0; c < ncols; c++) {
            mmsp_err rc = copy_rows(&w->cols[c], &cols[c], done, k);
            if (rc) {
                /* undo the columns already extended so that all stay aligned */
                for (size_t u = 0; u < c; u++)
                    w->cols[u].rows = w->buffered;
                pq_errf(err, errlen, "parquet: %s", mmsp_strerror(rc));
                return rc;
            }
        }
        w->buffered += k;
        w->rows_total += (int64_t)k;
        done += k;
        if (w->buffered >= w->o.row_group_rows) {
            mmsp_err rc = parquet_writer_flush(w, err, errlen);
            if (rc)
                return rc;
        }
    }
    return MMSP_OK;
}

int64_t parquet_writer_rows(const struct parquet_writer *w)
{
    return w->rows_total;
}

int64_t parquet_writer_bytes(const struct parquet_writer *w)
{
    return w->offset;
}

static void write_footer(struct parquet_writer *w, struct thrift_out *o)
{
    static const char created_by[] = "mmsp parquet writer";
    thrift_w_i32(o, 1, 1);
    thrift_w_list_begin(o, 2, TT_STRUCT, w->schema.ncols + 1);
    thrift_w_struct_begin(o, 0);
    thrift_w_binary(o, 4, "schema", 6);
    thrift_w_i32(o, 5, (int32_t)w->schema.ncols);
    thrift_w_struct_end(o);
    for (size_t i = 0; i < w->schema.ncols; i++) {
        const struct parquet_field *f = &w->schema.fields[i];
        thrift_w_struct_begin(o, 0);
        thrift_w_i32(o, 1, phys_of(f->type));
        thrift_w_i32(o, 3, f->nullable ? 1 : 0);
        thrift_w_binary(o, 4, f->name, strlen(f->name));
        if (f->type == PARQUET_STRING)
            thrift_w_i32(o, 6, 0); /* UTF8 */
        else if (f->type == PARQUET_TIMESTAMP_MS)
            thrift_w_i32(o, 6, 9);
        else if (f->type == PARQUET_TIMESTAMP_US)
            thrift_w_i32(o, 6, 10);
        if (f->type == PARQUET_STRING) {
            thrift_w_struct_begin(o, 10);
            thrift_w_struct_begin(o, 1); /* STRING */
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
        } else if (f->type == PARQUET_TIMESTAMP_MS || f->type == PARQUET_TIMESTAMP_US) {
            thrift_w_struct_begin(o, 10);
            thrift_w_struct_begin(o, 8); /* TIMESTAMP */
            thrift_w_bool(o, 1, true);
            thrift_w_struct_begin(o, 2); /* unit */
            thrift_w_struct_begin(o, f->type == PARQUET_TIMESTAMP_MS ? 1 : 2);
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
        }
        thrift_w_struct_end(o);
    }
    thrift_w_i64(o, 3, w->rows_total);
    thrift_w_list_begin(o, 4, TT_STRUCT, w->nrg);
    for (size_t g = 0; g < w->nrg; g++) {
        const struct wrg *rg = &w->rgs[g];
        thrift_w_struct_begin(o, 0);
        thrift_w_list_begin(o, 1, TT_STRUCT, w->schema.ncols);
        for (size_t c = 0; c < w->schema.ncols; c++) {
            const struct wchunk *ch = &rg->chunks[c];
            const struct parquet_field *f = &w->schema.fields[c];
            int64_t first = ch->dict_page_offset >= 0 ? ch->dict_page_offset : ch->data_page_offset;
            thrift_w_struct_begin(o, 0);
            thrift_w_i64(o, 2, first);
            thrift_w_struct_begin(o, 3);
            thrift_w_i32(o, 1, phys_of(f->type));
            if (ch->dict) {
                thrift_w_list_begin(o, 2, TT_I32, 3);
                thrift_w_list_i32(o, w->o.page_version == 2 ? ENC_PLAIN : ENC_PLAIN_DICTIONARY);
                thrift_w_list_i32(o, ENC_RLE);
                thrift_w_list_i32(o, w->o.page_version == 2 ? ENC_RLE_DICTIONARY
                                                            : ENC_PLAIN_DICTIONARY);
            } else {
                thrift_w_list_begin(o, 2, TT_I32, 2);
                thrift_w_list_i32(o, ENC_PLAIN);
                thrift_w_list_i32(o, ENC_RLE);
            }
            thrift_w_list_begin(o, 3, TT_BINARY, 1);
            thrift_w_list_binary(o, f->name, strlen(f->name));
            thrift_w_i32(o, 4, codec_id(w->o.codec));
            thrift_w_i64(o, 5, ch->num_values);
            thrift_w_i64(o, 6, ch->total_uncompressed);
            thrift_w_i64(o, 7, ch->total_compressed);
            thrift_w_i64(o, 9, ch->data_page_offset);
            if (ch->dict_page_offset >= 0)
                thrift_w_i64(o, 11, ch->dict_page_offset);
            thrift_w_struct_begin(o, 12);
            thrift_w_i64(o, 3, ch->null_count);
            if (ch->has_minmax) {
                thrift_w_binary(o, 5, ch->max, ch->max_len);
                thrift_w_binary(o, 6, ch->min, ch->min_len);
            }
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
            thrift_w_struct_end(o);
        }
        thrift_w_i64(o, 2, rg->total_uncompressed);
        thrift_w_i64(o, 3, rg->num_rows);
        thrift_w_i64(o, 5, rg->file_offset);
        thrift_w_i64(o, 6, rg->total_compressed);
        thrift_w_struct_end(o);
    }
    thrift_w_binary(o, 6, created_by, sizeof created_by - 1);
    thrift_w_list_begin(o, 7, TT_STRUCT, w->schema.ncols);
    for (size_t c = 0; c < w->schema.ncols; c++) {
        thrift_w_struct_begin(o, 0);
        thrift_w_struct_begin(o, 1); /* TYPE_ORDER */
        thrift_w_struct_end(o);
        thrift_w_struct_end(o);
    }
    thrift_w_stop(o);
}

/* fsyncs the directory holding path, so that the rename survives a crash (best effort: the
 * file itself is complete either way). */
static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

mmsp_err parquet_writer_close(struct parquet_writer *w, char *err, size_t errlen)
{
    mmsp_err rc = parquet_writer_flush(w, err, errlen);
    if (rc)
        goto out;
    struct buf meta;
    buf_init(&meta, META_MAX);
    struct thrift_out o;
    thrift_out_init(&o, &meta);
    write_footer(w, &o);
    rc = o.rc;
    if (rc) {
        pq_errf(err, errlen, "parquet: footer too large");
        buf_release(&meta);
        goto out;
    }
    uint8_t tail[8] = {(uint8_t)meta.len,
                       (uint8_t)(meta.len >> 8),
                       (uint8_t)(meta.len >> 16),
                       (uint8_t)(meta.len >> 24),
                       'P',
                       'A',
                       'R',
                       '1'};
    rc = put(w, meta.data, meta.len, err, errlen);
    buf_release(&meta);
    if (!rc)
        rc = put(w, tail, 8, err, errlen);
    if (rc)
        goto out;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        pq_errf(err, errlen, "%s: %s", w->tmp, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    int fc = fclose(w->f);
    w->f = NULL;
    if (fc != 0 || rename(w->tmp, w->path) != 0) {
        pq_errf(err, errlen, "%s: %s", w->path, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    sync_dir(w->path);
out:
    if (rc)
        unlink(w->tmp);
    writer_free(w);
    return rc;
}

void parquet_writer_abort(struct parquet_writer *w)
{
    if (!w)
        return;
    unlink(w->tmp);
    writer_free(w);
}
