/* test-syncfs-progress.c: PsfSyncfsProcess::path-done, results as they come
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs with LD_PRELOAD=libpsf-fault-shim.so (see faults/fault-shim.c): a
 * PSF_FAULT rule makes syncfs() sleep on one filesystem only (a directory
 * made for the test on the disk the build tree is on), while the other
 * one (/dev/shm, a tmpfs) is flushed at once. The rule reaches a FORK
 * child through this process (psf_test_arm_faults()), the SPAWN helper
 * and a FORKSERVER child through their environment.
 */

#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "test-utils.h"

/* How long syncfs() sleeps on the slow filesystem. */
#define SLOW_MS 1500

typedef struct
{
  PsfSyncfsProcess *proc;
  GPtrArray        *results;      /* in the order ::path-done gave them */
  GArray           *times_us;     /* when each came */
  GArray           *child_states; /* the child's /proc state then */
  gboolean          started;
  gboolean          started_first;
  gboolean          exited;
  gint64            exited_us;
  guint             emitted_at_exit;
  GPtrArray        *running_results; /* get_results() from a handler */
  guint             n_notified;      /* notify::n-filesystems */
  gboolean          notified_after_started;
  int               planned_at_first_flush; /* n-filesystems then */
} Progress;

static void
progress_clear (Progress *p)
{
  g_clear_object (&p->proc);
  g_clear_pointer (&p->results, g_ptr_array_unref);
  g_clear_pointer (&p->times_us, g_array_unref);
  g_clear_pointer (&p->child_states, g_array_unref);
  g_clear_pointer (&p->running_results, g_ptr_array_unref);
}

static void
started_cb (PsfTask  *task,
            gpointer  data)
{
  Progress *p = data;

  p->started = TRUE;
  p->started_first = p->results->len == 0;
}

static void
path_done_cb (PsfSyncfsProcess *proc,
              PsfSyncfsResult  *result,
              gpointer          data)
{
  Progress *p = data;
  gint64 now = g_get_monotonic_time ();
  char state = psf_test_proc_state (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)));

  g_assert_true (PSF_IS_SYNCFS_RESULT (result));
  g_assert_false (p->exited);
  if (p->planned_at_first_flush == -2 &&
      (psf_syncfs_result_get_status (result) == PSF_SYNCFS_STATUS_SYNCED ||
       psf_syncfs_result_get_status (result) == PSF_SYNCFS_STATUS_FAILED))
    p->planned_at_first_flush = psf_syncfs_process_get_n_filesystems (proc);
  g_ptr_array_add (p->results, g_object_ref (result));
  g_array_append_val (p->times_us, now);
  g_array_append_val (p->child_states, state);
  if (p->running_results == NULL)
    p->running_results = psf_syncfs_process_get_results (proc);
}

static void
n_filesystems_cb (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    data)
{
  Progress *p = data;

  g_assert_false (p->exited);
  p->n_notified++;
  p->notified_after_started = p->started;
}

static void
exited_cb (PsfTask  *task,
           int       returncode,
           gpointer  data)
{
  Progress *p = data;

  p->exited = TRUE;
  p->exited_us = g_get_monotonic_time ();
  p->emitted_at_exit = p->results->len;
}

static void
progress_run (Progress           *p,
              PsfStartMethod      method,
              const char * const *paths,
              const char         *fault_spec)
{
  p->results = g_ptr_array_new_with_free_func (g_object_unref);
  p->times_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  p->child_states = g_array_new (FALSE, FALSE, sizeof (char));
  p->planned_at_first_flush = -2;
  p->proc = psf_test_syncfs_new (method, paths);
  g_assert_cmpint (psf_syncfs_process_get_n_filesystems (p->proc), ==, -1);
  if (fault_spec != NULL)
    psf_test_arm_faults (PSF_SPAWN_PROCESS (p->proc), fault_spec);
  g_signal_connect (p->proc, "started", G_CALLBACK (started_cb), p);
  g_signal_connect (p->proc, "path-done", G_CALLBACK (path_done_cb), p);
  g_signal_connect (p->proc, "exited", G_CALLBACK (exited_cb), p);
  g_signal_connect (p->proc, "notify::n-filesystems", G_CALLBACK (n_filesystems_cb), p);

  psf_test_start_and_wait (PSF_TASK (p->proc), 30000);
  if (fault_spec != NULL)
    psf_test_disarm_faults (NULL);
}

/* The index in @p->results of the result about @path, or -1. */
static int
progress_find (Progress   *p,
               const char *path)
{
  for (guint i = 0; i < p->results->len; i++)
    if (strcmp (psf_syncfs_result_get_path (g_ptr_array_index (p->results, i)), path) == 0)
      return (int) i;
  return -1;
}

/* Every path is reported once, after ::started and before ::exited, with
 * the very objects get_results() gives afterwards; a handler that asks
 * for the results meanwhile gets none. The number of filesystems,
 * @n_filesystems, is known once, after ::started, before the first one is
 * done. */
static void
assert_reported_once (Progress           *p,
                      const char * const *paths,
                      int                 n_filesystems)
{
  g_autoptr(GPtrArray) results = psf_syncfs_process_get_results (p->proc);

  g_assert_true (p->started);
  g_assert_true (p->started_first);
  g_assert_true (p->exited);
  g_assert_cmpuint (p->emitted_at_exit, ==, g_strv_length ((char **) paths));
  g_assert_cmpuint (p->results->len, ==, results->len);
  g_assert_nonnull (p->running_results);
  g_assert_cmpuint (p->running_results->len, ==, 0);
  g_assert_cmpuint (p->n_notified, ==, 1);
  g_assert_true (p->notified_after_started);
  g_assert_cmpint (p->planned_at_first_flush, ==, n_filesystems);
  g_assert_cmpint (psf_syncfs_process_get_n_filesystems (p->proc), ==, n_filesystems);

  for (guint i = 0; i < results->len; i++)
    {
      int at = progress_find (p, paths[i]);

      g_assert_cmpint (at, >=, 0);
      g_assert_true (g_ptr_array_index (p->results, at) == g_ptr_array_index (results, i));
    }
}

/* A fast filesystem's result arrives while a slow one is still being
 * synced: before the slow one's, with the child still running, well
 * before ::exited. FORK syncs one filesystem after the other, so the fast
 * one comes first there; the helper syncs them at once, so there the
 * slow one comes first on the command line and still last in time. */
static void
test_fast_before_slow (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  /* Canonical: the rule is matched against the name the kernel gives the
   * opened directory. */
  g_autofree char *build_dir = g_canonicalize_filename (g_test_get_dir (G_TEST_BUILT), NULL);
  g_autofree char *template = g_build_filename (build_dir, "slow-fs-XXXXXX", NULL);
  g_autofree char *slow = NULL;
  g_autofree char *spec = NULL;
  const char *fast = "/dev/shm";
  const char *paths[3];
  Progress p = { 0 };
  struct stat slow_st, fast_st;
  int at_fast, at_slow;
  char state;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  slow = g_mkdtemp (g_steal_pointer (&template));
  g_assert_nonnull (slow);
  if (stat (fast, &fast_st) != 0 || stat (slow, &slow_st) != 0 ||
      fast_st.st_dev == slow_st.st_dev)
    {
      g_rmdir (slow);
      g_test_skip ("/dev/shm is not a filesystem apart from the build tree");
      return;
    }

  paths[0] = method == PSF_START_METHOD_FORK ? fast : slow;
  paths[1] = method == PSF_START_METHOD_FORK ? slow : fast;
  paths[2] = NULL;
  spec = g_strdup_printf ("syncfs,action=delay,ms=%d,where=child,path=%s", SLOW_MS, slow);

  progress_run (&p, method, paths, spec);
  g_rmdir (slow);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (p.proc)), ==, 0);
  assert_reported_once (&p, paths, 2);

  at_fast = progress_find (&p, fast);
  at_slow = progress_find (&p, slow);
  g_assert_cmpint (at_fast, <, at_slow);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (p.results, at_fast)),
                   ==, PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (p.results, at_slow)),
                   ==, PSF_SYNCFS_STATUS_SYNCED);

  /* The child was still at work (not a zombie waiting for its reap) ... */
  state = g_array_index (p.child_states, char, at_fast);
  g_assert_cmpint (state, !=, 0);
  g_assert_cmpint (state, !=, 'Z');
  /* ... and the slow filesystem's sleep lay ahead: the fast result was not
   * held back until the end of the run. */
  g_assert_cmpint (p.exited_us - g_array_index (p.times_us, gint64, at_fast),
                   >=, (SLOW_MS / 2) * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (g_array_index (p.times_us, gint64, at_slow) -
                   g_array_index (p.times_us, gint64, at_fast),
                   >=, (SLOW_MS / 2) * G_TIME_SPAN_MILLISECOND);

  progress_clear (&p);
}

/* Duplicates and skipped paths are reported too, each path once, with
 * or without a slow filesystem. */
static void
test_every_path (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  g_autofree char *template = g_build_filename (build_dir, "every-path-XXXXXX", NULL);
  g_autofree char *dir = g_mkdtemp (g_steal_pointer (&template));
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  const char *paths[] = { dir, "/nonexistent-psf", file, "/dev/shm", NULL };
  Progress p = { 0 };
  PsfSyncfsStatus expected[] = {
    PSF_SYNCFS_STATUS_SYNCED, PSF_SYNCFS_STATUS_SKIPPED,
    PSF_SYNCFS_STATUS_DUPLICATE, PSF_SYNCFS_STATUS_SYNCED,
  };

  g_assert_true (g_file_set_contents (file, "psf", -1, NULL));
  progress_run (&p, method, paths, NULL);
  g_unlink (file);
  g_rmdir (dir);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (p.proc)), ==, 0);
  /* The skipped path has no filesystem, the file shares the directory's. */
  assert_reported_once (&p, paths, 2);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      int at = progress_find (&p, paths[i]);

      g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (p.results, at)),
                       ==, expected[i]);
    }
  /* The other path on a filesystem waits for that filesystem. */
  g_assert_cmpint (progress_find (&p, file), >, progress_find (&p, dir));

  progress_clear (&p);
}

/* Without a handler nothing is queued, and the results are there all the
 * same once the task has exited. */
static void
test_unheard (void)
{
  const char *paths[] = { "/dev/shm", "/nonexistent-psf", NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  g_autoptr(GPtrArray) results = NULL;

  psf_test_start_and_wait (PSF_TASK (proc), 30000);
  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (results->len, ==, 2);
  g_assert_cmpint (psf_syncfs_process_get_n_filesystems (proc), ==, 1);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)),
                   ==, PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 1)),
                   ==, PSF_SYNCFS_STATUS_SKIPPED);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char    *name;
    PsfStartMethod method;
  } methods[] = {
    { "fork", PSF_START_METHOD_FORK },
    { "spawn", PSF_START_METHOD_SPAWN },
    { "forkserver", PSF_START_METHOD_FORKSERVER },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autofree char *fast = g_strdup_printf ("/psf/syncfs/path-done/fast-before-slow/%s",
                                               methods[i].name);
      g_autofree char *every = g_strdup_printf ("/psf/syncfs/path-done/every-path/%s",
                                                methods[i].name);

      g_test_add_data_func (fast, GINT_TO_POINTER (methods[i].method), test_fast_before_slow);
      g_test_add_data_func (every, GINT_TO_POINTER (methods[i].method), test_every_path);
    }
  g_test_add_func ("/psf/syncfs/path-done/unheard", test_unheard);

  return g_test_run ();
}
