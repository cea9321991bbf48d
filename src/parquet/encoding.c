/*
 * The RLE / bit-packed hybrid encoding (definition levels, dictionary indices, RLE booleans):
 * decoding with every run bounded by the input and by the values wanted, and encoding as
 * bit-packed groups of 8 (or one RLE run when every value is the same). PLAIN values and
 * dictionaries are decoded in reader.c, next to the column buffers they fill.
 * Calls: common/buf.
 */
#include <string.h>

#include "pq_internal.h"

static inline bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

mmsp_err pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n, char *err,
                       size_t errlen)
{
    const uint8_t *end = p + len;
    size_t got = 0;
    if (bw < 0 || bw > 32) {
        pq_errf(err, errlen, "parquet: bit width %d out of range", bw);
        return MMSP_E_PARSE;
    }
    size_t vbytes = (size_t)(bw + 7) / 8;
    uint64_t mask = bw == 32 ? 0xffffffffu : ((1ull << bw) - 1);
    while (got < n) {
        uint64_t h;
        if (!get_varint(&p, end, &h)) {
            pq_errf(err, errlen, "parquet: RLE data truncated (%zu of %zu values)", got, n);
            return MMSP_E_PARSE;
        }
        if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
            uint64_t groups = h >> 1, left = (uint64_t)(end - p);
            /* a last run may stop short of its groups' bytes: only the values wanted count */
            uint64_t bytes = groups > left ? left : groups * (uint64_t)bw;
            if (bytes > left)
                bytes = left;
            uint64_t count = groups >= n - got ? n - got : groups * 8;
            if (count > n - got)
                count = n - got;
            if (count * (uint64_t)bw > bytes * 8) {
                pq_errf(err, errlen, "parquet: bit-packed run past the end");
                return MMSP_E_PARSE;
            }
            if (bw == 0) {
                memset(out + got, 0, count * sizeof *out);
            } else if (bw == 1) {
                for (uint64_t i = 0; i < count; i++)
                    out[got + i] = (p[i >> 3] >> (i & 7)) & 1;
            } else {
                uint64_t bitpos = 0;
                for (uint64_t i = 0; i < count; i++, bitpos += (uint64_t)bw) {
                    uint64_t byte = bitpos >> 3;
                    uint64_t v = 0;
                    int need = (int)((bitpos & 7) + (uint64_t)bw);
                    int nb = (need + 7) / 8;
                    for (int k = 0; k < nb; k++)
                        v |= (uint64_t)p[byte + (uint64_t)k] << (8 * k);
                    out[got + i] = (uint32_t)((v >> (bitpos & 7)) & mask);
                }
            }
            got += count;
            p += bytes;
        } else { /* RLE run */
            uint64_t count = h >> 1;
            if ((size_t)(end - p) < vbytes) {
                pq_errf(err, errlen, "parquet: RLE run truncated");
                return MMSP_E_PARSE;
            }
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++)
                v |= (uint32_t)p[k] << (8 * k);
            p += vbytes;
            if (v & ~mask) {
                pq_errf(err, errlen, "parquet: RLE value wider than its bit width");
                return MMSP_E_PARSE;
            }
            if (count > n - got)
                count = n - got;
            for (uint64_t i = 0; i < count; i++)
                out[got + i] = v;
            got += count;
        }
    }
    return MMSP_OK;
}

static mmsp_err put_varint(struct buf *out, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return buf_append(out, tmp, n);
}

mmsp_err pq_rle_encode(const uint32_t *v, size_t n, int bw, struct buf *out)
{
    mmsp_err rc;
    if (n == 0)
        return MMSP_OK;
    bool same = true;
    for (size_t i = 1; i < n && same; i++)
        same = v[i] == v[0];
    if (same) {
        rc = put_varint(out, (uint64_t)n << 1);
        if (rc)
            return rc;
        uint8_t b[4];
        size_t vbytes = (size_t)(bw + 7) / 8;
        for (size_t k = 0; k < vbytes; k++)
            b[k] = (uint8_t)(v[0] >> (8 * k));
        return buf_append(out, b, vbytes);
    }
    size_t groups = (n + 7) / 8;
    rc = put_varint(out, (uint64_t)groups << 1 | 1);
    if (rc)
        return rc;
    size_t bytes = groups * (size_t)bw;
    char *at;
    rc = buf_reserve(out, bytes, &at);
    if (rc)
        return rc;
    uint8_t *d = (uint8_t *)at;
    memset(d, 0, bytes);
    uint64_t bitpos = 0;
    for (size_t i = 0; i < n; i++, bitpos += (uint64_t)bw) {
        uint64_t x = (uint64_t)v[i] << (bitpos & 7);
        for (size_t k = bitpos >> 3; x; k++, x >>= 8)
            d[k] |= (uint8_t)x;
    }
    out->len += bytes;
    return MMSP_OK;
}

mmsp_err pq_rle_encode_bits(const uint8_t *v, size_t n, struct buf *out)
{
    mmsp_err rc;
    if (n == 0)
        return MMSP_OK;
    bool same = true;
    for (size_t i = 1; i < n && same; i++)
        same = v[i] == v[0];
    if (same) {
        rc = put_varint(out, (uint64_t)n << 1);
        if (rc)
            return rc;
        uint8_t b = v[0] ? 1 : 0;
        return buf_append(out, &b, 1);
    }
    size_t groups = (n + 7) / 8;
    rc = put_varint(out, (uint64_t)groups << 1 | 1);
    if (rc)
        return rc;
    char *at;
    rc = buf_reserve(out, groups, &at);
    if (rc)
        return rc;
    uint8_t *d = (uint8_t *)at;
    memset(d, 0, groups);
    for (size_t i = 0; i < n; i++)
        if (v[i])
            d[i >> 3] |= (uint8_t)(1u << (i & 7));
    out->len += groups;
    return MMSP_OK;
}

/* bw (<= 64) bits at bit position bp of p, LSB first. */
static uint64_t get_bits(const uint8_t *p, uint64_t bp, int bw)
{
    uint64_t v = 0;
    int got = 0;
    while (got < bw) {
        int off = (int)(bp & 7);
        int take = 8 - off < bw - got ? 8 - off : bw - got;
        v |= (uint64_t)((p[bp >> 3] >> off) & ((1u << take) - 1)) << got;
        got += take;
        bp += (uint64_t)take;
    }
    return v;
}

mmsp_err pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, size_t *used,
                         char *err, size_t errlen)
{
    const uint8_t *start = p, *end = p + len;
    uint64_t block, minis, total, first;
    if (!get_varint(&p, end, &block) || !get_varint(&p, end, &minis) ||
        !get_varint(&p, end, &total) || !get_varint(&p, end, &first))
        goto bad;
    if (block == 0 || block > (1u << 20) || minis == 0 || block % minis != 0 ||
        (block / minis) % 8 != 0 || total < n)
        goto bad;
    uint64_t per_mini = block / minis;
    uint64_t v = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
    size_t got = 0;
    if (n > 0)
        out[got++] = (int64_t)v;
    while (got < n) {
        uint64_t zmin;
        if (!get_varint(&p, end, &zmin))
            goto bad;
        uint64_t min_delta = (uint64_t)((int64_t)(zmin >> 1) ^ -(int64_t)(zmin & 1));
        if ((uint64_t)(end - p) < minis)
            goto bad;
        const uint8_t *widths = p;
        p += minis;
        for (uint64_t m = 0; m < minis && got < n; m++) {
            int bw = widths[m];
            if (bw > 64)
                goto bad;
            uint64_t want = per_mini < n - got ? per_mini : n - got;
            uint64_t need = (want * (uint64_t)bw + 7) / 8;
            uint64_t full = per_mini * (uint64_t)bw / 8;
            if (need > (uint64_t)(end - p))
                goto bad;
            for (uint64_t i = 0; i < want; i++) {
                uint64_t d = bw ? get_bits(p, i * (uint64_t)bw, bw) : 0;
                v += min_delta + d;
                out[got++] = (int64_t)v;
            }
            p += full < (uint64_t)(end - p) ? full : (uint64_t)(end - p);
        }
    }
    /* the remaining miniblocks of the last block carry no values (and may be absent) */
    *used = (size_t)(p - start);
    return MMSP_OK;
bad:
    pq_errf(err, errlen, "parquet: corrupt DELTA_BINARY_PACKED data");
    return MMSP_E_PARSE;
}
