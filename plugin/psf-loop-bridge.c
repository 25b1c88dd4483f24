/* psf-loop-bridge.c: PsfLoopBridge, a GMainContext driven by another loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* How the bridge works
 * ====================
 *
 * A task does all its work in the main context that was the thread-default
 * one at start(). A host whose thread runs some other event loop (asyncio,
 * libuv, Qt) never iterates that context, so the task would never be seen
 * to exit. The bridge splits one g_main_context_iteration() in two halves
 * that such a loop can call from its own callbacks:
 *
 *  - prepare(): g_main_context_prepare() + g_main_context_query(). The file
 *    descriptors and their events are kept here for get_fd() and
 *    get_events(); the return value is the time the foreign loop may sleep
 *    (-1: until an fd is ready, 0: call dispatch() right away).
 *
 *  - dispatch(): g_main_context_check() with the revents the foreign loop
 *    saw (or, when it passes none, with a poll() of the kept fds that does
 *    not wait), then g_main_context_dispatch() if anything is ready.
 *
 * The context is acquired from prepare() to dispatch(): while the foreign
 * loop waits, its thread owns the context, as a thread in a GMainLoop does.
 * That matters: GLib signals the context's wakeup fd (which is among the
 * fds) for a source attached from another thread only when the context
 * has an owner, so a GCancellable fired in another thread wakes the
 * foreign loop only this way. Acquiring is recursive, so a blocking
 * psf_task_wait() in the same thread still works in between. If the
 * context changed its sources in between, g_main_context_check() says so
 * and nothing is dispatched; the next prepare() picks the change up. A
 * dispatch() without a prepare() before it is one non-blocking iteration.
 */

#include "config.h"

#include <errno.h>

#include "psf-error.h"
#include "psf-i18n-private.h"
#include "psf-loop-bridge.h"

struct _PsfLoopBridge
{
  GObject       parent_instance;

  GMainContext *context;

  GPollFD      *fds;
  guint         n_fds;
  guint         fds_size;
  int           max_priority;
  gboolean      prepared;
  gboolean      acquired;       /* from prepare() to dispatch() */
};

enum {
  PROP_0,
  PROP_CONTEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PsfLoopBridge, psf_loop_bridge, G_TYPE_OBJECT)

/**
 * PsfLoopBridge:
 *
 * Drives a [struct@GLib.MainContext] from an event loop that is not GLib's:
 * asyncio, libuv, Qt, or a hand-written poll() loop.
 *
 * Every [class@Psf.Task] runs in the main context that was the
 * thread-default one when it was started. Give a task (or a group of tasks)
 * the bridge's context with [method@Psf.LoopBridge.start_task], then let the
 * foreign loop run the context in two steps:
 *
 * 1. call [method@Psf.LoopBridge.prepare]: it returns the longest time in
 *    milliseconds the loop may sleep (-1 for no limit, 0 for "dispatch now")
 *    and keeps the list of file descriptors to watch, read with
 *    [method@Psf.LoopBridge.get_n_fds], [method@Psf.LoopBridge.get_fd] and
 *    [method@Psf.LoopBridge.get_events] (%G_IO_IN: wait until readable,
 *    %G_IO_OUT: until writable);
 * 2. when one of those fds is ready or the time is up, call
 *    [method@Psf.LoopBridge.dispatch], with the events seen per fd if the
 *    loop reports them, or without (the bridge then looks at the fds itself,
 *    without waiting); then go back to step 1.
 *
 * In asyncio that is `add_reader()`/`add_writer()` for the fds and
 * `call_later()` for the timeout; in libuv a `uv_poll_t` per fd and a
 * `uv_timer_t`; in Qt a `QSocketNotifier` per fd and a single-shot `QTimer`.
 * The list of fds can change after any dispatch, so compare it after each
 * prepare. The context's own wakeup fd is always in the list: work queued
 * from other threads wakes the foreign loop.
 *
 * A bridge is used from one thread. From prepare() to dispatch() that thread
 * owns the context (see g_main_context_acquire()), as a thread running a
 * [struct@GLib.MainLoop] does: that is what lets work queued from other
 * threads wake the foreign loop. [method@Psf.Task.wait] still works in that
 * thread in between; another thread cannot run the context until the next
 * dispatch() (or until the bridge is dropped, in its thread).
 *
 * One thread may drive several contexts with several bridges. GLib wakes a
 * context for new work only when another thread owns it, so work that one
 * dispatch queues in another context of the same thread (a waiter's
 * callback for a task of another context, say) does not wake the loop by
 * itself: after a dispatch() that returned %TRUE, dispatch the thread's
 * other bridges too (a dispatch with nothing ready does nothing).
 *
 * ```c
 * g_autoptr(PsfLoopBridge) bridge = psf_loop_bridge_new (NULL);
 *
 * if (!psf_loop_bridge_start_task (bridge, task, &error))
 *   return FALSE;
 * while (psf_task_get_state (task) != PSF_TASK_STATE_EXITED)
 *   {
 *     int timeout = psf_loop_bridge_prepare (bridge, &error);
 *
 *     // ...hand the fds and the timeout to the foreign loop; once it
 *     // reports one of them ready or the timeout passed:
 *     psf_loop_bridge_dispatch (bridge, NULL, 0, &error);
 *   }
 * ```
 *
 * Since: 1.0
 */

static void
psf_loop_bridge_constructed (GObject *object)
{
  PsfLoopBridge *self = PSF_LOOP_BRIDGE (object);

  G_OBJECT_CLASS (psf_loop_bridge_parent_class)->constructed (object);

  if (self->context == NULL)
    self->context = g_main_context_new ();
}

static void
psf_loop_bridge_finalize (GObject *object)
{
  PsfLoopBridge *self = PSF_LOOP_BRIDGE (object);

  if (self->acquired)
    g_main_context_release (self->context);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->fds, g_free);

  G_OBJECT_CLASS (psf_loop_bridge_parent_class)->finalize (object);
}

static void
psf_loop_bridge_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PsfLoopBridge *self = PSF_LOOP_BRIDGE (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_loop_bridge_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  PsfLoopBridge *self = PSF_LOOP_BRIDGE (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_loop_bridge_class_init (PsfLoopBridgeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = psf_loop_bridge_constructed;
  object_class->finalize = psf_loop_bridge_finalize;
  object_class->get_property = psf_loop_bridge_get_property;
  object_class->set_property = psf_loop_bridge_set_property;

  /**
   * PsfLoopBridge:context:
   *
   * The main context the bridge drives. When none is given at
   * construction, the bridge makes a new one of its own.
   *
   * Since: 1.0
   */
  properties[PROP_CONTEXT] =
    g_param_spec_boxed ("context", NULL, NULL,
                        G_TYPE_MAIN_CONTEXT,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
psf_loop_bridge_init (PsfLoopBridge *self)
{
  self->max_priority = G_PRIORITY_DEFAULT;
}

static gboolean
psf_loop_bridge_acquire (PsfLoopBridge  *self,
                         GError        **error)
{
  if (g_main_context_acquire (self->context))
    return TRUE;

  g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
               _("The bridge's main context is owned by another thread"));
  return FALSE;
}

/**
 * psf_loop_bridge_new:
 * @context: (nullable): the main context to drive, or %NULL for a new one
 *
 * Creates a bridge that lets another event loop drive @context.
 *
 * Returns: (transfer full): a new #PsfLoopBridge
 *
 * Since: 1.0
 */
PsfLoopBridge *
psf_loop_bridge_new (GMainContext *context)
{
  return g_object_new (PSF_TYPE_LOOP_BRIDGE, "context", context, NULL);
}

/**
 * psf_loop_bridge_get_context:
 * @self: a #PsfLoopBridge
 *
 * Gets the main context the bridge drives.
 *
 * Returns: (transfer none): the [property@Psf.LoopBridge:context]
 *
 * Since: 1.0
 */
GMainContext *
psf_loop_bridge_get_context (PsfLoopBridge *self)
{
  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), NULL);

  return self->context;
}

/**
 * psf_loop_bridge_start_task:
 * @self: a #PsfLoopBridge
 * @task: a #PsfTask that was not started yet
 * @error: return location for a #GError
 *
 * Starts @task with the bridge's context as the thread-default one, so that
 * everything the task does later happens when the bridge dispatches. It is
 * [method@Psf.Task.start] between g_main_context_push_thread_default() and
 * g_main_context_pop_thread_default().
 *
 * Fails with %PSF_ERROR_INVALID_STATE when another thread owns the context,
 * or with whatever [method@Psf.Task.start] fails with.
 *
 * Returns: %TRUE if the task was started
 *
 * Since: 1.0
 */
gboolean
psf_loop_bridge_start_task (PsfLoopBridge  *self,
                            PsfTask        *task,
                            GError        **error)
{
  gboolean started;

  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), FALSE);
  g_return_val_if_fail (PSF_IS_TASK (task), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!psf_loop_bridge_acquire (self, error))
    return FALSE;

  g_main_context_push_thread_default (self->context);
  started = psf_task_start (task, error);
  g_main_context_pop_thread_default (self->context);
  g_main_context_release (self->context);

  return started;
}

/**
 * psf_loop_bridge_prepare:
 * @self: a #PsfLoopBridge
 * @error: return location for a #GError
 *
 * The first half of a main context iteration: acquires the context (until
 * the next [method@Psf.LoopBridge.dispatch]), prepares its sources and
 * collects the file descriptors to watch until then. Read them with
 * [method@Psf.LoopBridge.get_n_fds], [method@Psf.LoopBridge.get_fd] and
 * [method@Psf.LoopBridge.get_events].
 *
 * Fails with %PSF_ERROR_INVALID_STATE when another thread owns the context.
 *
 * Returns: how long the foreign loop may wait for the fds, in milliseconds:
 *   -1 for as long as it likes, 0 when a source is ready now (call
 *   dispatch() without waiting); -1 with @error set on failure
 *
 * Since: 1.0
 */
int
psf_loop_bridge_prepare (PsfLoopBridge  *self,
                         GError        **error)
{
  gboolean ready;
  int timeout = -1;
  int n;

  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (!self->acquired)
    {
      if (!psf_loop_bridge_acquire (self, error))
        return -1;
      self->acquired = TRUE;
    }

  ready = g_main_context_prepare (self->context, &self->max_priority);
  while ((n = g_main_context_query (self->context, self->max_priority, &timeout,
                                    self->fds, self->fds_size)) > (int) self->fds_size)
    {
      g_free (self->fds);
      self->fds_size = n;
      self->fds = g_new0 (GPollFD, self->fds_size);
    }
  self->n_fds = n;
  self->prepared = TRUE;

  return ready ? 0 : timeout;
}

/**
 * psf_loop_bridge_get_n_fds:
 * @self: a #PsfLoopBridge
 *
 * Gets how many file descriptors the last [method@Psf.LoopBridge.prepare]
 * asked to watch.
 *
 * Returns: the number of fds, 0 before the first prepare()
 *
 * Since: 1.0
 */
guint
psf_loop_bridge_get_n_fds (PsfLoopBridge *self)
{
  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), 0);

  return self->n_fds;
}

/**
 * psf_loop_bridge_get_fd:
 * @self: a #PsfLoopBridge
 * @index: an index below [method@Psf.LoopBridge.get_n_fds]
 *
 * Gets a file descriptor to watch. The same fd may appear more than once,
 * with different events.
 *
 * Returns: the file descriptor, or -1 when @index is out of range
 *
 * Since: 1.0
 */
int
psf_loop_bridge_get_fd (PsfLoopBridge *self,
                        guint          index)
{
  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), -1);
  g_return_val_if_fail (index < self->n_fds, -1);

  return self->fds[index].fd;
}

/**
 * psf_loop_bridge_get_events:
 * @self: a #PsfLoopBridge
 * @index: an index below [method@Psf.LoopBridge.get_n_fds]
 *
 * Gets what to watch the fd at @index for: %G_IO_IN (readable), %G_IO_OUT
 * (writable), %G_IO_PRI; errors and hang-ups are always of interest.
 *
 * Returns: the events, 0 when @index is out of range
 *
 * Since: 1.0
 */
GIOCondition
psf_loop_bridge_get_events (PsfLoopBridge *self,
                            guint          index)
{
  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), 0);
  g_return_val_if_fail (index < self->n_fds, 0);

  return self->fds[index].events;
}

/**
 * psf_loop_bridge_dispatch:
 * @self: a #PsfLoopBridge
 * @revents: (array length=n_revents) (nullable): the events the foreign loop
 *   saw on each fd of the last prepare(), in the same order (#GIOCondition
 *   values), or %NULL to have the bridge look at the fds itself
 * @n_revents: the length of @revents: the number of fds, or 0
 * @error: return location for a #GError
 *
 * The second half of a main context iteration: checks which sources are
 * ready, with @revents or with a poll() of the fds that does not wait, and
 * dispatches them (the task's signals and waiter callbacks run here).
 * Without a [method@Psf.LoopBridge.prepare] since the last dispatch, it runs
 * one whole iteration that does not wait.
 *
 * Fails with %PSF_ERROR_INVALID_ARGUMENT when @revents does not have one
 * entry per fd, and with %PSF_ERROR_INVALID_STATE when another thread owns
 * the context.
 *
 * Returns: %TRUE if a source was dispatched, %FALSE if none was ready or
 *   on error
 *
 * Since: 1.0
 */
gboolean
psf_loop_bridge_dispatch (PsfLoopBridge  *self,
                          const int      *revents,
                          gsize           n_revents,
                          GError        **error)
{
  gboolean dispatched = FALSE;

  g_return_val_if_fail (PSF_IS_LOOP_BRIDGE (self), FALSE);
  g_return_val_if_fail (revents != NULL || n_revents == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (revents != NULL && self->prepared && n_revents != self->n_fds)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("%u events were given for %u file descriptors"),
                   (guint) MIN (n_revents, G_MAXUINT), self->n_fds);
      return FALSE;
    }

  if (!self->prepared || !self->acquired)
    {
      if (!psf_loop_bridge_acquire (self, error))
        return FALSE;
      dispatched = g_main_context_iteration (self->context, FALSE);
      g_main_context_release (self->context);
      return dispatched;
    }

  self->prepared = FALSE;

  if (revents != NULL)
    {
      for (guint i = 0; i < self->n_fds; i++)
        self->fds[i].revents = revents[i] & (self->fds[i].events | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
    }
  else
    {
      for (guint i = 0; i < self->n_fds; i++)
        self->fds[i].revents = 0;
      while (self->n_fds > 0 && g_poll (self->fds, self->n_fds, 0) < 0 && errno == EINTR)
        ;
    }

  if (g_main_context_check (self->context, self->max_priority, self->fds, self->n_fds))
    {
      g_main_context_dispatch (self->context);
      dispatched = TRUE;
    }

  self->acquired = FALSE;
  g_main_context_release (self->context);

  return dispatched;
}
