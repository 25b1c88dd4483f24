/* psf-host.c: find and load psf hooks with libpeas, the host's side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "psf-host.h"

G_DEFINE_QUARK (psf-host-error-quark, psf_host_error)

/* Adds @plugin_dir to the folders @engine searches and rescans. libpeas
 * itself says nothing about a folder that does not exist (it just finds no
 * plugin there): a host that was told where its plugins are should say so. */
gboolean
psf_host_add_plugin_dir (PeasEngine  *engine,
                         const char  *plugin_dir,
                         GError     **error)
{
  g_return_val_if_fail (PEAS_IS_ENGINE (engine), FALSE);
  g_return_val_if_fail (plugin_dir != NULL, FALSE);

  if (!g_file_test (plugin_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_NO_PLUGIN_DIR,
                   "Plugin folder %s does not exist or is not a folder",
                   plugin_dir);
      return FALSE;
    }

  peas_engine_add_search_path (engine, plugin_dir, NULL);
  peas_engine_rescan_plugins (engine);
  return TRUE;
}

/* A psf plugin says which plugin ABI it was built for with X-Psf-ABI in
 * its .plugin (libpeas hands X- keys out as "external data"); a host must
 * not load one built for another ABI. */
gboolean
psf_host_check_abi (PeasPluginInfo  *info,
                    GError         **error)
{
  const char *abi;

  g_return_val_if_fail (info != NULL, FALSE);

  abi = peas_plugin_info_get_external_data (info, "Psf-ABI");
  if (abi == NULL)
    {
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_ABI,
                   "Plugin %s (%s) has no X-Psf-ABI key: not a psf plugin",
                   peas_plugin_info_get_module_name (info),
                   peas_plugin_info_get_module_dir (info));
      return FALSE;
    }

  if (g_strcmp0 (abi, PSF_HOST_PLUGIN_ABI) != 0)
    {
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_ABI,
                   "Plugin %s (%s) is built for psf plugin ABI %s, "
                   "this host speaks ABI %s: not loaded",
                   peas_plugin_info_get_module_name (info),
                   peas_plugin_info_get_module_dir (info),
                   abi, PSF_HOST_PLUGIN_ABI);
      return FALSE;
    }

  return TRUE;
}

/* Checks the ABI, loads the plugin and creates its PsfHook extension. */
PsfHook *
psf_host_create_hook (PeasEngine      *engine,
                      PeasPluginInfo  *info,
                      GError         **error)
{
  g_autoptr(GError) load_error = NULL;
  GObject *extension;

  g_return_val_if_fail (PEAS_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  if (!psf_host_check_abi (info, error))
    return NULL;

  if (!peas_engine_load_plugin (engine, info))
    {
      g_autofree char *module_file = g_module_build_path (peas_plugin_info_get_module_dir (info),
                                                          peas_plugin_info_get_module_name (info));

      /* libpeas's own error only says "Failed to load" (its warning has
       * the details): name the usual cause, a module file that is not
       * there, when that is it. */
      if (!g_file_test (module_file, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_LOAD,
                       "Plugin %s could not be loaded: its module file %s is missing",
                       peas_plugin_info_get_module_name (info), module_file);
          return NULL;
        }

      peas_plugin_info_is_available (info, &load_error);
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_LOAD,
                   "Plugin %s (%s) could not be loaded: %s",
                   peas_plugin_info_get_module_name (info),
                   peas_plugin_info_get_module_dir (info),
                   load_error != NULL ? load_error->message : "unknown error");
      return NULL;
    }

  if (!peas_engine_provides_extension (engine, info, PSF_TYPE_HOOK))
    {
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_NO_HOOK,
                   "Plugin %s (%s) does not provide PsfHook",
                   peas_plugin_info_get_module_name (info),
                   peas_plugin_info_get_module_dir (info));
      return NULL;
    }

  extension = peas_engine_create_extension_with_properties (engine, info,
                                                            PSF_TYPE_HOOK,
                                                            0, NULL, NULL);
  if (extension == NULL)
    {
      g_set_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_NO_HOOK,
                   "Plugin %s (%s) did not create its PsfHook",
                   peas_plugin_info_get_module_name (info),
                   peas_plugin_info_get_module_dir (info));
      return NULL;
    }

  return PSF_HOOK (extension);
}

/* Loads a PsfHook from every psf plugin @engine knows. Plugins without
 * X-Psf-ABI are not psf plugins and are passed over in silence; a psf
 * plugin that cannot be used is refused: its GError goes to @refusals
 * (when given) and the host goes on with the others.
 *
 * Returns: (transfer full) (element-type PsfHook): the hooks. */
GPtrArray *
psf_host_load_hooks (PeasEngine  *engine,
                     GPtrArray  **refusals)
{
  g_autoptr(GPtrArray) hooks = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (PEAS_IS_ENGINE (engine), NULL);

  if (refusals != NULL)
    *refusals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  for (const GList *l = peas_engine_get_plugin_list (engine); l != NULL; l = l->next)
    {
      PeasPluginInfo *info = l->data;
      g_autoptr(GError) error = NULL;
      PsfHook *hook;

      if (peas_plugin_info_get_external_data (info, "Psf-ABI") == NULL)
        continue;

      hook = psf_host_create_hook (engine, info, &error);
      if (hook != NULL)
        g_ptr_array_add (hooks, hook);
      else if (refusals != NULL)
        g_ptr_array_add (*refusals, g_steal_pointer (&error));
    }

  return g_steal_pointer (&hooks);
}
