/* test-loop-bridge.c: PsfLoopBridge, a task's context driven by a foreign loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The "foreign loop" here is a plain poll() loop that knows nothing of GLib
 * but what the bridge tells it: the fds, their events and the timeout.
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "test-utils.h"

/* One round of the foreign loop: prepare, poll() what the bridge asked for,
 * dispatch with what poll() saw (or let the bridge look, @self_poll). */
static gboolean
foreign_round (PsfLoopBridge *bridge,
               gboolean       self_poll,
               int           *timeout_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree struct pollfd *fds = NULL;
  g_autofree int *revents = NULL;
  int timeout;
  guint n;
  gboolean dispatched;

  timeout = psf_loop_bridge_prepare (bridge, &error);
  g_assert_no_error (error);
  g_assert_cmpint (timeout, >=, -1);
  if (timeout_out != NULL)
    *timeout_out = timeout;

  n = psf_loop_bridge_get_n_fds (bridge);
  g_assert_cmpuint (n, >, 0);     /* the context's wakeup fd */
  fds = g_new0 (struct pollfd, n);
  revents = g_new0 (int, n);
  for (guint i = 0; i < n; i++)
    {
      fds[i].fd = psf_loop_bridge_get_fd (bridge, i);
      fds[i].events = psf_loop_bridge_get_events (bridge, i);
      g_assert_cmpint (fds[i].fd, >=, 0);
    }

  /* Never more than 10 s in one round: the test fails rather than hangs. */
  while (poll (fds, n, timeout < 0 || timeout > 10000 ? 10000 : timeout) < 0)
    g_assert_cmpint (errno, ==, EINTR);

  for (guint i = 0; i < n; i++)
    revents[i] = fds[i].revents;

  dispatched = psf_loop_bridge_dispatch (bridge, self_poll ? NULL : revents,
                                         self_poll ? 0 : n, &error);
  g_assert_no_error (error);
  return dispatched;
}

static void
drive_until_exited (PsfLoopBridge *bridge,
                    PsfTask       *task,
                    gboolean       self_poll,
                    guint         *rounds,
                    gboolean      *saw_timeout)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (psf_task_get_state (task) != PSF_TASK_STATE_EXITED)
    {
      int timeout = -1;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      foreign_round (bridge, self_poll, &timeout);
      if (rounds != NULL)
        (*rounds)++;
      if (saw_timeout != NULL && timeout > 0)
        *saw_timeout = TRUE;
    }
}

static void
count_cb (PsfTask  *task,
          gpointer  data)
{
  (*(guint *) data)++;
}

static void
test_poll_loop (gconstpointer data)
{
  gboolean self_poll = GPOINTER_TO_INT (data);
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "7");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  guint started = 0, rounds = 0;

  g_signal_connect (task, "started", G_CALLBACK (count_cb), &started);
  psf_test_assert_ok (psf_loop_bridge_start_task (bridge, task, &error), error);
  g_assert_true (psf_task_get_context (task) == psf_loop_bridge_get_context (bridge));
  g_assert_true (psf_task_get_context (task) != g_main_context_default ());
  /* Nothing leaks into the caller's context: the push was popped. */
  g_assert_true (g_main_context_get_thread_default () == NULL);

  drive_until_exited (bridge, task, self_poll, &rounds, NULL);
  g_assert_cmpint (psf_task_get_returncode (task), ==, 7);
  g_assert_cmpuint (started, ==, 1);
  g_assert_false (g_main_context_pending (NULL));
  g_test_message ("%u rounds", rounds);
}

static void
test_timeout_from_the_bridge (void)
{
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GError) error = NULL;
  gboolean saw_timeout = FALSE;

  psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 1000);
  psf_test_assert_ok (psf_loop_bridge_start_task (bridge, task, &error), error);
  drive_until_exited (bridge, task, FALSE, NULL, &saw_timeout);
  g_assert_true (saw_timeout);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGTERM);
  g_assert_true (psf_subprocess_get_timed_out (PSF_SUBPROCESS (proc)));
}

static gpointer
cancel_later_thread (gpointer data)
{
  g_usleep (200 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_wakeup_from_another_thread (void)
{
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "30000");
  PsfTask *task = PSF_TASK (proc);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  GThread *thread;
  gint64 start;

  psf_task_set_cancellable (task, cancellable);
  psf_test_assert_ok (psf_loop_bridge_start_task (bridge, task, &error), error);
  start = g_get_monotonic_time ();
  thread = g_thread_new ("cancel-later", cancel_later_thread, cancellable);
  /* The foreign loop sleeps in poll() with no timeout of GLib's: only the
   * context's wakeup fd can tell it about the cancel in the other thread. */
  drive_until_exited (bridge, task, FALSE, NULL, NULL);
  g_thread_join (thread);
  g_assert_cmpint (psf_task_get_returncode (task), ==, -SIGTERM);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_given_context (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (context);
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  PsfTask *task = PSF_TASK (proc);
  GMainContext *prop = NULL;

  g_assert_true (psf_loop_bridge_get_context (bridge) == context);
  g_object_get (bridge, "context", &prop, NULL);
  g_assert_true (prop == context);
  g_main_context_unref (prop);

  /* A task started the usual way in that context is driven the same. */
  g_main_context_push_thread_default (context);
  psf_test_assert_started (task);
  g_main_context_pop_thread_default (context);
  drive_until_exited (bridge, task, TRUE, NULL, NULL);
  g_assert_cmpint (psf_task_get_returncode (task), ==, 0);
}

static void
test_wrong_revents (void)
{
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
  g_autoptr(GError) error = NULL;
  int revents[64] = { 0 };
  guint n;

  psf_loop_bridge_prepare (bridge, &error);
  g_assert_no_error (error);
  n = psf_loop_bridge_get_n_fds (bridge);
  g_assert_cmpuint (n + 1, <=, G_N_ELEMENTS (revents));
  g_assert_false (psf_loop_bridge_dispatch (bridge, revents, n + 1, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The right count goes through. */
  g_assert_false (psf_loop_bridge_dispatch (bridge, revents, n, &error));
  g_assert_no_error (error);
  /* Without a prepare() since: one iteration that does not wait. */
  g_assert_false (psf_loop_bridge_dispatch (bridge, NULL, 0, &error));
  g_assert_no_error (error);
}

static void
test_owned_by_another_thread (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (context);
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  g_autoptr(GError) error = NULL;
  PsfTestContextOwner *owner = psf_test_context_owner_start (context);

  g_assert_cmpint (psf_loop_bridge_prepare (bridge, &error), ==, -1);
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_clear_error (&error);
  g_assert_false (psf_loop_bridge_dispatch (bridge, NULL, 0, &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_clear_error (&error);
  g_assert_false (psf_loop_bridge_start_task (bridge, PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);

  psf_test_context_owner_stop (owner);
}

static void
test_no_fd_left (void)
{
  guint before;

  /* Warm-up: whatever the first task sets up once (the helper, caches). */
  {
    g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");

    psf_test_start_and_wait (PSF_TASK (proc), 30000);
  }

  before = psf_test_count_fds ();
  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
      g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
      g_autoptr(GError) error = NULL;

      psf_test_assert_ok (psf_loop_bridge_start_task (bridge, PSF_TASK (proc), &error), error);
      drive_until_exited (bridge, PSF_TASK (proc), FALSE, NULL, NULL);
    }
  g_assert_cmpuint (psf_test_count_fds (), ==, before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/psf/loop-bridge/poll-loop/revents", GINT_TO_POINTER (FALSE),
                        test_poll_loop);
  g_test_add_data_func ("/psf/loop-bridge/poll-loop/self-poll", GINT_TO_POINTER (TRUE),
                        test_poll_loop);
  g_test_add_func ("/psf/loop-bridge/timeout", test_timeout_from_the_bridge);
  g_test_add_func ("/psf/loop-bridge/wakeup-from-another-thread", test_wakeup_from_another_thread);
  g_test_add_func ("/psf/loop-bridge/given-context", test_given_context);
  g_test_add_func ("/psf/loop-bridge/wrong-revents", test_wrong_revents);
  g_test_add_func ("/psf/loop-bridge/owned-by-another-thread", test_owned_by_another_thread);
  g_test_add_func ("/psf/loop-bridge/no-fd-left", test_no_fd_left);

  return g_test_run ();
}
