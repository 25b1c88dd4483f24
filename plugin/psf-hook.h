/* psf-hook.h: PsfHook, the interface a psf plugin gives its host
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

#define PSF_TYPE_HOOK (psf_hook_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (PsfHook, psf_hook, PSF, HOOK, GObject)

/**
 * PsfHookInterface:
 * @parent_iface: the parent interface
 * @run_async: starts the hook over @paths
 * @run_finish: completes a call to @run_async
 *
 * The virtual methods of [iface@Psf.Hook].
 *
 * Since: 1.0
 */
struct _PsfHookInterface
{
  GTypeInterface parent_iface;

  void       (*run_async)  (PsfHook             *self,
                            const char * const  *paths,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data);
  GPtrArray *(*run_finish) (PsfHook             *self,
                            GAsyncResult        *result,
                            GError             **error);
};

PSF_AVAILABLE_IN_ALL
void       psf_hook_run_async  (PsfHook             *self,
                                const char * const  *paths,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
PSF_AVAILABLE_IN_ALL
GPtrArray *psf_hook_run_finish (PsfHook             *self,
                                GAsyncResult        *result,
                                GError             **error);

G_END_DECLS
