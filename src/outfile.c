/* outfile.c - outputs written under a temporary name beside their path and renamed onto it
 * (include/recur/outfile.h): mkstemp in the target directory, fsync, rename, fsync of the
 * directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <recur/outfile.h>

static void release(recur_outfile_t *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->fp = NULL;
}

int recur_outfile_begin(recur_outfile_t *o, const char *path)
{
    *o = (recur_outfile_t){0};
    const size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    o->path = strdup(path);
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) {
        recur_error("%s: out of memory", path);
        release(o);
        return RECUR_ENOMEM;
    }
    snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
    const int fd = mkstemp(o->tmp);
    if (fd < 0) {
        recur_error("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        release(o);
        return RECUR_EIO;
    }
    /* mkstemp makes 0600; outputs get the mode a plain creat would give them. */
    const mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || close(fd) != 0) {
        recur_error("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        unlink(o->tmp);
        release(o);
        return RECUR_EIO;
    }
    return 0;
}

FILE *recur_outfile_stream(recur_outfile_t *o)
{
    if (!o->fp && !(o->fp = fopen(o->tmp, "w")))
        recur_error("%s: cannot write %s: %s", o->path, o->tmp, strerror(errno));
    return o->fp;
}

void recur_fsync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = dir;
    if (!slash)
        d = ".";
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    const int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* fsync of a file by name. */
static int sync_path(const char *p)
{
    const int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    const int rc = fsync(fd);
    const int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int recur_outfile_commit(recur_outfile_t *o)
{
    int rc = 0;
    if (o->fp) {
        const bool bad = ferror(o->fp) != 0;
        if ((fclose(o->fp) != 0 || bad) && !rc) {
            recur_error("%s: write failed: %s", o->path, bad ? "stream error" : strerror(errno));
            rc = RECUR_EIO;
        }
        o->fp = NULL;
    }
    if (!rc && sync_path(o->tmp) != 0) {
        recur_error("%s: cannot sync %s: %s", o->path, o->tmp, strerror(errno));
        rc = RECUR_EIO;
    }
    if (!rc && rename(o->tmp, o->path) != 0) {
        recur_error("%s: cannot rename %s onto it: %s", o->path, o->tmp, strerror(errno));
        rc = RECUR_EIO;
    }
    if (rc)
        unlink(o->tmp);
    else
        recur_fsync_dir(o->path);
    release(o);
    return rc;
}

void recur_outfile_abort(recur_outfile_t *o)
{
    if (o->fp)
        fclose(o->fp);
    if (o->tmp)
        unlink(o->tmp);
    release(o);
}

int recur_outfile_end(recur_outfile_t *o, int rc)
{
    if (rc) {
        recur_outfile_abort(o);
        return rc;
    }
    return recur_outfile_commit(o);
}
