/* test-paths.c: paths that change under the child, and what is reported
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Paths come from packages: a symlink may lead to another filesystem, be
 * swapped between the child's look at it and its open, or lead into
 * /proc; the host may change the task's paths while it runs. Each case
 * runs with every start method and holds what docs/reliability.md
 * ("Paths") promises: the filesystem reported for a path is the one that
 * was synced, the child never opens what it did not look at, and the
 * results are about the paths that were sent.
 *
 * Runs with the fault shim preloaded (tests/faults/fault-shim.c): its
 * syncfs rules fail the syncfs() of one directory (which filesystem was
 * synced through what), and its delays widen the window between the
 * look at a path and its open.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

static const char * const method_names[] = { "fork", "spawn", "forkserver" };

/* A directory on another filesystem than g_get_tmp_dir()'s (tmpfs), or
 * NULL. */
static char *
make_dir_elsewhere (const char *than)
{
  static const char * const candidates[] = { "/dev/shm", "/run", "/var/tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *template = g_build_filename (candidates[i], "psf-paths-XXXXXX", NULL);
      struct stat st;

      if (stat (candidates[i], &st) != 0 || (guint64) st.st_dev == psf_test_device_of (than))
        continue;
      if (g_mkdtemp (template) != NULL)
        return g_steal_pointer (&template);
    }
  return NULL;
}

/* ---- a symlink to a FIFO on another filesystem ---------------------------- */

/* The FIFO is never opened: the filesystem that holds it is synced through
 * a directory on that filesystem (the FIFO's own), never through the
 * directory of the link, and a later path on that filesystem is a
 * duplicate of a filesystem that really was synced. The shim fails every
 * syncfs() made through the FIFO's directory with EROFS, so the results
 * show where the sync went. */
static void
test_symlink_to_fifo_elsewhere (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *here = g_dir_make_tmp ("psf-paths-XXXXXX", NULL);
  g_autofree char *there = NULL;
  g_autofree char *link = NULL;
  g_autofree char *fifo = NULL;
  g_autofree char *file = NULL;
  g_autofree char *spec = NULL;
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  PsfTestCheck check = { 0 };
  const char *paths[4];

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  g_assert_nonnull (here);
  there = make_dir_elsewhere (here);
  if (there == NULL)
    {
      g_rmdir (here);
      g_test_skip ("no writable directory on a second filesystem (/dev/shm, /run, /var/tmp)");
      return;
    }
  fifo = g_build_filename (there, "fifo", NULL);
  file = g_build_filename (there, "file", NULL);
  link = g_build_filename (here, "link", NULL);
  g_assert_no_errno (mkfifo (fifo, 0600));
  g_assert_true (g_file_set_contents (file, "psf", -1, NULL));
  g_assert_no_errno (symlink (fifo, link));

  paths[0] = link;
  paths[1] = file;
  paths[2] = here;
  paths[3] = NULL;
  proc = psf_test_syncfs_new (method, paths);
  spec = g_strdup_printf ("syncfs,errno=EROFS,path=%s*,where=child", there);
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), spec);
  psf_test_run_checked (PSF_TASK (proc), &check);
  psf_test_disarm_faults (NULL);

  /* The FIFO's filesystem was synced (and failed): not the link's. */
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 0)), ==,
                   PSF_SYNCFS_STATUS_FAILED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 0)), ==, EROFS);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (fifo));
  /* The file beside it: the same filesystem, the same outcome. */
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 1)), ==,
                   PSF_SYNCFS_STATUS_FAILED);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 1)), ==,
                    psf_test_device_of (fifo));
  /* The link's own filesystem is synced for its own path. */
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 2)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 2)), ==,
                    psf_test_device_of (here));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 1);
  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_FAILED);
  g_clear_error (&check.error);

  g_unlink (link);
  g_unlink (fifo);
  g_unlink (file);
  g_rmdir (there);
  g_rmdir (here);
}

/* Whether this process may make a private mount namespace (root, and no
 * seccomp or LSM that refuses it): asked in a throwaway child. */
static gboolean
can_unshare_mounts (void)
{
  int status = 0;
  pid_t pid;

  if (geteuid () != 0)
    return FALSE;
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    _exit (unshare (CLONE_NEWNS) == 0 ? 0 : 1);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/* A FIFO of one filesystem bind-mounted over a file of another: no
 * directory on the FIFO's filesystem leads to it, so nothing is synced for
 * it and it is SKIPPED with EXDEV (the link's directory, on the other
 * filesystem, is never synced in its name). In a subprocess with a private
 * mount namespace, so the mount goes with it. */
static void
test_fifo_bind_mounted (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *here = NULL;
  g_autofree char *there = NULL;
  g_autofree char *fifo = NULL;
  g_autofree char *file = NULL;
  const char *paths[2];
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  PsfTestCheck check = { 0 };

  if (!g_test_subprocess ())
    {
      if (!can_unshare_mounts ())
        {
          g_test_skip ("needs root and a private mount namespace (unshare(CLONE_NEWNS))");
          return;
        }
      if (!psf_test_root_is_mount_point ())
        {
          g_test_skip ("needs / to be a mount point, to make the mounts private (a chroot?)");
          return;
        }
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_assert_no_errno (unshare (CLONE_NEWNS));
  g_assert_no_errno (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
  here = g_dir_make_tmp ("psf-paths-XXXXXX", NULL);
  g_assert_nonnull (here);
  there = make_dir_elsewhere (here);
  if (there == NULL)
    {
      g_rmdir (here);
      g_test_skip ("no writable directory on a second filesystem (/dev/shm, /run, /var/tmp)");
      return;
    }
  fifo = g_build_filename (there, "fifo", NULL);
  file = g_build_filename (here, "file", NULL);
  g_assert_no_errno (mkfifo (fifo, 0600));
  g_assert_true (g_file_set_contents (file, "psf", -1, NULL));
  g_assert_no_errno (mount (fifo, file, NULL, MS_BIND, NULL));

  paths[0] = file;
  paths[1] = NULL;
  proc = psf_test_syncfs_new (method, paths);
  psf_test_run_checked (PSF_TASK (proc), &check);
  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, 0)), ==,
                   PSF_SYNCFS_STATUS_SKIPPED);
  g_assert_cmpint (psf_syncfs_result_get_errno (psf_test_result_at (proc, 0)), ==, EXDEV);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (fifo));

  g_assert_no_errno (umount (file));
  g_unlink (file);
  g_unlink (fifo);
  g_rmdir (there);
  g_rmdir (here);
}

/* ---- a symlink swapped between a file and a FIFO ---------------------------- */

typedef struct
{
  char         *link;
  char         *next;      /* the new link, renamed over @link */
  char         *file;
  char         *fifo;
  volatile int  stop;
  guint         readers;   /* times a writer could open the FIFO */
  guint         swaps;
} Swapper;

/* Swaps @link between the file and the FIFO as fast as it can, and after
 * every swap tries to open the FIFO's write end without blocking: that
 * fails with ENXIO unless someone has its read end open. */
static gpointer
swapper_thread (gpointer data)
{
  Swapper *s = data;

  while (!s->stop)
    {
      const char *target = s->swaps % 2 ? s->fifo : s->file;
      int fd;

      unlink (s->next);
      if (symlink (target, s->next) == 0 && rename (s->next, s->link) == 0)
        s->swaps++;
      fd = open (s->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0)
        {
          s->readers++;
          close (fd);
        }
      else
        g_assert_cmpint (errno, ==, ENXIO);
    }
  return NULL;
}

/* Runs the child on a link that another thread swaps between a regular
 * file and a FIFO, many times. The shim delays every open of the link and
 * of the file by 1 ms, so that a child that looks at the path and then
 * opens it by name meets the other target often (today's code met the
 * FIFO in most runs). Neither the writer probe nor inotify may ever see
 * the FIFO opened by anyone but the probe. */
static void
test_swap_race (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *dir = g_dir_make_tmp ("psf-paths-XXXXXX", NULL);
  g_autofree char *spec = NULL;
  guint runs = psf_test_under_valgrind () ? 40 : 200;
  Swapper s = { 0 };
  GThread *thread;
  guint opens = 0;
  char events[4096];
  ssize_t n;
  int inotify;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  g_assert_nonnull (dir);
  s.link = g_build_filename (dir, "link", NULL);
  s.next = g_build_filename (dir, "link.next", NULL);
  s.file = g_build_filename (dir, "file", NULL);
  s.fifo = g_build_filename (dir, "fifo", NULL);
  g_assert_true (g_file_set_contents (s.file, "psf", -1, NULL));
  g_assert_no_errno (mkfifo (s.fifo, 0600));
  g_assert_no_errno (symlink (s.file, s.link));

  /* Every open of the FIFO, by anyone (an O_PATH lookup is not one). */
  inotify = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  g_assert_cmpint (inotify, >=, 0);
  g_assert_cmpint (inotify_add_watch (inotify, s.fifo, IN_OPEN), >=, 0);

  spec = g_strdup_printf ("open,path=%s,action=delay,ms=1,where=child;"
                          "open,path=%s,action=delay,ms=1,where=child",
                          s.link, s.file);
  thread = g_thread_new ("swapper", swapper_thread, &s);

  for (guint i = 0; i < runs; i++)
    {
      const char *paths[] = { s.link, NULL };
      g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
      g_autoptr(GError) error = NULL;
      PsfSyncfsStatus status;
      gboolean started;

      psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), spec);
      started = psf_task_start (PSF_TASK (proc), &error);
      g_assert_no_error (error);
      g_assert_true (started);
      psf_test_run_until_exited (PSF_TASK (proc), 30000);
      psf_test_disarm_faults (NULL);
      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
      /* A file or a FIFO, both on this filesystem: synced either way. */
      status = psf_syncfs_result_get_status (psf_test_result_at (proc, 0));
      g_assert_cmpint (status, ==, PSF_SYNCFS_STATUS_SYNCED);
    }

  s.stop = TRUE;
  g_thread_join (thread);

  /* The probe's own successful opens are the readers it counted. */
  while ((n = read (inotify, events, sizeof events)) > 0)
    for (char *p = events; p < events + n; )
      {
        const struct inotify_event *event = (const struct inotify_event *) p;

        if (event->mask & IN_OPEN)
          opens++;
        p += sizeof *event + event->len;
      }
  close (inotify);

  g_test_message ("%u runs, %u swaps, %u FIFO opens, %u readers seen",
                  runs, s.swaps, opens, s.readers);
  g_assert_cmpuint (s.swaps, >, runs);
  g_assert_cmpuint (s.readers, ==, 0);
  g_assert_cmpuint (opens, ==, 0);

  g_unlink (s.link);
  g_unlink (s.next);
  g_unlink (s.file);
  g_unlink (s.fifo);
  g_rmdir (dir);
  g_free (s.link);
  g_free (s.next);
  g_free (s.file);
  g_free (s.fifo);
}

/* ---- /proc and /sys ----------------------------------------------------------- */

/* Kernel interfaces hold nothing to sync: a path on /proc or /sys is
 * SKIPPED, never reported synced; /proc's magic links (an fd of the child,
 * another process's root) are not followed (ELOOP where the kernel has
 * openat2(), else the link itself is on /proc and skipped). */
static void
test_proc (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  const char *paths[] = {
    "/proc/self/fd/1", "/proc/self/root", "/proc", "/proc/self/mem", "/sys/kernel",
    "/proc/self/fd/1/", g_get_tmp_dir (), NULL,
  };
  guint n = G_N_ELEMENTS (paths) - 1;
  g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, paths);
  PsfTestCheck check = { 0 };

  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR) ||
      !g_file_test ("/sys/kernel", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("needs /proc and /sys mounted");
      return;
    }

  psf_test_run_checked (PSF_TASK (proc), &check);
  g_assert_no_error (check.error);
  g_assert_true (check.ok);

  for (guint i = 0; i + 1 < n; i++)
    {
      PsfSyncfsResult *result = psf_test_result_at (proc, i);
      int error = psf_syncfs_result_get_errno (result);
      g_autofree char *text = psf_syncfs_result_to_string (result);

      g_test_message ("%s", text);
      g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_SKIPPED);
      g_assert_true (error == ELOOP || error == EOPNOTSUPP || error == ENOTDIR);
    }
  g_assert_cmpint (psf_syncfs_result_get_status (psf_test_result_at (proc, n - 1)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
}

/* ---- the settings of a running task ------------------------------------------------- */

/* The paths set while the child runs are not what it was given: the
 * results are about the paths sent at start(). The child is held in
 * syncfs() for 300 ms meanwhile. */
static void
test_set_paths_while_running (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  const char *sent[] = { g_get_tmp_dir (), NULL };
  const char *later[] = { "/nonexistent/a", "/nonexistent/b", "/nonexistent/c", NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (method, sent);
  g_autoptr(GPtrArray) results = NULL;
  PsfTestCheck check = { 0 };
  gboolean started;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  psf_test_arm_faults (PSF_SPAWN_PROCESS (proc), "syncfs,action=delay,ms=300,where=child");
  started = psf_task_start (PSF_TASK (proc), &check.error);
  g_assert_no_error (check.error);
  g_assert_true (started);
  psf_syncfs_process_set_paths (proc, later);
  g_object_set (proc, "sync-fallback", TRUE, NULL);
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  psf_test_run_until (&check.done, 30000);
  psf_test_disarm_faults (NULL);

  g_assert_no_error (check.error);
  g_assert_true (check.ok);
  results = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_cmpstr (psf_syncfs_result_get_path (g_ptr_array_index (results, 0)), ==, sent[0]);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
  /* The property is what the host set. */
  g_assert_cmpstr (psf_syncfs_process_get_paths (proc)[0], ==, later[0]);
}

/* The timeout the child was started with is the one its error names,
 * whatever the property says by then. */
static void
test_timeout_changed_while_running (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "20000");
  PsfTestCheck check = { 0 };
  gboolean started;

  psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 100);
  started = psf_task_start (PSF_TASK (proc), &check.error);
  g_assert_no_error (check.error);
  g_assert_true (started);
  psf_subprocess_set_timeout (PSF_SUBPROCESS (proc), 5000);
  psf_task_wait_check_async (PSF_TASK (proc), NULL, psf_test_wait_check_cb, &check);
  psf_test_run_until (&check.done, 30000);

  g_assert_error (check.error, PSF_ERROR, PSF_ERROR_TIMED_OUT);
  g_assert_true (g_str_has_suffix (check.error->message, "timed out after 100 ms"));
  g_clear_error (&check.error);
}

/* The cgroup a running child was placed in is emptied and removed after
 * its exit: the property cannot move it meanwhile (a critical, and the
 * value stays). */
static void
test_cgroup_changed_while_running (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("sleep", "20000");
  g_autoptr(GError) error = NULL;
  g_autofree char *cgroup = NULL;
  gboolean started;

  started = psf_task_start (PSF_TASK (proc), &error);
  g_assert_no_error (error);
  g_assert_true (started);
  g_test_expect_message ("Psf", G_LOG_LEVEL_CRITICAL, "*cgroup of a running task cannot change*");
  g_object_set (proc, "cgroup", "/sys/fs/cgroup/elsewhere", NULL);
  g_test_assert_expected_messages ();
  g_object_get (proc, "cgroup", &cgroup, NULL);
  g_assert_null (cgroup);
  psf_task_cancel (PSF_TASK (proc));
  psf_test_run_until_exited (PSF_TASK (proc), 30000);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char    *name;
    GTestDataFunc  func;
  } cases[] = {
    { "symlink-to-fifo-elsewhere", test_symlink_to_fifo_elsewhere },
    { "fifo-bind-mounted", test_fifo_bind_mounted },
    { "swap-race", test_swap_race },
    { "proc", test_proc },
    { "set-paths-while-running", test_set_paths_while_running },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int method = PSF_START_METHOD_FORK; method <= PSF_START_METHOD_FORKSERVER; method++)
      {
        g_autofree char *path = g_strdup_printf ("/psf/paths/%s/%s", cases[i].name,
                                                 method_names[method - PSF_START_METHOD_FORK]);

        g_test_add_data_func (path, GINT_TO_POINTER (method), cases[i].func);
      }

  g_test_add_func ("/psf/paths/running/timeout-changed", test_timeout_changed_while_running);
  g_test_add_func ("/psf/paths/running/cgroup-changed", test_cgroup_changed_while_running);

  return g_test_run ();
}
