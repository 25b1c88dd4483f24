/* psf-syncfs-process.c: PsfSyncfsProcess, flush the filesystems of paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "psf-child-private.h"
#include "psf-error.h"
#include "psf-fork-process-private.h"
#include "psf-i18n-private.h"
#include "psf-syncfs-process.h"
#include "psf-syncfs-result-private.h"
#include "psf-task-private.h"

struct _PsfSyncfsProcess
{
  PsfForkProcess  parent_instance;
  char          **paths;
  char          **sent;         /* the paths at start(), as given */
  char          **resolved;
  GPtrArray      *results;        /* filled as the records arrive */
  PsfSyncfsDecoder decoder;
  GQueue          arrived;        /* indices of results due a ::path-done */
  int             n_filesystems;  /* as notified: the decoder's, or -1 */
  guint           sync_fallback : 1;
};

enum {
  PROP_0,
  PROP_PATHS,
  PROP_SYNC_FALLBACK,
  PROP_N_FILESYSTEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PATH_DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PsfSyncfsProcess, psf_syncfs_process, PSF_TYPE_FORK_PROCESS)

/**
 * PsfSyncfsProcess:
 *
 * Flushes the filesystems that hold a list of paths with syncfs(2), in a
 * child process, without blocking the host (Portage's `SyncfsProcess`, run
 * after a merge so that a power loss does not lose the merged files).
 *
 * The child looks at each path once (following symlinks, without opening
 * what it names) and calls syncfs() once per filesystem: a second path on a
 * filesystem already synced is a %PSF_SYNCFS_STATUS_DUPLICATE. A regular
 * file or a directory is then opened with `O_RDONLY|O_NONBLOCK|O_NOCTTY`
 * through what was looked at, never by its name again, so a path swapped
 * meanwhile cannot make the child open something else; anything else (a
 * FIFO, a socket, a device node) is never opened itself, its filesystem is
 * synced through a directory on that same filesystem. The device reported
 * for a path is always the filesystem that was synced for it. A path that
 * cannot be looked at or opened is %PSF_SYNCFS_STATUS_SKIPPED with its
 * errno, as Portage skips it; so is a path on a kernel interface (`/proc`,
 * `/sys`: `EOPNOTSUPP`) or through one of /proc's magic links (`ELOOP`,
 * where the kernel has openat2()).
 * Relative paths are taken from the host's working directory at start().
 *
 * The returncode is 0 when every filesystem reached was synced, and 1 when
 * syncfs() failed on one (every filesystem is still tried) or does not exist
 * (`ENOSYS`). With [property@Psf.SyncfsProcess:sync-fallback], a missing
 * syncfs() is replaced by one sync() and the returncode is 0. A report that
 * does not arrive whole fails the task: 128 + errno when the child could
 * not write it or the parent could not read it, 128 when a path has no
 * record although the child exited 0; 2 when the helper could not read its
 * input. [method@Psf.Task.wait_check_finish] says which.
 *
 * [method@Psf.SyncfsProcess.get_results] gives one [class@Psf.SyncfsResult]
 * per input path once the task has exited, and
 * [method@Psf.Task.wait_check_finish] names the path and the errno text of
 * a failure. While the child runs, [signal@Psf.SyncfsProcess::path-done]
 * gives each result as it arrives: the child reports a filesystem as soon
 * as its syncfs() returns, so a host can show how many of them are done
 * while a slow one is still being flushed.
 *
 * Distinct filesystems are synced at the same time with the
 * %PSF_START_METHOD_SPAWN and %PSF_START_METHOD_FORKSERVER methods, so a
 * slow filesystem does not add its time to the others'; a fork of the host
 * (%PSF_START_METHOD_FORK) may only make async-signal-safe calls and syncs
 * them one after another.
 *
 * Its routine is built into the helper `psf-child`, so it runs with every
 * start method; the default is %PSF_START_METHOD_FORKSERVER, whose cost
 * does not grow with the host's size and is the lowest (%PSF_START_METHOD_SPAWN
 * on a system where the forkserver cannot run).
 *
 * ```c
 * const char *paths[] = { "/usr", "/var/db/pkg", NULL };
 * g_autoptr(PsfSyncfsProcess) sync = psf_syncfs_process_new (paths);
 *
 * if (psf_task_start (PSF_TASK (sync), &error))
 *   psf_task_wait_check_async (PSF_TASK (sync), NULL, synced_cb, NULL);
 * ```
 *
 * Since: 1.0
 */

static GBytes *
psf_syncfs_process_prepare (PsfForkProcess  *process,
                            GError         **error)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (process);
  g_autofree char *cwd = NULL;
  GByteArray *input;
  PsfSyncfsInputHeader header = { 0 };
  guint n = self->paths != NULL ? g_strv_length (self->paths) : 0;

  /* What the running task reports on, whatever the host sets meanwhile. */
  g_clear_pointer (&self->sent, g_strfreev);
  self->sent = g_strdupv (self->paths);
  g_clear_pointer (&self->resolved, g_strfreev);
  self->resolved = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    {
      const char *path = self->sent[i];

      if (path[0] == '\0' || g_path_is_absolute (path))
        {
          self->resolved[i] = g_strdup (path);
          continue;
        }
      if (cwd == NULL)
        cwd = g_get_current_dir ();
      self->resolved[i] = g_build_filename (cwd, path, NULL);
    }

  psf_syncfs_decoder_clear (&self->decoder);
  g_queue_clear (&self->arrived);
  psf_syncfs_decoder_init (&self->decoder, self->results,
                           (const char * const *) self->sent, n);

  header.magic = PSF_SYNCFS_INPUT_MAGIC;
  header.flags = self->sync_fallback ? PSF_SYNCFS_FLAG_SYNC_FALLBACK : 0;
  header.n_paths = n;

  psf_fork_process_set_report_bound (process,
                                     PSF_SYNCFS_REPORT_MAX_RECORDS (n) * sizeof (PsfSyncfsRecord));

  input = g_byte_array_new ();
  g_byte_array_append (input, (const guint8 *) &header, sizeof header);
  for (guint i = 0; i < n; i++)
    g_byte_array_append (input, (const guint8 *) self->resolved[i],
                         strlen (self->resolved[i]) + 1);

  return g_byte_array_free_to_bytes (input);
}

/* Emits ::path-done for the results that arrived, in the order their
 * records came. A handler may iterate the context, where the reap may
 * decode and emit the rest: each result leaves the queue before its
 * emission, so none is emitted twice or out of order, and all of them
 * before ::exited. */
static void
psf_syncfs_process_emit_arrived (PsfSyncfsProcess *self)
{
  if (g_queue_is_empty (&self->arrived))
    return;

  g_object_ref (self);
  /* About a running child: after ::started, as everything else. */
  psf_task_emit_started (PSF_TASK (self));
  while (!g_queue_is_empty (&self->arrived))
    {
      guint index = GPOINTER_TO_UINT (g_queue_pop_head (&self->arrived));
      g_autoptr(PsfSyncfsResult) result = g_object_ref (g_ptr_array_index (self->results, index));

      g_signal_emit (self, signals[PATH_DONE], 0, result);
    }
  g_object_unref (self);
}

/* Decodes the records not decoded yet, each once, tells of the plan (it
 * comes before most results) and emits their ::path-done (queued only when
 * someone listens). */
static void
psf_syncfs_process_decode (PsfSyncfsProcess *self,
                           const guint8     *report,
                           gsize             len)
{
  gboolean listened = g_signal_has_handler_pending (self, signals[PATH_DONE], 0, TRUE);

  psf_syncfs_decoder_feed (&self->decoder, report, len, listened ? &self->arrived : NULL);
  if (self->decoder.reader.n_filesystems >= 0 && self->n_filesystems < 0)
    {
      self->n_filesystems = (int) self->decoder.reader.n_filesystems;
      psf_task_emit_started (PSF_TASK (self));
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_FILESYSTEMS]);
    }
  psf_syncfs_process_emit_arrived (self);
}

static void
psf_syncfs_process_report_arrived (PsfForkProcess *process,
                                   const guint8   *report,
                                   gsize           len)
{
  psf_syncfs_process_decode (PSF_SYNCFS_PROCESS (process), report, len);
}

static void
psf_syncfs_process_report (PsfForkProcess *process,
                           GBytes         *report)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (process);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (report, &len);
  guint n = self->sent != NULL ? g_strv_length (self->sent) : 0;

  psf_syncfs_process_decode (self, data, len);
  if (self->decoder.reader.n_used != n)
    {
      g_debug ("syncfs child reported %u of %u paths (%" G_GSIZE_FORMAT " bytes)",
               self->decoder.reader.n_used, n, len);
      /* The routine sends a record for every path, whatever happened to
       * it: a path without one is unconfirmed, not synced. */
      psf_fork_process_report_incomplete (process);
    }
}

static void
psf_syncfs_process_check (PsfTask  *task,
                          GError  **error)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (task);
  PsfSyncfsResult *first = NULL;
  guint n_failed = 0;

  if (psf_task_get_returncode (task) == 1 &&
      !psf_subprocess_get_timed_out (PSF_SUBPROCESS (task)) &&
      !psf_task_get_cancelled (task))
    {
      for (guint i = 0; i < self->results->len; i++)
        {
          PsfSyncfsResult *result = g_ptr_array_index (self->results, i);

          if (psf_syncfs_result_get_status (result) == PSF_SYNCFS_STATUS_FAILED)
            {
              if (first == NULL)
                first = result;
              n_failed++;
            }
        }
    }

  if (first == NULL)
    {
      int rc = psf_task_get_returncode (task);
      guint n = self->sent != NULL ? g_strv_length (self->sent) : 0;

      if (rc > 0 && self->decoder.reader.failed_call == PSF_CHILD_FAILED_MMAP_INPUT)
        g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                     _("The helper could not map its input: mmap(fd %d): %s"),
                     PSF_CHILD_INPUT_FD, g_strerror (self->decoder.reader.failed_errno));
      else if (rc == PSF_CHILD_EXIT_REPORT && self->decoder.reader.n_used < n)
        g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                     g_dngettext (GETTEXT_PACKAGE,
                                  "The report of the child is incomplete: "
                                  "%u of %u path reported",
                                  "The report of the child is incomplete: "
                                  "%u of %u paths reported",
                                  n),
                     self->decoder.reader.n_used, n);
      else
        PSF_TASK_CLASS (psf_syncfs_process_parent_class)->check (task, error);
      return;
    }

  {
    g_autofree char *display = g_filename_display_name (psf_syncfs_result_get_path (first));
    const char *reason = g_strerror (psf_syncfs_result_get_errno (first));

    if (n_failed == 1)
      g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                   "syncfs(%s): %s", display, reason);
    else
      g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                   g_dngettext (GETTEXT_PACKAGE,
                                "syncfs(%s): %s (and %u more path failed)",
                                "syncfs(%s): %s (and %u more paths failed)",
                                n_failed - 1),
                   display, reason, n_failed - 1);
  }
}

static void
psf_syncfs_process_finalize (GObject *object)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (object);

  g_clear_pointer (&self->paths, g_strfreev);
  g_clear_pointer (&self->sent, g_strfreev);
  g_clear_pointer (&self->resolved, g_strfreev);
  psf_syncfs_decoder_clear (&self->decoder);
  g_queue_clear (&self->arrived);
  g_clear_pointer (&self->results, g_ptr_array_unref);

  G_OBJECT_CLASS (psf_syncfs_process_parent_class)->finalize (object);
}

static void
psf_syncfs_process_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (object);

  switch (prop_id)
    {
    case PROP_PATHS:
      g_value_set_boxed (value, self->paths);
      break;

    case PROP_SYNC_FALLBACK:
      g_value_set_boolean (value, self->sync_fallback);
      break;

    case PROP_N_FILESYSTEMS:
      g_value_set_int (value, self->n_filesystems);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_syncfs_process_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  PsfSyncfsProcess *self = PSF_SYNCFS_PROCESS (object);

  switch (prop_id)
    {
    case PROP_PATHS:
      psf_syncfs_process_set_paths (self, g_value_get_boxed (value));
      break;

    case PROP_SYNC_FALLBACK:
      psf_syncfs_process_set_sync_fallback (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_syncfs_process_class_init (PsfSyncfsProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PsfTaskClass *task_class = PSF_TASK_CLASS (klass);
  PsfForkProcessClass *fork_class = PSF_FORK_PROCESS_CLASS (klass);

  psf_i18n_init ();

  object_class->finalize = psf_syncfs_process_finalize;
  object_class->get_property = psf_syncfs_process_get_property;
  object_class->set_property = psf_syncfs_process_set_property;

  task_class->check = psf_syncfs_process_check;

  psf_fork_process_class_set_routine (fork_class, "syncfs", psf_syncfs_child_run);
  fork_class->prepare = psf_syncfs_process_prepare;
  fork_class->report = psf_syncfs_process_report;

  /**
   * PsfSyncfsProcess:paths: (type GStrv)
   *
   * The paths whose filesystems are synced (filenames: any bytes but NUL).
   *
   * Since: 1.0
   */
  properties[PROP_PATHS] =
    g_param_spec_boxed ("paths", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSyncfsProcess:sync-fallback:
   *
   * When syncfs() does not exist (`ENOSYS`), call sync() once instead and
   * succeed. sync() cannot report errors, so it never hides a syncfs() that
   * failed: that still gives returncode 1.
   *
   * Since: 1.0
   */
  properties[PROP_SYNC_FALLBACK] =
    g_param_spec_boolean ("sync-fallback", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSyncfsProcess:n-filesystems:
   *
   * How many filesystems the child syncs, one syncfs() each: the distinct
   * devices of the results that end %PSF_SYNCFS_STATUS_SYNCED or
   * %PSF_SYNCFS_STATUS_FAILED (past 4096 distinct filesystems in one task,
   * the child syncs a later one once per path, and each counts). The
   * child says it once it has looked at every path, before it syncs them
   * (before the last of them when there are more than 64), so a host can
   * show "2 of 3 filesystems synced" with
   * [signal@Psf.SyncfsProcess::path-done]. It is notified then, in the
   * task's context, after [signal@Psf.Task::started].
   *
   * -1 until then, and for a task whose child did not get that far
   * (cancelled, or a helper that could not read its input). Paths on one
   * filesystem count once; a path that was skipped (on `/proc`, or not
   * there) counts for nothing.
   *
   * Since: 1.0
   */
  properties[PROP_N_FILESYSTEMS] =
    g_param_spec_int ("n-filesystems", NULL, NULL,
                      -1, G_MAXINT, -1,
                      (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PsfSyncfsProcess::path-done:
   * @self: a #PsfSyncfsProcess
   * @result: what the child did with one of the paths
   *
   * Emitted in the task's context as the child's report on one path
   * arrives, while the child runs: once per path, after
   * [signal@Psf.Task::started] and before [signal@Psf.Task::exited]. @result
   * is the object [method@Psf.SyncfsProcess.get_results] gives for that
   * path once the task has exited.
   *
   * The child reports the path a filesystem was opened by
   * (%PSF_SYNCFS_STATUS_SYNCED or %PSF_SYNCFS_STATUS_FAILED) as soon as
   * that filesystem's syncfs() returns; a path it could not open
   * (%PSF_SYNCFS_STATUS_SKIPPED) before any of them, the other paths on a
   * filesystem (%PSF_SYNCFS_STATUS_DUPLICATE) once every filesystem is
   * done (those on a filesystem whose syncfs() failed are
   * %PSF_SYNCFS_STATUS_FAILED too). So the filesystems done so far are the
   * distinct devices ([method@Psf.SyncfsResult.get_device]) of the results
   * seen with %PSF_SYNCFS_STATUS_SYNCED or %PSF_SYNCFS_STATUS_FAILED, out
   * of [property@Psf.SyncfsProcess:n-filesystems]: a host shows "2 of 3
   * filesystems synced" while the third one is still flushed.
   * Distinct filesystems are synced at the same time (except with
   * %PSF_START_METHOD_FORK), so their results come in the order they
   * finish, not in the order of the paths.
   *
   * A path the child never reported (it was killed, or its report was
   * cut short) gets no emission: its result stays %PSF_SYNCFS_STATUS_SKIPPED
   * with errno 0 ("not reached").
   *
   * Since: 1.0
   */
  signals[PATH_DONE] =
    g_signal_new ("path-done",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, PSF_TYPE_SYNCFS_RESULT);
}

static void
psf_syncfs_process_init (PsfSyncfsProcess *self)
{
  self->results = g_ptr_array_new_with_free_func (g_object_unref);
  self->n_filesystems = -1;
  g_queue_init (&self->arrived);
  psf_fork_process_set_report_arrived (PSF_FORK_PROCESS (self),
                                       psf_syncfs_process_report_arrived);
  psf_fork_process_set_start_method (PSF_FORK_PROCESS (self),
                                     psf_fork_process_helper_start_method ());
}

/**
 * psf_syncfs_process_new:
 * @paths: (array zero-terminated=1) (element-type filename) (nullable): the
 *   paths whose filesystems to sync
 *
 * Creates a process that syncs the filesystems of @paths once started.
 *
 * Returns: (transfer full): a new #PsfSyncfsProcess
 *
 * Since: 1.0
 */
PsfSyncfsProcess *
psf_syncfs_process_new (const char * const *paths)
{
  return g_object_new (PSF_TYPE_SYNCFS_PROCESS, "paths", paths, NULL);
}

/**
 * psf_syncfs_process_get_paths:
 * @self: a #PsfSyncfsProcess
 *
 * Gets the paths whose filesystems the task syncs.
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename) (nullable):
 *   the [property@Psf.SyncfsProcess:paths]
 *
 * Since: 1.0
 */
const char * const *
psf_syncfs_process_get_paths (PsfSyncfsProcess *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_PROCESS (self), NULL);

  return (const char * const *) self->paths;
}

/**
 * psf_syncfs_process_set_paths:
 * @self: a #PsfSyncfsProcess
 * @paths: (array zero-terminated=1) (element-type filename) (nullable): the
 *   paths whose filesystems to sync
 *
 * Sets [property@Psf.SyncfsProcess:paths]. Takes effect at start(): a task
 * that runs keeps syncing, and reporting on, the paths it was started with
 * (its results are about those).
 *
 * Since: 1.0
 */
void
psf_syncfs_process_set_paths (PsfSyncfsProcess   *self,
                              const char * const *paths)
{
  g_return_if_fail (PSF_IS_SYNCFS_PROCESS (self));

  g_strfreev (self->paths);
  self->paths = g_strdupv ((char **) paths);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATHS]);
}

/**
 * psf_syncfs_process_set_paths_bytes:
 * @self: a #PsfSyncfsProcess
 * @paths: the paths whose filesystems to sync, as the bytes of their file
 *   names, each one ended by a NUL byte (the last one may also end at the
 *   end of @paths), as `find -print0` writes them
 * @error: return location for a #GError
 *
 * Sets [property@Psf.SyncfsProcess:paths] from bytes: the way for bindings
 * whose strings cannot hold every file name (in gjs a string is always
 * valid Unicode) to sync a path whose name is not UTF-8. In C,
 * psf_syncfs_process_set_paths() already takes any bytes.
 *
 * Fails with %PSF_ERROR_INVALID_ARGUMENT, and changes nothing, when a path
 * is empty (two NUL bytes in a row, or one at the start).
 *
 * Returns: %TRUE if the paths were set
 *
 * Since: 1.0
 */
gboolean
psf_syncfs_process_set_paths_bytes (PsfSyncfsProcess  *self,
                                    GBytes            *paths,
                                    GError           **error)
{
  g_autoptr(GPtrArray) strv = NULL;
  const char *data;
  gsize size = 0;
  gsize start = 0;

  g_return_val_if_fail (PSF_IS_SYNCFS_PROCESS (self), FALSE);
  g_return_val_if_fail (paths != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = g_bytes_get_data (paths, &size);
  strv = g_ptr_array_new_with_free_func (g_free);
  while (start < size)
    {
      const char *end = memchr (data + start, '\0', size - start);
      gsize len = end != NULL ? (gsize) (end - (data + start)) : size - start;

      if (len == 0)
        {
          g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                       _("Path %u is empty (a NUL byte where a file name should start)"),
                       strv->len + 1);
          return FALSE;
        }
      g_ptr_array_add (strv, g_strndup (data + start, len));
      start += len + 1;
    }
  g_ptr_array_add (strv, NULL);

  psf_syncfs_process_set_paths (self, (const char * const *) strv->pdata);
  return TRUE;
}

/**
 * psf_syncfs_process_get_sync_fallback:
 * @self: a #PsfSyncfsProcess
 *
 * Gets whether the child calls sync() when syncfs() is missing or failed.
 *
 * Returns: the [property@Psf.SyncfsProcess:sync-fallback] flag
 *
 * Since: 1.0
 */
gboolean
psf_syncfs_process_get_sync_fallback (PsfSyncfsProcess *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_PROCESS (self), FALSE);

  return self->sync_fallback;
}

/**
 * psf_syncfs_process_set_sync_fallback:
 * @self: a #PsfSyncfsProcess
 * @sync_fallback: whether to call sync() when syncfs() does not exist
 *
 * Sets [property@Psf.SyncfsProcess:sync-fallback].
 *
 * Since: 1.0
 */
void
psf_syncfs_process_set_sync_fallback (PsfSyncfsProcess *self,
                                      gboolean          sync_fallback)
{
  g_return_if_fail (PSF_IS_SYNCFS_PROCESS (self));

  sync_fallback = !!sync_fallback;
  if (self->sync_fallback == (guint) sync_fallback)
    return;
  self->sync_fallback = sync_fallback;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYNC_FALLBACK]);
}

/**
 * psf_syncfs_process_get_n_filesystems:
 * @self: a #PsfSyncfsProcess
 *
 * Gets how many filesystems the child syncs, as soon as it has said.
 *
 * Returns: the [property@Psf.SyncfsProcess:n-filesystems], or -1 while
 *   it is not known
 *
 * Since: 1.0
 */
int
psf_syncfs_process_get_n_filesystems (PsfSyncfsProcess *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_PROCESS (self), -1);

  return self->n_filesystems;
}

/**
 * psf_syncfs_process_get_results:
 * @self: a #PsfSyncfsProcess
 *
 * Gets one result per input path, in input order, once the task has
 * exited (from [signal@Psf.Task::exited] on); before that, an empty array
 * ([signal@Psf.SyncfsProcess::path-done] gives each result as it
 * arrives).
 *
 * The array is the caller's, the result objects belong to @self: take a
 * reference on those you keep after @self is gone.
 *
 * Returns: (transfer container) (element-type PsfSyncfsResult): the results
 *
 * Since: 1.0
 */
GPtrArray *
psf_syncfs_process_get_results (PsfSyncfsProcess *self)
{
  GPtrArray *copy;

  g_return_val_if_fail (PSF_IS_SYNCFS_PROCESS (self), NULL);

  /* The results of a running task fill in as its records arrive: none is
   * given before all of them are in. */
  if (psf_task_get_state (PSF_TASK (self)) != PSF_TASK_STATE_EXITED)
    return g_ptr_array_new ();

  copy = g_ptr_array_sized_new (self->results->len);
  for (guint i = 0; i < self->results->len; i++)
    g_ptr_array_add (copy, g_ptr_array_index (self->results, i));
  return copy;
}
