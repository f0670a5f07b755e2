/* cmd_series.h - the forecasting side of `recur eval`, `predict` and `encode`: series
 * read from HDF5 / netCDF-4 files (--h5), used when the command line names one. */
#ifndef RECUR_CMD_SERIES_H
#define RECUR_CMD_SERIES_H

#include <stdbool.h>

/* Each takes the command's argv as main_<cmd> does (argv[0] is the command's name) and returns
 * an exit status: 0 ok, 1 bad input or I/O, 2 usage, 3 training diverged. */
int main_eval_series(int argc, char *argv[]);
int main_predict_series(int argc, char *argv[]);
int main_encode_series(int argc, char *argv[]);

#endif
