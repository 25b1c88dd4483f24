/* psf-wire-report.c: the one codec of a syncfs report record
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, async-signal-safe, no GLib: the child encodes with it
 * between fork() and _exit() (psf-child-routines.c), the host decodes with
 * it (psf-syncfs-result.c) and so may any other reader of a report. A
 * record comes from another process, which may have crashed, been killed
 * or be of another version: the decoder checks every field before it
 * gives one back.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "psf-wire-report.h"

void
psf_wire_report_encode (PsfSyncfsRecord *record,
                        uint32_t         index,
                        int              status,
                        int              error,
                        uint32_t         flags,
                        uint64_t         device)
{
  memset (record, 0, sizeof *record);
  record->index = index;
  record->status = status;
  record->error = error;
  record->flags = flags;
  record->device = device;
}

void
psf_wire_report_encode_failure (PsfSyncfsRecord *record,
                                int              call,
                                int              error)
{
  /* An errno the decoder would refuse becomes EIO. */
  if (error <= 0 || error > PSF_CHILD_MAX_ERRNO)
    error = EIO;
  psf_wire_report_encode (record, PSF_SYNCFS_INDEX_FAILURE, call, error, 0, 0);
}

void
psf_wire_report_encode_plan (PsfSyncfsRecord *record,
                             uint64_t         n_filesystems)
{
  psf_wire_report_encode (record, PSF_SYNCFS_INDEX_PLAN, 0, 0, 0, n_filesystems);
}

int
psf_wire_report_decode (const void      *data,
                        size_t           len,
                        uint32_t         n_paths,
                        PsfSyncfsRecord *record)
{
  PsfSyncfsRecord r;

  if (data == NULL || len < sizeof r)
    return PSF_WIRE_REPORT_MALFORMED;
  /* The bytes may sit anywhere in a buffer: copied, never cast. */
  memcpy (&r, data, sizeof r);

  /* No errno is negative or above the kernel's MAX_ERRNO. */
  if (r.error < 0 || r.error > PSF_CHILD_MAX_ERRNO)
    return PSF_WIRE_REPORT_MALFORMED;

  if (r.index == PSF_SYNCFS_INDEX_FAILURE)
    {
      if (r.status < PSF_CHILD_FAILED_MMAP_INPUT || r.status > PSF_CHILD_FAILED_LAST ||
          r.error == 0)
        return PSF_WIRE_REPORT_MALFORMED;
      *record = r;
      return PSF_WIRE_REPORT_FAILURE;
    }

  /* One syncfs() per filesystem, one filesystem per path at most. */
  if (r.index == PSF_SYNCFS_INDEX_PLAN)
    {
      if (r.status != 0 || r.error != 0 || r.device > n_paths)
        return PSF_WIRE_REPORT_MALFORMED;
      *record = r;
      return PSF_WIRE_REPORT_PLAN;
    }

  if (r.index >= n_paths ||
      r.status < PSF_WIRE_STATUS_SYNCED || r.status > PSF_WIRE_STATUS_FAILED)
    return PSF_WIRE_REPORT_MALFORMED;
  *record = r;
  return PSF_WIRE_REPORT_PATH;
}

void
psf_wire_report_reader_init (PsfWireReportReader *reader,
                             uint32_t             n_paths,
                             unsigned char       *seen)
{
  memset (reader, 0, sizeof *reader);
  reader->n_paths = n_paths;
  reader->seen = seen;
  reader->n_filesystems = -1;
}

int
psf_wire_report_reader_next (PsfWireReportReader *reader,
                             const void          *report,
                             size_t               len,
                             PsfSyncfsRecord     *record)
{
  const unsigned char *data = report;
  PsfSyncfsRecord r;
  int kind;

  /* Only whole records: a part one waits for its end. */
  if (reader->offset > len || len - reader->offset < sizeof r)
    return -1;
  kind = psf_wire_report_decode (data + reader->offset, len - reader->offset,
                                 reader->n_paths, &r);
  reader->offset += sizeof r;

  switch (kind)
    {
    case PSF_WIRE_REPORT_FAILURE:
      if (reader->failed_call == 0)
        {
          reader->failed_call = r.status;
          reader->failed_errno = r.error;
        }
      return 0;

    case PSF_WIRE_REPORT_PLAN:
      if (reader->n_filesystems < 0)
        reader->n_filesystems = (int64_t) r.device;
      return 0;

    case PSF_WIRE_REPORT_PATH:
      if (reader->seen[r.index])
        return 0;
      reader->seen[r.index] = 1;
      reader->n_used++;
      *record = r;
      return 1;

    default:
      return 0;
    }
}
