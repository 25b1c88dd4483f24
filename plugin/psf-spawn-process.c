/* psf-spawn-process.c: PsfSpawnProcess, a subprocess that executes a program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-setup-private.h"
#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-i18n-private.h"
#include "psf-output-log-private.h"
#include "psf-spawn-process-private.h"
#include "psf-subprocess-private.h"
#include "psf-task-private.h"

#define CGROUP_KILL_ROUNDS 8
#define CGROUP_KILL_WAITS  50  /* after cgroup.kill, 2 ms apart */
#define CGROUP_RMDIR_TRIES 100 /* 1 ms apart */

/* Where the cleanup of the cgroup is, between two of its timers. */
typedef enum
{
  CGROUP_KILL,       /* kill what cgroup.procs lists, CGROUP_KILL_ROUNDS times */
  CGROUP_KILL_FILE,  /* cgroup.kill written, waiting for it to empty */
  CGROUP_RMDIR,      /* empty: rmdir() until the kernel lets go */
} CgroupPhase;

typedef struct
{
  char   **argv;
  char   **env;
  char    *cwd;
  GArray  *source_fds;
  GArray  *target_fds;
  guint    path_lookup : 1;
  guint    close_fds : 1;

  /* spawn options */
  int      uid;            /* -1: unchanged */
  int      gid;            /* -1: unchanged */
  GArray  *groups;         /* guint32; NULL: unchanged */
  int      umask;          /* -1: unchanged */
  guint    unshare_ipc : 1;
  guint    unshare_mount : 1;
  guint    unshare_pid : 1;
  guint    unshare_net : 1;
  char    *cgroup;
  char    *opt_name;
  char    *logfile;
  char    *log_filter_file;
  GSpawnChildSetupFunc child_setup;
  gpointer child_setup_data;
  GDestroyNotify child_setup_destroy;

  /* while running */
  char         *cgroup_procs;
  gid_t        *groups_buffer;
  PsfOutputLog *log;
  int           pending_returncode;
  gboolean      waiting_for_log;
  GSource      *cgroup_source;  /* the next step of the cleanup */
  CgroupPhase   cgroup_phase;
  guint         cgroup_step;
} PsfSpawnProcessPrivate;

enum {
  PROP_0,
  PROP_ARGV,
  PROP_ENV,
  PROP_CWD,
  PROP_PATH_LOOKUP,
  PROP_CLOSE_FDS,
  PROP_UID,
  PROP_GID,
  PROP_GROUPS,
  PROP_UMASK,
  PROP_UNSHARE_IPC,
  PROP_UNSHARE_MOUNT,
  PROP_UNSHARE_PID,
  PROP_UNSHARE_NET,
  PROP_CGROUP,
  PROP_OPT_NAME,
  PROP_LOGFILE,
  PROP_LOG_FILTER_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_TYPE_WITH_PRIVATE (PsfSpawnProcess, psf_spawn_process, PSF_TYPE_SUBPROCESS)

/**
 * PsfSpawnProcess:
 *
 * A [class@Psf.Subprocess] that executes a program (Portage's
 * `SpawnProcess`): [property@Psf.SpawnProcess:argv] with an optional
 * environment, working directory and fd mapping. The child inherits the
 * host's stdin, stdout and stderr.
 *
 * ```c
 * const char *argv[] = { "make", "install", NULL };
 * g_autoptr(PsfSpawnProcess) proc = psf_spawn_process_new (argv);
 *
 * if (!psf_task_start (PSF_TASK (proc), &error))
 *   return FALSE;
 * psf_task_wait_check_async (PSF_TASK (proc), NULL, on_done, data);
 * ```
 *
 * Since: 1.0
 */

void
psf_spawn_process_get_fd_map (PsfSpawnProcess  *self,
                              const int       **source_fds,
                              const int       **target_fds,
                              guint            *n_fds)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  *source_fds = (const int *) (gpointer) priv->source_fds->data;
  *target_fds = (const int *) (gpointer) priv->target_fds->data;
  *n_fds = priv->source_fds->len;
}

void
psf_spawn_process_close_fds_taken (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  for (guint i = 0; i < priv->source_fds->len; i++)
    close (g_array_index (priv->source_fds, int, i));
  g_array_set_size (priv->source_fds, 0);
  g_array_set_size (priv->target_fds, 0);
}

/* The cgroup v2 directory must exist (it is created if its parent does)
 * and have a cgroup.procs file; the child joins it by itself. */
static gboolean
prepare_cgroup (PsfSpawnProcessPrivate  *priv,
                GError                 **error)
{
  g_autofree char *procs = NULL;

  if (mkdir (priv->cgroup, 0755) < 0 && errno != EEXIST)
    {
      int saved = errno;

      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   "mkdir(%s): %s", priv->cgroup, g_strerror (saved));
      return FALSE;
    }

  procs = g_build_filename (priv->cgroup, "cgroup.procs", NULL);
  if (access (procs, W_OK) < 0)
    {
      int saved = errno;

      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("%s is not a writable cgroup v2 directory: access(%s): %s"),
                   priv->cgroup, procs, g_strerror (saved));
      return FALSE;
    }

  g_free (priv->cgroup_procs);
  priv->cgroup_procs = g_steal_pointer (&procs);
  return TRUE;
}

gboolean
psf_spawn_process_prepare_child (PsfSpawnProcess  *self,
                                 PsfChildSetup    *setup,
                                 int              *output_fd,
                                 GError          **error)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  memset (setup, 0, sizeof *setup);
  *output_fd = -1;

  if (priv->cgroup != NULL)
    {
      if (!prepare_cgroup (priv, error))
        return FALSE;
      setup->cgroup_procs = priv->cgroup_procs;
    }

  setup->unshare_flags = (priv->unshare_ipc ? CLONE_NEWIPC : 0) |
                         (priv->unshare_mount ? CLONE_NEWNS : 0) |
                         (priv->unshare_pid ? CLONE_NEWPID : 0) |
                         (priv->unshare_net ? CLONE_NEWNET : 0);

  if (priv->umask >= 0)
    {
      setup->has_umask = TRUE;
      setup->umask_value = (mode_t) priv->umask;
    }
  if (priv->groups != NULL)
    {
      g_free (priv->groups_buffer);
      priv->groups_buffer = g_new0 (gid_t, MAX (priv->groups->len, 1));
      for (guint i = 0; i < priv->groups->len; i++)
        priv->groups_buffer[i] = g_array_index (priv->groups, guint32, i);
      setup->has_groups = TRUE;
      setup->groups = priv->groups_buffer;
      setup->n_groups = priv->groups->len;
    }
  if (priv->gid >= 0)
    {
      setup->has_gid = TRUE;
      setup->gid = (gid_t) priv->gid;
    }
  if (priv->uid >= 0)
    {
      setup->has_uid = TRUE;
      setup->uid = (uid_t) priv->uid;
    }
  setup->child_setup = priv->child_setup;
  setup->child_setup_data = priv->child_setup_data;

  if (priv->logfile != NULL)
    {
      g_clear_pointer (&priv->log, psf_output_log_free);
      priv->log = psf_output_log_new (priv->logfile, priv->log_filter_file,
                                      !psf_task_get_background (PSF_TASK (self)),
                                      error);
      if (priv->log == NULL)
        return FALSE;
      *output_fd = psf_output_log_get_child_fd (priv->log);
    }

  return TRUE;
}

void
psf_spawn_process_abort_child (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_clear_pointer (&priv->log, psf_output_log_free);
}

static gboolean
psf_spawn_process_log_done_cb (gpointer data)
{
  PsfSpawnProcess *self = data;
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  if (priv->waiting_for_log)
    {
      priv->waiting_for_log = FALSE;
      PSF_SUBPROCESS_CLASS (psf_spawn_process_parent_class)->reaped (PSF_SUBPROCESS (self),
                                                                     priv->pending_returncode);
    }
  /* The reference taken when the output began. */
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
psf_spawn_process_child_started (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  if (priv->log != NULL)
    psf_output_log_start (priv->log, psf_task_get_context (PSF_TASK (self)),
                          psf_spawn_process_log_done_cb, g_object_ref (self));
}

gboolean
psf_spawn_process_check_setup (int      setup_read_fd,
                               GPid     pid,
                               GError **error)
{
  PsfSetupError record;
  gsize got = 0;

  while (got < sizeof record)
    {
      ssize_t n = read (setup_read_fd, (char *) &record + got, sizeof record - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize) n;
    }

  if (got == 0)
    return TRUE;

  /* The child wrote why it gave up and is exiting: reap it now. */
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;

  return psf_set_error_from_setup_record (error, &record, got);
}

const char *
psf_spawn_process_get_opt_name (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  return priv->opt_name;
}

typedef struct
{
  const PsfChildSetup *setup;
  int                  error_fd;
} ExecSetup;

static void
exec_child_setup (gpointer data)
{
  /* In the child, between GLib's fork() and exec(). */
  const ExecSetup *exec_setup = data;

  if (psf_child_setup_apply (exec_setup->setup, exec_setup->error_fd) < 0)
    _exit (127);
}

static gboolean
psf_spawn_process_start (PsfTask  *task,
                         GError  **error)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (task);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) argv = NULL;
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CHILD_INHERITS_STDIN |
                      G_SPAWN_CLOEXEC_PIPES;
  PsfChildSetup setup;
  ExecSetup exec_setup;
  int output_fd = -1;
  int setup_pipe[2] = { -1, -1 };
  gboolean need_setup;
  GPid pid = 0;
  gboolean ok;

  if (!psf_subprocess_check_reapable (error))
    return FALSE;

  if (priv->argv == NULL || priv->argv[0] == NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("No program to run: argv is empty"));
      return FALSE;
    }

  if (!psf_spawn_process_prepare_child (self, &setup, &output_fd, error))
    return FALSE;

  if (priv->path_lookup)
    flags |= G_SPAWN_SEARCH_PATH;
  if (!priv->close_fds)
    flags |= G_SPAWN_LEAVE_DESCRIPTORS_OPEN;

  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, priv->argv[0]);
  if (priv->opt_name != NULL)
    {
      flags |= G_SPAWN_FILE_AND_ARGV_ZERO;
      g_ptr_array_add (argv, priv->opt_name);
    }
  for (guint i = 1; priv->argv[i] != NULL; i++)
    g_ptr_array_add (argv, priv->argv[i]);
  g_ptr_array_add (argv, NULL);

  /* Only a child with something to set up pays for the handshake. */
  need_setup = !psf_child_setup_is_empty (&setup);
  if (need_setup && pipe2 (setup_pipe, O_CLOEXEC) < 0)
    {
      int saved = errno;

      psf_spawn_process_abort_child (self);
      psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "pipe2", NULL);
      return FALSE;
    }
  exec_setup.setup = &setup;
  exec_setup.error_fd = setup_pipe[1];

  ok = g_spawn_async_with_pipes_and_fds (priv->cwd,
                                         (const char * const *) argv->pdata,
                                         (const char * const *) priv->env,
                                         flags,
                                         need_setup ? exec_child_setup : NULL,
                                         &exec_setup,
                                         -1, output_fd, output_fd,
                                         (const int *) (gpointer) priv->source_fds->data,
                                         (const int *) (gpointer) priv->target_fds->data,
                                         priv->source_fds->len,
                                         &pid,
                                         NULL, NULL, NULL,
                                         &local_error);
  if (setup_pipe[1] >= 0)
    close (setup_pipe[1]);

  if (!ok)
    {
      if (setup_pipe[0] >= 0)
        close (setup_pipe[0]);
      psf_spawn_process_abort_child (self);
      g_set_error_literal (error, PSF_ERROR, PSF_ERROR_SPAWN, local_error->message);
      return FALSE;
    }

  /* GLib returned after the exec: the setup channel is final by now. */
  if (setup_pipe[0] >= 0)
    {
      ok = psf_spawn_process_check_setup (setup_pipe[0], pid, error);
      close (setup_pipe[0]);
      if (!ok)
        {
          psf_spawn_process_abort_child (self);
          return FALSE;
        }
    }

  /* The child has its copies now. */
  psf_spawn_process_close_fds_taken (self);
  psf_subprocess_watch (PSF_SUBPROCESS (self), pid);
  psf_spawn_process_child_started (self);
  return TRUE;
}

static GArray *
read_cgroup_pids (const char *procs)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));

  if (!g_file_get_contents (procs, &contents, NULL, NULL))
    return pids;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gint64 pid;

      if (g_ascii_string_to_signed (lines[i], 10, 1, G_MAXINT, &pid, NULL))
        {
          int p = (int) pid;

          g_array_append_val (pids, p);
        }
    }
  return pids;
}

/* The exit is reported once every byte of output is in the log. */
static void
psf_spawn_process_finish_reap (PsfSpawnProcess *self,
                               int              returncode)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  if (priv->log != NULL && !psf_output_log_is_done (priv->log))
    {
      priv->pending_returncode = returncode;
      priv->waiting_for_log = TRUE;
      return;
    }

  PSF_SUBPROCESS_CLASS (psf_spawn_process_parent_class)->reaped (PSF_SUBPROCESS (self),
                                                                 returncode);
}

static void
warn_cgroup_left (PsfSpawnProcessPrivate *priv,
                  GArray                 *left)
{
  g_autoptr(GString) pids = g_string_new (NULL);

  for (guint i = 0; i < left->len; i++)
    g_string_append_printf (pids, "%s%d", i ? " " : "", g_array_index (left, int, i));
  g_warning (_("Processes left in cgroup %s could not be killed: %s"),
             priv->cgroup, pids->str);
}

/* One step of the cleanup of the cgroup: kills whatever is still in it
 * (grandchildren that outlived the child), re-reading cgroup.procs as
 * forks race with the kills, then cgroup.kill where the kernel has it,
 * then removes the directory, which the kernel allows only once the
 * killed processes are gone. Returns the ms until the next step, or 0
 * when the cleanup is over. Nothing here sleeps: the waits between steps
 * are timers in the task's context, and the exit is reported after the
 * last step. */
static guint
cleanup_cgroup_step (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);
  g_autoptr(GArray) pids = NULL;

  switch (priv->cgroup_phase)
    {
    case CGROUP_KILL:
      pids = read_cgroup_pids (priv->cgroup_procs);
      if (pids->len > 0 && priv->cgroup_step < CGROUP_KILL_ROUNDS)
        {
          for (guint i = 0; i < pids->len; i++)
            kill (g_array_index (pids, int, i), SIGKILL);
          return ++priv->cgroup_step;
        }
      if (pids->len > 0)
        {
          g_autofree char *kill_file = g_build_filename (priv->cgroup, "cgroup.kill", NULL);

          if (!g_file_test (kill_file, G_FILE_TEST_EXISTS))
            {
              warn_cgroup_left (priv, pids);
              return 0;
            }
          g_file_set_contents_full (kill_file, "1", 1, G_FILE_SET_CONTENTS_NONE, 0644, NULL);
          priv->cgroup_phase = CGROUP_KILL_FILE;
          priv->cgroup_step = 0;
          return 2;
        }
      priv->cgroup_phase = CGROUP_RMDIR;
      priv->cgroup_step = 0;
      return cleanup_cgroup_step (self);

    case CGROUP_KILL_FILE:
      pids = read_cgroup_pids (priv->cgroup_procs);
      if (pids->len == 0)
        {
          priv->cgroup_phase = CGROUP_RMDIR;
          priv->cgroup_step = 0;
          return cleanup_cgroup_step (self);
        }
      if (++priv->cgroup_step < CGROUP_KILL_WAITS)
        return 2;
      warn_cgroup_left (priv, pids);
      return 0;

    case CGROUP_RMDIR:
    default:
      if (rmdir (priv->cgroup) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY)
        {
          g_debug ("rmdir(%s): %s", priv->cgroup, g_strerror (errno));
          return 0;
        }
      return ++priv->cgroup_step < CGROUP_RMDIR_TRIES ? 1 : 0;
    }
}

static gboolean psf_spawn_process_cgroup_cb (gpointer data);

/* Runs the cleanup's steps until one has to wait; then a timer runs the
 * next. Returns TRUE when it is over. */
static gboolean
cleanup_cgroup (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);
  guint delay_ms = cleanup_cgroup_step (self);

  if (delay_ms == 0)
    {
      g_clear_pointer (&priv->cgroup_procs, g_free);
      return TRUE;
    }
  priv->cgroup_source = psf_task_attach_with_ref (PSF_TASK (self),
                                                  g_timeout_source_new (delay_ms),
                                                  psf_spawn_process_cgroup_cb,
                                                  "[psf] cgroup cleanup");
  return FALSE;
}

static gboolean
psf_spawn_process_cgroup_cb (gpointer data)
{
  PsfSpawnProcess *self = data;
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_clear_pointer (&priv->cgroup_source, g_source_unref);
  /* A fork's copy: the cgroup's processes are the parent's. */
  if (psf_task_is_inherited (PSF_TASK (self)))
    return G_SOURCE_REMOVE;
  if (cleanup_cgroup (self))
    psf_spawn_process_finish_reap (self, priv->pending_returncode);
  return G_SOURCE_REMOVE;
}

static void
psf_spawn_process_reaped (PsfSubprocess *subprocess,
                          int            returncode)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (subprocess);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  if (priv->cgroup_procs != NULL)
    {
      priv->cgroup_phase = CGROUP_KILL;
      priv->cgroup_step = 0;
      priv->pending_returncode = returncode;
      if (!cleanup_cgroup (self))
        return;
    }

  psf_spawn_process_finish_reap (self, returncode);
}

static void
psf_spawn_process_finalize (GObject *object)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (object);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  psf_spawn_process_close_fds_taken (self);
  g_clear_pointer (&priv->source_fds, g_array_unref);
  g_clear_pointer (&priv->target_fds, g_array_unref);
  g_clear_pointer (&priv->argv, g_strfreev);
  g_clear_pointer (&priv->env, g_strfreev);
  g_clear_pointer (&priv->cwd, g_free);
  g_clear_pointer (&priv->groups, g_array_unref);
  g_clear_pointer (&priv->groups_buffer, g_free);
  g_clear_pointer (&priv->cgroup, g_free);
  g_clear_pointer (&priv->cgroup_procs, g_free);
  g_assert (priv->cgroup_source == NULL);
  g_clear_pointer (&priv->opt_name, g_free);
  g_clear_pointer (&priv->logfile, g_free);
  g_clear_pointer (&priv->log_filter_file, g_free);
  g_clear_pointer (&priv->log, psf_output_log_free);
  if (priv->child_setup_destroy != NULL)
    priv->child_setup_destroy (priv->child_setup_data);

  G_OBJECT_CLASS (psf_spawn_process_parent_class)->finalize (object);
}

static void
psf_spawn_process_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (object);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ARGV:
      g_value_set_boxed (value, priv->argv);
      break;

    case PROP_ENV:
      g_value_set_boxed (value, priv->env);
      break;

    case PROP_CWD:
      g_value_set_string (value, priv->cwd);
      break;

    case PROP_PATH_LOOKUP:
      g_value_set_boolean (value, priv->path_lookup);
      break;

    case PROP_CLOSE_FDS:
      g_value_set_boolean (value, priv->close_fds);
      break;

    case PROP_UID:
      g_value_set_int (value, priv->uid);
      break;

    case PROP_GID:
      g_value_set_int (value, priv->gid);
      break;

    case PROP_GROUPS:
      if (priv->groups == NULL)
        g_value_set_variant (value, NULL);
      else
        g_value_take_variant (value,
                              g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                                             priv->groups->data,
                                                                             priv->groups->len,
                                                                             sizeof (guint32))));
      break;

    case PROP_UMASK:
      g_value_set_int (value, priv->umask);
      break;

    case PROP_UNSHARE_IPC:
      g_value_set_boolean (value, priv->unshare_ipc);
      break;

    case PROP_UNSHARE_MOUNT:
      g_value_set_boolean (value, priv->unshare_mount);
      break;

    case PROP_UNSHARE_PID:
      g_value_set_boolean (value, priv->unshare_pid);
      break;

    case PROP_UNSHARE_NET:
      g_value_set_boolean (value, priv->unshare_net);
      break;

    case PROP_CGROUP:
      g_value_set_string (value, priv->cgroup);
      break;

    case PROP_OPT_NAME:
      g_value_set_string (value, priv->opt_name);
      break;

    case PROP_LOGFILE:
      g_value_set_string (value, priv->logfile);
      break;

    case PROP_LOG_FILTER_FILE:
      g_value_set_string (value, priv->log_filter_file);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_spawn_process_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (object);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ARGV:
      psf_spawn_process_set_argv (self, g_value_get_boxed (value));
      break;

    case PROP_ENV:
      psf_spawn_process_set_env (self, g_value_get_boxed (value));
      break;

    case PROP_CWD:
      psf_spawn_process_set_cwd (self, g_value_get_string (value));
      break;

    case PROP_PATH_LOOKUP:
      psf_spawn_process_set_path_lookup (self, g_value_get_boolean (value));
      break;

    case PROP_CLOSE_FDS:
      psf_spawn_process_set_close_fds (self, g_value_get_boolean (value));
      break;

    case PROP_UID:
      priv->uid = g_value_get_int (value);
      break;

    case PROP_GID:
      priv->gid = g_value_get_int (value);
      break;

    case PROP_GROUPS:
      {
        GVariant *groups = g_value_get_variant (value);

        g_clear_pointer (&priv->groups, g_array_unref);
        if (groups != NULL)
          {
            gsize n = 0;
            const guint32 *ids = g_variant_get_fixed_array (groups, &n, sizeof (guint32));

            priv->groups = g_array_sized_new (FALSE, FALSE, sizeof (guint32), (guint) n);
            g_array_append_vals (priv->groups, ids, (guint) n);
          }
      }
      break;

    case PROP_UMASK:
      priv->umask = g_value_get_int (value);
      break;

    case PROP_UNSHARE_IPC:
      priv->unshare_ipc = g_value_get_boolean (value);
      break;

    case PROP_UNSHARE_MOUNT:
      priv->unshare_mount = g_value_get_boolean (value);
      break;

    case PROP_UNSHARE_PID:
      priv->unshare_pid = g_value_get_boolean (value);
      break;

    case PROP_UNSHARE_NET:
      priv->unshare_net = g_value_get_boolean (value);
      break;

    case PROP_CGROUP:
      /* The cleanup after the exit empties and removes the cgroup the child
       * was placed in: that one stays the task's until then. */
      if (psf_task_get_state (PSF_TASK (self)) == PSF_TASK_STATE_RUNNING)
        {
          g_critical ("%s: the cgroup of a running task cannot change", G_STRFUNC);
          break;
        }
      g_free (priv->cgroup);
      priv->cgroup = g_value_dup_string (value);
      break;

    case PROP_OPT_NAME:
      g_free (priv->opt_name);
      priv->opt_name = g_value_dup_string (value);
      break;

    case PROP_LOGFILE:
      g_free (priv->logfile);
      priv->logfile = g_value_dup_string (value);
      break;

    case PROP_LOG_FILTER_FILE:
      g_free (priv->log_filter_file);
      priv->log_filter_file = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_spawn_process_class_init (PsfSpawnProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PsfTaskClass *task_class = PSF_TASK_CLASS (klass);

  psf_i18n_init ();

  object_class->finalize = psf_spawn_process_finalize;
  object_class->get_property = psf_spawn_process_get_property;
  object_class->set_property = psf_spawn_process_set_property;

  task_class->start = psf_spawn_process_start;
  PSF_SUBPROCESS_CLASS (klass)->reaped = psf_spawn_process_reaped;

  /**
   * PsfSpawnProcess:argv: (type GStrv)
   *
   * The program and its arguments (filenames: any bytes but NUL). Only a
   * #PsfSpawnProcess runs a program: a [class@Psf.ForkProcess] (and a
   * [class@Psf.SyncfsProcess]) refuses to start with one set.
   *
   * Since: 1.0
   */
  properties[PROP_ARGV] =
    g_param_spec_boxed ("argv", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:env: (type GStrv)
   *
   * The child's environment as `NAME=VALUE` strings; %NULL inherits the
   * host's. A [class@Psf.ForkProcess] uses it with the SPAWN and FORKSERVER
   * start methods; with FORK (a copy of the host, which keeps its
   * environment) start() refuses it.
   *
   * Since: 1.0
   */
  properties[PROP_ENV] =
    g_param_spec_boxed ("env", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:cwd:
   *
   * The child's working directory; %NULL keeps the host's.
   *
   * Since: 1.0
   */
  properties[PROP_CWD] =
    g_param_spec_string ("cwd", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:path-lookup:
   *
   * Whether argv[0] is looked up in `PATH` when it has no slash. Only a
   * #PsfSpawnProcess uses it: a [class@Psf.ForkProcess] refuses to start
   * when it is %FALSE.
   *
   * Since: 1.0
   */
  properties[PROP_PATH_LOOKUP] =
    g_param_spec_boolean ("path-lookup", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:close-fds:
   *
   * Whether the child gets only stdin, stdout, stderr and the mapped fds;
   * %FALSE lets it inherit every fd of the host that is not close-on-exec.
   *
   * Since: 1.0
   */
  properties[PROP_CLOSE_FDS] =
    g_param_spec_boolean ("close-fds", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:uid:
   *
   * The user id the child runs as (setresuid() after the groups and the
   * gid); -1 keeps the host's. A child that cannot change it fails
   * start() with a #GError naming the call: it never runs with the wrong
   * identity.
   *
   * Since: 1.0
   */
  properties[PROP_UID] =
    g_param_spec_int ("uid", NULL, NULL, -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:gid:
   *
   * The group id the child runs as (setresgid()); -1 keeps the host's.
   *
   * Since: 1.0
   */
  properties[PROP_GID] =
    g_param_spec_int ("gid", NULL, NULL, -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:groups:
   *
   * The supplementary groups of the child, as a `au` #GVariant
   * (setgroups()); %NULL keeps the host's, an empty array drops them all.
   *
   * Since: 1.0
   */
  properties[PROP_GROUPS] =
    g_param_spec_variant ("groups", NULL, NULL, G_VARIANT_TYPE ("au"), NULL,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:umask:
   *
   * The child's umask, or -1 to keep the host's.
   *
   * Since: 1.0
   */
  properties[PROP_UMASK] =
    g_param_spec_int ("umask", NULL, NULL, -1, 0777, -1,
                      (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:unshare-ipc:
   *
   * Run the child in a new IPC namespace. Needs CAP_SYS_ADMIN; when the
   * kernel refuses, start() fails with the reason.
   *
   * Since: 1.0
   */
  properties[PROP_UNSHARE_IPC] =
    g_param_spec_boolean ("unshare-ipc", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:unshare-mount:
   *
   * Run the child in a new mount namespace whose mounts are private, so
   * nothing it mounts is seen by the host.
   *
   * Since: 1.0
   */
  properties[PROP_UNSHARE_MOUNT] =
    g_param_spec_boolean ("unshare-mount", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:unshare-pid:
   *
   * Run the child as PID 1 of a new PID namespace (with a fresh /proc when
   * [property@Psf.SpawnProcess:unshare-mount] is set too). The process the
   * task watches is a small parent that mirrors its exit.
   *
   * Since: 1.0
   */
  properties[PROP_UNSHARE_PID] =
    g_param_spec_boolean ("unshare-pid", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:unshare-net:
   *
   * Run the child in a new network namespace (loopback only, down).
   *
   * Since: 1.0
   */
  properties[PROP_UNSHARE_NET] =
    g_param_spec_boolean ("unshare-net", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:cgroup:
   *
   * A cgroup v2 directory (created if missing) the child joins before it
   * runs. When the child has been reaped, every process still in it is
   * killed (cgroup.procs is re-read up to 8 times, then cgroup.kill is used
   * where the kernel has it) and the directory is removed. It cannot change
   * while the task runs.
   *
   * Since: 1.0
   */
  properties[PROP_CGROUP] =
    g_param_spec_string ("cgroup", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:opt-name:
   *
   * The argv[0] the program sees, when it must differ from the file run.
   * A [class@Psf.ForkProcess] uses it with the SPAWN start method (the
   * helper's argv[0]); with FORK and FORKSERVER the child keeps the
   * host's or the server's, and start() refuses it.
   *
   * Since: 1.0
   */
  properties[PROP_OPT_NAME] =
    g_param_spec_string ("opt-name", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:logfile:
   *
   * A file the child's stdout and stderr are appended to (gzip-compressed
   * when the name ends in `.gz`). The output then goes through a pty (or a
   * pipe) that the task drains; unless [property@Psf.Task:background] is
   * set it is also copied to the host's stdout. The exit is reported once
   * every byte is in the file.
   *
   * Since: 1.0
   */
  properties[PROP_LOGFILE] =
    g_param_spec_string ("logfile", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSpawnProcess:log-filter-file:
   *
   * A command line (shell quoting, no shell) whose stdin gets the output
   * and whose stdout is written to [property@Psf.SpawnProcess:logfile].
   *
   * Since: 1.0
   */
  properties[PROP_LOG_FILTER_FILE] =
    g_param_spec_string ("log-filter-file", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
psf_spawn_process_init (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  priv->path_lookup = TRUE;
  priv->close_fds = TRUE;
  priv->uid = -1;
  priv->gid = -1;
  priv->umask = -1;
  priv->source_fds = g_array_new (FALSE, FALSE, sizeof (int));
  priv->target_fds = g_array_new (FALSE, FALSE, sizeof (int));
}

/**
 * psf_spawn_process_new:
 * @argv: (array zero-terminated=1) (element-type filename): the program and
 *   its arguments
 *
 * Creates a process that will run @argv once started.
 *
 * Returns: (transfer full): a new #PsfSpawnProcess
 *
 * Since: 1.0
 */
PsfSpawnProcess *
psf_spawn_process_new (const char * const *argv)
{
  return g_object_new (PSF_TYPE_SPAWN_PROCESS, "argv", argv, NULL);
}

/**
 * psf_spawn_process_get_argv:
 * @self: a #PsfSpawnProcess
 *
 * Gets the command line the child executes.
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename) (nullable):
 *   the [property@Psf.SpawnProcess:argv]
 *
 * Since: 1.0
 */
const char * const *
psf_spawn_process_get_argv (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SPAWN_PROCESS (self), NULL);

  return (const char * const *) priv->argv;
}

/**
 * psf_spawn_process_set_argv:
 * @self: a #PsfSpawnProcess
 * @argv: (array zero-terminated=1) (element-type filename) (nullable): the
 *   program and its arguments
 *
 * Sets [property@Psf.SpawnProcess:argv].
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_argv (PsfSpawnProcess    *self,
                            const char * const *argv)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  g_strfreev (priv->argv);
  priv->argv = g_strdupv ((char **) argv);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ARGV]);
}

/**
 * psf_spawn_process_get_env:
 * @self: a #PsfSpawnProcess
 *
 * Gets the environment the child gets, or %NULL for the host's.
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename) (nullable):
 *   the [property@Psf.SpawnProcess:env]
 *
 * Since: 1.0
 */
const char * const *
psf_spawn_process_get_env (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SPAWN_PROCESS (self), NULL);

  return (const char * const *) priv->env;
}

/**
 * psf_spawn_process_set_env:
 * @self: a #PsfSpawnProcess
 * @env: (array zero-terminated=1) (element-type filename) (nullable): the
 *   environment, or %NULL to inherit the host's
 *
 * Sets [property@Psf.SpawnProcess:env].
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_env (PsfSpawnProcess    *self,
                           const char * const *env)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  g_strfreev (priv->env);
  priv->env = g_strdupv ((char **) env);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENV]);
}

/**
 * psf_spawn_process_get_cwd:
 * @self: a #PsfSpawnProcess
 *
 * Gets the working directory the child starts in.
 *
 * Returns: (type filename) (nullable): the [property@Psf.SpawnProcess:cwd]
 *
 * Since: 1.0
 */
const char *
psf_spawn_process_get_cwd (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SPAWN_PROCESS (self), NULL);

  return priv->cwd;
}

/**
 * psf_spawn_process_set_cwd:
 * @self: a #PsfSpawnProcess
 * @cwd: (type filename) (nullable): the working directory of the child
 *
 * Sets [property@Psf.SpawnProcess:cwd].
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_cwd (PsfSpawnProcess *self,
                           const char      *cwd)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  if (g_strcmp0 (priv->cwd, cwd) == 0)
    return;
  g_free (priv->cwd);
  priv->cwd = g_strdup (cwd);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CWD]);
}

/**
 * psf_spawn_process_get_path_lookup:
 * @self: a #PsfSpawnProcess
 *
 * Gets whether `argv[0]` is looked up in `PATH`.
 *
 * Returns: the [property@Psf.SpawnProcess:path-lookup] flag
 *
 * Since: 1.0
 */
gboolean
psf_spawn_process_get_path_lookup (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SPAWN_PROCESS (self), FALSE);

  return priv->path_lookup;
}

/**
 * psf_spawn_process_set_path_lookup:
 * @self: a #PsfSpawnProcess
 * @path_lookup: whether to look the program up in `PATH`
 *
 * Sets [property@Psf.SpawnProcess:path-lookup].
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_path_lookup (PsfSpawnProcess *self,
                                   gboolean         path_lookup)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  path_lookup = !!path_lookup;
  if (priv->path_lookup == (guint) path_lookup)
    return;
  priv->path_lookup = path_lookup;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH_LOOKUP]);
}

/**
 * psf_spawn_process_get_close_fds:
 * @self: a #PsfSpawnProcess
 *
 * Gets whether the child gets only the fds it was given.
 *
 * Returns: the [property@Psf.SpawnProcess:close-fds] flag
 *
 * Since: 1.0
 */
gboolean
psf_spawn_process_get_close_fds (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SPAWN_PROCESS (self), FALSE);

  return priv->close_fds;
}

/**
 * psf_spawn_process_set_close_fds:
 * @self: a #PsfSpawnProcess
 * @close_fds: whether the child gets only the fds it is given
 *
 * Sets [property@Psf.SpawnProcess:close-fds].
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_close_fds (PsfSpawnProcess *self,
                                 gboolean         close_fds)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  close_fds = !!close_fds;
  if (priv->close_fds == (guint) close_fds)
    return;
  priv->close_fds = close_fds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOSE_FDS]);
}

/**
 * psf_spawn_process_take_fd:
 * @self: a #PsfSpawnProcess
 * @source_fd: an fd of the host, owned by @self from now on
 * @target_fd: the fd number the child sees it as
 *
 * Gives @source_fd to the child as @target_fd. @self closes @source_fd
 * once the child has it, or when @self is finalized.
 *
 * A [class@Psf.ForkProcess] refuses at start() a @target_fd at or above
 * the host's `RLIMIT_NOFILE` soft limit, which its child inherits, with
 * %PSF_ERROR_SPAWN and the message "dup2(SOURCE -> TARGET): Bad file
 * descriptor", whatever its start method; @source_fd stays @self's.
 *
 * Since: 1.0
 */
void
psf_spawn_process_take_fd (PsfSpawnProcess *self,
                           int              source_fd,
                           int              target_fd)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));
  g_return_if_fail (source_fd >= 0);
  g_return_if_fail (target_fd >= 0);

  g_array_append_val (priv->source_fds, source_fd);
  g_array_append_val (priv->target_fds, target_fd);
}

/**
 * psf_spawn_process_set_groups:
 * @self: a #PsfSpawnProcess
 * @groups: (array length=n_groups) (nullable): supplementary group ids
 * @n_groups: the number of @groups
 *
 * Sets [property@Psf.SpawnProcess:groups] from an array.
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_groups (PsfSpawnProcess *self,
                              const guint32   *groups,
                              gsize            n_groups)
{
  g_autoptr(GVariant) variant = NULL;

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  variant = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                           groups, n_groups,
                                                           sizeof (guint32)));
  g_object_set (self, "groups", variant, NULL);
}

/**
 * psf_spawn_process_set_child_setup: (skip)
 * @self: a #PsfSpawnProcess
 * @child_setup: (nullable): a function run in the child before it runs
 * @user_data: data for @child_setup
 * @destroy: (nullable): frees @user_data with @self
 *
 * Sets a function the child runs after psf's own set-up and before the
 * program (or the fork routine). It runs between fork() and exec(): only
 * async-signal-safe calls. Not available to bindings, and not with the
 * SPAWN start method (which runs a fresh helper).
 *
 * Since: 1.0
 */
void
psf_spawn_process_set_child_setup (PsfSpawnProcess      *self,
                                   GSpawnChildSetupFunc  child_setup,
                                   gpointer              user_data,
                                   GDestroyNotify        destroy)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_SPAWN_PROCESS (self));

  if (priv->child_setup_destroy != NULL)
    priv->child_setup_destroy (priv->child_setup_data);
  priv->child_setup = child_setup;
  priv->child_setup_data = user_data;
  priv->child_setup_destroy = destroy;
}
