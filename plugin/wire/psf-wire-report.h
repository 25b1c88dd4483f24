/* psf-wire-report.h: what the syncfs routine reads and writes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib-free: read by the child (plugin/child), the helper and the host's
 * decoder (psf-syncfs-result.c). The host and the child are the same
 * machine, so records are in host byte order. A record is written and
 * read by one codec, psf-wire-report.c, below.
 */

#pragma once

#include <stddef.h>
#include <stdint.h>

/* The status of one path in a record. The host's PsfSyncfsStatus has the
 * same values (checked at compile time in psf-syncfs-result.c). */
#define PSF_WIRE_STATUS_SYNCED    0
#define PSF_WIRE_STATUS_DUPLICATE 1
#define PSF_WIRE_STATUS_SKIPPED   2
#define PSF_WIRE_STATUS_FAILED    3

/* Input of the syncfs routine: this header, then n_paths NUL-terminated
 * absolute (or empty) paths back to back. */
#define PSF_SYNCFS_INPUT_MAGIC 0x31667370u /* "psf1" */
#define PSF_SYNCFS_FLAG_SYNC_FALLBACK (1u << 0)

typedef struct
{
  uint32_t magic;
  uint32_t flags;
  uint32_t n_paths;
  uint32_t reserved;
} PsfSyncfsInputHeader;

/* One record per input path on the report channel, fixed size, host
 * byte order (parent and child are the same machine). */
typedef struct
{
  uint32_t index;   /* input index */
  int32_t  status;  /* PSF_WIRE_STATUS_* */
  int32_t  error;   /* errno, 0 if none */
  uint32_t flags;   /* PSF_SYNCFS_RECORD_* */
  uint64_t device;  /* st_dev of the filesystem, 0 if unknown */
} PsfSyncfsRecord;

#define PSF_SYNCFS_RECORD_FALLBACK (1u << 0) /* flushed by sync() instead */

/* The largest errno a record may carry (the kernel's MAX_ERRNO): anything
 * larger is a malformed record. */
#define PSF_CHILD_MAX_ERRNO 4095

/* A record with this index is not about a path: the helper could not run
 * the routine at all. Its status is a PSF_CHILD_FAILED_* call, its error
 * the errno. Decoders that only look for paths skip it (the index is out of
 * range), so the format stays the same for them. */
#define PSF_SYNCFS_INDEX_FAILURE UINT32_MAX
#define PSF_CHILD_FAILED_MMAP_INPUT 1  /* mmap() of the input (fd 4) */
#define PSF_CHILD_FAILED_LAST       PSF_CHILD_FAILED_MMAP_INPUT

/* A record with this index is not about a path either: the routine's plan,
 * sent once it has looked at every path, before the last filesystems are
 * synced (before any, unless more than PSF_SYNCFS_MAX_PENDING of them).
 * Its device is how many filesystems the routine syncs, one syncfs() each:
 * the number of SYNCED and FAILED records the report holds once whole. Its
 * status and error are 0. Older decoders skip it (the index is out of
 * range), so the format stays the same for them. */
#define PSF_SYNCFS_INDEX_PLAN (UINT32_MAX - 1)

/* The most records the routine writes on @n_paths paths: one a path and
 * the plan, or a failure record. A parent that reads the report only once
 * the child has exited gives the channel room for this many. */
#define PSF_SYNCFS_REPORT_MAX_RECORDS(n_paths) ((size_t) (n_paths) + 2)

/* Fills @record (every byte: no stack garbage goes to the parent). @error
 * is 0 or an errno up to PSF_CHILD_MAX_ERRNO. Async-signal-safe. */
void psf_wire_report_encode         (PsfSyncfsRecord *record,
                                     uint32_t         index,
                                     int              status,
                                     int              error,
                                     uint32_t         flags,
                                     uint64_t         device);

/* Fills @record with a PSF_SYNCFS_INDEX_FAILURE record: @call
 * (PSF_CHILD_FAILED_*) failed with @error, which becomes EIO when it is
 * not an errno a decoder accepts. Async-signal-safe. */
void psf_wire_report_encode_failure (PsfSyncfsRecord *record,
                                     int              call,
                                     int              error);

/* Fills @record with the PSF_SYNCFS_INDEX_PLAN record: the routine syncs
 * @n_filesystems filesystems. Async-signal-safe. */
void psf_wire_report_encode_plan    (PsfSyncfsRecord *record,
                                     uint64_t         n_filesystems);

/* What psf_wire_report_decode() found. */
#define PSF_WIRE_REPORT_MALFORMED (-1) /* refused: see below */
#define PSF_WIRE_REPORT_PATH      0    /* about input path record->index */
#define PSF_WIRE_REPORT_FAILURE   1    /* the helper could not run the routine:
                                        * record->status is the call
                                        * (PSF_CHILD_FAILED_*), record->error
                                        * its errno (> 0) */
#define PSF_WIRE_REPORT_PLAN      2    /* the routine's plan: record->device
                                        * filesystems to sync (at most
                                        * @n_paths) */

/* Decodes the record at the start of @data (@len bytes from there, at any
 * alignment) for a report on @n_paths input paths. Refused as MALFORMED,
 * with @record untouched: fewer than sizeof (PsfSyncfsRecord) bytes, an
 * errno below 0 or above PSF_CHILD_MAX_ERRNO, a path index not below
 * @n_paths, a status that is not a PSF_WIRE_STATUS_*, a failure record
 * whose call is unknown or whose errno is 0, a plan with a status or an
 * errno, or more filesystems than @n_paths. The flags are passed on as
 * they are. A stream of records is decoded one sizeof (PsfSyncfsRecord)
 * after the other; a trailing part record is MALFORMED. Async-signal-safe,
 * libc only. */
int  psf_wire_report_decode         (const void      *data,
                                     size_t           len,
                                     uint32_t         n_paths,
                                     PsfSyncfsRecord *record);

/* A report read as it arrives, each record once, with the policy every
 * reader of a report follows: the first record of a path counts, so do the
 * first failure record and the first plan; what psf_wire_report_decode()
 * refuses is skipped; a trailing part record waits for the rest of its
 * bytes. Plain libc: the library's results (psf-syncfs-result.c) and the
 * psf-syncfs program read reports with it. */
typedef struct
{
  uint32_t       n_paths;
  unsigned char *seen;           /* n_paths bytes, zeroed: the caller's */
  uint32_t       n_used;         /* paths that got their record */
  size_t         offset;         /* bytes of the report read */
  int            failed_call;    /* the first failure record's call, or 0 */
  int            failed_errno;
  int64_t        n_filesystems;  /* the plan, or -1 before it */
} PsfWireReportReader;

void psf_wire_report_reader_init (PsfWireReportReader *reader,
                                  uint32_t             n_paths,
                                  unsigned char       *seen);

/* Reads the next whole record of @report (its first @len bytes: the report
 * so far, which only grows from one call to the next). Returns 1 with
 * @record filled when it is the first record of its path, 0 for any other
 * record (taken into @reader or skipped), -1 when no whole record is left
 * to read. */
int  psf_wire_report_reader_next (PsfWireReportReader *reader,
                                  const void          *report,
                                  size_t               len,
                                  PsfSyncfsRecord     *record);
