/* psf-child-private.h: the code that runs in a child process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything declared here is plain libc: it runs between fork() and
 * _exit() (start method FORK, linked into libpsf-1) and in the helper
 * program psf-child (start method SPAWN). One source serves both.
 * It must stay async-signal-safe: no malloc, no stdio, no GLib, no locks.
 */

#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/wait.h>

#include "psf-child-setup-private.h"

/* The fds the helper psf-child finds its channels on. */
#define PSF_CHILD_REPORT_FD 3
#define PSF_CHILD_INPUT_FD  4

/* Input of the syncfs routine: this header, then n_paths NUL-terminated
 * absolute (or empty) paths back to back. */
#define PSF_SYNCFS_INPUT_MAGIC 0x31667370u /* "psf1" */
#define PSF_SYNCFS_FLAG_SYNC_FALLBACK (1u << 0)

typedef struct
{
  uint32_t magic;
  uint32_t flags;
  uint32_t n_paths;
  uint32_t reserved;
} PsfSyncfsInputHeader;

/* One record per input path on the report channel, fixed size, host
 * byte order (parent and child are the same machine). */
typedef struct
{
  uint32_t index;   /* input index */
  int32_t  status;  /* PsfSyncfsStatus */
  int32_t  error;   /* errno, 0 if none */
  uint32_t flags;   /* PSF_SYNCFS_RECORD_* */
  uint64_t device;  /* st_dev of the filesystem, 0 if unknown */
} PsfSyncfsRecord;

#define PSF_SYNCFS_RECORD_FALLBACK (1u << 0) /* flushed by sync() instead */

/* The largest errno a record may carry (the kernel's MAX_ERRNO): anything
 * larger is a malformed record. */
#define PSF_CHILD_MAX_ERRNO 4095

/* A record with this index is not about a path: the helper could not run
 * the routine at all. Its status is a PSF_CHILD_FAILED_* call, its error
 * the errno. Decoders that only look for paths skip it (the index is out of
 * range), so the format stays the same for them. */
#define PSF_SYNCFS_INDEX_FAILURE UINT32_MAX
#define PSF_CHILD_FAILED_MMAP_INPUT 1  /* mmap() of the input (fd 4) */

/* Exit status of a built-in routine that could not write its whole report:
 * PSF_CHILD_EXIT_REPORT + the errno of the failed write() (128 alone when
 * the errno does not fit). The parent gives a task whose child exited 0 the
 * same returncode when it could not read the report (see
 * psf_child_exit_report()). */
#define PSF_CHILD_EXIT_REPORT 128

static inline int
psf_child_exit_report (int error)
{
  return PSF_CHILD_EXIT_REPORT + (error > 0 && error < 128 ? error : 0);
}

/* The wait status (as waitpid() gives it) of a child whose exit waitid()
 * reported in @info. */
static inline int
psf_child_wait_status_from_siginfo (const siginfo_t *info)
{
  switch (info->si_code)
    {
    case CLD_EXITED:
      return (info->si_status & 0xff) << 8;
    case CLD_KILLED:
      return info->si_status & 0x7f;
    case CLD_DUMPED:
      return (info->si_status & 0x7f) | 0x80;
    default:
      return 0xff << 8;
    }
}

/* How many distinct filesystems one run de-duplicates; past that, later
 * filesystems are synced once per path (still correct, only slower). */
#define PSF_SYNCFS_MAX_DEVICES 4096

/* How many filesystems wait, opened, for their syncfs() at once. */
#define PSF_SYNCFS_MAX_PENDING 64

/* A filesystem the syncfs routine met: the fd it was opened with until it
 * is synced, then the errno of its syncfs() (0: synced). */
typedef struct
{
  uint64_t device;
  int      fd;
  int      error;
} PsfSyncfsTarget;

/* Syncs @n targets: sets ->error, closes ->fd. The routine's own version
 * calls syncfs() for one filesystem after another, which is all a fork of
 * an arbitrary host may do. A program where threads are safe (the helper
 * psf-child, and the forks of its single-threaded forkserver) installs one
 * that syncs them all at once, so that a slow filesystem does not add its
 * time to the others'. */
typedef void (*PsfSyncfsManyFunc) (PsfSyncfsTarget *targets,
                                   size_t           n);

void psf_syncfs_target_sync         (PsfSyncfsTarget   *target);
void psf_syncfs_child_set_sync_many (PsfSyncfsManyFunc  func);

/* A PsfSyncfsManyFunc for children where threads are not safe but a
 * process is (the forkserver's): every target but the first in a _Fork()ed
 * sub-child of its own, all at once. */
void psf_syncfs_sync_many_forked    (PsfSyncfsTarget   *targets,
                                     size_t             n);

/* A routine runnable by both start methods: gets the input bytes and the
 * report fd, returns the exit status. */
typedef int (*PsfChildRoutine) (const void *input,
                                size_t      input_len,
                                int         report_fd);

PsfChildRoutine psf_child_routine_lookup (const char *name);

int  psf_syncfs_child_run   (const void *input,
                             size_t      input_len,
                             int         report_fd);

/* Reports the child's identity as "key=value" lines (tests, debugging). */
int  psf_child_describe_run (const void *input,
                             size_t      input_len,
                             int         report_fd);

int  psf_child_write_all    (int         fd,
                             const void *data,
                             size_t      len);

/* Tells the parent on @report_fd that the helper could not run routine
 * @name: @call (PSF_CHILD_FAILED_*) failed with @error. Only routines whose
 * report is made of PsfSyncfsRecords get the record; for the others it
 * does nothing. */
void psf_child_routine_report_failure (const char *name,
                                       int         report_fd,
                                       int         call,
                                       int         error);

/* Parent-to-child set-up in a forked child: signals back to default and
 * unblocked; every fd from 3 up closed except the @n_keep in @keep (any
 * order), with one close_range() per gap between them (a loop where the
 * kernel has no close_range()). */
void psf_child_reset_signals (void);
void psf_child_close_fds_except (const int *keep,
                                 size_t     n_keep);

/* Closes @first..@last (inclusive): one close_range(), or a loop on a
 * kernel without it (ENOSYS; also on any other refusal, to be safe) that
 * stops at 65536: a host does not open fds that high. Async-signal-safe. */
void psf_child_close_range      (unsigned   first,
                                 unsigned   last);

/* What a forked child does, prepared entirely by the parent so that the
 * child only reads it. */
typedef struct
{
  int              report_fd;       /* write end, kept in the child */
  int              report_read_fd;  /* read end, closed in the child */
  const int       *source_fds;
  const int       *target_fds;
  size_t           n_fds;
  int             *scratch;         /* 2 * n_fds + 1 ints the child may use */
  int              close_fds;
  const char      *cwd;
  int              output_fd;       /* becomes stdout and stderr, or -1 */
  int              setup_fd;        /* setup channel (write end), or -1 */
  int              setup_read_fd;   /* its read end, closed in the child */
  const PsfChildSetup *setup;       /* applied when setup_fd >= 0 */

  /* exactly one of these runs */
  int            (*func) (int report_fd, void *data);
  void            *func_data;
  int            (*method) (void *instance, int report_fd);
  void            *instance;
  PsfChildRoutine  routine;
  const void      *input;
  size_t           input_len;
  const void      *input_owner;     /* what holds @input (a GBytes): never
                                     * read, but in memory, so that the
                                     * leak check valgrind runs at the exit
                                     * of a forked child sees it held */
} PsfForkChildSpec;

/* fork()s; the child runs @spec and _exit()s with its status. Returns the
 * pid, or -1 with errno set in the parent. */
pid_t psf_fork_child_start (const PsfForkChildSpec *spec);
