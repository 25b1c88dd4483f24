/* test-task.c: the lifecycle contract of PsfTask, PsfSubprocess and
 * PsfSpawnProcess (DESIGN.md, "Behaviour contract")
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-utils.h"

typedef struct
{
  GArray  *events;      /* 's' started, 'x' exited */
  int      started_rc;
  GPid     started_pid;
  PsfTaskState started_state;
  int      exited_arg;
  int      exited_rc;
  gboolean exited;
} Events;

static void
events_started_cb (PsfTask *task,
                   Events  *ev)
{
  char c = 's';

  g_array_append_val (ev->events, c);
  ev->started_rc = psf_task_get_returncode (task);
  ev->started_pid = psf_subprocess_get_pid (PSF_SUBPROCESS (task));
  ev->started_state = psf_task_get_state (task);
}

static void
events_exited_cb (PsfTask *task,
                  int      returncode,
                  Events  *ev)
{
  char c = 'x';

  g_array_append_val (ev->events, c);
  ev->exited_arg = returncode;
  ev->exited_rc = psf_task_get_returncode (task);
  ev->exited = TRUE;
}

static void
events_connect (PsfTask *task,
                Events  *ev)
{
  ev->events = g_array_new (TRUE, TRUE, 1);
  ev->started_rc = 12345;
  ev->exited_arg = 12345;
  g_signal_connect (task, "started", G_CALLBACK (events_started_cb), ev);
  g_signal_connect (task, "exited", G_CALLBACK (events_exited_cb), ev);
}

static const char *
events_string (Events *ev)
{
  return ev->events->data;
}

static void
test_state_table (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "3");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  int rc = 0;
  GPid pid;

  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (psf_task_get_returncode (task), ==, PSF_RETURNCODE_NONE);
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  g_assert_false (psf_task_is_alive (task));
  g_assert_false (psf_task_poll (task, &rc));
  g_assert_cmpint (rc, ==, PSF_RETURNCODE_NONE);
  g_assert_false (psf_task_get_cancelled (task));

  psf_test_assert_started (task);
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_RUNNING);
  g_assert_cmpint (psf_task_get_returncode (task), ==, PSF_RETURNCODE_NONE);
  g_assert_true (psf_task_is_alive (task));
  g_assert_false (psf_task_poll (task, NULL));

  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_EXITED);
  g_assert_cmpint (psf_task_get_returncode (task), ==, 3);
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, pid);
  g_assert_false (psf_task_is_alive (task));
  g_assert_true (psf_task_poll (task, &rc));
  g_assert_cmpint (rc, ==, 3);

  /* A second start() is refused. */
  g_assert_false (psf_task_start (task, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
}

static void
test_signals_order (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  Events ev = { 0 };

  events_connect (task, &ev);
  psf_test_assert_started (task);

  /* Never emitted synchronously inside start(). */
  g_assert_cmpstr (events_string (&ev), ==, "");

  psf_test_run_until (&ev.exited, 10000);
  g_assert_cmpstr (events_string (&ev), ==, "sx");
  g_assert_cmpint (ev.started_rc, ==, PSF_RETURNCODE_NONE);
  g_assert_cmpint (ev.started_pid, ==, psf_subprocess_get_pid (PSF_SUBPROCESS (proc)));
  g_assert_cmpint (ev.started_state, ==, PSF_TASK_STATE_RUNNING);
  g_assert_cmpint (ev.exited_arg, ==, 0);
  g_assert_cmpint (ev.exited_rc, ==, 0);
  g_array_unref (ev.events);
}

static void
test_signals_started_after_exit (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "4");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  Events ev = { 0 };
  GPid pid;

  events_connect (task, &ev);
  psf_test_assert_ok (psf_task_start (task, &error), error);
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));

  /* Let the child exit before the context gets to run at all. */
  while (psf_test_proc_state (pid) != 'Z' && psf_test_proc_state (pid) != 0)
    g_usleep (1000);
  g_usleep (50000);

  psf_test_run_until (&ev.exited, 10000);
  g_assert_cmpstr (events_string (&ev), ==, "sx");
  g_assert_cmpint (ev.started_rc, ==, PSF_RETURNCODE_NONE);
  g_assert_cmpint (ev.started_state, ==, PSF_TASK_STATE_RUNNING);
  g_assert_cmpint (ev.exited_rc, ==, 4);
  g_array_unref (ev.events);
}

typedef struct
{
  gulong later_id;
  guint  later_calls;
  guint  first_calls;
} DisconnectData;

static void
first_exited_cb (PsfTask        *task,
                 int             returncode,
                 DisconnectData *data)
{
  data->first_calls++;
  g_signal_handler_disconnect (task, data->later_id);
}

static void
later_exited_cb (PsfTask        *task,
                 int             returncode,
                 DisconnectData *data)
{
  data->later_calls++;
}

static void
test_signals_disconnect_during_emission (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);
  DisconnectData data = { 0 };

  g_signal_connect (task, "exited", G_CALLBACK (first_exited_cb), &data);
  data.later_id = g_signal_connect (task, "exited", G_CALLBACK (later_exited_cb), &data);

  psf_test_assert_started (task);
  psf_test_run_until_exited (task, 10000);
  g_assert_cmpuint (data.first_calls, ==, 1);
  g_assert_cmpuint (data.later_calls, ==, 0);
}

typedef struct
{
  guint     n_done;
  int       rc[8];
  GError   *error[8];
} WaitData;

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  WaitData *data = user_data;
  guint i = data->n_done++;

  data->rc[i] = psf_task_wait_finish (PSF_TASK (object), result, &data->error[i]);
}

static void
test_wait_before_start (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "5");
  PsfTask *task = PSF_TASK (proc);
  WaitData data = { 0 };

  psf_task_wait_async (task, NULL, wait_cb, &data);
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (data.n_done, ==, 0);

  psf_test_assert_started (task);
  psf_test_run_until_exited (task, 10000);
  while (data.n_done < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (data.error[0]);
  g_assert_cmpint (data.rc[0], ==, 5);
}

static void
test_wait_after_exit (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "6");
  PsfTask *task = PSF_TASK (proc);
  WaitData data = { 0 };

  psf_test_assert_started (task);
  psf_test_run_until_exited (task, 10000);

  psf_task_wait_async (task, NULL, wait_cb, &data);
  /* Not synchronously... */
  g_assert_cmpuint (data.n_done, ==, 0);
  /* ...but on the next iteration. */
  g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (data.n_done, ==, 1);
  g_assert_no_error (data.error[0]);
  g_assert_cmpint (data.rc[0], ==, 6);
}

static void
test_wait_many (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "50");
  PsfTask *task = PSF_TASK (proc);
  WaitData data = { 0 };

  psf_task_wait_async (task, NULL, wait_cb, &data);
  psf_test_assert_started (task);
  for (guint i = 0; i < 5; i++)
    psf_task_wait_async (task, NULL, wait_cb, &data);

  while (data.n_done < 6)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 6; i++)
    {
      g_assert_no_error (data.error[i]);
      g_assert_cmpint (data.rc[i], ==, 0);
    }
}

static void
test_wait_cancelled (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  WaitData data = { 0 };
  GPid pid;

  psf_test_assert_started (task);
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
  psf_task_wait_async (task, cancellable, wait_cb, &data);
  psf_task_wait_async (task, NULL, wait_cb, &data);

  g_cancellable_cancel (cancellable);
  while (data.n_done < 1)
    g_main_context_iteration (NULL, TRUE);

  g_assert_error (data.error[0], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (data.rc[0], ==, PSF_RETURNCODE_NONE);
  g_clear_error (&data.error[0]);

  /* The child and the task were not touched. */
  g_assert_true (psf_task_is_alive (task));
  g_assert_false (psf_task_get_cancelled (task));
  g_assert_cmpint (kill (pid, 0), ==, 0);

  psf_task_cancel (task);
  while (data.n_done < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (data.error[1]);
  g_assert_cmpint (data.rc[1], ==, -SIGTERM);
}

static void
test_wait_sync (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "7");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (psf_task_wait (task, &error), ==, PSF_RETURNCODE_NONE);
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_clear_error (&error);

  psf_test_assert_started (task);
  g_assert_cmpint (psf_task_wait (task, &error), ==, 7);
  g_assert_no_error (error);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_EXITED);

  /* Once exited, at once. */
  g_assert_cmpint (psf_task_wait (task, &error), ==, 7);
  g_assert_no_error (error);
}

typedef struct
{
  GError  *error;
  int      rc;
  gboolean called;
} InsideLoopData;

static void
wait_inside_loop_cb (PsfTask        *task,
                     InsideLoopData *data)
{
  data->rc = psf_task_wait (task, &data->error);
  data->called = TRUE;
}

static void
test_wait_sync_inside_loop (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "100");
  PsfTask *task = PSF_TASK (proc);
  InsideLoopData data = { 0 };

  g_signal_connect (task, "started", G_CALLBACK (wait_inside_loop_cb), &data);
  psf_test_assert_started (task);
  psf_test_run_until (&data.called, 10000);
  g_assert_error (data.error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_assert_cmpint (data.rc, ==, PSF_RETURNCODE_NONE);
  g_clear_error (&data.error);

  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_returncode (task), ==, 0);
}

static void
test_poll_does_not_reap (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);
  GPid pid;
  char state;
  int rc = 0;

  psf_test_assert_started (task);
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));

  /* The child has certainly exited: it is a zombie, or already collected
   * by GLib's child-watch machinery, but the loop has not run. */
  do
    {
      g_usleep (2000);
      state = psf_test_proc_state (pid);
    }
  while (state != 'Z' && state != 0);
  g_usleep (100000);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_false (psf_task_poll (task, &rc));
      g_assert_cmpint (rc, ==, PSF_RETURNCODE_NONE);
      g_assert_true (psf_task_is_alive (task));
      g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_RUNNING);
    }

  psf_test_run_until_exited (task, 10000);
  g_assert_true (psf_task_poll (task, &rc));
  g_assert_cmpint (rc, ==, 0);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  Events ev = { 0 };
  WaitData data = { 0 };

  events_connect (task, &ev);
  psf_task_wait_async (task, NULL, wait_cb, &data);
  psf_task_cancel (task);
  g_assert_true (psf_task_get_cancelled (task));
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_NEW);

  psf_test_assert_started (task);
  /* Nothing was created. */
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_EXITED);
  g_assert_cmpint (psf_task_get_returncode (task), ==, PSF_RETURNCODE_CANCELLED);
  g_assert_false (psf_task_is_alive (task));
  g_assert_cmpstr (events_string (&ev), ==, "");

  psf_test_run_until (&ev.exited, 10000);
  while (data.n_done < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (events_string (&ev), ==, "x");
  g_assert_cmpint (ev.exited_arg, ==, PSF_RETURNCODE_CANCELLED);
  g_assert_cmpint (data.rc[0], ==, PSF_RETURNCODE_CANCELLED);
  g_array_unref (ev.events);
}

static void
test_cancel_running (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  Events ev = { 0 };

  events_connect (task, &ev);
  psf_test_assert_started (task);
  g_main_context_iteration (NULL, FALSE);

  psf_task_cancel (task);
  /* Never blocks: the exit is observed later. */
  g_assert_cmpint (psf_task_get_returncode (task), ==, PSF_RETURNCODE_NONE);
  g_assert_true (psf_task_get_cancelled (task));
  psf_task_cancel (task);

  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGTERM);
  g_assert_cmpstr (events_string (&ev), ==, "sx");
  g_array_unref (ev.events);
}

static void
test_cancel_after_exit (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);

  psf_test_assert_started (task);
  psf_test_run_until_exited (task, 10000);
  psf_task_cancel (task);
  g_assert_true (psf_task_get_cancelled (task));
  g_assert_cmpint (psf_task_get_returncode (task), ==, 0);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_EXITED);
}

static void
test_cancel_escalates (void)
{
  const char *argv[] = { psf_test_prog_path (), "ignore-term", "30000", NULL };
  g_autoptr(PsfSpawnProcess) proc = psf_spawn_process_new (argv);
  PsfTask *task = PSF_TASK (proc);
  int pipe_fds[2];
  char buf[6] = { 0 };

  /* Its stdout is a pipe: "ready" says SIGTERM is ignored now. */
  g_assert_no_errno (pipe (pipe_fds));
  psf_spawn_process_take_fd (proc, pipe_fds[1], STDOUT_FILENO);
  psf_subprocess_set_cancel_timeout (PSF_SUBPROCESS (proc), 200);

  psf_test_assert_started (task);
  g_assert_cmpint (read (pipe_fds[0], buf, 5), ==, 5);
  g_assert_cmpstr (buf, ==, "ready");
  close (pipe_fds[0]);

  psf_task_cancel (task);
  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGKILL);
  g_assert_true (psf_task_get_cancelled (task));
}

static void
test_cancel_cancellable (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  g_object_set (proc, "cancellable", cancellable, NULL);
  g_assert_true (psf_task_get_cancellable (task) == cancellable);
  psf_test_assert_started (task);
  g_cancellable_cancel (cancellable);
  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGTERM);
  g_assert_true (psf_task_get_cancelled (task));
}

static void
test_external_kill (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);

  psf_test_assert_started (task);
  g_assert_no_errno (kill (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), SIGKILL));
  psf_test_run_until_exited (task, 10000);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGKILL);
  g_assert_false (psf_task_get_cancelled (task));
}

static void
test_send_signal (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfSubprocess *sub = PSF_SUBPROCESS (proc);
  g_autoptr(GError) error = NULL;

  g_assert_false (psf_subprocess_send_signal (sub, SIGTERM, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_clear_error (&error);

  psf_test_assert_started (PSF_TASK (proc));
  psf_test_assert_ok (psf_subprocess_send_signal (sub, SIGTERM, &error), error);
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, -SIGTERM);
  g_assert_false (psf_task_get_cancelled (PSF_TASK (proc)));

  /* Never to a reaped pid. */
  g_assert_false (psf_subprocess_send_signal (sub, SIGTERM, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
}

static void
test_timeout (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  PsfTestCheck data = { 0 };

  psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 100);
  psf_test_assert_started (task);
  psf_task_wait_check_async (task, NULL, psf_test_wait_check_cb, &data);
  psf_test_run_until (&data.done, 10000);

  g_assert_false (data.ok);
  g_assert_error (data.error, PSF_ERROR, PSF_ERROR_TIMED_OUT);
  g_assert_true (psf_subprocess_get_timed_out (PSF_SUBPROCESS (proc)));
  g_assert_true (psf_task_get_cancelled (task));
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGTERM);
  g_clear_error (&data.error);
}

static void
check_failure (const char *mode,
               const char *arg,
               int         expected_rc,
               int         expected_code,
               const char *expected_text)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new (mode, arg);
  PsfTestCheck data = { 0 };

  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &data);
  psf_test_run_until (&data.done, 10000);
  g_assert_false (data.ok);
  g_assert_error (data.error, PSF_ERROR, expected_code);
  g_assert_nonnull (strstr (data.error->message, expected_text));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, expected_rc);
  g_clear_error (&data.error);
}

static void
test_wait_check (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTestCheck data = { 0 };

  psf_test_assert_started (PSF_TASK (proc));
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &data);
  psf_test_run_until (&data.done, 10000);
  g_assert_no_error (data.error);
  g_assert_true (data.ok);

  check_failure ("exit", "3", 3, PSF_ERROR_FAILED, "exited with status 3");
  check_failure ("raise", "11", -11, PSF_ERROR_FAILED, "killed by signal 11");
}

static void
test_unref_without_wait (void)
{
  PsfSpawnProcess *proc = psf_test_prog_new ("sleep", "50");
  gpointer weak = proc;
  GPid pid;

  g_object_add_weak_pointer (G_OBJECT (proc), &weak);
  psf_test_assert_started (PSF_TASK (proc));
  pid = psf_subprocess_get_pid (PSF_SUBPROCESS (proc));
  g_object_unref (proc);

  /* The child watch keeps the task alive until the child is reaped. */
  g_assert_nonnull (weak);
  while (weak != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (psf_test_proc_state (pid), ==, 0);
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
}

static void
test_no_leaks_after_many_runs (void)
{
  guint fds_before = psf_test_count_fds ();
  guint zombies_before = psf_test_count_zombies ();

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");

      g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 10000), ==, 0);
    }

  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, zombies_before);
}

static void
test_spawn_missing_program (void)
{
  const char *argv[] = { "psf-no-such-program-here", NULL };
  g_autoptr(PsfSpawnProcess) proc = psf_spawn_process_new (argv);
  g_autoptr(GError) error = NULL;
  guint fds_before = psf_test_count_fds ();

  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, "psf-no-such-program-here"));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
}

static void
test_spawn_empty_argv (void)
{
  g_autoptr(PsfSpawnProcess) proc = g_object_new (PSF_TYPE_SPAWN_PROCESS, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
}

static void
test_spawn_no_path_lookup (void)
{
  const char *argv[] = { "true", NULL };
  g_autoptr(PsfSpawnProcess) proc = psf_spawn_process_new (argv);
  g_autoptr(GError) error = NULL;

  g_assert_true (psf_spawn_process_get_path_lookup (proc));
  psf_spawn_process_set_path_lookup (proc, FALSE);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
}

static char *
run_capturing_stdout (PsfSpawnProcess *proc)
{
  int pipe_fds[2];
  char buf[4096];
  ssize_t n;

  g_assert_no_errno (pipe (pipe_fds));
  psf_spawn_process_take_fd (proc, pipe_fds[1], STDOUT_FILENO);
  psf_test_start_and_wait (PSF_TASK (proc), 10000);
  n = read (pipe_fds[0], buf, sizeof buf - 1);
  close (pipe_fds[0]);
  g_assert_cmpint (n, >=, 0);
  buf[n] = '\0';
  return g_strdup (g_strchomp (buf));
}

static void
test_spawn_cwd_env (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("cwd", NULL);
  g_autoptr(PsfSpawnProcess) proc2 = psf_test_prog_new ("env", "PSF_TEST_VALUE");
  g_autoptr(PsfSpawnProcess) proc3 = psf_test_prog_new ("env", "HOME");
  const char *env[] = { "PSF_TEST_VALUE=forty-two", NULL };
  g_autofree char *cwd_out = NULL;
  g_autofree char *env_out = NULL;

  psf_spawn_process_set_cwd (proc, "/");
  cwd_out = run_capturing_stdout (proc);
  g_assert_cmpstr (cwd_out, ==, "/");

  psf_spawn_process_set_env (proc2, env);
  env_out = run_capturing_stdout (proc2);
  g_assert_cmpstr (env_out, ==, "forty-two");

  /* Only what was given: HOME is not inherited. */
  psf_spawn_process_set_env (proc3, env);
  g_free (run_capturing_stdout (proc3));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc3)), ==, 1);
}

static void
test_spawn_take_fd (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("check-fd", "7");
  g_autoptr(PsfSpawnProcess) proc2 = psf_test_prog_new ("check-fd", "7");
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  psf_spawn_process_take_fd (proc, fd, 7);
  psf_test_assert_started (PSF_TASK (proc));
  /* The host's copy was closed once the child had it (the number may
   * have been reused since, but not for /dev/null). */
  {
    g_autofree char *link = g_strdup_printf ("/proc/self/fd/%d", fd);
    g_autofree char *target = g_file_read_link (link, NULL);

    g_assert_cmpstr (target, !=, "/dev/null");
  }
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);

  /* Without it, fd 7 is not there. */
  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc2), 10000), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/task/state-table", test_state_table);
  g_test_add_func ("/psf/task/signals/order", test_signals_order);
  g_test_add_func ("/psf/task/signals/started-after-child-exit", test_signals_started_after_exit);
  g_test_add_func ("/psf/task/signals/disconnect-during-emission", test_signals_disconnect_during_emission);
  g_test_add_func ("/psf/task/wait/before-start", test_wait_before_start);
  g_test_add_func ("/psf/task/wait/after-exit", test_wait_after_exit);
  g_test_add_func ("/psf/task/wait/many", test_wait_many);
  g_test_add_func ("/psf/task/wait/cancelled", test_wait_cancelled);
  g_test_add_func ("/psf/task/wait/sync", test_wait_sync);
  g_test_add_func ("/psf/task/wait/sync-inside-loop", test_wait_sync_inside_loop);
  g_test_add_func ("/psf/task/wait/check", test_wait_check);
  g_test_add_func ("/psf/task/poll/does-not-reap", test_poll_does_not_reap);
  g_test_add_func ("/psf/task/cancel/before-start", test_cancel_before_start);
  g_test_add_func ("/psf/task/cancel/running", test_cancel_running);
  g_test_add_func ("/psf/task/cancel/after-exit", test_cancel_after_exit);
  g_test_add_func ("/psf/task/cancel/escalates-to-sigkill", test_cancel_escalates);
  g_test_add_func ("/psf/task/cancel/cancellable", test_cancel_cancellable);
  g_test_add_func ("/psf/task/external-sigkill", test_external_kill);
  g_test_add_func ("/psf/task/timeout", test_timeout);
  g_test_add_func ("/psf/task/unref-without-wait", test_unref_without_wait);
  g_test_add_func ("/psf/task/no-leaks-after-200-runs", test_no_leaks_after_many_runs);
  g_test_add_func ("/psf/task/send-signal", test_send_signal);
  g_test_add_func ("/psf/spawn/missing-program", test_spawn_missing_program);
  g_test_add_func ("/psf/spawn/empty-argv", test_spawn_empty_argv);
  g_test_add_func ("/psf/spawn/no-path-lookup", test_spawn_no_path_lookup);
  g_test_add_func ("/psf/spawn/cwd-env", test_spawn_cwd_env);
  g_test_add_func ("/psf/spawn/take-fd", test_spawn_take_fd);

  return g_test_run ();
}
