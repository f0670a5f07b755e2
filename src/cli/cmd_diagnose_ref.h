/* cmd_diagnose_ref.h - the reference experiments of `recur diagnose` that need no model or
 * data: `recur diagnose euler` (an RNN as forward Euler: stability of the forward and backward
 * passes against the step size) and `recur diagnose linear` (the O(T^2) sum against O(T) BPTT
 * for the linear RNN, timed). */
#ifndef RECUR_CMD_DIAGNOSE_REF_H
#define RECUR_CMD_DIAGNOSE_REF_H

/* Each takes its own argv with argv[0] = "euler" / "linear" (getopt_long() starts from
 * optind = 1) and returns an exit status: 0 ok, 1 bad input or I/O, 2 usage. */
int diagnose_euler_main(int argc, char *argv[]);  /* `recur diagnose euler [options]` */
int diagnose_linear_main(int argc, char *argv[]); /* `recur diagnose linear [options]` */

#endif
