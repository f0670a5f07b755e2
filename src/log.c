/* log.c - the library's only route to the terminal: one line per message on stderr,
 * prefixed with the command that is running ("recur train: ..."). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <recur/common.h>

static char log_prefix[64] = "recur";
static bool log_quiet = false;

void recur_log_set_prefix(const char *prefix)
{
    snprintf(log_prefix, sizeof log_prefix, "%s", prefix ? prefix : "recur");
}

const char *recur_log_prefix(void)
{
    return log_prefix;
}

void recur_log_set_quiet(bool quiet)
{
    log_quiet = quiet;
}

static void log_line(const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    fprintf(stderr, "%s: %s\n", log_prefix, msg);
}

void recur_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

void recur_info(const char *fmt, ...)
{
    if (log_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}
