/* psf-host.h: what a C host needs to find and load psf hooks with libpeas
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Host-side code, not part of libpsf: a package manager or build
 * orchestrator would carry these few functions itself. The Python
 * orchestrator example (orchestrator.py) does the same in Python.
 */

#pragma once

#include <libpeas/peas.h>
#include <psf.h>

G_BEGIN_DECLS

/* The plugin ABI this host speaks: a .plugin's X-Psf-ABI must equal it. */
#define PSF_HOST_PLUGIN_ABI "2"

#define PSF_HOST_ERROR (psf_host_error_quark ())

typedef enum
{
  PSF_HOST_ERROR_NO_PLUGIN_DIR,   /* the plugin folder does not exist */
  PSF_HOST_ERROR_ABI,             /* X-Psf-ABI is missing or not ours */
  PSF_HOST_ERROR_LOAD,            /* libpeas could not load the module */
  PSF_HOST_ERROR_NO_HOOK,         /* the module does not provide PsfHook */
} PsfHostError;

GQuark     psf_host_error_quark    (void);

gboolean   psf_host_add_plugin_dir (PeasEngine      *engine,
                                    const char      *plugin_dir,
                                    GError         **error);
gboolean   psf_host_check_abi      (PeasPluginInfo  *info,
                                    GError         **error);
PsfHook   *psf_host_create_hook    (PeasEngine      *engine,
                                    PeasPluginInfo  *info,
                                    GError         **error);
GPtrArray *psf_host_load_hooks     (PeasEngine      *engine,
                                    GPtrArray      **refusals);

G_END_DECLS
