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
#include <sched.h>
#include <string.h>

#include "psf-child-private.h"
#include "psf-forkserver-protocol.h"

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
  /* (the two indices above it are the failure and the plan records) */
  psf_wire_report_encode (&record, G_MAXUINT32 - 2, PSF_WIRE_STATUS_SYNCED, 0, 0, 0);
  assert_report_refused (&record, G_MAXUINT32 - 2);
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

static void
test_report_plan (void)
{
  PsfSyncfsRecord record;
  PsfSyncfsRecord out;

  psf_wire_report_encode_plan (&record, 3);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 5, &out), ==,
                   PSF_WIRE_REPORT_PLAN);
  g_assert_cmpuint (out.device, ==, 3);
  /* As many filesystems as paths, and none (every path skipped). */
  psf_wire_report_encode_plan (&record, 5);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 5, &out), ==,
                   PSF_WIRE_REPORT_PLAN);
  psf_wire_report_encode_plan (&record, 0);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record, 0, &out), ==,
                   PSF_WIRE_REPORT_PLAN);
  g_assert_cmpuint (out.device, ==, 0);

  /* More filesystems than paths, a status, an errno. */
  psf_wire_report_encode_plan (&record, 6);
  assert_report_refused (&record, 5);
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_PLAN, PSF_WIRE_STATUS_FAILED, 0, 0, 1);
  assert_report_refused (&record, 5);
  psf_wire_report_encode (&record, PSF_SYNCFS_INDEX_PLAN, 0, EIO, 0, 1);
  assert_report_refused (&record, 5);
  /* Cut short. */
  psf_wire_report_encode_plan (&record, 1);
  g_assert_cmpint (psf_wire_report_decode (&record, sizeof record - 1, 5, &out), ==,
                   PSF_WIRE_REPORT_MALFORMED);
}

/* A report read as it arrives: the first record of a path counts (a
 * repeat, a refused record, a failure record and the plan do not count as
 * paths), the first failure and the first plan are kept, a part record
 * waits for its end. */
static void
test_report_reader (void)
{
  PsfSyncfsRecord records[8];
  PsfWireReportReader reader;
  PsfSyncfsRecord out;
  guint8 report[sizeof records];
  guchar seen[3] = { 0 };
  gsize len = 0;

  psf_wire_report_encode_plan (&records[0], 2);
  psf_wire_report_encode (&records[1], 1, PSF_WIRE_STATUS_FAILED, EIO, 0, 7);
  psf_wire_report_encode (&records[2], 1, PSF_WIRE_STATUS_SYNCED, 0, 0, 7);   /* a repeat */
  psf_wire_report_encode (&records[3], 5, PSF_WIRE_STATUS_SYNCED, 0, 0, 7);   /* out of range */
  psf_wire_report_encode_failure (&records[4], PSF_CHILD_FAILED_MMAP_INPUT, ENOMEM);
  psf_wire_report_encode_failure (&records[5], PSF_CHILD_FAILED_MMAP_INPUT, EIO);
  psf_wire_report_encode_plan (&records[6], 1);
  psf_wire_report_encode (&records[7], 0, PSF_WIRE_STATUS_SYNCED, 0, 0, 9);
  memcpy (report, records, sizeof records);

  psf_wire_report_reader_init (&reader, 3, seen);
  g_assert_cmpint (reader.n_filesystems, ==, -1);

  /* Half a record: nothing to read yet. */
  len = sizeof (PsfSyncfsRecord) / 2;
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, -1);
  g_assert_cmpuint (reader.offset, ==, 0);

  /* The plan, then path 1's first record. */
  len = 2 * sizeof (PsfSyncfsRecord) + 5;
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, 0);
  g_assert_cmpint (reader.n_filesystems, ==, 2);
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, 1);
  g_assert_cmpuint (out.index, ==, 1);
  g_assert_cmpint (out.status, ==, PSF_WIRE_STATUS_FAILED);
  g_assert_cmpint (out.error, ==, EIO);
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, -1);

  /* The rest: only path 0 counts as a path. */
  len = sizeof report;
  for (int i = 2; i < 7; i++)
    g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, 0);
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, 1);
  g_assert_cmpuint (out.index, ==, 0);
  g_assert_cmpuint (out.device, ==, 9);
  g_assert_cmpint (psf_wire_report_reader_next (&reader, report, len, &out), ==, -1);

  g_assert_cmpuint (reader.n_used, ==, 2);
  g_assert_cmpint (reader.failed_call, ==, PSF_CHILD_FAILED_MMAP_INPUT);
  g_assert_cmpint (reader.failed_errno, ==, ENOMEM);
  g_assert_cmpint (reader.n_filesystems, ==, 2);
  g_assert_cmpuint (seen[0], ==, 1);
  g_assert_cmpuint (seen[1], ==, 1);
  g_assert_cmpuint (seen[2], ==, 0);
}

/* ---- the set-up record ---------------------------------------------------- */

/* Encodes @setup into a new 8-byte aligned buffer of *@len bytes. */
static guint8 *
encode_setup (const PsfChildSetup *setup,
              gsize               *len)
{
  gsize needed = psf_child_setup_encode (setup, NULL, 0);
  guint8 *buffer;

  g_assert_cmpuint (needed, >=, sizeof (PsfChildSetupRecord));
  buffer = g_malloc0 (needed + 8);
  g_assert_cmpuint (psf_child_setup_encode (setup, buffer, needed), ==, needed);
  *len = needed;
  return buffer;
}

static void
test_setup_round_trip (void)
{
  static const gid_t groups[] = { 10, 20, 65534 };
  PsfChildSetup setup = {
    .cgroup_procs = "/sys/fs/cgroup/psf-test/cgroup.procs",
    .unshare_flags = CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET,
    .has_umask = 1, .umask_value = 027,
    .has_groups = 1, .groups = groups, .n_groups = G_N_ELEMENTS (groups),
    .has_gid = 1, .gid = 1000,
    .has_uid = 1, .uid = 1001,
  };
  PsfChildSetup out;
  g_autofree guint8 *buffer = NULL;
  gsize len;

  buffer = encode_setup (&setup, &len);
  g_assert_cmpuint (len, ==, sizeof (PsfChildSetupRecord) + 3 * 4 +
                             strlen (setup.cgroup_procs) + 1);
  memset (&out, 0xa5, sizeof out);
  g_assert_cmpint (psf_child_setup_decode (buffer, len, &out), ==, 0);
  g_assert_cmpstr (out.cgroup_procs, ==, setup.cgroup_procs);
  /* Used where it lies: inside the record. */
  g_assert_true ((const guint8 *) out.cgroup_procs > buffer &&
                 (const guint8 *) out.cgroup_procs < buffer + len);
  g_assert_cmpint (out.unshare_flags, ==, setup.unshare_flags);
  g_assert_true (out.has_umask);
  g_assert_cmpuint (out.umask_value, ==, 027);
  g_assert_true (out.has_groups);
  g_assert_cmpuint (out.n_groups, ==, 3);
  g_assert_cmpmem (out.groups, 3 * sizeof (gid_t), groups, sizeof groups);
  g_assert_true (out.has_gid);
  g_assert_cmpuint (out.gid, ==, 1000);
  g_assert_true (out.has_uid);
  g_assert_cmpuint (out.uid, ==, 1001);
  g_assert_null (out.child_setup);
  g_assert_false (psf_child_setup_is_empty (&out));
}

static void
test_setup_sparse (void)
{
  /* An empty group list (drop them all) is not "unchanged". */
  PsfChildSetup setup = { .has_groups = 1, .n_groups = 0 };
  PsfChildSetup out;
  g_autofree guint8 *buffer = NULL;
  g_autofree guint8 *small = g_malloc0 (64);
  gsize len;

  buffer = encode_setup (&setup, &len);
  g_assert_cmpuint (len, ==, sizeof (PsfChildSetupRecord));
  g_assert_cmpint (psf_child_setup_decode (buffer, len, &out), ==, 0);
  g_assert_true (out.has_groups);
  g_assert_cmpuint (out.n_groups, ==, 0);
  g_assert_null (out.cgroup_procs);
  g_assert_false (out.has_umask || out.has_gid || out.has_uid);
  g_assert_cmpint (out.unshare_flags, ==, 0);

  /* A buffer too small is not written to; the size needed comes back. */
  setup.cgroup_procs = "/x/cgroup.procs";
  memset (small, 0x5a, 64);
  g_assert_cmpuint (psf_child_setup_encode (&setup, small, sizeof (PsfChildSetupRecord)), ==,
                    sizeof (PsfChildSetupRecord) + strlen ("/x/cgroup.procs") + 1);
  for (gsize i = 0; i < 64; i++)
    g_assert_cmpuint (small[i], ==, 0x5a);
}

/* Decodes @len bytes of @record (a header, then @tail) at an aligned
 * place; the decoder must refuse them. */
static void
assert_setup_refused (const PsfChildSetupRecord *record,
                      const void                *tail,
                      gsize                      tail_len,
                      gsize                      len)
{
  g_autofree guint8 *buffer = g_malloc0 (sizeof *record + tail_len + 8);
  PsfChildSetup out;

  memcpy (buffer, record, sizeof *record);
  if (tail_len > 0)
    memcpy (buffer + sizeof *record, tail, tail_len);
  memset (&out, 0xa5, sizeof out);
  g_assert_cmpint (psf_child_setup_decode (buffer, len, &out), ==, EINVAL);
  for (gsize i = 0; i < sizeof out; i++)
    g_assert_cmpuint (((const guint8 *) &out)[i], ==, 0xa5);
}

static void
test_setup_malformed (void)
{
  static const gid_t groups[] = { 1, 2 };
  PsfChildSetup setup = {
    .cgroup_procs = "/cg/cgroup.procs",
    .has_groups = 1, .groups = groups, .n_groups = 2,
  };
  g_autofree guint8 *good = NULL;
  g_autofree guint8 *shifted = NULL;
  PsfChildSetupRecord record;
  const guint8 *tail;
  gsize tail_len;
  gsize len;
  PsfChildSetup out;

  good = encode_setup (&setup, &len);
  memcpy (&record, good, sizeof record);
  tail = good + sizeof record;
  tail_len = len - sizeof record;
  g_assert_cmpint (psf_child_setup_decode (good, len, &out), ==, 0);

  /* Cut anywhere, or with more after it. */
  for (gsize cut = 0; cut < len; cut++)
    assert_setup_refused (&record, tail, tail_len, cut);
  assert_setup_refused (&record, tail, tail_len, len + 4);
  g_assert_cmpint (psf_child_setup_decode (NULL, len, &out), ==, EINVAL);

  /* Not at its alignment: the groups would be read crooked. */
  shifted = g_malloc0 (len + 8);
  memcpy (shifted + 1, good, len);
  g_assert_cmpint (psf_child_setup_decode (shifted + 1, len, &out), ==, EINVAL);

  {
    PsfChildSetupRecord bad = record;

    bad.magic = PSF_SETUP_ERROR_MAGIC;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    PsfChildSetupRecord bad = record;

    bad.fields |= 1u << 7;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    PsfChildSetupRecord bad = record;

    /* A namespace the host never asks for. */
    bad.unshare_flags = CLONE_NEWUSER;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    PsfChildSetupRecord bad = record;

    bad.fields |= PSF_CHILD_SETUP_UMASK;
    bad.umask_value = 01000;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    PsfChildSetupRecord bad = record;

    /* Groups counted without the field; values without theirs. */
    bad.fields &= ~PSF_CHILD_SETUP_GROUPS;
    assert_setup_refused (&bad, tail, tail_len, len);
    bad = record;
    bad.uid = 1000;
    assert_setup_refused (&bad, tail, tail_len, len);
    bad = record;
    bad.gid = 1000;
    assert_setup_refused (&bad, tail, tail_len, len);
    bad = record;
    bad.umask_value = 022;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    PsfChildSetupRecord bad = record;

    /* Huge counts: far past the end, or wrapping in 32 bits. */
    bad.n_groups = G_MAXUINT32;
    assert_setup_refused (&bad, tail, tail_len, len);
    bad.n_groups = 0x40000000u + 2;
    assert_setup_refused (&bad, tail, tail_len, len);
    bad.n_groups = 2;
    bad.cgroup_len = G_MAXUINT32;
    assert_setup_refused (&bad, tail, tail_len, len);
  }
  {
    g_autofree guint8 *bad_tail = g_memdup2 (tail, tail_len);

    /* The cgroup path without its NUL last, or with one inside. */
    bad_tail[tail_len - 1] = 'x';
    assert_setup_refused (&record, bad_tail, tail_len, len);
    bad_tail[tail_len - 1] = '\0';
    bad_tail[2 * 4 + 3] = '\0';
    assert_setup_refused (&record, bad_tail, tail_len, len);
  }
}

/* ---- the set-up error record ---------------------------------------------- */

static void
test_setup_error_round_trip (void)
{
  g_autofree char *long_detail = g_strnfill (1000, 'd');
  PsfSetupError record;
  PsfSetupError out;
  guint8 buffer[sizeof record + 1];

  psf_setup_error_encode (&record, EPERM, "setresuid", "1000");
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, 0);
  g_assert_cmpint (out.error, ==, EPERM);
  g_assert_cmpstr (out.call, ==, "setresuid");
  g_assert_cmpstr (out.detail, ==, "1000");

  /* Too long a detail is cut, with its NUL; bytes at any alignment. */
  psf_setup_error_encode (&record, ENOENT, "open", long_detail);
  memcpy (buffer + 1, &record, sizeof record);
  g_assert_cmpint (psf_setup_error_decode (buffer + 1, sizeof record, &out), ==, 0);
  g_assert_cmpuint (strlen (out.detail), ==, sizeof out.detail - 1);

  /* A sender that forgot the NUL still gives texts. */
  memset (record.call, 'c', sizeof record.call);
  memset (record.detail, 'd', sizeof record.detail);
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, 0);
  g_assert_cmpuint (strlen (out.call), ==, sizeof out.call - 1);
  g_assert_cmpuint (strlen (out.detail), ==, sizeof out.detail - 1);
}

static void
test_setup_error_malformed (void)
{
  PsfSetupError record;
  PsfSetupError out;

  psf_setup_error_encode (&record, EPERM, "setgroups", "3");
  for (gsize len = 0; len < sizeof record; len++)
    g_assert_cmpint (psf_setup_error_decode (&record, len, &out), ==, -1);
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record + 1, &out), ==, -1);
  g_assert_cmpint (psf_setup_error_decode (NULL, sizeof record, &out), ==, -1);

  record.magic = PSF_FORKSERVER_STARTED;
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, -1);
  record.magic = PSF_SETUP_ERROR_MAGIC;
  record.error = -1;
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, -1);
  record.error = PSF_CHILD_MAX_ERRNO + 1;
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, -1);
  record.error = PSF_CHILD_MAX_ERRNO;
  g_assert_cmpint (psf_setup_error_decode (&record, sizeof record, &out), ==, 0);
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
  g_test_add_func ("/psf/wire/report/plan", test_report_plan);
  g_test_add_func ("/psf/wire/report/reader", test_report_reader);
  g_test_add_func ("/psf/wire/setup/round-trip", test_setup_round_trip);
  g_test_add_func ("/psf/wire/setup/sparse", test_setup_sparse);
  g_test_add_func ("/psf/wire/setup/malformed", test_setup_malformed);
  g_test_add_func ("/psf/wire/setup-error/round-trip", test_setup_error_round_trip);
  g_test_add_func ("/psf/wire/setup-error/malformed", test_setup_error_malformed);

  return g_test_run ();
}
