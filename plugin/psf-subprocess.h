/* psf-subprocess.h: PsfSubprocess, a task backed by one child process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include "psf-task.h"

G_BEGIN_DECLS

#define PSF_TYPE_SUBPROCESS (psf_subprocess_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PsfSubprocess, psf_subprocess, PSF, SUBPROCESS, PsfTask)

/**
 * PsfSubprocessClass:
 * @parent_class: the parent class
 * @reaped: called in the task's context once the child has been reaped, with
 *   the returncode made from its wait status; subclasses that must finish
 *   reading from the child chain up when they are done
 *
 * The virtual methods of a [class@Psf.Subprocess].
 *
 * Since: 1.0
 */

/**
 * PsfSubprocessClass::reaped:
 * @self: a #PsfSubprocess
 * @returncode: the returncode made from the child's wait status
 *
 * Called in the task's context once the child has been reaped. A subclass
 * that still has to read what the child wrote chains up when it is done;
 * chaining up records the exit.
 *
 * Since: 1.0
 */
struct _PsfSubprocessClass
{
  PsfTaskClass parent_class;

  void (*reaped) (PsfSubprocess *self,
                  int            returncode);

  /*< private >*/
  gpointer _reserved[8];
};

PSF_AVAILABLE_IN_ALL
GPid     psf_subprocess_get_pid            (PsfSubprocess  *self);
PSF_AVAILABLE_IN_ALL
gboolean psf_subprocess_send_signal        (PsfSubprocess  *self,
                                            int             signum,
                                            GError        **error);
PSF_AVAILABLE_IN_ALL
guint    psf_subprocess_get_cancel_timeout (PsfSubprocess  *self);
PSF_AVAILABLE_IN_ALL
void     psf_subprocess_set_cancel_timeout (PsfSubprocess  *self,
                                            guint           cancel_timeout_ms);
PSF_AVAILABLE_IN_ALL
guint    psf_subprocess_get_timeout        (PsfSubprocess  *self);
PSF_AVAILABLE_IN_ALL
void     psf_subprocess_set_timeout        (PsfSubprocess  *self,
                                            guint           timeout_ms);
PSF_AVAILABLE_IN_ALL
gboolean psf_subprocess_get_timed_out      (PsfSubprocess  *self);

G_END_DECLS
