/* psf-syncfs-plugin.c: the libpeas module psf-syncfs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A host that knows nothing of psf's process classes loads this module with
 * a PeasEngine, asks for an extension of PsfHook and calls
 * psf_hook_run_async() after it has written files (a package manager after
 * a merge, a build orchestrator after install or deploy). The extension runs
 * one PsfSyncfsProcess per call, kept as the GTask's data so that
 * psf_hook_get_results() reads its per-path records whether the run
 * succeeded or failed, configured from its own properties:
 *
 *   timeout        ms before the child is cancelled (0: none), the process's
 *                  PsfSubprocess:timeout
 *   sync-fallback  call sync() where syncfs() does not exist
 *
 * The type also implements PeasActivatable, so a generic host that only
 * activates every plugin it finds (a PeasExtensionSet of PeasActivatable)
 * can load it; activating it does nothing, the work is done on request.
 *
 * The type is dynamic (registered on the PeasObjectModule, a GTypeModule)
 * and the module exports one symbol, peas_register_types(): it is built
 * with hidden visibility and uses only the public <psf.h>.
 */

#include "psf-syncfs-plugin.h"

struct _PsfSyncfsPlugin
{
  GObject   parent_instance;
  GObject  *object;          /* PeasActivatable:object, not used */
  guint     timeout;
  guint     sync_fallback : 1;
};

enum {
  PROP_0,
  PROP_TIMEOUT,
  PROP_SYNC_FALLBACK,
  N_PROPS,

  /* overridden from PeasActivatable */
  PROP_OBJECT = N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void psf_syncfs_plugin_hook_iface_init        (PsfHookInterface         *iface);
static void psf_syncfs_plugin_activatable_iface_init (PeasActivatableInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (PsfSyncfsPlugin, psf_syncfs_plugin, G_TYPE_OBJECT,
                                G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (PSF_TYPE_HOOK,
                                                               psf_syncfs_plugin_hook_iface_init)
                                G_IMPLEMENT_INTERFACE_DYNAMIC (PEAS_TYPE_ACTIVATABLE,
                                                               psf_syncfs_plugin_activatable_iface_init))

/* PsfHook */

/* The results of @process with a reference of their own on each object, so
 * that the array outlives the process; empty before the process exited. */
static GPtrArray *
psf_syncfs_plugin_copy_results (PsfSyncfsProcess *process)
{
  g_autoptr(GPtrArray) borrowed = NULL;
  GPtrArray *results;

  if (psf_task_get_state (PSF_TASK (process)) != PSF_TASK_STATE_EXITED)
    return g_ptr_array_new_with_free_func (g_object_unref);

  borrowed = psf_syncfs_process_get_results (process);
  results = g_ptr_array_new_full (borrowed->len, g_object_unref);
  for (guint i = 0; i < borrowed->len; i++)
    g_ptr_array_add (results, g_object_ref (g_ptr_array_index (borrowed, i)));
  return results;
}

static void
psf_syncfs_plugin_process_done_cb (GObject      *source,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  PsfSyncfsProcess *process = PSF_SYNCFS_PROCESS (source);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* Either way the process stays the task's data, so that get_results()
   * can read its per-path records after a failure too. */
  if (!psf_task_wait_check_finish (PSF_TASK (process), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, psf_syncfs_plugin_copy_results (process),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
psf_syncfs_plugin_run_async (PsfHook             *hook,
                             const char * const  *paths,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PsfSyncfsPlugin *self = PSF_SYNCFS_PLUGIN (hook);
  g_autoptr(PsfSyncfsProcess) process = NULL;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, psf_syncfs_plugin_run_async);

  process = psf_syncfs_process_new (paths);
  psf_subprocess_set_timeout (PSF_SUBPROCESS (process), self->timeout);
  psf_syncfs_process_set_sync_fallback (process, self->sync_fallback);
  /* The hook's cancellable is the task's: cancelling it stops the child
   * (SIGTERM, then SIGKILL), and the wait below still sees it reaped. */
  if (cancellable != NULL)
    psf_task_set_cancellable (PSF_TASK (process), cancellable);

  g_task_set_task_data (task, g_object_ref (process), g_object_unref);

  if (!psf_task_start (PSF_TASK (process), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  psf_task_wait_check_async (PSF_TASK (process), NULL,
                             psf_syncfs_plugin_process_done_cb,
                             g_steal_pointer (&task));
}

static GPtrArray *
psf_syncfs_plugin_run_finish (PsfHook       *hook,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, hook), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == psf_syncfs_plugin_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static GPtrArray *
psf_syncfs_plugin_get_results (PsfHook      *hook,
                               GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, hook), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == psf_syncfs_plugin_run_async, NULL);

  return psf_syncfs_plugin_copy_results (g_task_get_task_data (G_TASK (result)));
}

static void
psf_syncfs_plugin_hook_iface_init (PsfHookInterface *iface)
{
  iface->run_async = psf_syncfs_plugin_run_async;
  iface->run_finish = psf_syncfs_plugin_run_finish;
  iface->get_results = psf_syncfs_plugin_get_results;
}

/* PeasActivatable: nothing to set up, the hook works on request. */

static void
psf_syncfs_plugin_activate (PeasActivatable *activatable)
{
  g_debug ("psf-syncfs plugin activated");
}

static void
psf_syncfs_plugin_deactivate (PeasActivatable *activatable)
{
  g_debug ("psf-syncfs plugin deactivated");
}

static void
psf_syncfs_plugin_update_state (PeasActivatable *activatable)
{
}

static void
psf_syncfs_plugin_activatable_iface_init (PeasActivatableInterface *iface)
{
  iface->activate = psf_syncfs_plugin_activate;
  iface->deactivate = psf_syncfs_plugin_deactivate;
  iface->update_state = psf_syncfs_plugin_update_state;
}

/* GObject */

static void
psf_syncfs_plugin_dispose (GObject *object)
{
  PsfSyncfsPlugin *self = PSF_SYNCFS_PLUGIN (object);

  g_clear_object (&self->object);

  G_OBJECT_CLASS (psf_syncfs_plugin_parent_class)->dispose (object);
}

static void
psf_syncfs_plugin_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PsfSyncfsPlugin *self = PSF_SYNCFS_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;

    case PROP_SYNC_FALLBACK:
      g_value_set_boolean (value, self->sync_fallback);
      break;

    case PROP_OBJECT:
      g_value_set_object (value, self->object);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_syncfs_plugin_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  PsfSyncfsPlugin *self = PSF_SYNCFS_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_TIMEOUT:
      if (self->timeout != g_value_get_uint (value))
        {
          self->timeout = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_SYNC_FALLBACK:
      if (self->sync_fallback != (guint) !!g_value_get_boolean (value))
        {
          self->sync_fallback = !!g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_OBJECT:
      g_set_object (&self->object, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_syncfs_plugin_class_init (PsfSyncfsPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = psf_syncfs_plugin_dispose;
  object_class->get_property = psf_syncfs_plugin_get_property;
  object_class->set_property = psf_syncfs_plugin_set_property;

  /* PsfSyncfsPlugin:timeout: milliseconds a run may take before its child
   * is cancelled and the run fails with PSF_ERROR_TIMED_OUT; 0 for none. */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /* PsfSyncfsPlugin:sync-fallback: call sync() when syncfs() does not
   * exist, instead of failing. */
  properties[PROP_SYNC_FALLBACK] =
    g_param_spec_boolean ("sync-fallback", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_object_class_override_property (object_class, PROP_OBJECT, "object");
}

static void
psf_syncfs_plugin_class_finalize (PsfSyncfsPluginClass *klass)
{
}

static void
psf_syncfs_plugin_init (PsfSyncfsPlugin *self)
{
}

/* Called by libpeas when it loads the module: registers the dynamic type
 * on @module and offers it for both interfaces. */
G_MODULE_EXPORT void
peas_register_types (PeasObjectModule *module)
{
  psf_syncfs_plugin_register_type (G_TYPE_MODULE (module));

  peas_object_module_register_extension_type (module,
                                              PSF_TYPE_HOOK,
                                              PSF_TYPE_SYNCFS_PLUGIN);
  peas_object_module_register_extension_type (module,
                                              PEAS_TYPE_ACTIVATABLE,
                                              PSF_TYPE_SYNCFS_PLUGIN);
}
