/* psf-hook.c: PsfHook
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-hook.h"

/**
 * PsfHook:
 *
 * What a psf plugin gives a host that knows nothing of psf's process
 * classes: "make these paths durable", asynchronously.
 *
 * A package manager calls it after a merge, a build orchestrator after its
 * install or deploy stage. The `psf-syncfs` plugin implements it with a
 * [class@Psf.SyncfsProcess]; the result is one [class@Psf.SyncfsResult] per
 * input path, so the host can report what happened to each.
 *
 * A host reads the per-path results with psf_hook_get_results() from the
 * same #GAsyncResult it gives psf_hook_run_finish(), whether the run
 * succeeded or failed: a failed sync names the filesystem that failed, and
 * the paths on the other filesystems still say that they were synced. The
 * bindings need it as much as C does: an exception carries no return value
 * or out argument.
 *
 * The plugin ABI: a host loads a psf plugin only when the `X-Psf-ABI` key
 * of its `.plugin` file is the one the host was written for. This
 * interface is ABI 2 (ABI 1 had no `get_results`).
 *
 * Since: 1.0
 */

G_DEFINE_INTERFACE (PsfHook, psf_hook, G_TYPE_OBJECT)

static void
psf_hook_default_init (PsfHookInterface *iface)
{
}

/**
 * psf_hook_run_async:
 * @self: a #PsfHook
 * @paths: (array zero-terminated=1) (element-type filename): the paths that
 *   were written
 * @cancellable: (nullable): a #GCancellable; cancelling it stops the hook
 * @callback: (scope async): called when the hook is done
 * @user_data: (closure callback): data for @callback
 *
 * Runs the hook over @paths in the thread-default main context. Call
 * psf_hook_run_finish() from @callback.
 *
 * Since: 1.0
 */
void
psf_hook_run_async (PsfHook             *self,
                    const char * const  *paths,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_return_if_fail (PSF_IS_HOOK (self));
  g_return_if_fail (paths != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  PSF_HOOK_GET_IFACE (self)->run_async (self, paths, cancellable, callback, user_data);
}

/**
 * psf_hook_run_finish:
 * @self: a #PsfHook
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes psf_hook_run_async().
 *
 * Returns: (transfer container) (element-type PsfSyncfsResult): one result
 *   per input path, or %NULL with @error set when the hook failed. On a
 *   failure, psf_hook_get_results() still tells what happened to each path.
 *
 * Since: 1.0
 */
GPtrArray *
psf_hook_run_finish (PsfHook       *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (PSF_IS_HOOK (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return PSF_HOOK_GET_IFACE (self)->run_finish (self, result, error);
}

/**
 * psf_hook_get_results:
 * @self: a #PsfHook
 * @result: the #GAsyncResult given to the callback of psf_hook_run_async()
 *
 * Gets what the run of @result did to each path, whether it succeeded or
 * failed: one [class@Psf.SyncfsResult] per input path, in input order, with
 * %PSF_SYNCFS_STATUS_FAILED and the errno on the filesystems whose sync
 * failed. The array is empty when the run failed before any path was
 * looked at (its child could not be started, or it was cancelled before
 * it began), and before the run is done.
 *
 * It may be called before or after psf_hook_run_finish(), as often as
 * wanted; @result must be kept alive meanwhile.
 *
 * Returns: (transfer container) (element-type PsfSyncfsResult): the results
 *
 * Since: 1.0
 */
GPtrArray *
psf_hook_get_results (PsfHook      *self,
                      GAsyncResult *result)
{
  PsfHookInterface *iface;

  g_return_val_if_fail (PSF_IS_HOOK (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  iface = PSF_HOOK_GET_IFACE (self);
  /* An implementation that keeps no per-path records has nothing to say. */
  if (iface->get_results == NULL)
    return g_ptr_array_new_with_free_func (g_object_unref);

  return iface->get_results (self, result);
}
