/* psf-task-private.h: what subclasses inside libpsf-1 (and tests) use
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-task.h"

G_BEGIN_DECLS

/* Records the exit: emits ::started first if it is still pending, then sets
 * the returncode and state, emits ::exited and completes every waiter.
 * Must be called in the task's context. */
void          psf_task_return       (PsfTask *self,
                                     int      returncode);

/* TRUE when @self was started by another process, of which this one is a
 * fork (psf-fork-guard.c): its child, fds and server are that process's,
 * and nothing here may read, reap, signal or close them. */
/* Emits ::started now if it is still due (its idle has not run yet): for
 * a subclass that emits a signal of its own about the running child, which
 * must come after ::started. */
void          psf_task_emit_started (PsfTask *self);

gboolean      psf_task_is_inherited (PsfTask *self);

/* The fork generation the task was started in (psf_fork_guard_close_fd()). */
guint         psf_task_get_fork_generation (PsfTask *self);

/* The PSF_ERROR_INVALID_STATE of a call refused on an inherited task. */
void          psf_task_set_inherited_error (PsfTask  *self,
                                            GError  **error);

/* Adds @source to the task's context. */
void          psf_task_attach_source (PsfTask *self,
                                      GSource *source);

/* Gives @source the callback @func, called with a reference on the task
 * that goes with the source, and the static @name, then adds it to the
 * task's context. Returns @source, whose reference stays the caller's. */
GSource      *psf_task_attach_with_ref (PsfTask     *self,
                                        GSource     *source,
                                        GSourceFunc  func,
                                        const char  *name);

G_END_DECLS
