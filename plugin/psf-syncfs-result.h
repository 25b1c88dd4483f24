/* psf-syncfs-result.h: the outcome of one path of a PsfSyncfsProcess
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include <glib-object.h>

#include "psf-version-macros.h"

G_BEGIN_DECLS

/**
 * PsfSyncfsStatus:
 * @PSF_SYNCFS_STATUS_SYNCED: syncfs() was called on this path's filesystem
 *   and succeeded
 * @PSF_SYNCFS_STATUS_DUPLICATE: an earlier path is on the same filesystem,
 *   which was synced once for both
 * @PSF_SYNCFS_STATUS_SKIPPED: the path could not be looked at or opened
 *   (the errno says why); Portage skips such paths silently
 * @PSF_SYNCFS_STATUS_FAILED: syncfs() failed on this path's filesystem (the
 *   errno says why), or is not available
 *
 * What happened to one input path of a [class@Psf.SyncfsProcess].
 *
 * Since: 1.0
 */
typedef enum
{
  PSF_SYNCFS_STATUS_SYNCED,
  PSF_SYNCFS_STATUS_DUPLICATE,
  PSF_SYNCFS_STATUS_SKIPPED,
  PSF_SYNCFS_STATUS_FAILED,
} PsfSyncfsStatus;

#define PSF_TYPE_SYNCFS_RESULT (psf_syncfs_result_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PsfSyncfsResult, psf_syncfs_result, PSF, SYNCFS_RESULT, GObject)

PSF_AVAILABLE_IN_ALL
const char      *psf_syncfs_result_get_path   (PsfSyncfsResult *self);
PSF_AVAILABLE_IN_ALL
GBytes          *psf_syncfs_result_get_path_bytes (PsfSyncfsResult *self);
PSF_AVAILABLE_IN_ALL
PsfSyncfsStatus  psf_syncfs_result_get_status (PsfSyncfsResult *self);
PSF_AVAILABLE_IN_ALL
int              psf_syncfs_result_get_errno  (PsfSyncfsResult *self);
PSF_AVAILABLE_IN_ALL
guint64          psf_syncfs_result_get_device (PsfSyncfsResult *self);
PSF_AVAILABLE_IN_ALL
char            *psf_syncfs_result_to_string  (PsfSyncfsResult *self);

G_END_DECLS
