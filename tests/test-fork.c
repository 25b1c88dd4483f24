/* test-fork.c: PsfForkProcess with both start methods
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "test-utils.h"

/* These run in the forked child: async-signal-safe only. */
static int
exit_seven (int      report_fd,
            gpointer user_data)
{
  return 7;
}

static int
write_report (int      report_fd,
              gpointer user_data)
{
  if (write (report_fd, "hello from the child", 20) != 20)
    return 1;
  return 0;
}

static int
crash (int      report_fd,
       gpointer user_data)
{
  raise (SIGSEGV);
  return 0;
}

static int
leave_grandchild (int      report_fd,
                  gpointer user_data)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      /* Holds the report channel and every inherited fd. */
      pause ();
      _exit (0);
    }
  if (write (report_fd, &pid, sizeof pid) != sizeof pid)
    return 1;
  return 0;
}

static void
destroy_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
test_fork_func (void)
{
  gboolean destroyed = FALSE;
  PsfForkProcess *proc = psf_fork_process_new_with_func (exit_seven, &destroyed, destroy_flag);

  g_assert_cmpint (psf_fork_process_get_start_method (proc), ==, PSF_START_METHOD_FORK);
  g_assert_null (psf_fork_process_get_report (proc));
  psf_test_assert_started (PSF_TASK (proc));
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), >, 0);
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 7);
  g_assert_cmpuint (g_bytes_get_size (psf_fork_process_get_report (proc)), ==, 0);
  g_object_unref (proc);
  g_assert_true (destroyed);
}

static void
report_seen_at_exit_cb (PsfTask *task,
                        int      returncode,
                        GBytes **report)
{
  *report = g_bytes_ref (psf_fork_process_get_report (PSF_FORK_PROCESS (task)));
}

static void
test_fork_report (void)
{
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (write_report, NULL, NULL);
  g_autoptr(GBytes) report = NULL;

  g_signal_connect (proc, "exited", G_CALLBACK (report_seen_at_exit_cb), &report);
  psf_test_start_and_wait (PSF_TASK (proc), 10000);
  g_assert_nonnull (report);
  g_assert_cmpmem (g_bytes_get_data (report, NULL), g_bytes_get_size (report),
                   "hello from the child", 20);
}

static void
test_fork_crash (void)
{
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (crash, NULL, NULL);

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 10000), ==, -SIGSEGV);
}

static void
test_fork_grandchild_holds_fds (void)
{
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (leave_grandchild, NULL, NULL);
  GBytes *report;
  pid_t grandchild = 0;

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 10000), ==, 0);

  /* The exit was reported while the grandchild still holds the channel. */
  report = psf_fork_process_get_report (proc);
  g_assert_cmpuint (g_bytes_get_size (report), ==, sizeof grandchild);
  memcpy (&grandchild, g_bytes_get_data (report, NULL), sizeof grandchild);
  g_assert_cmpint (grandchild, >, 0);
  g_assert_cmpint (kill (grandchild, 0), ==, 0);
  kill (grandchild, SIGKILL);
}

static void
test_fork_spawn_needs_routine (void)
{
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (exit_seven, NULL, NULL);
  g_autoptr(GError) error = NULL;

  psf_fork_process_set_start_method (proc, PSF_START_METHOD_SPAWN);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
}

static void
test_fork_nothing_to_run (void)
{
  g_autoptr(PsfForkProcess) proc = g_object_new (PSF_TYPE_FORK_PROCESS, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
}

/* A class that names a routine without the setter (the field is in the
 * installed class structure): FORK runs the library's routine of that
 * name, and refuses a name the library does not have instead of running
 * nothing in the child. */
typedef struct { PsfForkProcess parent_instance; } TestNamed;
typedef struct { PsfForkProcessClass parent_class; } TestNamedClass;
static GType test_named_get_type (void);
G_DEFINE_TYPE (TestNamed, test_named, PSF_TYPE_FORK_PROCESS)

static void
test_named_class_init (TestNamedClass *klass)
{
  PSF_FORK_PROCESS_CLASS (klass)->routine = "no-such-routine";
}

static void
test_named_init (TestNamed *self)
{
}

static void
test_fork_unknown_routine_name (void)
{
  g_autoptr(GObject) proc = g_object_new (test_named_get_type (), NULL);
  g_autoptr(GError) error = NULL;

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), PSF_START_METHOD_FORK);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
}

static void
test_spawn_missing_helper (void)
{
  const char *paths[] = { "/", NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("PSF_CHILD_PATH"));
  guint fds_before = psf_test_count_fds ();

  g_setenv ("PSF_CHILD_PATH", "/nonexistent/psf-child", TRUE);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_setenv ("PSF_CHILD_PATH", saved, TRUE);

  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, "/nonexistent/psf-child"));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

static void
test_fork_cancel (void)
{
  const char *paths[] = { NULL };
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (exit_seven, NULL, NULL);

  (void) paths;
  psf_task_cancel (PSF_TASK (proc));
  psf_test_assert_started (PSF_TASK (proc));
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, PSF_RETURNCODE_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/fork/func", test_fork_func);
  g_test_add_func ("/psf/fork/report", test_fork_report);
  g_test_add_func ("/psf/fork/crash", test_fork_crash);
  g_test_add_func ("/psf/fork/grandchild-holds-fds", test_fork_grandchild_holds_fds);
  g_test_add_func ("/psf/fork/spawn-needs-routine", test_fork_spawn_needs_routine);
  g_test_add_func ("/psf/fork/nothing-to-run", test_fork_nothing_to_run);
  g_test_add_func ("/psf/fork/unknown-routine-name", test_fork_unknown_routine_name);
  g_test_add_func ("/psf/fork/cancel-before-start", test_fork_cancel);
  g_test_add_func ("/psf/spawn-method/missing-helper", test_spawn_missing_helper);

  return g_test_run ();
}
