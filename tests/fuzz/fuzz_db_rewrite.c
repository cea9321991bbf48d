/*
 * Fuzz driver for the SQL layer's '?' -> $n rewriter (db_pg_rewrite, used by the PostgreSQL
 * driver on every statement): any bytes are rewritten, and the result is checked: it is
 * NUL-terminated, no longer than the worst case, and every '?' of the input either became a
 * $n (counted) or is still there (inside a literal, identifier or comment). Seeds:
 * tests/fuzz/corpus/fuzz_db_rewrite/.
 * Calls: registry/db (db_driver.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "registry/db_driver.h"

static size_t count_marks(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '?';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *sql = (const char *)data;
    struct buf out;
    size_t n = 0;
    if (db_pg_rewrite(sql, size, &out, &n) != MMSP_OK)
        return 0; /* only NOMEM / TOO_LARGE */
    if (!out.data || out.data[out.len] != '\0')
        __builtin_trap();
    /* "$" plus at most 20 digits per placeholder. */
    if (n > size || out.len > size + 20 * n)
        __builtin_trap();
    if (count_marks(out.data, out.len) + n != count_marks(sql, size))
        __builtin_trap();
    buf_release(&out);
    return 0;
}
