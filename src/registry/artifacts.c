/*
 * Content-addressed artifact files (artifacts.h): SHA-256 with OpenSSL's EVP interface, and
 * the durable write order temp file -> write -> fsync -> rename -> fsync(directory). The
 * directories on the way (artifacts/, sha256/, ab/) are created on demand and their parents
 * fsynced when they are new, so a crash never loses the path to a file the registry has
 * committed a version for.
 * Calls: OpenSSL libcrypto (EVP, RAND_bytes), POSIX file calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "registry/artifacts.h"

#define READ_CHUNK (1 << 16)

static mmsp_err fail(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mmsp_err fail(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

mmsp_err artifact_sha256(const void *data, size_t len, char hex[ARTIFACT_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return MMSP_E_INTERNAL;
    to_hex(md, mdlen, hex);
    return MMSP_OK;
}

mmsp_err artifact_sha256_file(const char *path, char hex[ARTIFACT_HEX_LEN + 1], int64_t *size,
                              char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int fd = -1;
    unsigned char *chunk = NULL;
    EVP_MD_CTX *ctx = NULL;
    int64_t total = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = fail(err, errlen, errno == ENOENT ? MMSP_E_NOT_FOUND : MMSP_E_IO, "%s: %s", path,
                  strerror(errno));
        goto out;
    }
    chunk = malloc(READ_CHUNK);
    ctx = EVP_MD_CTX_new();
    if (!chunk || !ctx) {
        rc = fail(err, errlen, MMSP_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = fail(err, errlen, MMSP_E_INTERNAL, "%s: SHA-256 unavailable", path);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, chunk, READ_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = fail(err, errlen, MMSP_E_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        if (!EVP_DigestUpdate(ctx, chunk, (size_t)got)) {
            rc = fail(err, errlen, MMSP_E_INTERNAL, "%s: SHA-256 failed", path);
            goto out;
        }
        total += got;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
        rc = fail(err, errlen, MMSP_E_INTERNAL, "%s: SHA-256 failed", path);
        goto out;
    }
    to_hex(md, mdlen, hex);
    if (size)
        *size = total;
out:
    EVP_MD_CTX_free(ctx);
    free(chunk);
    if (fd >= 0)
        close(fd);
    return rc;
}

int artifact_digest_valid(const char *hex)
{
    if (!hex)
        return 0;
    for (size_t i = 0; i < ARTIFACT_HEX_LEN; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    return hex[ARTIFACT_HEX_LEN] == '\0';
}

mmsp_err artifact_path(const char *data_dir, const char *hex, char *path, size_t pathlen, char *err,
                       size_t errlen)
{
    if (!data_dir || !artifact_digest_valid(hex))
        return fail(err, errlen, MMSP_E_INVALID, "artifact digest '%.80s' is not a SHA-256 hex",
                    hex ? hex : "(null)");
    int n = snprintf(path, pathlen, "%s/artifacts/sha256/%.2s/%s", data_dir, hex, hex);
    if (n < 0 || (size_t)n >= pathlen)
        return fail(err, errlen, MMSP_E_TOO_LARGE, "%s: artifact path too long", data_dir);
    return MMSP_OK;
}

mmsp_err artifact_verify(const char *path, const char *hex, int64_t size, char *err, size_t errlen)
{
    char got[ARTIFACT_HEX_LEN + 1];
    int64_t got_size = 0;
    mmsp_err rc = artifact_sha256_file(path, got, &got_size, err, errlen);
    if (rc == MMSP_E_NOT_FOUND)
        return fail(err, errlen, rc, "%s: artifact missing", path);
    if (rc)
        return rc;
    if (got_size != size)
        return fail(err, errlen, MMSP_E_BAD_MODEL,
                    "%s: size mismatch (%lld bytes on disk, %lld recorded)", path,
                    (long long)got_size, (long long)size);
    if (strcmp(got, hex) != 0)
        return fail(err, errlen, MMSP_E_BAD_MODEL, "%s: digest mismatch (sha256 %s on disk)", path,
                    got);
    return MMSP_OK;
}

/* fsync of a directory, so the entries created or renamed in it are durable. */
static mmsp_err sync_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, MMSP_E_IO, "%s: %s", dir, strerror(errno));
    int ok = fsync(fd) == 0 || errno == EINVAL; /* some file systems cannot sync directories */
    int saved = errno;
    close(fd);
    if (!ok)
        return fail(err, errlen, MMSP_E_IO, "%s: fsync: %s", dir, strerror(saved));
    return MMSP_OK;
}

/* mkdir of parent/name; when it is new, the parent is fsynced. */
static mmsp_err make_dir(const char *parent, const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) == 0)
        return sync_dir(parent, err, errlen);
    if (errno != EEXIST)
        return fail(err, errlen, MMSP_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(err, errlen, MMSP_E_IO, "%s: not a directory", path);
    return MMSP_OK;
}

static mmsp_err write_all(int fd, const unsigned char *p, size_t len, const char *path, char *err,
                          size_t errlen)
{
    while (len > 0) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fail(err, errlen, MMSP_E_IO, "%s: write: %s", path,
                        w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
    }
    return MMSP_OK;
}

mmsp_err artifact_put(const char *data_dir, const void *data, size_t len,
                      char hex[ARTIFACT_HEX_LEN + 1], char *err, size_t errlen)
{
    mmsp_err rc;
    char root[4096], algo[4096], dir[4096], final_path[4096], tmp[4200];
    int fd = -1, have_tmp = 0;

    rc = artifact_sha256(data, len, hex);
    if (rc) {
        fail(err, errlen, rc, "SHA-256 unavailable");
        goto out;
    }
    rc = artifact_path(data_dir, hex, final_path, sizeof final_path, err, errlen);
    if (rc)
        goto out;
    /* The directories are prefixes of the final path: .../artifacts/sha256/ab/<hex> */
    size_t n = strlen(final_path);
    size_t n_dir = n - (ARTIFACT_HEX_LEN + 1), n_algo = n_dir - 3, n_root = n_algo - 7;
    memcpy(dir, final_path, n_dir);
    dir[n_dir] = '\0';
    memcpy(algo, final_path, n_algo);
    algo[n_algo] = '\0';
    memcpy(root, final_path, n_root);
    root[n_root] = '\0';
    if ((rc = make_dir(data_dir, root, err, errlen)) || (rc = make_dir(root, algo, err, errlen)) ||
        (rc = make_dir(algo, dir, err, errlen)))
        goto out;

    /* Reuse an identical file. Its writer fsynced it before the rename, but may not have
     * synced the directory yet (it may still be running): sync it here too. */
    char msg[512];
    if (artifact_verify(final_path, hex, (int64_t)len, msg, sizeof msg) == MMSP_OK) {
        rc = sync_dir(dir, err, errlen);
        goto out;
    }

    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        rc = fail(err, errlen, MMSP_E_INTERNAL, "no random bytes for a temporary name");
        goto out;
    }
    char suffix[2 * sizeof rnd + 1];
    to_hex(rnd, sizeof rnd, suffix);
    snprintf(tmp, sizeof tmp, "%s.tmp.%s", final_path, suffix);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail(err, errlen, MMSP_E_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    have_tmp = 1;
    rc = write_all(fd, data, len, tmp, err, errlen);
    if (rc)
        goto out;
    if (fsync(fd) != 0) {
        rc = fail(err, errlen, MMSP_E_IO, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        rc = fail(err, errlen, MMSP_E_IO, "%s: close: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, final_path) != 0) {
        rc = fail(err, errlen, MMSP_E_IO, "%s: rename: %s", final_path, strerror(errno));
        goto out;
    }
    have_tmp = 0;
    rc = sync_dir(dir, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        unlink(tmp);
    return rc;
}
