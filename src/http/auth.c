/*
 * Admin bearer-token check for write endpoints (http.h, http_require_admin): the registry
 * APIs (register, stage, alias, deploy, promote, rollback, MLflow writes) and the v2
 * repository load/unload call it before doing anything. The comparison takes the same time
 * whatever the given token is (no early return on the first differing byte, none on a length
 * mismatch), so response timing does not reveal how much of a guess was right.
 * Calls: http (http_fail, http_request_header, http_response_header).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

/*
 * 1 when a[0..alen) equals b[0..blen), in time that depends on blen (the secret's length,
 * fixed for a server) only: every byte of b is visited, whatever a is.
 */
static int equal_const_time(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++) {
        /* Index a modulo its length (not 0 when shorter): no data-dependent branch on a. */
        unsigned char ca = alen ? (unsigned char)a[i % alen] : 0;
        diff |= (unsigned char)(ca ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

mmsp_err http_require_admin(struct http_request *req, struct http_response *res, const char *token)
{
    if (!token || !*token)
        return MMSP_OK;
    const char *auth = http_request_header(req, "Authorization");
    static const char scheme[] = "Bearer ";
    const size_t scheme_len = sizeof scheme - 1;
    if (!auth || strncasecmp(auth, scheme, scheme_len) != 0) {
        /* RFC 6750 3: a request without credentials gets the challenge. */
        (void)http_response_header(req, res, "WWW-Authenticate", "Bearer realm=\"mmsp\"");
        return http_fail(res, MMSP_E_UNAUTHORIZED,
                         auth ? "the Authorization header is not 'Bearer <token>'"
                              : "this endpoint needs an admin token: send 'Authorization: Bearer "
                                "<token>'");
    }
    const char *given = auth + scheme_len;
    while (*given == ' ')
        given++;
    if (!*given) {
        (void)http_response_header(req, res, "WWW-Authenticate", "Bearer realm=\"mmsp\"");
        return http_fail(res, MMSP_E_UNAUTHORIZED, "the bearer token is empty");
    }
    if (!equal_const_time(given, strlen(given), token, strlen(token)))
        return http_fail(res, MMSP_E_FORBIDDEN, "the admin token is not valid");
    return MMSP_OK;
}
