/* test-wire.c: the records both sides read, through their one codec each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A record comes from another process, which may have crashed, been
 * killed or be of another version: each decoder must give back what the
 * encoder wrote, and refuse (never read past) what it did not write.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "psf-child-private.h"

#include "test-utils.h"

/* ---- the syncfs report record ------------------------------------------- */

static void
assert_report_refused (const PsfSyncfsRecord *raw,
                       uint32_t               n_paths)
{
  PsfSyncfsRecord out;

  memset (&out, 0xa5, sizeof out);
  g_assert_cmpint (psf_wire_report_decode (raw, sizeof *raw, n_paths, &out), ==,
                   PSF_WIRE_REPORT_MALFORMED);
  /* Refused: nothing of it is handed out. */
  for (gsize i = 0; i < sizeof out; i++)
    g_assert_cmpuint (((const guint8 *) &out)[i], ==, 0xa5);
}

static void
test_report_round_trip (void)
{
  PsfSyncfsRecord record;
  PsfSyncfsRecord out;
  guint8 buffer[sizeof record + 1];

  psf_wire_report_encode (&record, 2, PSF_WIRE_STATUS_FAILED, EIO,
                          PSF_SYNCFS_RECORD_FALLBACK, G_GUINT64_CONSTANT (0x800000001));
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 3, &out), ==,
                   PSF_WIRE_REPORT_PATH);
  g_assert_cmpuint (out.index, ==, 2);
  g_assert_cmpint (out.status, ==, PSF_WIRE_STATUS_FAILED);
  g_assert_cmpint (out.error, ==, EIO);
  g_assert_cmpuint (out.flags, ==, PSF_SYNCFS_RECORD_FALLBACK);
  g_assert_cmpuint (out.device, ==, G_GUINT64_CONSTANT (0x800000001));

  /* At any alignment: a record in a byte stream is read, not cast. */
  memcpy (buffer + 1, &record, sizeof record);
  memset (&out, 0, sizeof out);
  g_assert_cmpint (psf_wire_report_decode (buffer + 1, sizeof record, 3, &out), ==,
                   PSF_WIRE_REPORT_PATH);
  g_assert_cmpuint (out.device, ==, G_GUINT64_CONSTANT (0x800000001));

  /* Every status the child writes, and the largest errno. */
  for (int status = PSF_WIRE_STATUS_SYNCED; status <= PSF_WIRE_STATUS_FAILED; status++)
    {
      psf_wire_report_encode (&record, 0, status, PSF_CHILD_MAX_ERRNO, 0, 0);
      g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 1, &out), ==,
                       PSF_WIRE_REPORT_PATH);
      g_assert_cmpint (out.status, ==, status);
      g_assert_cmpint (out.error, ==, PSF_CHILD_MAX_ERRNO);
    }
}

static void
test_report_truncated (void)
{
  PsfSyncfsRecord record;
  PsfSyncfsRecord out;

  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SYNCED, 0, 0, 1);
  for (gsize len = 0; len < sizeof record; len++)
    g_assert_cmpint (psf_wire_report_decode (&record, len, 1, &out), ==,
                     PSF_WIRE_REPORT_MALFORMED);
  g_assert_cmpint (psf_wire_report_decode (NULL, sizeof record, 1, &out), ==,
                   PSF_WIRE_REPORT_MALFORMED);
  /* More bytes after it are the next record's business. */
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 1, &out), ==,
                   PSF_WIRE_REPORT_PATH);
}

static void
test_report_out_of_range (void)
{
  PsfSyncfsRecord record;

  /* errno below 0 or above MAX_ERRNO */
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SKIPPED, -1, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SKIPPED, PSF_CHILD_MAX_ERRNO + 1, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SKIPPED, G_MAXINT32, 0, 0);
  assert_report_refused (&record, 1);

  /* an index past the input, a huge one, none at all */
  psf_wire_report_encode (&record, 1, PSF_WIRE_STATUS_SYNCED, 0, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, G_MAXUINT32 - 1, PSF_WIRE_STATUS_SYNCED, 0, 0, 0);
  assert_report_refused (&record, G_MAXUINT32 - 1);
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SYNCED, 0, 0, 0);
  assert_report_refused (&record, 0);

  /* a status that does not exist */
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_SYNCED - 1, 0, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, 0, PSF_WIRE_STATUS_FAILED + 1, 0, 0, 0);
  assert_report_refused (&record, 1);
}

static void
test_report_failure (void)
{
  PsfSyncfsRecord record;
  PsfSyncfsRecord out;

  psf_wire_report_encode_failure (&record, PSF_CHILD_FAILED_MMAP_INPUT, ENOMEM);
  /* Whatever the number of paths: it is about none of them. */
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 0, &out), ==,
                   PSF_WIRE_REPORT_FAILURE);
  g_assert_cmpint (out.status, ==, PSF_CHILD_FAILED_MMAP_INPUT);
  g_assert_cmpint (out.error, ==, ENOMEM);

  /* The encoder never writes an errno the decoder refuses. */
  psf_wire_report_encode_failure (&record, PSF_CHILD_FAILED_MMAP_INPUT, 0);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 1, &out), ==,
                   PSF_WIRE_REPORT_FAILURE);
  g_assert_cmpint (out.error, ==, EIO);
  psf_wire_report_encode_failure (&record, PSF_CHILD_FAILED_MMAP_INPUT, PSF_CHILD_MAX_ERRNO + 1);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 1, &out), ==,
                   PSF_WIRE_REPORT_FAILURE);
  g_assert_cmpint (out.error, ==, EIO);

  /* A call that does not exist, a failure without an errno. */
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_FAILURE, 0, ENOMEM, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_FAILURE, PSF_CHILD_FAILED_LAST + 1, ENOMEM, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_FAILURE, PSF_CHILD_FAILED_MMAP_INPUT, 0, 0, 0);
  assert_report_refused (&record, 1);
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_FAILURE, PSF_CHILD_FAILED_MMAP_INPUT, -EIO, 0, 0);
  assert_report_refused (&record, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/wire/report/round-trip", test_report_round_trip);
  g_test_add_func ("/psf/wire/report/truncated", test_report_truncated);
  g_test_add_func ("/psf/wire/report/out-of-range", test_report_out_of_range);
  g_test_add_func ("/psf/wire/report/failure", test_report_failure);

  return g_test_run ();
}
