/*
 * mmsp error codes.
 *
 * Every fallible mmsp function returns an mmsp_err: 0 on success, a negative code otherwise.
 * The codes, their names and their messages come from one X-macro table, MMSP_ERRORS, so the
 * enum, mmsp_err_name() and mmsp_strerror() can never disagree. Functions that can say more
 * than the code (which node of which model was bad) also fill a caller-provided message buffer.
 */
#ifndef MMSP_ERROR_H
#define MMSP_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, message). Codes are assigned in order: OK = 0, then -1, -2, ... */
#define MMSP_ERRORS(X)                                                                             \
    X(OK, "success")                                                                               \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID, "invalid argument")                                                                 \
    X(PARSE, "malformed input")                                                                    \
    X(NOT_FOUND, "not found")                                                                      \
    X(EXISTS, "already exists")                                                                    \
    X(UNSUPPORTED, "unsupported")                                                                  \
    X(IO, "input/output error")                                                                    \
    X(TOO_LARGE, "too large")                                                                      \
    X(BAD_MODEL, "invalid model")                                                                  \
    X(SHAPE, "shape mismatch")                                                                     \
    X(DTYPE, "datatype mismatch")                                                                  \
    X(UNAVAILABLE, "unavailable")                                                                  \
    X(METHOD, "method not allowed")                                                                \
    X(TIMEOUT, "timed out")                                                                        \
    X(INTERNAL, "internal error")                                                                  \
    X(UNAUTHORIZED, "authentication required")                                                     \
    X(FORBIDDEN, "permission denied")                                                              \
    X(CONFLICT, "conflict with the current state")                                                 \
    X(POLICY, "refused by the policy gate")

#define MMSP_ERR_ENUM_ENTRY(name, msg) MMSP_E_##name##_INDEX,
enum mmsp_err_index_ { MMSP_ERRORS(MMSP_ERR_ENUM_ENTRY) MMSP_E_COUNT_ };
#undef MMSP_ERR_ENUM_ENTRY

#define MMSP_ERR_ENUM_ENTRY(name, msg) MMSP_E_##name = -MMSP_E_##name##_INDEX,
/* MMSP_E_OK == 0; every failure is negative. */
typedef enum mmsp_err { MMSP_ERRORS(MMSP_ERR_ENUM_ENTRY) } mmsp_err;
#undef MMSP_ERR_ENUM_ENTRY

#define MMSP_OK MMSP_E_OK

/* Size of the message buffers that fallible functions fill with details. */
#define MMSP_ERRMSG_MAX 256

/* "NOT_FOUND" for MMSP_E_NOT_FOUND; "UNKNOWN" for a value outside the table. Static string. */
const char *mmsp_err_name(mmsp_err e);

/* "not found" for MMSP_E_NOT_FOUND; "unknown error" outside the table. Static string. */
const char *mmsp_strerror(mmsp_err e);

#ifdef __cplusplus
}
#endif
#endif
