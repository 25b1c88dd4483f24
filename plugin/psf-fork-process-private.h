/* psf-fork-process-private.h: internals of PsfForkProcess
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-child-private.h"
#include "psf-fork-process.h"

G_BEGIN_DECLS

/* Gives the PsfForkProcess subclass @klass a built-in routine; for its
 * class_init only. @name is what the helper psf-child runs (SPAWN,
 * FORKSERVER: it must be built into the helper); @fork_routine is the same
 * routine, run in the forked copy of the host (FORK). Exported for the
 * tests, whose helper has routines of its own; not public API. */
PSF_AVAILABLE_IN_ALL
void        psf_fork_process_class_set_routine (PsfForkProcessClass *klass,
                                                const char          *name,
                                                PsfChildRoutine      fork_routine);

/* The largest report a parent keeps; the rest is read and dropped. */
#define PSF_FORK_PROCESS_MAX_REPORT (64u * 1024u * 1024u)

/* Called from ->prepare: the routine writes at most @bytes to the report
 * channel (0: no bound known, the default). A bound of at most PIPE_BUF
 * always fits the pipe (no pipe holds less), so the channel of a short
 * task is read once at the reap instead of being watched. Lasts until
 * changed. */
void psf_fork_process_set_report_bound  (PsfForkProcess *self,
                                         gsize           bytes);

/* Called in the task's context each time bytes arrive on the report
 * channel while the child runs, with the whole report so far: @len only
 * grows from one call to the next, and the bytes given before stay as they
 * were. The last bytes may only come at the reap, which gives ->report the
 * whole report as ever: a subclass that decodes as the bytes come decodes
 * there only what it has not seen. A channel read only at the reap (see
 * psf_fork_process_set_report_bound()) never calls it. */
typedef void (*PsfForkProcessReportArrived) (PsfForkProcess *self,
                                             const guint8   *report,
                                             gsize           len);

/* For the subclass's init: sets the function called as the report arrives
 * (NULL: none, the default). */
void psf_fork_process_set_report_arrived (PsfForkProcess              *self,
                                          PsfForkProcessReportArrived  func);

/* Called from ->report: the report lacks what the routine always sends (a
 * record per path). A child that exited 0 then gives the task the
 * returncode PSF_CHILD_EXIT_REPORT (psf-child-private.h), as does one
 * whose report could not be read: wait_check fails. */
void psf_fork_process_report_incomplete (PsfForkProcess *self);

/* The start method for a routine built into the helper: FORKSERVER, whose
 * cost does not grow with the host's size and is the lowest, or SPAWN on
 * a system where the forkserver cannot run. */
PsfStartMethod psf_fork_process_helper_start_method (void);

G_END_DECLS
