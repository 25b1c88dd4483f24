/* test-hostile.c: hostile hosts, misbehaving children, hostile path lists
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A package manager runs psf at the end of every merge, inside hosts that
 * do odd things with signals, threads and references, with children that
 * may crash, hang or leave grandchildren, and with path lists it did not
 * choose. Each case here either works or fails with a clear, documented
 * error (README, "Reliability").
 *
 * Cases that change process-wide state (signal dispositions, rlimits,
 * closed stdio) or that may crash or deadlock run in a subprocess
 * (g_test_trap_subprocess), which reports its outcome in a small file.
 *
 * Runs with the fault shim preloaded (tests/faults/fault-shim.c): its
 * "where=child" actions make a SyncfsProcess child crash, hang, ignore
 * SIGTERM or leave a grandchild, and its open() tripwires check that a
 * hostile path is never opened.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

static gboolean
fd_hung_up (int fd)
{
  GPollFD pfd = { fd, G_IO_IN | G_IO_HUP, 0 };

  g_assert_cmpint (g_poll (&pfd, 1, 0), >=, 0);
  return (pfd.revents & G_IO_HUP) != 0;
}

/* ---- subprocess cases ------------------------------------------------------ */

/* The outcome file of the current test's subprocess: the parent's pid
 * and the test path make it unique. */
static char *
outcome_path (pid_t parent)
{
  g_autofree char *name = g_strdelimit (g_strdup (g_test_get_path ()), "/", '_');
  g_autofree char *base = g_strdup_printf ("psf-hostile-%d%s.txt", (int) parent, name);

  return g_build_filename (g_get_tmp_dir (), base, NULL);
}

/* In the subprocess: the expected behaviour was seen. */
static void
outcome_ok (void)
{
  g_autofree char *path = outcome_path (getppid ());

  g_assert_true (g_file_set_contents (path, "ok", -1, NULL));
}

/* In the parent: runs the test in a subprocess, which must pass and have
 * reached its outcome_ok(). A crash, a hang (@timeout_s) or an assertion
 * in the subprocess fails the test. */
static void
run_subprocess (guint64 timeout_s)
{
  g_autofree char *path = outcome_path (getpid ());
  g_autofree char *outcome = NULL;

  g_unlink (path);
  g_test_trap_subprocess (NULL, timeout_s * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (!g_test_trap_has_passed ())
    g_unlink (path);
  g_test_trap_assert_passed ();

  g_assert_true (g_file_get_contents (path, &outcome, NULL, NULL));
  g_unlink (path);
  g_assert_cmpstr (outcome, ==, "ok");
}

/* A task whose child exits with a known non-zero status: a spawned
 * program (3), or a SyncfsProcess whose syncfs() fails (1). */
static PsfTask *
failing_task (int  kind,
              int *expected_rc)
{
  if (kind == 2)
    {
      *expected_rc = 3;
      return PSF_TASK (psf_test_prog_new ("exit", "3"));
    }
  else
    {
      const char *paths[] = { g_get_tmp_dir (), NULL };
      PsfSyncfsProcess *proc = psf_test_syncfs_new (kind == 3 ? PSF_START_METHOD_FORKSERVER : kind,
                                                    paths);

      *expected_rc = 1;
      psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,errno=EIO,where=child");
      return PSF_TASK (proc);
    }
}


/* SIGCHLD ignored by the host (SIG_IGN, or a handler with SA_NOCLDWAIT):
 * the kernel reaps children by itself and their exit status is lost.
 * start() refuses with PSF_ERROR_SPAWN naming SIGCHLD, creates nothing and
 * leaves the task NEW; the disposition is left as the host set it. */
static void
test_host_sigchld_ignored (gconstpointer data)
{
  int kind = GPOINTER_TO_INT (data);

  if (kind != 2 && !psf_test_fault_shim_loaded ())
    {
      g_test_skip ("the fault shim is not preloaded");
      return;
    }

  if (g_test_subprocess ())
    {
      for (int variant = 0; variant < 2; variant++)
        {
          g_autoptr(PsfTask) task = NULL;
          g_autoptr(GError) error = NULL;
          struct sigaction action = { 0 };
          struct sigaction after;
          guint fds_before;
          int expected = 0;

          if (variant == 0)
            action.sa_handler = SIG_IGN;
          else
            {
              action.sa_handler = SIG_DFL;
              action.sa_flags = SA_NOCLDWAIT;
            }
          g_assert_no_errno (sigaction (SIGCHLD, &action, NULL));

          task = failing_task (kind, &expected);
          g_main_context_default ();  /* its wakeup fd is not the task's */
          fds_before = psf_test_count_fds ();
          g_assert_false (psf_task_start (task, &error));
          psf_test_disarm_faults (NULL);
          g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
          g_assert_nonnull (strstr (error->message, "SIGCHLD"));
          g_assert_nonnull (strstr (error->message,
                                    variant == 0 ? "SIG_IGN" : "SA_NOCLDWAIT"));
          g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_NEW);
          g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (task)), ==, 0);
          g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);

          g_assert_no_errno (sigaction (SIGCHLD, NULL, &after));
          g_assert_true (after.sa_handler == action.sa_handler);
          g_assert_cmpint (after.sa_flags & SA_NOCLDWAIT, ==, action.sa_flags & SA_NOCLDWAIT);
        }
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

/* SIGCHLD back to SIG_DFL, before and after GLib looked at it. */
static void
test_host_sigchld_default (void)
{
  if (g_test_subprocess ())
    {
      for (int round = 0; round < 2; round++)
        {
          g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "3");
          PsfTestCheck check = { 0 };

          signal (SIGCHLD, SIG_DFL);
          psf_test_run_checked (PSF_TASK (proc), &check);
          g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 3);
          g_clear_error (&check.error);
        }
      g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

static void
reap_everything (int signum)
{
  int saved = errno;

  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

/* The warning psf gives when the host reaped a child first: expected here,
 * not fatal. */
static gboolean
stolen_status_is_expected (const char     *domain,
                           GLogLevelFlags  level,
                           const char     *message,
                           gpointer        data)
{
  gboolean *warned = data;

  if (strstr (message, "did something else in this process reap it?") == NULL)
    return TRUE;
  *warned = TRUE;
  return FALSE;
}

/* A host whose SIGCHLD handler reaps every child (waitpid(-1)) steals the
 * exit status. psf must not hang or leave anything behind, and must not
 * report a success it cannot know of: when it finds the child gone
 * (waitid() ECHILD, or pidfd_open() ESRCH when the host was quicker still)
 * it warns and ends the task with 255; when psf reaped first, the status
 * is the real one. Without pidfds (valgrind) GLib's child watch decides:
 * status 0. */
static void
test_host_sigchld_reaper (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "3");
      struct sigaction sa = { 0 };
      PsfTestCheck check = { 0 };
      gboolean warned = FALSE;
      int returncode;

      g_test_log_set_fatal_handler (stolen_status_is_expected, &warned);

      sa.sa_handler = reap_everything;
      sa.sa_flags = SA_RESTART;
      sigemptyset (&sa.sa_mask);
      sigaction (SIGCHLD, &sa, NULL);

      psf_test_run_checked (PSF_TASK (proc), &check);
      returncode = psf_task_get_returncode (PSF_TASK (proc));
      g_test_message ("returncode with a reaping host: %d (warned: %d)", returncode, warned);
      if (warned)
        g_assert_cmpint (returncode, ==, 255);
      else
        g_assert_true (returncode == 3 || returncode == 0);
      g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_EXITED);
      g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
      g_clear_error (&check.error);
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

/* A host that ignores SIGTERM and blocks it: children start with default
 * dispositions and an empty mask, so cancel() still ends them with
 * SIGTERM. */
static void
test_host_sigterm_ignored (void)
{
  if (g_test_subprocess ())
    {
      const char *paths[] = { g_get_tmp_dir (), NULL };
      sigset_t block;

      signal (SIGTERM, SIG_IGN);
      sigemptyset (&block);
      sigaddset (&block, SIGTERM);
      sigprocmask (SIG_BLOCK, &block, NULL);

      for (int method = PSF_START_METHOD_FORK; method <= PSF_START_METHOD_SPAWN; method++)
        {
          g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
          PsfTestCheck check = { 0 };

          psf_subprocess_set_cancel_timeout (PSF_SUBPROCESS (proc), 5000);
          psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=hang,where=child");
          psf_test_assert_started (PSF_TASK (proc));
          psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
          psf_task_cancel (PSF_TASK (proc));
          psf_test_run_until (&check.done, 20000);
          psf_test_disarm_faults (NULL);
          g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
          g_clear_error (&check.error);
        }
      outcome_ok ();
      return;
    }

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  run_subprocess (60);
}

/* A host with stdin, stdout and stderr closed: the report pipe and the
 * input memfd land on fds 0-2 and must not be confused with them. */
static void
test_host_stdio_closed (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *file = g_build_filename (g_get_tmp_dir (), "psf-hostile-stdio", NULL);
      const char *paths[] = { file, "/", NULL };
      int saved_stderr = dup (2);
      int rcs[3] = { -1, -1, -1 };
      guint statuses[3][2];

      g_assert_true (g_file_set_contents (file, "psf", -1, NULL));
      close (0);
      close (1);
      close (2);

      for (int method = PSF_START_METHOD_FORK; method <= PSF_START_METHOD_FORKSERVER; method++)
        {
          g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
          g_autoptr(GPtrArray) results = NULL;

          if (!psf_task_start (PSF_TASK (proc), NULL))
            continue;
          psf_test_run_until_exited (PSF_TASK (proc), 20000);
          rcs[method] = psf_task_get_returncode (PSF_TASK (proc));
          results = psf_syncfs_process_get_results (proc);
          for (guint i = 0; i < 2; i++)
            statuses[method][i] = psf_syncfs_result_get_status (g_ptr_array_index (results, i));
        }

      dup2 (saved_stderr, 2);
      g_unlink (file);
      for (int method = 0; method < 3; method++)
        {
          g_assert_cmpint (rcs[method], ==, 0);
          g_assert_cmpuint (statuses[method][0], ==, PSF_SYNCFS_STATUS_SYNCED);
        }
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

/* RLIMIT_NOFILE reached for real (no injection): start() fails cleanly. */
static void
test_host_out_of_fds (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);

  if (g_test_subprocess ())
    {
      const char *paths[] = { "/", NULL };
      g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("pipe2(): %s", g_strerror (EMFILE));
      struct rlimit saved, low;
      int highest = -1;
      int filler = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      int fd;

      g_assert_cmpint (filler, >=, 0);
      {
        g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
        const char *name;

        g_assert_nonnull (dir);
        while ((name = g_dir_read_name (dir)) != NULL)
          highest = MAX (highest, atoi (name));
      }

      /* Fill the holes below the highest fd, then allow exactly one more
       * fd: the report pipe needs two. */
      while ((fd = fcntl (filler, F_DUPFD_CLOEXEC, 0)) >= 0 && fd <= highest)
        ;
      g_assert_cmpint (fd, ==, highest + 1);
      close (fd);
      g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));
      low = saved;
      low.rlim_cur = (rlim_t) highest + 2;
      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &low));

      g_assert_false (psf_task_start (PSF_TASK (proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
      g_assert_cmpstr (error->message, ==, expected);
      g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);

      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));
      g_clear_error (&error);
      psf_test_assert_ok (psf_task_start (PSF_TASK (proc), &error), error);
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

/* ---- threads ---------------------------------------------------------------- */

typedef struct
{
  guint    index;
  guint    n_tasks;
  guint    failures;
  GThread *thread;
} Worker;

static void
exited_in_thread_cb (PsfTask  *task,
                     int       returncode,
                     GThread **thread)
{
  *thread = g_thread_self ();
}

static gpointer
worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  const char *paths[] = { g_get_tmp_dir (), NULL };

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < worker->n_tasks; i++)
    {
      g_autoptr(PsfTask) task = NULL;
      g_autoptr(GError) error = NULL;
      GThread *exited_in = NULL;
      int expected;
      int rc;

      switch ((worker->index + i) % 3)
        {
        case 0:
          task = PSF_TASK (psf_test_syncfs_new (PSF_START_METHOD_FORK, paths));
          expected = 0;
          break;
        case 1:
          task = PSF_TASK (psf_test_syncfs_new (PSF_START_METHOD_SPAWN, paths));
          expected = 0;
          break;
        default:
          {
            g_autofree char *code = g_strdup_printf ("%u", worker->index + 10);

            task = PSF_TASK (psf_test_prog_new ("exit", code));
            expected = (int) worker->index + 10;
          }
        }

      g_signal_connect (task, "exited", G_CALLBACK (exited_in_thread_cb), &exited_in);
      if (!psf_task_start (task, &error))
        {
          g_test_message ("worker %u task %u: start: %s", worker->index, i, error->message);
          worker->failures++;
          continue;
        }
      rc = psf_task_wait (task, &error);
      /* A forked child under valgrind runs valgrind's leak check at its
       * exit; in a host with threads it finds their memory "lost" and
       * exits with valgrind's --error-exitcode. Not psf's doing. */
      if (psf_test_under_valgrind () && (worker->index + i) % 3 == 0 && rc == 99)
        rc = expected;
      /* Signals come in the context (and so the thread) that started it. */
      if (rc != expected || exited_in != g_thread_self ())
        {
          g_test_message ("worker %u task %u (%s): returncode %d (expected %d), %s",
                          worker->index, i, G_OBJECT_TYPE_NAME (task), rc, expected,
                          exited_in == g_thread_self () ? "exited in its thread"
                                                        : "exited in another thread");
          worker->failures++;
        }
    }
  g_main_context_pop_thread_default (context);
  return NULL;
}

/* Several threads, each with its own context, run tasks at the same time
 * while the main thread runs its own. */
static void
test_host_threads (void)
{
  guint n_threads = psf_test_under_valgrind () ? 3 : 6;
  guint n_tasks = psf_test_under_valgrind () ? 4 : 12;
  guint fds_before = psf_test_count_fds ();
  Worker *workers = g_new0 (Worker, n_threads);

  for (guint i = 0; i < n_threads; i++)
    {
      workers[i].index = i;
      workers[i].n_tasks = n_tasks;
      workers[i].thread = g_thread_new ("psf-hostile-worker", worker_run, &workers[i]);
    }

  for (guint i = 0; i < n_tasks; i++)
    {
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "5");

      psf_test_assert_started (PSF_TASK (proc));
      g_assert_cmpint (psf_task_wait (PSF_TASK (proc), NULL), ==, 5);
    }

  for (guint i = 0; i < n_threads; i++)
    {
      g_thread_join (workers[i].thread);
      g_assert_cmpuint (workers[i].failures, ==, 0);
    }
  g_free (workers);
  psf_test_drain_context ();
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

/* ---- references ------------------------------------------------------------- */

static void
unref_in_exited_cb (PsfTask  *task,
                    int       returncode,
                    gpointer  data)
{
  g_object_unref (task);
}

/* The host drops its last reference while the child runs: the child is
 * still reaped and the task finalized after the exit. With a waiter, and
 * from inside ::exited. */
static void
test_host_unref_mid_run (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);
  const char *paths[] = { g_get_tmp_dir (), NULL };
  guint fds_before = psf_test_count_fds ();

  PSF_TEST_REQUIRE_FAULT_SHIM ();

  for (int variant = 0; variant < 3; variant++)
    {
      PsfSyncfsProcess *proc = psf_test_syncfs_new (method, paths);
      gpointer weak = proc;
      PsfTestCheck check = { 0 };
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      g_object_add_weak_pointer (G_OBJECT (proc), &weak);
      psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=delay,ms=100,where=child");
      psf_test_assert_started (PSF_TASK (proc));
      if (variant == 1)
        psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
      if (variant == 2)
        g_signal_connect (proc, "exited", G_CALLBACK (unref_in_exited_cb), NULL);
      else
        g_object_unref (proc);

      while (weak != NULL && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      psf_test_disarm_faults (NULL);
      g_assert_null (weak);
      if (variant == 1)
        {
          g_assert_true (check.done);
          g_assert_true (check.ok);
        }
    }

  psf_test_drain_context ();
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

/* ---- cancellation from other threads ------------------------------------------ */

static gpointer
cancel_later (gpointer data)
{
  g_usleep (50 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* The task's cancellable is cancelled from another thread while the
 * child runs (hung in syncfs): the task acts on it in its own context. */
static void
test_host_cancel_from_thread (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);
  const char *paths[] = { g_get_tmp_dir (), NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PsfTestCheck check = { 0 };
  GThread *thread;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_task_set_cancellable (PSF_TASK (proc), cancellable);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=hang,where=child");
  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  thread = g_thread_new ("psf-hostile-cancel", cancel_later, cancellable);
  psf_test_run_until (&check.done, 30000);
  g_thread_join (thread);
  psf_test_disarm_faults (NULL);

  g_assert_true (psf_task_get_cancelled (PSF_TASK (proc)));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_CANCELLED);
  g_clear_error (&check.error);
}

/* A cancellable cancelled before start(), in the thread that owns the task,
 * while the global default context belongs to another thread (a host whose
 * main loop runs in another thread than its workers): start() must fork
 * nothing (DESIGN: cancel before start). */
static void
test_host_cancel_before_start_busy_default (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GMainContext) context = g_main_context_new ();
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "20000");
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      PsfTestContextOwner *owner = psf_test_context_owner_start (g_main_context_default ());
      GPid pid;

      g_main_context_push_thread_default (context);
      psf_task_set_cancellable (PSF_TASK (proc), cancellable);
      g_cancellable_cancel (cancellable);
      psf_test_assert_started (PSF_TASK (proc));
      pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));

      /* Marked at once, whatever thread owns which context: nothing forked. */
      g_assert_cmpint (pid, ==, 0);
      g_assert_true (psf_task_get_cancelled (PSF_TASK (proc)));
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, PSF_RETURNCODE_CANCELLED);
      outcome_ok ();
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_main_context_pop_thread_default (context);

      psf_test_context_owner_stop (owner);
      /* What was queued there runs now, in this thread. */
      psf_test_drain_context ();
      return;
    }

  run_subprocess (60);
}

static gpointer
cancel_now (gpointer data)
{
  g_cancellable_cancel (data);
  return NULL;
}

static void
record_notify_thread_cb (GObject    *object,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  *(GThread **) user_data = g_thread_self ();
}

/* A cancellable cancelled in another thread while nobody iterates the
 * task's context (a host between two iterations, or not yet in its loop):
 * the other thread must not take the idle context and cancel from there.
 * The cancel, its notify and the signal happen in the task's own thread,
 * when its loop runs. Before start(), the property reads TRUE at once. */
static void
test_host_cancel_thread_affinity (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "20000");
  g_autoptr(PsfSpawnProcess) unstarted = psf_test_prog_new ("sleep", "20000");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) early = g_cancellable_new ();
  GThread *notified = NULL;
  GThread *thread;
  gboolean cancelled = FALSE;

  /* Before start: marked at once, in the property too. */
  psf_task_set_cancellable (PSF_TASK (unstarted), early);
  thread = g_thread_new ("psf-hostile-cancel", cancel_now, early);
  g_thread_join (thread);
  g_object_get (unstarted, "cancelled", &cancelled, NULL);
  g_assert_true (cancelled);
  g_assert_true (psf_task_get_cancelled (PSF_TASK (unstarted)));
  psf_test_assert_started (PSF_TASK (unstarted));
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (unstarted)), ==, 0);
  psf_test_run_until_exited (PSF_TASK (unstarted), 20000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (unstarted)), ==, PSF_RETURNCODE_CANCELLED);

  /* Running, context idle: acted on in this thread only. */
  psf_task_set_cancellable (PSF_TASK (proc), cancellable);
  g_signal_connect (proc, "notify::cancelled", G_CALLBACK (record_notify_thread_cb), &notified);
  psf_test_assert_started (PSF_TASK (proc));
  thread = g_thread_new ("psf-hostile-cancel", cancel_now, cancellable);
  g_thread_join (thread);
  g_assert_null (notified);
  g_assert_false (psf_task_get_cancelled (PSF_TASK (proc)));
  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_assert_true (notified == g_thread_self ());
  g_assert_true (psf_task_get_cancelled (PSF_TASK (proc)));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  psf_test_drain_context ();
}

/* The host cancels the task's cancellable in another thread while it
 * drops the task (shutdown of a host that tracks its tasks loosely):
 * nothing may crash, deadlock or touch a finalized task. */
static void
test_host_cancel_while_finalizing (void)
{
  if (g_test_subprocess ())
    {
      guint n = psf_test_under_valgrind () ? 300 : 20000;

      for (guint i = 0; i < n; i++)
        {
          PsfSpawnProcess *proc = psf_test_prog_new ("exit", "0");
          g_autoptr(GCancellable) cancellable = g_cancellable_new ();
          GThread *thread;

          psf_task_set_cancellable (PSF_TASK (proc), cancellable);
          thread = g_thread_new ("psf-hostile-cancel", cancel_now, cancellable);
          g_object_unref (proc);
          g_thread_join (thread);
          psf_test_drain_context ();
        }
      outcome_ok ();
      return;
    }

  run_subprocess (60);
}

/* Cancel and exit race: the child exits by itself while another thread
 * cancels. Either outcome is fine; a crash, a signal to a reaped pid or a
 * leak is not. */
static void
test_host_cancel_exit_race (void)
{
  guint n = psf_test_under_valgrind () ? 10 : 100;
  guint fds_before = psf_test_count_fds ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      GThread *thread;
      int rc;

      psf_task_set_cancellable (PSF_TASK (proc), cancellable);
      psf_test_assert_started (PSF_TASK (proc));
      thread = g_thread_new ("psf-hostile-cancel", cancel_now, cancellable);
      psf_test_run_until_exited (PSF_TASK (proc), 20000);
      g_thread_join (thread);
      psf_test_drain_context ();
      rc = psf_task_get_returncode (PSF_TASK (proc));
      g_assert_true (rc == 0 || rc == -SIGTERM);
    }
  psf_test_drain_context ();
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

/* ---- main loop not running --------------------------------------------------- */

/* The child exits while nobody iterates the context: it stays a zombie
 * and the task RUNNING (poll() never reaps) until the loop runs; then the
 * exit is observed with the right status. */
static void
test_host_loop_not_running (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);
  g_autofree char *file = g_build_filename (g_get_tmp_dir (), "psf-hostile-loop", NULL);
  const char *paths[] = { file, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GPtrArray) results = NULL;
  GPid pid;
  int rc = 12345;
  gint64 deadline;

  g_assert_true (g_file_set_contents (file, "psf", -1, NULL));
  proc = psf_test_syncfs_new (method, paths);
  psf_test_assert_started (PSF_TASK (proc));
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));

  /* Not iterating: wait for the zombie. (Without pidfd, under valgrind
   * or on old kernels, GLib's worker thread reaps it at its SIGCHLD: then
   * it is gone, and the task still waits for its context.) */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (psf_test_proc_state (pid) != 'Z' && psf_test_proc_state (pid) != 0 &&
         g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_true (psf_test_proc_state (pid) == 'Z' || psf_test_proc_state (pid) == 0);
  g_assert_true (psf_task_is_alive (PSF_TASK (proc)));
  g_assert_false (psf_task_poll (PSF_TASK (proc), &rc));
  g_assert_cmpint (rc, ==, PSF_RETURNCODE_NONE);

  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  /* A child the forkserver forked (rather than cloned for the host) is
   * the server's to reap, once the host has taken its status: soon after
   * the exit, not necessarily before it is reported. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (psf_test_proc_state (pid) != 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (psf_test_proc_state (pid), ==, 0);
  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
  g_unlink (file);
}

/* ---- misbehaving children ------------------------------------------------------ */

static int
segv_func (int      report_fd,
           gpointer user_data)
{
  /* A real invalid access (not raise()): a page mapped PROT_NONE by the
   * parent, which no sanitizer intercepts. */
  *(volatile int *) user_data = 1;
  return 0;
}

static int
ignore_term_func (int      report_fd,
                  gpointer user_data)
{
  struct sigaction sa;
  ssize_t r;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction (SIGTERM, &sa, NULL);
  /* "ready" on the fd the test mapped as 9. */
  r = write (9, "r", 1);
  (void) r;
  for (;;)
    pause ();
  return 0;
}

static void
test_child_segv (void)
{
  void *page = mmap (NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_autoptr(PsfForkProcess) func = NULL;
  g_autoptr(PsfSpawnProcess) prog = psf_test_prog_new ("raise", "11");
  g_autofree char *expected = g_strdup_printf ("The child process was killed by signal %d (%s)",
                                               SIGSEGV, g_strsignal (SIGSEGV));
  PsfTestCheck check = { 0 };
  PsfTestCheck check2 = { 0 };

  g_assert_true (page != MAP_FAILED);
  func = psf_fork_process_new_with_func (segv_func, page, NULL);
  psf_test_run_checked (PSF_TASK (func), &check);
  psf_test_run_checked (PSF_TASK (prog), &check2);
  munmap (page, 4096);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (func)), ==, -SIGSEGV);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (prog)), ==, -SIGSEGV);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_FAILED);
  g_assert_cmpstr (check.error->message, ==, expected);
  g_assert_error (check2.error, PSF_ERROR, PSF_ERROR_FAILED);
  g_clear_error (&check.error);
  g_clear_error (&check2.error);
}

/* A forked function that ignores SIGTERM: cancel() escalates to SIGKILL
 * after cancel-timeout (the same for the helper: tests/faults). */
static void
test_child_ignore_term (void)
{
  g_autoptr(PsfForkProcess) func = psf_fork_process_new_with_func (ignore_term_func, NULL, NULL);
  PsfTestCheck check = { 0 };
  int ready[2];
  char byte;

  psf_test_pipe_high (ready);
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (func), ready[1], 9);
  psf_subprocess_set_cancel_timeout (PSF_SUBPROCESS (func), 200);

  psf_test_assert_started (PSF_TASK (func));
  psf_task_wait_check_async (PSF_TASK (func), NULL, psf_test_wait_check_cb, &check);
  g_assert_true (psf_test_wait_fd (ready[0], 30000));
  g_assert_cmpint (read (ready[0], &byte, 1), ==, 1);
  close (ready[0]);

  psf_task_cancel (PSF_TASK (func));
  psf_test_run_until (&check.done, 30000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (func)), ==, -SIGKILL);
  g_assert_true (psf_task_get_cancelled (PSF_TASK (func)));
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_CANCELLED);
  g_clear_error (&check.error);
}

/* A spawned program whose grandchild outlives it (not in a cgroup): the
 * exit is reported at the child's exit, the grandchild is not waited for
 * and is not our zombie. */
static void
test_child_grandchild_not_waited (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("grandchild", "3000");
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 20000), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2500 * 1000);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

/* A SyncfsProcess child whose grandchild keeps the report channel, inside
 * a cgroup: the grandchild is killed when the child exits. */
static void
test_child_grandchild_cgroup (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);
  g_autofree char *mount = psf_test_find_cgroup2_mount ();
  g_autofree char *cgroup = NULL;
  g_autofree char *probe = NULL;
  const char *paths[] = { g_get_tmp_dir (), NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GError) error = NULL;
  pid_t grandchild = 0;
  gboolean gone;
  gint64 deadline;
  int hold[2];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  if (g_object_class_find_property (g_type_class_peek (PSF_TYPE_SPAWN_PROCESS), "cgroup") == NULL)
    {
      g_test_skip ("no cgroup option");
      return;
    }
  if (mount == NULL || geteuid () != 0)
    {
      g_test_skip ("needs root and a writable cgroup v2 hierarchy");
      return;
    }
  cgroup = g_strdup_printf ("%s/psf-hostile-%d-%u", mount, (int) getpid (), g_random_int ());
  probe = g_strdup_printf ("%s.probe", cgroup);
  if (mkdir (probe, 0755) < 0)
    {
      g_test_skip ("needs a writable cgroup v2 hierarchy");
      return;
    }
  rmdir (probe);

  psf_test_pipe_high (hold);
  proc = psf_test_syncfs_new (method, paths);
  g_object_set (proc, "cgroup", cgroup, NULL);
  psf_spawn_process_take_fd (PSF_SPAWN_PROCESS (proc), hold[1], 9);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=grandchild,ms=60000,notify=9,where=child");
  psf_test_start_and_wait (PSF_TASK (proc), 20000);
  psf_test_disarm_faults (NULL);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);

  /* Killed with the cgroup (maybe before it said its pid): its end of the
   * pipe is gone within moments, not after 60 s. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!(gone = fd_hung_up (hold[0])) && g_get_monotonic_time () < deadline)
    {
      if (psf_test_wait_fd (hold[0], 100) && !fd_hung_up (hold[0]))
        g_assert_cmpint (read (hold[0], &grandchild, sizeof grandchild), ==, sizeof grandchild);
    }
  if (!gone && grandchild > 0)
    kill (grandchild, SIGKILL);
  close (hold[0]);
  g_assert_true (gone);
  g_assert_false (g_file_test (cgroup, G_FILE_TEST_EXISTS));
}

static int
flood_func (int      report_fd,
            gpointer user_data)
{
  static char chunk[65536];
  size_t total = GPOINTER_TO_SIZE (user_data);

  memset (chunk, 'x', sizeof chunk);
  for (size_t done = 0; done < total; done += sizeof chunk)
    {
      size_t off = 0;

      while (off < sizeof chunk)
        {
          ssize_t n = write (report_fd, chunk + off, sizeof chunk - off);

          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return 1;
          off += (size_t) n;
        }
    }
  return 0;
}

/* A child that floods its report channel: the parent keeps at most the
 * documented maximum (64 MiB) and the task ends. */
static void
test_child_flood_report (void)
{
  gsize total = (gsize) (psf_test_under_valgrind () ? 70 : 80) * 1024 * 1024;
  g_autoptr(PsfForkProcess) proc = psf_fork_process_new_with_func (flood_func,
                                                                   GSIZE_TO_POINTER (total),
                                                                   NULL);
  GBytes *report;

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 60000), ==, 0);
  report = psf_fork_process_get_report (proc);
  g_assert_nonnull (report);
  g_assert_cmpuint (g_bytes_get_size (report), <=, 64u * 1024 * 1024);
  g_assert_cmpuint (g_bytes_get_size (report), >=, 60u * 1024 * 1024);
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* A child that another process traces (strace -f, gdb): its exit goes to
 * the tracer first, and its pidfd is readable before its parent can wait
 * for it. Here the tracer holds the exit for about 900 ms: psf looks again
 * every few ms instead of spinning on the readable pidfd (a spin would
 * burn those 900 ms of CPU), and the task ends with the child's status
 * once the tracer lets go. */
static void
test_child_traced_exit (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "100");
  /* LeakSanitizer ptraces an exiting program itself: not while we do. */
  g_autofree char *asan = g_strconcat (g_getenv ("ASAN_OPTIONS") ? g_getenv ("ASAN_OPTIONS") : "",
                                       ":detect_leaks=0", NULL);
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "ASAN_OPTIONS", asan, TRUE);
  gint64 t0 = g_get_monotonic_time ();
  double cpu0;
  int ready[2];
  pid_t tracer;
  GPid pid;
  char byte = 0;
  int status;

  if (psf_test_under_valgrind ())
    {
      g_test_skip ("no pidfds under valgrind: GLib's child watch reaps there");
      return;
    }

  psf_spawn_process_set_env (proc, (const char * const *) env);
  psf_test_assert_started (PSF_TASK (proc));
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
  g_assert_no_errno (pipe2 (ready, O_CLOEXEC));
  tracer = fork ();
  g_assert_cmpint (tracer, >=, 0);
  if (tracer == 0)
    {
      struct timespec hold = { 1, 0 };

      if (ptrace (PTRACE_SEIZE, pid, NULL, NULL) == 0 && write (ready[1], "x", 1) == 1)
        {
          nanosleep (&hold, NULL);
          while (waitpid (pid, &status, __WALL) == pid && !WIFEXITED (status) && !WIFSIGNALED (status))
            ptrace (PTRACE_CONT, pid, NULL, NULL);
        }
      _exit (0);
    }
  close (ready[1]);
  if (read (ready[0], &byte, 1) != 1)
    {
      close (ready[0]);
      g_assert_cmpint (waitpid (tracer, NULL, 0), ==, tracer);
      g_test_skip ("ptrace(PTRACE_SEIZE) is not allowed here");
      psf_task_cancel (PSF_TASK (proc));
      psf_test_run_until_exited (PSF_TASK (proc), 10000);
      return;
    }
  close (ready[0]);

  cpu0 = cpu_seconds ();
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 900 * 1000);
  g_test_message ("CPU while the exit was held: %.3f s", cpu_seconds () - cpu0);
  g_assert_cmpfloat (cpu_seconds () - cpu0, <, 0.3);
  g_assert_cmpint (waitpid (tracer, &status, 0), ==, tracer);
}

/* A helper that breaks the report bound of a SyncfsProcess (a psf-child
 * of another version): 200 kB on its report channel where one record was
 * due. The channel of a short task goes unwatched, but only for a few ms:
 * the child gets to write it all and exit, and the task ends (a report
 * that makes no sense is a failure, never a hang). */
static void
test_child_breaks_report_bound (void)
{
  g_autofree char *dir = g_dir_make_tmp ("psf-hostile-XXXXXX", NULL);
  g_autofree char *helper = g_build_filename (dir, "psf-child", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("PSF_CHILD_PATH"));
  const char *paths[] = { g_get_tmp_dir (), NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  GBytes *report;

  g_assert_true (g_file_set_contents (helper, "#!/bin/sh\nhead -c 200000 /dev/zero >&3\n", -1, NULL));
  g_assert_no_errno (chmod (helper, 0755));
  g_setenv ("PSF_CHILD_PATH", helper, TRUE);

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), PSF_START_METHOD_SPAWN);
  psf_test_start_and_wait (PSF_TASK (proc), 30000);
  report = psf_fork_process_get_report (PSF_FORK_PROCESS (proc));
  g_assert_nonnull (report);
  g_assert_cmpuint (g_bytes_get_size (report), ==, 200000);

  if (saved != NULL)
    g_setenv ("PSF_CHILD_PATH", saved, TRUE);
  else
    g_unsetenv ("PSF_CHILD_PATH");
  g_assert_no_errno (g_unlink (helper));
  g_assert_no_errno (g_rmdir (dir));
}

/* ---- hostile path lists -------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *fifo;
  char *socket;
  char *loop;
  char *file;
} Sandbox;

static void
sandbox_init (Sandbox *s)
{
  g_autoptr(GError) error = NULL;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  s->dir = g_dir_make_tmp ("psf-hostile-XXXXXX", &error);
  g_assert_no_error (error);
  s->fifo = g_build_filename (s->dir, "fifo", NULL);
  s->socket = g_build_filename (s->dir, "socket", NULL);
  s->loop = g_build_filename (s->dir, "loop", NULL);
  s->file = g_build_filename (s->dir, "file", NULL);
  g_assert_no_errno (mkfifo (s->fifo, 0600));
  g_assert_no_errno (symlink ("loop", s->loop));
  g_assert_true (g_file_set_contents (s->file, "psf", -1, NULL));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (strlen (s->socket), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, s->socket);
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr, sizeof addr));
  close (fd);
}

static void
sandbox_clear (Sandbox *s)
{
  g_unlink (s->fifo);
  g_unlink (s->socket);
  g_unlink (s->loop);
  g_unlink (s->file);
  g_rmdir (s->dir);
  g_free (s->fifo);
  g_free (s->socket);
  g_free (s->loop);
  g_free (s->file);
  g_free (s->dir);
}

/* A path list no caller should send, through the public API: FIFOs,
 * sockets, device nodes, /proc and /sys, symlink loops, `..` chains,
 * 4096-byte components, bytes that are not UTF-8, and many entries. No
 * such path may be opened itself (the shim makes any open() of them crash
 * the child), every path gets a result, and the run succeeds. */
static void
test_paths_hostile (gconstpointer data)
{
  int method = GPOINTER_TO_INT (data);
  guint n_many = psf_test_under_valgrind () ? 5000 : 100000;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *tripwires = NULL;
  g_autofree char *long_component = NULL;
  PsfTestCheck check = { 0 };
  Sandbox s;
  guint n_fixed;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  sandbox_init (&s);

  g_ptr_array_add (paths, g_strdup (s.fifo));
  g_ptr_array_add (paths, g_strdup (s.socket));
  g_ptr_array_add (paths, g_strdup (s.loop));
  g_ptr_array_add (paths, g_strdup ("/dev/null"));
  g_ptr_array_add (paths, g_strdup ("/dev/zero"));
  g_ptr_array_add (paths, g_strdup ("/proc/self/fd/0"));
  g_ptr_array_add (paths, g_strdup ("/proc/self/mem"));
  g_ptr_array_add (paths, g_strdup ("/sys/kernel"));
  g_ptr_array_add (paths, g_strdup ("/../../../../../../../../tmp/../tmp/./."));
  long_component = g_strnfill (4096, 'a');
  g_ptr_array_add (paths, g_build_filename (s.dir, long_component, NULL));
  g_ptr_array_add (paths, g_strdup ("/tmp/\xff\xfe-not-utf8"));
  g_ptr_array_add (paths, g_strdup (""));
  g_ptr_array_add (paths, g_strdup ("relative/does/not/exist"));
  n_fixed = paths->len;
  for (guint i = 0; i < n_many; i++)
    g_ptr_array_add (paths, g_strdup (i % 2 ? s.file : s.fifo));
  g_ptr_array_add (paths, NULL);

  /* Tripwires: an open() of any of these kills the child. */
  tripwires = g_strdup_printf ("open,path=%s,action=segv,where=child;"
                               "open,path=%s,action=segv,where=child;"
                               "open,path=/dev/null,action=segv,where=child;"
                               "open,path=/dev/zero,action=segv,where=child",
                               s.fifo, s.socket);

  proc = psf_test_syncfs_new (method, (const char * const *) paths->pdata);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), tripwires);
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);

  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (results->len, ==, paths->len - 1);

  /* The FIFO and the socket: synced through their directory. */
  for (guint i = 0; i < 2; i++)
    g_assert_cmpint (psf_syncfs_result_get_errno (g_ptr_array_index (results, i)), ==, 0);
  g_assert_cmpint (psf_syncfs_result_get_errno (g_ptr_array_index (results, 2)), ==, ELOOP);
  g_assert_cmpint (psf_syncfs_result_get_errno (g_ptr_array_index (results, 9)), ==, ENAMETOOLONG);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 11)), ==,
                   PSF_SYNCFS_STATUS_SKIPPED);
  for (guint i = n_fixed; i < results->len; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);

      g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_DUPLICATE);
    }
  for (guint i = 0; i < results->len; i++)
    g_free (psf_syncfs_result_to_string (g_ptr_array_index (results, i)));

  sandbox_clear (&s);
}

/* Warms up what GLib and the library create once per process (the child
 * watch machinery, the worker thread, type classes, gettext), so that the
 * fd counts of the tests compare like with like. */
static void
warm_up (void)
{
  const char *paths[] = { g_get_tmp_dir (), NULL };

  for (int method = PSF_START_METHOD_FORK; method <= PSF_START_METHOD_FORKSERVER; method++)
    {
      g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
      g_autoptr(PsfSpawnProcess) spawn = psf_test_prog_new ("exit", "0");

      PsfTestCheck check = { 0 };

      psf_test_assert_started (PSF_TASK (spawn));
      psf_test_run_checked (PSF_TASK (proc), &check);
      psf_test_run_until_exited (PSF_TASK (spawn), 30000);
      g_clear_error (&check.error);
    }
  psf_test_drain_context ();
}

int
main (int   argc,
      char *argv[])
{
  static const char * const methods[] = { "fork", "spawn", "forkserver" };

  g_test_init (&argc, &argv, NULL);

  for (int kind = 0; kind < 4; kind++)
    {
      static const char * const names[] = { "fork", "spawn", "spawn-process", "forkserver" };
      g_autofree char *path = g_strdup_printf ("/psf/hostile/host/sigchld-ignored/%s", names[kind]);

      g_test_add_data_func (path, GINT_TO_POINTER (kind), test_host_sigchld_ignored);
    }
  g_test_add_func ("/psf/hostile/host/sigchld-default", test_host_sigchld_default);
  g_test_add_func ("/psf/hostile/host/sigchld-reaper", test_host_sigchld_reaper);
  g_test_add_func ("/psf/hostile/host/sigterm-ignored", test_host_sigterm_ignored);
  g_test_add_func ("/psf/hostile/host/stdio-closed", test_host_stdio_closed);
  g_test_add_func ("/psf/hostile/host/threads", test_host_threads);
  g_test_add_func ("/psf/hostile/host/cancel-before-start-busy-default",
                   test_host_cancel_before_start_busy_default);
  g_test_add_func ("/psf/hostile/host/cancel-while-finalizing", test_host_cancel_while_finalizing);
  g_test_add_func ("/psf/hostile/host/cancel-thread-affinity", test_host_cancel_thread_affinity);
  g_test_add_func ("/psf/hostile/host/cancel-exit-race", test_host_cancel_exit_race);
  g_test_add_func ("/psf/hostile/child/segv", test_child_segv);
  g_test_add_func ("/psf/hostile/child/ignore-term", test_child_ignore_term);
  g_test_add_func ("/psf/hostile/child/grandchild-not-waited", test_child_grandchild_not_waited);
  g_test_add_func ("/psf/hostile/child/flood-report", test_child_flood_report);
  g_test_add_func ("/psf/hostile/child/breaks-report-bound", test_child_breaks_report_bound);
  g_test_add_func ("/psf/hostile/child/traced-exit", test_child_traced_exit);

  for (int method = 0; method < (int) G_N_ELEMENTS (methods); method++)
    {
      gconstpointer m = GINT_TO_POINTER (method);
      g_autofree char *p1 = g_strdup_printf ("/psf/hostile/host/out-of-fds/%s", methods[method]);
      g_autofree char *p2 = g_strdup_printf ("/psf/hostile/host/unref-mid-run/%s", methods[method]);
      g_autofree char *p3 = g_strdup_printf ("/psf/hostile/host/cancel-from-thread/%s", methods[method]);
      g_autofree char *p4 = g_strdup_printf ("/psf/hostile/host/loop-not-running/%s", methods[method]);
      g_autofree char *p5 = g_strdup_printf ("/psf/hostile/child/grandchild-cgroup/%s", methods[method]);
      g_autofree char *p6 = g_strdup_printf ("/psf/hostile/paths/%s", methods[method]);

      g_test_add_data_func (p1, m, test_host_out_of_fds);
      g_test_add_data_func (p2, m, test_host_unref_mid_run);
      g_test_add_data_func (p3, m, test_host_cancel_from_thread);
      g_test_add_data_func (p4, m, test_host_loop_not_running);
      g_test_add_data_func (p5, m, test_child_grandchild_cgroup);
      g_test_add_data_func (p6, m, test_paths_hostile);
    }

  if (!g_test_subprocess ())
    warm_up ();
  return g_test_run ();
}
