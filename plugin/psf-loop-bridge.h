/* psf-loop-bridge.h: PsfLoopBridge, a GMainContext driven by another loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include <gio/gio.h>

#include "psf-task.h"
#include "psf-version-macros.h"

G_BEGIN_DECLS

#define PSF_TYPE_LOOP_BRIDGE (psf_loop_bridge_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PsfLoopBridge, psf_loop_bridge, PSF, LOOP_BRIDGE, GObject)

PSF_AVAILABLE_IN_ALL
PsfLoopBridge *psf_loop_bridge_new         (GMainContext   *context);
PSF_AVAILABLE_IN_ALL
GMainContext  *psf_loop_bridge_get_context (PsfLoopBridge  *self);
PSF_AVAILABLE_IN_ALL
gboolean       psf_loop_bridge_start_task  (PsfLoopBridge  *self,
                                            PsfTask        *task,
                                            GError        **error);
PSF_AVAILABLE_IN_ALL
int            psf_loop_bridge_prepare     (PsfLoopBridge  *self,
                                            GError        **error);
PSF_AVAILABLE_IN_ALL
guint          psf_loop_bridge_get_n_fds   (PsfLoopBridge  *self);
PSF_AVAILABLE_IN_ALL
int            psf_loop_bridge_get_fd      (PsfLoopBridge  *self,
                                            guint           index);
PSF_AVAILABLE_IN_ALL
GIOCondition   psf_loop_bridge_get_events  (PsfLoopBridge  *self,
                                            guint           index);
PSF_AVAILABLE_IN_ALL
gboolean       psf_loop_bridge_dispatch    (PsfLoopBridge  *self,
                                            const int      *revents,
                                            gsize           n_revents,
                                            GError        **error);

G_END_DECLS
