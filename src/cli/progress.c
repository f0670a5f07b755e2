/* progress.c - the live progress line of progress.h. */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress_t *p, bool wanted)
{
    p->on = wanted && isatty(STDERR_FILENO);
    p->drawn = false;
    p->last = 0;
}

void progress_draw(progress_t *p, const char *cmd, size_t epoch, size_t epochs, size_t done,
                   size_t total, double loss, double eta)
{
    enum { WIDTH = 20 };
    if (!p->on || total == 0)
        return;
    const double t = progress_now();
    if (p->drawn && t - p->last < 0.2 && done < total)
        return;
    char bar[WIDTH + 1];
    const size_t fill = done * WIDTH / total;
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : ' ';
    bar[WIDTH] = '\0';
    /* \r and erase to the end of the line: the line is redrawn in place */
    fprintf(stderr, "\r\033[Krecur %s: epoch %zu/%zu [%s] %zu/%zu batches, loss %.4f", cmd, epoch,
            epochs, bar, done, total, loss);
    if (eta >= 0 && isfinite(eta))
        fprintf(stderr, ", ETA %.0f s", eta);
    fflush(stderr);
    p->drawn = true;
    p->last = t;
}

void progress_clear(progress_t *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
