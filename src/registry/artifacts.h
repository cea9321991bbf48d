/*
 * The content-addressed artifact store of the registry (docs/registry.md, "Artifacts"):
 * DATA/artifacts/sha256/<first 2 hex>/<64 hex>. A file is written to a temporary name in its
 * final directory (O_EXCL, random suffix), fsynced, renamed over the final name, and the
 * directory fsynced, so the final name only ever holds complete content. A file that already
 * holds the same digest is reused (after checking its content); one that does not (damaged
 * on disk) is replaced.
 * Calls: OpenSSL libcrypto (EVP SHA-256, RAND_bytes), POSIX file calls.
 */
#ifndef MMSP_REGISTRY_ARTIFACTS_H
#define MMSP_REGISTRY_ARTIFACTS_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#define ARTIFACT_HEX_LEN 64 /* SHA-256 as lowercase hex, without the NUL */

/* SHA-256 of data as lowercase hex into hex (65 bytes with the NUL). */
mmsp_err artifact_sha256(const void *data, size_t len, char hex[ARTIFACT_HEX_LEN + 1]);

/* SHA-256 and size of the file at path. MMSP_E_NOT_FOUND when it does not exist. */
mmsp_err artifact_sha256_file(const char *path, char hex[ARTIFACT_HEX_LEN + 1], int64_t *size,
                              char *err, size_t errlen);

/* 1 when hex is 64 lowercase hex digits. */
int artifact_digest_valid(const char *hex);

/* DATA/artifacts/sha256/ab/abcd... into path. MMSP_E_INVALID for a malformed digest,
 * MMSP_E_TOO_LARGE when pathlen is too small. */
mmsp_err artifact_path(const char *data_dir, const char *hex, char *path, size_t pathlen, char *err,
                       size_t errlen);

/* Checks that the file at path exists (MMSP_E_NOT_FOUND), has `size` bytes and the SHA-256
 * `hex` (MMSP_E_BAD_MODEL "digest mismatch" / "size mismatch"). */
mmsp_err artifact_verify(const char *path, const char *hex, int64_t size, char *err, size_t errlen);

/* Stores data durably (see above); hex receives its digest. Returns once the file and its
 * directory entry are on disk. Safe to call from several threads and processes at once. */
mmsp_err artifact_put(const char *data_dir, const void *data, size_t len,
                      char hex[ARTIFACT_HEX_LEN + 1], char *err, size_t errlen);

#endif
