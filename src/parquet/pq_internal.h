/*
 * Internals of src/parquet shared between its files (not a contract for other modules):
 * the Thrift compact protocol reader/writer (thrift.c), the decoded footer (footer.c), the
 * codecs (codec.c) and the encodings (encoding.c).
 */
#ifndef MMSP_PARQUET_INTERNAL_H
#define MMSP_PARQUET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "parquet.h"

/* Parquet physical types, encodings, codecs, page types (parquet.thrift) */
enum {
    PT_BOOLEAN = 0,
    PT_INT32 = 1,
    PT_INT64 = 2,
    PT_INT96 = 3,
    PT_FLOAT = 4,
    PT_DOUBLE = 5,
    PT_BYTE_ARRAY = 6,
    PT_FIXED = 7
};
enum {
    ENC_PLAIN = 0,
    ENC_PLAIN_DICTIONARY = 2,
    ENC_RLE = 3,
    ENC_BIT_PACKED = 4,
    ENC_DELTA_BINARY_PACKED = 5,
    ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    ENC_DELTA_BYTE_ARRAY = 7,
    ENC_RLE_DICTIONARY = 8,
    ENC_BYTE_STREAM_SPLIT = 9
};
enum { CODEC_UNCOMPRESSED = 0, CODEC_SNAPPY = 1, CODEC_GZIP = 2, CODEC_ZSTD = 6 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };

#define THRIFT_MAX_DEPTH 32

/* ---- Thrift compact protocol, reading (thrift.c) ---- */

enum {
    TT_STOP = 0,
    TT_TRUE = 1,
    TT_FALSE = 2,
    TT_BYTE = 3,
    TT_I16 = 4,
    TT_I32 = 5,
    TT_I64 = 6,
    TT_DOUBLE = 7,
    TT_BINARY = 8,
    TT_LIST = 9,
    TT_SET = 10,
    TT_MAP = 11,
    TT_STRUCT = 12
};

/* A cursor over [p, end). The first error sets err (and every later read fails). */
struct thrift_in {
    const uint8_t *p, *end;
    int depth;
    bool failed;
    char *err;
    size_t errlen;
};

/* Next field of the current struct: *type TT_STOP at the end. last_id is the struct's previous
 * field id (0 at the start), updated. Returns false on error. */
bool thrift_field(struct thrift_in *in, int16_t *last_id, int *id, int *type);
bool thrift_i32(struct thrift_in *in, int type, int32_t *v);
bool thrift_i64(struct thrift_in *in, int type, int64_t *v);
bool thrift_bool(int type, bool *v);
/* A BINARY field: *p points into the input, *len bytes. */
bool thrift_binary(struct thrift_in *in, int type, const uint8_t **p, size_t *len);
/* A list header: element type and count (bounded by the bytes left). */
bool thrift_list(struct thrift_in *in, int type, int *elem, size_t *n);
/* Enter/leave a nested struct (bounded depth). */
bool thrift_enter(struct thrift_in *in, int type);
void thrift_leave(struct thrift_in *in);
/* Skips a value of the given type (nested structs, lists, maps included). */
bool thrift_skip(struct thrift_in *in, int type);
bool thrift_fail(struct thrift_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Handles one field of a struct being read: reads (or thrift_skip's) the value of field `id`
 * of type `type`. false stops the read (the reason is in the cursor's err). */
typedef bool thrift_field_fn(struct thrift_in *in, int id, int type, void *ctx);
/* Reads the fields of the current struct up to its STOP, handing each to on_field (the
 * top-level struct of a message). */
bool thrift_fields(struct thrift_in *in, thrift_field_fn *on_field, void *ctx);
/* The same for a nested struct value of type `type`: thrift_enter, the fields, thrift_leave. */
bool thrift_struct(struct thrift_in *in, int type, thrift_field_fn *on_field, void *ctx);

/* ---- Thrift compact protocol, writing (thrift.c) ---- */

struct thrift_out {
    struct buf *b;
    int16_t last[THRIFT_MAX_DEPTH];
    int depth;
    mmsp_err rc; /* first error */
};

void thrift_out_init(struct thrift_out *o, struct buf *b);
void thrift_w_i32(struct thrift_out *o, int id, int32_t v);
void thrift_w_i64(struct thrift_out *o, int id, int64_t v);
void thrift_w_bool(struct thrift_out *o, int id, bool v);
void thrift_w_binary(struct thrift_out *o, int id, const void *p, size_t len);
void thrift_w_struct_begin(struct thrift_out *o, int id); /* id 0: a list element */
void thrift_w_struct_end(struct thrift_out *o);
void thrift_w_list_begin(struct thrift_out *o, int id, int elem_type, size_t n);
void thrift_w_list_i32(struct thrift_out *o, int32_t v); /* an element of an i32 list */
void thrift_w_list_binary(struct thrift_out *o, const void *p, size_t len);
void thrift_w_stop(struct thrift_out *o); /* ends the top-level struct */

/* ---- decoded footer (footer.c) ---- */

struct pq_raw_stats {
    bool has_null_count;
    int64_t null_count;
    const uint8_t *min, *max; /* into the file, or NULL */
    size_t min_len, max_len;
    bool deprecated; /* min/max from the deprecated fields (signed order) */
};

struct pq_chunk {
    int32_t phys;
    int32_t codec;
    int64_t num_values;
    int64_t data_page_offset;
    int64_t dict_page_offset; /* -1: none */
    int64_t total_compressed_size;
    struct pq_raw_stats stats;
};

struct pq_row_group {
    int64_t num_rows;
    struct pq_chunk *chunks; /* ncols entries */
};

struct pq_meta {
    int64_t num_rows;
    struct parquet_schema schema;
    int32_t *phys; /* physical type per column */
    size_t nrg;
    struct pq_row_group *rgs;
};

/* Decodes FileMetaData from [p, p+len); file_size bounds offsets. */
mmsp_err pq_meta_parse(const uint8_t *p, size_t len, uint64_t file_size, struct pq_meta *m,
                       char *err, size_t errlen);
void pq_meta_free(struct pq_meta *m);

struct pq_page_header {
    int32_t type;
    int32_t uncompressed_size, compressed_size;
    int32_t num_values;
    int32_t encoding;
    int32_t num_nulls, num_rows; /* v2 */
    int32_t def_len, rep_len;    /* v2 */
    bool is_compressed;          /* v2, default true */
    bool has_data, has_dict, has_v2;
};

/* Decodes a PageHeader at p (at most avail bytes): *used = header bytes. */
mmsp_err pq_page_header_parse(const uint8_t *p, size_t avail, struct pq_page_header *h,
                              size_t *used, char *err, size_t errlen);

/* ---- codecs (codec.c) ---- */

/* Checks, before dst_len bytes are allocated, that src can decompress to dst_len bytes
 * (sizes in the codec's own header, or the codec's largest expansion). */
mmsp_err pq_decompress_check(int codec, const uint8_t *src, size_t src_len, size_t dst_len,
                             char *err, size_t errlen);
/* Decompresses src into dst, which must come out exactly dst_len bytes. */
mmsp_err pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                       char *err, size_t errlen);
/* Appends the compressed form of src to out. */
mmsp_err pq_compress(int codec, int level, const uint8_t *src, size_t src_len, struct buf *out,
                     char *err, size_t errlen);

/* ---- encodings (encoding.c) ---- */

/* Decodes exactly n values of the RLE/bit-packed hybrid (bit width bw <= 32) from [p, p+len). */
mmsp_err pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n, char *err,
                       size_t errlen);
/* Decodes the first n values of DELTA_BINARY_PACKED data (wrapping 64-bit arithmetic; INT32
 * callers narrow); *used = bytes up to the end of the last miniblock read. */
mmsp_err pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, size_t *used,
                         char *err, size_t errlen);
/* Appends n values (each < 2^bw) as bit-packed runs (a single RLE run when all are equal). */
mmsp_err pq_rle_encode(const uint32_t *v, size_t n, int bw, struct buf *out);
/* Appends n 0/1 bytes as a hybrid run with bit width 1. */
mmsp_err pq_rle_encode_bits(const uint8_t *v, size_t n, struct buf *out);

static inline uint32_t pq_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void pq_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
