/*
 * The text-to-features transformer (transform.h, docs/features.md "Transformer"): tokenises a
 * message, hashes its word and character n-grams into n_buckets counts (FNV-1a 32), applies
 * the optional smooth idf and L2-normalises. Also: the YAML/JSON configuration (parse, load,
 * atomic write), idf fitting over a corpus, a process-wide cache of per-deployment
 * configurations (DATA/transformers/<deployment>.yaml, reloaded when the file changes) and the
 * POST /transform handler. The spam-detector trainer links this file, so the features a model
 * was trained on are the ones the gateway computes when serving it.
 * Calls: policy/ydoc (YAML), common/json, common/buf, http (router, http_fail), libc.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "features/transform.h"
#include "http/http.h"
#include "policy/ydoc.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

static inline uint32_t fnv_feed(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint32_t transform_hash(const void *data, size_t len)
{
    return fnv_feed(FNV_OFFSET, data, len);
}

void transform_config_default(struct transform_config *c)
{
    *c = (struct transform_config){.n_buckets = TRANSFORM_DEFAULT_BUCKETS,
                                   .word_min = 1,
                                   .word_max = 2,
                                   .char_min = 3,
                                   .char_max = 5,
                                   .lowercase = 1,
                                   .l2 = 1};
}

void transform_config_release(struct transform_config *c)
{
    if (!c)
        return;
    free(c->idf);
    for (size_t i = 0; i < c->n_labels; i++)
        free(c->labels[i]);
    free(c->labels);
    c->idf = NULL;
    c->labels = NULL;
    c->n_labels = 0;
}

/* ------------------------------------------------------------------ the vector */

static int is_word_byte(unsigned char b)
{
    return b >= 0x80 || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

struct span {
    size_t at, len;
};

/* Raw counts of text into out[0..n_buckets): the n-grams of steps 1-4 (transform.h). */
static mmsp_err count_ngrams(const struct transform_config *c, const char *text, size_t len,
                             float *out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    uint32_t nb = c->n_buckets;
    unsigned char *low = malloc(len + 1);
    struct span *tok = malloc((len / 2 + 1) * sizeof *tok);
    unsigned char *pad = malloc(len + 3);
    size_t *cp = malloc((len + 3) * sizeof *cp);
    size_t ntok = 0;
    if (!low || !tok || !pad || !cp) {
        snprintf(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    memset(out, 0, nb * sizeof *out);
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)text[i];
        low[i] = c->lowercase && b >= 'A' && b <= 'Z' ? (unsigned char)(b + 32) : b;
    }
    for (size_t i = 0; i < len;) {
        if (!is_word_byte(low[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_word_byte(low[j]))
            j++;
        tok[ntok++] = (struct span){i, j - i};
        i = j;
    }
    /* word n-grams: 'w' then the tokens joined by one space */
    for (unsigned n = c->word_min; n && n <= c->word_max; n++) {
        for (size_t i = 0; i + n <= ntok; i++) {
            uint32_t h = fnv_feed(FNV_OFFSET, (const unsigned char *)"w", 1);
            for (unsigned k = 0; k < n; k++) {
                if (k)
                    h = fnv_feed(h, (const unsigned char *)" ", 1);
                h = fnv_feed(h, low + tok[i + k].at, tok[i + k].len);
            }
            out[h % nb] += 1.0f;
        }
    }
    /* character n-grams inside " token " (code points), scikit-learn's char_wb */
    for (size_t t = 0; c->char_min && t < ntok; t++) {
        size_t plen = tok[t].len + 2, ncp = 0;
        pad[0] = ' ';
        memcpy(pad + 1, low + tok[t].at, tok[t].len);
        pad[plen - 1] = ' ';
        for (size_t i = 0; i < plen; i++)
            if ((pad[i] & 0xC0) != 0x80)
                cp[ncp++] = i;
        cp[ncp] = plen;
        for (unsigned n = c->char_min; n <= c->char_max; n++) {
            if (ncp <= n) { /* a short word counts once, whole */
                uint32_t h = fnv_feed(FNV_OFFSET, (const unsigned char *)"c", 1);
                out[fnv_feed(h, pad, plen) % nb] += 1.0f;
                break;
            }
            for (size_t i = 0; i + n <= ncp; i++) {
                uint32_t h = fnv_feed(FNV_OFFSET, (const unsigned char *)"c", 1);
                out[fnv_feed(h, pad + cp[i], cp[i + n] - cp[i]) % nb] += 1.0f;
            }
        }
    }
out:
    free(low);
    free(tok);
    free(pad);
    free(cp);
    return rc;
}

mmsp_err transform_text(const struct transform_config *c, const char *text, size_t len, float *out,
                        char *err, size_t errlen)
{
    if (len > TRANSFORM_MAX_TEXT) {
        snprintf(err, errlen, "text of %zu bytes is longer than %d", len, TRANSFORM_MAX_TEXT);
        return MMSP_E_TOO_LARGE;
    }
    if (!c->n_buckets || c->n_buckets > TRANSFORM_MAX_BUCKETS) {
        snprintf(err, errlen, "n_buckets must be 1 to %d", TRANSFORM_MAX_BUCKETS);
        return MMSP_E_INVALID;
    }
    mmsp_err rc = count_ngrams(c, text, len, out, err, errlen);
    if (rc)
        return rc;
    double sq = 0;
    for (uint32_t i = 0; i < c->n_buckets; i++) {
        if (c->idf)
            out[i] *= c->idf[i];
        sq += (double)out[i] * out[i];
    }
    if (c->l2 && sq > 0) {
        double norm = sqrt(sq);
        for (uint32_t i = 0; i < c->n_buckets; i++)
            out[i] = (float)(out[i] / norm);
    }
    return MMSP_OK;
}

mmsp_err transform_fit_idf(struct transform_config *c, const char *const *texts, const size_t *lens,
                           size_t n, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    float *counts = malloc(c->n_buckets * sizeof *counts);
    double *df = calloc(c->n_buckets, sizeof *df);
    float *idf = malloc(c->n_buckets * sizeof *idf);
    if (!counts || !df || !idf) {
        snprintf(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t d = 0; d < n; d++) {
        if (lens[d] > TRANSFORM_MAX_TEXT) {
            snprintf(err, errlen, "document %zu: %zu bytes is longer than %d", d, lens[d],
                     TRANSFORM_MAX_TEXT);
            rc = MMSP_E_TOO_LARGE;
            goto out;
        }
        if ((rc = count_ngrams(c, texts[d], lens[d], counts, err, errlen)))
            goto out;
        for (uint32_t b = 0; b < c->n_buckets; b++)
            df[b] += counts[b] > 0;
    }
    for (uint32_t b = 0; b < c->n_buckets; b++)
        idf[b] = (float)(log((1.0 + (double)n) / (1.0 + df[b])) + 1.0);
    free(c->idf);
    c->idf = idf;
    idf = NULL;
out:
    free(counts);
    free(df);
    free(idf);
    return rc;
}

/* ------------------------------------------------------------------ configuration */

static mmsp_err range_of(const struct ydoc_node *n, const char *name, const char *field,
                         unsigned *lo, unsigned *hi, char *err, size_t errlen)
{
    double a, b;
    if (n->type != YDOC_SEQ || n->n != 2 || !ydoc_number(n->first, &a) ||
        !ydoc_number(n->first->next, &b) || a != floor(a) || b != floor(b) || a < 0 ||
        b > TRANSFORM_MAX_NGRAM || a > b || (a == 0) != (b == 0))
        return ydoc_fail(err, errlen, name, n->line, field, MMSP_E_INVALID,
                         "must be [min, max] with 1 <= min <= max <= %d, or [0, 0] (off)",
                         TRANSFORM_MAX_NGRAM);
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return MMSP_OK;
}

/* n_buckets numbers from a YAML list into a new malloc'd array. */
static mmsp_err idf_of(const struct ydoc_node *n, uint32_t nb, const char *name, const char *field,
                       float **out, char *err, size_t errlen)
{
    if (!n || n->type != YDOC_SEQ || n->n != nb)
        return ydoc_fail(err, errlen, name, n ? n->line : 0, field, MMSP_E_INVALID,
                         "must be a list of n_buckets (%u) numbers", nb);
    float *w = malloc(nb * sizeof *w);
    if (!w)
        return MMSP_E_NOMEM;
    size_t i = 0;
    for (const struct ydoc_node *x = n->first; x; x = x->next, i++) {
        double v;
        if (!ydoc_number(x, &v) || v < 0 || v > 1e30) {
            free(w);
            return ydoc_fail(err, errlen, name, x->line, field, MMSP_E_INVALID,
                             "item %zu is not a number >= 0", i);
        }
        w[i] = (float)v;
    }
    *out = w;
    return MMSP_OK;
}

static mmsp_err idf_file(const char *base_dir, const struct ydoc_node *n, uint32_t nb,
                         const char *name, float **out, char *err, size_t errlen)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    struct ydoc *doc = NULL;
    if (n->type != YDOC_SCALAR || !n->len || strlen(n->str) != n->len)
        return ydoc_fail(err, errlen, name, n->line, "idf_file", MMSP_E_INVALID,
                         "must be a file name");
    if (n->str[0] == '/' || !base_dir)
        snprintf(path, sizeof path, "%s", n->str);
    else if ((size_t)snprintf(path, sizeof path, "%s/%s", base_dir, n->str) >= sizeof path)
        return ydoc_fail(err, errlen, name, n->line, "idf_file", MMSP_E_INVALID, "path too long");
    mmsp_err rc = ydoc_read_file(path, TRANSFORM_MAX_CONFIG, &text, &len, err, errlen);
    if (!rc)
        rc = ydoc_parse(text, len, path, &doc, err, errlen);
    if (!rc)
        rc = idf_of(doc->root, nb, path, "idf", out, err, errlen);
    ydoc_free(doc);
    free(text);
    return rc;
}

static mmsp_err labels_of(const struct ydoc_node *n, const char *name, struct transform_config *c,
                          char *err, size_t errlen)
{
    if (n->type != YDOC_SEQ || !n->n || n->n > TRANSFORM_MAX_LABELS)
        return ydoc_fail(err, errlen, name, n->line, "labels", MMSP_E_INVALID,
                         "must be a list of 1 to %d class labels", TRANSFORM_MAX_LABELS);
    if (!(c->labels = calloc(n->n, sizeof *c->labels)))
        return MMSP_E_NOMEM;
    for (const struct ydoc_node *x = n->first; x; x = x->next) {
        if (x->type != YDOC_SCALAR || !x->len || x->len > TRANSFORM_MAX_LABEL ||
            strlen(x->str) != x->len)
            return ydoc_fail(err, errlen, name, x->line, "labels", MMSP_E_INVALID,
                             "item %zu must be a label of 1 to %d bytes", c->n_labels,
                             TRANSFORM_MAX_LABEL);
        if (!(c->labels[c->n_labels] = strdup(x->str)))
            return MMSP_E_NOMEM;
        c->n_labels++;
    }
    return MMSP_OK;
}

mmsp_err transform_config_parse(const char *text, size_t len, const char *name,
                                const char *base_dir, struct transform_config *out, char *err,
                                size_t errlen)
{
    struct ydoc *doc = NULL;
    struct transform_config c;
    transform_config_default(&c);
    mmsp_err rc = ydoc_parse(text, len, name, &doc, err, errlen);
    if (rc)
        goto out;
    const struct ydoc_node *root = doc->root;
    if (!root || root->type != YDOC_MAP) {
        rc = ydoc_fail(err, errlen, name, root ? root->line : 1, "(top)", MMSP_E_INVALID,
                       "the transformer configuration must be a mapping");
        goto out;
    }
    const struct ydoc_node *idf = NULL, *idff = NULL;
    for (const struct ydoc_node *m = root->first; m && !rc; m = m->next) {
        double v;
        int b = 1;
        if (strcmp(m->key, "n_buckets") == 0) {
            if (!ydoc_number(m, &v) || v != floor(v) || v < 1 || v > TRANSFORM_MAX_BUCKETS)
                rc = ydoc_fail(err, errlen, name, m->line, m->key, MMSP_E_INVALID,
                               "must be a whole number from 1 to %d", TRANSFORM_MAX_BUCKETS);
            else
                c.n_buckets = (uint32_t)v;
        } else if (strcmp(m->key, "word_ngrams") == 0) {
            rc = range_of(m, name, m->key, &c.word_min, &c.word_max, err, errlen);
        } else if (strcmp(m->key, "char_ngrams") == 0) {
            rc = range_of(m, name, m->key, &c.char_min, &c.char_max, err, errlen);
        } else if (strcmp(m->key, "lowercase") == 0) {
            if (!ydoc_bool(m, &b))
                rc = ydoc_fail(err, errlen, name, m->line, m->key, MMSP_E_INVALID,
                               "must be true or false");
            c.lowercase = b;
        } else if (strcmp(m->key, "norm") == 0) {
            if (m->type == YDOC_SCALAR && strcmp(m->str, "l2") == 0)
                c.l2 = 1;
            else if (m->type == YDOC_SCALAR && strcmp(m->str, "none") == 0)
                c.l2 = 0;
            else
                rc = ydoc_fail(err, errlen, name, m->line, m->key, MMSP_E_INVALID,
                               "must be l2 or none");
        } else if (strcmp(m->key, "idf") == 0) {
            idf = m;
        } else if (strcmp(m->key, "idf_file") == 0) {
            idff = m;
        } else if (strcmp(m->key, "labels") == 0) {
            rc = labels_of(m, name, &c, err, errlen);
        } else {
            char show[72];
            rc = ydoc_fail(err, errlen, name, m->key_line, ydoc_show(m->key, show), MMSP_E_INVALID,
                           "unknown key (n_buckets, word_ngrams, char_ngrams, lowercase, norm, "
                           "idf, idf_file, labels)");
        }
    }
    if (rc)
        goto out;
    if (!c.word_min && !c.char_min) {
        rc = ydoc_fail(err, errlen, name, root->line, "(top)", MMSP_E_INVALID,
                       "word and character n-grams cannot both be off");
        goto out;
    }
    if (idf && idff) {
        rc = ydoc_fail(err, errlen, name, idff->line, "idf_file", MMSP_E_INVALID,
                       "give idf or idf_file, not both");
        goto out;
    }
    if (idf)
        rc = idf_of(idf, c.n_buckets, name, "idf", &c.idf, err, errlen);
    else if (idff)
        rc = idf_file(base_dir, idff, c.n_buckets, name, &c.idf, err, errlen);
out:
    ydoc_free(doc);
    if (rc) {
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        transform_config_release(&c);
        return rc;
    }
    *out = c;
    return MMSP_OK;
}

mmsp_err transform_config_load(const char *path, struct transform_config *out, char *err,
                               size_t errlen)
{
    char *text = NULL, dir[4096];
    size_t len = 0;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    mmsp_err rc = ydoc_read_file(path, TRANSFORM_MAX_CONFIG, &text, &len, err, errlen);
    if (!rc)
        rc = transform_config_parse(text, len, path, dir, out, err, errlen);
    free(text);
    return rc;
}

mmsp_err transform_config_write(const struct transform_config *c, const char *path,
                                const char *comment, char *err, size_t errlen)
{
    char tmp[4200];
    struct buf b;
    buf_init(&b, TRANSFORM_MAX_CONFIG);
    mmsp_err rc = MMSP_OK;
    FILE *f = NULL;
    for (const char *p = comment; p && *p && !rc;) {
        size_t n = strcspn(p, "\n");
        rc = buf_printf(&b, "# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    if (!rc)
        rc = buf_printf(&b,
                        "n_buckets: %u\nword_ngrams: [%u, %u]\nchar_ngrams: [%u, %u]\n"
                        "lowercase: %s\nnorm: %s\n",
                        c->n_buckets, c->word_min, c->word_max, c->char_min, c->char_max,
                        c->lowercase ? "true" : "false", c->l2 ? "l2" : "none");
    if (!rc && c->n_labels) {
        rc = buf_append_str(&b, "labels: [");
        for (size_t i = 0; i < c->n_labels && !rc; i++) {
            if (i)
                rc = buf_append_str(&b, ", ");
            if (!rc)
                rc = json_write_string(&b, c->labels[i], strlen(c->labels[i]));
        }
        if (!rc)
            rc = buf_append_str(&b, "]\n");
    }
    if (!rc && c->idf) {
        rc = buf_append_str(&b, "idf: [");
        for (uint32_t i = 0; i < c->n_buckets && !rc; i++)
            rc = buf_printf(&b, "%s%.9g", i ? ", " : "", (double)c->idf[i]);
        if (!rc)
            rc = buf_append_str(&b, "]\n");
    }
    if (rc) {
        snprintf(err, errlen, "configuration too large");
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!(f = fopen(tmp, "w")) || fwrite(b.data, 1, b.len, f) != b.len || fflush(f) ||
        fsync(fileno(f))) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed || rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = MMSP_E_IO;
    }
out:
    if (f)
        fclose(f);
    if (rc)
        unlink(tmp);
    buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------------ per-deployment cache */

#define CACHE_MAX 256

struct transform_ref {
    struct transform_ref *next;
    char *path;
    off_t size;
    struct timespec mtime;
    struct transform_config cfg;
    int refs;   /* under cache_mu */
    int listed; /* still the current entry for path */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct transform_ref *cache;
static size_t cache_n;

static void ref_free(struct transform_ref *r)
{
    transform_config_release(&r->cfg);
    free(r->path);
    free(r);
}

/* Unlinks r from the cache list (under cache_mu); frees it when no one holds it. */
static void unlist(struct transform_ref *r)
{
    for (struct transform_ref **p = &cache; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            cache_n--;
            break;
        }
    r->listed = 0;
    if (!r->refs)
        ref_free(r);
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 256 || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s < 0x20)
            return 0;
    return 1;
}

mmsp_err transform_acquire(const char *data_dir, const char *deployment, struct transform_ref **out,
                           char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    *out = NULL;
    if (!data_dir) {
        snprintf(err, errlen, "no data directory (--data): no transformer for '%.64s'", deployment);
        return MMSP_E_NOT_FOUND;
    }
    if (!valid_name(deployment)) {
        snprintf(err, errlen, "'%.64s' cannot name a transformer", deployment);
        return MMSP_E_INVALID;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/transformers/%s.yaml", data_dir, deployment) >=
        sizeof path) {
        snprintf(err, errlen, "transformer path too long");
        return MMSP_E_INVALID;
    }
    if (stat(path, &st)) {
        snprintf(err, errlen, "no transformer for '%s' (%s: %s)", deployment, path,
                 strerror(errno));
        return MMSP_E_NOT_FOUND;
    }
    pthread_mutex_lock(&cache_mu);
    struct transform_ref *r = cache;
    while (r && strcmp(r->path, path) != 0)
        r = r->next;
    if (r && r->size == st.st_size && r->mtime.tv_sec == st.st_mtim.tv_sec &&
        r->mtime.tv_nsec == st.st_mtim.tv_nsec) {
        r->refs++;
        pthread_mutex_unlock(&cache_mu);
        *out = r;
        return MMSP_OK;
    }
    if (r)
        unlist(r); /* changed on disk */
    mmsp_err rc = MMSP_OK;
    struct transform_ref *n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(path))) {
        free(n);
        snprintf(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if ((rc = transform_config_load(path, &n->cfg, err, errlen))) {
        free(n->path);
        free(n);
        goto out;
    }
    n->size = st.st_size;
    n->mtime = st.st_mtim;
    while (cache_n >= CACHE_MAX && cache) /* bounded: drop the oldest-inserted entries */
        unlist(cache);
    n->refs = 1;
    n->listed = 1;
    n->next = cache;
    cache = n;
    cache_n++;
    *out = n;
out:
    pthread_mutex_unlock(&cache_mu);
    return rc;
}

const struct transform_config *transform_ref_config(const struct transform_ref *r)
{
    return &r->cfg;
}

void transform_release(struct transform_ref *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&cache_mu);
    if (--r->refs == 0 && !r->listed)
        ref_free(r);
    pthread_mutex_unlock(&cache_mu);
}

/* ------------------------------------------------------------------ POST /transform */

static mmsp_err write_vector(struct buf *b, const float *v, uint32_t n)
{
    mmsp_err rc = buf_append_char(b, '[');
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = buf_printf(b, "%s%.9g", i ? "," : "", (double)v[i]);
    return rc ? rc : buf_append_char(b, ']');
}

static mmsp_err on_transform(struct http_request *req, struct http_response *res, void *ctx)
{
    const char *data_dir = ctx;
    struct json_value root;
    struct transform_ref *ref = NULL;
    struct transform_config def;
    float *vec = NULL;
    transform_config_default(&def);
    mmsp_err rc =
        json_parse(req->arena, req->body, req->body_len, &root, res->err, sizeof res->err);
    if (rc)
        return rc == MMSP_E_PARSE ? MMSP_E_INVALID : rc;
    if (root.type != JSON_OBJECT)
        return http_fail(res, MMSP_E_INVALID, "the body must be a JSON object");
    const struct json_value *text = json_get(&root, "text"), *texts = json_get(&root, "texts");
    const struct json_value *dep = json_get(&root, "deployment");
    if (!text == !texts)
        return http_fail(res, MMSP_E_INVALID,
                         "the request needs exactly one of 'text' (a string) and 'texts' (a "
                         "list of strings)");
    if (text && text->type != JSON_STRING)
        return http_fail(res, MMSP_E_INVALID, "'text' must be a string");
    if (texts && (texts->type != JSON_ARRAY || !texts->len || texts->len > TRANSFORM_MAX_TEXTS))
        return http_fail(res, MMSP_E_INVALID, "'texts' must be a list of 1 to %d strings",
                         TRANSFORM_MAX_TEXTS);
    size_t n = text ? 1 : texts->len;
    for (size_t i = 0; i < n; i++) {
        const struct json_value *t = text ? text : &texts->u.items[i];
        if (t->type != JSON_STRING)
            return http_fail(res, MMSP_E_INVALID, "'texts': item %zu is %s, not a string", i,
                             json_type_name(t->type));
        if (t->len > TRANSFORM_MAX_TEXT)
            return http_fail(res, MMSP_E_TOO_LARGE, "text %zu: %u bytes is longer than %d", i,
                             t->len, TRANSFORM_MAX_TEXT);
    }
    const struct transform_config *c = &def;
    if (dep) {
        if (dep->type != JSON_STRING || strlen(dep->u.str) != dep->len)
            return http_fail(res, MMSP_E_INVALID, "'deployment' must be a deployment name");
        if ((rc = transform_acquire(data_dir, dep->u.str, &ref, res->err, sizeof res->err)))
            return rc;
        c = transform_ref_config(ref);
    }
    if (!(vec = malloc(c->n_buckets * sizeof *vec))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    res->content_type = "application/json";
    if ((rc = buf_printf(&res->body, "{\"n_buckets\":%u,\"features\":[", c->n_buckets)))
        goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct json_value *t = text ? text : &texts->u.items[i];
        if ((rc = transform_text(c, t->u.str, t->len, vec, res->err, sizeof res->err)))
            goto out;
        if (i)
            rc = buf_append_char(&res->body, ',');
        if (!rc)
            rc = write_vector(&res->body, vec, c->n_buckets);
    }
    if (!rc)
        rc = buf_append_str(&res->body, "]}");
    if (rc && !res->err[0])
        snprintf(res->err, sizeof res->err, "response too large");
out:
    free(vec);
    transform_release(ref);
    return rc;
}

mmsp_err transform_register(struct http_router *router, const char *data_dir)
{
    return http_router_add(router, "POST", "/transform", on_transform, (void *)data_dir);
}
