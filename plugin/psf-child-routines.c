/* psf-child-routines.c: the routines that run inside a child process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY. This file runs between fork() and _exit() in a
 * copy of a host that may have had other threads (their locks are frozen in
 * whatever state they were in), so it calls only raw, async-signal-safe libc
 * functions: open, fstat, stat, syncfs, sync, close, write, sigaction,
 * sigprocmask, close_range. No malloc, no stdio, no GLib, no errno-to-text.
 * It is also linked into the helper psf-child, so both start methods run
 * exactly the same routine.
 *
 * syncfs() is called through libc (not syscall()) so that tests can
 * interpose it with LD_PRELOAD.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-syncfs-result.h"

int
psf_child_write_all (int         fd,
                     const void *data,
                     size_t      len)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }

  return 0;
}

void
psf_child_reset_signals (void)
{
  struct sigaction dfl;
  sigset_t none;

  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);

  /* Handlers of the host make no sense here, and an ignored SIGTERM
   * would make cancel() wait for SIGKILL. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL);

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

static int
int_in (int        fd,
        const int *set,
        size_t     n)
{
  for (size_t i = 0; i < n; i++)
    if (set[i] == fd)
      return 1;
  return 0;
}

void
psf_child_close_fds_except (const int *keep,
                            size_t     n_keep)
{
  int highest = 2;

  for (size_t i = 0; i < n_keep; i++)
    if (keep[i] > highest)
      highest = keep[i];

  for (int fd = 3; fd <= highest; fd++)
    if (!int_in (fd, keep, n_keep))
      close (fd);

#if HAVE_CLOSE_RANGE
  if (close_range ((unsigned) highest + 1, ~0u, 0) == 0)
    return;
#endif
  for (int fd = highest + 1; fd < 65536; fd++)
    close (fd);
}

/* Batches records so a run costs few write() calls. */
typedef struct
{
  int             fd;
  size_t          n;
  PsfSyncfsRecord records[128];
} RecordWriter;

static void
record_flush (RecordWriter *w)
{
  if (w->n > 0 && w->fd >= 0)
    psf_child_write_all (w->fd, w->records, w->n * sizeof w->records[0]);
  w->n = 0;
}

static void
record_add (RecordWriter *w,
            uint32_t      index,
            int           status,
            int           error,
            uint64_t      device,
            uint32_t      flags)
{
  PsfSyncfsRecord *r;

  if (w->n == sizeof w->records / sizeof w->records[0])
    record_flush (w);

  r = &w->records[w->n++];
  r->index = index;
  r->status = status;
  r->error = error;
  r->flags = flags;
  r->device = device;
}

typedef struct
{
  dev_t device;
  int   error;     /* 0: synced */
  int   fallback;  /* flushed by sync() */
} SeenDevice;

static const SeenDevice *
seen_lookup (const SeenDevice *seen,
             size_t            n_seen,
             dev_t             device)
{
  for (size_t i = 0; i < n_seen; i++)
    if (seen[i].device == device)
      return &seen[i];
  return NULL;
}

/* Opens the directory that holds @path, for a path whose target must not be
 * opened itself (FIFO, socket, device node). Returns -1 with errno set. */
static int
open_parent_directory (const char *path)
{
  char dir[4096];
  size_t len = strlen (path);

  if (len >= sizeof dir)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  memcpy (dir, path, len + 1);

  while (len > 1 && dir[len - 1] == '/')
    dir[--len] = '\0';
  while (len > 0 && dir[len - 1] != '/')
    len--;
  if (len == 0)
    {
      dir[0] = '.';
      dir[1] = '\0';
    }
  else
    {
      while (len > 1 && dir[len - 1] == '/')
        len--;
      dir[len] = '\0';
    }

  return open (dir, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY);
}

int
psf_syncfs_child_run (const void *input,
                      size_t      input_len,
                      int         report_fd)
{
  const PsfSyncfsInputHeader *header = input;
  const char *p;
  const char *end;
  SeenDevice seen[PSF_SYNCFS_MAX_DEVICES];
  size_t n_seen = 0;
  RecordWriter writer;
  int any_failed = 0;
  int any_enosys = 0;
  int fallback;

  writer.fd = report_fd;
  writer.n = 0;

  if (input == NULL || input_len < sizeof *header ||
      header->magic != PSF_SYNCFS_INPUT_MAGIC)
    return 2;

  fallback = (header->flags & PSF_SYNCFS_FLAG_SYNC_FALLBACK) != 0;
  p = (const char *) input + sizeof *header;
  end = (const char *) input + input_len;

  for (uint32_t i = 0; i < header->n_paths; i++)
    {
      const char *path = p;
      const char *nul = memchr (p, '\0', (size_t) (end - p));
      const SeenDevice *dup;
      struct stat st;
      int fd;

      if (nul == NULL)
        break;
      p = nul + 1;

      if (stat (path, &st) != 0)
        {
          record_add (&writer, i, PSF_SYNCFS_STATUS_SKIPPED, errno, 0, 0);
          continue;
        }

      if ((dup = seen_lookup (seen, n_seen, st.st_dev)) != NULL)
        {
          record_add (&writer, i,
                      dup->error && !dup->fallback ? PSF_SYNCFS_STATUS_FAILED
                                                   : PSF_SYNCFS_STATUS_DUPLICATE,
                      dup->error, st.st_dev,
                      dup->fallback ? PSF_SYNCFS_RECORD_FALLBACK : 0);
          continue;
        }

      /* Only regular files and directories are opened themselves: opening a
       * FIFO could hang, a device node could act (a tape rewinds). */
      if (S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
        fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
      else
        fd = open_parent_directory (path);

      if (fd < 0)
        {
          record_add (&writer, i, PSF_SYNCFS_STATUS_SKIPPED, errno, st.st_dev, 0);
          continue;
        }

      if (syncfs (fd) == 0)
        {
          record_add (&writer, i, PSF_SYNCFS_STATUS_SYNCED, 0, st.st_dev, 0);
          if (n_seen < PSF_SYNCFS_MAX_DEVICES)
            seen[n_seen++] = (SeenDevice) { st.st_dev, 0, 0 };
        }
      else
        {
          int saved = errno;
          int replaced = fallback && saved == ENOSYS;

          if (saved == ENOSYS)
            any_enosys = 1;
          else
            any_failed = 1;

          record_add (&writer, i,
                      replaced ? PSF_SYNCFS_STATUS_SYNCED : PSF_SYNCFS_STATUS_FAILED,
                      saved, st.st_dev,
                      replaced ? PSF_SYNCFS_RECORD_FALLBACK : 0);
          if (n_seen < PSF_SYNCFS_MAX_DEVICES)
            seen[n_seen++] = (SeenDevice) { st.st_dev, saved, replaced };
        }
      close (fd);
    }

  record_flush (&writer);

  /* sync() flushes every filesystem but reports no error: it stands in for
   * a syncfs() that does not exist, not for one that failed. */
  if (fallback && (any_enosys || any_failed))
    sync ();

  if (any_failed || (any_enosys && !fallback))
    return 1;
  return 0;
}

static const struct
{
  const char      *name;
  PsfChildRoutine  routine;
} routines[] = {
  { "syncfs", psf_syncfs_child_run },
  { "describe", psf_child_describe_run },
};

PsfChildRoutine
psf_child_routine_lookup (const char *name)
{
  for (size_t i = 0; i < sizeof routines / sizeof routines[0]; i++)
    if (strcmp (routines[i].name, name) == 0)
      return routines[i].routine;
  return NULL;
}
