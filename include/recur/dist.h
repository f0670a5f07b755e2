/* recur/dist.h - data-parallel training across processes: MPI in a build with `make MPI=1`
 * (bin/recur-mpi, launched by mpirun or srun), a single process otherwise. Every function works
 * in both builds; without MPI they are the identity on one rank. */
#ifndef RECUR_DIST_H
#define RECUR_DIST_H

#include <recur/common.h>

/* Starts MPI when built with it (and not started yet). 0 or RECUR_EIO (logged). */
int recur_dist_init(int *argc, char ***argv) RECUR_WUR;
/* Ends MPI when recur_dist_init started it. */
void recur_dist_finalize(void);
/* This process's rank and the number of ranks (0 and 1 without MPI). */
int recur_dist_rank(void);
int recur_dist_size(void);

/* In-place sums over all ranks. 0 or RECUR_EIO (logged). */
int recur_dist_sum_double(double *buf, size_t n) RECUR_WUR;
int recur_dist_sum_real(recur_real *buf, size_t n) RECUR_WUR;
/* Every rank's send (n elements) into recv (size * n, rank order). */
int recur_dist_gather_real(const recur_real *send, size_t n, recur_real *recv) RECUR_WUR;
/* Rank 0's buf to every rank. */
int recur_dist_bcast_real(recur_real *buf, size_t n) RECUR_WUR;
/* Stops every rank (after a rank failed alone), with the given exit status. */
void recur_dist_abort(int status);

#endif
