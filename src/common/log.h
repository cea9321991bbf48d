/*
 * JSON-lines logging: one object per line on stderr,
 *   {"ts":"2026-11-22T21:57:46.123Z","level":"info","event":"serve.listen","msg":"..."}
 * Lines below the level set with log_set_level() are dropped. Thread-safe: each line is
 * written with a single write(2).
 */
#ifndef MMSP_LOG_H
#define MMSP_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/* "debug"|"info"|"warn"|"error"|"off" -> level; returns -1 for anything else. */
int log_level_parse(const char *s);

/* Writes one line. `event` is a short dotted identifier; the message is printf-formatted and
 * JSON-escaped. */
void log_write(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

#endif
