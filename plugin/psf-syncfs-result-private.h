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
 * trusted: records with a bad index or status, repeated indices and a
 * trailing partial record are ignored; a path without a record is SKIPPED
 * with errno 0 ("not reached"). Returns the number of records used. */
guint psf_syncfs_results_decode (GPtrArray          *results,
                                 const char * const *paths,
                                 guint               n_paths,
                                 const guint8       *report,
                                 gsize               report_len);

G_END_DECLS
