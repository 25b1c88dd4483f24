/* test-forkserver.c: the FORKSERVER start method's own life
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs with LD_PRELOAD=libpsf-fault-shim.so (see faults/fault-shim.c), so that a
 * child can be made to sit in syncfs() (PSF_SHIM_SYNCFS_DELAY_MS) or to
 * count its calls (PSF_SHIM_SYNCFS_COUNT_FD) while the server is crashed,
 * the task cancelled or fds mapped. The server is found as this process's
 * child named "psf-forkserver". What every syncfs case does with this
 * method is in test-syncfs.c and test-syncfs-faults.c.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-utils.h"

static PsfSyncfsProcess *
sync_new (const char *path)
{
  const char *paths[] = { path, NULL };
  PsfSyncfsProcess *proc = psf_test_syncfs_new (PSF_START_METHOD_FORKSERVER, paths);

  return proc;
}

static int
sync_run (const char *path)
{
  g_autoptr(PsfSyncfsProcess) proc = sync_new (path);

  return psf_test_start_and_wait (PSF_TASK (proc), 30000);
}

/* Waits (iterating the context) until the task's child exists. */
static void
wait_for_child (PsfTask *task)
{
  GPid pid = psf_subprocess_get_pid (PSF_SUBPROCESS (task));
  g_autofree char *path = g_strdup_printf ("/proc/%d", (int) pid);

  g_assert_cmpint (pid, >, 0);
  for (guint i = 0; i < 2000 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (1000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* Starts a task over / whose child then sits in the shim's syncfs() for
 * @delay_ms (PSF_SHIM_SYNCFS_DELAY_MS, which the child reads at the call),
 * a server's fork if @setup (a set-up option), and returns once the child
 * exists. */
static PsfSyncfsProcess *
start_slow_child (const char *delay_ms,
                  gboolean    setup)
{
  g_autoptr(GError) error = NULL;
  PsfSyncfsProcess *proc;

  g_setenv ("PSF_SHIM_SYNCFS_DELAY_MS", delay_ms, TRUE);
  proc = sync_new ("/");
  if (setup)
    g_object_set (proc, "umask", 022, NULL);
  psf_test_assert_ok (psf_task_start (PSF_TASK (proc), &error), error);
  g_unsetenv ("PSF_SHIM_SYNCFS_DELAY_MS");
  wait_for_child (PSF_TASK (proc));
  return proc;
}

/* Kills the server and waits until it is dead (a zombie of ours until the
 * next start reaps it). */
static void
kill_server (GPid pid)
{
  g_assert_no_errno (kill (pid, SIGKILL));
  for (guint i = 0; i < 5000 && psf_test_proc_state (pid) != 'Z' && psf_test_proc_state (pid) != 0; i++)
    g_usleep (1000);
}

static void
test_lazy_and_reused (void)
{
  GPid first;

  /* Every earlier case used another method: no server yet. */
  g_assert_cmpint (psf_test_forkserver_pid (), ==, 0);

  g_assert_cmpint (sync_run ("/"), ==, 0);
  first = psf_test_forkserver_pid ();
  g_assert_cmpint (first, >, 0);

  g_assert_cmpint (sync_run ("/"), ==, 0);
  g_assert_cmpint (psf_test_forkserver_pid (), ==, first);
}

static void
test_restart_after_crash (void)
{
  GPid old;
  GPid new;

  g_assert_cmpint (sync_run ("/"), ==, 0);
  old = psf_test_forkserver_pid ();
  kill_server (old);

  /* The next task notices, reaps it, says so and starts a new one. */
  g_test_expect_message ("Psf", G_LOG_LEVEL_WARNING, "*forkserver*killed by signal 9*");
  g_assert_cmpint (sync_run ("/"), ==, 0);
  g_test_assert_expected_messages ();

  new = psf_test_forkserver_pid ();
  g_assert_cmpint (new, >, 0);
  g_assert_cmpint (new, !=, old);
  g_assert_cmpint (psf_test_proc_state (old), ==, 0);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

static void
test_crash_while_running (void)
{
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GError) error = NULL;
  GPid server;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  g_assert_cmpint (sync_run ("/"), ==, 0);
  server = psf_test_forkserver_pid ();

  /* A child of ours (the common case, CLONE_PARENT) lives on without the
   * server and is reaped as usual; the next task finds the server gone,
   * says so and has a new one. (Builds with AddressSanitizer only fork:
   * there the child is the server's, as below.) */
  proc = start_slow_child ("300", FALSE);
  g_test_expect_message ("Psf", G_LOG_LEVEL_WARNING, "*forkserver*killed by signal 9*");
  if (psf_test_proc_parent (psf_subprocess_get_pid (PSF_SUBPROCESS (proc))) == getpid ())
    {
      kill_server (server);
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
      g_assert_cmpint (sync_run ("/"), ==, 0);
    }
  else
    {
      kill_server (server);
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGKILL);
    }
  g_test_assert_expected_messages ();
  g_clear_object (&proc);
  g_assert_cmpint (sync_run ("/"), ==, 0);
  server = psf_test_forkserver_pid ();

  /* A child of the server's (a set-up option makes it a fork) sits in
   * syncfs() for a minute: only the crash ends it, and it goes with the
   * server (PR_SET_PDEATHSIG): reported killed, not waited for. */
  proc = start_slow_child ("60000", TRUE);

  g_test_expect_message ("Psf", G_LOG_LEVEL_WARNING, "*forkserver*killed by signal 9*");
  kill_server (server);
  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_test_assert_expected_messages ();
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGKILL);

  /* And the next task has a server again. */
  g_assert_cmpint (sync_run ("/"), ==, 0);
  g_assert_cmpint (psf_test_forkserver_pid (), !=, server);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

static void
test_cancel (void)
{
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GError) error = NULL;
  GPid server;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  proc = start_slow_child ("60000", FALSE);
  server = psf_test_forkserver_pid ();

  /* SIGTERM reaches a child that is not ours. */
  psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_true (psf_task_get_cancelled (PSF_TASK (proc)));

  /* After the exit no signal may be sent: the pid is no longer held. */
  g_assert_false (psf_subprocess_send_signal (PSF_SUBPROCESS (proc), SIGTERM, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_clear_error (&error);
  g_clear_object (&proc);

  /* The same for a child of the server's (set-up options: a fork), which
   * is not ours to reap: the signal still reaches it, the exit is relayed. */
  proc = start_slow_child ("60000", TRUE);
  psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_cmpint (psf_test_forkserver_pid (), ==, server);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

/* Cpus_allowed_list of @pid (or of this process, 0). */
static char *
cpus_allowed (GPid pid)
{
  g_autofree char *path = pid > 0 ? g_strdup_printf ("/proc/%d/status", (int) pid)
                                  : g_strdup ("/proc/self/status");
  g_autofree char *contents = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  line = strstr (contents, "Cpus_allowed_list:");
  g_assert_nonnull (line);
  line += strlen ("Cpus_allowed_list:");
  return g_strstrip (g_strndup (line, strcspn (line, "\n")));
}

/* Idle workers wait bound to the host's CPU, and a child is born with its
 * worker's affinity: it must not keep it (nor its sub-children). */
static void
test_child_affinity (void)
{
  g_autofree char *ours = cpus_allowed (0);
  g_autoptr(GError) error = NULL;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  /* Every idle worker has served a request by now. */
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (sync_run ("/"), ==, 0);

  for (int setup = 0; setup < 2; setup++)
    {
      g_autoptr(PsfSyncfsProcess) proc = NULL;
      g_autofree char *theirs = NULL;
      GPid pid;

      proc = start_slow_child ("60000", setup);

      /* Asleep: in the shim's syncfs(), past the unbinding. */
      pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
      for (guint i = 0; i < 5000 && psf_test_proc_state (pid) != 'S'; i++)
        g_usleep (1000);
      g_assert_cmpint (psf_test_proc_state (pid), ==, 'S');
      theirs = cpus_allowed (pid);
      g_assert_cmpstr (theirs, ==, ours);

      psf_task_cancel (PSF_TASK (proc));
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
    }
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

static void
test_fd_map (void)
{
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GError) error = NULL;
  guint fds_before = psf_test_count_fds ();
  int pipe_fds[2];
  char buf[16];

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  /* The shim writes a byte on fd 57 per syncfs(): it only has one if the
   * map put the pipe there; close-fds (the default) closed the rest. */
  g_assert_no_errno (pipe2 (pipe_fds, O_CLOEXEC | O_NONBLOCK));
  g_setenv ("PSF_SHIM_SYNCFS_COUNT_FD", "57", TRUE);
  proc = sync_new ("/");
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), pipe_fds[1], 57);
  psf_test_assert_ok (psf_task_start (PSF_TASK (proc), &error), error);
  g_unsetenv ("PSF_SHIM_SYNCFS_COUNT_FD");
  g_assert_no_error (error);
  psf_test_run_until_exited (PSF_TASK (proc), 30000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);

  g_assert_cmpint (read (pipe_fds[0], buf, sizeof buf), ==, 1);
  close (pipe_fds[0]);
  g_clear_object (&proc);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

static GHashTable *
describe (PsfTestDescribe *proc)
{
  GBytes *report;
  g_autofree char *text = NULL;

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 20000), ==, 0);

  report = psf_fork_process_get_report (PSF_FORK_PROCESS (proc));
  text = g_strndup (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
  return psf_test_describe_parse (text);
}

static void
test_setup_options (void)
{
  g_autoptr(PsfTestDescribe) plain = g_object_new (PSF_TEST_TYPE_DESCRIBE,
                                                "start-method", PSF_START_METHOD_FORKSERVER,
                                                NULL);
  g_autoptr(PsfTestDescribe) dropped = g_object_new (PSF_TEST_TYPE_DESCRIBE,
                                                  "start-method", PSF_START_METHOD_FORKSERVER,
                                                  "umask", 027,
                                                  NULL);
  g_autoptr(GHashTable) a = describe (plain);
  g_autoptr(GHashTable) b = NULL;
  g_autofree char *uid = g_strdup_printf ("%u", (guint) getuid ());

  g_assert_cmpstr (g_hash_table_lookup (a, "uid"), ==, uid);

  /* Set-up options take the forked path; as root the credentials too. */
  if (geteuid () == 0)
    g_object_set (dropped, "uid", 65534, "gid", 65534, NULL);
  b = describe (dropped);
  g_assert_cmpstr (g_hash_table_lookup (b, "umask"), ==, "27");
  if (geteuid () == 0)
    {
      g_assert_cmpstr (g_hash_table_lookup (b, "uid"), ==, "65534");
      g_assert_cmpstr (g_hash_table_lookup (b, "gid"), ==, "65534");
    }
}

static void
check_setup_failure (void)
{
  g_autoptr(PsfTestDescribe) proc = NULL;
  g_autoptr(GError) error = NULL;
  guint fds_before;

  g_assert_cmpint (sync_run ("/"), ==, 0);
  fds_before = psf_test_count_fds ();

  /* The child cannot become root: start() says so, and the task stays
   * NEW with nothing left behind. */
  proc = g_object_new (PSF_TEST_TYPE_DESCRIBE,
                       "start-method", PSF_START_METHOD_FORKSERVER, "uid", 0, NULL);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, "setresuid"));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

static void
test_setup_failure (void)
{
  if (geteuid () != 0)
    {
      check_setup_failure ();
      return;
    }

  /* As root: in a subprocess that gave its privileges up first. It
   * starts its own forkserver then, as nobody: from a helper nobody can
   * reach. */
  if (g_test_subprocess ())
    {
      g_setenv ("PSF_CHILD_PATH", psf_test_helper_for_anyone (), TRUE);
      /* The fault shim is not needed here, and may be out of reach. */
      g_unsetenv ("LD_PRELOAD");
      if (setgroups (0, NULL) < 0 || setgid (65534) < 0 || setuid (65534) < 0)
        {
          g_test_skip ("cannot become nobody");
          return;
        }
      check_setup_failure ();
      return;
    }
  g_test_trap_subprocess (NULL, 30000000, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static int
do_nothing (int      report_fd,
            gpointer user_data)
{
  return 0;
}

static void
test_no_routine (void)
{
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (do_nothing, NULL, NULL);
  g_autoptr(GError) error = NULL;

  psf_fork_process_set_start_method (proc, PSF_START_METHOD_FORKSERVER);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
}

static gboolean
crowd_timeout_cb (gpointer data)
{
  g_error ("%u tasks still running", ((PsfTestCrowd *) data)->pending);
  return G_SOURCE_REMOVE;
}

static void
test_many_at_once (void)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  PsfTestCrowd crowd = { 0, 0 };
  guint fds_before;
  guint timeout;
  struct rlimit limit;

  /* Each running task holds a few fds. */
  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  if (limit.rlim_cur < 2048 && limit.rlim_max >= 2048)
    {
      limit.rlim_cur = 2048;
      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));
    }

  g_assert_cmpint (sync_run ("/"), ==, 0);
  fds_before = psf_test_count_fds ();

  for (guint i = 0; i < 300; i++)
    {
      PsfSyncfsProcess *proc = sync_new (i % 2 ? "/" : "/dev/shm");

      g_signal_connect (proc, "exited", G_CALLBACK (psf_test_crowd_exited_cb), &crowd);
      g_ptr_array_add (tasks, proc);
      psf_test_assert_started (PSF_TASK (proc));
      crowd.pending++;
    }

  timeout = g_timeout_add_seconds (60, crowd_timeout_cb, &crowd);
  while (crowd.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);

  g_assert_cmpuint (crowd.succeeded, ==, 300);
  g_ptr_array_set_size (tasks, 0);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

static void
test_filesystems_at_once (void)
{
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  /* three filesystems that can be synced (/proc and /sys are skipped) */
  const char *paths[] = { build_dir, "/dev/shm", "/dev", NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *fd_text = NULL;
  g_autoptr(GHashTable) devices = g_hash_table_new (g_int64_hash, g_int64_equal);
  gint64 devs[3];
  int pipe_fds[2];
  char buf[16];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  for (guint i = 0; i < 3; i++)
    {
      struct stat st;

      g_assert_no_errno (stat (paths[i], &st));
      devs[i] = (gint64) st.st_dev;
      g_hash_table_add (devices, &devs[i]);
    }

  /* Three filesystems, each synced by its own sub-child, each slow: all
   * are synced and counted once (how long it takes is for the benchmark). */
  g_assert_no_errno (pipe2 (pipe_fds, O_NONBLOCK));
  fd_text = g_strdup_printf ("%d", pipe_fds[1]);
  g_setenv ("PSF_SHIM_SYNCFS_COUNT_FD", fd_text, TRUE);
  g_setenv ("PSF_SHIM_SYNCFS_DELAY_MS", "50", TRUE);
  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), PSF_START_METHOD_FORKSERVER);
  psf_spawn_process_set_close_fds (PSF_SPAWN_PROCESS (proc), FALSE);
  psf_test_assert_started (PSF_TASK (proc));
  g_unsetenv ("PSF_SHIM_SYNCFS_COUNT_FD");
  g_unsetenv ("PSF_SHIM_SYNCFS_DELAY_MS");
  psf_test_run_until_exited (PSF_TASK (proc), 30000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);

  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (psf_syncfs_result_get_errno (g_ptr_array_index (results, i)), ==, 0);
  close (pipe_fds[1]);
  g_assert_cmpint (read (pipe_fds[0], buf, sizeof buf), ==, g_hash_table_size (devices));
  close (pipe_fds[0]);
}

static void
test_large_request (void)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  /* Well past what one message carries: the request goes in a memfd. */
  for (guint i = 0; i < 3000; i++)
    g_ptr_array_add (paths, g_strdup_printf ("/nonexistent-psf-forkserver/a-rather-long-name-%06u", i));
  g_ptr_array_add (paths, g_strdup ("/"));
  g_ptr_array_add (paths, NULL);

  proc = psf_test_syncfs_new (PSF_START_METHOD_FORKSERVER, (const char * const *) paths->pdata);
  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 30000), ==, 0);

  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (results->len, ==, 3001);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)), ==,
                   PSF_SYNCFS_STATUS_SKIPPED);
  g_assert_cmpint (psf_syncfs_result_get_errno (g_ptr_array_index (results, 2999)), ==, ENOENT);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 3000)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
}

static char *
pid_file_path (GPid test_pid)
{
  return g_strdup_printf ("%s/psf-test-forkserver-%d", g_get_tmp_dir (), (int) test_pid);
}

static void
test_dies_with_host (void)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  GPid pid;

  if (g_test_subprocess ())
    {
      /* A host that runs a task and dies without a word; its server's pid
       * goes where the test (our parent) looks. */
      g_autofree char *pid_text = NULL;

      g_assert_cmpint (sync_run ("/"), ==, 0);
      path = pid_file_path (getppid ());
      pid_text = g_strdup_printf ("%d", (int) psf_test_forkserver_pid ());
      g_assert_true (g_file_set_contents (path, pid_text, -1, NULL));
      _exit (0);
    }

  path = pid_file_path (getpid ());
  g_test_trap_subprocess (NULL, 30000000, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  unlink (path);
  pid = atoi (text);
  g_assert_cmpint (pid, >, 0);

  /* EOF on its socket: it exits (and is gone, or a zombie of init). */
  for (guint i = 0; i < 10000; i++)
    {
      char state = psf_test_proc_state (pid);

      if (state == 0 || state == 'Z')
        return;
      g_usleep (1000);
    }
  g_error ("the forkserver %d outlived its host", (int) pid);
}

static void
test_out_of_fds (void)
{
  if (g_test_subprocess ())
    {
      guint baseline;
      struct rlimit limit;
      guint failed = 0;

      g_assert_cmpint (sync_run ("/"), ==, 0);
      baseline = psf_test_count_fds ();
      g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));

      /* From no fd to spare to enough: start() works or fails clearly,
       * and nothing is left behind either way. */
      for (guint spare = 0; spare < 10; spare++)
        {
          g_autoptr(PsfSyncfsProcess) proc = sync_new ("/");
          g_autoptr(GError) error = NULL;
          struct rlimit low = { baseline + spare, limit.rlim_max };

          g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &low));
          if (psf_task_start (PSF_TASK (proc), &error))
            {
              psf_test_run_until_exited (PSF_TASK (proc), 30000);
              g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
            }
          else
            {
              g_assert_nonnull (error);
              g_assert_nonnull (strstr (error->message, g_strerror (EMFILE)));
              g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
              failed++;
            }
          g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));
          g_clear_object (&proc);
          g_assert_cmpuint (psf_test_count_fds (), ==, baseline);
        }
      g_assert_cmpuint (failed, >, 0);
      g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 60000000, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/forkserver/lazy-start-and-reuse", test_lazy_and_reused);
  g_test_add_func ("/psf/forkserver/no-routine", test_no_routine);
  g_test_add_func ("/psf/forkserver/restart-after-crash", test_restart_after_crash);
  g_test_add_func ("/psf/forkserver/crash-while-running", test_crash_while_running);
  g_test_add_func ("/psf/forkserver/cancel", test_cancel);
  g_test_add_func ("/psf/forkserver/child-affinity", test_child_affinity);
  g_test_add_func ("/psf/forkserver/fd-map", test_fd_map);
  g_test_add_func ("/psf/forkserver/setup-options", test_setup_options);
  g_test_add_func ("/psf/forkserver/setup-failure", test_setup_failure);
  g_test_add_func ("/psf/forkserver/many-at-once", test_many_at_once);
  g_test_add_func ("/psf/forkserver/filesystems-at-once", test_filesystems_at_once);
  g_test_add_func ("/psf/forkserver/large-request", test_large_request);
  g_test_add_func ("/psf/forkserver/dies-with-host", test_dies_with_host);
  g_test_add_func ("/psf/forkserver/out-of-fds", test_out_of_fds);

  return g_test_run ();
}
