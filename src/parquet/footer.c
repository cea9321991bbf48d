/*
 * Decoding of the Parquet footer (FileMetaData: schema, row groups, column chunks, column
 * metadata, statistics, logical types) and of page headers, from the Thrift compact protocol
 * (thrift.c). Only flat schemas are accepted: a root with leaf children; each leaf is mapped to
 * an enum parquet_type from its physical type and its logical (or legacy converted) type.
 * Every count and offset is checked against the file size and the limits in parquet.h.
 * Calls: thrift.c.
 */
#include <stdlib.h>
#include <string.h>

#include "pq_internal.h"

#define FAIL(...) (thrift_fail(in, __VA_ARGS__))

/* What a SchemaElement said. */
struct schema_el {
    int32_t type; /* -1: none (a group) */
    int32_t repetition;
    int32_t num_children;
    int32_t converted; /* -1: none */
    int logical;       /* LogicalType union field id, 0: none */
    int ts_unit;       /* TIMESTAMP unit: 1 millis, 2 micros, 3 nanos */
    const uint8_t *name;
    size_t name_len;
};

static bool parse_time_unit(struct thrift_in *in, int type, int *unit)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        if (t == TT_STRUCT && id >= 1 && id <= 3)
            *unit = id;
        if (!thrift_skip(in, t))
            return false;
    }
    thrift_leave(in);
    return true;
}

static bool parse_logical(struct thrift_in *in, int type, struct schema_el *e)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        e->logical = id;
        if (id == 8 && t == TT_STRUCT) { /* TimestampType {1: isAdjustedToUTC, 2: unit} */
            if (!thrift_enter(in, t))
                return false;
            int16_t l2 = 0;
            int id2 = 0, t2 = 0;
            for (;;) {
                if (!thrift_field(in, &l2, &id2, &t2))
                    return false;
                if (t2 == TT_STOP)
                    break;
                if (id2 == 2 && t2 == TT_STRUCT) {
                    if (!parse_time_unit(in, t2, &e->ts_unit))
                        return false;
                } else if (!thrift_skip(in, t2)) {
                    return false;
                }
            }
            thrift_leave(in);
        } else if (!thrift_skip(in, t)) {
            return false;
        }
    }
    thrift_leave(in);
    return true;
}

static bool parse_schema_el(struct thrift_in *in, int type, struct schema_el *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->converted = -1;
    e->repetition = 0;
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_i32(in, t, &e->type);
            break;
        case 3:
            ok = thrift_i32(in, t, &e->repetition);
            break;
        case 4:
            ok = thrift_binary(in, t, &e->name, &e->name_len);
            break;
        case 5:
            ok = thrift_i32(in, t, &e->num_children);
            break;
        case 6:
            ok = thrift_i32(in, t, &e->converted);
            break;
        case 10:
            if (t == TT_STRUCT)
                ok = parse_logical(in, t, e);
            else
                ok = thrift_skip(in, t);
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    return true;
}

/* Maps a leaf to our type; false (with a message) when unsupported. */
static bool map_type(struct thrift_in *in, const struct schema_el *e, enum parquet_type *out)
{
    int lt = e->logical, ct = e->converted;
    switch (e->type) {
    case PT_BOOLEAN:
        *out = PARQUET_BOOL;
        return true;
    case PT_INT32:
        if (lt == 5 || ct == 5)
            return FAIL("parquet: DECIMAL columns are not supported");
        *out = PARQUET_INT32;
        return true;
    case PT_INT64:
        if (lt == 5 || ct == 5)
            return FAIL("parquet: DECIMAL columns are not supported");
        if (lt == 8) {
            if (e->ts_unit == 1)
                *out = PARQUET_TIMESTAMP_MS;
            else if (e->ts_unit == 2)
                *out = PARQUET_TIMESTAMP_US;
            else
                return FAIL("parquet: TIMESTAMP(NANOS) columns are not supported");
            return true;
        }
        if (ct == 9) {
            *out = PARQUET_TIMESTAMP_MS;
            return true;
        }
        if (ct == 10) {
            *out = PARQUET_TIMESTAMP_US;
            return true;
        }
        *out = PARQUET_INT64;
        return true;
    case PT_FLOAT:
        *out = PARQUET_FLOAT;
        return true;
    case PT_DOUBLE:
        *out = PARQUET_DOUBLE;
        return true;
    case PT_BYTE_ARRAY:
        if (lt == 5 || ct == 5)
            return FAIL("parquet: DECIMAL columns are not supported");
        *out = PARQUET_STRING;
        return true;
    default:
        return FAIL("parquet: physical type %d is not supported", (int)e->type);
    }
}

static bool parse_schema(struct thrift_in *in, int type, struct pq_meta *m)
{
    int elem = 0;
    size_t n = 0;
    if (!thrift_list(in, type, &elem, &n))
        return false;
    if (elem != TT_STRUCT)
        return FAIL("parquet: schema is not a list of structs");
    if (n < 1)
        return FAIL("parquet: empty schema");
    if (n - 1 > PARQUET_MAX_COLUMNS)
        return FAIL("parquet: %zu columns (limit %d)", n - 1, PARQUET_MAX_COLUMNS);
    if (m->schema.fields)
        return FAIL("parquet: two schemas");
    struct schema_el root;
    if (!parse_schema_el(in, elem, &root))
        return false;
    if (root.num_children < 0 || (size_t)root.num_children != n - 1)
        return FAIL("parquet: nested schemas are not supported");
    m->schema.fields = calloc(n, sizeof *m->schema.fields);
    m->phys = calloc(n, sizeof *m->phys);
    if (!m->schema.fields || !m->phys)
        return FAIL("parquet: out of memory");
    for (size_t i = 0; i + 1 < n; i++) {
        struct schema_el e;
        if (!parse_schema_el(in, elem, &e))
            return false;
        struct parquet_field *f = &m->schema.fields[i];
        if (e.type < 0 || e.num_children > 0)
            return FAIL("parquet: nested schemas are not supported");
        if (e.repetition == 2)
            return FAIL("parquet: repeated column %.*s is not supported",
                        (int)(e.name_len > 64 ? 64 : e.name_len), (const char *)e.name);
        if (e.repetition != 0 && e.repetition != 1)
            return FAIL("parquet: bad repetition type %d", (int)e.repetition);
        if (!e.name || e.name_len > PARQUET_MAX_NAME)
            return FAIL("parquet: column %zu has no name or one too long", i);
        memcpy(f->name, e.name, e.name_len);
        f->name[e.name_len] = '\0';
        f->nullable = e.repetition == 1;
        if (!map_type(in, &e, &f->type))
            return false;
        m->phys[i] = e.type;
        m->schema.ncols = i + 1;
    }
    return true;
}

static bool parse_stats(struct thrift_in *in, int type, struct pq_raw_stats *s)
{
    const uint8_t *old_min = NULL, *old_max = NULL;
    size_t old_min_len = 0, old_max_len = 0;
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_binary(in, t, &old_max, &old_max_len);
            break;
        case 2:
            ok = thrift_binary(in, t, &old_min, &old_min_len);
            break;
        case 3:
            ok = thrift_i64(in, t, &s->null_count);
            s->has_null_count = ok;
            break;
        case 5:
            ok = thrift_binary(in, t, &s->max, &s->max_len);
            break;
        case 6:
            ok = thrift_binary(in, t, &s->min, &s->min_len);
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    /* the deprecated min/max (signed order) only when the new ones are absent; the caller
     * keeps them for numeric columns only */
    if (!s->min && !s->max && old_min && old_max) {
        s->min = old_min;
        s->min_len = old_min_len;
        s->max = old_max;
        s->max_len = old_max_len;
        s->deprecated = true;
    }
    return true;
}

static bool parse_col_meta(struct thrift_in *in, int type, struct pq_chunk *c, uint64_t file_size)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true, seen_data = false;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_i32(in, t, &c->phys);
            break;
        case 4:
            ok = thrift_i32(in, t, &c->codec);
            break;
        case 5:
            ok = thrift_i64(in, t, &c->num_values);
            break;
        case 7:
            ok = thrift_i64(in, t, &c->total_compressed_size);
            break;
        case 9:
            ok = thrift_i64(in, t, &c->data_page_offset);
            seen_data = true;
            break;
        case 11:
            ok = thrift_i64(in, t, &c->dict_page_offset);
            break;
        case 12:
            if (t == TT_STRUCT)
                ok = parse_stats(in, t, &c->stats);
            else
                ok = thrift_skip(in, t);
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    if (!seen_data)
        return FAIL("parquet: column chunk without a data page offset");
    if (c->num_values < 0 || c->total_compressed_size < 0 ||
        (uint64_t)c->total_compressed_size > file_size || c->data_page_offset < 4 ||
        (uint64_t)c->data_page_offset >= file_size)
        return FAIL("parquet: column chunk offsets or sizes out of the file");
    if (c->dict_page_offset >= 0 &&
        (c->dict_page_offset < 4 || (uint64_t)c->dict_page_offset >= file_size))
        c->dict_page_offset = -1; /* some writers put 0 here for "none" */
    return true;
}

static bool parse_chunk(struct thrift_in *in, int type, struct pq_chunk *c, uint64_t file_size)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true, seen_meta = false;
    const uint8_t *path;
    size_t path_len;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_binary(in, t, &path, &path_len);
            if (ok)
                return FAIL("parquet: column chunks in other files are not supported");
            break;
        case 3:
            if (t != TT_STRUCT)
                return FAIL("parquet: bad column metadata");
            ok = parse_col_meta(in, t, c, file_size);
            seen_meta = true;
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    if (!seen_meta)
        return FAIL("parquet: column chunk without metadata (encrypted?)");
    return true;
}

static bool parse_row_group(struct thrift_in *in, int type, struct pq_meta *m,
                            struct pq_row_group *rg, uint64_t file_size)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true, seen_cols = false, seen_rows = false;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1: {
            int elem = 0;
            size_t n = 0;
            if (!thrift_list(in, t, &elem, &n))
                return false;
            if (elem != TT_STRUCT || n != m->schema.ncols || seen_cols || !m->schema.fields)
                return FAIL("parquet: row group has %zu columns, the schema %zu", n,
                            m->schema.ncols);
            rg->chunks = calloc(n ? n : 1, sizeof *rg->chunks);
            if (!rg->chunks)
                return FAIL("parquet: out of memory");
            seen_cols = true;
            for (size_t i = 0; i < n; i++) {
                rg->chunks[i].dict_page_offset = -1;
                if (!parse_chunk(in, elem, &rg->chunks[i], file_size))
                    return false;
                if (rg->chunks[i].phys != m->phys[i])
                    return FAIL("parquet: column %zu: chunk type differs from the schema", i);
            }
            break;
        }
        case 3:
            ok = thrift_i64(in, t, &rg->num_rows);
            seen_rows = true;
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    if (!seen_cols || !seen_rows || rg->num_rows < 0)
        return FAIL("parquet: row group without columns or row count");
    return true;
}

mmsp_err pq_meta_parse(const uint8_t *p, size_t len, uint64_t file_size, struct pq_meta *m,
                       char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->num_rows = -1;
    struct thrift_in cur = {.p = p, .end = p + len, .err = err, .errlen = errlen};
    struct thrift_in *in = &cur;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            goto fail;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 2:
            ok = parse_schema(in, t, m);
            break;
        case 3:
            ok = thrift_i64(in, t, &m->num_rows);
            break;
        case 4: {
            int elem = 0;
            size_t n = 0;
            if (!thrift_list(in, t, &elem, &n))
                goto fail;
            if (elem != TT_STRUCT || !m->schema.fields || m->rgs) {
                FAIL("parquet: row groups before the schema");
                goto fail;
            }
            if (n > PARQUET_MAX_ROW_GROUPS) {
                FAIL("parquet: %zu row groups (limit %d)", n, PARQUET_MAX_ROW_GROUPS);
                goto fail;
            }
            m->rgs = calloc(n ? n : 1, sizeof *m->rgs);
            if (!m->rgs) {
                FAIL("parquet: out of memory");
                goto fail;
            }
            for (size_t i = 0; i < n; i++) {
                m->nrg = i + 1;
                if (!parse_row_group(in, elem, m, &m->rgs[i], file_size))
                    goto fail;
            }
            m->nrg = n;
            break;
        }
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            goto fail;
    }
    if (!m->schema.fields) {
        FAIL("parquet: footer without a schema");
        goto fail;
    }
    if (m->num_rows < 0) {
        FAIL("parquet: footer without a row count");
        goto fail;
    }
    int64_t total = 0;
    for (size_t i = 0; i < m->nrg; i++) {
        if (m->rgs[i].num_rows > INT64_MAX - total) {
            FAIL("parquet: row counts overflow");
            goto fail;
        }
        total += m->rgs[i].num_rows;
    }
    if (total != m->num_rows) {
        FAIL("parquet: row groups hold %lld rows, the footer says %lld", (long long)total,
             (long long)m->num_rows);
        goto fail;
    }
    return MMSP_OK;
fail:
    pq_meta_free(m);
    return MMSP_E_PARSE;
}

void pq_meta_free(struct pq_meta *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nrg; i++)
        free(m->rgs[i].chunks);
    free(m->rgs);
    free(m->schema.fields);
    free(m->phys);
    memset(m, 0, sizeof *m);
}

static bool parse_v1(struct thrift_in *in, int type, struct pq_page_header *h)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_i32(in, t, &h->num_values);
            break;
        case 2:
            ok = thrift_i32(in, t, &h->encoding);
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    return true;
}

static bool parse_v2(struct thrift_in *in, int type, struct pq_page_header *h)
{
    if (!thrift_enter(in, type))
        return false;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return false;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_i32(in, t, &h->num_values);
            break;
        case 2:
            ok = thrift_i32(in, t, &h->num_nulls);
            break;
        case 3:
            ok = thrift_i32(in, t, &h->num_rows);
            break;
        case 4:
            ok = thrift_i32(in, t, &h->encoding);
            break;
        case 5:
            ok = thrift_i32(in, t, &h->def_len);
            break;
        case 6:
            ok = thrift_i32(in, t, &h->rep_len);
            break;
        case 7:
            ok = thrift_bool(t, &h->is_compressed);
            if (!ok)
                thrift_fail(in, "parquet: bad is_compressed");
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return false;
    }
    thrift_leave(in);
    return true;
}

mmsp_err pq_page_header_parse(const uint8_t *p, size_t avail, struct pq_page_header *h,
                              size_t *used, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    struct thrift_in cur = {.p = p, .end = p + avail, .err = err, .errlen = errlen};
    struct thrift_in *in = &cur;
    int16_t last = 0;
    int id = 0, t = 0;
    bool ok = true;
    for (;;) {
        if (!thrift_field(in, &last, &id, &t))
            return MMSP_E_PARSE;
        if (t == TT_STOP)
            break;
        switch (id) {
        case 1:
            ok = thrift_i32(in, t, &h->type);
            break;
        case 2:
            ok = thrift_i32(in, t, &h->uncompressed_size);
            break;
        case 3:
            ok = thrift_i32(in, t, &h->compressed_size);
            break;
        case 5:
            ok = t == TT_STRUCT ? parse_v1(in, t, h) : thrift_skip(in, t);
            h->has_data = true;
            break;
        case 7:
            ok = t == TT_STRUCT ? parse_v1(in, t, h) : thrift_skip(in, t); /* same field ids */
            h->has_dict = true;
            break;
        case 8:
            ok = t == TT_STRUCT ? parse_v2(in, t, h) : thrift_skip(in, t);
            h->has_v2 = true;
            break;
        default:
            ok = thrift_skip(in, t);
            break;
        }
        if (!ok)
            return MMSP_E_PARSE;
    }
    if (h->uncompressed_size < 0 || h->compressed_size < 0 ||
        (uint32_t)h->uncompressed_size > PARQUET_MAX_PAGE ||
        (uint32_t)h->compressed_size > PARQUET_MAX_PAGE) {
        pq_errf(err, errlen, "parquet: bad page sizes");
        return MMSP_E_PARSE;
    }
    if (h->num_values < 0 || h->num_nulls < 0 || h->num_rows < 0 || h->def_len < 0 ||
        h->rep_len < 0) {
        pq_errf(err, errlen, "parquet: negative counts in a page header");
        return MMSP_E_PARSE;
    }
    *used = (size_t)(cur.p - p);
    return MMSP_OK;
}
