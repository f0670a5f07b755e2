/* recur/outfile.h - files that are complete or absent: every output of recur (models,
 * checkpoints, datasets, predictions, tables, logs) is written under a temporary name beside
 * its path, synced, and renamed onto it; on any failure the temporary is removed and an
 * existing file at the path is left as it was. */
#ifndef RECUR_OUTFILE_H
#define RECUR_OUTFILE_H

#include <stdio.h>

#include <recur/common.h>

/* One output being written. The strings are owned by it; recur_outfile_commit() and
 * recur_outfile_abort() free them, so the struct must end in one of the two. */
typedef struct {
    char *path; /* the final name */
    char *tmp;  /* PATH.tmp.XXXXXX in the same directory (same file system: rename is atomic) */
    FILE *fp;   /* the stream of recur_outfile_stream(), or NULL */
} recur_outfile_t;

/* Creates the temporary file (empty, mode 0666 less the umask) beside path; write it by name
 * (HDF5: H5Fcreate(o->tmp, H5F_ACC_TRUNC, ...)) or through recur_outfile_stream(). 0, or
 * RECUR_ENOMEM / RECUR_EIO logged as "PATH: cannot create a temporary file beside it: why";
 * on failure nothing is left to commit or abort. */
int recur_outfile_begin(recur_outfile_t *o, const char *path) RECUR_WUR;

/* A stdio stream on the temporary file (opened once, owned by o: do not fclose it); NULL when
 * it cannot be opened (logged). */
FILE *recur_outfile_stream(recur_outfile_t *o);

/* Finishes the file: closes the stream (a write error counts), syncs the temporary, renames it
 * onto the path and syncs the directory. 0, or RECUR_EIO (logged, "PATH: ..."), in which case
 * the temporary is removed. Either way o is released. */
int recur_outfile_commit(recur_outfile_t *o) RECUR_WUR;

/* Drops the file: closes the stream, removes the temporary, releases o. No-op on a zeroed o. */
void recur_outfile_abort(recur_outfile_t *o);

/* Commits when rc is 0, else aborts; returns rc, or the commit's error. */
int recur_outfile_end(recur_outfile_t *o, int rc) RECUR_WUR;

/* Syncs the directory that holds path, so that a rename into it survives a crash; best effort. */
void recur_fsync_dir(const char *path);

#endif
