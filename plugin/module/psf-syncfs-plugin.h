/* psf-syncfs-plugin.h: the extension of the libpeas module psf-syncfs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libpeas/peas.h>
#include <psf.h>

G_BEGIN_DECLS

#define PSF_TYPE_SYNCFS_PLUGIN (psf_syncfs_plugin_get_type ())

G_DECLARE_FINAL_TYPE (PsfSyncfsPlugin, psf_syncfs_plugin, PSF, SYNCFS_PLUGIN, GObject)

/* The one symbol the module exports: libpeas looks it up by name. */
G_MODULE_EXPORT void peas_register_types (PeasObjectModule *module);

G_END_DECLS
