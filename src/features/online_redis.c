/*
 * The Redis online store: one hash per entity, key "mmsp:VIEW:ENTITYKEY", field "_ts" (event
 * time, Unix ms) and one field per non-null feature (text). A write is a small Lua script
 * (EVAL) per entity that keeps the newer record, all of a batch pipelined; a read is one
 * HMGET per entity, pipelined, decoded with the view's feature types. One connection,
 * serialised by a mutex; a broken connection is re-opened on the next call. The URL is
 * redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (user and password percent-decoded): every
 * connection sends AUTH [USER] PASSWORD, then SELECT DB; messages show the URL with the
 * password replaced by "***".
 * Calls: hiredis, features (values).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "features/online.h"

#define REDIS_BATCH 512

#define REDIS_CRED_MAX 256 /* bytes of a decoded user name or password */

struct redis_store {
    struct online_store base;
    char host[256];
    int port, dbnum;
    char user[REDIS_CRED_MAX], password[REDIS_CRED_MAX]; /* "" = none */
    int has_password;
    redisContext *c;
    pthread_mutex_t mu;
};

static const char write_script[] = "local t = redis.call('HGET', KEYS[1], '_ts') "
                                   "if t and tonumber(t) > tonumber(ARGV[1]) then return 0 end "
                                   "redis.call('DEL', KEYS[1]) "
                                   "redis.call('HSET', KEYS[1], '_ts', ARGV[1], unpack(ARGV, 2)) "
                                   "return 1";

static mmsp_err connect_locked(struct redis_store *s, char *err, size_t errlen)
{
    if (s->c && !s->c->err)
        return MMSP_OK;
    if (s->c)
        redisFree(s->c);
    struct timeval tv = {2, 0};
    s->c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!s->c || s->c->err) {
        snprintf(err, errlen, "redis %s:%d: %s", s->host, s->port,
                 s->c ? s->c->errstr : "cannot allocate a context");
        if (s->c)
            redisFree(s->c);
        s->c = NULL;
        return MMSP_E_UNAVAILABLE;
    }
    redisSetTimeout(s->c, tv);
    mmsp_err rc = MMSP_OK;
    if (s->has_password) {
        /* arguments are sent as separate bulk strings: no quoting issue, nothing logged */
        redisReply *r = s->user[0] ? redisCommand(s->c, "AUTH %s %s", s->user, s->password)
                                   : redisCommand(s->c, "AUTH %s", s->password);
        if (!r) {
            rc = MMSP_E_UNAVAILABLE;
            snprintf(err, errlen, "redis %s:%d: AUTH: %s", s->host, s->port,
                     s->c->err ? s->c->errstr : "no reply");
        } else if (r->type == REDIS_REPLY_ERROR) {
            rc = MMSP_E_UNAUTHORIZED;
            snprintf(err, errlen, "redis %s:%d: AUTH%s%s refused: %.200s", s->host, s->port,
                     s->user[0] ? " as " : "", s->user[0] ? s->user : "", r->str);
        }
        if (r)
            freeReplyObject(r);
    }
    if (!rc && s->dbnum) {
        redisReply *r = redisCommand(s->c, "SELECT %d", s->dbnum);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            rc = r ? MMSP_E_INVALID : MMSP_E_UNAVAILABLE;
            snprintf(err, errlen, "redis %s:%d: SELECT %d failed: %.200s", s->host, s->port,
                     s->dbnum,
                     r           ? r->str
                     : s->c->err ? s->c->errstr
                                 : "no reply");
        }
        if (r)
            freeReplyObject(r);
    }
    if (rc) { /* the next call connects (and authenticates) again */
        redisFree(s->c);
        s->c = NULL;
    }
    return rc;
}

static mmsp_err redis_fail(struct redis_store *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "redis %s:%d: %s", s->host, s->port,
             s->c && s->c->err ? s->c->errstr : "no reply");
    if (s->c) {
        redisFree(s->c);
        s->c = NULL;
    }
    return MMSP_E_UNAVAILABLE;
}

static int redis_key(char *out, size_t len, const char *view, const char *key)
{
    int n = snprintf(out, len, "mmsp:%s:%s", view, key);
    return n > 0 && (size_t)n < len ? n : -1;
}

static mmsp_err rs_write(struct online_store *o, const struct feat_view *v, const char *const *keys,
                         const struct online_record *recs, size_t n, char *err, size_t errlen)
{
    struct redis_store *s = (struct redis_store *)o;
    size_t max_args = 4 + 2 * FEAT_MAX_FEATURES;
    const char **argv = calloc(max_args, sizeof *argv);
    size_t *argl = calloc(max_args, sizeof *argl);
    char(*texts)[512] = calloc(FEAT_MAX_FEATURES + 1, sizeof *texts);
    char rkey[2048], ts[32];
    mmsp_err rc = MMSP_OK;
    if (!argv || !argl || !texts) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    rc = connect_locked(s, err, errlen);
    for (size_t start = 0; !rc && start < n; start += REDIS_BATCH) {
        size_t end = start + REDIS_BATCH < n ? start + REDIS_BATCH : n;
        for (size_t i = start; i < end; i++) {
            size_t a = 0;
            int kl = redis_key(rkey, sizeof rkey, v->name, keys[i]);
            if (kl < 0) {
                snprintf(err, errlen, "entity key too long");
                rc = MMSP_E_TOO_LARGE;
                break;
            }
            snprintf(ts, sizeof ts, "%lld", (long long)recs[i].event_ts_ms);
            argv[a++] = "EVAL";
            argv[a++] = write_script;
            argv[a++] = "1";
            argv[a++] = rkey;
            argv[a++] = ts;
            for (size_t f = 0; f < recs[i].n_values && f < v->n_features; f++) {
                if (recs[i].values[f].null)
                    continue;
                argv[a++] = v->features[f].name;
                if (recs[i].values[f].type == FEAT_STRING) {
                    argv[a++] = recs[i].values[f].s ? recs[i].values[f].s : "";
                } else {
                    feat_value_text(&recs[i].values[f], texts[f], sizeof texts[f]);
                    argv[a++] = texts[f];
                }
            }
            for (size_t k = 0; k < a; k++)
                argl[k] = strlen(argv[k]);
            if (redisAppendCommandArgv(s->c, (int)a, argv, argl) != REDIS_OK) {
                rc = redis_fail(s, err, errlen);
                break;
            }
        }
        for (size_t i = start; !rc && i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
                rc = redis_fail(s, err, errlen);
                break;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                snprintf(err, errlen, "redis: %s", r->str);
                rc = MMSP_E_IO;
            }
            freeReplyObject(r);
        }
        if (rc && s->c) { /* replies may be pending: start over on a new connection */
            redisFree(s->c);
            s->c = NULL;
        }
    }
    pthread_mutex_unlock(&s->mu);
out:
    free(argv);
    free(argl);
    free(texts);
    return rc;
}

static void decode(const struct feat_view *v, size_t f, const redisReply *e, struct feat_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)v->features[f].type;
    if (!e || e->type != REDIS_REPLY_STRING) {
        out->null = 1;
        return;
    }
    switch (v->features[f].type) {
    case FEAT_STRING:
        out->s = e->str;
        break;
    case FEAT_INT64:
        out->i = strtoll(e->str, NULL, 10);
        break;
    case FEAT_BOOL:
        out->i = strcmp(e->str, "true") == 0 || strcmp(e->str, "1") == 0;
        break;
    default:
        out->d = strtod(e->str, NULL);
    }
}

static mmsp_err rs_read(struct online_store *o, const struct feat_view *v, const char *const *keys,
                        size_t n, online_read_fn fn, void *ctx, char *err, size_t errlen)
{
    struct redis_store *s = (struct redis_store *)o;
    size_t max_args = 3 + FEAT_MAX_FEATURES;
    const char **argv = calloc(max_args, sizeof *argv);
    size_t *argl = calloc(max_args, sizeof *argl);
    struct feat_value *vals = calloc(FEAT_MAX_FEATURES, sizeof *vals);
    char rkey[2048];
    mmsp_err rc = MMSP_OK;
    if (!argv || !argl || !vals) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    rc = connect_locked(s, err, errlen);
    for (size_t start = 0; !rc && start < n; start += REDIS_BATCH) {
        size_t end = start + REDIS_BATCH < n ? start + REDIS_BATCH : n;
        for (size_t i = start; i < end; i++) {
            int kl = redis_key(rkey, sizeof rkey, v->name, keys[i]);
            if (kl < 0)
                kl = redis_key(rkey, sizeof rkey, v->name, "");
            size_t a = 0;
            argv[a] = "HMGET";
            argl[a++] = 5;
            argv[a] = rkey;
            argl[a++] = (size_t)kl;
            argv[a] = "_ts";
            argl[a++] = 3;
            for (size_t f = 0; f < v->n_features; f++) {
                argv[a] = v->features[f].name;
                argl[a++] = strlen(v->features[f].name);
            }
            if (redisAppendCommandArgv(s->c, (int)a, argv, argl) != REDIS_OK) {
                rc = redis_fail(s, err, errlen);
                break;
            }
        }
        for (size_t i = start; !rc && i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
                rc = redis_fail(s, err, errlen);
                break;
            }
            if (r->type != REDIS_REPLY_ARRAY || r->elements != v->n_features + 1) {
                snprintf(err, errlen, "redis: unexpected reply to HMGET");
                rc = MMSP_E_IO;
            } else if (r->element[0]->type != REDIS_REPLY_STRING) {
                fn(ctx, i, NULL);
            } else {
                for (size_t f = 0; f < v->n_features; f++)
                    decode(v, f, r->element[f + 1], &vals[f]);
                struct online_record rec = {strtoll(r->element[0]->str, NULL, 10), v->n_features,
                                            vals};
                fn(ctx, i, &rec);
            }
            freeReplyObject(r);
        }
        if (rc && s->c) {
            redisFree(s->c);
            s->c = NULL;
        }
    }
    pthread_mutex_unlock(&s->mu);
out:
    free(argv);
    free(argl);
    free(vals);
    return rc;
}

static void rs_free(struct online_store *o)
{
    struct redis_store *s = (struct redis_store *)o;
    if (s->c)
        redisFree(s->c);
    pthread_mutex_destroy(&s->mu);
    explicit_bzero(s->password, sizeof s->password);
    free(s);
}

static const struct online_store_ops redis_ops = {
    .name = "redis",
    .write = rs_write,
    .read = rs_read,
    .refresh = NULL,
    .free = rs_free,
};

/* Decodes %XX escapes of src[0..n) into out (at most outlen - 1 bytes); -1 on a bad escape,
 * a NUL byte or overflow. */
static int percent_decode(const char *src, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            unsigned v = 0;
            for (int k = 1; k <= 2; k++) {
                char h = i + (size_t)k < n ? src[i + (size_t)k] : '\0';
                int d = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (d < 0)
                    return -1;
                v = v * 16 + (unsigned)d;
            }
            if (v == 0)
                return -1;
            c = (unsigned char)v;
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* The URL for messages: the password (between the userinfo's ':' and '@') as "***". */
static void redact(const char *url, char *out, size_t outlen)
{
    const char *at = strrchr(url + 8, '@');
    const char *colon = at ? memchr(url + 8, ':', (size_t)(at - url - 8)) : NULL;
    if (!colon)
        snprintf(out, outlen, "%.200s", url);
    else
        snprintf(out, outlen, "%.*s***%.200s", (int)(colon + 1 - url), url, at);
}

mmsp_err online_redis_open(const char *url, struct online_store **out, char *err, size_t errlen)
{
    *out = NULL;
    char shown[512];
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "'%.200s' is not a redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] URL",
                 strchr(url, '@') ? "(URL with credentials)" : url);
        return MMSP_E_INVALID;
    }
    redact(url, shown, sizeof shown);
    struct redis_store *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    s->base.ops = &redis_ops;
    pthread_mutex_init(&s->mu, NULL);
    mmsp_err rc = MMSP_E_INVALID;
    const char *hp = url + 8;
    const char *at = strrchr(hp, '@'); /* a password may hold '@', a host never does */
    if (at) {
        const char *colon = memchr(hp, ':', (size_t)(at - hp));
        if (!colon) {
            snprintf(err, errlen,
                     "'%s': credentials must read :PASSWORD@ or USER:PASSWORD@ (percent-encode "
                     "reserved characters)",
                     shown);
            goto out;
        }
        if (percent_decode(hp, (size_t)(colon - hp), s->user, sizeof s->user) ||
            percent_decode(colon + 1, (size_t)(at - colon - 1), s->password, sizeof s->password)) {
            snprintf(err, errlen,
                     "'%s': bad user name or password (a %%XX escape is wrong, encodes NUL, or "
                     "it is longer than %d bytes)",
                     shown, REDIS_CRED_MAX - 1);
            goto out;
        }
        if (!s->password[0]) {
            snprintf(err, errlen, "'%s': empty password", shown);
            goto out;
        }
        s->has_password = 1;
        hp = at + 1;
    }
    size_t hl = strcspn(hp, ":/");
    if (hl == 0 || hl >= sizeof s->host) {
        snprintf(err, errlen, "'%s': no host", shown);
        goto out;
    }
    memcpy(s->host, hp, hl);
    s->port = 6379;
    const char *p = hp + hl;
    if (*p == ':') {
        char *end;
        errno = 0;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || errno || port <= 0 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "'%s': bad port", shown);
            goto out;
        }
        s->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        errno = 0;
        long db = strtol(p + 1, &end, 10);
        if (p[1] < '0' || p[1] > '9' || *end || errno || db < 0 || db > 1000000) {
            snprintf(err, errlen, "'%s': bad database number (redis://HOST:PORT/DB, DB >= 0)",
                     shown);
            goto out;
        }
        s->dbnum = (int)db;
    }
    pthread_mutex_lock(&s->mu);
    rc = connect_locked(s, err, errlen);
    pthread_mutex_unlock(&s->mu);
out:
    if (rc) {
        rs_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return MMSP_OK;
}
