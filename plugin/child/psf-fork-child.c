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
#include <fcntl.h>
#include <unistd.h>

#include "psf-child-private.h"

#define CHILD_SETUP_FAILED 127

/* Gives psf's own fd *@fd a number at or above @floor, closing the old one
 * (the setup channel must have no other copy in the child, or the parent
 * would not see its EOF). */
static int
move_own_fd (int *fd,
             int  floor)
{
  int moved;

  if (*fd < 0 || *fd >= floor)
    return 0;
  moved = fcntl (*fd, F_DUPFD_CLOEXEC, floor);
  if (moved < 0)
    return -1;
  close (*fd);
  *fd = moved;
  return 0;
}

/* The set-up of the child's fds, as GLib's g_spawn does it: first every fd
 * it reads from (its own channels and the sources of the fd map) goes above
 * the highest target, so that no dup2() onto a target replaces one it still
 * needs; then stdout/stderr, then the fd map (which wins, as with g_spawn).
 * A failure goes to the parent on the setup channel, which it reads before
 * start() returns. @sources is room for the sources as moved. */
static int
apply_fds (const PsfForkChildSpec *spec,
           int                    *report_fd,
           int                    *setup_fd,
           int                    *output_fd,
           int                    *sources)
{
  int floor = 3;

  for (size_t i = 0; i < spec->n_fds; i++)
    if (spec->target_fds[i] >= floor)
      floor = spec->target_fds[i] + 1;

  if (move_own_fd (setup_fd, floor) < 0)
    return psf_child_setup_fail_fds (*setup_fd, errno, "fcntl", *setup_fd, floor);
  if (move_own_fd (report_fd, floor) < 0)
    return psf_child_setup_fail_fds (*setup_fd, errno, "fcntl", *report_fd, floor);
  if (move_own_fd (output_fd, floor) < 0)
    return psf_child_setup_fail_fds (*setup_fd, errno, "fcntl", *output_fd, floor);

  /* The caller's sources keep their numbers too (their own copies). */
  for (size_t i = 0; i < spec->n_fds; i++)
    {
      sources[i] = spec->source_fds[i];
      if (sources[i] < floor &&
          (sources[i] = fcntl (spec->source_fds[i], F_DUPFD_CLOEXEC, floor)) < 0)
        return psf_child_setup_fail_fds (*setup_fd, errno, "fcntl",
                                         spec->source_fds[i], floor);
    }

  if (*output_fd >= 0)
    {
      if (dup2 (*output_fd, STDOUT_FILENO) < 0)
        return psf_child_setup_fail_fds (*setup_fd, errno, "dup2", *output_fd, STDOUT_FILENO);
      if (dup2 (*output_fd, STDERR_FILENO) < 0)
        return psf_child_setup_fail_fds (*setup_fd, errno, "dup2", *output_fd, STDERR_FILENO);
      close (*output_fd);
      *output_fd = -1;
    }
  /* Every source is above every target now: no dup2() meets its own. */
  for (size_t i = 0; i < spec->n_fds; i++)
    if (dup2 (sources[i], spec->target_fds[i]) < 0)
      return psf_child_setup_fail_fds (*setup_fd, errno, "dup2",
                                       spec->source_fds[i], spec->target_fds[i]);

  /* The copies made above: the targets have them now. */
  for (size_t i = 0; i < spec->n_fds; i++)
    if (sources[i] != spec->source_fds[i])
      close (sources[i]);
  return 0;
}

static void __attribute__((noreturn))
run_child (const PsfForkChildSpec *spec)
{
  int report_fd = spec->report_fd;
  int setup_fd = spec->setup_fd;
  int output_fd = spec->output_fd;
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

  if (apply_fds (spec, &report_fd, &setup_fd, &output_fd, spec->scratch) < 0)
    _exit (CHILD_SETUP_FAILED);

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
    }

  if (spec->close_fds)
    {
      /* The targets, then the report channel: scratch[n_fds..2 n_fds]. */
      int *keep = spec->scratch + spec->n_fds;

      for (size_t i = 0; i < spec->n_fds; i++)
        keep[i] = spec->target_fds[i];
      keep[spec->n_fds] = report_fd;
      psf_child_close_fds_except (keep, spec->n_fds + 1);
    }

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
  pid_t pid = fork ();

  if (pid == 0)
    run_child (spec);

  return pid;
}
