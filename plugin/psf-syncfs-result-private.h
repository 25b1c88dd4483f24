/* psf-syncfs-result-private.h: how PsfSyncfsProcess makes its results
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-syncfs-result.h"

G_BEGIN_DECLS

PsfSyncfsResult *psf_syncfs_result_new (const char      *path,
                                        PsfSyncfsStatus  status,
                                        int              error_number,
                                        guint64          device);

/* Decodes a child's report into one result per path. The report is not
 * trusted: records with a bad index or status, an errno below 0 or above
 * 4095, repeated indices and a trailing partial record are ignored; a path
 * without a record is SKIPPED with errno 0 ("not reached"). Returns the
 * number of records used. */
guint psf_syncfs_results_decode      (GPtrArray          *results,
                                      const char * const *paths,
                                      guint               n_paths,
                                      const guint8       *report,
                                      gsize               report_len);
/* The same, and the helper's failure record (PSF_SYNCFS_INDEX_FAILURE):
 * @failed_call gets its PSF_CHILD_FAILED_* call and @failed_errno its
 * errno, or both 0 when there is none. */
guint psf_syncfs_results_decode_full (GPtrArray          *results,
                                      const char * const *paths,
                                      guint               n_paths,
                                      const guint8       *report,
                                      gsize               report_len,
                                      int                *failed_call,
                                      int                *failed_errno);

G_END_DECLS
