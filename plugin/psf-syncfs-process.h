/* psf-syncfs-process.h: PsfSyncfsProcess, flush the filesystems of paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include "psf-fork-process.h"

G_BEGIN_DECLS

#define PSF_TYPE_SYNCFS_PROCESS (psf_syncfs_process_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PsfSyncfsProcess, psf_syncfs_process, PSF, SYNCFS_PROCESS, PsfForkProcess)

PSF_AVAILABLE_IN_ALL
PsfSyncfsProcess   *psf_syncfs_process_new               (const char * const *paths);
PSF_AVAILABLE_IN_ALL
const char * const *psf_syncfs_process_get_paths         (PsfSyncfsProcess   *self);
PSF_AVAILABLE_IN_ALL
void                psf_syncfs_process_set_paths         (PsfSyncfsProcess   *self,
                                                          const char * const *paths);
PSF_AVAILABLE_IN_ALL
gboolean            psf_syncfs_process_set_paths_bytes   (PsfSyncfsProcess   *self,
                                                          GBytes             *paths,
                                                          GError            **error);
PSF_AVAILABLE_IN_ALL
gboolean            psf_syncfs_process_get_sync_fallback (PsfSyncfsProcess   *self);
PSF_AVAILABLE_IN_ALL
void                psf_syncfs_process_set_sync_fallback (PsfSyncfsProcess   *self,
                                                          gboolean            sync_fallback);
PSF_AVAILABLE_IN_ALL
GPtrArray          *psf_syncfs_process_get_results       (PsfSyncfsProcess   *self);
PSF_AVAILABLE_IN_ALL
int                 psf_syncfs_process_get_n_filesystems (PsfSyncfsProcess   *self);

G_END_DECLS
