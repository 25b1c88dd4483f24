/* test-syncfs.c: PsfSyncfsProcess, every case with both start methods
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-utils.h"

typedef struct
{
  char          *tmpdir;
  PsfStartMethod method;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->method = GPOINTER_TO_INT (data);
  f->tmpdir = g_dir_make_tmp ("psf-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          unlink (child);
      }
  rmdir (path);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  remove_tree (f->tmpdir);
  g_free (f->tmpdir);
}

static char *
make_file (Fixture    *f,
           const char *name)
{
  char *path = g_build_filename (f->tmpdir, name, NULL);

  g_assert_true (g_file_set_contents (path, "psf", -1, NULL));
  return path;
}

/* Runs a PsfSyncfsProcess over @paths with the fixture's method and
 * returns it exited. */
static PsfSyncfsProcess *
run_sync (Fixture            *f,
          const char * const *paths)
{
  PsfSyncfsProcess *proc = psf_syncfs_process_new (paths);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) before = NULL;

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), f->method);
  before = psf_syncfs_process_get_results (proc);
  g_assert_cmpuint (before->len, ==, 0);

  psf_test_start_and_wait (PSF_TASK (proc), 30000);
  return proc;
}

static guint
n_results (PsfSyncfsProcess *proc)
{
  g_autoptr(GPtrArray) results = psf_syncfs_process_get_results (proc);

  return results->len;
}

static void
assert_result (PsfSyncfsProcess *proc,
               guint             i,
               const char       *path,
               PsfSyncfsStatus   status,
               int               error_number)
{
  PsfSyncfsResult *result = psf_test_result_at (proc, i);

  g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, path);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, status);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, error_number);
}

static void
test_empty (Fixture       *f,
            gconstpointer  data)
{
  const char *paths[] = { NULL };
  g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);
  g_autoptr(PsfSyncfsProcess) proc2 = NULL;

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  g_assert_cmpuint (n_results (proc), ==, 0);

  /* A NULL path list is the empty list. */
  proc2 = run_sync (f, NULL);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc2)), ==, 0);
  g_assert_cmpuint (n_results (proc2), ==, 0);
}

static void
test_nonexistent (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (f->tmpdir, "missing", NULL);
  const char *paths[] = { missing, NULL };
  g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);

  /* Portage skips it and still succeeds. */
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, missing, PSF_SYNCFS_STATUS_SKIPPED, ENOENT);
}

static void
test_regular_file (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *file = make_file (f, "file");
  const char *paths[] = { file, NULL };
  g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);
  g_autofree char *text = NULL;

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, file, PSF_SYNCFS_STATUS_SYNCED, 0);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (file));
  text = psf_syncfs_result_to_string (psf_test_result_at (proc, 0));
  g_assert_true (g_str_has_prefix (text, file));
  g_assert_nonnull (strstr (text, "synced"));
}

static void
test_directory (Fixture       *f,
                gconstpointer  data)
{
  const char *paths[] = { f->tmpdir, NULL };
  g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, f->tmpdir, PSF_SYNCFS_STATUS_SYNCED, 0);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (f->tmpdir));
}

static void
test_duplicates (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *a = make_file (f, "a");
  g_autofree char *b = make_file (f, "b");
  const char *paths[] = { a, f->tmpdir, b, NULL };
  g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);

  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, a, PSF_SYNCFS_STATUS_SYNCED, 0);
  assert_result (proc, 1, f->tmpdir, PSF_SYNCFS_STATUS_DUPLICATE, 0);
  assert_result (proc, 2, b, PSF_SYNCFS_STATUS_DUPLICATE, 0);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, i)), ==,
                      psf_test_device_of (a));
}

static guint
count_open_events (int inotify_fd)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  guint n = 0;
  ssize_t len;

  while ((len = read (inotify_fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + len; )
      {
        struct inotify_event *event = (struct inotify_event *) (gpointer) p;

        if (event->mask & IN_OPEN)
          n++;
        p += sizeof *event + event->len;
      }
  return n;
}

static void
test_fifo_never_opened (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *fifo = g_build_filename (f->tmpdir, "fifo", NULL);
  g_autofree char *file = make_file (f, "file");
  const char *paths[] = { fifo, NULL };
  const char *control[] = { file, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;
  g_autoptr(PsfSyncfsProcess) control_proc = NULL;
  int inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  g_assert_no_errno (mkfifo (fifo, 0600));
  g_assert_cmpint (inotify_fd, >=, 0);
  g_assert_cmpint (inotify_add_watch (inotify_fd, fifo, IN_OPEN), >=, 0);
  g_assert_cmpint (inotify_add_watch (inotify_fd, file, IN_OPEN), >=, 0);

  /* Completes without a writer, and its filesystem is synced. */
  proc = run_sync (f, paths);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, fifo, PSF_SYNCFS_STATUS_SYNCED, 0);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (f->tmpdir));
  g_assert_cmpuint (count_open_events (inotify_fd), ==, 0);

  /* The watch does see an open: a regular file is opened. */
  control_proc = run_sync (f, control);
  g_assert_cmpuint (count_open_events (inotify_fd), ==, 1);
  close (inotify_fd);
}

static void
test_dangling_symlink (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *link = g_build_filename (f->tmpdir, "dangling", NULL);
  g_autofree char *good = g_build_filename (f->tmpdir, "good", NULL);
  g_autofree char *target = make_file (f, "target");
  const char *paths[] = { link, good, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;

  g_assert_no_errno (symlink ("/nonexistent/psf-target", link));
  g_assert_no_errno (symlink (target, good));
  proc = run_sync (f, paths);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, link, PSF_SYNCFS_STATUS_SKIPPED, ENOENT);
  assert_result (proc, 1, good, PSF_SYNCFS_STATUS_SYNCED, 0);
}

static void
test_two_filesystems (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *shm_dir = NULL;
  g_autofree char *build_dir = g_test_build_filename (G_TEST_BUILT, ".", NULL);
  const char *paths[3];
  g_autoptr(PsfSyncfsProcess) proc = NULL;

  if (!g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ||
      psf_test_device_of ("/dev/shm") == psf_test_device_of (build_dir))
    {
      g_test_skip ("/dev/shm is missing or on the build directory's filesystem");
      return;
    }

  shm_dir = g_strdup ("/dev/shm");
  paths[0] = shm_dir;
  paths[1] = build_dir;
  paths[2] = NULL;
  proc = run_sync (f, paths);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, shm_dir, PSF_SYNCFS_STATUS_SYNCED, 0);
  assert_result (proc, 1, build_dir, PSF_SYNCFS_STATUS_SYNCED, 0);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of ("/dev/shm"));
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 1)), ==,
                    psf_test_device_of (build_dir));
}

static void
test_relative_path (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *file = make_file (f, "relative");
  g_autofree char *saved = g_get_current_dir ();
  const char *paths[] = { "relative", NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (f->method, paths);

  /* Resolved against the cwd at start(), not the child's cwd. */
  psf_spawn_process_set_cwd (PSF_SPAWN_PROCESS (proc), "/");
  g_assert_no_errno (chdir (f->tmpdir));
  psf_test_assert_started (PSF_TASK (proc));
  g_assert_no_errno (chdir (saved));

  psf_test_run_until_exited (PSF_TASK (proc), 30000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, "relative", PSF_SYNCFS_STATUS_SYNCED, 0);
  g_assert_cmpuint (psf_syncfs_result_get_device (psf_test_result_at (proc, 0)), ==,
                    psf_test_device_of (file));
}

static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *file = make_file (f, "file");
  g_autoptr(GString) long_path = g_string_new ("/");
  const char *paths[4];
  g_autoptr(PsfSyncfsProcess) proc = NULL;

  for (guint i = 0; i < 5000; i++)
    g_string_append_c (long_path, 'x');

  paths[0] = "";
  paths[1] = long_path->str;
  paths[2] = file;
  paths[3] = NULL;
  proc = run_sync (f, paths);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, "", PSF_SYNCFS_STATUS_SKIPPED, ENOENT);
  assert_result (proc, 1, long_path->str, PSF_SYNCFS_STATUS_SKIPPED, ENAMETOOLONG);
  assert_result (proc, 2, file, PSF_SYNCFS_STATUS_SYNCED, 0);
}

static void
test_unreadable_directory (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *locked = g_build_filename (f->tmpdir, "locked", NULL);
  g_autofree char *inside = g_build_filename (locked, "file", NULL);
  const char *paths[] = { inside, NULL };
  g_autoptr(PsfSyncfsProcess) proc = NULL;

  g_assert_no_errno (mkdir (locked, 0700));
  g_assert_true (g_file_set_contents (inside, "x", -1, NULL));
  g_assert_no_errno (chmod (locked, 0));
  if (geteuid () == 0)
    {
      /* Root is not stopped by permissions: the child runs as nobody. */
      proc = psf_test_syncfs_new (f->method, paths);
      g_object_set (proc, "uid", 65534, "gid", 65534, NULL);
      psf_spawn_process_set_groups (PSF_SPAWN_PROCESS (proc), NULL, 0);
      psf_test_start_and_wait (PSF_TASK (proc), 30000);
    }
  else
    proc = run_sync (f, paths);
  g_assert_no_errno (chmod (locked, 0700));
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
  assert_result (proc, 0, inside, PSF_SYNCFS_STATUS_SKIPPED, EACCES);
}

static void
test_cancel_before_start (Fixture       *f,
                          gconstpointer  data)
{
  const char *paths[] = { f->tmpdir, NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_test_syncfs_new (f->method, paths);

  psf_task_cancel (PSF_TASK (proc));
  psf_test_assert_started (PSF_TASK (proc));
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
  psf_test_run_until_exited (PSF_TASK (proc), 10000);
  g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, PSF_RETURNCODE_CANCELLED);
}

static void
test_no_leaks (Fixture       *f,
               gconstpointer  data)
{
  const char *paths[] = { f->tmpdir, NULL };
  guint fds_before;
  guint zombies_before;

  /* A first run may start the long-lived forkserver: count after it. */
  g_object_unref (run_sync (f, paths));
  fds_before = psf_test_count_fds ();
  zombies_before = psf_test_count_zombies ();

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(PsfSyncfsProcess) proc = run_sync (f, paths);

      g_assert_cmpint (psf_task_get_returncode (PSF_TASK (proc)), ==, 0);
    }

  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, zombies_before);
}

/* One option the child would not use, set on an otherwise good task:
 * start() refuses it with an error that names it, and nothing starts. */
static void
assert_refused (Fixture    *f,
                const char *property,
                ...)
{
  const char *paths[] = { f->tmpdir, NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  g_autoptr(GError) error = NULL;
  g_autofree char *quoted = g_strdup_printf ("“%s”", property);
  va_list args;

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), f->method);
  va_start (args, property);
  g_object_set_valist (G_OBJECT (proc), property, args);
  va_end (args);

  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, quoted));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (psf_subprocess_get_pid (PSF_SUBPROCESS (proc)), ==, 0);
}

/* The same option, used by this start method: the task runs. */
static void
assert_used (Fixture    *f,
             const char *property,
             ...)
{
  const char *paths[] = { f->tmpdir, NULL };
  g_autoptr(PsfSyncfsProcess) proc = psf_syncfs_process_new (paths);
  PsfTestCheck check = { 0 };
  va_list args;

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), f->method);
  va_start (args, property);
  g_object_set_valist (G_OBJECT (proc), property, args);
  va_end (args);

  psf_test_run_checked (PSF_TASK (proc), &check);
  g_assert_no_error (check.error);
  g_assert_true (check.ok);
}

/* The spawn options a syncfs child would not use are refused, never
 * ignored: `Psf.SyncfsProcess(paths=[...], argv=['rm', '-rf', ...])` must
 * not start and succeed as if argv meant something. */
static void
test_unused_options (Fixture       *f,
                     gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", "/nonexistent/psf", NULL };
  g_auto(GStrv) env = g_get_environ ();

  assert_refused (f, "argv", argv, NULL);
  assert_refused (f, "path-lookup", FALSE, NULL);
  if (f->method == PSF_START_METHOD_FORK)
    assert_refused (f, "env", env, NULL);
  else
    assert_used (f, "env", env, NULL);
  if (f->method == PSF_START_METHOD_SPAWN)
    assert_used (f, "opt-name", "psf-renamed", NULL);
  else
    assert_refused (f, "opt-name", "psf-renamed", NULL);

  /* Their defaults, given explicitly, are no use either, and harmless. */
  assert_used (f, "argv", NULL, "path-lookup", TRUE, "opt-name", NULL, NULL);
}

static void
add_tests (const char   *method_name,
           PsfStartMethod method)
{
  static const struct
  {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } cases[] = {
    { "empty", test_empty },
    { "nonexistent", test_nonexistent },
    { "regular-file", test_regular_file },
    { "directory", test_directory },
    { "duplicates", test_duplicates },
    { "fifo-never-opened", test_fifo_never_opened },
    { "dangling-symlink", test_dangling_symlink },
    { "two-filesystems", test_two_filesystems },
    { "relative-path", test_relative_path },
    { "bad-input", test_bad_input },
    { "unreadable-directory", test_unreadable_directory },
    { "cancel-before-start", test_cancel_before_start },
    { "no-leaks-after-200-runs", test_no_leaks },
    { "unused-options", test_unused_options },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/psf/syncfs/%s/%s", method_name, cases[i].name);

      g_test_add (path, Fixture, GINT_TO_POINTER (method),
                  fixture_setup, cases[i].func, fixture_teardown);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add_tests ("fork", PSF_START_METHOD_FORK);
  add_tests ("spawn", PSF_START_METHOD_SPAWN);
  add_tests ("forkserver", PSF_START_METHOD_FORKSERVER);

  return g_test_run ();
}
