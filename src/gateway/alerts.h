/*
 * The Alertmanager webhook `POST /alerts` (docs/gateway.md "Alerts"): a firing alert whose
 * labels name a deployment rolls that deployment's canary back; a resolved alert is recorded;
 * the same delivery twice acts once. Used by gateway.c (gateway_register adds the route) and
 * usable on its own (tests). Calls: registry, http, metrics, jansson.
 */
#ifndef MMSP_GATEWAY_ALERTS_H
#define MMSP_GATEWAY_ALERTS_H

#include <stddef.h>

#include "http/http.h"
#include "mmsp/error.h"

struct registry;
struct metrics_registry;

#define GATEWAY_ALERTS_MAX  1000 /* alerts in one payload */
#define GATEWAY_ALERTS_SEEN 4096 /* remembered deliveries (in memory; the history is the truth) */

struct gateway_alerts_options {
    struct registry *registry;        /* borrowed */
    struct metrics_registry *metrics; /* borrowed; NULL = no counter */
    const char *admin_token;          /* copied; NULL or "" = no authentication */
    /* Called after a rollback changed a deployment (gateway_wake), may be NULL. */
    void (*on_change)(void *ctx);
    void *on_change_ctx;
};

struct gateway_alerts;

mmsp_err gateway_alerts_new(const struct gateway_alerts_options *o, struct gateway_alerts **out,
                            char *err, size_t errlen);
/* The HTTP handler: ctx is the struct gateway_alerts (http_router_add(r, "POST", "/alerts",
 * gateway_alerts_handle, alerts)). */
mmsp_err gateway_alerts_handle(struct http_request *req, struct http_response *res, void *ctx);
void gateway_alerts_free(struct gateway_alerts *a); /* NULL is ignored */

#endif
