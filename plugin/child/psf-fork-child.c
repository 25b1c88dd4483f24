/* psf-fork-child.c: the forked child of the FORK start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY after fork(): the host may have other threads whose
 * locks were frozen mid-way by the fork, so the child calls only raw libc
 * (dup2, fcntl, chdir, close, close_range, write, sigaction) and ends with
 * _exit(): exit() would
 * run the host's atexit handlers and flush its stdio buffers a second time,
 * which in hosts like gjs or Python corrupts their output and state.
 * Everything the child needs was prepared by the parent in a
 * PsfForkChildSpec that the child only reads.
 */

#include "config.h"

#if HAVE_VALGRIND_H
# include <valgrind/valgrind.h>
#endif

#include <errno.h>
#include <unistd.h>

#include "psf-child-private.h"

#define CHILD_SETUP_FAILED 127

/* The channels of the plan. */
enum
{
  SETUP_CHANNEL,
  REPORT_CHANNEL,
  N_CHANNELS
};

static void __attribute__((noreturn))
run_child (const PsfForkChildSpec *spec,
           const PsfChildFdPlan   *plan)
{
  int *fds = spec->room;
  int *keep = spec->room + plan->n_slots;
  int report_fd;
  int setup_fd;
  int rc;

#if HAVE_VALGRIND_H
  /* A copy of the host holds the host's memory, half-made allocations of
   * its other threads included: a leak check at our _exit() would report
   * them as ours. (A client request: a few instructions, no call.) */
  if (RUNNING_ON_VALGRIND)
    VALGRIND_CLO_CHANGE ("--leak-check=no");
#endif

  psf_child_reset_signals ();
  close (spec->report_read_fd);
  if (spec->setup_read_fd >= 0)
    close (spec->setup_read_fd);

  /* A failure goes to the parent on the setup channel, which it reads
   * before start() returns. */
  if (psf_child_fds_apply (plan, fds) < 0)
    _exit (CHILD_SETUP_FAILED);
  report_fd = fds[REPORT_CHANNEL];
  setup_fd = fds[SETUP_CHANNEL];

  if (spec->cwd != NULL && chdir (spec->cwd) < 0)
    {
      psf_child_setup_fail (setup_fd, errno, "chdir", spec->cwd);
      _exit (CHILD_SETUP_FAILED);
    }

  /* Before the fds are closed: a child-setup function may use them, as
   * it may with g_spawn. */
  if (setup_fd >= 0)
    {
      if (spec->setup != NULL && psf_child_setup_apply (spec->setup, setup_fd) < 0)
        _exit (CHILD_SETUP_FAILED);
      /* EOF on the channel tells the parent the set-up is done. */
      close (setup_fd);
      fds[SETUP_CHANNEL] = -1;
    }

  /* Kept: the targets and the report channel. */
  if (spec->close_fds)
    psf_child_close_fds_except (keep, psf_child_fds_kept (plan, fds, keep));

  if (spec->func != NULL)
    rc = spec->func (report_fd, spec->func_data);
  else if (spec->routine != NULL)
    rc = spec->routine (spec->input, spec->input_len, report_fd);
  else
    rc = spec->method (spec->instance, report_fd);

  _exit (rc & 0xff);
}

pid_t
psf_fork_child_start (const PsfForkChildSpec *spec)
{
  PsfChildFdChannel channels[N_CHANNELS] = {
    [SETUP_CHANNEL] = { spec->setup_fd, PSF_CHILD_FD_ANYWHERE },
    [REPORT_CHANNEL] = { spec->report_fd, PSF_CHILD_FD_ANYWHERE },
  };
  PsfChildFds layout = {
    .channels = channels,
    .n_channels = N_CHANNELS,
    .error_channel = SETUP_CHANNEL,
    .output_fd = spec->output_fd,
    .source_fds = spec->source_fds,
    .target_fds = spec->target_fds,
    .n_maps = spec->n_fds,
    .min_floor = 3,
  };
  PsfChildFdPlan plan;
  pid_t pid;

  /* Checked here, in the parent: the child has only to follow it. */
  if (psf_child_fds_plan (&layout, &plan) < 0)
    {
      errno = EBADF;
      return -1;
    }

  pid = fork ();
  if (pid == 0)
    run_child (spec, &plan);

  return pid;
}
