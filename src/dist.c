/* dist.c - the process group of data-parallel training: MPI when built with RECUR_MPI
 * (`make MPI=1`), otherwise one process. Large arrays go in chunks that fit MPI's int counts. */
#include <limits.h>

#include <recur/dist.h>

#ifdef RECUR_MPI
#include <mpi.h>

static bool started_here;

#if RECUR_REAL_IS_DOUBLE
#define REAL_T MPI_DOUBLE
#else
#define REAL_T MPI_FLOAT
#endif
#define CHUNK ((size_t)INT_MAX / 2)

int recur_dist_init(int *argc, char ***argv)
{
    int on = 0;
    MPI_Initialized(&on);
    if (on)
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        recur_error("MPI_Init failed");
        return RECUR_EIO;
    }
    started_here = true;
    return 0;
}

void recur_dist_finalize(void)
{
    if (started_here)
        MPI_Finalize();
    started_here = false;
}

int recur_dist_rank(void)
{
    int on = 0, r = 0;
    MPI_Initialized(&on);
    if (on)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int recur_dist_size(void)
{
    int on = 0, n = 1;
    MPI_Initialized(&on);
    if (on)
        MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

static int check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS)
        return 0;
    recur_error("MPI: %s failed", what);
    return RECUR_EIO;
}

int recur_dist_sum_double(double *buf, size_t n)
{
    for (size_t o = 0; o < n; o += CHUNK) {
        const int k = (int)(n - o < CHUNK ? n - o : CHUNK);
        if (check(MPI_Allreduce(MPI_IN_PLACE, buf + o, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
                  "allreduce"))
            return RECUR_EIO;
    }
    return 0;
}

int recur_dist_sum_real(recur_real *buf, size_t n)
{
    for (size_t o = 0; o < n; o += CHUNK) {
        const int k = (int)(n - o < CHUNK ? n - o : CHUNK);
        if (check(MPI_Allreduce(MPI_IN_PLACE, buf + o, k, REAL_T, MPI_SUM, MPI_COMM_WORLD),
                  "allreduce"))
            return RECUR_EIO;
    }
    return 0;
}

int recur_dist_gather_real(const recur_real *send, size_t n, recur_real *recv)
{
    if (n > CHUNK) {
        recur_error("MPI: gather of %zu elements per rank is too large", n);
        return RECUR_EINVAL;
    }
    return check(MPI_Allgather(send, (int)n, REAL_T, recv, (int)n, REAL_T, MPI_COMM_WORLD),
                 "allgather");
}

int recur_dist_bcast_real(recur_real *buf, size_t n)
{
    for (size_t o = 0; o < n; o += CHUNK) {
        const int k = (int)(n - o < CHUNK ? n - o : CHUNK);
        if (check(MPI_Bcast(buf + o, k, REAL_T, 0, MPI_COMM_WORLD), "broadcast"))
            return RECUR_EIO;
    }
    return 0;
}

void recur_dist_abort(int status)
{
    MPI_Abort(MPI_COMM_WORLD, status);
}

#else /* one process */

int recur_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

void recur_dist_finalize(void)
{
}

int recur_dist_rank(void)
{
    return 0;
}

int recur_dist_size(void)
{
    return 1;
}

int recur_dist_sum_double(double *buf, size_t n)
{
    (void)buf;
    (void)n;
    return 0;
}

int recur_dist_sum_real(recur_real *buf, size_t n)
{
    (void)buf;
    (void)n;
    return 0;
}

int recur_dist_gather_real(const recur_real *send, size_t n, recur_real *recv)
{
    for (size_t i = 0; i < n; i++)
        recv[i] = send[i];
    return 0;
}

int recur_dist_bcast_real(recur_real *buf, size_t n)
{
    (void)buf;
    (void)n;
    return 0;
}

void recur_dist_abort(int status)
{
    (void)status;
}

#endif
