/*
 * Page compression codecs: SNAPPY (libsnappy's C API), ZSTD (libzstd), GZIP (zlib, gzip
 * framing; zlib framing is also accepted when reading) and none. Decompression must produce
 * exactly the size the page header announced; compression appends to a bounded common/buf.
 * Calls: snappy-c, zstd, zlib, common/buf.
 */
#include <limits.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "pq_internal.h"

static mmsp_err gunzip(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len, char *err,
                       size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
        pq_errf(err, errlen, "parquet: gzip: cannot initialise zlib");
        return MMSP_E_NOMEM;
    }
    mmsp_err rc = MMSP_OK;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)src_len;
    z.next_out = dst;
    z.avail_out = (uInt)dst_len;
    int zr = inflate(&z, Z_FINISH);
    if (zr != Z_STREAM_END || z.total_out != dst_len) {
        pq_errf(err, errlen, "parquet: gzip: corrupt page (%s)", z.msg ? z.msg : "size mismatch");
        rc = MMSP_E_PARSE;
    }
    inflateEnd(&z);
    return rc;
}

mmsp_err pq_decompress_check(int codec, const uint8_t *src, size_t src_len, size_t dst_len,
                             char *err, size_t errlen)
{
    size_t n;
    unsigned long long z;
    switch (codec) {
    case CODEC_UNCOMPRESSED:
        if (src_len == dst_len)
            return MMSP_OK;
        break;
    case CODEC_SNAPPY:
        if (snappy_uncompressed_length((const char *)src, src_len, &n) == SNAPPY_OK && n == dst_len)
            return MMSP_OK;
        break;
    case CODEC_ZSTD:
        z = ZSTD_getFrameContentSize(src, src_len);
        if (z == ZSTD_CONTENTSIZE_ERROR)
            break;
        if (z == ZSTD_CONTENTSIZE_UNKNOWN || z == dst_len)
            return MMSP_OK; /* a frame without its size is checked while decompressing */
        break;
    case CODEC_GZIP:
        /* deflate expands at most ~1032:1 */
        if (dst_len / 1032 <= src_len + 64)
            return MMSP_OK;
        break;
    default:
        pq_errf(err, errlen, "parquet: compression codec %d is not supported", codec);
        return MMSP_E_UNSUPPORTED;
    }
    pq_errf(err, errlen, "parquet: page sizes do not match its compressed data");
    return MMSP_E_PARSE;
}

mmsp_err pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                       char *err, size_t errlen)
{
    switch (codec) {
    case CODEC_UNCOMPRESSED:
        if (src_len != dst_len) {
            pq_errf(err, errlen, "parquet: uncompressed page sizes differ");
            return MMSP_E_PARSE;
        }
        if (dst_len)
            memcpy(dst, src, dst_len);
        return MMSP_OK;
    case CODEC_SNAPPY: {
        size_t n;
        if (snappy_uncompressed_length((const char *)src, src_len, &n) != SNAPPY_OK ||
            n != dst_len) {
            pq_errf(err, errlen, "parquet: snappy: corrupt page or wrong size");
            return MMSP_E_PARSE;
        }
        if (snappy_uncompress((const char *)src, src_len, (char *)dst, &n) != SNAPPY_OK ||
            n != dst_len) {
            pq_errf(err, errlen, "parquet: snappy: corrupt page");
            return MMSP_E_PARSE;
        }
        return MMSP_OK;
    }
    case CODEC_ZSTD: {
        size_t n = ZSTD_decompress(dst, dst_len, src, src_len);
        if (ZSTD_isError(n) || n != dst_len) {
            pq_errf(err, errlen, "parquet: zstd: %s",
                    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch");
            return MMSP_E_PARSE;
        }
        return MMSP_OK;
    }
    case CODEC_GZIP:
        if (src_len > UINT_MAX || dst_len > UINT_MAX) {
            pq_errf(err, errlen, "parquet: gzip: page too large");
            return MMSP_E_TOO_LARGE;
        }
        return gunzip(src, src_len, dst, dst_len, err, errlen);
    default:
        pq_errf(err, errlen, "parquet: compression codec %d is not supported", codec);
        return MMSP_E_UNSUPPORTED;
    }
}

static mmsp_err gzip(int level, const uint8_t *src, size_t src_len, struct buf *out, char *err,
                     size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        pq_errf(err, errlen, "parquet: gzip: cannot initialise zlib");
        return MMSP_E_NOMEM;
    }
    size_t bound = deflateBound(&z, (uLong)src_len);
    char *at;
    mmsp_err rc = buf_reserve(out, bound, &at);
    if (rc) {
        pq_errf(err, errlen, "parquet: gzip: page too large");
        goto out;
    }
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)src_len;
    z.next_out = (Bytef *)at;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        pq_errf(err, errlen, "parquet: gzip: compression failed");
        rc = MMSP_E_INTERNAL;
        goto out;
    }
    out->len += z.total_out;
out:
    deflateEnd(&z);
    return rc;
}

mmsp_err pq_compress(int codec, int level, const uint8_t *src, size_t src_len, struct buf *out,
                     char *err, size_t errlen)
{
    char *at;
    mmsp_err rc;
    switch (codec) {
    case CODEC_UNCOMPRESSED:
        rc = buf_append(out, src, src_len);
        break;
    case CODEC_SNAPPY: {
        size_t bound = snappy_max_compressed_length(src_len);
        rc = buf_reserve(out, bound, &at);
        if (rc)
            break;
        if (snappy_compress((const char *)src, src_len, at, &bound) != SNAPPY_OK) {
            pq_errf(err, errlen, "parquet: snappy: compression failed");
            return MMSP_E_INTERNAL;
        }
        out->len += bound;
        break;
    }
    case CODEC_ZSTD: {
        size_t bound = ZSTD_compressBound(src_len);
        rc = buf_reserve(out, bound, &at);
        if (rc)
            break;
        size_t n = ZSTD_compress(at, bound, src, src_len, level ? level : 3);
        if (ZSTD_isError(n)) {
            pq_errf(err, errlen, "parquet: zstd: %s", ZSTD_getErrorName(n));
            return MMSP_E_INTERNAL;
        }
        out->len += n;
        break;
    }
    case CODEC_GZIP:
        if (src_len > UINT_MAX) {
            pq_errf(err, errlen, "parquet: gzip: page too large");
            return MMSP_E_TOO_LARGE;
        }
        return gzip(level, src, src_len, out, err, errlen);
    default:
        pq_errf(err, errlen, "parquet: codec %d is not supported", codec);
        return MMSP_E_UNSUPPORTED;
    }
    if (rc)
        pq_errf(err, errlen, "parquet: page too large");
    return rc;
}
