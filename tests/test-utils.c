/* test-utils.c: shared helpers of the C suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

#include "psf-child-describe.h"
#include "psf-fork-process-private.h"

struct _PsfTestDescribe
{
  PsfForkProcess parent_instance;
};

G_DEFINE_FINAL_TYPE (PsfTestDescribe, psf_test_describe, PSF_TYPE_FORK_PROCESS)

static void
psf_test_describe_class_init (PsfTestDescribeClass *klass)
{
  psf_fork_process_class_set_routine (PSF_FORK_PROCESS_CLASS (klass), "describe",
                                      psf_child_describe_run);
}

static void
psf_test_describe_init (PsfTestDescribe *self)
{
}

GHashTable *
psf_test_describe_parse (const char *text)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        g_hash_table_insert (table, g_strndup (lines[i], eq - lines[i]), g_strdup (eq + 1));
    }
  return table;
}

guint
psf_test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  /* The GDir's own fd is in the listing. */
  return n - 1;
}

gboolean
psf_test_under_valgrind (void)
{
  return g_getenv ("PSF_UNDER_VALGRIND") != NULL;
}

void
psf_test_drain_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

guint64
psf_test_device_of (const char *path)
{
  struct stat st;

  g_assert_no_errno (stat (path, &st));
  return (guint64) st.st_dev;
}

PsfSyncfsProcess *
psf_test_syncfs_new (PsfStartMethod      method,
                     const char * const *paths)
{
  PsfSyncfsProcess *proc = psf_syncfs_process_new (paths);

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (proc), method);
  return proc;
}

PsfSyncfsResult *
psf_test_result_at (PsfSyncfsProcess *proc,
                    guint             i)
{
  g_autoptr(GPtrArray) results = psf_syncfs_process_get_results (proc);

  g_assert_cmpuint (i, <, results->len);
  return g_ptr_array_index (results, i);
}

/* What /proc/@pid/stat says of a process. */
typedef struct
{
  char comm[64];
  char state;
  int  ppid;
} ProcStat;

/* Reads /proc/@pid/stat (@pid as text, a /proc entry's name); FALSE when
 * the process is gone or the line does not parse. */
static gboolean
proc_stat_read (const char *pid,
                ProcStat   *st)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *contents = NULL;
  const char *open_paren;
  const char *close_paren;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  /* The name is between the first "(" and the last ")": it may hold either. */
  open_paren = strchr (contents, '(');
  close_paren = strrchr (contents, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren ||
      sscanf (close_paren + 1, " %c %d", &st->state, &st->ppid) != 2)
    return FALSE;
  g_strlcpy (st->comm, open_paren + 1,
             MIN (sizeof st->comm, (gsize) (close_paren - open_paren)));
  return TRUE;
}

/* This process's children, as pid -> ProcStat (the table is the caller's). */
static GHashTable *
children_read (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  GHashTable *children = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  int self = getpid ();
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      ProcStat st;

      if (g_ascii_isdigit (name[0]) && proc_stat_read (name, &st) && st.ppid == self)
        g_hash_table_insert (children, GINT_TO_POINTER (atoi (name)),
                             g_memdup2 (&st, sizeof st));
    }
  return children;
}

guint
psf_test_count_zombies (void)
{
  g_autoptr(GHashTable) children = children_read ();
  GHashTableIter iter;
  ProcStat *st;
  guint n = 0;

  g_hash_table_iter_init (&iter, children);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &st))
    if (st->state == 'Z')
      n++;
  return n;
}

/* /proc/@pid/stat, read into @st. */
static gboolean
proc_stat_read_pid (GPid      pid,
                    ProcStat *st)
{
  char text[16];

  g_snprintf (text, sizeof text, "%d", (int) pid);
  return proc_stat_read (text, st);
}

char
psf_test_proc_state (GPid pid)
{
  ProcStat st;

  return proc_stat_read_pid (pid, &st) ? st.state : 0;
}

GPid
psf_test_proc_parent (GPid pid)
{
  ProcStat st;

  return proc_stat_read_pid (pid, &st) ? st.ppid : 0;
}

static gboolean
timeout_cb (gpointer data)
{
  g_error ("Test timed out after %u ms", GPOINTER_TO_UINT (data));
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until @done says so, failing the
 * test after @timeout_ms. */
static void
iterate_until (gboolean    (*done) (gconstpointer data),
               gconstpointer data,
               guint         timeout_ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, timeout_cb, GUINT_TO_POINTER (timeout_ms), NULL);
  g_source_attach (timeout, context);

  while (!done (data))
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);
}

static gboolean
task_exited (gconstpointer task)
{
  return psf_task_get_state ((PsfTask *) task) == PSF_TASK_STATE_EXITED;
}

static gboolean
flag_set (gconstpointer flag)
{
  return *(const gboolean *) flag;
}

void
psf_test_run_until_exited (PsfTask *task,
                           guint    timeout_ms)
{
  iterate_until (task_exited, task, timeout_ms);
}

void
psf_test_run_until (gboolean *flag,
                    guint     timeout_ms)
{
  iterate_until (flag_set, flag, timeout_ms);
}

int
psf_test_start_and_wait (PsfTask *task,
                         guint    timeout_ms)
{
  psf_test_assert_started (task);
  psf_test_run_until_exited (task, timeout_ms);
  return psf_task_get_returncode (task);
}

const char *
psf_test_prog_path (void)
{
  static char *path;

  if (path == NULL)
    {
      const char *env = g_getenv ("PSF_TEST_PROG");

      path = env != NULL ? g_strdup (env)
                         : g_test_build_filename (G_TEST_BUILT, "psf-test-prog", NULL);
    }
  return path;
}

PsfSpawnProcess *
psf_test_prog_new (const char *mode,
                   const char *arg)
{
  const char *argv[] = { psf_test_prog_path (), mode, arg, NULL };

  return psf_spawn_process_new (argv);
}

void
psf_test_wait_check_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  PsfTestCheck *check = user_data;

  check->ok = psf_task_wait_check_finish (PSF_TASK (object), result, &check->error);
  check->done = TRUE;
}

void
psf_test_run_checked (PsfTask      *task,
                      PsfTestCheck *check)
{
  g_autoptr(GError) error = NULL;

  psf_test_assert_started (task);
  psf_task_wait_check_async (task, NULL, psf_test_wait_check_cb, check);
  psf_test_run_until (&check->done, 30000);
  g_assert_cmpint (psf_task_get_state (task), ==, PSF_TASK_STATE_EXITED);
}

void
psf_test_give_fault_rules (PsfSpawnProcess *proc,
                           const char      *spec)
{
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "PSF_FAULT", spec, TRUE);

  /* A FORK child is a copy of this process, which has the rules already
   * (and env is refused there). */
  if (!PSF_IS_FORK_PROCESS (proc) ||
      psf_fork_process_get_start_method (PSF_FORK_PROCESS (proc)) != PSF_START_METHOD_FORK)
    psf_spawn_process_set_env (proc, (const char * const *) env);
  if (PSF_IS_FORK_PROCESS (proc) &&
      psf_fork_process_get_start_method (PSF_FORK_PROCESS (proc)) == PSF_START_METHOD_FORKSERVER)
    g_object_set (proc, "umask", 022, NULL);
}

/* The shim's control functions (see the top of fault-shim.c), both NULL
 * unless the shim is preloaded. */
typedef struct
{
  int      (*configure) (const char *spec);
  unsigned (*hits)      (void);
} FaultShim;

/* Whether @a and @b are defined by the same loaded object. */
static gboolean
same_object (void *a,
             void *b)
{
  Dl_info info_a;
  Dl_info info_b;

  return a != NULL && b != NULL && dladdr (a, &info_a) != 0 && dladdr (b, &info_b) != 0 &&
         info_a.dli_fbase == info_b.dli_fbase;
}

static const FaultShim *
fault_shim (void)
{
  static FaultShim shim;
  static gsize looked_up = 0;

  if (g_once_init_enter (&looked_up))
    {
      void *configure = dlsym (RTLD_DEFAULT, "psf_fault_configure");

      /* Preloaded, not merely loaded: its syncfs() is the one every call
       * in this process (and in a FORK child) reaches. */
      if (same_object (configure, dlsym (RTLD_DEFAULT, "syncfs")))
        {
          shim.configure = (int (*) (const char *)) configure;
          shim.hits = (unsigned (*) (void)) dlsym (RTLD_DEFAULT, "psf_fault_hits");
        }
      g_once_init_leave (&looked_up, 1);
    }
  return &shim;
}

gboolean
psf_test_fault_shim_loaded (void)
{
  return fault_shim ()->configure != NULL;
}

void
psf_test_arm_faults (PsfSpawnProcess *proc,
                     const char      *spec)
{
  if (!psf_test_fault_shim_loaded ())
    g_error ("the fault shim is not preloaded");
  g_assert_cmpint (fault_shim ()->configure (spec), ==, 0);
  if (proc != NULL)
    psf_test_give_fault_rules (proc, spec);
}

void
psf_test_disarm_faults (PsfSpawnProcess *proc)
{
  if (psf_test_fault_shim_loaded ())
    fault_shim ()->configure (NULL);
  if (proc != NULL)
    psf_spawn_process_set_env (proc, NULL);
}

guint
psf_test_fault_hits (void)
{
  if (fault_shim ()->hits == NULL)
    g_error ("the fault shim is not preloaded");
  return fault_shim ()->hits ();
}

struct _PsfTestContextOwner
{
  GMainContext *context;
  GThread      *thread;
  GMutex        lock;
  GCond         cond;
  gboolean      owned;
  gboolean      release;
};

static gpointer
context_owner_thread (gpointer data)
{
  PsfTestContextOwner *owner = data;

  g_assert_true (g_main_context_acquire (owner->context));
  g_mutex_lock (&owner->lock);
  owner->owned = TRUE;
  g_cond_broadcast (&owner->cond);
  while (!owner->release)
    g_cond_wait (&owner->cond, &owner->lock);
  g_mutex_unlock (&owner->lock);
  g_main_context_release (owner->context);
  return NULL;
}

PsfTestContextOwner *
psf_test_context_owner_start (GMainContext *context)
{
  PsfTestContextOwner *owner = g_new0 (PsfTestContextOwner, 1);

  owner->context = g_main_context_ref (context);
  g_mutex_init (&owner->lock);
  g_cond_init (&owner->cond);
  owner->thread = g_thread_new ("psf-test-owner", context_owner_thread, owner);
  g_mutex_lock (&owner->lock);
  while (!owner->owned)
    g_cond_wait (&owner->cond, &owner->lock);
  g_mutex_unlock (&owner->lock);
  return owner;
}

void
psf_test_context_owner_stop (PsfTestContextOwner *owner)
{
  g_mutex_lock (&owner->lock);
  owner->release = TRUE;
  g_cond_broadcast (&owner->cond);
  g_mutex_unlock (&owner->lock);
  g_thread_join (owner->thread);
  g_mutex_clear (&owner->lock);
  g_cond_clear (&owner->cond);
  g_main_context_unref (owner->context);
  g_free (owner);
}

void
psf_test_crowd_exited_cb (PsfTask  *task,
                          int       returncode,
                          gpointer  data)
{
  PsfTestCrowd *crowd = data;

  if (returncode == 0)
    crowd->succeeded++;
  crowd->pending--;
}

void
psf_test_pipe_high (int fds[2])
{
  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  for (int i = 0; i < 2; i++)
    {
      int high = fcntl (fds[i], F_DUPFD_CLOEXEC, 10);

      g_assert_cmpint (high, >=, 10);
      close (fds[i]);
      fds[i] = high;
    }
}

gboolean
psf_test_wait_fd (int fd,
                  int timeout_ms)
{
  GPollFD pfd = { fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 };

  return g_poll (&pfd, 1, timeout_ms) == 1;
}

/* Whether a user with no relation to the file could execute @path: every
 * directory above it searchable by others, the file executable by them. */
static gboolean
executable_by_others (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;

  if (stat (path, &st) != 0 || !(st.st_mode & S_IXOTH))
    return FALSE;
  for (;;)
    {
      char *parent;

      if (stat (dir, &st) != 0 || !(st.st_mode & S_IXOTH))
        return FALSE;
      if (strcmp (dir, "/") == 0 || strcmp (dir, ".") == 0)
        return TRUE;
      parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = parent;
    }
}

static char *helper_copy;
static char *helper_copy_dir;

static void
remove_helper_copy (void)
{
  g_unlink (helper_copy);
  g_rmdir (helper_copy_dir);
}

const char *
psf_test_helper_for_anyone (void)
{
  static char *path;
  const char *built = g_getenv ("PSF_CHILD_PATH");
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (path != NULL)
    return path;
  g_assert_nonnull (built);
  if (executable_by_others (built))
    return path = g_strdup (built);

  helper_copy_dir = g_dir_make_tmp ("psf-helper-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_no_errno (chmod (helper_copy_dir, 0755));
  helper_copy = g_build_filename (helper_copy_dir, "psf-child", NULL);
  g_file_get_contents (built, &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (helper_copy, contents, (gssize) len,
                            G_FILE_SET_CONTENTS_NONE, 0755, &error);
  g_assert_no_error (error);
  /* A test process that makes the copy as root and then becomes nobody
   * removes it at exit as nobody: the copy and its directory are nobody's. */
  if (geteuid () == 0 &&
      (chown (helper_copy, 65534, 65534) < 0 || chown (helper_copy_dir, 65534, 65534) < 0))
    g_test_message ("chown(%s): %s", helper_copy_dir, g_strerror (errno));
  atexit (remove_helper_copy);
  return path = g_strdup (helper_copy);
}

/* The lines of /proc/self/mountinfo (none if it cannot be read). */
static GStrv
mountinfo_lines (void)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &contents, NULL, NULL))
    return g_new0 (char *, 1);
  return g_strsplit (contents, "\n", -1);
}

gboolean
psf_test_root_is_mount_point (void)
{
  g_auto(GStrv) lines = mountinfo_lines ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", 6);

      /* ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ... */
      if (g_strv_length (fields) >= 5 && strcmp (fields[4], "/") == 0)
        return TRUE;
    }
  return FALSE;
}

GArray *
psf_test_children_named (const char *comm)
{
  g_autoptr(GHashTable) children = children_read ();
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  GHashTableIter iter;
  gpointer pid;
  ProcStat *st;

  g_hash_table_iter_init (&iter, children);
  while (g_hash_table_iter_next (&iter, &pid, (gpointer *) &st))
    if (st->state != 'Z' && strcmp (st->comm, comm) == 0)
      g_array_append_val (pids, (GPid) { GPOINTER_TO_INT (pid) });
  return pids;
}

GPid
psf_test_forkserver_pid (void)
{
  g_autoptr(GArray) pids = psf_test_children_named ("psf-forkserver");

  /* A server that was just replaced (killed, or ending once its last
   * relay is done) may still be on its way out: give it 5 s. */
  for (guint tries = 0; tries < 500 && pids->len > 1; tries++)
    {
      g_usleep (10000);
      g_array_unref (pids);
      pids = psf_test_children_named ("psf-forkserver");
    }
  g_assert_cmpuint (pids->len, <=, 1);
  return pids->len == 1 ? g_array_index (pids, GPid, 0) : 0;
}

char *
psf_test_find_cgroup2_mount (void)
{
  g_auto(GStrv) lines = mountinfo_lines ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", -1);
      guint n = g_strv_length (fields);

      for (guint j = 0; j + 1 < n; j++)
        if (g_str_equal (fields[j], "-") && g_str_equal (fields[j + 1], "cgroup2"))
          return g_strdup (fields[4]);
    }
  return NULL;
}
