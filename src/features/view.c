/*
 * Feature views and feature services from YAML (`mmsp features apply FILE`), and their JSON
 * form stored in the feature store. A view names its entity join keys, its typed features, its
 * source file (relative paths resolve against the YAML file's directory), its event timestamp
 * column and its TTL. Errors point at the offending line: "FILE:LINE: field: message".
 * Calls: policy/ydoc (libyaml), jansson, features/table.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "features/features.h"
#include "policy/ydoc.h"

int feat_view_feature(const struct feat_view *v, const char *name)
{
    for (size_t i = 0; i < v->n_features; i++)
        if (strcmp(v->features[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Names: [A-Za-z0-9_.-], 1..FEAT_NAME_MAX-1 bytes. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= FEAT_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static mmsp_err scalar_name(const struct ydoc_node *n, const char *file, const char *field,
                            char *dst, char *err, size_t errlen)
{
    char show[72];
    if (!n || n->type != YDOC_SCALAR || ydoc_is_null(n))
        return ydoc_fail(err, errlen, file, n ? n->line : 0, field, MMSP_E_INVALID,
                         "a name is required (got %s)", n ? ydoc_kind(n) : "nothing");
    if (!name_ok(n->str))
        return ydoc_fail(err, errlen, file, n->line, field, MMSP_E_INVALID,
                         "'%s' is not a valid name (letters, digits, _ . -; at most %d bytes)",
                         ydoc_show(n->str, show), FEAT_NAME_MAX - 1);
    snprintf(dst, FEAT_NAME_MAX, "%s", n->str);
    return MMSP_OK;
}

static mmsp_err parse_view(const struct ydoc_node *m, const char *file, const char *base_dir,
                           struct feat_view *v, char *err, size_t errlen)
{
    char show[72];
    memset(v, 0, sizeof *v);
    snprintf(v->timestamp_field, sizeof v->timestamp_field, "event_timestamp");
    if (!m || m->type != YDOC_MAP)
        return ydoc_fail(err, errlen, file, m ? m->line : 0, "feature view", MMSP_E_INVALID,
                         "a mapping is required");
    for (const struct ydoc_node *k = m->first; k; k = k->next) {
        static const char *known[] = {
            "name", "entities",    "features", "source", "timestamp_field",
            "ttl",  "description", "tags",     "online"};
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(k->key, known[i]) == 0;
        if (!ok)
            return ydoc_fail(err, errlen, file, k->key_line, k->key, MMSP_E_INVALID,
                             "unknown field (known: name, entities, features, source, "
                             "timestamp_field, ttl, description, tags)");
    }
    mmsp_err rc = scalar_name(ydoc_get(m, "name"), file, "name", v->name, err, errlen);
    if (rc)
        return rc;
    const struct ydoc_node *ents = ydoc_get(m, "entities");
    if (ents && ents->type == YDOC_SCALAR && !ydoc_is_null(ents)) {
        rc = scalar_name(ents, file, "entities", v->entities[0], err, errlen);
        if (rc)
            return rc;
        v->n_entities = 1;
    } else if (ents && ents->type == YDOC_SEQ && ents->n > 0) {
        if (ents->n > FEAT_MAX_ENTITIES)
            return ydoc_fail(err, errlen, file, ents->line, "entities", MMSP_E_INVALID,
                             "at most %d join keys", FEAT_MAX_ENTITIES);
        for (const struct ydoc_node *e = ents->first; e; e = e->next) {
            const struct ydoc_node *nm = e->type == YDOC_MAP ? ydoc_get(e, "join_key") : e;
            if (e->type == YDOC_MAP && !nm)
                nm = ydoc_get(e, "name");
            rc = scalar_name(nm, file, "entities", v->entities[v->n_entities], err, errlen);
            if (rc)
                return rc;
            v->n_entities++;
        }
    } else {
        return ydoc_fail(err, errlen, file, ents ? ents->line : m->line, "entities", MMSP_E_INVALID,
                         "a join key or a list of join keys is required");
    }
    const struct ydoc_node *feats = ydoc_get(m, "features");
    if (!feats || feats->type != YDOC_SEQ || feats->n == 0)
        return ydoc_fail(err, errlen, file, feats ? feats->line : m->line, "features",
                         MMSP_E_INVALID, "a non-empty list of {name, type} is required");
    if (feats->n > FEAT_MAX_FEATURES)
        return ydoc_fail(err, errlen, file, feats->line, "features", MMSP_E_TOO_LARGE,
                         "at most %d features", FEAT_MAX_FEATURES);
    for (const struct ydoc_node *f = feats->first; f; f = f->next) {
        struct feat_feature *ff = &v->features[v->n_features];
        if (f->type != YDOC_MAP)
            return ydoc_fail(err, errlen, file, f->line, "features", MMSP_E_INVALID,
                             "each feature is a mapping {name, type}");
        rc = scalar_name(ydoc_get(f, "name"), file, "features.name", ff->name, err, errlen);
        if (rc)
            return rc;
        const struct ydoc_node *t = ydoc_get(f, "type");
        if (!t) {
            t = ydoc_get(f, "dtype");
        }
        if (!t || t->type != YDOC_SCALAR || !feat_type_parse(t->str, &ff->type) ||
            ff->type == FEAT_TIMESTAMP)
            return ydoc_fail(
                err, errlen, file, t ? t->line : f->line, "features.type", MMSP_E_INVALID,
                "feature '%s': type must be int64, float, double, string or bool", ff->name);
        if (feat_view_feature(v, ff->name) >= 0)
            return ydoc_fail(err, errlen, file, f->line, "features.name", MMSP_E_INVALID,
                             "feature '%s' appears twice", ff->name);
        for (size_t e = 0; e < v->n_entities; e++)
            if (strcmp(v->entities[e], ff->name) == 0)
                return ydoc_fail(err, errlen, file, f->line, "features.name", MMSP_E_INVALID,
                                 "'%s' is a join key, not a feature", ff->name);
        v->n_features++;
    }
    const struct ydoc_node *src = ydoc_get(m, "source");
    if (src && src->type == YDOC_MAP)
        src = ydoc_get(src, "path");
    if (src && !ydoc_is_null(src)) {
        if (src->type != YDOC_SCALAR || strlen(src->str) >= FEAT_PATH_MAX / 2)
            return ydoc_fail(err, errlen, file, src->line, "source", MMSP_E_INVALID,
                             "a file path (.csv or .parquet) is required");
        if (src->str[0] == '/' || !base_dir || !*base_dir)
            snprintf(v->source, sizeof v->source, "%s", src->str);
        else
            snprintf(v->source, sizeof v->source, "%.*s/%s", FEAT_PATH_MAX / 2 - 2, base_dir,
                     src->str);
    }
    const struct ydoc_node *ts = ydoc_get(m, "timestamp_field");
    if (ts) {
        rc = scalar_name(ts, file, "timestamp_field", v->timestamp_field, err, errlen);
        if (rc)
            return rc;
    }
    const struct ydoc_node *ttl = ydoc_get(m, "ttl");
    if (ttl && !ydoc_is_null(ttl)) {
        if (ttl->type != YDOC_SCALAR || !feat_parse_duration_ms(ttl->str, &v->ttl_ms))
            return ydoc_fail(err, errlen, file, ttl->line, "ttl", MMSP_E_INVALID,
                             "'%s' is not a duration (e.g. 24h, 30m, 7d, 0 = none)",
                             ttl->type == YDOC_SCALAR ? ydoc_show(ttl->str, show) : "?");
    }
    return MMSP_OK;
}

static mmsp_err parse_service(const struct ydoc_node *m, const char *file, struct feat_service *s,
                              char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!m || m->type != YDOC_MAP)
        return ydoc_fail(err, errlen, file, m ? m->line : 0, "feature service", MMSP_E_INVALID,
                         "a mapping is required");
    mmsp_err rc = scalar_name(ydoc_get(m, "name"), file, "name", s->name, err, errlen);
    if (rc)
        return rc;
    const struct ydoc_node *fs = ydoc_get(m, "features");
    if (!fs || fs->type != YDOC_SEQ || fs->n == 0 || fs->n > FEAT_MAX_FEATURES)
        return ydoc_fail(err, errlen, file, fs ? fs->line : m->line, "features", MMSP_E_INVALID,
                         "a list of \"view:feature\" references is required");
    for (const struct ydoc_node *f = fs->first; f; f = f->next) {
        if (f->type != YDOC_SCALAR || !strchr(f->str, ':') || strlen(f->str) >= sizeof s->refs[0])
            return ydoc_fail(err, errlen, file, f->line, "features", MMSP_E_INVALID,
                             "each reference reads \"view:feature\"");
        snprintf(s->refs[s->n_refs++], sizeof s->refs[0], "%s", f->str);
    }
    return MMSP_OK;
}

mmsp_err feat_yaml_parse(const char *text, size_t len, const char *name, const char *base_dir,
                         struct feat_view **views, size_t *n_views, struct feat_service **services,
                         size_t *n_services, char *err, size_t errlen)
{
    struct ydoc *d = NULL;
    *views = NULL;
    *services = NULL;
    *n_views = *n_services = 0;
    mmsp_err rc = ydoc_parse(text, len, name, &d, err, errlen);
    if (rc)
        return rc;
    const struct ydoc_node *root = d->root;
    if (!root || root->type != YDOC_MAP) {
        rc = ydoc_fail(err, errlen, name, root ? root->line : 1, "document", MMSP_E_INVALID,
                       "a mapping is required (a view, or feature_views: [...])");
        goto out;
    }
    const struct ydoc_node *fv = ydoc_get(root, "feature_views");
    const struct ydoc_node *sv = ydoc_get(root, "feature_services");
    size_t nv = fv ? fv->n : (sv ? 0 : 1), ns = sv ? sv->n : 0;
    if ((fv && fv->type != YDOC_SEQ) || (sv && sv->type != YDOC_SEQ)) {
        rc = ydoc_fail(err, errlen, name, root->line, "feature_views", MMSP_E_INVALID,
                       "feature_views and feature_services are lists");
        goto out;
    }
    *views = calloc(nv ? nv : 1, sizeof **views);
    *services = calloc(ns ? ns : 1, sizeof **services);
    if (!*views || !*services) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if (!fv && !sv) {
        rc = parse_view(root, name, base_dir, &(*views)[0], err, errlen);
        if (rc)
            goto out;
        *n_views = 1;
    } else {
        for (const struct ydoc_node *n = fv ? fv->first : NULL; n; n = n->next) {
            rc = parse_view(n, name, base_dir, &(*views)[*n_views], err, errlen);
            if (rc)
                goto out;
            for (size_t i = 0; i < *n_views; i++)
                if (strcmp((*views)[i].name, (*views)[*n_views].name) == 0) {
                    rc = ydoc_fail(err, errlen, name, n->line, "name", MMSP_E_INVALID,
                                   "view '%s' appears twice", (*views)[i].name);
                    goto out;
                }
            (*n_views)++;
        }
        for (const struct ydoc_node *n = sv ? sv->first : NULL; n; n = n->next) {
            rc = parse_service(n, name, &(*services)[*n_services], err, errlen);
            if (rc)
                goto out;
            (*n_services)++;
        }
    }
out:
    ydoc_free(d);
    if (rc) {
        free(*views);
        free(*services);
        *views = NULL;
        *services = NULL;
        *n_views = *n_services = 0;
    }
    return rc;
}
