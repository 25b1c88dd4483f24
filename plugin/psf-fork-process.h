/* psf-fork-process.h: PsfForkProcess, a subprocess that runs a child routine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include "psf-spawn-process.h"

G_BEGIN_DECLS

/**
 * PsfStartMethod:
 * @PSF_START_METHOD_FORK: fork() the host and run the routine in the copy;
 *   the only method that can run an arbitrary C function. Its cost grows
 *   with the host's resident memory.
 * @PSF_START_METHOD_SPAWN: posix_spawn() the small helper program `psf-child`,
 *   which runs a routine built into it; the cost does not depend on the
 *   host, and the child is a fresh image.
 * @PSF_START_METHOD_FORKSERVER: ask a small long-lived server (`psf-child`
 *   in server mode, started on first use, gone with the host) to fork a
 *   child that runs a routine built into it: neither a copy of the host nor
 *   an exec per task, so the fastest method whatever the host's size. The
 *   server relays the child's exit; one that died is restarted and
 *   reported. Environment, cwd, stdio, fds and the set-up options are the
 *   task's; resource limits and loaded libraries are the server's.
 *
 * How a [class@Psf.ForkProcess] creates its child, the way Portage's
 * ForkProcess rides on the start methods of Python's multiprocessing.
 *
 * Since: 1.0
 */
typedef enum
{
  PSF_START_METHOD_FORK,
  PSF_START_METHOD_SPAWN,
  PSF_START_METHOD_FORKSERVER,
} PsfStartMethod;

#define PSF_TYPE_FORK_PROCESS (psf_fork_process_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PsfForkProcess, psf_fork_process, PSF, FORK_PROCESS, PsfSpawnProcess)

/**
 * PsfForkFunc: (skip)
 * @report_fd: the write end of the report channel; bytes written to it are
 *   given back by psf_fork_process_get_report() in the parent
 * @user_data: the data given with the function
 *
 * A routine run in a forked child. It runs between fork() and _exit(): it
 * may only call async-signal-safe functions (no malloc, no GLib, no locks).
 *
 * Returns: the child's exit status (0-255)
 *
 * Since: 1.0
 */
typedef int (*PsfForkFunc) (int      report_fd,
                            gpointer user_data);

/**
 * PsfForkProcessClass:
 * @parent_class: the parent class
 * @run: the child routine when no #PsfForkFunc was given; runs in the forked
 *   child under the same async-signal-safe rules as #PsfForkFunc. Bindings
 *   cannot override it.
 * @prepare: parent side, called by start() before the child is created:
 *   returns the input bytes the child routine gets (%NULL for none)
 * @report: parent side, called in the task's context with every byte the
 *   child wrote on the report channel, after it was reaped and before
 *   [signal@Psf.Task::exited]
 *
 * The virtual methods of a [class@Psf.ForkProcess].
 *
 * Since: 1.0
 */

/**
 * PsfForkProcessClass::run: (skip)
 * @self: a #PsfForkProcess
 * @report_fd: the write end of the report channel
 *
 * The child routine of a subclass, run in the forked child between fork()
 * and _exit() with only async-signal-safe calls. It is not introspectable:
 * an interpreter must never run in a forked child, so a binding cannot
 * override it and such a subclass is refused by start().
 *
 * Returns: the child's exit status (0-255)
 *
 * Since: 1.0
 */

/**
 * PsfForkProcessClass::prepare:
 * @self: a #PsfForkProcess
 * @error: return location for a #GError
 *
 * Called on the parent side by start(), before the child is created: gives
 * the bytes the child routine gets as its input. An error here fails
 * start() and nothing is created.
 *
 * Returns: (transfer full) (nullable): the routine's input, or %NULL for
 *   none (and when @error is set)
 *
 * Since: 1.0
 */

/**
 * PsfForkProcessClass::report:
 * @self: a #PsfForkProcess
 * @report: every byte the child wrote on its report channel
 *
 * Called on the parent side, in the task's context, once the child was
 * reaped and its report channel drained, before [signal@Psf.Task::exited]:
 * a subclass decodes what its routine reported.
 *
 * Since: 1.0
 */

struct _PsfForkProcessClass
{
  PsfSpawnProcessClass parent_class;

  int      (*run)     (PsfForkProcess  *self,
                       int              report_fd);
  GBytes  *(*prepare) (PsfForkProcess  *self,
                       GError         **error);
  void     (*report)  (PsfForkProcess  *self,
                       GBytes          *report);

  /*< private >*/
  const char *routine;
  gpointer _reserved[8];
};

PSF_AVAILABLE_IN_ALL
PsfForkProcess *psf_fork_process_new_with_func    (PsfForkFunc      func,
                                                   gpointer         user_data,
                                                   GDestroyNotify   destroy);
PSF_AVAILABLE_IN_ALL
PsfStartMethod  psf_fork_process_get_start_method (PsfForkProcess  *self);
PSF_AVAILABLE_IN_ALL
void            psf_fork_process_set_start_method (PsfForkProcess  *self,
                                                   PsfStartMethod   start_method);
PSF_AVAILABLE_IN_ALL
GBytes         *psf_fork_process_get_report       (PsfForkProcess  *self);

G_END_DECLS
