/* psf-wire-child.h: the child's ABI: where it finds its channels, and
 * what its exit status means
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib-free: read by the child (plugin/child), the helper (plugin/helper)
 * and the host (plugin/launch, the process types).
 */

#pragma once

#include <signal.h>
#include <sys/wait.h>

/* The fds the helper psf-child finds its channels on. */
#define PSF_CHILD_REPORT_FD 3
#define PSF_CHILD_INPUT_FD  4

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
