/* psf-spawn-process.c: PsfSpawnProcess, a subprocess that executes a program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <unistd.h>

#include "psf-error.h"
#include "psf-i18n-private.h"
#include "psf-spawn-process-private.h"
#include "psf-subprocess-private.h"

typedef struct
{
  char   **argv;
  char   **env;
  char    *cwd;
  GArray  *source_fds;
  GArray  *target_fds;
  guint    path_lookup : 1;
  guint    close_fds : 1;
} PsfSpawnProcessPrivate;

enum {
  PROP_0,
  PROP_ARGV,
  PROP_ENV,
  PROP_CWD,
  PROP_PATH_LOOKUP,
  PROP_CLOSE_FDS,
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

static gboolean
psf_spawn_process_start (PsfTask  *task,
                         GError  **error)
{
  PsfSpawnProcess *self = PSF_SPAWN_PROCESS (task);
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);
  g_autoptr(GError) local_error = NULL;
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CHILD_INHERITS_STDIN |
                      G_SPAWN_CLOEXEC_PIPES;
  GPid pid = 0;

  if (priv->argv == NULL || priv->argv[0] == NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("No program to run: argv is empty"));
      return FALSE;
    }

  if (priv->path_lookup)
    flags |= G_SPAWN_SEARCH_PATH;
  if (!priv->close_fds)
    flags |= G_SPAWN_LEAVE_DESCRIPTORS_OPEN;

  if (!g_spawn_async_with_pipes_and_fds (priv->cwd,
                                         (const char * const *) priv->argv,
                                         (const char * const *) priv->env,
                                         flags,
                                         NULL, NULL,
                                         -1, -1, -1,
                                         (const int *) (gpointer) priv->source_fds->data,
                                         (const int *) (gpointer) priv->target_fds->data,
                                         priv->source_fds->len,
                                         &pid,
                                         NULL, NULL, NULL,
                                         &local_error))
    {
      g_set_error_literal (error, PSF_ERROR, PSF_ERROR_SPAWN, local_error->message);
      return FALSE;
    }

  /* The child has its copies now. */
  psf_spawn_process_close_fds_taken (self);
  psf_subprocess_watch (PSF_SUBPROCESS (self), pid);
  return TRUE;
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

  /**
   * PsfSpawnProcess:argv: (type GStrv)
   *
   * The program and its arguments (filenames: any bytes but NUL).
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
   * host's.
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
   * Whether argv[0] is looked up in `PATH` when it has no slash.
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

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
psf_spawn_process_init (PsfSpawnProcess *self)
{
  PsfSpawnProcessPrivate *priv = psf_spawn_process_get_instance_private (self);

  priv->path_lookup = TRUE;
  priv->close_fds = TRUE;
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
