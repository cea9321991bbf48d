/*
 * Names and messages for mmsp_err, generated from the MMSP_ERRORS table in
 * include/mmsp/error.h. Calls nothing.
 */
#include "mmsp/error.h"

#define NAME_ENTRY(name, msg) #name,
static const char *const err_names[] = {MMSP_ERRORS(NAME_ENTRY)};
#undef NAME_ENTRY

#define MSG_ENTRY(name, msg) msg,
static const char *const err_msgs[] = {MMSP_ERRORS(MSG_ENTRY)};
#undef MSG_ENTRY

static int err_index(mmsp_err e)
{
    int i = -(int)e;
    return (i >= 0 && i < MMSP_E_COUNT_) ? i : -1;
}

const char *mmsp_err_name(mmsp_err e)
{
    int i = err_index(e);
    return i < 0 ? "UNKNOWN" : err_names[i];
}

const char *mmsp_strerror(mmsp_err e)
{
    int i = err_index(e);
    return i < 0 ? "unknown error" : err_msgs[i];
}
