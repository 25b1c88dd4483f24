/* test-faults.c: every injected fault, walked through the public API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs with LD_PRELOAD=libpsf-fault-shim.so (fault-shim.c). The test arms
 * the shim of its own process with psf_test_arm_faults() (test-utils):
 * "where=host" rules hit the library in this process, "where=child" rules
 * hit a FORK child (it inherits the rules) and, given through PSF_FAULT in
 * the task's environment, the SPAWN helper psf-child and a FORKSERVER
 * child (such a task also gets a umask, so that the server forks the
 * child, which reads the rules from its environment, rather than cloning
 * it). Host faults on anonymous pipes are not run with FORKSERVER: its
 * status pipe would take the fault instead of the report channel.
 *
 * Each test checks what the contract promises for its fault: the state and
 * returncode, the GError's domain, code and message (the call, the path and
 * the errno text), and that no fd, no child (zombie) and no task object is
 * left behind. Memory is checked by the valgrind and ASan runs of this
 * suite ('core').
 *
 * Every case asserts the behaviour the contract promises; none is left
 * marked incomplete.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "test-utils.h"

/* Fixture: a scratch directory and the fd/zombie counts before the test. */
typedef struct
{
  PsfStartMethod method;
  char          *tmpdir;
  char          *file;       /* a regular file in tmpdir */
  char          *build_dir;
  guint          fds_before;
  guint          zombies_before;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->method = GPOINTER_TO_INT (data);
  f->tmpdir = g_dir_make_tmp ("psf-faults-XXXXXX", &error);
  g_assert_no_error (error);
  f->file = g_build_filename (f->tmpdir, "file", NULL);
  g_assert_true (g_file_set_contents (f->file, "psf", -1, NULL));
  f->build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);

  f->fds_before = psf_test_count_fds ();
  f->zombies_before = psf_test_count_zombies ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  psf_test_disarm_faults (NULL);
  psf_test_drain_context ();

  /* Checked, not assumed: nothing of the test is left in this process. */
  g_assert_cmpuint (psf_test_count_fds (), ==, f->fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, f->zombies_before);

  g_unlink (f->file);
  g_rmdir (f->tmpdir);
  g_free (f->file);
  g_free (f->tmpdir);
  g_free (f->build_dir);
}

/* Drops the last reference of @task and checks that it is finalized once
 * the context has run: no source, no child watch kept it alive. */
static void
assert_finalized (gpointer task)
{
  gpointer weak = task;

  g_object_add_weak_pointer (G_OBJECT (task), &weak);
  g_object_unref (task);
  psf_test_drain_context ();
  g_assert_null (weak);
}

static void
assert_result (PsfSyncfsProcess *proc,
               guint             i,
               PsfSyncfsStatus   status,
               int               error_number)
{
  g_autoptr(GPtrArray) results = psf_syncfs_process_get_results (proc);
  PsfSyncfsResult *result;

  g_assert_cmpuint (i, <, results->len);
  result = g_ptr_array_index (results, i);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, status);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, error_number);
}

/* Synced by this path's syncfs() or by an earlier path's on the same
 * filesystem. */
static void
assert_synced (PsfSyncfsProcess *proc,
               guint             i)
{
  PsfSyncfsResult *result = psf_test_result_at (proc, i);

  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, 0);
  if (psf_syncfs_result_get_status (result) != PSF_SYNCFS_STATUS_DUPLICATE)
    g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_SYNCED);
}

/* wait_check() failed with PSF_ERROR @code and the message @expected. */
static void
assert_check_error (PsfTestCheck *check,
                    int           code,
                    const char   *expected)
{
  g_assert_false (check->ok);
  g_assert_error (check->error, PSF_ERROR, code);
  g_assert_cmpstr (check->error->message, ==, expected);
  g_clear_error (&check->error);
}

/* The task failed with @returncode and the message @expected, its first
 * @n_paths paths left unconfirmed (SKIPPED with errno 0: "not reached");
 * then it goes. */
static void
assert_failed_unconfirmed (PsfSyncfsProcess *proc,
                           PsfTestCheck     *check,
                           int               returncode,
                           const char       *expected,
                           guint             n_paths)
{
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, returncode);
  assert_check_error (check, PSF_ERROR_FAILED, expected);
  for (guint i = 0; i < n_paths; i++)
    assert_result (proc, i, PSF_SYNCFS_STATUS_SKIPPED, 0);
  assert_finalized (proc);
}

/* A start() that must fail: FALSE, the error, and a task still NEW with no
 * pid and no returncode; then, the fault gone, the same task starts and
 * succeeds (a failed start leaves nothing half-done behind). */
static void
assert_start_fails_in (PsfTask    *task,
                       gboolean    host_fault,
                       int         code,
                       const char *message)
{
  g_autoptr(GError) error = NULL;
  PsfTestCheck check = { 0 };

  g_assert_false (psf_task_start (task, &error));
  g_assert_error (error, PSF_ERROR, code);
  /* @message may be a glob: fd numbers in a forkserver child are its own. */
  if (!g_pattern_match_simple (message, error->message))
    g_assert_cmpstr (error->message, ==, message);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (psf_task_get_returncode (task), ==, PSF_RETURNCODE_NONE);
  g_assert_false (psf_task_is_alive (task));
  if (PSF_IS_SUBPROCESS (task))
    g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (task)), ==, 0);
  /* A fault in a FORK child is not counted in this process. */
  if (host_fault)
    g_assert_cmpuint (psf_test_fault_hits (), >=, 1);

  psf_test_disarm_faults (PSF_IS_SPAWN_PROCESS (task) ? PSF_SPAWN_PROCESS (task) : NULL);
  psf_test_run_checked (task, &check);
  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  g_assert_cmpint (psf_task_get_returncode (task), ==, 0);
}

#define assert_start_fails(task, code, message) \
  assert_start_fails_in ((task), TRUE, (code), (message))

/* ---- faults in the host: start() must fail cleanly ------------------------ */

/* A SyncfsProcess over the fixture's file, started with @method, whose
 * start() the host fault @rule makes fail with PSF_ERROR_SPAWN and
 * @expected; without the fault it then starts and syncs the file, and
 * goes. */
static void
assert_host_fault_fails_start (Fixture        *f,
                               PsfStartMethod  method,
                               const char     *rule,
                               const char     *expected)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc = psf_test_syncfs_new (method, paths);

  psf_test_arm_faults (NULL, rule);
  assert_start_fails (PSF_TASK (proc), PSF_ERROR_SPAWN, expected);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

static void
test_host_pipe2 (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *expected = g_strdup_printf ("pipe2(): %s", g_strerror (EMFILE));

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  assert_host_fault_fails_start (f, f->method, "pipe2,errno=EMFILE,where=host", expected);
}

static void
test_host_memfd_create (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *expected = g_strdup_printf ("memfd_create(): %s", g_strerror (ENOMEM));

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  assert_host_fault_fails_start (f, PSF_START_METHOD_SPAWN,
                                 "memfd_create,errno=ENOMEM,where=host", expected);
}

static void
test_host_write_input (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *expected = g_strdup_printf ("write(memfd): %s", g_strerror (ENOSPC));

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  assert_host_fault_fails_start (f, PSF_START_METHOD_SPAWN,
                                 "write,errno=ENOSPC,path=/memfd:psf-input*,where=host",
                                 expected);
}

static void
test_host_posix_spawn (Fixture       *f,
                       gconstpointer  data)
{
  const char *helper = g_getenv ("PSF_CHILD_PATH");
  g_autofree char *expected = NULL;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  g_assert_nonnull (helper);
  /* The message names the helper's path and the errno text (not the
   * syscall: for a person, "cannot run the helper" is the useful part). */
  expected = g_strdup_printf ("Cannot run the helper %s: %s", helper, g_strerror (EAGAIN));
  assert_host_fault_fails_start (f, PSF_START_METHOD_SPAWN,
                                 "posix_spawn,errno=EAGAIN,where=host", expected);
}

static int
exit_func (int      report_fd,
           gpointer user_data)
{
  return GPOINTER_TO_INT (user_data);
}

static void
test_host_fork (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *expected = g_strdup_printf ("fork(): %s", g_strerror (EAGAIN));
  PsfForkProcess *func;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  assert_host_fault_fails_start (f, PSF_START_METHOD_FORK, "fork,errno=EAGAIN,where=host",
                                 expected);

  func = psf_fork_process_new_with_func (exit_func, GINT_TO_POINTER (0), NULL);
  psf_test_arm_faults (NULL, "fork,errno=ENOMEM,where=host");
  g_free (expected);
  expected = g_strdup_printf ("fork(): %s", g_strerror (ENOMEM));
  assert_start_fails (PSF_TASK (func), PSF_ERROR_SPAWN, expected);
  assert_finalized (func);
}

/* PsfSpawnProcess goes through g_spawn: GLib's message is passed on. */
static void
test_host_spawn_process (Fixture       *f,
                         gconstpointer  data)
{
  static const struct { const char *spec; int error; } cases[] = {
    { "fork,errno=EAGAIN,where=host;posix_spawn,errno=EAGAIN,where=host", EAGAIN },
    { "pipe2,errno=EMFILE,where=host", EMFILE },
  };

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PsfSpawnProcess *proc = psf_test_prog_new ("exit", "0");
      g_autoptr(GError) error = NULL;
      PsfTestCheck check = { 0 };

      psf_test_arm_faults (NULL, cases[i].spec);
      g_assert_false (psf_task_start (PSF_TASK (proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
      g_test_message ("%s -> %s", cases[i].spec, error->message);
      g_assert_nonnull (strstr (error->message, g_strerror (cases[i].error)));
      g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
      g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);

      psf_test_disarm_faults (NULL);
      psf_test_run_checked (PSF_TASK (proc), &check);
      g_assert_true (check.ok);
      assert_finalized (proc);
    }
}

/* Without pidfd_open() (old kernels, seccomp), signals go through kill():
 * cancel still works. The child hangs inside syncfs() until it is killed. */
static void
test_host_no_pidfd (Fixture       *f,
                    gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (f->method, paths);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc),
       "pidfd_open,errno=ENOSYS,where=host;syncfs,action=hang,where=child");
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  g_assert_cmpuint (psf_test_fault_hits (), >=, 1);
  psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until (&check.done, 30000);
  psf_test_disarm_faults (NULL);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_CANCELLED);
  g_clear_error (&check.error);
  assert_finalized (proc);
}

/* A SyncfsProcess of @paths with @f's start method, run to its end
 * (wait_check) with the rules @spec armed in this process, which a FORK
 * child copies, and removed afterwards. Host rules (@host) must have
 * injected a fault here; child rules also go into the task's environment,
 * for the helper or a forkserver child (a set-up option with it: see
 * psf_test_give_fault_rules()). */
static PsfSyncfsProcess *
run_with_faults (Fixture            *f,
                 const char * const *paths,
                 const char         *spec,
                 gboolean            host,
                 PsfTestCheck       *check)
{
  PsfSyncfsProcess *proc = psf_test_syncfs_new (f->method, paths);

  psf_test_arm_faults (host ? NULL : PSF_SPAWN_PROCESS (proc), spec);
  psf_test_run_checked (PSF_TASK (proc), check);
  if (host)
    g_assert_cmpuint (psf_test_fault_hits (), >=, 1);
  psf_test_disarm_faults (NULL);
  return proc;
}

/* The parent cannot read the report at all: the child synced, but nobody
 * can know. The task fails (returncode 128 + errno: the report channel
 * failed), and every path stays unconfirmed. */
static void
test_host_read_report (Fixture       *f,
                       gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, NULL };
  g_autofree char *expected = g_strdup_printf ("The report of the child could not be read: "
                                               "read(report channel): %s", g_strerror (EIO));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = run_with_faults (f, paths, "read,errno=EIO,path=pipe:*,where=host", TRUE, &check);

  /* Unreported paths are SKIPPED with errno 0: "not reached". */
  assert_failed_unconfirmed (proc, &check, 128 + EIO, expected, 2);
}

/* The report of a short task is read once at the reap, after an
 * ioctl(FIONREAD) that says how much is there: when that fails, the
 * report is lost as when its read() fails, and the error names the call.
 * The loop runs only once the child has exited, so that the task is
 * "short" however slow this build is (valgrind, ASan): the reap comes
 * before the late-watch timer. */
static void
test_host_report_fionread (Fixture       *f,
                           gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = g_strdup_printf ("The report of the child could not be read: "
                                               "ioctl(report channel, FIONREAD): %s",
                                               g_strerror (EIO));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  siginfo_t info;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (f->method, paths);
  psf_test_arm_faults (NULL, "ioctl,errno=EIO,path=pipe:*,where=host");
  psf_test_assert_started (PSF_TASK (proc));
  /* Exited, not reaped (WNOWAIT): the task's watch still reaps it. Where
   * GLib's child watch stands in (valgrind: no pidfds), GLib's worker
   * thread may have reaped it already: ECHILD, exited all the same. */
  if (waitid (P_PID, (id_t) psf_subprocess_get_pid (PSF_SUBPROCESS (proc)),
              &info, WEXITED | WNOWAIT) < 0)
    {
      /* Or not ours at all: a forkserver's child (its server forks and
       * relays in sanitizer builds) is looked at in /proc. */
      GPid pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));

      g_assert_cmpint (errno, ==, ECHILD);
      for (guint i = 0; i < 10000 && psf_test_proc_state (pid) != 'Z' &&
                        psf_test_proc_state (pid) != 0; i++)
        g_usleep (1000);
    }
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  psf_test_run_until (&check.done, 30000);
  g_assert_cmpuint (psf_test_fault_hits (), >=, 1);
  psf_test_disarm_faults (NULL);

  assert_failed_unconfirmed (proc, &check, 128 + EIO, expected, 1);
}

/* A kernel with pidfds but without waitid(P_PIDFD) (Linux 5.3) answers
 * EINVAL: the child is reaped with waitpid() instead, and nothing else
 * changes. */
static void
test_host_waitid_einval (Fixture       *f,
                         gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  {
    int probe = (int) syscall (SYS_pidfd_open, getpid (), 0);

    if (probe < 0 && errno == ENOSYS)
      {
        g_test_skip ("no pidfd_open() here (valgrind): GLib's child watch reaps, not waitid()");
        return;
      }
    if (probe >= 0)
      close (probe);
  }
#if defined(__SANITIZE_ADDRESS__)
  if (f->method == PSF_START_METHOD_FORKSERVER)
    {
      g_test_skip ("AddressSanitizer builds fork every forkserver child: "
                   "the server relays its exit, no waitid()");
      return;
    }
#endif
  proc = run_with_faults (f, paths, "waitid,errno=EINVAL,where=host", TRUE, &check);
  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

/* One failed read() on the watched report channel: the rest is read at the
 * reap, nothing is lost. A report that always fits the pipe (a few paths)
 * is not watched but read once at the reap, so this one has more paths
 * than PIPE_BUF holds records for. */
static void
test_host_read_report_once (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  g_ptr_array_add (paths, f->file);
  for (guint i = 0; i < 200; i++)  /* 24-byte records: 4.8 kB > PIPE_BUF */
    g_ptr_array_add (paths, f->build_dir);
  g_ptr_array_add (paths, NULL);
  proc = psf_test_syncfs_new (f->method, (const char * const *) paths->pdata);
  /* The child waits a little so the watch, not the reap, reads first. */
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc),
       "read,errno=EIO,nth=1,path=pipe:*,where=host;"
       "syncfs,action=delay,ms=50,where=child");
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);

  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  assert_synced (proc, 0);
  assert_synced (proc, 1);
  assert_finalized (proc);
}

/* cancel() when the signal cannot be sent (EPERM: a child under another
 * uid, an LSM): a warning, and the task keeps running until the child
 * ends. */
static void
test_host_signal_fails (Fixture       *f,
                        gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  g_autoptr(GError) error = NULL;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (f->method, paths);
  psf_subprocess_set_cancel_timeout (PSF_SUBPROCESS (proc), 50);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc),
       "pidfd_send_signal,errno=EPERM,where=host;kill,errno=EPERM,where=host;"
       "syncfs,action=hang,where=child");
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);

  g_test_expect_message ("Psf", G_LOG_LEVEL_WARNING, "*Operation not permitted*");
  psf_task_cancel (PSF_TASK (proc));
  g_test_assert_expected_messages ();

  /* Past the escalation delay: the SIGKILL failed too, still running. */
  g_usleep (150 * 1000);
  psf_test_drain_context ();
  g_assert_true (psf_task_is_alive (PSF_TASK (proc)));
  g_assert_false (check.done);

  psf_test_disarm_faults (NULL);
  psf_test_assert_ok (psf_subprocess_send_signal (PSF_SUBPROCESS (proc), SIGKILL, &error), error);
  psf_test_run_until (&check.done, 30000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGKILL);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_CANCELLED);
  g_clear_error (&check.error);
  assert_finalized (proc);
}

static gboolean
has_property (gpointer     object,
              const char  *name)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (object), name) != NULL;
}

/* The log file cannot be opened: start() fails, naming the file and the
 * errno text, and nothing is left behind. */
static void
test_host_logfile_open (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *logfile = g_build_filename (f->tmpdir, "psf.log", NULL);
  g_autofree char *spec = g_strdup_printf ("open,errno=EACCES,path=%s,where=host;"
                                           "openat,errno=EACCES,path=%s,where=host",
                                           logfile, logfile);
  g_autoptr(GError) error = NULL;
  PsfSpawnProcess *proc = psf_test_prog_new ("exit", "0");

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (!has_property (proc, "logfile"))
    {
      g_object_unref (proc);
      g_test_skip ("no logfile option");
      return;
    }

  g_object_set (proc, "logfile", logfile, "background", TRUE, NULL);
  psf_test_arm_faults (NULL, spec);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  psf_test_disarm_faults (NULL);
  g_assert_nonnull (error);
  g_assert_true (error->domain == PSF_ERROR);
  g_assert_nonnull (strstr (error->message, logfile));
  g_assert_nonnull (strstr (error->message, g_strerror (EACCES)));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_false (g_file_test (logfile, G_FILE_TEST_EXISTS));
  assert_finalized (proc);
}

/* No pseudo-terminal for the output (the slave cannot be opened): the
 * output goes through a pipe instead and still reaches the log. */
static void
test_host_logfile_no_pty (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *logfile = g_build_filename (f->tmpdir, "psf.log", NULL);
  g_autofree char *contents = NULL;
  PsfSpawnProcess *proc = psf_test_prog_new ("cwd", NULL);
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (!has_property (proc, "logfile"))
    {
      g_object_unref (proc);
      g_test_skip ("no logfile option");
      return;
    }

  g_object_set (proc, "logfile", logfile, "background", TRUE, "cwd", f->tmpdir, NULL);
  psf_test_arm_faults (NULL, "open,errno=EACCES,path=/dev/pts/*,where=host");
  psf_test_run_checked (PSF_TASK (proc), &check);
  /* 0 when this machine has no pseudo-terminals at all: a pipe either way. */
  g_test_message ("pty slave opens refused: %u", psf_test_fault_hits ());
  psf_test_disarm_faults (NULL);
  g_assert_true (check.ok);
  g_assert_true (g_file_get_contents (logfile, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, f->tmpdir));
  g_unlink (logfile);
  assert_finalized (proc);
}

/* ---- faults in the child: the run completes and says what happened -------- */

static gboolean
same_device (const char *a,
             const char *b)
{
  struct stat sa, sb;

  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/* Whether /dev/shm is on another filesystem than the build tree; skips
 * the test if not. */
static gboolean
shm_apart_from_build_tree (Fixture *f)
{
  if (!same_device (f->build_dir, "/dev/shm"))
    return TRUE;
  g_test_skip ("needs /dev/shm on another filesystem than the build tree");
  return FALSE;
}

/* The second syncfs() call of the child fails. Which filesystem that is
 * depends on the routine (it may sync filesystems in parallel): exactly
 * one fails, the other is synced, and the message names the one. */
static void
test_child_syncfs_nth (Fixture       *f,
                       gconstpointer  data)
{
  const char *paths[] = { f->build_dir, "/dev/shm", NULL };
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *expected = NULL;
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  guint failed;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (!shm_apart_from_build_tree (f))
    return;

  proc = run_with_faults (f, paths, "syncfs,errno=EIO,nth=2,where=child", FALSE, &check);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  results = psf_syncfs_process_get_results (proc);
  failed = psf_syncfs_result_get_status (g_ptr_array_index (results, 0)) ==
           PSF_SYNCFS_STATUS_FAILED ? 0 : 1;
  assert_result (proc, failed, PSF_SYNCFS_STATUS_FAILED, EIO);
  assert_synced (proc, 1 - failed);
  expected = g_strdup_printf ("syncfs(%s): %s", paths[failed], g_strerror (EIO));
  assert_check_error (&check, PSF_ERROR_FAILED, expected);
  assert_finalized (proc);
}

static void
test_child_syncfs_path (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *shm_file = g_strdup_printf ("/dev/shm/psf-faults-%d", (int) getpid ());
  const char *paths[] = { "/dev/shm", f->build_dir, shm_file, NULL };
  g_autofree char *expected = g_strdup_printf ("syncfs(/dev/shm): %s (and 1 more path failed)",
                                               g_strerror (EROFS));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (!shm_apart_from_build_tree (f))
    return;
  g_assert_true (g_file_set_contents (shm_file, "psf", -1, NULL));

  proc = run_with_faults (f, paths, "syncfs,errno=EROFS,path=/dev/shm,where=child", FALSE,
                          &check);
  g_unlink (shm_file);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  assert_result (proc, 0, PSF_SYNCFS_STATUS_FAILED, EROFS);
  assert_synced (proc, 1);
  /* The same filesystem again: not retried, the failure is repeated. */
  assert_result (proc, 2, PSF_SYNCFS_STATUS_FAILED, EROFS);
  assert_check_error (&check, PSF_ERROR_FAILED, expected);
  assert_finalized (proc);
}

static void
test_child_open_path (Fixture       *f,
                      gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, NULL };
  g_autofree char *spec = g_strdup_printf ("open,errno=EACCES,path=%s,where=child", f->file);
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = run_with_faults (f, paths, spec, FALSE, &check);

  /* Portage's rule: an unopenable path is skipped, the run succeeds. */
  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  assert_result (proc, 0, PSF_SYNCFS_STATUS_SKIPPED, EACCES);
  assert_synced (proc, 1);
  assert_finalized (proc);
}

static void
test_child_open_all (Fixture       *f,
                     gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, "/dev/shm", NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = run_with_faults (f, paths, "open,errno=EMFILE,where=child", FALSE, &check);

  /* Still Portage's rule: nothing could be opened, nothing failed. The
   * results are where a caller sees it. */
  g_assert_true (check.ok);
  for (guint i = 0; i < 3; i++)
    assert_result (proc, i, PSF_SYNCFS_STATUS_SKIPPED, EMFILE);
  assert_finalized (proc);
}

static void
test_child_stat_path (Fixture       *f,
                      gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, NULL };
  g_autofree char *spec = g_strdup_printf ("stat,errno=EOVERFLOW,path=%s,where=child", f->file);
  g_autoptr(GPtrArray) results = NULL;
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = run_with_faults (f, paths, spec, FALSE, &check);

  g_assert_true (check.ok);
  assert_result (proc, 0, PSF_SYNCFS_STATUS_SKIPPED, EOVERFLOW);
  assert_synced (proc, 1);
  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (psf_syncfs_result_get_device (g_ptr_array_index (results, 0)), ==, 0);
  assert_finalized (proc);
}

/* The child cannot write its report: it synced, but the parent cannot
 * know. The routine exits 128 + errno, and wait_check says why. */
static void
test_child_write_report (Fixture       *f,
                         gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = g_strdup_printf ("The child could not send its report: "
                                               "write(report channel): %s", g_strerror (EIO));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  /* A forked forkserver child first writes "set up" on its status pipe. */
  proc = run_with_faults (f, paths,
                          f->method == PSF_START_METHOD_FORKSERVER
                          ? "write,errno=EIO,path=pipe:*,nth=2,where=child"
                          : "write,errno=EIO,path=pipe:*,where=child",
                          FALSE, &check);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 128 + EIO);
  assert_result (proc, 0, PSF_SYNCFS_STATUS_SKIPPED, 0);
  assert_check_error (&check, PSF_ERROR_FAILED, expected);
  assert_finalized (proc);
}

static void
test_child_segv (Fixture       *f,
                 gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, NULL };
  g_autofree char *expected = g_strdup_printf ("The child process was killed by signal %d (%s)",
                                               SIGSEGV, g_strsignal (SIGSEGV));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = run_with_faults (f, paths, "syncfs,action=segv,where=child", FALSE, &check);

  /* Died before its report: every path unconfirmed. */
  assert_failed_unconfirmed (proc, &check, -SIGSEGV, expected, 2);
}

/* A crash in the syncfs() of a filesystem that is not the first: with
 * FORKSERVER a sub-process of the child syncs it. However it is synced
 * (the child itself, a thread, a sub-process), the task ends as a child
 * that died of SIGSEGV, and the filesystem has no record (no errno is made
 * up for it). */
static void
test_child_segv_second_filesystem (Fixture       *f,
                                   gconstpointer  data)
{
  const char *paths[] = { f->build_dir, "/dev/shm", NULL };
  g_autofree char *expected = g_strdup_printf ("The child process was killed by signal %d (%s)",
                                               SIGSEGV, g_strsignal (SIGSEGV));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (!shm_apart_from_build_tree (f))
    return;
  proc = run_with_faults (f, paths, "syncfs,action=segv,path=/dev/shm,where=child", FALSE,
                          &check);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGSEGV);
  assert_result (proc, 1, PSF_SYNCFS_STATUS_SKIPPED, 0);
  assert_check_error (&check, PSF_ERROR_FAILED, expected);
  assert_finalized (proc);
}

/* One process, told apart from a later one with the same pid. */
typedef struct
{
  GPid    pid;
  guint64 start_time;
} ProcessId;

/* When @pid started (field 22 of /proc/PID/stat), or 0 if it is gone or
 * only a zombie. */
static guint64
process_start_time (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *close_paren;

  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (close_paren = strrchr (contents, ')')) == NULL || close_paren[1] != ' ')
    return 0;
  /* From the state (field 3) on. */
  fields = g_strsplit (close_paren + 2, " ", 0);
  if (g_strv_length (fields) < 20 || fields[0][0] == 'Z' || fields[0][0] == 'X')
    return 0;
  return g_ascii_strtoull (fields[19], NULL, 10);
}

/* The live processes whose parent is @parent. */
static GArray *
processes_of (GPid parent)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  GArray *found = g_array_new (FALSE, FALSE, sizeof (ProcessId));
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      ProcessId id = { 0, 0 };

      if (!g_ascii_isdigit (name[0]))
        continue;
      id.pid = atoi (name);
      if (psf_test_proc_parent (id.pid) == parent &&
          (id.start_time = process_start_time (id.pid)) != 0)
        g_array_append_val (found, id);
    }
  return found;
}

/* Waits (10 s at most) until @parent has @n live children, and returns
 * them. */
static GArray *
wait_for_processes_of (GPid  parent,
                       guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      GArray *found = processes_of (parent);

      if (found->len >= n || g_get_monotonic_time () > deadline)
        {
          g_assert_cmpuint (found->len, ==, n);
          return found;
        }
      g_array_unref (found);
      g_usleep (10 * 1000);
    }
}

/* How many of @processes are still alive after @timeout_ms; those are
 * killed, so that they do not outlive the test. */
static guint
count_survivors (GArray *processes,
                 guint   timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;
  guint alive;

  for (;;)
    {
      alive = 0;
      for (guint i = 0; i < processes->len; i++)
        {
          ProcessId *id = &g_array_index (processes, ProcessId, i);

          if (process_start_time (id->pid) == id->start_time)
            alive++;
        }
      if (alive == 0 || g_get_monotonic_time () > deadline)
        break;
      g_usleep (10 * 1000);
    }
  for (guint i = 0; i < processes->len; i++)
    {
      ProcessId *id = &g_array_index (processes, ProcessId, i);

      if (process_start_time (id->pid) == id->start_time)
        kill (id->pid, SIGKILL);
    }
  return alive;
}

/* A FORKSERVER child syncs three filesystems, each but the first in a
 * sub-process of its own, all slow (30 s); the child ends (@kill_child:
 * SIGKILL from outside; else cancel(), SIGTERM), and its sub-processes go
 * with it: none keeps syncing, or holds the caller's fds, after the exit,
 * which comes at once although they held the report channel. @forked: the
 * task has a set-up option, and the server forks the child rather than
 * cloning it as the host's own. */
static void
run_sub_processes_end (Fixture  *f,
                       gboolean  forked,
                       gboolean  kill_child)
{
  const char *paths[] = { f->build_dir, "/dev/shm", "/dev", NULL };
  g_autoptr(GArray) sub_processes = NULL;
  PsfSyncfsProcess *proc;
  GPid child;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (same_device (f->build_dir, "/dev/shm") || same_device (f->build_dir, "/dev") ||
      same_device ("/dev/shm", "/dev"))
    {
      g_test_skip ("needs the build tree, /dev/shm and /dev on three filesystems");
      return;
    }

  proc = psf_test_syncfs_new (PSF_START_METHOD_FORKSERVER, paths);
  if (forked)
    {
      psf_test_give_fault_rules (PSF_SPAWN_PROCESS (proc), "syncfs,action=delay,ms=30000");
    }
  else
    {
      /* Read by the shim at each syncfs(): no set-up option needed. */
      g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "PSF_SHIM_SYNCFS_DELAY_MS",
                                            "30000", TRUE);

      psf_spawn_process_set_env (PSF_SPAWN_PROCESS (proc), (const char * const *) env);
    }
  psf_test_assert_started (PSF_TASK (proc));
  child = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
  /* The server's child, or one of ours (cloned with CLONE_PARENT), but
   * where the server forks every child (built with AddressSanitizer, as
   * this test then is: see VM_CHILDREN in psf-forkserver-server.c). */
  if (forked)
    g_assert_cmpint (psf_test_proc_parent (child), !=, getpid ());
#if !defined(__SANITIZE_ADDRESS__)
  else
    g_assert_cmpint (psf_test_proc_parent (child), ==, getpid ());
#endif
  sub_processes = wait_for_processes_of (child, 2);

  if (kill_child)
    g_assert_no_errno (kill (child, SIGKILL));
  else
    psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until_exited (PSF_TASK (proc), 10000);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==,
                   kill_child ? -SIGKILL : -SIGTERM);
  g_assert_cmpuint (count_survivors (sub_processes, 3000), ==, 0);
  assert_finalized (proc);
}

static void
test_child_cancel_ends_sub_processes (Fixture       *f,
                                      gconstpointer  data)
{
  run_sub_processes_end (f, FALSE, FALSE);
}

static void
test_child_kill_ends_sub_processes (Fixture       *f,
                                    gconstpointer  data)
{
  run_sub_processes_end (f, TRUE, TRUE);
}

static void
test_child_hang_timeout (Fixture       *f,
                         gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  g_autofree char *expected = NULL;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (f->method, paths);
  psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 300);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=hang,where=child");
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);

  expected = g_strdup_printf ("Process %d timed out after 300 ms",
                              (int) psf_subprocess_get_pid (PSF_SUBPROCESS (proc)));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_true (psf_subprocess_get_timed_out (PSF_SUBPROCESS (proc)));
  assert_check_error (&check, PSF_ERROR_TIMED_OUT, expected);
  assert_finalized (proc);
}

/* A syncfs that ignores SIGTERM (hung in the kernel, or a hostile
 * helper): cancel() escalates to SIGKILL after cancel-timeout. */
static void
test_child_hang_ignore_term (Fixture       *f,
                             gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  int ready[2];
  char byte;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_pipe_high (ready);
  proc = psf_test_syncfs_new (f->method, paths);
  psf_subprocess_set_cancel_timeout (PSF_SUBPROCESS (proc), 200);
  /* The child's syncfs() says "r" on fd 9 once SIGTERM is ignored. */
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), ready[1], 9);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=hang-ignore-term,notify=9,where=child");
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  g_assert_true (psf_test_wait_fd (ready[0], 30000));
  g_assert_cmpint (read (ready[0], &byte, 1), ==, 1);

  psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until (&check.done, 30000);
  psf_test_disarm_faults (NULL);
  close (ready[0]);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGKILL);
  g_assert_true (psf_task_get_cancelled (PSF_TASK (proc)));
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_CANCELLED);
  g_clear_error (&check.error);
  assert_finalized (proc);
}

typedef struct
{
  int      grandchild_end;
  gboolean grandchild_alive_at_exit;
} ExitProbe;

static void
probe_exited_cb (PsfTask   *task,
                 int        returncode,
                 ExitProbe *probe)
{
  GPollFD pfd = { probe->grandchild_end, G_IO_IN | G_IO_HUP, 0 };

  /* The grandchild still holds the report channel: no hang-up yet. */
  g_assert_cmpint (g_poll (&pfd, 1, 0), >=, 0);
  probe->grandchild_alive_at_exit = !(pfd.revents & G_IO_HUP);
}

/* A grandchild that outlives the child and keeps every inherited fd,
 * the report channel too: the exit is still reported at the child's exit,
 * with the full report. */
static void
test_child_grandchild (Fixture       *f,
                       gconstpointer  data)
{
  const char *paths[] = { f->file, f->build_dir, NULL };
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  ExitProbe probe = { 0 };
  pid_t grandchild = 0;
  int hold[2];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_pipe_high (hold);
  probe.grandchild_end = hold[0];

  proc = psf_test_syncfs_new (f->method, paths);
  /* fd 9 in the child, inherited by the grandchild: EOF here when it ends. */
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), hold[1], 9);
  g_signal_connect (proc, "exited", G_CALLBACK (probe_exited_cb), &probe);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=grandchild,ms=60000,notify=9,nth=1,where=child");
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);
  g_assert_true (psf_test_wait_fd (hold[0], 30000));
  g_assert_cmpint (read (hold[0], &grandchild, sizeof grandchild), ==, sizeof grandchild);
  g_assert_cmpint (grandchild, >, 0);

  g_assert_no_error (check.error);
  g_assert_true (probe.grandchild_alive_at_exit);
  g_assert_true (check.ok);
  assert_synced (proc, 0);
  assert_synced (proc, 1);
  assert_finalized (proc);

  /* Not ours to reap (it was reparented): end it, and wait until it is
   * gone so that it does not outlive the test. */
  g_assert_no_errno (kill (grandchild, SIGKILL));
  g_assert_true (psf_test_wait_fd (hold[0], 30000));
  close (hold[0]);
}

/* The helper cannot map its input: the reason comes back on the report
 * channel. */
static void
test_child_mmap_input (Fixture       *f,
                       gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = g_strdup_printf ("The helper could not map its input: "
                                               "mmap(fd 4): %s", g_strerror (ENOMEM));
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (PSF_START_METHOD_SPAWN, paths);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "mmap,errno=ENOMEM,path=/memfd:psf-input*,where=child");
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);

  assert_failed_unconfirmed (proc, &check, 2, expected, 1);
}

/* The FORK child cannot install a mapped fd: it says so on the setup
 * channel, and start() fails naming the call, both fds and the errno text
 * (the child is reaped, the fd is still the task's: a later start()
 * works). */
static void
test_child_dup2 (Fixture       *f,
                 gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = NULL;
  PsfSyncfsProcess *proc;
  int fds[2];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_pipe_high (fds);
  close (fds[0]);
  /* A forkserver child installs the host's stdio first, also with dup2(). */
  if (f->method == PSF_START_METHOD_FORKSERVER)
    expected = g_strdup_printf ("dup2(* -> *): %s", g_strerror (EBADF));
  else
    expected = g_strdup_printf ("dup2(%d -> 9): %s", fds[1], g_strerror (EBADF));
  proc = psf_test_syncfs_new (f->method, paths);
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), fds[1], 9);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "dup2,errno=EBADF,where=child");
  assert_start_fails_in (PSF_TASK (proc), FALSE, PSF_ERROR_SPAWN, expected);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

/* The FORK child cannot enter its working directory (it went between the
 * parent's look and the child's chdir()). */
static void
test_child_chdir (Fixture       *f,
                  gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = g_strdup_printf ("chdir(%s): %s", f->tmpdir, g_strerror (ENOENT));
  PsfSyncfsProcess *proc;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  proc = psf_test_syncfs_new (f->method, paths);
  psf_spawn_process_set_cwd (PSF_SPAWN_PROCESS (proc), f->tmpdir);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "chdir,errno=ENOENT,where=child");
  assert_start_fails_in (PSF_TASK (proc), FALSE, PSF_ERROR_SPAWN, expected);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

/* The FORK child cannot move its own fds above the fd map's targets
 * (EMFILE): start() fails naming fcntl and the errno text. */
static void
test_child_fcntl (Fixture       *f,
                  gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  PsfSyncfsProcess *proc;
  g_autoptr(GError) error = NULL;
  PsfTestCheck check = { 0 };
  int fds[2];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_pipe_high (fds);
  close (fds[0]);
  proc = psf_test_syncfs_new (PSF_START_METHOD_FORK, paths);
  /* Above every fd of this process: each of psf's own has to move. */
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), fds[1], 200);
  psf_test_arm_faults (NULL, "fcntl,errno=EMFILE,where=child");
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_true (g_str_has_prefix (error->message, "fcntl("));
  g_assert_true (g_str_has_suffix (error->message, g_strerror (EMFILE)));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  psf_test_disarm_faults (NULL);

  psf_test_run_checked (PSF_TASK (proc), &check);
  g_assert_no_error (check.error);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

/* ---- bad input ------------------------------------------------------------ */

/* A working directory that does not exist. GLib's spawn (PsfSpawnProcess)
 * is the model: start() fails and names chdir, the directory and the
 * errno text. */
static void
test_bad_cwd (Fixture       *f,
              gconstpointer  data)
{
  const char *missing = "/nonexistent-psf-cwd";
  const char *paths[] = { f->file, NULL };
  g_autofree char *expected = g_strdup_printf ("chdir(%s): %s", missing, g_strerror (ENOENT));
  g_autoptr(GError) error = NULL;
  PsfSyncfsProcess *proc;
  PsfTestCheck check = { 0 };
  PsfSpawnProcess *spawn = psf_test_prog_new ("exit", "0");

  psf_spawn_process_set_cwd (spawn, missing);
  g_assert_false (psf_task_start (PSF_TASK (spawn), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_clear_error (&error);
  assert_finalized (spawn);

  /* The same for every start method: start() fails before anything is
   * made, and the task starts later with a directory that exists. */
  proc = psf_test_syncfs_new (f->method, paths);
  psf_spawn_process_set_cwd (PSF_SPAWN_PROCESS (proc), missing);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  g_clear_error (&error);

  /* A file is not a directory either. */
  psf_spawn_process_set_cwd (PSF_SPAWN_PROCESS (proc), f->file);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_free (expected);
  expected = g_strdup_printf ("chdir(%s): %s", f->file, g_strerror (ENOTDIR));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  psf_spawn_process_set_cwd (PSF_SPAWN_PROCESS (proc), f->tmpdir);
  psf_test_run_checked (PSF_TASK (proc), &check);
  g_assert_no_error (check.error);
  assert_synced (proc, 0);
  assert_finalized (proc);
}

/* Reads what arrived on @fd (non-blocking) into a string. */
static char *
read_available (int    fd,
                gsize *len)
{
  GString *s = g_string_new (NULL);
  char buf[256];
  ssize_t n;

  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (s, buf, n);
  *len = s->len;
  return g_string_free (s, FALSE);
}

/* take_fd() with a source fd numbered 3, 4 or 5: the numbers the SPAWN
 * helper gets its report channel, input and set-up channel on. The child
 * must still see the caller's fd at the target, and the report must still
 * arrive. */
static void
test_fd_map_low_source (Fixture       *f,
                        gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  gboolean tried = FALSE;

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  for (int low = 3; low <= 5; low++)
    {
      g_autoptr(PsfSyncfsProcess) proc = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) results = NULL;
      g_autofree char *got = NULL;
      g_autofree char *spec = NULL;
      PsfSyncfsStatus status;
      gsize len;
      int fds[2];

      if (fcntl (low, F_GETFD) >= 0)
        continue; /* in use here */
      tried = TRUE;

      psf_test_pipe_high (fds);
      g_assert_cmpint (dup3 (fds[1], low, O_CLOEXEC), ==, low);
      close (fds[1]);

      proc = psf_test_syncfs_new (f->method, paths);
      /* A target far above anything psf uses itself. */
      psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), low, 60);
      /* Also through a set-up channel (fd 5), when there is one. */
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (proc), "umask") != NULL)
        g_object_set (proc, "umask", 022, NULL);
      spec = g_strdup ("syncfs,action=delay,ms=0,notify=60,where=child");
      psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), spec);
      psf_test_start_and_wait (PSF_TASK (proc), 30000);
      psf_test_disarm_faults (NULL);

      got = read_available (fds[0], &len);
      close (fds[0]);
      results = psf_syncfs_process_get_results (proc);
      status = psf_syncfs_result_get_status (g_ptr_array_index (results, 0));

      /* The caller's pipe, not one of the helper's own fds. */
      g_test_message ("take_fd(%d, 60): the child's fd 60 said \"%s\"", low, got);
      g_assert_cmpstr (got, ==, "r");
      g_assert_cmpint (status, ==, PSF_SYNCFS_STATUS_SYNCED);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
    }

  if (!tried)
    g_test_skip ("fds 3 to 5 are all in use in this process");
}

/* take_fd() onto the target number the FORK child's report channel gets
 * (the lowest free fds at start()): the caller cannot know that number,
 * so psf moves its own channels out of the way in the child. */
static void
test_fd_map_internal_target (Fixture       *f,
                             gconstpointer  data)
{
  const char *paths[] = { f->file, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *got = NULL;
  PsfSyncfsStatus status;
  gsize len;
  int fds[2];
  int probe[2];
  int target;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_pipe_high (fds);

  /* The report pipe will be the two lowest free fds: its write end is
   * the second. */
  g_assert_no_errno (pipe2 (probe, O_CLOEXEC));
  target = probe[1];
  close (probe[0]);
  close (probe[1]);

  proc = psf_test_syncfs_new (PSF_START_METHOD_FORK, paths);
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), fds[1], target);
  spec = g_strdup_printf ("syncfs,action=delay,ms=0,notify=%d,where=child", target);
  psf_test_arm_faults (NULL, spec);
  /* psf's own fds move out of the way: the target gets the caller's fd. */
  psf_test_start_and_wait (PSF_TASK (proc), 30000);
  psf_test_disarm_faults (NULL);

  got = read_available (fds[0], &len);
  close (fds[0]);
  results = psf_syncfs_process_get_results (proc);
  status = psf_syncfs_result_get_status (g_ptr_array_index (results, 0));
  g_assert_cmpuint (len, ==, 1);
  g_assert_cmpint (got[0], ==, 'r');
  g_assert_cmpint (status, ==, PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
}

/* Warms up what GLib and the library create once per process (the child
 * watch machinery, the worker thread, type classes, gettext), so that the
 * fd counts of the tests compare like with like. */
static void
warm_up (void)
{
  const char *paths[] = { g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : "/", NULL };

  for (int method = PSF_START_METHOD_FORK; method <= PSF_START_METHOD_FORKSERVER; method++)
    {
      g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
      g_autoptr(PsfSpawnProcess) spawn = psf_test_prog_new ("exit", "0");
      PsfTestCheck check = { 0 };
      PsfTestCheck check2 = { 0 };

      psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 60000);
      psf_test_run_checked (PSF_TASK (proc), &check);
      psf_test_run_checked (PSF_TASK (spawn), &check2);
      g_clear_error (&check.error);
      g_clear_error (&check2.error);
    }
  psf_test_drain_context ();
}

static void
add (const char *path,
     int         method,
     void      (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, GINT_TO_POINTER (method), fixture_setup, func, fixture_teardown);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char *name;
    void      (*func) (Fixture *, gconstpointer);
    gboolean    fork;
    gboolean    spawn;
    gboolean    forkserver;
  } tests[] = {
    { "host/pipe2", test_host_pipe2, TRUE, TRUE, FALSE },
    { "host/memfd_create", test_host_memfd_create, FALSE, TRUE, FALSE },
    { "host/write-input", test_host_write_input, FALSE, TRUE, FALSE },
    { "host/posix_spawn", test_host_posix_spawn, FALSE, TRUE, FALSE },
    { "host/fork", test_host_fork, TRUE, FALSE, FALSE },
    { "host/no-pidfd", test_host_no_pidfd, TRUE, TRUE, TRUE },
    { "host/read-report", test_host_read_report, TRUE, TRUE, FALSE },
    { "host/read-report-once", test_host_read_report_once, TRUE, TRUE, FALSE },
    { "host/report-fionread", test_host_report_fionread, TRUE, TRUE, TRUE },
    { "host/waitid-einval", test_host_waitid_einval, TRUE, TRUE, TRUE },
    { "host/signal-fails", test_host_signal_fails, TRUE, TRUE, TRUE },
    /* Not FORKSERVER: its child syncs each filesystem in a sub-process where
     * the shim counts calls afresh; syncfs-path covers one failing of two. */
    { "child/syncfs-nth", test_child_syncfs_nth, TRUE, TRUE, FALSE },
    { "child/syncfs-path", test_child_syncfs_path, TRUE, TRUE, TRUE },
    { "child/open-path", test_child_open_path, TRUE, TRUE, TRUE },
    { "child/open-all", test_child_open_all, TRUE, TRUE, TRUE },
    { "child/stat-path", test_child_stat_path, TRUE, TRUE, TRUE },
    { "child/write-report", test_child_write_report, TRUE, TRUE, TRUE },
    { "child/segv", test_child_segv, TRUE, TRUE, TRUE },
    { "child/segv-second-filesystem", test_child_segv_second_filesystem, TRUE, TRUE, TRUE },
    /* Only a FORKSERVER child makes sub-processes (SPAWN's helper makes
     * threads). */
    { "child/cancel-ends-sub-processes", test_child_cancel_ends_sub_processes, FALSE, FALSE, TRUE },
    { "child/kill-ends-sub-processes", test_child_kill_ends_sub_processes, FALSE, FALSE, TRUE },
    { "child/hang-timeout", test_child_hang_timeout, TRUE, TRUE, TRUE },
    { "child/hang-ignore-term", test_child_hang_ignore_term, TRUE, TRUE, TRUE },
    { "child/grandchild", test_child_grandchild, TRUE, TRUE, TRUE },
    { "child/mmap-input", test_child_mmap_input, FALSE, TRUE, FALSE },
    { "child/dup2", test_child_dup2, TRUE, FALSE, TRUE },
    { "child/chdir", test_child_chdir, TRUE, FALSE, TRUE },
    { "child/fcntl", test_child_fcntl, TRUE, FALSE, FALSE },
    { "bad-input/missing-cwd", test_bad_cwd, TRUE, TRUE, TRUE },
    { "bad-input/fd-map-low-source", test_fd_map_low_source, TRUE, TRUE, TRUE },
    { "bad-input/fd-map-internal-target", test_fd_map_internal_target, TRUE, FALSE, FALSE },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    {
      if (tests[i].fork)
        {
          g_autofree char *path = g_strdup_printf ("/psf/faults/%s/fork", tests[i].name);

          add (path, PSF_START_METHOD_FORK, tests[i].func);
        }
      if (tests[i].spawn)
        {
          g_autofree char *path = g_strdup_printf ("/psf/faults/%s/spawn", tests[i].name);

          add (path, PSF_START_METHOD_SPAWN, tests[i].func);
        }
      if (tests[i].forkserver)
        {
          g_autofree char *path = g_strdup_printf ("/psf/faults/%s/forkserver", tests[i].name);

          add (path, PSF_START_METHOD_FORKSERVER, tests[i].func);
        }
    }
  g_test_add ("/psf/faults/host/spawn-process", Fixture, NULL,
              fixture_setup, test_host_spawn_process, fixture_teardown);
  g_test_add ("/psf/faults/host/logfile-open", Fixture, NULL,
              fixture_setup, test_host_logfile_open, fixture_teardown);
  g_test_add ("/psf/faults/host/logfile-no-pty", Fixture, NULL,
              fixture_setup, test_host_logfile_no_pty, fixture_teardown);

  warm_up ();
  return g_test_run ();
}
