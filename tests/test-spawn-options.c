/* test-spawn-options.c: the spawn options, observed from inside the child,
 * in the exec path (PsfSpawnProcess) and both fork start methods
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The child reports itself with psf-child's "describe" routine: run as a
 * program with its report on fd 3 (exec path), or as the routine of a
 * PsfForkProcess subclass (FORK and SPAWN). Options that need root or a
 * capability skip with the reason when it is missing; as root (CI) they
 * run, and the unprivileged error paths run instead where they can.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-utils.h"

typedef enum { VIA_EXEC, VIA_FORK, VIA_SPAWN, VIA_FORKSERVER } Via;

static const char *via_names[] = { "exec", "fork", "spawn", "forkserver" };

/* SPAWN and FORKSERVER run only the routines built into psf-child. */
static gboolean
via_helper (Via via)
{
  return via == VIA_SPAWN || via == VIA_FORKSERVER;
}

typedef struct
{
  PsfSpawnProcess *proc;
  int              read_fd;  /* exec path: the report pipe */
} Child;

static void
child_new (Child *c,
           Via    via)
{
  c->read_fd = -1;
  if (via == VIA_EXEC)
    {
      /* A copy any user can run when the build tree is private: the
       * identity case execs it as nobody. */
      const char *argv[] = { psf_test_helper_for_anyone (), "describe", NULL };
      int fds[2];

      g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
      c->proc = psf_spawn_process_new (argv);
      psf_spawn_process_take_fd (c->proc, fds[1], 3);
      c->read_fd = fds[0];
    }
  else
    {
      c->proc = g_object_new (PSF_TEST_TYPE_DESCRIBE,
                              "start-method", via == VIA_FORK ? PSF_START_METHOD_FORK
                                              : via == VIA_SPAWN ? PSF_START_METHOD_SPAWN
                                              : PSF_START_METHOD_FORKSERVER,
                              NULL);
    }
}

/* Runs the child and returns its description as a key -> value table. */
static GHashTable *
child_run (Child *c)
{
  g_autofree char *text = NULL;

  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (c->proc), 20000), ==, 0);

  if (c->read_fd >= 0)
    {
      GString *s = g_string_new (NULL);
      char buf[4096];
      ssize_t n;

      while ((n = read (c->read_fd, buf, sizeof buf)) > 0)
        g_string_append_len (s, buf, n);
      close (c->read_fd);
      c->read_fd = -1;
      text = g_string_free (s, FALSE);
    }
  else
    {
      GBytes *report = psf_fork_process_get_report (PSF_FORK_PROCESS (c->proc));

      text = g_strndup (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
    }
  return psf_test_describe_parse (text);
}

static void
child_clear (Child *c)
{
  if (c->read_fd >= 0)
    close (c->read_fd);
  g_clear_object (&c->proc);
}

static char *
own_link (const char *ns)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/ns/%s", ns);

  return g_file_read_link (path, NULL);
}

static void
test_defaults (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  Child c;
  g_autoptr(GHashTable) t = NULL;
  g_autofree char *uid = g_strdup_printf ("%u", (guint) getuid ());
  g_autofree char *net = own_link ("net");

  child_new (&c, via);
  t = child_run (&c);
  g_assert_cmpstr (g_hash_table_lookup (t, "uid"), ==, uid);
  g_assert_cmpstr (g_hash_table_lookup (t, "net"), ==, net);
  child_clear (&c);
}

static void
test_identity (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  const guint32 groups[] = { 65534, 100 };
  Child c;
  g_autoptr(GHashTable) t = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("changing uid, gid and groups needs root");
      return;
    }

  child_new (&c, via);
  g_object_set (c.proc, "uid", 65534, "gid", 65534, "umask", 027, NULL);
  psf_spawn_process_set_groups (c.proc, groups, G_N_ELEMENTS (groups));
  t = child_run (&c);
  g_assert_cmpstr (g_hash_table_lookup (t, "uid"), ==, "65534");
  g_assert_cmpstr (g_hash_table_lookup (t, "gid"), ==, "65534");
  /* The kernel keeps them sorted. */
  g_assert_cmpstr (g_hash_table_lookup (t, "groups"), ==, "100,65534");
  g_assert_cmpstr (g_hash_table_lookup (t, "umask"), ==, "27");
  child_clear (&c);
}

static void
test_identity_refused (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  guint fds_before = psf_test_count_fds ();
  guint zombies_before = psf_test_count_zombies ();
  const char *expected;
  Child c;

  child_new (&c, via);
  if (geteuid () != 0)
    {
      /* Never a silently unprivileged child. */
      g_object_set (c.proc, "uid", 0, NULL);
      expected = "setresuid(0): ";
    }
  else
    {
      /* Root can do anything but pass more groups than the kernel takes. */
      g_autofree guint32 *many = g_new0 (guint32, 70000);

      psf_spawn_process_set_groups (c.proc, many, 70000);
      expected = "setgroups(70000): ";
    }

  g_assert_false (psf_task_start (PSF_TASK (c.proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_true (g_str_has_prefix (error->message, expected));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (c.proc)), ==, PSF_TASK_STATE_NEW);
  child_clear (&c);

  g_assert_cmpuint (psf_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (psf_test_count_zombies (), ==, zombies_before);
}

static void
test_namespaces (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  static const char *names[] = { "ipc", "mnt", "pid", "net" };
  g_autoptr(GHashTable) t = NULL;
  g_autoptr(GError) error = NULL;
  Child c;

  if (geteuid () == 0 && !psf_test_root_is_mount_point ())
    {
      /* The new mount namespace's mounts are made private from / down. */
      g_test_skip ("unshare-mount needs / to be a mount point (it is not here: a chroot?)");
      return;
    }

  child_new (&c, via);
  g_object_set (c.proc, "unshare-ipc", TRUE, "unshare-mount", TRUE,
                "unshare-pid", TRUE, "unshare-net", TRUE, NULL);

  if (geteuid () != 0)
    {
      /* The kernel's refusal is start()'s error. */
      g_assert_false (psf_task_start (PSF_TASK (c.proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
      g_assert_true (g_str_has_prefix (error->message, "unshare("));
      child_clear (&c);
      return;
    }

  t = child_run (&c);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *mine = own_link (names[i]);

      g_assert_nonnull (g_hash_table_lookup (t, names[i]));
      g_assert_cmpstr (g_hash_table_lookup (t, names[i]), !=, mine);
    }
  /* PID 1 of its namespace. */
  g_assert_cmpstr (g_hash_table_lookup (t, "getpid"), ==, "1");
  child_clear (&c);
}

static char *
make_test_cgroup (void)
{
  g_autofree char *mount = psf_test_find_cgroup2_mount ();
  g_autofree char *probe = NULL;
  char *dir;

  if (mount == NULL || geteuid () != 0)
    return NULL;
  dir = g_strdup_printf ("%s/psf-test-%d-%u", mount, (int) getpid (), g_random_int ());
  /* psf creates it: check that it could. */
  probe = g_strdup_printf ("%s.probe", dir);
  if (mkdir (probe, 0755) < 0)
    {
      g_free (dir);
      return NULL;
    }
  rmdir (probe);
  return dir;
}

static void
test_cgroup (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autofree char *cgroup = make_test_cgroup ();
  g_autoptr(GHashTable) t = NULL;
  g_autofree char *mount = psf_test_find_cgroup2_mount ();
  Child c;

  if (cgroup == NULL)
    {
      g_test_skip ("needs root and a writable cgroup v2 hierarchy");
      return;
    }

  child_new (&c, via);
  g_object_set (c.proc, "cgroup", cgroup, NULL);
  t = child_run (&c);
  g_assert_cmpstr (g_hash_table_lookup (t, "cgroup"), ==, cgroup + strlen (mount));
  /* Emptied and removed after the exit. */
  g_assert_false (g_file_test (cgroup, G_FILE_TEST_EXISTS));
  child_clear (&c);
}

static void
test_cgroup_kills_grandchildren (void)
{
  g_autofree char *cgroup = make_test_cgroup ();
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("grandchild", "60000");
  g_autofree char *procs = NULL;

  if (cgroup == NULL)
    {
      g_test_skip ("needs root and a writable cgroup v2 hierarchy");
      return;
    }

  g_object_set (proc, "cgroup", cgroup, NULL);
  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 20000), ==, 0);
  /* The grandchild sleeping 60 s was killed and the cgroup removed. */
  g_assert_false (g_file_test (cgroup, G_FILE_TEST_EXISTS));
}

static void
test_cgroup_invalid (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  g_autoptr(GError) error = NULL;

  g_object_set (proc, "cgroup", "/nonexistent/psf/cgroup", NULL);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "mkdir(/nonexistent/psf/cgroup): "));
}

/* env and cwd: a fork keeps the host's environ (the property is for an
 * exec'd or helper child), every method enters the cwd. */
static void
test_env_cwd (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autofree char *dir = g_dir_make_tmp ("psf-cwd-XXXXXX", NULL);
  g_autofree char *real = NULL;
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "PSF_DESCRIBE", "from-env", TRUE);
  g_autoptr(GHashTable) t = NULL;
  Child c;

  g_assert_nonnull (dir);
  real = realpath (dir, NULL);
  g_assert_nonnull (real);
  g_assert_null (g_getenv ("PSF_DESCRIBE"));

  child_new (&c, via);
  psf_spawn_process_set_env (c.proc, (const char * const *) env);
  psf_spawn_process_set_cwd (c.proc, dir);
  if (via == VIA_FORK)
    {
      g_autoptr(GError) error = NULL;

      /* A fork keeps the host's environment: env is refused, not ignored. */
      g_assert_false (psf_task_start (PSF_TASK (c.proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "“env”"));
      psf_spawn_process_set_env (c.proc, NULL);
    }
  t = child_run (&c);
  g_assert_cmpstr (g_hash_table_lookup (t, "cwd"), ==, real);
  if (via == VIA_FORK)
    g_assert_null (g_hash_table_lookup (t, "env"));
  else
    g_assert_cmpstr (g_hash_table_lookup (t, "env"), ==, "from-env");
  child_clear (&c);
  g_assert_no_errno (rmdir (dir));
}

static void
test_opt_name (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autoptr(GHashTable) t = NULL;
  Child c;

  child_new (&c, via);
  g_object_set (c.proc, "opt-name", "psf-renamed", NULL);
  if (via == VIA_FORK || via == VIA_FORKSERVER)
    {
      g_autoptr(GError) error = NULL;

      /* The child keeps the host's (or the server's) argv[0]: refused. */
      g_assert_false (psf_task_start (PSF_TASK (c.proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "“opt-name”"));
      g_assert_cmpint (psf_task_get_state (PSF_TASK (c.proc)), ==, PSF_TASK_STATE_NEW);
      child_clear (&c);
      return;
    }
  t = child_run (&c);
  g_assert_cmpstr (g_hash_table_lookup (t, "argv0"), ==, "psf-renamed");
  child_clear (&c);
}

static void
write_marker (gpointer data)
{
  /* In the child: async-signal-safe only. */
  if (write (GPOINTER_TO_INT (data), "!", 1) != 1)
    _exit (3);
}

static void
test_child_setup (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  int fds[2];
  char c_read = 0;
  Child c;

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  child_new (&c, via);
  psf_spawn_process_set_child_setup (c.proc, write_marker, GINT_TO_POINTER (fds[1]), NULL);

  if (via_helper (via))
    {
      g_assert_false (psf_task_start (PSF_TASK (c.proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
    }
  else
    {
      g_autoptr(GHashTable) t = child_run (&c);

      g_assert_cmpint (read (fds[0], &c_read, 1), ==, 1);
      g_assert_cmpint (c_read, ==, '!');
    }
  close (fds[0]);
  close (fds[1]);
  child_clear (&c);
}

static char *
expected_pattern (gsize n,
                  gboolean upper)
{
  char *s = g_malloc (n + 1);

  for (gsize i = 0; i < n; i++)
    s[i] = (char) ((upper ? 'A' : 'a') + i % 26);
  s[n] = '\0';
  return s;
}

static GBytes *
read_log (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  if (g_str_has_suffix (path, ".gz"))
    {
      /* gzip reads every member: an appended log is several. */
      const char *argv[] = { "gzip", "-dc", path, NULL };
      g_autofree char *out = NULL;
      g_autoptr(GError) error = NULL;
      int status = 0;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                                   NULL, NULL, &out, NULL, &status, &error));
      g_assert_no_error (error);
      g_assert_cmpint (status, ==, 0);
      /* stdout of gzip is binary-safe here: the pattern has no NUL. */
      return g_bytes_new (out, strlen (out));
    }
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

static int
write_pattern (int      report_fd,
               gpointer data)
{
  /* In the forked child: async-signal-safe only. */
  gsize n = GPOINTER_TO_SIZE (data);
  char chunk[1000];

  for (gsize done = 0; done < n; )
    {
      gsize len = MIN (n - done, sizeof chunk);

      for (gsize i = 0; i < len; i++)
        chunk[i] = (char) ('a' + (done + i) % 26);
      if (write (STDOUT_FILENO, chunk, len) != (ssize_t) len)
        return 1;
      done += len;
    }
  return 0;
}

static void
run_logged (Via         via,
            gsize       size,
            const char *logfile,
            const char *filter,
            gboolean    background)
{
  g_autoptr(PsfSpawnProcess) proc = NULL;

  if (via == VIA_EXEC)
    {
      g_autofree char *n = g_strdup_printf ("%" G_GSIZE_FORMAT, size);

      proc = psf_test_prog_new ("write", n);
    }
  else
    proc = PSF_SPAWN_PROCESS (psf_fork_process_new_with_func (write_pattern,
                                                              GSIZE_TO_POINTER (size), NULL));

  g_object_set (proc, "logfile", logfile, "log-filter-file", filter,
                "background", background, NULL);
  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 30000), ==, 0);
}

static void
test_logfile (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  static const gsize sizes[] = { 1, 4095, 4096, 65537, 131072, 131073 };
  g_autofree char *dir = g_dir_make_tmp ("psf-log-XXXXXX", NULL);

  if (via_helper (via))
    {
      g_test_skip ("the helper's built-in routines write no output");
      return;
    }

  for (guint gz = 0; gz < 2; gz++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        g_autofree char *path = g_strdup_printf ("%s/log-%u-%" G_GSIZE_FORMAT "%s", dir, i, sizes[i],
                                                 gz ? ".gz" : "");
        g_autofree char *expected = expected_pattern (sizes[i], FALSE);
        g_autoptr(GBytes) contents = NULL;
        g_autoptr(GBytes) twice = NULL;
        g_autofree char *doubled = NULL;

        run_logged (via, sizes[i], path, NULL, TRUE);
        contents = read_log (path);
        g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents),
                         expected, sizes[i]);

        /* Appends. */
        run_logged (via, sizes[i], path, NULL, TRUE);
        twice = read_log (path);
        doubled = g_strconcat (expected, expected, NULL);
        g_assert_cmpmem (g_bytes_get_data (twice, NULL), g_bytes_get_size (twice),
                         doubled, 2 * sizes[i]);
        unlink (path);
      }
  rmdir (dir);
}

static void
test_log_filter (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autofree char *dir = g_dir_make_tmp ("psf-log-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "filtered.log", NULL);
  g_autofree char *expected = expected_pattern (70000, TRUE);
  g_autoptr(GBytes) contents = NULL;

  if (via_helper (via))
    {
      g_test_skip ("the helper's built-in routines write no output");
      return;
    }

  run_logged (via, 70000, path, "tr a-z A-Z", TRUE);
  contents = read_log (path);
  g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents),
                   expected, 70000);
  unlink (path);
  rmdir (dir);
}

/* GLib's test harness prints debug messages on stdout as "# ..." lines
 * (valgrind makes GLib say more): drop them, the pattern has no '#'. */
static GBytes *
strip_test_comments (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  GString *kept = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '#')
        {
          while (i < len && data[i] != '\n')
            i++;
          continue;
        }
      g_string_append_c (kept, data[i]);
    }
  g_bytes_unref (bytes);
  return g_string_free_to_bytes (kept);
}

static void
test_log_foreground (gconstpointer data)
{
  Via via = GPOINTER_TO_INT (data);
  g_autofree char *dir = g_dir_make_tmp ("psf-log-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "fg.log", NULL);
  g_autofree char *copy = g_build_filename (dir, "stdout", NULL);
  g_autofree char *expected = expected_pattern (5000, FALSE);
  g_autoptr(GBytes) log = NULL;
  g_autoptr(GBytes) out = NULL;
  int saved_stdout;
  int copy_fd;

  if (via_helper (via))
    {
      g_test_skip ("the helper's built-in routines write no output");
      return;
    }

  /* Catch what is copied to the host's stdout. */
  fflush (stdout);
  saved_stdout = dup (STDOUT_FILENO);
  copy_fd = open (copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (copy_fd, >=, 0);
  dup2 (copy_fd, STDOUT_FILENO);
  close (copy_fd);

  run_logged (via, 5000, path, NULL, FALSE);

  dup2 (saved_stdout, STDOUT_FILENO);
  close (saved_stdout);

  log = read_log (path);
  out = strip_test_comments (read_log (copy));
  g_assert_cmpmem (g_bytes_get_data (log, NULL), g_bytes_get_size (log), expected, 5000);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), expected, 5000);
  unlink (path);
  unlink (copy);
  rmdir (dir);
}

static void
test_logfile_unwritable (void)
{
  g_autoptr(PsfSpawnProcess) proc = psf_test_prog_new ("exit", "0");
  g_autoptr(GError) error = NULL;

  g_object_set (proc, "logfile", "/nonexistent/dir/psf.log", NULL);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dir/psf.log"));
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char *name;
    GTestDataFunc func;
  } cases[] = {
    { "defaults", test_defaults },
    { "identity", test_identity },
    { "identity-refused", test_identity_refused },
    { "namespaces", test_namespaces },
    { "cgroup", test_cgroup },
    { "env-cwd", test_env_cwd },
    { "opt-name", test_opt_name },
    { "child-setup", test_child_setup },
    { "logfile", test_logfile },
    { "log-filter", test_log_filter },
    { "log-foreground", test_log_foreground },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint v = VIA_EXEC; v <= VIA_FORKSERVER; v++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/psf/spawn-options/%s/%s", via_names[v], cases[i].name);

        g_test_add_data_func (path, GINT_TO_POINTER (v), cases[i].func);
      }
  g_test_add_func ("/psf/spawn-options/cgroup-kills-grandchildren", test_cgroup_kills_grandchildren);
  g_test_add_func ("/psf/spawn-options/cgroup-invalid", test_cgroup_invalid);
  g_test_add_func ("/psf/spawn-options/logfile-unwritable", test_logfile_unwritable);

  return g_test_run ();
}
