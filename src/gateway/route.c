/*
 * Variant routing of the gateway (docs/gateway.md "Routing"): the consistent cohort hash that
 * keeps a user in the canary while its weight only grows, and the per-thread pseudo-random
 * generator behind weighted random routing when a request carries no cohort key.
 * Calls: libc (getrandom for the seeds) only.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gateway/gateway_internal.h"

/* The splitmix64 finaliser: spreads FNV's weak low bits over the whole word. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint32_t gateway_cohort_bucket(const char *deployment, const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, deployment, strlen(deployment) + 1); /* the NUL separates name and key */
    h = fnv1a(h, key, len);
    return (uint32_t)(mix64(h) % GATEWAY_COHORT_BUCKETS);
}

/* xorshift64* per thread: a few ns, no lock, no shared cache line. */
static _Thread_local uint64_t rng_state;

uint64_t gateway_random(void)
{
    uint64_t x = rng_state;
    if (!x) {
        if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            x = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts);
        }
        if (!x)
            x = 0x9e3779b97f4a7c15ULL;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

int gateway_route_canary(const char *deployment, const char *key, size_t key_len, int weight)
{
    if (weight <= 0)
        return 0;
    if (weight >= 100)
        return 1;
    uint32_t bucket = key ? gateway_cohort_bucket(deployment, key, key_len)
                          : (uint32_t)((gateway_random() >> 11) % GATEWAY_COHORT_BUCKETS);
    return bucket < (uint32_t)weight * (GATEWAY_COHORT_BUCKETS / 100);
}
