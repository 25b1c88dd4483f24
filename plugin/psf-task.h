/* psf-task.h: PsfTask, the asynchronous task every psf process derives from
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include <gio/gio.h>

#include "psf-version-macros.h"

G_BEGIN_DECLS

/**
 * PSF_RETURNCODE_NONE:
 *
 * The value of [property@Psf.Task:returncode] while the task has not exited.
 * It cannot be an exit status or a negated signal number.
 *
 * Since: 1.0
 */
#define PSF_RETURNCODE_NONE (-2147483647 - 1)

/**
 * PSF_RETURNCODE_CANCELLED:
 *
 * The returncode of a task that was cancelled before it started: nothing was
 * run (Portage's `_cancelled_returncode`, `-SIGINT`).
 *
 * Since: 1.0
 */
#define PSF_RETURNCODE_CANCELLED (-2)

/**
 * PsfTaskState:
 * @PSF_TASK_STATE_NEW: not started yet
 * @PSF_TASK_STATE_RUNNING: started; the exit has not been observed yet
 * @PSF_TASK_STATE_EXITED: done; [property@Psf.Task:returncode] is set
 *
 * The lifecycle of a [class@Psf.Task]. It only moves forward.
 *
 * Since: 1.0
 */
typedef enum
{
  PSF_TASK_STATE_NEW,
  PSF_TASK_STATE_RUNNING,
  PSF_TASK_STATE_EXITED,
} PsfTaskState;

#define PSF_TYPE_TASK (psf_task_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PsfTask, psf_task, PSF, TASK, GObject)

/**
 * PsfTaskClass:
 * @parent_class: the parent class
 * @start: creates the work (the child process) synchronously; returns %FALSE
 *   and sets @error when it cannot. It must not emit signals.
 * @cancel: asks running work to stop; never blocks
 * @check: turns a finished task's outcome into a #GError for
 *   psf_task_wait_check_finish(); called only when the returncode is not 0
 * @started: class closure of [signal@Psf.Task::started]
 * @exited: class closure of [signal@Psf.Task::exited]
 *
 * The virtual methods of a [class@Psf.Task].
 *
 * Since: 1.0
 */

/**
 * PsfTaskClass::check:
 * @self: a #PsfTask
 * @error: return location for the #GError that says what failed
 *
 * Turns the outcome of a finished task whose returncode is not 0 into an
 * error for psf_task_wait_check_finish(). Subclasses say what failed (which
 * path, which errno); the default names the returncode.
 *
 * Since: 1.0
 */

/**
 * PsfTaskClass::started:
 * @self: a #PsfTask
 *
 * The class closure of [signal@Psf.Task::started]: a subclass overrides it
 * to act once the child runs.
 *
 * Since: 1.0
 */

/**
 * PsfTaskClass::exited:
 * @self: a #PsfTask
 * @returncode: the task's returncode
 *
 * The class closure of [signal@Psf.Task::exited]: a subclass overrides it
 * to act on the exit, with the returncode already set.
 *
 * Since: 1.0
 */
struct _PsfTaskClass
{
  GObjectClass parent_class;

  gboolean (*start)   (PsfTask  *self,
                       GError  **error);
  void     (*cancel)  (PsfTask  *self);
  void     (*check)   (PsfTask  *self,
                       GError  **error);

  void     (*started) (PsfTask  *self);
  void     (*exited)  (PsfTask  *self,
                       int       returncode);

  /*< private >*/
  gpointer _reserved[12];
};

PSF_AVAILABLE_IN_ALL
gboolean      psf_task_start             (PsfTask              *self,
                                          GError              **error);
PSF_AVAILABLE_IN_ALL
void          psf_task_cancel            (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
gboolean      psf_task_poll              (PsfTask              *self,
                                          int                  *returncode);
PSF_AVAILABLE_IN_ALL
gboolean      psf_task_is_alive          (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
int           psf_task_wait              (PsfTask              *self,
                                          GError              **error);
PSF_AVAILABLE_IN_ALL
void          psf_task_wait_async        (PsfTask              *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
PSF_AVAILABLE_IN_ALL
int           psf_task_wait_finish       (PsfTask              *self,
                                          GAsyncResult         *result,
                                          GError              **error);
PSF_AVAILABLE_IN_ALL
void          psf_task_wait_check_async  (PsfTask              *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
PSF_AVAILABLE_IN_ALL
gboolean      psf_task_wait_check_finish (PsfTask              *self,
                                          GAsyncResult         *result,
                                          GError              **error);
PSF_AVAILABLE_IN_ALL
PsfTaskState  psf_task_get_state         (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
int           psf_task_get_returncode    (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
gboolean      psf_task_get_cancelled     (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
gboolean      psf_task_get_background    (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
void          psf_task_set_background    (PsfTask              *self,
                                          gboolean              background);
PSF_AVAILABLE_IN_ALL
GMainContext *psf_task_get_context       (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
GCancellable *psf_task_get_cancellable   (PsfTask              *self);
PSF_AVAILABLE_IN_ALL
void          psf_task_set_cancellable   (PsfTask              *self,
                                          GCancellable         *cancellable);

G_END_DECLS
