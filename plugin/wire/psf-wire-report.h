/* psf-wire-report.h: what the syncfs routine reads and writes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib-free: read by the child (plugin/child), the helper and the host's
 * decoder (psf-syncfs-process.c). The host and the child are the same
 * machine, so records are in host byte order.
 */

#pragma once

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
