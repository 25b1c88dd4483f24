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

#include "psf-child-fds-private.h"
#include "psf-child-setup-private.h"
#include "psf-wire-child.h"
#include "psf-wire-report.h"

/* How many distinct filesystems one run de-duplicates; past that, later
 * filesystems are synced once per path (still correct, only slower). */
#define PSF_SYNCFS_MAX_DEVICES 4096

/* How many filesystems wait, opened, for their syncfs() at once. */
#define PSF_SYNCFS_MAX_PENDING 64

/* A filesystem the syncfs routine met: the fd it was opened with until it
 * is synced, then the errno of its syncfs() (0: synced).
 *
 * The record of the path it was opened by (@first_index) is written to
 * @report_fd (when >= 0) by whoever called syncfs() on it, as soon as that
 * returns, so the parent hears of each filesystem when it is done, not at
 * the end of the run. The record is one write() of one PsfSyncfsRecord,
 * smaller than PIPE_BUF, hence atomic on the report pipe: the threads and
 * sub-processes that sync targets at once may each write their own. */
typedef struct
{
  uint64_t device;
  int      fd;
  int      error;
  int      report_fd;     /* where the record goes, or -1: none */
  uint32_t first_index;   /* the input index of that record */
  int      fallback;      /* an ENOSYS counts as synced (sync() follows) */
  int      reported;      /* 1 once the record was written */
  int      report_error;  /* errno of its failed write(), or 0 */
} PsfSyncfsTarget;

/* Syncs @n targets: sets ->error, closes ->fd. The routine's own version
 * calls syncfs() for one filesystem after another, which is all a fork of
 * an arbitrary host may do. A program where threads are safe (the helper
 * psf-child, and the forks of its single-threaded forkserver) installs one
 * that syncs them all at once, so that a slow filesystem does not add its
 * time to the others'. */
typedef void (*PsfSyncfsManyFunc) (PsfSyncfsTarget *targets,
                                   size_t           n);

/* Calls syncfs() on @target (sets ->error, closes ->fd), then writes its
 * record (psf_syncfs_target_report()). */
void psf_syncfs_target_sync         (PsfSyncfsTarget   *target);
/* Writes the record of @target's first path to ->report_fd unless there is
 * none or it was written already; sets ->reported, or ->report_error. */
void psf_syncfs_target_report       (PsfSyncfsTarget   *target);
void psf_syncfs_child_set_sync_many (PsfSyncfsManyFunc  func);

/* A PsfSyncfsManyFunc for children where threads are not safe but a
 * process is (the forkserver's): every target but the first in a _Fork()ed
 * sub-child of its own, all at once. The sub-children die with the calling
 * process (a cancel ends them too), and one killed by a signal kills the
 * calling process with that signal, as a thread's crash would. */
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
 * child only reads it. Its fds are laid out by the one plan of
 * psf-child-fds-private.h: the set-up channel (where a failure is said)
 * and the report channel wherever they land, the output on stdout and
 * stderr, then the fd map. */
typedef struct
{
  int              report_fd;       /* write end, kept in the child */
  int              report_read_fd;  /* read end, closed in the child */
  const int       *source_fds;
  const int       *target_fds;
  size_t           n_fds;
  int             *room;            /* PSF_FORK_CHILD_ROOM (n_fds) ints
                                     * the child may use */
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

/* The room a FORK child needs for an fd map of @n_fds: the fd of each
 * slot of its plan (two channels, the output, the sources), then the fds
 * it keeps (the targets, the report channel, the set-up channel). */
#define PSF_FORK_CHILD_ROOM(n_fds) (2 * (size_t) (n_fds) + 5)

/* fork()s; the child runs @spec and _exit()s with its status. Returns the
 * pid, or -1 with errno set in the parent (EBADF: an fd map with a
 * negative fd). */
pid_t psf_fork_child_start (const PsfForkChildSpec *spec);
