/* O_TMPFILE and linkat are Linux (GNU) extensions. */
#define _GNU_SOURCE

#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ms_atomic_file {
    FILE *stream;
    int fd;
    char *path;     /* the target, links resolved */
    char *tmp;      /* the named temporary file, or NULL for an unnamed one */
    mode_t mode;    /* the old file's permissions, kept */
    bool keep_mode; /* there was an old file */
};

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

static ms_status fail(ms_diag *diag, const char *path, int err)
{
    return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot write %s: %s", path,
                       strerror(err));
}

/* The temporary file beside `path` cannot be made in folder `dir`: says
 * what is wrong with the folder, errno's text included. */
static ms_status folder_fail(ms_diag *diag, const char *path, const char *dir, int err)
{
    const char *what = err == ENOENT    ? "does not exist"
                       : err == ENOTDIR ? "is not one: a part of its path is a file"
                                        : "does not take a new file";
    ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot write %s: the folder %s %s (%s)", path,
                dir, what, strerror(err));
    if (err == ENOENT)
        ms_diag_hint(diag, "create the folder first (mkdir -p %s), or write into one that exists",
                     dir);
    else
        ms_diag_hint(diag, "write into a folder you can write to");
    return MS_ERR_IO;
}

static void free_file(ms_atomic_file *f)
{
    free(f->path);
    free(f->tmp);
    free(f);
}

/* The folder of `path` ("." when it names none). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* Sets f->tmp to the `attempt`th temporary name beside the target. */
static bool temporary_name(ms_atomic_file *f, int attempt)
{
    size_t n = strlen(f->path) + 32;
    if (!f->tmp && !(f->tmp = malloc(n))) {
        errno = ENOMEM;
        return false;
    }
    snprintf(f->tmp, n, "%s.%ld.%d.tmp", f->path, (long)getpid(), attempt);
    return true;
}

static int open_named_temporary(ms_atomic_file *f)
{
    for (int attempt = 0; attempt < 100 && temporary_name(f, attempt); attempt++) {
        int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

ms_status ms_atomic_open(const char *path, ms_atomic_file **out, FILE **stream, ms_diag *diag)
{
    *out = NULL;
    *stream = NULL;
    ms_atomic_file *f = calloc(1, sizeof *f);
    if (!f)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", path, 0, 0, "out of memory");
    f->fd = -1;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        f->path = realpath(path, NULL);
        if (!f->path && errno == ENOENT)
            f->path = strdup(path); /* a dangling link: written as a new file in its place */
    } else {
        f->path = strdup(path);
    }
    if (!f->path) {
        int err = errno;
        free_file(f);
        return fail(diag, path, err);
    }
    if (stat(f->path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            free_file(f);
            return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0,
                               "refusing to replace %s: it is %s; give the path of a regular "
                               "file",
                               path, kind_of(st.st_mode));
        }
        f->mode = st.st_mode & 07777;
        f->keep_mode = true;
    }
    char *dir = folder_of(f->path);
    if (!dir) {
        free_file(f);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", path, 0, 0, "out of memory");
    }
    f->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
        f->fd = open_named_temporary(f);
    int err = errno;
    if (f->fd < 0) {
        ms_atomic_abort(f);
        ms_status st = folder_fail(diag, path, dir, err);
        free(dir);
        return st;
    }
    free(dir);
    if ((f->keep_mode && fchmod(f->fd, f->mode) != 0) || !(f->stream = fdopen(f->fd, "wb"))) {
        err = errno;
        ms_atomic_abort(f);
        return fail(diag, path, err);
    }
    *out = f;
    *stream = f->stream;
    return MS_OK;
}

/* Copies what the unnamed file holds into the named temporary `to`. */
static int copy_into(int from, int to)
{
    char buf[1 << 16];
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(from, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : fsync(to);
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                return -1;
            done += w > 0 ? w : 0;
        }
        at += n;
    }
}

/* Gives the unnamed file a temporary name beside the target: a link to it
 * (AT_EMPTY_PATH needs a capability, /proc/self/fd a mounted /proc), or
 * else a named copy. */
static int name_temporary(ms_atomic_file *f)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    for (int attempt = 0; attempt < 100 && temporary_name(f, attempt); attempt++) {
        if (linkat(f->fd, "", AT_FDCWD, f->tmp, AT_EMPTY_PATH) == 0 ||
            linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int fd = open_named_temporary(f);
    if (fd >= 0 && (!f->keep_mode || fchmod(fd, f->mode) == 0) && copy_into(f->fd, fd) == 0)
        return close(fd);
    int err = errno;
    if (fd >= 0) {
        close(fd);
        unlink(f->tmp);
    }
    free(f->tmp);
    f->tmp = NULL;
    errno = err;
    return -1;
}

ms_status ms_atomic_commit(ms_atomic_file *f, ms_diag *diag)
{
    int err = 0;
    bool named = f->tmp != NULL;
    if (fflush(f->stream) != 0 || fsync(f->fd) != 0)
        err = errno;
    if (!err && !named && name_temporary(f) != 0)
        err = errno;
    if (fclose(f->stream) != 0 && !err)
        err = errno;
    f->stream = NULL;
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err && f->tmp)
        unlink(f->tmp);
    if (!err) {
        /* the rename itself reaches the disk with the folder */
        char *dir = folder_of(f->path);
        int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    ms_status st = err ? fail(diag, f->path, err) : MS_OK;
    free_file(f);
    return st;
}

void ms_atomic_abort(ms_atomic_file *f)
{
    if (!f)
        return;
    if (f->stream)
        fclose(f->stream);
    else if (f->fd >= 0)
        close(f->fd);
    if (f->tmp && f->fd >= 0)
        unlink(f->tmp);
    free_file(f);
}

ms_status ms_atomic_write(const char *path, const void *data, size_t len, ms_diag *diag)
{
    ms_atomic_file *f;
    FILE *out;
    ms_status st = ms_atomic_open(path, &f, &out, diag);
    if (st != MS_OK)
        return st;
    if (fwrite(data, 1, len, out) != len) {
        int err = errno ? errno : EIO;
        ms_atomic_abort(f);
        return fail(diag, path, err);
    }
    return ms_atomic_commit(f, diag);
}
