/* psf-fork-child.c: the forked child of the FORK start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY after fork(): the host may have other threads whose
 * locks were frozen mid-way by the fork, so the child calls only raw libc
 * (dup2, fcntl, chdir, close, sigaction) and ends with _exit(): exit() would
 * run the host's atexit handlers and flush its stdio buffers a second time,
 * which in hosts like gjs or Python corrupts their output and state.
 * Everything the child needs was prepared by the parent in a
 * PsfForkChildSpec that the child only reads.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "psf-child-private.h"

#define CHILD_SETUP_FAILED 127

static int
apply_fd_map (const PsfForkChildSpec *spec)
{
  for (size_t i = 0; i < spec->n_fds; i++)
    {
      int source = spec->source_fds[i];
      int target = spec->target_fds[i];

      if (source == target)
        {
          int flags = fcntl (source, F_GETFD);

          if (flags < 0 || fcntl (source, F_SETFD, flags & ~FD_CLOEXEC) < 0)
            return -1;
        }
      else if (dup2 (source, target) < 0)
        return -1;
    }
  return 0;
}

static void __attribute__((noreturn))
run_child (const PsfForkChildSpec *spec)
{
  int rc;

  psf_child_reset_signals ();
  close (spec->report_read_fd);

  if (spec->output_fd >= 0 &&
      (dup2 (spec->output_fd, STDOUT_FILENO) < 0 || dup2 (spec->output_fd, STDERR_FILENO) < 0))
    _exit (CHILD_SETUP_FAILED);

  if (apply_fd_map (spec) < 0)
    _exit (CHILD_SETUP_FAILED);

  if (spec->cwd != NULL && chdir (spec->cwd) < 0)
    _exit (CHILD_SETUP_FAILED);

  /* Before the fds are closed: a child-setup function may use them, as
   * it may with g_spawn. */
  if (spec->setup_fd >= 0)
    {
      if (psf_child_setup_apply (spec->setup, spec->setup_fd) < 0)
        _exit (CHILD_SETUP_FAILED);
      /* EOF on the channel tells the parent the set-up is done. */
      close (spec->setup_fd);
    }

  if (spec->close_fds)
    {
      int keep[64];
      size_t n_keep = 0;

      keep[n_keep++] = spec->report_fd;
      for (size_t i = 0; i < spec->n_fds && n_keep < 64; i++)
        keep[n_keep++] = spec->target_fds[i];
      psf_child_close_fds_except (keep, n_keep);
    }

  if (spec->func != NULL)
    rc = spec->func (spec->report_fd, spec->func_data);
  else if (spec->routine != NULL)
    rc = spec->routine (spec->input, spec->input_len, spec->report_fd);
  else
    rc = spec->method (spec->instance, spec->report_fd);

  _exit (rc & 0xff);
}

pid_t
psf_fork_child_start (const PsfForkChildSpec *spec)
{
  pid_t pid = fork ();

  if (pid == 0)
    run_child (spec);

  return pid;
}
