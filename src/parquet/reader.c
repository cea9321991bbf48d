/*
 * The Parquet reader: maps the file (or copies a memory buffer), checks the magic and the
 * footer length, decodes the footer (footer.c), and reads one column of one row group (or of
 * the whole file) into a struct parquet_column: walks the chunk's pages (dictionary page, data
 * pages v1 and v2), decompresses them (codec.c), decodes definition levels and the values
 * (PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, RLE booleans; encoding.c for the hybrid runs) and
 * scatters them around the nulls. Every offset and size is checked against the chunk and the
 * page before it is used. A reader is used by one thread at a time (it keeps scratch buffers).
 * Calls: footer.c, codec.c, encoding.c, libc (mmap).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq_internal.h"

#define MAX_STRING_BYTES (1ull << 34) /* bytes of strings in one parquet_column */

struct parquet_reader {
    uint8_t *data;
    size_t size;
    bool mapped;
    size_t data_end; /* end of the pages region (start of the footer) */
    struct pq_meta meta;
    uint8_t *page; /* decompressed page */
    size_t page_cap;
    uint8_t *dict; /* decompressed dictionary page */
    size_t dict_cap;
    uint32_t *idx; /* definition levels / dictionary indices */
    size_t idx_cap;
    uint64_t *dict_off; /* string dictionary: start of entry i (n + 1 entries) */
    size_t dict_off_cap;
    int64_t *delta_a, *delta_b; /* DELTA_* decoding: values, lengths, prefix lengths */
    size_t delta_a_cap, delta_b_cap;
};

static mmsp_err open_common(struct parquet_reader *r, char *err, size_t errlen)
{
    if (r->size < 12 || memcmp(r->data, "PAR1", 4) != 0) {
        pq_errf(err, errlen, "parquet: not a Parquet file (bad magic or too short)");
        return MMSP_E_PARSE;
    }
    if (memcmp(r->data + r->size - 4, "PAR1", 4) != 0) {
        if (memcmp(r->data + r->size - 4, "PARE", 4) == 0) {
            pq_errf(err, errlen, "parquet: encrypted files are not supported");
            return MMSP_E_UNSUPPORTED;
        }
        pq_errf(err, errlen, "parquet: bad magic at the end (truncated file?)");
        return MMSP_E_PARSE;
    }
    uint32_t flen = pq_le32(r->data + r->size - 8);
    if (flen > r->size - 12 || flen > PARQUET_MAX_FOOTER) {
        pq_errf(err, errlen, "parquet: footer length %u out of the file", flen);
        return MMSP_E_PARSE;
    }
    r->data_end = r->size - 8 - flen;
    return pq_meta_parse(r->data + r->data_end, flen, r->data_end, &r->meta, err, errlen);
}

mmsp_err parquet_open(const char *path, struct parquet_reader **out, char *err, size_t errlen)
{
    *out = NULL;
    mmsp_err rc = MMSP_OK;
    struct parquet_reader *r = calloc(1, sizeof *r);
    if (!r)
        return MMSP_E_NOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        pq_errf(err, errlen, "%s: %s", path, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 12) {
        pq_errf(err, errlen, "%s: not a Parquet file (too short or not a regular file)", path);
        rc = MMSP_E_PARSE;
        goto out;
    }
    r->size = (size_t)st.st_size;
    void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        pq_errf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    r->data = m;
    r->mapped = true;
    rc = open_common(r, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    if (rc) {
        parquet_close(r);
        return rc;
    }
    *out = r;
    return MMSP_OK;
}

mmsp_err parquet_open_memory(const void *data, size_t size, struct parquet_reader **out, char *err,
                             size_t errlen)
{
    *out = NULL;
    struct parquet_reader *r = calloc(1, sizeof *r);
    if (!r)
        return MMSP_E_NOMEM;
    r->data = malloc(size ? size : 1);
    if (!r->data) {
        free(r);
        return MMSP_E_NOMEM;
    }
    if (size)
        memcpy(r->data, data, size);
    r->size = size;
    mmsp_err rc = open_common(r, err, errlen);
    if (rc) {
        parquet_close(r);
        return rc;
    }
    *out = r;
    return MMSP_OK;
}

void parquet_close(struct parquet_reader *r)
{
    if (!r)
        return;
    if (r->mapped)
        munmap(r->data, r->size);
    else
        free(r->data);
    pq_meta_free(&r->meta);
    free(r->page);
    free(r->dict);
    free(r->idx);
    free(r->dict_off);
    free(r->delta_a);
    free(r->delta_b);
    free(r);
}

const struct parquet_schema *parquet_reader_schema(const struct parquet_reader *r)
{
    return &r->meta.schema;
}

int parquet_reader_column_index(const struct parquet_reader *r, const char *name)
{
    for (size_t i = 0; i < r->meta.schema.ncols; i++)
        if (strcmp(r->meta.schema.fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int64_t parquet_reader_rows(const struct parquet_reader *r)
{
    return r->meta.num_rows;
}

size_t parquet_reader_row_groups(const struct parquet_reader *r)
{
    return r->meta.nrg;
}

int64_t parquet_reader_row_group_rows(const struct parquet_reader *r, size_t rg)
{
    return rg < r->meta.nrg ? r->meta.rgs[rg].num_rows : -1;
}

static int64_t le_int(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

mmsp_err parquet_reader_stats(const struct parquet_reader *r, size_t rg, size_t col,
                              struct parquet_stats *out)
{
    memset(out, 0, sizeof *out);
    if (rg >= r->meta.nrg || col >= r->meta.schema.ncols)
        return MMSP_E_INVALID;
    const struct pq_raw_stats *s = &r->meta.rgs[rg].chunks[col].stats;
    out->has_null_count = s->has_null_count;
    out->null_count = s->null_count;
    if (!s->min || !s->max)
        return MMSP_OK;
    enum parquet_type t = r->meta.schema.fields[col].type;
    size_t want = t == PARQUET_STRING ? 0 : parquet_type_size(t);
    if (t == PARQUET_BOOL)
        want = 1;
    if (t == PARQUET_STRING) {
        if (s->deprecated)
            return MMSP_OK;
        out->min_s = (const char *)s->min;
        out->max_s = (const char *)s->max;
        out->min_len = s->min_len;
        out->max_len = s->max_len;
        out->has_min_max = true;
        return MMSP_OK;
    }
    if (s->min_len != want || s->max_len != want)
        return MMSP_OK;
    if (t == PARQUET_FLOAT) {
        float a, b;
        memcpy(&a, s->min, 4);
        memcpy(&b, s->max, 4);
        out->min_d = a;
        out->max_d = b;
    } else if (t == PARQUET_DOUBLE) {
        memcpy(&out->min_d, s->min, 8);
        memcpy(&out->max_d, s->max, 8);
    } else {
        out->min_i = le_int(s->min, want);
        out->max_i = le_int(s->max, want);
    }
    out->has_min_max = true;
    return MMSP_OK;
}

/* ---- column decoding ---- */

static mmsp_err reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return MMSP_OK;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return MMSP_E_NOMEM;
    *p = q;
    *cap = n;
    return MMSP_OK;
}

/* A column being filled: out sized for `rows` rows, strings appended to data. */
struct sink {
    struct parquet_column *out;
    size_t esize;
    uint64_t data_len;
    bool nullable;
};

static mmsp_err data_room(struct sink *s, uint64_t extra, char *err, size_t errlen)
{
    struct parquet_column *c = s->out;
    if (extra > MAX_STRING_BYTES || s->data_len + extra > MAX_STRING_BYTES) {
        pq_errf(err, errlen, "parquet: more than %llu bytes of strings in one column",
                (unsigned long long)MAX_STRING_BYTES);
        return MMSP_E_TOO_LARGE;
    }
    if (s->data_len + extra <= c->data_cap)
        return MMSP_OK;
    size_t n = c->data_cap ? c->data_cap : 4096;
    while (n < s->data_len + extra)
        n *= 2;
    char *d = realloc(c->data, n);
    if (!d)
        return MMSP_E_NOMEM;
    c->data = d;
    c->data_cap = n;
    return MMSP_OK;
}

/* The dictionary of the chunk being read. */
struct dict {
    bool present;
    size_t n;
    const uint8_t *values; /* fixed-width entries */
};

static mmsp_err read_dict(struct parquet_reader *r, enum parquet_type t, const uint8_t *p,
                          size_t len, int32_t n, struct dict *d, char *err, size_t errlen)
{
    mmsp_err rc;
    if (t == PARQUET_BOOL) {
        pq_errf(err, errlen, "parquet: dictionary-encoded booleans are not supported");
        return MMSP_E_UNSUPPORTED;
    }
    if (n < 0 || (size_t)n > len + 1) {
        pq_errf(err, errlen, "parquet: dictionary of %d entries in %zu bytes", (int)n, len);
        return MMSP_E_PARSE;
    }
    d->n = (size_t)n;
    if (t == PARQUET_STRING) {
        rc = reserve((void **)&r->dict_off, &r->dict_off_cap, d->n + 1, sizeof *r->dict_off);
        if (rc)
            return rc;
        size_t at = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (len - at < 4) {
                pq_errf(err, errlen, "parquet: dictionary truncated");
                return MMSP_E_PARSE;
            }
            uint32_t l = pq_le32(p + at);
            if (l > len - at - 4) {
                pq_errf(err, errlen, "parquet: dictionary string past the page");
                return MMSP_E_PARSE;
            }
            r->dict_off[i] = at;
            at += 4 + (size_t)l;
        }
        r->dict_off[d->n] = at;
    } else {
        size_t es = parquet_type_size(t);
        if (len / es < d->n) {
            pq_errf(err, errlen, "parquet: dictionary truncated");
            return MMSP_E_PARSE;
        }
    }
    d->values = p;
    d->present = true;
    return MMSP_OK;
}

/* Decodes nn non-null values from [p, p+len) into rows [pos, pos+nn) of the sink (dense). */
static mmsp_err decode_values(struct parquet_reader *r, struct sink *s, int encoding,
                              const struct dict *d, const uint8_t *p, size_t len, size_t pos,
                              size_t nn, char *err, size_t errlen)
{
    struct parquet_column *c = s->out;
    enum parquet_type t = c->type;
    mmsp_err rc;
    if (encoding == ENC_PLAIN) {
        if (t == PARQUET_BOOL) {
            if (len < (nn + 7) / 8)
                goto short_page;
            uint8_t *v = (uint8_t *)c->values + pos;
            for (size_t i = 0; i < nn; i++)
                v[i] = (p[i >> 3] >> (i & 7)) & 1;
            return MMSP_OK;
        }
        if (t == PARQUET_STRING) {
            rc = data_room(s, len, err, errlen);
            if (rc)
                return rc;
            size_t at = 0;
            for (size_t i = 0; i < nn; i++) {
                if (len - at < 4)
                    goto short_page;
                uint32_t l = pq_le32(p + at);
                at += 4;
                if (l > len - at)
                    goto short_page;
                memcpy(c->data + s->data_len, p + at, l);
                at += l;
                s->data_len += l;
                c->offsets[pos + i + 1] = s->data_len;
            }
            return MMSP_OK;
        }
        if (len / s->esize < nn)
            goto short_page;
        memcpy((uint8_t *)c->values + pos * s->esize, p, nn * s->esize);
        return MMSP_OK;
    }
    if (encoding == ENC_RLE && t == PARQUET_BOOL) {
        if (len < 4 || pq_le32(p) > len - 4)
            goto short_page;
        rc = reserve((void **)&r->idx, &r->idx_cap, nn, sizeof *r->idx);
        if (rc)
            return rc;
        rc = pq_rle_decode(p + 4, pq_le32(p), 1, r->idx, nn, err, errlen);
        if (rc)
            return rc;
        uint8_t *v = (uint8_t *)c->values + pos;
        for (size_t i = 0; i < nn; i++)
            v[i] = (uint8_t)r->idx[i];
        return MMSP_OK;
    }
    if (encoding == ENC_PLAIN_DICTIONARY || encoding == ENC_RLE_DICTIONARY) {
        if (!d->present) {
            pq_errf(err, errlen, "parquet: dictionary-encoded page without a dictionary");
            return MMSP_E_PARSE;
        }
        if (nn == 0)
            return MMSP_OK;
        if (len < 1)
            goto short_page;
        rc = reserve((void **)&r->idx, &r->idx_cap, nn, sizeof *r->idx);
        if (rc)
            return rc;
        rc = pq_rle_decode(p + 1, len - 1, p[0], r->idx, nn, err, errlen);
        if (rc)
            return rc;
        const uint32_t *ix = r->idx;
        for (size_t i = 0; i < nn; i++)
            if (ix[i] >= d->n) {
                pq_errf(err, errlen, "parquet: dictionary index %u out of %zu", ix[i], d->n);
                return MMSP_E_PARSE;
            }
        if (t == PARQUET_STRING) {
            uint64_t total = 0;
            for (size_t i = 0; i < nn; i++)
                total += r->dict_off[ix[i] + 1] - r->dict_off[ix[i]] - 4;
            rc = data_room(s, total, err, errlen);
            if (rc)
                return rc;
            for (size_t i = 0; i < nn; i++) {
                uint64_t o = r->dict_off[ix[i]];
                uint64_t l = r->dict_off[ix[i] + 1] - o - 4;
                memcpy(c->data + s->data_len, d->values + o + 4, l);
                s->data_len += l;
                c->offsets[pos + i + 1] = s->data_len;
            }
        } else if (s->esize == 8) {
            uint64_t *v = (uint64_t *)c->values + pos;
            for (size_t i = 0; i < nn; i++)
                memcpy(&v[i], d->values + (size_t)ix[i] * 8, 8);
        } else {
            uint32_t *v = (uint32_t *)c->values + pos;
            for (size_t i = 0; i < nn; i++)
                memcpy(&v[i], d->values + (size_t)ix[i] * 4, 4);
        }
        return MMSP_OK;
    }
    if (encoding == ENC_DELTA_BINARY_PACKED && t != PARQUET_BOOL && t != PARQUET_FLOAT &&
        t != PARQUET_DOUBLE && t != PARQUET_STRING) {
        size_t used;
        rc = reserve((void **)&r->delta_a, &r->delta_a_cap, nn ? nn : 1, sizeof *r->delta_a);
        if (rc)
            return rc;
        rc = pq_delta_decode(p, len, r->delta_a, nn, &used, err, errlen);
        if (rc)
            return rc;
        if (t == PARQUET_INT32) {
            int32_t *v = (int32_t *)c->values + pos;
            for (size_t i = 0; i < nn; i++)
                v[i] = (int32_t)(uint32_t)(uint64_t)r->delta_a[i];
        } else {
            memcpy((int64_t *)c->values + pos, r->delta_a, nn * sizeof(int64_t));
        }
        return MMSP_OK;
    }
    if ((encoding == ENC_DELTA_LENGTH_BYTE_ARRAY || encoding == ENC_DELTA_BYTE_ARRAY) &&
        t == PARQUET_STRING) {
        size_t used = 0, used2 = 0;
        rc = reserve((void **)&r->delta_a, &r->delta_a_cap, nn ? nn : 1, sizeof *r->delta_a);
        if (!rc)
            rc = reserve((void **)&r->delta_b, &r->delta_b_cap, nn ? nn : 1, sizeof *r->delta_b);
        if (rc)
            return rc;
        int64_t *prefix = NULL, *suffix = r->delta_a;
        if (encoding == ENC_DELTA_BYTE_ARRAY) {
            prefix = r->delta_b;
            rc = pq_delta_decode(p, len, prefix, nn, &used, err, errlen);
            if (rc)
                return rc;
        }
        if (nn == 0)
            return MMSP_OK;
        rc = pq_delta_decode(p + used, len - used, suffix, nn, &used2, err, errlen);
        if (rc)
            return rc;
        const uint8_t *sd = p + used + used2;
        uint64_t left = len - used - used2, total = 0, prev_len = 0;
        for (size_t i = 0; i < nn; i++) {
            int64_t pre = prefix ? prefix[i] : 0;
            if (suffix[i] < 0 || (uint64_t)suffix[i] > left || pre < 0 || (uint64_t)pre > prev_len)
                goto short_page;
            left -= (uint64_t)suffix[i];
            prev_len = (uint64_t)pre + (uint64_t)suffix[i];
            total += prev_len;
        }
        rc = data_room(s, total, err, errlen);
        if (rc)
            return rc;
        prev_len = 0;
        for (size_t i = 0; i < nn; i++) {
            uint64_t pre = prefix ? (uint64_t)prefix[i] : 0, suf = (uint64_t)suffix[i];
            if (pre) /* the previous value ends at data_len */
                memmove(c->data + s->data_len, c->data + s->data_len - prev_len, pre);
            memcpy(c->data + s->data_len + pre, sd, suf);
            sd += suf;
            prev_len = pre + suf;
            s->data_len += prev_len;
            c->offsets[pos + i + 1] = s->data_len;
        }
        return MMSP_OK;
    }
    if (encoding == ENC_BYTE_STREAM_SPLIT && t != PARQUET_BOOL && t != PARQUET_STRING) {
        size_t k = s->esize;
        if (len / k < nn)
            goto short_page;
        uint8_t *v = (uint8_t *)c->values + pos * k;
        for (size_t b = 0; b < k; b++) {
            const uint8_t *stream = p + b * nn;
            for (size_t i = 0; i < nn; i++)
                v[i * k + b] = stream[i];
        }
        return MMSP_OK;
    }
    pq_errf(err, errlen, "parquet: encoding %d is not supported for %s columns", encoding,
            parquet_type_name(t));
    return MMSP_E_UNSUPPORTED;
short_page:
    pq_errf(err, errlen, "parquet: page holds fewer values than it says");
    return MMSP_E_PARSE;
}

/* Moves the nn dense values at [pos, pos+nn) to their rows among n (valid[pos..]) in place. */
static void scatter(struct sink *s, size_t pos, size_t n, size_t nn)
{
    struct parquet_column *c = s->out;
    const uint8_t *valid = c->valid + pos;
    size_t k = nn;
    if (c->type == PARQUET_STRING) {
        /* offsets[pos + 1 .. pos + nn] are the dense ends; rebuild from the back */
        uint64_t *o = c->offsets + pos;
        for (size_t i = n; i-- > 0;) {
            if (valid[i]) {
                o[i + 1] = o[k];
                k--;
            } else {
                o[i + 1] = UINT64_MAX; /* fixed below */
            }
        }
        for (size_t i = 0; i < n; i++)
            if (o[i + 1] == UINT64_MAX)
                o[i + 1] = o[i];
        return;
    }
    size_t es = s->esize;
    uint8_t *v = (uint8_t *)c->values + pos * es;
    for (size_t i = n; i-- > 0;) {
        if (valid[i]) {
            k--;
            if (k != i)
                memcpy(v + i * es, v + k * es, es);
        } else {
            memset(v + i * es, 0, es);
        }
    }
}

static mmsp_err page_room(struct parquet_reader *r, size_t n)
{
    return reserve((void **)&r->page, &r->page_cap, n ? n : 1, 1);
}

static mmsp_err read_chunk(struct parquet_reader *r, size_t rg, size_t col, struct sink *s,
                           size_t base, char *err, size_t errlen)
{
    const struct pq_chunk *ch = &r->meta.rgs[rg].chunks[col];
    size_t rows = (size_t)r->meta.rgs[rg].num_rows;
    struct parquet_column *c = s->out;
    mmsp_err rc = MMSP_OK;
    if (ch->num_values != (int64_t)rows) {
        pq_errf(err, errlen, "parquet: column %s: chunk has %lld values for %zu rows",
                r->meta.schema.fields[col].name, (long long)ch->num_values, rows);
        return MMSP_E_PARSE;
    }
    uint64_t start = (uint64_t)ch->data_page_offset;
    if (ch->dict_page_offset >= 0 && ch->dict_page_offset < ch->data_page_offset)
        start = (uint64_t)ch->dict_page_offset;
    uint64_t end = start + (uint64_t)ch->total_compressed_size;
    if (start >= r->data_end || end > r->data_end) {
        pq_errf(err, errlen, "parquet: column %s: chunk out of the file",
                r->meta.schema.fields[col].name);
        return MMSP_E_PARSE;
    }
    struct dict d = {0};
    size_t pos = 0;
    const uint8_t *cur = r->data + start, *cend = r->data + end;
    while (pos < rows) {
        struct pq_page_header h;
        size_t used;
        if (cur >= cend) {
            pq_errf(err, errlen, "parquet: column %s: pages end after %zu of %zu rows",
                    r->meta.schema.fields[col].name, pos, rows);
            return MMSP_E_PARSE;
        }
        rc = pq_page_header_parse(cur, (size_t)(cend - cur), &h, &used, err, errlen);
        if (rc)
            return rc;
        cur += used;
        if ((size_t)h.compressed_size > (size_t)(cend - cur)) {
            pq_errf(err, errlen, "parquet: page of %d bytes past the column chunk",
                    (int)h.compressed_size);
            return MMSP_E_PARSE;
        }
        const uint8_t *praw = cur;
        cur += h.compressed_size;
        size_t usize = (size_t)h.uncompressed_size, csize = (size_t)h.compressed_size;

        if (h.type == PAGE_DICTIONARY) {
            if (!h.has_dict || d.present) {
                pq_errf(err, errlen, "parquet: bad or second dictionary page");
                return MMSP_E_PARSE;
            }
            rc = pq_decompress_check(ch->codec, praw, csize, usize, err, errlen);
            if (rc)
                return rc;
            rc = reserve((void **)&r->dict, &r->dict_cap, usize ? usize : 1, 1);
            if (rc)
                return rc;
            rc = pq_decompress(ch->codec, praw, csize, r->dict, usize, err, errlen);
            if (rc)
                return rc;
            rc = read_dict(r, c->type, r->dict, usize, h.num_values, &d, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (h.type != PAGE_DATA && h.type != PAGE_DATA_V2)
            continue; /* index pages and the like */
        if ((h.type == PAGE_DATA && !h.has_data) || (h.type == PAGE_DATA_V2 && !h.has_v2)) {
            pq_errf(err, errlen, "parquet: data page without its header");
            return MMSP_E_PARSE;
        }
        size_t n = (size_t)h.num_values;
        if (n > rows - pos) {
            pq_errf(err, errlen, "parquet: column %s: pages hold more values than rows",
                    r->meta.schema.fields[col].name);
            return MMSP_E_PARSE;
        }
        const uint8_t *vals, *defs = NULL;
        size_t vlen, dlen = 0;
        if (h.type == PAGE_DATA) {
            rc = pq_decompress_check(ch->codec, praw, csize, usize, err, errlen);
            if (rc)
                return rc;
            rc = page_room(r, usize);
            if (rc)
                return rc;
            rc = pq_decompress(ch->codec, praw, csize, r->page, usize, err, errlen);
            if (rc)
                return rc;
            vals = r->page;
            vlen = usize;
            if (s->nullable) {
                if (vlen < 4 || pq_le32(vals) > vlen - 4) {
                    pq_errf(err, errlen, "parquet: definition levels past the page");
                    return MMSP_E_PARSE;
                }
                dlen = pq_le32(vals);
                defs = vals + 4;
                vals += 4 + dlen;
                vlen -= 4 + dlen;
            }
        } else {
            size_t lv = (size_t)h.def_len + (size_t)h.rep_len;
            if (lv > csize || lv > usize || h.rep_len != 0) {
                pq_errf(err, errlen, "parquet: bad level lengths in a v2 page");
                return MMSP_E_PARSE;
            }
            if (s->nullable) {
                defs = praw + h.rep_len;
                dlen = (size_t)h.def_len;
            }
            if (h.is_compressed && ch->codec != CODEC_UNCOMPRESSED) {
                rc = pq_decompress_check(ch->codec, praw + lv, csize - lv, usize - lv, err, errlen);
                if (rc)
                    return rc;
                rc = page_room(r, usize - lv);
                if (rc)
                    return rc;
                rc = pq_decompress(ch->codec, praw + lv, csize - lv, r->page, usize - lv, err,
                                   errlen);
                if (rc)
                    return rc;
                vals = r->page;
                vlen = usize - lv;
            } else {
                vals = praw + lv;
                vlen = csize - lv;
            }
        }
        size_t at = base + pos, nn = n;
        if (s->nullable) {
            rc = reserve((void **)&r->idx, &r->idx_cap, n ? n : 1, sizeof *r->idx);
            if (rc)
                return rc;
            rc = pq_rle_decode(defs, dlen, 1, r->idx, n, err, errlen);
            if (rc)
                return rc;
            nn = 0;
            for (size_t i = 0; i < n; i++) {
                c->valid[at + i] = (uint8_t)r->idx[i];
                nn += r->idx[i];
            }
        }
        rc = decode_values(r, s, h.encoding, &d, vals, vlen, at, nn, err, errlen);
        if (rc)
            return rc;
        if (nn < n)
            scatter(s, at, n, nn);
        pos += n;
    }
    return MMSP_OK;
}

/* Reads row groups [rg0, rg1) of column col into out. */
static mmsp_err read_groups(struct parquet_reader *r, size_t rg0, size_t rg1, size_t col,
                            struct parquet_column *out, char *err, size_t errlen)
{
    const struct parquet_field *f = &r->meta.schema.fields[col];
    parquet_column_init(out, f->type);
    uint64_t rows = 0;
    for (size_t g = rg0; g < rg1; g++)
        rows += (uint64_t)r->meta.rgs[g].num_rows;
    if (rows > (uint64_t)PARQUET_MAX_COLUMN_ROWS) {
        pq_errf(err, errlen, "parquet: %llu rows is too many for one column read",
                (unsigned long long)rows);
        return MMSP_E_TOO_LARGE;
    }
    struct sink s = {.out = out, .esize = parquet_type_size(f->type), .nullable = f->nullable};
    mmsp_err rc = MMSP_E_NOMEM;
    size_t n = (size_t)rows;
    if (f->type == PARQUET_STRING) {
        out->offsets = calloc(n + 1, sizeof *out->offsets);
        if (!out->offsets)
            goto out;
    } else {
        out->values = malloc(n ? n * s.esize : 1);
        if (!out->values)
            goto out;
    }
    if (f->nullable) {
        out->valid = malloc(n ? n : 1);
        if (!out->valid)
            goto out;
    }
    size_t base = 0;
    for (size_t g = rg0; g < rg1; g++) {
        rc = read_chunk(r, g, col, &s, base, err, errlen);
        if (rc)
            goto out;
        base += (size_t)r->meta.rgs[g].num_rows;
    }
    out->rows = n;
    out->cap = n;
    if (out->valid) {
        bool any_null = memchr(out->valid, 0, n) != NULL;
        if (!any_null) {
            free(out->valid);
            out->valid = NULL;
        }
    }
    rc = MMSP_OK;
out:
    if (rc) {
        if (rc == MMSP_E_NOMEM)
            pq_errf(err, errlen, "parquet: out of memory");
        parquet_column_free(out);
    }
    return rc;
}

mmsp_err parquet_read_column(struct parquet_reader *r, size_t rg, size_t col,
                             struct parquet_column *out, char *err, size_t errlen)
{
    if (rg >= r->meta.nrg || col >= r->meta.schema.ncols) {
        parquet_column_init(out, PARQUET_INT32);
        pq_errf(err, errlen, "parquet: row group %zu / column %zu out of range", rg, col);
        return MMSP_E_INVALID;
    }
    return read_groups(r, rg, rg + 1, col, out, err, errlen);
}

mmsp_err parquet_read_column_all(struct parquet_reader *r, size_t col, struct parquet_column *out,
                                 char *err, size_t errlen)
{
    if (col >= r->meta.schema.ncols) {
        parquet_column_init(out, PARQUET_INT32);
        pq_errf(err, errlen, "parquet: column %zu out of range", col);
        return MMSP_E_INVALID;
    }
    return read_groups(r, 0, r->meta.nrg, col, out, err, errlen);
}
