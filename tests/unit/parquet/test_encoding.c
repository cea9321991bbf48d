/*
 * Unit tests for src/parquet's encodings: the RLE / bit-packed hybrid (our encoder against our
 * decoder for every bit width, and hand-written runs from the format's spec), and
 * DELTA_BINARY_PACKED decoding against a small encoder written here from the spec (blocks of
 * 128 values, 4 miniblocks), including wrap-around deltas and the spec's examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/pq_internal.h"
#include "../test_rng.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    return test_xorshift64(&rng);
}

static void test_rle_roundtrip(void **state)
{
    (void)state;
    char err[MMSP_ERRMSG_MAX];
    uint32_t in[1000], out[1000];
    for (int bw = 1; bw <= 32; bw++) {
        for (size_t n = 0; n < 1000; n += 97) {
            for (size_t i = 0; i < n; i++)
                in[i] = (uint32_t)(next() & (bw == 32 ? 0xffffffffu : ((1u << bw) - 1)));
            struct buf b;
            buf_init(&b, 1 << 20);
            assert_int_equal(pq_rle_encode(in, n, bw, &b), MMSP_OK);
            assert_int_equal(
                pq_rle_decode((const uint8_t *)b.data, b.len, bw, out, n, err, sizeof err),
                MMSP_OK);
            assert_memory_equal(in, out, n * sizeof *in);
            /* half the data: an error, not a read past the end (a few bytes less may only cut
             * the padding of the last group, which is allowed) */
            if (n > 16 && b.len > 4)
                assert_int_equal(
                    pq_rle_decode((const uint8_t *)b.data, b.len / 2, bw, out, n, err, sizeof err),
                    MMSP_E_PARSE);
            buf_release(&b);
        }
    }
    /* the spec's example: bit width 3, values 0..7 bit-packed: header 0x03, bytes 88 c6 fa */
    static const uint8_t packed[] = {0x03, 0x88, 0xc6, 0xfa};
    assert_int_equal(pq_rle_decode(packed, sizeof packed, 3, out, 8, err, sizeof err), MMSP_OK);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    /* an RLE run of 5 x 7 then bits */
    static const uint8_t run[] = {0x0a, 0x07};
    assert_int_equal(pq_rle_decode(run, sizeof run, 3, out, 5, err, sizeof err), MMSP_OK);
    assert_int_equal(out[4], 7);
    /* a run value wider than the bit width */
    static const uint8_t wide[] = {0x0a, 0x09};
    assert_int_equal(pq_rle_decode(wide, sizeof wide, 3, out, 5, err, sizeof err), MMSP_E_PARSE);
    assert_int_equal(pq_rle_decode(run, sizeof run, 33, out, 5, err, sizeof err), MMSP_E_PARSE);
}

static void put_varint(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        char c = (char)(v | 0x80);
        buf_append(b, &c, 1);
        v >>= 7;
    }
    char c = (char)v;
    buf_append(b, &c, 1);
}

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* DELTA_BINARY_PACKED from the spec: block 128, 4 miniblocks of 32. */
static void delta_encode(const int64_t *v, size_t n, struct buf *b)
{
    put_varint(b, 128);
    put_varint(b, 4);
    put_varint(b, n);
    put_varint(b, zz(n ? v[0] : 0));
    for (size_t start = 1; start < n; start += 128) {
        size_t cnt = n - start < 128 ? n - start : 128;
        uint64_t d[128];
        int64_t min = INT64_MAX;
        for (size_t i = 0; i < cnt; i++) {
            d[i] = (uint64_t)v[start + i] - (uint64_t)v[start + i - 1];
            if ((int64_t)d[i] < min)
                min = (int64_t)d[i];
        }
        put_varint(b, zz(min));
        uint8_t widths[4] = {0};
        size_t minis = (cnt + 31) / 32;
        for (size_t m = 0; m < minis; m++)
            for (size_t i = m * 32; i < cnt && i < m * 32 + 32; i++) {
                uint64_t x = d[i] - (uint64_t)min;
                while (widths[m] < 64 && (x >> widths[m]) != 0)
                    widths[m]++;
            }
        buf_append(b, widths, 4);
        for (size_t m = 0; m < minis; m++) {
            uint8_t bytes[32 * 8] = {0};
            for (size_t i = 0; i < 32; i++) {
                size_t k = m * 32 + i;
                uint64_t x = k < cnt ? d[k] - (uint64_t)min : 0;
                for (int bit = 0; bit < widths[m]; bit++)
                    if ((x >> bit) & 1) {
                        size_t pos = i * widths[m] + (size_t)bit;
                        bytes[pos / 8] |= (uint8_t)(1u << (pos % 8));
                    }
            }
            buf_append(b, bytes, 32 * (size_t)widths[m] / 8);
        }
    }
}

static void test_delta(void **state)
{
    (void)state;
    char err[MMSP_ERRMSG_MAX];
    static int64_t in[2000], out[2000];
    size_t sizes[] = {1, 2, 5, 33, 128, 129, 500, 2000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (int kind = 0; kind < 4; kind++) {
            size_t n = sizes[s];
            for (size_t i = 0; i < n; i++) {
                switch (kind) {
                case 0:
                    in[i] = (int64_t)i * 3 + 7;
                    break; /* constant delta */
                case 1:
                    in[i] = (int64_t)(next() % 1000) - 500;
                    break; /* small */
                case 2:
                    in[i] = (int64_t)next();
                    break; /* full 64-bit */
                default:
                    in[i] = i % 2 ? INT64_MAX : INT64_MIN;
                    break; /* wrap-around */
                }
            }
            struct buf b;
            buf_init(&b, 1 << 22);
            delta_encode(in, n, &b);
            const char tail[] = "after";
            buf_append(&b, tail, 5);
            size_t used = 0;
            assert_int_equal(
                pq_delta_decode((const uint8_t *)b.data, b.len, out, n, &used, err, sizeof err),
                MMSP_OK);
            assert_memory_equal(in, out, n * sizeof *in);
            assert_int_equal(used, b.len - 5); /* stops where the next section starts */
            /* half the data: an error */
            if (n > 64)
                assert_int_equal(pq_delta_decode((const uint8_t *)b.data, (b.len - 5) / 2, out, n,
                                                 &used, err, sizeof err),
                                 MMSP_E_PARSE);
            buf_release(&b);
        }
    }
    /* more values wanted than the header holds; a bad block size */
    static const uint8_t one[] = {0x80, 0x01, 0x04, 0x01, 0x02};
    size_t used;
    assert_int_equal(pq_delta_decode(one, sizeof one, out, 1, &used, err, sizeof err), MMSP_OK);
    assert_int_equal(out[0], 1);
    assert_int_equal(pq_delta_decode(one, sizeof one, out, 2, &used, err, sizeof err),
                     MMSP_E_PARSE);
    static const uint8_t bad_block[] = {0x03, 0x04, 0x01, 0x02};
    assert_int_equal(pq_delta_decode(bad_block, sizeof bad_block, out, 1, &used, err, sizeof err),
                     MMSP_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle_roundtrip),
        cmocka_unit_test(test_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
