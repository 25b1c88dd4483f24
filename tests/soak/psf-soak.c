/* psf-soak.c: many tasks in one host, and what they leave behind
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   psf-soak [--sequential N] [--concurrent M] [--rounds R] [--quiet]
 *
 * Not a timed test: run by tests/soak/run-soak (README, "Reliability").
 * After a warm-up (200 tasks, then M at once) it runs N tasks one after
 * the other (default 10 000), then R rounds (default 3) of M tasks started
 * at once (default 500), cycling through the kinds of task a host uses:
 * SyncfsProcess with the FORKSERVER, SPAWN and FORK start methods, a
 * PsfSpawnProcess running a program, a ForkProcess running a C function.
 * Every task must exit 0 and be
 * finalized; in the concurrent rounds the function children sleep so that
 * all M are alive at once.
 *
 * It reports the host's open fds, zombie children, live task objects and
 * resident memory at the start, after the warm-up (what GLib sets up once
 * per process), after the sequential run and after each round, and fails
 * (exit 1) if a task failed, if fds grew after the warm-up, if a zombie or
 * a live task is left, or if the resident memory grew by more than
 * --rss-slack KiB (default 2048) between the end of the warm-up and the
 * end.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

enum {
  KIND_SYNCFS_FORKSERVER,
  KIND_SYNCFS_SPAWN,
  KIND_SYNCFS_FORK,
  KIND_PROGRAM,
  KIND_FUNCTION,
  N_KINDS
};

static const char * const kind_names[N_KINDS] = {
  "SyncfsProcess/FORKSERVER", "SyncfsProcess/SPAWN", "SyncfsProcess/FORK",
  "PsfSpawnProcess", "ForkProcess/func",
};

static const PsfStartMethod kind_methods[N_KINDS] = {
  [KIND_SYNCFS_FORKSERVER] = PSF_START_METHOD_FORKSERVER,
  [KIND_SYNCFS_SPAWN] = PSF_START_METHOD_SPAWN,
  [KIND_SYNCFS_FORK] = PSF_START_METHOD_FORK,
};

static char *paths[3];
static guint live_tasks;
static guint failures;
static guint finished;
static gboolean quiet;

typedef struct
{
  guint fds;
  guint zombies;
  guint live;
  guint rss_kib;
  guint hwm_kib;
} Snapshot;

static guint
status_kib (const char *field)
{
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return 0;
  line = strstr (contents, field);
  return line != NULL ? (guint) strtoul (line + strlen (field), NULL, 10) : 0;
}

static void
snapshot (Snapshot   *s,
          const char *when)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  s->fds = psf_test_count_fds ();
  s->zombies = psf_test_count_zombies ();
  s->live = live_tasks;
  s->rss_kib = status_kib ("VmRSS:");
  s->hwm_kib = status_kib ("VmHWM:");
  printf ("%-28s fds %4u  zombies %u  live tasks %3u  RSS %6u KiB  peak RSS %6u KiB\n",
          when, s->fds, s->zombies, s->live, s->rss_kib, s->hwm_kib);
  fflush (stdout);
}

static void
task_finalized (gpointer  data,
                GObject  *where_the_object_was)
{
  live_tasks--;
}

static int
sleep_func (int      report_fd,
            gpointer user_data)
{
  guint ms = GPOINTER_TO_UINT (user_data);
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
  return 0;
}

static void
wait_check_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!psf_task_wait_check_finish (PSF_TASK (object), result, &error))
    {
      if (failures++ < 10)
        g_printerr ("psf-soak: %s: %s\n", G_OBJECT_TYPE_NAME (object), error->message);
    }
  finished++;
}

static PsfTask *
task_new (guint kind,
          guint sleep_ms)
{
  PsfTask *task;

  switch (kind)
    {
    case KIND_SYNCFS_FORKSERVER:
    case KIND_SYNCFS_SPAWN:
    case KIND_SYNCFS_FORK:
      task = PSF_TASK (psf_syncfs_process_new ((const char * const *) paths));
      psf_fork_process_set_start_method (PSF_FORK_PROCESS (task), kind_methods[kind]);
      break;
    case KIND_PROGRAM:
      task = PSF_TASK (psf_test_prog_new ("exit", "0"));
      break;
    default:
      task = PSF_TASK (psf_fork_process_new_with_func (sleep_func,
                                                       GUINT_TO_POINTER (sleep_ms), NULL));
    }

  live_tasks++;
  g_object_weak_ref (G_OBJECT (task), task_finalized, NULL);
  return task;
}

/* Starts @task and drops the host's reference: the task lives on through
 * its sources until it has exited, and the waiter reports the outcome. */
static void
start_and_forget (PsfTask *task)
{
  g_autoptr(GError) error = NULL;

  if (!psf_task_start (task, &error))
    {
      if (failures++ < 10)
        g_printerr ("psf-soak: start: %s\n", error->message);
      finished++;
    }
  else
    psf_task_wait_check_async (task, NULL, wait_check_cb, NULL);
  g_object_unref (task);
}

static void
run_until_finished (guint n)
{
  while (finished < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
run_sequential (guint n,
                guint counts[N_KINDS])
{
  gint64 start = g_get_monotonic_time ();

  finished = 0;
  for (guint i = 0; i < n; i++)
    {
      guint kind = i % N_KINDS;

      start_and_forget (task_new (kind, 0));
      run_until_finished (i + 1);
      counts[kind]++;
      if (!quiet && (i + 1) % 2000 == 0)
        printf ("  %5u tasks, RSS %u KiB\n", i + 1, status_kib ("VmRSS:"));
    }
  printf ("  %u sequential tasks in %.1f s (%.2f ms each)\n", n,
          (g_get_monotonic_time () - start) / 1e6,
          (g_get_monotonic_time () - start) / 1e3 / MAX (n, 1));
}

static void
run_concurrent (guint n,
                guint counts[N_KINDS])
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GPtrArray) tasks = g_ptr_array_new ();
  guint alive = 0;

  finished = 0;
  for (guint i = 0; i < n; i++)
    {
      guint kind = i % N_KINDS;

      /* The functions sleep long enough for all of them to overlap. */
      g_ptr_array_add (tasks, g_object_ref (task_new (kind, 1000)));
      counts[kind]++;
    }
  for (guint i = 0; i < tasks->len; i++)
    start_and_forget (g_ptr_array_index (tasks, i));
  for (guint i = 0; i < tasks->len; i++)
    if (psf_task_is_alive (g_ptr_array_index (tasks, i)))
      alive++;
  g_ptr_array_set_free_func (tasks, g_object_unref);
  run_until_finished (n);
  printf ("  %u tasks started at once (%u children alive together) in %.1f s\n",
          n, alive, (g_get_monotonic_time () - start) / 1e6);
}

static void
raise_fd_limit (void)
{
  struct rlimit limit;

  /* 500 children at once need a few fds each. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
main (int   argc,
      char *argv[])
{
  guint sequential = 10000;
  guint concurrent = 500;
  guint rounds = 3;
  guint rss_slack = 2048;
  guint counts[N_KINDS] = { 0 };
  g_autofree char *tmpdir = NULL;
  g_autoptr(GError) error = NULL;
  Snapshot start, warm, after_seq, end;
  gboolean ok = TRUE;
  GOptionEntry entries[] = {
    { "sequential", 0, 0, G_OPTION_ARG_INT, &sequential, "Tasks one after the other (10000)", "N" },
    { "concurrent", 0, 0, G_OPTION_ARG_INT, &concurrent, "Tasks started at once (500)", "M" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Rounds of concurrent tasks (3)", "R" },
    { "rss-slack", 0, 0, G_OPTION_ARG_INT, &rss_slack, "RSS growth allowed, KiB (2048)", "KIB" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress lines", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- run many psf tasks in one host");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("psf-soak: %s\n", error->message);
      return 2;
    }

  raise_fd_limit ();
  tmpdir = g_dir_make_tmp ("psf-soak-XXXXXX", &error);
  g_assert_no_error (error);
  paths[0] = g_build_filename (tmpdir, "file", NULL);
  paths[1] = g_strdup (tmpdir);
  g_assert_true (g_file_set_contents (paths[0], "psf", -1, NULL));

  printf ("psf-soak: %u sequential, %u rounds of %u concurrent tasks; helper %s\n",
          sequential, rounds, concurrent, g_getenv ("PSF_CHILD_PATH"));
  snapshot (&start, "start");

  /* What GLib and the library set up once per process. */
  {
    guint warm_counts[N_KINDS] = { 0 };

    run_sequential (200, warm_counts);
    run_concurrent (concurrent, warm_counts);
  }
  snapshot (&warm, "after the warm-up");

  run_sequential (sequential, counts);
  snapshot (&after_seq, "after the sequential run");

  for (guint r = 0; r < rounds; r++)
    {
      g_autofree char *when = g_strdup_printf ("after concurrent round %u", r + 1);
      Snapshot s;

      run_concurrent (concurrent, counts);
      snapshot (&s, when);
    }
  snapshot (&end, "end");

  printf ("tasks run (after the warm-up):");
  for (guint k = 0; k < N_KINDS; k++)
    printf ("%s %u %s", k ? "," : "", counts[k], kind_names[k]);
  printf ("; failures %u\n", failures);

  if (failures > 0)
    ok = FALSE;
  if (end.fds > warm.fds)
    {
      printf ("FAIL: open fds grew from %u to %u\n", warm.fds, end.fds);
      ok = FALSE;
    }
  if (end.zombies > 0 || end.live > 0)
    {
      printf ("FAIL: %u zombies and %u live tasks left\n", end.zombies, end.live);
      ok = FALSE;
    }
  if (end.rss_kib > warm.rss_kib + rss_slack)
    {
      printf ("FAIL: RSS grew by %u KiB (more than %u)\n", end.rss_kib - warm.rss_kib, rss_slack);
      ok = FALSE;
    }
  printf ("%s: fds %u -> %u, zombies %u -> %u, live tasks %u -> %u, RSS %u -> %u KiB "
          "(%+d KiB after the warm-up)\n",
          ok ? "PASS" : "FAIL", start.fds, end.fds, start.zombies, end.zombies,
          start.live, end.live, start.rss_kib, end.rss_kib,
          (int) end.rss_kib - (int) warm.rss_kib);

  g_unlink (paths[0]);
  g_rmdir (tmpdir);
  g_free (paths[0]);
  g_free (paths[1]);
  return ok ? 0 : 1;
}
