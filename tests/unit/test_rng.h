/*
 * The unit tests' pseudo-random numbers: Marsaglia's xorshift64 (13, 7, 17), deterministic
 * from a fixed seed, so a failing random case fails the same way on every run. Header only.
 */
#ifndef MMSP_TEST_RNG_H
#define MMSP_TEST_RNG_H

#include <stdint.h>

/* Advances *state (never 0) and returns it. */
static inline uint64_t test_xorshift64(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#endif
