/* psf-syncfs-result-private.h: how PsfSyncfsProcess makes its results
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-syncfs-result.h"
#include "psf-wire-report.h"

G_BEGIN_DECLS

PsfSyncfsResult *psf_syncfs_result_new (const char      *path,
                                        PsfSyncfsStatus  status,
                                        int              error_number,
                                        guint64          device);

/* Decodes a child's report as it arrives, each record once, into the
 * results: the wire's reader (PsfWireReportReader, psf-wire-report.h)
 * says which records count; a path without one stays SKIPPED, errno 0. */
typedef struct
{
  GPtrArray           *results;  /* one per path */
  guchar              *seen;     /* the reader's */
  PsfWireReportReader  reader;   /* n_used, failed_call, n_filesystems… */
} PsfSyncfsDecoder;

/* Fills @results with one "not reached" result per path of @paths. */
void  psf_syncfs_decoder_init  (PsfSyncfsDecoder   *decoder,
                                GPtrArray          *results,
                                const char * const *paths,
                                guint               n_paths);
void  psf_syncfs_decoder_clear (PsfSyncfsDecoder   *decoder);
/* Decodes the whole records of @report (the report so far: it only grows
 * from one call to the next) that were not decoded yet; the index of each
 * path that got its record is pushed to @arrived (nullable). Returns the
 * number of paths that got theirs. */
guint psf_syncfs_decoder_feed  (PsfSyncfsDecoder   *decoder,
                                const guint8       *report,
                                gsize               report_len,
                                GQueue             *arrived);

/* Decodes a whole report into one result per path, as
 * PsfSyncfsDecoder does: a trailing partial record is ignored, a path
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
