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
 * @get_results: the per-path results of a run, whether it failed or not
 *
 * The virtual methods of [iface@Psf.Hook].
 *
 * Since psf plugin ABI 2 (`X-Psf-ABI=2` in a plugin's `.plugin` file) an
 * implementation fills @get_results too.
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
  GPtrArray *(*get_results) (PsfHook            *self,
                             GAsyncResult       *result);
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
PSF_AVAILABLE_IN_ALL
GPtrArray *psf_hook_get_results (PsfHook            *self,
                                 GAsyncResult       *result);

G_END_DECLS
