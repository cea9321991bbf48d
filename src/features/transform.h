/*
 * The text-to-features transformer (docs/features.md "Transformer"): a message becomes a
 * fixed-length FP32 vector of n_buckets values (50 by default, seed 002).
 *
 *   1. ASCII lower-casing (bytes >= 0x80 are kept as they are).
 *   2. Tokens: maximal runs of ASCII letters, digits and bytes >= 0x80 (so UTF-8 words stay
 *      whole); every other ASCII byte separates tokens.
 *   3. Word n-grams (word_min..word_max, default 1..2): the tokens joined by one space.
 *      Character n-grams (char_min..char_max, default 3..5) inside each token padded with a
 *      space on both sides (scikit-learn's "char_wb"); characters are UTF-8 code points.
 *   4. Each n-gram is hashed with FNV-1a 32 over a kind byte ('w' or 'c') followed by the
 *      n-gram's bytes; bucket = hash % n_buckets; the bucket's count grows by one.
 *   5. Optional TF-IDF: counts are multiplied by idf[bucket], learned from a corpus with
 *      scikit-learn's smooth idf: ln((1 + n_docs) / (1 + df)) + 1 (df: documents with a
 *      non-zero count in the bucket).
 *   6. Optional L2 normalisation (default on): the vector divided by its Euclidean norm (an
 *      all-zero vector stays zero).
 *
 * The configuration is a YAML (or JSON) file; for the gateway's text pre-step it lives at
 * DATA/transformers/<deployment>.yaml and may carry the class labels of the model:
 *   n_buckets: 50
 *   word_ngrams: [1, 2]        # [0, 0] turns word n-grams off
 *   char_ngrams: [3, 5]        # [0, 0] turns character n-grams off
 *   lowercase: true
 *   norm: l2                   # or none
 *   idf: [1.2, ...]            # n_buckets numbers, or idf_file: PATH (relative to the file)
 *   labels: [ham, spam]        # class index -> label
 *
 * Calls: policy/ydoc (YAML), common/json + common/buf, http (POST /transform), libc.
 */
#ifndef MMSP_FEATURES_TRANSFORM_H
#define MMSP_FEATURES_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#define TRANSFORM_DEFAULT_BUCKETS 50
#define TRANSFORM_MAX_BUCKETS     65536
#define TRANSFORM_MAX_NGRAM       8          /* largest n of word and character n-grams */
#define TRANSFORM_MAX_TEXT        (64 << 10) /* bytes of one text */
#define TRANSFORM_MAX_TEXTS       256        /* texts in one POST /transform */
#define TRANSFORM_MAX_LABELS      64
#define TRANSFORM_MAX_LABEL       128       /* bytes of one label */
#define TRANSFORM_MAX_CONFIG      (4 << 20) /* bytes of a configuration or idf file */

struct transform_config {
    uint32_t n_buckets;
    unsigned word_min, word_max; /* 0, 0 = no word n-grams */
    unsigned char_min, char_max; /* 0, 0 = no character n-grams */
    int lowercase;
    int l2;
    float *idf;    /* n_buckets weights, or NULL; owned */
    char **labels; /* n_labels strings; owned */
    size_t n_labels;
};

/* The defaults: 50 buckets, words 1..2, characters 3..5, lower-casing, L2, no idf/labels. */
void transform_config_default(struct transform_config *c);
void transform_config_release(struct transform_config *c); /* frees idf and labels */

/*
 * Parses a configuration (YAML or JSON, text[0..len)) into *out over the defaults. `name`
 * names the input in messages ("name:line: field: ..."); base_dir (may be NULL = ".") is
 * where a relative idf_file is looked up. Unknown keys and out-of-range values are errors.
 * On failure *out holds nothing to release.
 */
mmsp_err transform_config_parse(const char *text, size_t len, const char *name,
                                const char *base_dir, struct transform_config *out, char *err,
                                size_t errlen);
mmsp_err transform_config_load(const char *path, struct transform_config *out, char *err,
                               size_t errlen);

/* Writes c as YAML to path (temporary file, fsync, rename); idf inline. `comment` (may be
 * NULL) is written first as "# " lines. */
mmsp_err transform_config_write(const struct transform_config *c, const char *path,
                                const char *comment, char *err, size_t errlen);

/* FNV-1a 32 of data[0..len) (offset basis 2166136261, prime 16777619). */
uint32_t transform_hash(const void *data, size_t len);

/*
 * The feature vector of text[0..len) into out[0..c->n_buckets). len <= TRANSFORM_MAX_TEXT
 * (else MMSP_E_TOO_LARGE). Any bytes are accepted (NULs are separators). Thread-safe.
 */
mmsp_err transform_text(const struct transform_config *c, const char *text, size_t len, float *out,
                        char *err, size_t errlen);

/* Learns c->idf from n documents (texts[i] of lens[i] bytes), replacing any previous idf.
 * The counts are taken before idf and normalisation. */
mmsp_err transform_fit_idf(struct transform_config *c, const char *const *texts, const size_t *lens,
                           size_t n, char *err, size_t errlen);

/*
 * The configuration of deployment `deployment`: DATA/transformers/<deployment>.yaml, loaded
 * once and shared, reloaded when the file's size or modification time changes. *out is a
 * reference the caller gives back with transform_release. MMSP_E_NOT_FOUND when there is no
 * such file; MMSP_E_INVALID for a name that cannot be a file name.
 */
struct transform_ref;
mmsp_err transform_acquire(const char *data_dir, const char *deployment, struct transform_ref **out,
                           char *err, size_t errlen);
const struct transform_config *transform_ref_config(const struct transform_ref *r);
void transform_release(struct transform_ref *r); /* NULL is fine */

/*
 * POST /transform: {"text": "..."} or {"texts": ["...", ...]}, optionally "deployment" (use
 * that deployment's configuration; else the defaults) -> {"n_buckets": N, "features":
 * [[...], ...]}. data_dir (borrowed; outlives the router; may be NULL) holds transformers/.
 */
struct http_router;
mmsp_err transform_register(struct http_router *router, const char *data_dir);

/* registry.h's own declaration, repeated for callers that cannot include registry.h (its
 * jansson clashes with common/json.h): where DATA/transformers/ lives. */
struct registry;
const char *registry_data_dir(const struct registry *r);

#endif
