/* psf-task.c: PsfTask, the asynchronous task every psf process derives from
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* How a task runs
 * ===============
 *
 * A task moves NEW -> RUNNING -> EXITED and never back.
 *
 *  - psf_task_start() captures the thread-default main context of the
 *    caller: every signal, every source and every waiter completion of the
 *    task happens in that context, never synchronously inside start(),
 *    cancel() or a g_signal_connect(). start() then calls the class's
 *    ->start (for a subprocess: create the child, set up the child watch).
 *    If that fails the task stays NEW and nothing is emitted.
 *
 *  - ::started is emitted from an idle source (G_PRIORITY_DEFAULT, the
 *    priority of the child watch, so a quick child does not starve it).
 *    The child may already have exited when the context gets to run: the
 *    exit path (psf_task_return()) then emits ::started first, with the
 *    returncode still unset, and only then records the exit. So ::started
 *    always precedes ::exited and its handlers always see a running task,
 *    as Portage's start listeners do.
 *
 *  - The exit is recorded only by psf_task_return(), called in the task's
 *    context by the subclass once the child has been reaped and everything
 *    it wrote was read: returncode, state, notify, ::exited, then every
 *    waiter in the order it asked. Until then poll() and is_alive() report
 *    a running task even if the child is a zombie: nothing here reaps.
 *
 *  - Waiters are GTasks in a list guarded by a mutex (a waiter's
 *    GCancellable may fire in another thread). A waiter that is cancelled
 *    leaves the list and completes with G_IO_ERROR_CANCELLED from a
 *    GCancellableSource in its own context; the child is not touched.
 *
 *  - cancel() before start() marks the task: start() then creates nothing,
 *    the task goes straight to EXITED with PSF_RETURNCODE_CANCELLED and
 *    only ::exited is emitted, from an idle. cancel() while running calls
 *    the class's ->cancel (SIGTERM, then SIGKILL after a delay) and returns
 *    at once; the exit is observed as usual. cancel() after the exit only
 *    sets #PsfTask:cancelled.
 *
 * The sources (started idle, child watch, timers) each hold a reference on
 * the task, so a host may drop its last reference while the task runs: the
 * child is still reaped and the task is finalized after its exit.
 */

#include "config.h"

#include "psf-enums.h"
#include "psf-error.h"
#include "psf-fork-guard-private.h"
#include "psf-i18n-private.h"
#include "psf-task-private.h"

typedef struct
{
  PsfTaskState  state;
  int           returncode;

  guint         cancelled : 1;
  guint         background : 1;

  GCancellable *cancellable;
  gulong        cancellable_id;

  /* The cancellable's handler runs in any thread: it reads the context and
   * leaves a cancel request under this lock (see psf_task_start()). */
  GMutex        cancel_lock;
  gboolean      cancel_requested;

  GMainContext *context;
  guint         fork_generation;  /* of the process that started it */
  GSource      *started_source;
  GSource      *exited_source;

  GMutex        waiters_lock;
  GQueue        waiters;
} PsfTaskPrivate;

typedef struct
{
  GTask   *task;
  GSource *cancel_source;
  gboolean check;
} Waiter;

/* What the handler of #PsfTask:cancellable holds. The handler runs in
 * whatever thread cancels, possibly while the host drops its last
 * reference to the task in another: it reaches the task only through a
 * weak reference, and never holds the last reference of a task when it
 * returns unless dropping it is safe there (finalize only disconnects the
 * handler, which GSignal allows during an emission). */
typedef struct
{
  GWeakRef task;
} CancelLink;

enum {
  PROP_0,
  PROP_STATE,
  PROP_RETURNCODE,
  PROP_CANCELLED,
  PROP_BACKGROUND,
  PROP_CANCELLABLE,
  N_PROPS
};

enum {
  STARTED,
  EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (PsfTask, psf_task, G_TYPE_OBJECT)

/**
 * PsfTask:
 *
 * An asynchronous task: the base of every psf process, as Portage's
 * `AsynchronousTask` is the base of its process classes.
 *
 * A task is created in state %PSF_TASK_STATE_NEW. [method@Psf.Task.start]
 * creates its work and returns at once; the task is then
 * %PSF_TASK_STATE_RUNNING until its exit is observed in the main context
 * that was the thread-default one at start(), when it becomes
 * %PSF_TASK_STATE_EXITED and [property@Psf.Task:returncode] is set.
 *
 * [signal@Psf.Task::started] and [signal@Psf.Task::exited] are the start and
 * exit listeners. [method@Psf.Task.wait_async] waits without blocking,
 * [method@Psf.Task.wait] iterates the context until the exit,
 * [method@Psf.Task.poll] looks without waiting, and [method@Psf.Task.cancel]
 * stops the task.
 *
 * Since: 1.0
 */

static void
waiter_free (Waiter *waiter)
{
  if (waiter->cancel_source != NULL)
    {
      g_source_destroy (waiter->cancel_source);
      g_source_unref (waiter->cancel_source);
    }
  g_clear_object (&waiter->task);
  g_free (waiter);
}

static void
waiter_complete (PsfTask *self,
                 Waiter  *waiter)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  if (!waiter->check)
    {
      g_task_return_int (waiter->task, priv->returncode);
    }
  else if (priv->returncode == 0)
    {
      g_task_return_boolean (waiter->task, TRUE);
    }
  else
    {
      g_autoptr(GError) error = NULL;

      PSF_TASK_GET_CLASS (self)->check (self, &error);
      if (error == NULL)
        error = g_error_new (PSF_ERROR, PSF_ERROR_FAILED,
                             _("The task failed with returncode %d"),
                             priv->returncode);
      g_task_return_error (waiter->task, g_steal_pointer (&error));
    }

  waiter_free (waiter);
}

static void
psf_task_emit_exited (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  GQueue waiters = G_QUEUE_INIT;
  Waiter *waiter;

  g_signal_emit (self, signals[EXITED], 0, priv->returncode);

  g_mutex_lock (&priv->waiters_lock);
  waiters = priv->waiters;
  g_queue_init (&priv->waiters);
  g_mutex_unlock (&priv->waiters_lock);

  while ((waiter = g_queue_pop_head (&waiters)))
    waiter_complete (self, waiter);
}

void
psf_task_emit_started (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  if (priv->started_source == NULL)
    return;

  g_source_destroy (priv->started_source);
  g_clear_pointer (&priv->started_source, g_source_unref);
  g_signal_emit (self, signals[STARTED], 0);
}

static gboolean
psf_task_started_cb (gpointer data)
{
  psf_task_emit_started (PSF_TASK (data));
  return G_SOURCE_REMOVE;
}

static gboolean
psf_task_cancelled_exit_cb (gpointer data)
{
  PsfTask *self = data;
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_clear_pointer (&priv->exited_source, g_source_unref);
  psf_task_emit_exited (self);
  return G_SOURCE_REMOVE;
}

void
psf_task_attach_source (PsfTask *self,
                        GSource *source)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_assert (priv->context != NULL);
  g_source_attach (source, priv->context);
}

GSource *
psf_task_attach_with_ref (PsfTask     *self,
                          GSource     *source,
                          GSourceFunc  func,
                          const char  *name)
{
  g_source_set_callback (source, func, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, name);
  psf_task_attach_source (self, source);
  return source;
}

/* An idle source that calls @func with a reference on the task, at the
 * priority of the child watch; not attached yet. */
static GSource *
psf_task_idle_new (PsfTask     *self,
                   GSourceFunc  func,
                   const char  *name)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, name);
  return source;
}

static GSource *
psf_task_add_idle (PsfTask     *self,
                   GSourceFunc  func,
                   const char  *name)
{
  GSource *source = psf_task_idle_new (self, func, name);

  psf_task_attach_source (self, source);
  return source;
}

/**
 * psf_task_get_context:
 * @self: a #PsfTask
 *
 * Gets the main context the task runs in: the thread-default one when
 * [method@Psf.Task.start] was called. Its signals, its waiter callbacks and
 * the observation of its exit all happen when that context is iterated, by
 * a [struct@GLib.MainLoop], by [method@Psf.Task.wait] or by a
 * [class@Psf.LoopBridge].
 *
 * Returns: (transfer none) (nullable): the task's main context, or %NULL
 *   before start()
 *
 * Since: 1.0
 */
gboolean
psf_task_is_inherited (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  return priv->state != PSF_TASK_STATE_NEW &&
         priv->fork_generation != psf_fork_guard_generation ();
}

guint
psf_task_get_fork_generation (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  return priv->fork_generation;
}

void
psf_task_set_inherited_error (PsfTask  *self,
                              GError  **error)
{
  /* TRANSLATORS: %s is a type name, as in "PsfSyncfsProcess". */
  g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
               _("This %s was started by the process this one was forked from: "
                 "only that process can wait for it or signal its child"),
               G_OBJECT_TYPE_NAME (self));
}

GMainContext *
psf_task_get_context (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), NULL);

  return priv->context;
}

void
psf_task_return (PsfTask *self,
                 int      returncode)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_if_fail (PSF_IS_TASK (self));
  g_return_if_fail (priv->state == PSF_TASK_STATE_RUNNING);
  g_return_if_fail (returncode != PSF_RETURNCODE_NONE);

  g_object_ref (self);

  /* ::started must come first, and see the task still running. */
  psf_task_emit_started (self);

  priv->returncode = returncode;
  priv->state = PSF_TASK_STATE_EXITED;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETURNCODE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);

  psf_task_emit_exited (self);

  g_object_unref (self);
}

static gboolean
psf_task_real_start (PsfTask  *self,
                     GError  **error)
{
  g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
               _("%s cannot be started: it does not implement start()"),
               G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static void
psf_task_real_cancel (PsfTask *self)
{
}

/* Class closures of the signals: subclasses (and binding overrides such
 * as Python's do_exited) can chain up to them. */
static void
psf_task_real_started (PsfTask *self)
{
}

static void
psf_task_real_exited (PsfTask *self,
                      int      returncode)
{
}

static void
psf_task_real_check (PsfTask  *self,
                     GError  **error)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  int rc = priv->returncode;

  if (rc == PSF_RETURNCODE_CANCELLED || (priv->cancelled && rc < 0))
    g_set_error (error, PSF_ERROR, PSF_ERROR_CANCELLED,
                 _("The task was cancelled"));
  else if (rc < 0)
    g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                 _("The child process was killed by signal %d (%s)"),
                 -rc, g_strsignal (-rc));
  else
    g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                 _("The child process exited with status %d"), rc);
}

static void
psf_task_disconnect_cancellable (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  /* Not g_cancellable_disconnect(): it waits for a running handler, and
   * this may be called from inside one (the handler's reference was the
   * last). The handler cannot reach a task that is finalizing. */
  if (priv->cancellable_id != 0)
    g_signal_handler_disconnect (priv->cancellable, priv->cancellable_id);
  priv->cancellable_id = 0;
  g_clear_object (&priv->cancellable);
}

static void
psf_task_finalize (GObject *object)
{
  PsfTask *self = PSF_TASK (object);
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  psf_task_disconnect_cancellable (self);
  g_assert (priv->started_source == NULL);
  g_assert (priv->exited_source == NULL);
  g_assert (g_queue_is_empty (&priv->waiters));
  g_clear_pointer (&priv->context, g_main_context_unref);
  g_mutex_clear (&priv->waiters_lock);
  g_mutex_clear (&priv->cancel_lock);

  G_OBJECT_CLASS (psf_task_parent_class)->finalize (object);
}

static void
psf_task_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  PsfTask *self = PSF_TASK (object);
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, priv->state);
      break;

    case PROP_RETURNCODE:
      g_value_set_int (value, priv->returncode);
      break;

    case PROP_CANCELLED:
      g_value_set_boolean (value, psf_task_get_cancelled (self));
      break;

    case PROP_BACKGROUND:
      g_value_set_boolean (value, priv->background);
      break;

    case PROP_CANCELLABLE:
      g_value_set_object (value, priv->cancellable);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_task_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  PsfTask *self = PSF_TASK (object);

  switch (prop_id)
    {
    case PROP_BACKGROUND:
      psf_task_set_background (self, g_value_get_boolean (value));
      break;

    case PROP_CANCELLABLE:
      psf_task_set_cancellable (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_task_class_init (PsfTaskClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  psf_i18n_init ();
  psf_fork_guard_init ();

  object_class->finalize = psf_task_finalize;
  object_class->get_property = psf_task_get_property;
  object_class->set_property = psf_task_set_property;

  klass->start = psf_task_real_start;
  klass->cancel = psf_task_real_cancel;
  klass->check = psf_task_real_check;
  klass->started = psf_task_real_started;
  klass->exited = psf_task_real_exited;

  /**
   * PsfTask:state:
   *
   * Where the task is in its lifecycle.
   *
   * Since: 1.0
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       PSF_TYPE_TASK_STATE,
                       PSF_TASK_STATE_NEW,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfTask:returncode:
   *
   * %PSF_RETURNCODE_NONE until the exit is observed; then the child's exit
   * status, -N if a signal N killed it, or %PSF_RETURNCODE_CANCELLED if the
   * task was cancelled before it started.
   *
   * Since: 1.0
   */
  properties[PROP_RETURNCODE] =
    g_param_spec_int ("returncode", NULL, NULL,
                      G_MININT, G_MAXINT, PSF_RETURNCODE_NONE,
                      (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfTask:cancelled:
   *
   * Whether [method@Psf.Task.cancel] was called. Never reset.
   *
   * Since: 1.0
   */
  properties[PROP_CANCELLED] =
    g_param_spec_boolean ("cancelled", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfTask:background:
   *
   * A background task does not copy its output to the host's stdout
   * (Portage's `background`).
   *
   * Since: 1.0
   */
  properties[PROP_BACKGROUND] =
    g_param_spec_boolean ("background", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfTask:cancellable:
   *
   * A #GCancellable whose cancellation cancels the task, as
   * [method@Psf.Task.cancel] does. It may be cancelled from any thread,
   * even while the task is being finalized in another. A running task acts
   * on it in its own context; a task not yet started is marked at once
   * (#PsfTask:cancelled reads %TRUE) and start() then creates nothing.
   *
   * Since: 1.0
   */
  properties[PROP_CANCELLABLE] =
    g_param_spec_object ("cancellable", NULL, NULL,
                         G_TYPE_CANCELLABLE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PsfTask::started:
   * @self: the task
   *
   * The start listener: emitted once, from the task's main context, after
   * psf_task_start() has returned. [property@Psf.Subprocess:pid] is set and
   * the returncode is still unset, even if the child has already exited.
   * Not emitted for a task cancelled before it started.
   *
   * Since: 1.0
   */
  signals[STARTED] =
    g_signal_new ("started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (PsfTaskClass, started),
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 0);

  /**
   * PsfTask::exited:
   * @self: the task
   * @returncode: the task's returncode
   *
   * The exit listener: emitted once, from the task's main context, when the
   * exit has been observed; [property@Psf.Task:returncode] is already set.
   * Always after [signal@Psf.Task::started].
   *
   * Since: 1.0
   */
  signals[EXITED] =
    g_signal_new ("exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (PsfTaskClass, exited),
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
psf_task_init (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  priv->state = PSF_TASK_STATE_NEW;
  priv->returncode = PSF_RETURNCODE_NONE;
  g_mutex_init (&priv->waiters_lock);
  g_mutex_init (&priv->cancel_lock);
  g_queue_init (&priv->waiters);
}

/**
 * psf_task_start:
 * @self: a #PsfTask
 * @error: return location for a #GError
 *
 * Starts the task: creates the child synchronously and returns at once.
 * The thread-default main context of the caller becomes the task's
 * context; signals and completions happen there.
 *
 * If the child cannot be created (a missing program or helper, too many
 * open files, too many processes), returns %FALSE with @error set and the
 * task stays %PSF_TASK_STATE_NEW. A task cancelled before it started
 * creates nothing: it ends at once with %PSF_RETURNCODE_CANCELLED.
 *
 * Returns: %TRUE if the task was started
 *
 * Since: 1.0
 */
gboolean
psf_task_start (PsfTask  *self,
                GError  **error)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  gboolean cancel_requested;

  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->state != PSF_TASK_STATE_NEW)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("The task was already started"));
      return FALSE;
    }

  /* A cancellable may have fired in another thread before now: it left a
   * request, since there was no context yet to cancel in. From here on it
   * cancels in the context instead. */
  g_mutex_lock (&priv->cancel_lock);
  priv->context = g_main_context_ref_thread_default ();
  priv->fork_generation = psf_fork_guard_generation ();
  cancel_requested = priv->cancel_requested;
  g_mutex_unlock (&priv->cancel_lock);

  if (cancel_requested && !priv->cancelled)
    {
      priv->cancelled = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLED]);
    }

  if (priv->cancelled)
    {
      priv->returncode = PSF_RETURNCODE_CANCELLED;
      priv->state = PSF_TASK_STATE_EXITED;
      priv->exited_source = psf_task_add_idle (self, psf_task_cancelled_exit_cb,
                                               "[psf] cancelled before start");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETURNCODE]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
      return TRUE;
    }

  if (!PSF_TASK_GET_CLASS (self)->start (self, error))
    {
      g_mutex_lock (&priv->cancel_lock);
      g_clear_pointer (&priv->context, g_main_context_unref);
      g_mutex_unlock (&priv->cancel_lock);
      return FALSE;
    }

  /* The exit may already be recorded if the subclass had nothing to run. */
  if (priv->state == PSF_TASK_STATE_NEW)
    {
      priv->state = PSF_TASK_STATE_RUNNING;
      priv->started_source = psf_task_add_idle (self, psf_task_started_cb,
                                                "[psf] started");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);

      /* Cancelled from inside ->start (a notify handler, say): the child
       * exists now, so it can be told. */
      if (priv->cancelled)
        PSF_TASK_GET_CLASS (self)->cancel (self);
    }

  return TRUE;
}

/**
 * psf_task_cancel:
 * @self: a #PsfTask
 *
 * Cancels the task. It never blocks, and a second call does nothing.
 *
 * While the task runs, the child is asked to stop (a subprocess gets
 * SIGTERM, then SIGKILL after [property@Psf.Subprocess:cancel-timeout]);
 * the exit is observed later, as usual. Before start(), the task is marked
 * so that start() runs nothing. After the exit, only
 * [property@Psf.Task:cancelled] changes.
 *
 * Since: 1.0
 */
void
psf_task_cancel (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_if_fail (PSF_IS_TASK (self));

  if (priv->cancelled)
    return;

  /* A fork's copy of a running task: its child is not ours to stop. */
  if (psf_task_is_inherited (self))
    return;

  priv->cancelled = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLED]);

  if (priv->state == PSF_TASK_STATE_RUNNING)
    PSF_TASK_GET_CLASS (self)->cancel (self);
}

/**
 * psf_task_poll:
 * @self: a #PsfTask
 * @returncode: (out) (optional): the returncode, or %PSF_RETURNCODE_NONE
 *
 * Tells whether the exit has been observed, without waiting. It never
 * reaps: a child that has exited is reported only once the task's main
 * context has run.
 *
 * Returns: %TRUE if the task has exited
 *
 * Since: 1.0
 */
gboolean
psf_task_poll (PsfTask *self,
               int     *returncode)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);

  if (returncode != NULL)
    *returncode = priv->returncode;
  return priv->state == PSF_TASK_STATE_EXITED;
}

/**
 * psf_task_is_alive:
 * @self: a #PsfTask
 *
 * Tells whether the task runs, as Portage's `isAlive()` does.
 *
 * Returns: %TRUE between start() and the observed exit; %FALSE before
 *   start() and after the exit
 *
 * Since: 1.0
 */
gboolean
psf_task_is_alive (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);

  return priv->state == PSF_TASK_STATE_RUNNING;
}

/**
 * psf_task_wait:
 * @self: a #PsfTask
 * @error: return location for a #GError
 *
 * Waits synchronously for the exit. An exited task returns its returncode
 * at once. A running one iterates its main context until the exit.
 *
 * Fails with %PSF_ERROR_INVALID_STATE when the task was never started, or
 * when called from inside a dispatch of the task's own context (a signal
 * handler or callback) while the task runs: iterating there would recurse
 * into the loop (Portage raises InvalidStateError in the same place). Use
 * [method@Psf.Task.wait_async] there.
 *
 * Returns: the returncode, or %PSF_RETURNCODE_NONE with @error set
 *
 * Since: 1.0
 */
int
psf_task_wait (PsfTask  *self,
               GError  **error)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), PSF_RETURNCODE_NONE);

  if (priv->state == PSF_TASK_STATE_EXITED)
    return priv->returncode;

  if (priv->state == PSF_TASK_STATE_NEW)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("Cannot wait for a task that was not started"));
      return PSF_RETURNCODE_NONE;
    }

  if (psf_task_is_inherited (self))
    {
      psf_task_set_inherited_error (self, error);
      return PSF_RETURNCODE_NONE;
    }

  if (g_main_depth () > 0 && g_main_context_is_owner (priv->context))
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("The result is not ready: wait() was called from inside "
                     "the running main loop of the task's context"));
      return PSF_RETURNCODE_NONE;
    }

  if (!g_main_context_acquire (priv->context))
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("Cannot wait: the task's main context is owned by another thread"));
      return PSF_RETURNCODE_NONE;
    }

  g_object_ref (self);
  while (priv->state != PSF_TASK_STATE_EXITED)
    g_main_context_iteration (priv->context, TRUE);
  g_main_context_release (priv->context);
  g_object_unref (self);

  return priv->returncode;
}

static gboolean
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      data)
{
  GTask *task = data;
  PsfTask *self = g_task_get_source_object (task);
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  Waiter *waiter = NULL;

  g_mutex_lock (&priv->waiters_lock);
  for (GList *l = priv->waiters.head; l != NULL; l = l->next)
    {
      Waiter *w = l->data;

      if (w->task == task)
        {
          waiter = w;
          g_queue_delete_link (&priv->waiters, l);
          break;
        }
    }
  g_mutex_unlock (&priv->waiters_lock);

  if (waiter != NULL)
    {
      g_object_ref (task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("The wait was cancelled"));
      waiter_free (waiter);
      g_object_unref (task);
    }

  return G_SOURCE_REMOVE;
}

static void
psf_task_add_waiter (PsfTask             *self,
                     gboolean             check,
                     gpointer             source_tag,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  g_autoptr(GTask) task = NULL;
  Waiter *waiter;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (priv->state == PSF_TASK_STATE_RUNNING && psf_task_is_inherited (self))
    {
      GError *error = NULL;

      psf_task_set_inherited_error (self, &error);
      g_task_return_error (task, error);
      return;
    }

  waiter = g_new0 (Waiter, 1);
  waiter->task = g_object_ref (task);
  waiter->check = check;

  if (priv->state == PSF_TASK_STATE_EXITED && priv->exited_source == NULL)
    {
      /* GTask defers this to the next iteration: never synchronous. */
      waiter_complete (self, waiter);
      return;
    }

  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancel_source,
                             G_SOURCE_FUNC (waiter_cancelled_cb),
                             task, NULL);
      g_source_set_static_name (waiter->cancel_source, "[psf] wait cancelled");
      g_source_attach (waiter->cancel_source, g_task_get_context (task));
    }

  g_mutex_lock (&priv->waiters_lock);
  g_queue_push_tail (&priv->waiters, waiter);
  g_mutex_unlock (&priv->waiters_lock);
}

/**
 * psf_task_wait_async:
 * @self: a #PsfTask
 * @cancellable: (nullable): a #GCancellable for this wait only
 * @callback: (scope async): called when the task has exited
 * @user_data: (closure callback): data for @callback
 *
 * Waits for the exit without blocking. Any number of waits may be pending;
 * one made before start() completes after the exit, one made after the
 * exit completes on the next iteration of the calling thread's
 * thread-default main context.
 *
 * Cancelling @cancellable completes this wait with %G_IO_ERROR_CANCELLED
 * and leaves the task and its child alone.
 *
 * Since: 1.0
 */
void
psf_task_wait_async (PsfTask             *self,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (PSF_IS_TASK (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  psf_task_add_waiter (self, FALSE, psf_task_wait_async,
                       cancellable, callback, user_data);
}

/**
 * psf_task_wait_finish:
 * @self: a #PsfTask
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes psf_task_wait_async().
 *
 * Returns: the returncode, or %PSF_RETURNCODE_NONE with @error set when the
 *   wait was cancelled
 *
 * Since: 1.0
 */
int
psf_task_wait_finish (PsfTask       *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  GError *local_error = NULL;
  gssize rc;

  g_return_val_if_fail (PSF_IS_TASK (self), PSF_RETURNCODE_NONE);
  g_return_val_if_fail (g_task_is_valid (result, self), PSF_RETURNCODE_NONE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == psf_task_wait_async,
                        PSF_RETURNCODE_NONE);

  rc = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return PSF_RETURNCODE_NONE;
    }
  return (int) rc;
}

/**
 * psf_task_wait_check_async:
 * @self: a #PsfTask
 * @cancellable: (nullable): a #GCancellable for this wait only
 * @callback: (scope async): called when the task has exited
 * @user_data: (closure callback): data for @callback
 *
 * Like psf_task_wait_async(), but psf_task_wait_check_finish() also fails
 * when the task did not succeed.
 *
 * Since: 1.0
 */
void
psf_task_wait_check_async (PsfTask             *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (PSF_IS_TASK (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  psf_task_add_waiter (self, TRUE, psf_task_wait_check_async,
                       cancellable, callback, user_data);
}

/**
 * psf_task_wait_check_finish:
 * @self: a #PsfTask
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes psf_task_wait_check_async(). Fails with %PSF_ERROR_TIMED_OUT
 * when the timeout expired, %PSF_ERROR_CANCELLED when the task was
 * cancelled, and %PSF_ERROR_FAILED for any other non-zero returncode, with
 * a message that says what failed (for a #PsfSyncfsProcess: the path and
 * the errno text).
 *
 * Returns: %TRUE if the task exited with returncode 0
 *
 * Since: 1.0
 */
gboolean
psf_task_wait_check_finish (PsfTask       *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == psf_task_wait_check_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * psf_task_get_state:
 * @self: a #PsfTask
 *
 * Gets where the task is in its life: new, running or exited.
 *
 * Returns: the task's [property@Psf.Task:state]
 *
 * Since: 1.0
 */
PsfTaskState
psf_task_get_state (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), PSF_TASK_STATE_NEW);

  return priv->state;
}

/**
 * psf_task_get_returncode:
 * @self: a #PsfTask
 *
 * Gets the task's returncode: the child's exit status, or -N when signal N killed it.
 *
 * Returns: the [property@Psf.Task:returncode], %PSF_RETURNCODE_NONE until
 *   the exit
 *
 * Since: 1.0
 */
int
psf_task_get_returncode (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), PSF_RETURNCODE_NONE);

  return priv->returncode;
}

/**
 * psf_task_get_cancelled:
 * @self: a #PsfTask
 *
 * Gets whether psf_task_cancel() was called (directly, through the task's cancellable or by its timeout).
 *
 * Returns: whether the task was cancelled
 *
 * Since: 1.0
 */
gboolean
psf_task_get_cancelled (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  gboolean requested;

  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);

  if (priv->cancelled || priv->state != PSF_TASK_STATE_NEW)
    return priv->cancelled;

  /* Cancelled through the cancellable before start(), maybe elsewhere. */
  g_mutex_lock (&priv->cancel_lock);
  requested = priv->cancel_requested;
  g_mutex_unlock (&priv->cancel_lock);
  return requested;
}

/**
 * psf_task_get_background:
 * @self: a #PsfTask
 *
 * Gets whether the task keeps its output off the host's stdout.
 *
 * Returns: the [property@Psf.Task:background] flag
 *
 * Since: 1.0
 */
gboolean
psf_task_get_background (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), FALSE);

  return priv->background;
}

/**
 * psf_task_set_background:
 * @self: a #PsfTask
 * @background: whether the task runs in the background
 *
 * Sets [property@Psf.Task:background]. Takes effect at start().
 *
 * Since: 1.0
 */
void
psf_task_set_background (PsfTask  *self,
                         gboolean  background)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_if_fail (PSF_IS_TASK (self));

  background = !!background;
  if (priv->background == (guint) background)
    return;
  priv->background = background;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKGROUND]);
}

/**
 * psf_task_get_cancellable:
 * @self: a #PsfTask
 *
 * Gets the #GCancellable whose cancellation cancels the task.
 *
 * Returns: (transfer none) (nullable): the [property@Psf.Task:cancellable]
 *
 * Since: 1.0
 */
GCancellable *
psf_task_get_cancellable (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_TASK (self), NULL);

  return priv->cancellable;
}

static gboolean
psf_task_cancel_in_context_cb (gpointer data)
{
  psf_task_cancel (PSF_TASK (data));
  return G_SOURCE_REMOVE;
}

static void
cancel_link_free (gpointer  data,
                  GClosure *closure)
{
  CancelLink *link = data;

  g_weak_ref_clear (&link->task);
  g_free (link);
}

/* The task's cancellable fired, in any thread. Before start() there is no
 * context to act in: it leaves a request that start() honours. After, the
 * task is cancelled in its context: here if this thread owns it, else from
 * an idle there (not g_main_context_invoke(), which would acquire an
 * unowned context from this thread and race the task's own). */
static void
psf_task_cancel_requested (PsfTask *self)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);
  g_autoptr(GMainContext) context = NULL;

  g_mutex_lock (&priv->cancel_lock);
  priv->cancel_requested = TRUE;
  if (priv->context != NULL)
    context = g_main_context_ref (priv->context);
  g_mutex_unlock (&priv->cancel_lock);

  if (context == NULL)
    return;
  if (g_main_context_is_owner (context))
    psf_task_cancel (self);
  else
    {
      g_autoptr(GSource) source = psf_task_idle_new (self, psf_task_cancel_in_context_cb,
                                                     "[psf] cancellable");

      g_source_attach (source, context);
    }
}

static void
psf_task_cancellable_cancelled_cb (GCancellable *cancellable,
                                   gpointer      data)
{
  CancelLink *link = data;
  g_autoptr(PsfTask) self = g_weak_ref_get (&link->task);

  /* NULL: finalizing in another thread. */
  if (self != NULL)
    psf_task_cancel_requested (self);
}

/**
 * psf_task_set_cancellable:
 * @self: a #PsfTask
 * @cancellable: (nullable): a #GCancellable
 *
 * Sets [property@Psf.Task:cancellable]. If it is already cancelled, the task
 * is cancelled now.
 *
 * Since: 1.0
 */
void
psf_task_set_cancellable (PsfTask      *self,
                          GCancellable *cancellable)
{
  PsfTaskPrivate *priv = psf_task_get_instance_private (self);

  g_return_if_fail (PSF_IS_TASK (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  if (priv->cancellable == cancellable)
    return;

  psf_task_disconnect_cancellable (self);

  if (cancellable != NULL)
    {
      CancelLink *link = g_new0 (CancelLink, 1);

      g_weak_ref_init (&link->task, self);
      priv->cancellable = g_object_ref (cancellable);
      priv->cancellable_id =
        g_signal_connect_data (cancellable, "cancelled",
                               G_CALLBACK (psf_task_cancellable_cancelled_cb),
                               link, cancel_link_free, 0);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLABLE]);

  /* Connected first, so that a cancel racing with this call is seen at
   * least once (twice does no harm). */
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    psf_task_cancel_requested (self);
}
