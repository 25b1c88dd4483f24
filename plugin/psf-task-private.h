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
