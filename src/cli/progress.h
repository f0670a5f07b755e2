/* progress.h - a live progress line on stderr while an epoch runs (command-line side only:
 * the library never prints). Drawn only when stderr is a terminal, redrawn in place at most
 * five times a second:
 *     recur train: epoch 3/10 [=========           ] 1200/2500 batches, loss 0.1234, ETA 41 s
 * progress_clear() erases it before the next ordinary line. */
#ifndef RECUR_CMD_PROGRESS_H
#define RECUR_CMD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool on;     /* stderr is a terminal and progress is wanted */
    bool drawn;  /* a line is on the screen */
    double last; /* monotonic time of the last draw, seconds */
} progress_t;

/* Seconds on the monotonic clock: wall time for durations. */
double progress_now(void);

void progress_init(progress_t *p, bool wanted);
/* done of total batches of epoch e of E; loss the running mean; eta the seconds left in the
 * run (negative: unknown). */
void progress_draw(progress_t *p, const char *cmd, size_t epoch, size_t epochs, size_t done,
                   size_t total, double loss, double eta);
void progress_clear(progress_t *p);

#endif
