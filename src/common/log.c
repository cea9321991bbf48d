/*
 * JSON-lines logger (see log.h). Formats into a stack buffer, escapes, and emits the line
 * with one write(2) so lines from different threads never interleave. Calls only libc.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static atomic_int current_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_set_level(enum log_level lvl)
{
    atomic_store(&current_level, (int)lvl);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&current_level);
}

int log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Appends s JSON-escaped to out[*len..cap-1], truncating cleanly when full. */
static void append_escaped(char *out, size_t *len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[6];
        size_t n = 0;
        if (c == '"' || c == '\\') {
            tmp[n++] = '\\';
            tmp[n++] = (char)c;
        } else if (c == '\n') {
            tmp[n++] = '\\';
            tmp[n++] = 'n';
        } else if (c < 0x20) {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            n = 6;
        } else {
            tmp[n++] = (char)c;
        }
        if (*len + n >= cap)
            return;
        memcpy(out + *len, tmp, n);
        *len += n;
    }
}

void log_write(enum log_level lvl, const char *event, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&current_level) || lvl >= LOG_OFF)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[2600];
    size_t len =
        (size_t)snprintf(line, sizeof line,
                         "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                         "\"event\":\"",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl]);
    size_t cap = sizeof line - 4; /* room for "}\n */
    append_escaped(line, &len, cap, event);
    if (len + 9 < cap) {
        memcpy(line + len, "\",\"msg\":\"", 9);
        len += 9;
    }
    append_escaped(line, &len, cap, msg);
    memcpy(line + len, "\"}\n", 3);
    len += 3;
    ssize_t r = write(STDERR_FILENO, line, len);
    (void)r;
}
