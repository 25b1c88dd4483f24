/* test-syncfs-faults.c: PsfSyncfsProcess when syncfs() fails or is missing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs with LD_PRELOAD=libpsf-fault-shim.so (see faults/fault-shim.c): the shim
 * is in this process, so a FORK child has it, and in the environment, so
 * the SPAWN helper has it too. Each test sets the shim's variables before
 * it starts a task.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-utils.h"

static PsfSyncfsProcess *
run_checked (PsfStartMethod      method,
             const char * const *paths,
             gboolean            fallback,
             PsfTestCheck          *data)
{
  PsfSyncfsProcess *proc = psf_test_syncfs_new (method, paths);

  psf_syncfs_process_set_sync_fallback (proc, fallback);
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, data);
  psf_test_run_until (&data->done, 30000);
  return proc;
}

static void
test_eio (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  const char *paths[] = { build_dir, "/nonexistent-psf", "/dev/shm", NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autofree char *expected = NULL;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  g_setenv ("PSF_SHIM_SYNCFS_ERRNO", "EIO", TRUE);
  proc = run_checked (method, paths, FALSE, &check);
  g_unsetenv ("PSF_SHIM_SYNCFS_ERRNO");

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 0)), ==,
                   PSF_SYNCFS_STATUS_FAILED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 0)), ==, EIO);
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 1)), ==,
                   PSF_SYNCFS_STATUS_SKIPPED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 1)), ==, ENOENT);

  /* Every filesystem is still tried. */
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 2)), ==, EIO);

  g_assert_false (check.ok);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_FAILED);
  expected = g_strdup_printf ("syncfs(%s): %s", build_dir, g_strerror (EIO));
  g_assert_true (g_str_has_prefix (check.error->message, expected));
  g_clear_error (&check.error);
}

static void
test_enosys (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  const char *paths[] = { build_dir, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(PsfSyncfsProcess) fallback = NULL;
  g_autofree char *expected = NULL;
  PsfTestCheck check = { 0 };
  PsfTestCheck check2 = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  g_setenv ("PSF_SHIM_SYNCFS_ERRNO", "ENOSYS", TRUE);
  proc = run_checked (method, paths, FALSE, &check);
  fallback = run_checked (method, paths, TRUE, &check2);
  g_unsetenv ("PSF_SHIM_SYNCFS_ERRNO");

  /* Without the fallback: returncode 1 and the reason. */
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 0)), ==,
                   PSF_SYNCFS_STATUS_FAILED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 0)), ==, ENOSYS);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_FAILED);
  expected = g_strdup_printf ("syncfs(%s): %s", build_dir, g_strerror (ENOSYS));
  g_assert_cmpstr (check.error->message, ==, expected);
  g_clear_error (&check.error);

  /* With it: sync() stood in, returncode 0, the record says how. */
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (fallback)), ==, 0);
  g_assert_no_error (check2.error);
  g_assert_true (check2.ok);
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (fallback, 0)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (fallback, 0)), ==, ENOSYS);
}

static void
test_eio_not_hidden_by_fallback (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  const char *paths[] = { "/", NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  g_setenv ("PSF_SHIM_SYNCFS_ERRNO", "EIO", TRUE);
  proc = run_checked (method, paths, TRUE, &check);
  g_unsetenv ("PSF_SHIM_SYNCFS_ERRNO");

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_FAILED);
  g_clear_error (&check.error);
}

static guint
count_calls (PsfStartMethod      method,
             const char * const *paths)
{
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autofree char *fd_text = NULL;
  PsfTestCheck check = { 0 };
  int pipe_fds[2];
  char buf[256];
  ssize_t n;

  g_assert_no_errno (pipe2 (pipe_fds, O_NONBLOCK));
  fd_text = g_strdup_printf ("%d", pipe_fds[1]);
  g_setenv ("PSF_SHIM_SYNCFS_COUNT_FD", fd_text, TRUE);

  proc = psf_test_syncfs_new (method, paths);
  /* The counting fd must reach the child. */
  psf_spawn_process_set_close_fds (PSF_SPAWN_PROCESS (proc), FALSE);
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  psf_test_run_until (&check.done, 30000);
  g_unsetenv ("PSF_SHIM_SYNCFS_COUNT_FD");
  g_assert_no_error (check.error);

  close (pipe_fds[1]);
  n = read (pipe_fds[0], buf, sizeof buf);
  close (pipe_fds[0]);
  return n < 0 ? 0 : (guint) n;
}

static void
test_one_syncfs_per_filesystem (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  g_autofree char *exe = g_test_build_filename (G_TEST_BUILT, "test-syncfs-faults", NULL);
  const char *same[] = { build_dir, exe, build_dir, NULL };
  const char *two[] = { build_dir, "/dev/shm", exe, NULL };
  struct stat a, b;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  g_assert_cmpuint (count_calls (method, same), ==, 1);

  if (stat ("/dev/shm", &a) == 0 && stat (build_dir, &b) == 0 && a.st_dev != b.st_dev)
    g_assert_cmpuint (count_calls (method, two), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  static const struct { const char *name; PsfStartMethod method; } methods[] = {
    { "fork", PSF_START_METHOD_FORK },
    { "spawn", PSF_START_METHOD_SPAWN },
    { "forkserver", PSF_START_METHOD_FORKSERVER },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      gconstpointer m = GINT_TO_POINTER (methods[i].method);
      g_autofree char *p1 = g_strdup_printf ("/psf/syncfs-faults/%s/eio", methods[i].name);
      g_autofree char *p2 = g_strdup_printf ("/psf/syncfs-faults/%s/enosys", methods[i].name);
      g_autofree char *p3 = g_strdup_printf ("/psf/syncfs-faults/%s/eio-not-hidden-by-fallback", methods[i].name);
      g_autofree char *p4 = g_strdup_printf ("/psf/syncfs-faults/%s/one-syncfs-per-filesystem", methods[i].name);

      g_test_add_data_func (p1, m, test_eio);
      g_test_add_data_func (p2, m, test_enosys);
      g_test_add_data_func (p3, m, test_eio_not_hidden_by_fallback);
      g_test_add_data_func (p4, m, test_one_syncfs_per_filesystem);
    }

  return g_test_run ();
}
