/* psf-subprocess.c: PsfSubprocess, a task backed by one child process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Reaping and signalling
 * ======================
 *
 * The child is reaped in the task's context by a watch on its pidfd (never
 * waitpid(-1), never a change to SIGCHLD's disposition): the pidfd that
 * signals go through is readable once the child has exited, and
 * waitid(P_PIDFD) reaps it, so one fd serves both. Where pidfd_open() is
 * refused a GLib child watch does it. The watch holds a reference on the
 * task until it fires, so a host that drops its last reference still gets
 * its child reaped.
 *
 * A host that reaps the child first (waitpid(-1) in its own SIGCHLD
 * handler) leaves nothing to wait for: waitid() fails with ECHILD (or
 * pidfd_open() with ESRCH), and the task ends with returncode 255 and a
 * warning instead of a success it cannot know of. Where GLib's child watch
 * stands in, GLib decides (status 0 and a warning of its own).
 *
 * Signals go through a pidfd opened right after the child was created, so
 * a signal can never reach another process that reused the pid; where
 * pidfd_open() is refused (old kernels, valgrind) kill() is used, and only
 * until the watch has fired. Nothing is ever sent after the reap.
 *
 * cancel() sends SIGTERM and arms a timer of #PsfSubprocess:cancel-timeout
 * ms (Portage's _cancel_timeout) that sends SIGKILL if the child is still
 * there. #PsfSubprocess:timeout arms a timer at start that cancels the task
 * and marks it timed out. Both timers hold a reference and are removed when
 * the child is reaped. They run at G_PRIORITY_DEFAULT, like the watch.
 *
 * In the copy made by a fork() of the host the child is not ours: every
 * source of an inherited task removes itself when it fires, without
 * reaping or signalling, and the pidfd was closed by the fork handler
 * (psf-fork-guard.c).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "psf-child-private.h"
#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-fork-guard-private.h"
#include "psf-i18n-private.h"
#include "psf-subprocess-private.h"
#include "psf-task-private.h"

#define DEFAULT_CANCEL_TIMEOUT_MS 1000

typedef struct
{
  GPid     pid;
  int      pidfd;
  guint    cancel_timeout;
  guint    timeout;
  guint    timeout_armed;  /* the timeout the running child got */
  guint    reaped : 1;
  guint    timed_out : 1;
  guint    exiting : 1;    /* the child said so; its exit is relayed later */
  GSource *watch_source;
  GSource *kill_source;
  GSource *timeout_source;
} PsfSubprocessPrivate;

enum {
  PROP_0,
  PROP_PID,
  PROP_CANCEL_TIMEOUT,
  PROP_TIMEOUT,
  PROP_TIMED_OUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_TYPE_WITH_PRIVATE (PsfSubprocess, psf_subprocess, PSF_TYPE_TASK)

/**
 * PsfSubprocess:
 *
 * A [class@Psf.Task] backed by one child process (Portage's `SubProcess`).
 *
 * It knows the child's [property@Psf.Subprocess:pid], reaps it in the
 * task's main context (through its pidfd, or a GLib child watch), turns its wait status into
 * the returncode (the exit status, or -N for a signal N), sends it signals,
 * escalates a cancel from SIGTERM to SIGKILL after
 * [property@Psf.Subprocess:cancel-timeout] and enforces
 * [property@Psf.Subprocess:timeout].
 *
 * Subclasses create the child in [vfunc@Psf.Task.start].
 *
 * Since: 1.0
 */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* A source of a task inherited through a fork() fired: it goes, and
 * touches nothing. */
static gboolean
psf_subprocess_forget_source (PsfSubprocess  *self,
                              GSource       **source)
{
  if (!psf_task_is_inherited (PSF_TASK (self)))
    return FALSE;
  g_clear_pointer (source, g_source_unref);
  return TRUE;
}

static void
psf_subprocess_close_pidfd (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  psf_fork_guard_close_fd (&priv->pidfd, psf_task_get_fork_generation (PSF_TASK (self)));
}

static int
returncode_from_wait_status (int wait_status)
{
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (WIFSIGNALED (wait_status))
    return -WTERMSIG (wait_status);
  return 255;
}

static void
psf_subprocess_child_watch_cb (GPid     pid,
                               int      wait_status,
                               gpointer data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  if (psf_subprocess_forget_source (self, &priv->watch_source))
    return;

  priv->reaped = TRUE;
  g_clear_pointer (&priv->watch_source, g_source_unref);
  clear_source (&priv->kill_source);
  clear_source (&priv->timeout_source);
  psf_subprocess_close_pidfd (self);

  PSF_SUBPROCESS_GET_CLASS (self)->reaped (self, returncode_from_wait_status (wait_status));
}

/* The child's exit status is gone: something else in this process reaped
 * it (a host's waitpid(-1) in its own SIGCHLD handler). The task ends all
 * the same, with a status that cannot pass for a success. */
static void
psf_subprocess_status_lost (PsfSubprocess *self,
                            const char    *call,
                            int            error)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_warning (_("Cannot learn how process %d ended: %s(): %s (did something "
               "else in this process reap it?); its task ends with returncode 255"),
             (int) priv->pid, call, g_strerror (error));
  psf_subprocess_child_watch_cb (priv->pid, W_EXITCODE (255, 0), self);
}

/* pidfd_open() said ESRCH: our child is already reaped, by someone else. */
static gboolean
psf_subprocess_reaped_elsewhere_cb (gpointer data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  if (psf_subprocess_forget_source (self, &priv->watch_source))
    return G_SOURCE_REMOVE;
  psf_subprocess_status_lost (data, "pidfd_open", ESRCH);
  return G_SOURCE_REMOVE;
}

static void psf_subprocess_watch_pidfd (PsfSubprocess *self);

static gboolean
psf_subprocess_pidfd_retry_cb (gpointer data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_clear_pointer (&priv->watch_source, g_source_unref);
  if (psf_task_is_inherited (PSF_TASK (self)))
    return G_SOURCE_REMOVE;
  psf_subprocess_watch_pidfd (self);
  return G_SOURCE_REMOVE;
}

/* The pidfd became readable: the child has exited. */
static gboolean
psf_subprocess_pidfd_ready_cb (int          fd,
                               GIOCondition condition,
                               gpointer     data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);
  const char *call = "waitid";
  siginfo_t info;
  int wait_status = 0;
  gboolean waitable;
  int error;
  int r;

  /* In a fork's copy the fd is closed, or someone else's by now. */
  if (psf_subprocess_forget_source (self, &priv->watch_source))
    return G_SOURCE_REMOVE;

  memset (&info, 0, sizeof info);
  do
    r = waitid (P_PIDFD, (id_t) fd, &info, WEXITED | WNOHANG);
  while (r < 0 && errno == EINTR);
  error = r < 0 ? errno : 0;
  waitable = r == 0 && info.si_pid != 0;
  if (waitable)
    wait_status = psf_child_wait_status_from_siginfo (&info);

  if (error == EINVAL)
    {
      /* Linux 5.3: pidfds, but no P_PIDFD. The pid is still ours to
       * wait for: the pidfd keeps no one else from reusing it, but it
       * cannot be reused before we reap it. */
      pid_t p;

      call = "waitpid";
      do
        p = waitpid (priv->pid, &wait_status, WNOHANG);
      while (p < 0 && errno == EINTR);
      r = p < 0 ? -1 : 0;
      error = p < 0 ? errno : 0;
      waitable = p > 0;
    }

  /* Gone before anything the reap runs (the ::exited handlers) could
   * iterate this context again: the source may recurse (it is not blocked
   * and unblocked around each dispatch, two main-loop wakeups saved) and
   * its fd is closed below. */
  g_source_destroy (priv->watch_source);

  if (r == 0 && !waitable)
    {
      /* Readable, but not ours to wait for yet: a tracer (strace -f, gdb)
       * sees the exit first. The fd stays readable, so look again in a
       * while instead of spinning on it. */
      g_clear_pointer (&priv->watch_source, g_source_unref);
      priv->watch_source = psf_task_attach_with_ref (PSF_TASK (self), g_timeout_source_new (10),
                                                     psf_subprocess_pidfd_retry_cb,
                                                     "[psf] child watch (traced)");
      return G_SOURCE_REMOVE;
    }

  if (r == 0)
    psf_subprocess_child_watch_cb (priv->pid, wait_status, self);
  else
    psf_subprocess_status_lost (self, call, error);
  return G_SOURCE_REMOVE;
}

static void
psf_subprocess_watch_pidfd (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  GSource *source = g_unix_fd_source_new (priv->pidfd, G_IO_IN);

  g_source_set_can_recurse (source, TRUE);
  priv->watch_source = psf_task_attach_with_ref (PSF_TASK (self), source,
                                                 G_SOURCE_FUNC (psf_subprocess_pidfd_ready_cb),
                                                 "[psf] child watch");
}

static gboolean
psf_subprocess_signal (PsfSubprocess  *self,
                       int             signum,
                       GError        **error)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);
  int r;

  if (priv->pid == 0)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("Cannot send a signal: the process was not started"));
      return FALSE;
    }

  if (priv->reaped)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_STATE,
                   _("Cannot send a signal: process %d has already exited"),
                   (int) priv->pid);
      return FALSE;
    }

  if (psf_task_is_inherited (PSF_TASK (self)))
    {
      psf_task_set_inherited_error (PSF_TASK (self), error);
      return FALSE;
    }

  if (priv->pidfd >= 0)
    r = pidfd_send_signal (priv->pidfd, signum, NULL, 0);
  else
    r = kill (priv->pid, signum);

  /* ESRCH: the child is a zombie that the watch has not seen yet. */
  if (r != 0 && errno != ESRCH)
    {
      int saved = errno;

      g_autofree char *detail =
        g_strdup_printf ("%d, SIG%s", (int) priv->pid,
                         sigabbrev_np (signum) ? sigabbrev_np (signum) : "?");

      return psf_set_error_from_errno (error, PSF_ERROR_FAILED, saved,
                                       priv->pidfd >= 0 ? "pidfd_send_signal" : "kill",
                                       detail);
    }

  return TRUE;
}

static gboolean
psf_subprocess_kill_cb (gpointer data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);
  g_autoptr(GError) error = NULL;

  if (psf_subprocess_forget_source (self, &priv->kill_source))
    return G_SOURCE_REMOVE;
  g_clear_pointer (&priv->kill_source, g_source_unref);
  if (!psf_subprocess_signal (self, SIGKILL, &error))
    g_debug ("Escalating to SIGKILL: %s", error->message);
  return G_SOURCE_REMOVE;
}

/* The state letter of /proc/PID/stat, or 0 when there is no such process. */
static char
psf_subprocess_proc_state (GPid pid)
{
  char path[32];
  char buffer[512];
  const char *close_paren;
  ssize_t n;
  int fd;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buffer, sizeof buffer - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buffer[n] = '\0';
  close_paren = strrchr (buffer, ')');
  return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : 0;
}

/* Whether the child has exited, though its exit was not reaped (or
 * relayed) yet: a loop that was busy elsewhere, a forkserver that was
 * stopped. A pidfd is readable from the child's exit on. */
gboolean
psf_subprocess_has_exited (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);
  struct pollfd pfd = { priv->pidfd, POLLIN, 0 };
  siginfo_t info;
  char state;

  if (priv->exiting)
    return TRUE;
  if (priv->pidfd >= 0)
    return poll (&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) != 0;

  /* No pidfd (old kernels, valgrind): our own child is looked at without
   * being reaped; one of the forkserver's, which it keeps as a zombie until
   * its exit is relayed, through /proc. */
  memset (&info, 0, sizeof info);
  if (waitid (P_PID, (id_t) priv->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
    return info.si_pid != 0;
  if (errno != ECHILD)
    return FALSE;
  state = psf_subprocess_proc_state (priv->pid);
  return state == 'Z' || state == 0;
}

static gboolean
psf_subprocess_timeout_cb (gpointer data)
{
  PsfSubprocess *self = data;
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  if (psf_subprocess_forget_source (self, &priv->timeout_source))
    return G_SOURCE_REMOVE;
  g_clear_pointer (&priv->timeout_source, g_source_unref);

  /* Done in time, only not heard of yet: it ends with its own status. */
  if (psf_subprocess_has_exited (self))
    return G_SOURCE_REMOVE;

  priv->timed_out = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMED_OUT]);
  psf_task_cancel (PSF_TASK (self));
  return G_SOURCE_REMOVE;
}

static GSource *
psf_subprocess_add_timer (PsfSubprocess *self,
                          guint          ms,
                          GSourceFunc    func,
                          const char    *name)
{
  return psf_task_attach_with_ref (PSF_TASK (self), g_timeout_source_new (ms), func, name);
}

gboolean
psf_subprocess_check_reapable (GError **error)
{
  struct sigaction action;

  if (sigaction (SIGCHLD, NULL, &action) != 0)
    return TRUE;  /* cannot happen for SIGCHLD; nothing to refuse on */

  if (action.sa_handler == SIG_IGN || (action.sa_flags & SA_NOCLDWAIT) != 0)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                   _("Cannot start a child: SIGCHLD is %s in this process, so the "
                     "kernel would reap the child and its exit status would be lost"),
                   action.sa_handler == SIG_IGN ? "SIG_IGN" : "SA_NOCLDWAIT");
      return FALSE;
    }

  return TRUE;
}

void
psf_subprocess_watch (PsfSubprocess *self,
                      GPid           pid)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_if_fail (PSF_IS_SUBPROCESS (self));
  g_return_if_fail (pid > 0);
  g_return_if_fail (priv->pid == 0);

  priv->pid = pid;
  priv->pidfd = pidfd_open (pid, 0);

  if (priv->pidfd >= 0)
    {
      psf_fork_guard_own_fd (priv->pidfd);
      psf_subprocess_watch_pidfd (self);
    }
  else
    {
      /* ESRCH: our own child cannot be gone before we reap it, unless
       * someone else reaped it. ENOSYS, EPERM (old kernels, valgrind,
       * seccomp): GLib watches it its own way. */
      gboolean reaped_elsewhere = errno == ESRCH;
      GSource *source = reaped_elsewhere ? g_idle_source_new () : g_child_watch_source_new (pid);

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      priv->watch_source =
        psf_task_attach_with_ref (PSF_TASK (self), source,
                                  reaped_elsewhere ? psf_subprocess_reaped_elsewhere_cb
                                                   : G_SOURCE_FUNC (psf_subprocess_child_watch_cb),
                                  "[psf] child watch");
    }

  if (priv->timeout > 0)
    {
      priv->timeout_armed = priv->timeout;
      priv->timeout_source = psf_subprocess_add_timer (self, priv->timeout,
                                                       psf_subprocess_timeout_cb,
                                                       "[psf] timeout");
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
}

/* A child that is not ours (FORKSERVER: the server forked it) cannot be
 * reaped here, so no child watch: the subclass watches whatever relays
 * the wait status and hands it to psf_subprocess_relay_exit(), in the
 * task's context, holding a reference until then as the watch would. The
 * rest is as for our own children: the pidfd (pidfd_open() works on any
 * process), kill() where pidfds are refused, the timeout. The relay must
 * keep the pid from being reused until the exit was recorded (the
 * forkserver keeps the zombie until then), so signals stay safe. */
void
psf_subprocess_watch_relayed (PsfSubprocess *self,
                              GPid           pid)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_if_fail (PSF_IS_SUBPROCESS (self));
  g_return_if_fail (pid > 0);
  g_return_if_fail (priv->pid == 0);

  priv->pid = pid;
  priv->pidfd = pidfd_open (pid, 0);
  if (priv->pidfd >= 0)
    psf_fork_guard_own_fd (priv->pidfd);

  if (priv->timeout > 0)
    {
      priv->timeout_armed = priv->timeout;
      priv->timeout_source = psf_subprocess_add_timer (self, priv->timeout,
                                                       psf_subprocess_timeout_cb,
                                                       "[psf] timeout");
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
}

void
psf_subprocess_note_exiting (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  priv->exiting = TRUE;
}

void
psf_subprocess_relay_exit (PsfSubprocess *self,
                           int            wait_status)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_if_fail (PSF_IS_SUBPROCESS (self));
  g_return_if_fail (priv->pid > 0 && !priv->reaped && priv->watch_source == NULL);

  psf_subprocess_child_watch_cb (priv->pid, wait_status, self);
}

static void
psf_subprocess_real_reaped (PsfSubprocess *self,
                            int            returncode)
{
  psf_task_return (PSF_TASK (self), returncode);
}

static void
psf_subprocess_cancel (PsfTask *task)
{
  PsfSubprocess *self = PSF_SUBPROCESS (task);
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);
  g_autoptr(GError) error = NULL;

  if (priv->pid == 0 || priv->reaped || psf_task_is_inherited (task))
    return;

  if (!psf_subprocess_signal (self, SIGTERM, &error))
    g_warning ("Cancelling process %d: %s", (int) priv->pid, error->message);

  if (priv->cancel_timeout > 0 && priv->kill_source == NULL)
    priv->kill_source = psf_subprocess_add_timer (self, priv->cancel_timeout,
                                                  psf_subprocess_kill_cb,
                                                  "[psf] cancel escalation");
}

static void
psf_subprocess_check (PsfTask  *task,
                      GError  **error)
{
  PsfSubprocess *self = PSF_SUBPROCESS (task);
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  if (priv->timed_out)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_TIMED_OUT,
                   _("Process %d timed out after %u ms"),
                   (int) priv->pid, priv->timeout_armed);
      return;
    }

  PSF_TASK_CLASS (psf_subprocess_parent_class)->check (task, error);
}

static void
psf_subprocess_finalize (GObject *object)
{
  PsfSubprocess *self = PSF_SUBPROCESS (object);
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  /* Every source holds a reference: none can be left here. */
  g_assert (priv->watch_source == NULL);
  g_assert (priv->kill_source == NULL);
  g_assert (priv->timeout_source == NULL);
  psf_subprocess_close_pidfd (self);

  G_OBJECT_CLASS (psf_subprocess_parent_class)->finalize (object);
}

static void
psf_subprocess_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PsfSubprocess *self = PSF_SUBPROCESS (object);
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PID:
      g_value_set_int (value, priv->pid);
      break;

    case PROP_CANCEL_TIMEOUT:
      g_value_set_uint (value, priv->cancel_timeout);
      break;

    case PROP_TIMEOUT:
      g_value_set_uint (value, priv->timeout);
      break;

    case PROP_TIMED_OUT:
      g_value_set_boolean (value, priv->timed_out);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_subprocess_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PsfSubprocess *self = PSF_SUBPROCESS (object);

  switch (prop_id)
    {
    case PROP_CANCEL_TIMEOUT:
      psf_subprocess_set_cancel_timeout (self, g_value_get_uint (value));
      break;

    case PROP_TIMEOUT:
      psf_subprocess_set_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_subprocess_class_init (PsfSubprocessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PsfTaskClass *task_class = PSF_TASK_CLASS (klass);

  psf_i18n_init ();

  object_class->finalize = psf_subprocess_finalize;
  object_class->get_property = psf_subprocess_get_property;
  object_class->set_property = psf_subprocess_set_property;

  task_class->cancel = psf_subprocess_cancel;
  task_class->check = psf_subprocess_check;

  klass->reaped = psf_subprocess_real_reaped;

  /**
   * PsfSubprocess:pid:
   *
   * The child's process id: 0 before start(), kept after the exit.
   *
   * Since: 1.0
   */
  properties[PROP_PID] =
    g_param_spec_int ("pid", NULL, NULL,
                      0, G_MAXINT, 0,
                      (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSubprocess:cancel-timeout:
   *
   * Milliseconds between the SIGTERM of a cancel and the SIGKILL sent if
   * the child is still alive (Portage's `_cancel_timeout`). 0 never
   * escalates.
   *
   * Since: 1.0
   */
  properties[PROP_CANCEL_TIMEOUT] =
    g_param_spec_uint ("cancel-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_CANCEL_TIMEOUT_MS,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSubprocess:timeout:
   *
   * Milliseconds after start() when a still-running task is cancelled and
   * marked [property@Psf.Subprocess:timed-out]; 0 for none.
   * psf_task_wait_check_finish() then fails with %PSF_ERROR_TIMED_OUT.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PsfSubprocess:timed-out:
   *
   * Whether [property@Psf.Subprocess:timeout] expired.
   *
   * Since: 1.0
   */
  properties[PROP_TIMED_OUT] =
    g_param_spec_boolean ("timed-out", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
psf_subprocess_init (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  priv->pidfd = -1;
  priv->cancel_timeout = DEFAULT_CANCEL_TIMEOUT_MS;
}

/**
 * psf_subprocess_get_pid:
 * @self: a #PsfSubprocess
 *
 * Gets the process id of the child. It stays set after the child was reaped, for logs; psf never signals it then.
 *
 * Returns: the child's pid, 0 before start()
 *
 * Since: 1.0
 */
GPid
psf_subprocess_get_pid (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SUBPROCESS (self), 0);

  return priv->pid;
}

/**
 * psf_subprocess_send_signal:
 * @self: a #PsfSubprocess
 * @signum: the signal to send
 * @error: return location for a #GError
 *
 * Sends @signum to the child. Nothing is ever sent once the child has been
 * reaped (its pid may belong to another process by then): that fails with
 * %PSF_ERROR_INVALID_STATE, as does a task that was not started.
 *
 * Returns: %TRUE if the signal was sent (or the child is already a zombie)
 *
 * Since: 1.0
 */
gboolean
psf_subprocess_send_signal (PsfSubprocess  *self,
                            int             signum,
                            GError        **error)
{
  g_return_val_if_fail (PSF_IS_SUBPROCESS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return psf_subprocess_signal (self, signum, error);
}

/**
 * psf_subprocess_get_cancel_timeout:
 * @self: a #PsfSubprocess
 *
 * Gets how long psf_task_cancel() waits after SIGTERM before it sends SIGKILL.
 *
 * Returns: the [property@Psf.Subprocess:cancel-timeout] in milliseconds
 *
 * Since: 1.0
 */
guint
psf_subprocess_get_cancel_timeout (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SUBPROCESS (self), 0);

  return priv->cancel_timeout;
}

/**
 * psf_subprocess_set_cancel_timeout:
 * @self: a #PsfSubprocess
 * @cancel_timeout_ms: milliseconds from SIGTERM to SIGKILL, 0 for never
 *
 * Sets [property@Psf.Subprocess:cancel-timeout].
 *
 * Since: 1.0
 */
void
psf_subprocess_set_cancel_timeout (PsfSubprocess *self,
                                   guint          cancel_timeout_ms)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_if_fail (PSF_IS_SUBPROCESS (self));

  if (priv->cancel_timeout == cancel_timeout_ms)
    return;
  priv->cancel_timeout = cancel_timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCEL_TIMEOUT]);
}

/**
 * psf_subprocess_get_timeout:
 * @self: a #PsfSubprocess
 *
 * Gets how long the child may run before the task cancels it (0: no limit).
 *
 * Returns: the [property@Psf.Subprocess:timeout] in milliseconds
 *
 * Since: 1.0
 */
guint
psf_subprocess_get_timeout (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SUBPROCESS (self), 0);

  return priv->timeout;
}

/**
 * psf_subprocess_set_timeout:
 * @self: a #PsfSubprocess
 * @timeout_ms: milliseconds, 0 for none
 *
 * Sets [property@Psf.Subprocess:timeout]. Takes effect at start().
 *
 * Since: 1.0
 */
void
psf_subprocess_set_timeout (PsfSubprocess *self,
                            guint          timeout_ms)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_if_fail (PSF_IS_SUBPROCESS (self));

  if (priv->timeout == timeout_ms)
    return;
  priv->timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * psf_subprocess_get_timed_out:
 * @self: a #PsfSubprocess
 *
 * Gets whether the task was cancelled because its timeout expired.
 *
 * Returns: whether the [property@Psf.Subprocess:timeout] expired
 *
 * Since: 1.0
 */
gboolean
psf_subprocess_get_timed_out (PsfSubprocess *self)
{
  PsfSubprocessPrivate *priv = psf_subprocess_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_SUBPROCESS (self), FALSE);

  return priv->timed_out;
}
