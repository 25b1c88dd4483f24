/* fuzz-report-decode.c: libFuzzer target for the decoder of a child's report
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The report of a syncfs child is untrusted: a crashed, killed, outdated or
 * hostile helper may send a truncated, oversized or garbage stream,
 * records with indices out of range or repeated, statuses that do not
 * exist, negative errnos or ones above 4095. psf_syncfs_results_decode()
 * must give exactly one result per input path whatever it gets, and use
 * only the first valid record of each index.
 *
 * Input: 2 bytes (little endian) number of paths, modulo 1025; the rest is
 * the report. Every result is checked against an independent decoding of
 * the same bytes.
 *
 * Built with -fsanitize=fuzzer (option -Dfuzzing=true, clang), or with
 * fuzz-replay.c as a plain program that runs the corpus (suite 'core').
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psf-child-private.h"
#include "psf-enums.h"
#include "psf-syncfs-result-private.h"

#include "fuzz-target.h"

#define MAX_PATHS 1024

static char *paths[MAX_PATHS];

static void
check (gboolean    ok,
       const char *what)
{
  if (!ok)
    {
      g_printerr ("fuzz-report-decode: %s\n", what);
      abort ();
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  for (guint i = 0; i < MAX_PATHS; i++)
    paths[i] = g_strdup_printf ("/path/%u", i);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree int *expected_status = NULL;
  g_autofree int *expected_error = NULL;
  g_autofree guint64 *expected_device = NULL;
  const uint8_t *report;
  size_t report_len;
  guint n_paths;
  guint used;
  guint expected_used = 0;

  if (size < 2)
    return 0;
  n_paths = (guint) (data[0] | data[1] << 8) % (MAX_PATHS + 1);
  report = data + 2;
  report_len = size - 2;

  /* What the decoder must find: per index, the first valid record. */
  expected_status = g_new (int, MAX (n_paths, 1));
  expected_error = g_new0 (int, MAX (n_paths, 1));
  expected_device = g_new0 (guint64, MAX (n_paths, 1));
  for (guint i = 0; i < n_paths; i++)
    expected_status[i] = -1;
  for (size_t off = 0; off + sizeof (PsfSyncfsRecord) <= report_len; off += sizeof (PsfSyncfsRecord))
    {
      PsfSyncfsRecord r;

      memcpy (&r, report + off, sizeof r);
      if (r.index >= n_paths || expected_status[r.index] != -1)
        continue;
      if (r.status < PSF_SYNCFS_STATUS_SYNCED || r.status > PSF_SYNCFS_STATUS_FAILED ||
          r.error < 0 || r.error > PSF_CHILD_MAX_ERRNO)
        continue;
      expected_status[r.index] = r.status;
      expected_error[r.index] = r.error;
      expected_device[r.index] = r.device;
      expected_used++;
    }

  /* Something already in the array must go. */
  g_ptr_array_add (results, g_object_new (PSF_TYPE_SYNCFS_RESULT, NULL));

  used = psf_syncfs_results_decode (results, (const char * const *) paths, n_paths,
                                    report, report_len);

  check (results->len == n_paths, "not one result per path");
  check (used == expected_used, "records used differ from the reference");
  check (used <= report_len / sizeof (PsfSyncfsRecord), "more records used than sent");

  for (guint i = 0; i < n_paths; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);
      int status = psf_syncfs_result_get_status (result);

      check (PSF_IS_SYNCFS_RESULT (result), "not a result");
      check (g_str_equal (psf_syncfs_result_get_path (result), paths[i]), "wrong path");
      check (status >= PSF_SYNCFS_STATUS_SYNCED && status <= PSF_SYNCFS_STATUS_FAILED,
             "status out of range");
      check (psf_syncfs_result_get_errno (result) >= 0, "negative errno");

      if (expected_status[i] == -1)
        {
          /* Not reported: "not reached". */
          check (status == PSF_SYNCFS_STATUS_SKIPPED, "unreported path not SKIPPED");
          check (psf_syncfs_result_get_errno (result) == 0, "unreported path with an errno");
          check (psf_syncfs_result_get_device (result) == 0, "unreported path with a device");
        }
      else
        {
          check (status == expected_status[i], "status differs from the reference");
          check (psf_syncfs_result_get_errno (result) == expected_error[i],
                 "errno differs from the reference");
          check (psf_syncfs_result_get_device (result) == expected_device[i],
                 "device differs from the reference");
        }

      /* For people: the text form of a few. (Not for every errno: GLib
       * keeps one string per distinct errno for good, and a fuzzer sends
       * millions.) */
      if (i < 4 && psf_syncfs_result_get_errno (result) < 256)
        g_free (psf_syncfs_result_to_string (result));
    }

  return 0;
}
