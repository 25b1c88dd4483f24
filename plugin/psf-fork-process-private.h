/* psf-fork-process-private.h: internals of PsfForkProcess
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-fork-process.h"

G_BEGIN_DECLS

/* Where the SPAWN method looks for its helper: $PSF_CHILD_PATH (set by
 * `meson devenv` and the tests), else the installed one. */
const char *psf_fork_process_get_helper_path (void);

/* The largest report a parent keeps; the rest is read and dropped. */
#define PSF_FORK_PROCESS_MAX_REPORT (64u * 1024u * 1024u)

/* Called from ->prepare: the routine writes at most @bytes to the report
 * channel (0: no bound known, the default). A bound of at most PIPE_BUF
 * always fits the pipe (no pipe holds less), so the channel of a short
 * task is read once at the reap instead of being watched. Lasts until
 * changed. */
void psf_fork_process_set_report_bound  (PsfForkProcess *self,
                                         gsize           bytes);

/* Called from ->report: the report lacks what the routine always sends (a
 * record per path). A child that exited 0 then gives the task the
 * returncode PSF_CHILD_EXIT_REPORT (psf-child-private.h), as does one
 * whose report could not be read: wait_check fails. */
void psf_fork_process_report_incomplete (PsfForkProcess *self);

G_END_DECLS
