/*
 * Decoding of the Parquet footer (FileMetaData: schema, row groups, column chunks, column
 * metadata, statistics, logical types) and of page headers, from the Thrift compact protocol
 * (thrift.c). Only flat schemas are accepted: a root with leaf children; each leaf is mapped to
 * an enum parquet_type from its physical type and its logical (or legacy converted) type.
 * Every count and offset is checked against the file size and the limits in parquet.h.
 * Each Thrift struct is read by thrift_struct (thrift_fields for the top level) with one
 * on_<struct>_field handler that reads the fields it knows and skips the others.
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

/* TimeUnit union {1: MILLIS, 2: MICROS, 3: NANOS}: ctx (int *) gets the field id. */
static bool on_time_unit_field(struct thrift_in *in, int id, int t, void *ctx)
{
    if (t == TT_STRUCT && id >= 1 && id <= 3)
        *(int *)ctx = id;
    return thrift_skip(in, t);
}

/* TimestampType {1: isAdjustedToUTC, 2: unit}: ctx is the element's ts_unit. */
static bool on_timestamp_field(struct thrift_in *in, int id, int t, void *ctx)
{
    if (id == 2 && t == TT_STRUCT)
        return thrift_struct(in, t, on_time_unit_field, ctx);
    return thrift_skip(in, t);
}

/* LogicalType union: the field id names the type (8: TIMESTAMP). */
static bool on_logical_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct schema_el *e = ctx;
    e->logical = id;
    if (id == 8 && t == TT_STRUCT)
        return thrift_struct(in, t, on_timestamp_field, &e->ts_unit);
    return thrift_skip(in, t);
}

static bool on_schema_el_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct schema_el *e = ctx;
    switch (id) {
    case 1:
        return thrift_i32(in, t, &e->type);
    case 3:
        return thrift_i32(in, t, &e->repetition);
    case 4:
        return thrift_binary(in, t, &e->name, &e->name_len);
    case 5:
        return thrift_i32(in, t, &e->num_children);
    case 6:
        return thrift_i32(in, t, &e->converted);
    case 10:
        if (t == TT_STRUCT)
            return thrift_struct(in, t, on_logical_field, e);
        return thrift_skip(in, t);
    default:
        return thrift_skip(in, t);
    }
}

static bool parse_schema_el(struct thrift_in *in, int type, struct schema_el *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->converted = -1;
    e->repetition = 0;
    return thrift_struct(in, type, on_schema_el_field, e);
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

/* Statistics being read: the deprecated max / min (fields 1, 2) wait until the end. */
struct stats_read {
    struct pq_raw_stats *s;
    const uint8_t *old_min, *old_max;
    size_t old_min_len, old_max_len;
};

static bool on_stats_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct stats_read *r = ctx;
    struct pq_raw_stats *s = r->s;
    switch (id) {
    case 1:
        return thrift_binary(in, t, &r->old_max, &r->old_max_len);
    case 2:
        return thrift_binary(in, t, &r->old_min, &r->old_min_len);
    case 3:
        s->has_null_count = thrift_i64(in, t, &s->null_count);
        return s->has_null_count;
    case 5:
        return thrift_binary(in, t, &s->max, &s->max_len);
    case 6:
        return thrift_binary(in, t, &s->min, &s->min_len);
    default:
        return thrift_skip(in, t);
    }
}

static bool parse_stats(struct thrift_in *in, int type, struct pq_raw_stats *s)
{
    struct stats_read r = {.s = s};
    if (!thrift_struct(in, type, on_stats_field, &r))
        return false;
    /* the deprecated min/max (signed order) only when the new ones are absent; the caller
     * keeps them for numeric columns only */
    if (!s->min && !s->max && r.old_min && r.old_max) {
        s->min = r.old_min;
        s->min_len = r.old_min_len;
        s->max = r.old_max;
        s->max_len = r.old_max_len;
        s->deprecated = true;
    }
    return true;
}

/* A ColumnChunk (and its ColumnMetaData) being read. */
struct chunk_read {
    struct pq_chunk *c;
    uint64_t file_size;
    bool seen_data, seen_meta;
};

static bool on_col_meta_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct chunk_read *r = ctx;
    struct pq_chunk *c = r->c;
    switch (id) {
    case 1:
        return thrift_i32(in, t, &c->phys);
    case 4:
        return thrift_i32(in, t, &c->codec);
    case 5:
        return thrift_i64(in, t, &c->num_values);
    case 7:
        return thrift_i64(in, t, &c->total_compressed_size);
    case 9:
        r->seen_data = true;
        return thrift_i64(in, t, &c->data_page_offset);
    case 11:
        return thrift_i64(in, t, &c->dict_page_offset);
    case 12:
        if (t == TT_STRUCT)
            return parse_stats(in, t, &c->stats);
        return thrift_skip(in, t);
    default:
        return thrift_skip(in, t);
    }
}

static bool parse_col_meta(struct thrift_in *in, int type, struct chunk_read *r)
{
    struct pq_chunk *c = r->c;
    uint64_t file_size = r->file_size;
    if (!thrift_struct(in, type, on_col_meta_field, r))
        return false;
    if (!r->seen_data)
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

static bool on_chunk_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct chunk_read *r = ctx;
    switch (id) {
    case 1: {
        const uint8_t *path;
        size_t path_len;
        if (thrift_binary(in, t, &path, &path_len))
            return FAIL("parquet: column chunks in other files are not supported");
        return false;
    }
    case 3:
        if (t != TT_STRUCT)
            return FAIL("parquet: bad column metadata");
        r->seen_meta = true;
        return parse_col_meta(in, t, r);
    default:
        return thrift_skip(in, t);
    }
}

static bool parse_chunk(struct thrift_in *in, int type, struct pq_chunk *c, uint64_t file_size)
{
    struct chunk_read r = {.c = c, .file_size = file_size};
    if (!thrift_struct(in, type, on_chunk_field, &r))
        return false;
    if (!r.seen_meta)
        return FAIL("parquet: column chunk without metadata (encrypted?)");
    return true;
}

/* A RowGroup being read. */
struct row_group_read {
    struct pq_meta *m;
    struct pq_row_group *rg;
    uint64_t file_size;
    bool seen_cols, seen_rows;
};

static bool on_row_group_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct row_group_read *r = ctx;
    struct pq_meta *m = r->m;
    struct pq_row_group *rg = r->rg;
    switch (id) {
    case 1: {
        int elem = 0;
        size_t n = 0;
        if (!thrift_list(in, t, &elem, &n))
            return false;
        if (elem != TT_STRUCT || n != m->schema.ncols || r->seen_cols || !m->schema.fields)
            return FAIL("parquet: row group has %zu columns, the schema %zu", n, m->schema.ncols);
        rg->chunks = calloc(n ? n : 1, sizeof *rg->chunks);
        if (!rg->chunks)
            return FAIL("parquet: out of memory");
        r->seen_cols = true;
        for (size_t i = 0; i < n; i++) {
            rg->chunks[i].dict_page_offset = -1;
            if (!parse_chunk(in, elem, &rg->chunks[i], r->file_size))
                return false;
            if (rg->chunks[i].phys != m->phys[i])
                return FAIL("parquet: column %zu: chunk type differs from the schema", i);
        }
        return true;
    }
    case 3:
        r->seen_rows = true;
        return thrift_i64(in, t, &rg->num_rows);
    default:
        return thrift_skip(in, t);
    }
}

static bool parse_row_group(struct thrift_in *in, int type, struct pq_meta *m,
                            struct pq_row_group *rg, uint64_t file_size)
{
    struct row_group_read r = {.m = m, .rg = rg, .file_size = file_size};
    if (!thrift_struct(in, type, on_row_group_field, &r))
        return false;
    if (!r.seen_cols || !r.seen_rows || rg->num_rows < 0)
        return FAIL("parquet: row group without columns or row count");
    return true;
}

/* FileMetaData being read: ctx is the struct pq_meta, file_size bounds the offsets. */
struct meta_read {
    struct pq_meta *m;
    uint64_t file_size;
};

static bool on_meta_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct meta_read *r = ctx;
    struct pq_meta *m = r->m;
    switch (id) {
    case 2:
        return parse_schema(in, t, m);
    case 3:
        return thrift_i64(in, t, &m->num_rows);
    case 4: {
        int elem = 0;
        size_t n = 0;
        if (!thrift_list(in, t, &elem, &n))
            return false;
        if (elem != TT_STRUCT || !m->schema.fields || m->rgs)
            return FAIL("parquet: row groups before the schema");
        if (n > PARQUET_MAX_ROW_GROUPS)
            return FAIL("parquet: %zu row groups (limit %d)", n, PARQUET_MAX_ROW_GROUPS);
        m->rgs = calloc(n ? n : 1, sizeof *m->rgs);
        if (!m->rgs)
            return FAIL("parquet: out of memory");
        for (size_t i = 0; i < n; i++) {
            m->nrg = i + 1;
            if (!parse_row_group(in, elem, m, &m->rgs[i], r->file_size))
                return false;
        }
        m->nrg = n;
        return true;
    }
    default:
        return thrift_skip(in, t);
    }
}

mmsp_err pq_meta_parse(const uint8_t *p, size_t len, uint64_t file_size, struct pq_meta *m,
                       char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->num_rows = -1;
    struct thrift_in cur = {.p = p, .end = p + len, .err = err, .errlen = errlen};
    struct thrift_in *in = &cur;
    struct meta_read r = {.m = m, .file_size = file_size};
    if (!thrift_fields(in, on_meta_field, &r))
        goto fail;
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

/* DataPageHeader and DictionaryPageHeader: the same field ids for what is read here. */
static bool on_v1_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct pq_page_header *h = ctx;
    switch (id) {
    case 1:
        return thrift_i32(in, t, &h->num_values);
    case 2:
        return thrift_i32(in, t, &h->encoding);
    default:
        return thrift_skip(in, t);
    }
}

/* DataPageHeaderV2. */
static bool on_v2_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct pq_page_header *h = ctx;
    switch (id) {
    case 1:
        return thrift_i32(in, t, &h->num_values);
    case 2:
        return thrift_i32(in, t, &h->num_nulls);
    case 3:
        return thrift_i32(in, t, &h->num_rows);
    case 4:
        return thrift_i32(in, t, &h->encoding);
    case 5:
        return thrift_i32(in, t, &h->def_len);
    case 6:
        return thrift_i32(in, t, &h->rep_len);
    case 7:
        if (!thrift_bool(t, &h->is_compressed))
            return FAIL("parquet: bad is_compressed");
        return true;
    default:
        return thrift_skip(in, t);
    }
}

/* A nested page header of the kind `on_field` reads, when the field is a struct. */
static bool page_sub_header(struct thrift_in *in, int t, thrift_field_fn *on_field,
                            struct pq_page_header *h)
{
    return t == TT_STRUCT ? thrift_struct(in, t, on_field, h) : thrift_skip(in, t);
}

/* PageHeader. */
static bool on_page_header_field(struct thrift_in *in, int id, int t, void *ctx)
{
    struct pq_page_header *h = ctx;
    bool ok;
    switch (id) {
    case 1:
        return thrift_i32(in, t, &h->type);
    case 2:
        return thrift_i32(in, t, &h->uncompressed_size);
    case 3:
        return thrift_i32(in, t, &h->compressed_size);
    case 5:
        ok = page_sub_header(in, t, on_v1_field, h);
        h->has_data = true;
        return ok;
    case 7:
        ok = page_sub_header(in, t, on_v1_field, h); /* same field ids */
        h->has_dict = true;
        return ok;
    case 8:
        ok = page_sub_header(in, t, on_v2_field, h);
        h->has_v2 = true;
        return ok;
    default:
        return thrift_skip(in, t);
    }
}

mmsp_err pq_page_header_parse(const uint8_t *p, size_t avail, struct pq_page_header *h,
                              size_t *used, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    struct thrift_in cur = {.p = p, .end = p + avail, .err = err, .errlen = errlen};
    if (!thrift_fields(&cur, on_page_header_field, h))
        return MMSP_E_PARSE;
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
