/* test-cgroup-cleanup.c: a child that leaves processes in its cgroup
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * At the reap, psf kills whatever is left in a task's cgroup and removes
 * it, which takes the kernel a moment per round. The main loop must run
 * meanwhile (no sleep in the reap), and ::exited must come after the
 * clean-up. Needs root and a cgroup v2 hierarchy; skipped elsewhere.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "test-utils.h"

/* cgroup clean-up */

typedef struct
{
  gboolean grandchild_gone;
  gboolean gone_before_exited;
  gboolean exited;
} CleanupOrder;

static gboolean
grandchild_gone_cb (int          fd,
                    GIOCondition condition,
                    gpointer     data)
{
  CleanupOrder *order = data;

  order->grandchild_gone = TRUE;
  return G_SOURCE_REMOVE;
}

static void
cleanup_exited_cb (PsfTask  *task,
                   int       returncode,
                   gpointer  data)
{
  CleanupOrder *order = data;

  order->gone_before_exited = order->grandchild_gone;
  order->exited = TRUE;
}

/* One task whose grandchild is left in its cgroup: killed at the reap,
 * the cgroup removed, ::exited after that. Returns whether the host saw
 * the grandchild gone (its pidfd) before ::exited, that is whether the
 * loop ran during the clean-up; FALSE with the test skipped where it
 * cannot run. */
static gboolean
run_cleanup_once (const char *mount,
                  gboolean   *skipped)
{
  g_autofree char *cgroup = NULL;
  g_autofree char *procs = NULL;
  g_autoptr(PsfSpawnProcess) proc = NULL;
  CleanupOrder order = { 0 };
  GSource *source;
  GPid grandchild = 0;
  int pidfd;

  cgroup = g_strdup_printf ("%s/psf-test-%d-%u", mount, (int) getpid (), g_random_int ());
  procs = g_build_filename (cgroup, "cgroup.procs", NULL);
  if (mkdir (cgroup, 0755) < 0)
    {
      g_test_skip ("the cgroup v2 hierarchy is not writable here");
      *skipped = TRUE;
      return FALSE;
    }

  proc = psf_test_prog_new ("grandchild", "60000");
  g_object_set (proc, "cgroup", cgroup, NULL);
  g_signal_connect (proc, "exited", G_CALLBACK (cleanup_exited_cb), &order);
  psf_test_assert_started (PSF_TASK (proc));

  /* The grandchild: the one left in the cgroup once the child is gone
   * (a zombie is not listed). The loop does not run, so nothing is
   * reaped or killed yet. */
  for (guint tries = 0; tries < 5000 && grandchild == 0; tries++)
    {
      g_autofree char *contents = NULL;

      char state = psf_test_proc_state (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)));

      if (g_file_get_contents (procs, &contents, NULL, NULL) && (state == 'Z' || state == 0))
        {
          g_auto(GStrv) lines = g_strsplit (g_strstrip (contents), "\n", -1);

          if (g_strv_length (lines) == 1)
            grandchild = atoi (lines[0]);
        }
      if (grandchild == 0)
        g_usleep (1000);
    }
  g_assert_cmpint (grandchild, >, 0);

  pidfd = pidfd_open (grandchild, 0);
  g_assert_cmpint (pidfd, >=, 0);
  source = g_unix_fd_source_new (pidfd, G_IO_IN);
  g_source_set_callback (source, G_SOURCE_FUNC (grandchild_gone_cb), &order, NULL);
  g_source_attach (source, NULL);

  psf_test_run_until_exited (PSF_TASK (proc), 20000);
  g_assert_true (order.exited);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  g_assert_false (g_file_test (cgroup, G_FILE_TEST_EXISTS));

  g_source_destroy (source);
  g_source_unref (source);
  close (pidfd);
  return order.gone_before_exited;
}

/* A grandchild left in the task's cgroup is killed at the reap. The loop
 * runs while the kernel takes it away (here: the host sees it gone) and
 * ::exited comes after the clean-up, with the cgroup removed. The kernel
 * takes a process out of cgroup.procs a moment before its pidfd says it
 * exited, so a clean-up that finds the cgroup empty at its first look may
 * end before the host's pidfd source runs, however the loop is given its
 * turn: of three tasks at least one must show the host hearing of the kill
 * first. A clean-up that sleeps in the reap (the loop never runs) fails
 * all three. */
static void
test_cgroup_cleanup_yields (void)
{
  g_autofree char *mount = psf_test_find_cgroup2_mount ();
  gboolean skipped = FALSE;
  guint yielded = 0;
  int pidfd;

  /* The host watches the grandchild through a pidfd. */
  pidfd = pidfd_open (getpid (), 0);
  if (pidfd < 0)
    {
      g_test_skip ("pidfd_open() is refused here (valgrind?)");
      return;
    }
  close (pidfd);

  if (mount == NULL || geteuid () != 0)
    {
      g_test_skip ("needs root and a cgroup v2 hierarchy");
      return;
    }

  for (guint i = 0; i < 3 && yielded == 0; i++)
    {
      if (run_cleanup_once (mount, &skipped))
        yielded++;
      else if (skipped)
        return;
      else
        g_test_message ("task %u: ::exited came before the host saw the grandchild gone", i);
    }
  g_assert_cmpuint (yielded, >, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/cgroup-cleanup/loop-runs", test_cgroup_cleanup_yields);

  return g_test_run ();
}
