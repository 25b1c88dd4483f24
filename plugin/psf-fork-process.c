/* psf-fork-process.c: PsfForkProcess, a subprocess that runs a child routine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Creating the child and hearing from it
 * ======================================
 *
 * start() refuses the options its child would not use, asks the subclass
 * for the routine's input (->prepare), makes the report channel (a pipe
 * whose ends are both close-on-exec) and, when the child has something to
 * set up, the set-up channel. It then fills one PsfLaunch
 * (plugin/launch/psf-launch-private.h) and makes one call for its start
 * method: psf_launch_fork(), psf_launch_spawn() or
 * psf_forkserver_start_child(), the last falling back to SPAWN for a task
 * the server cannot serve. Each returns what it started (a PsfLaunched),
 * and it is watched here, once the child is set up: the report channel,
 * and the child through PsfSubprocess. A child of this process (FORK,
 * SPAWN, one the forkserver cloned) is reaped by psf_subprocess_watch();
 * one the forkserver forked is the server's, whose exit it relays: it is
 * watched with psf_subprocess_watch_relayed() and the relay's source
 * (psf_forkserver_relay_source_new()), which hands what it hears to
 * psf_subprocess_note_exiting() and psf_subprocess_relay_exit().
 *
 * The read end of the report channel is non-blocking and watched in the
 * task's context while the child runs, so a child never blocks on a full
 * pipe. When the child is reaped the pipe is drained until EAGAIN or EOF
 * (a grandchild may still hold the write end: the exit is reported at the
 * child's exit all the same), ->report gets the bytes, and only then is the
 * exit recorded, so ::exited handlers see the complete report. While the
 * child runs, a subclass that asked (psf_fork_process_set_report_arrived())
 * is given the report so far each time bytes arrive, so it can tell the
 * host of each record as it comes. A report
 * that always fits the pipe (->prepare set a bound of at most PIPE_BUF) is
 * watched only if the child runs longer than a few ms: the reap reads what
 * FIONREAD says is there.
 *
 * The read end is psf's (psf-fork-guard.c): a fork of the host closes its
 * copy at once, and the copy never reads or closes it afterwards.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "psf-child-private.h"
#include "psf-enums.h"
#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-fork-guard-private.h"
#include "psf-fork-process-private.h"
#include "psf-forkserver-private.h"
#include "psf-i18n-private.h"
#include "psf-launch-private.h"
#include "psf-spawn-process-private.h"
#include "psf-subprocess-private.h"
#include "psf-task-private.h"


typedef struct
{
  PsfStartMethod  start_method;
  PsfForkFunc     func;
  gpointer        func_data;
  GDestroyNotify  func_destroy;

  int             report_fd;
  GSource        *report_source;
  GByteArray     *report_buffer;
  GBytes         *report;
  int             report_error;       /* errno of the last read(), or 0 */
  const char     *report_error_call;  /* the call that failed with it */
  gsize           report_bound;       /* the most the routine writes, or 0 */
  PsfForkProcessReportArrived report_arrived;
  guint           report_incomplete : 1;
  guint           report_watched : 1;
} PsfForkProcessPrivate;

enum {
  PROP_0,
  PROP_START_METHOD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_TYPE_WITH_PRIVATE (PsfForkProcess, psf_fork_process, PSF_TYPE_SPAWN_PROCESS)

/**
 * PsfForkProcess:
 *
 * A [class@Psf.SpawnProcess] whose child runs a routine instead of a
 * program (Portage's `ForkProcess`), and exits with its return value.
 *
 * How the child is made is [property@Psf.ForkProcess:start-method]. With
 * %PSF_START_METHOD_FORK the routine is a C function given to
 * [ctor@Psf.ForkProcess.new_with_func] (or a subclass's `run`), run in a
 * fork of the host: it may only call async-signal-safe functions and must
 * not touch GLib. With %PSF_START_METHOD_SPAWN the routine is one built
 * into the helper program `psf-child`, as [class@Psf.SyncfsProcess]'s is.
 *
 * The child can send bytes back on its report channel; the parent gets them
 * with [method@Psf.ForkProcess.get_report] once the task has exited.
 * The spawn options [property@Psf.SpawnProcess:cwd],
 * [property@Psf.SpawnProcess:close-fds] and
 * [method@Psf.SpawnProcess.take_fd] are honoured by every method. Those
 * the child would not use are refused by start() with
 * %PSF_ERROR_INVALID_ARGUMENT, never ignored: [property@Psf.SpawnProcess:argv]
 * and [property@Psf.SpawnProcess:path-lookup] (the child runs a routine),
 * [property@Psf.SpawnProcess:env] with %PSF_START_METHOD_FORK (the child
 * keeps the host's environment), [property@Psf.SpawnProcess:opt-name]
 * unless the method is %PSF_START_METHOD_SPAWN. A target of
 * [method@Psf.SpawnProcess.take_fd] the child cannot have (at or above the
 * host's `RLIMIT_NOFILE` soft limit, which the child inherits) fails
 * start() the same way with every method: %PSF_ERROR_SPAWN,
 * "dup2(SOURCE -> TARGET): Bad file descriptor". A later failure to lay
 * out the child's fds names its call the same way too, as
 * "fcntl(FD -> FLOOR): …" or "dup2(FD -> TARGET): …".
 *
 * Since: 1.0
 */

/* The FORK side of a class's routine lives in the type's qdata: the class
 * structure is public ABI and keeps only the name. */
static GQuark
fork_routine_quark (void)
{
  return g_quark_from_static_string ("psf-fork-routine");
}

void
psf_fork_process_class_set_routine (PsfForkProcessClass *klass,
                                    const char          *name,
                                    PsfChildRoutine      fork_routine)
{
  g_return_if_fail (PSF_IS_FORK_PROCESS_CLASS (klass));
  g_return_if_fail (name != NULL);
  g_return_if_fail (fork_routine != NULL);

  klass->routine = name;
  g_type_set_qdata (G_TYPE_FROM_CLASS (klass), fork_routine_quark (),
                    (gpointer) fork_routine);
}

/* The routine a FORK child of @klass runs: the one its class (or the
 * nearest ancestor that has one) set, else the routine of the library's
 * own table with the class's name (a class that set only the name). */
static PsfChildRoutine
psf_fork_process_class_get_fork_routine (PsfForkProcessClass *klass)
{
  for (GType type = G_TYPE_FROM_CLASS (klass);
       type != PSF_TYPE_FORK_PROCESS && type != G_TYPE_INVALID;
       type = g_type_parent (type))
    {
      gpointer routine = g_type_get_qdata (type, fork_routine_quark ());

      if (routine != NULL)
        return (PsfChildRoutine) routine;
    }
  return klass->routine != NULL ? psf_child_routine_lookup (klass->routine) : NULL;
}

static void
psf_fork_process_close_report (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  if (priv->report_source != NULL)
    {
      g_source_destroy (priv->report_source);
      g_clear_pointer (&priv->report_source, g_source_unref);
    }
  psf_fork_guard_close_fd (&priv->report_fd, psf_task_get_fork_generation (PSF_TASK (self)));
}

/* Reads what is there; returns FALSE at EOF or on an error, which
 * priv->report_error keeps (0 at EOF or when more may come). */
static gboolean
psf_fork_process_read_report (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  guint8 buffer[16384];

  priv->report_error = 0;
  for (;;)
    {
      ssize_t n = read (priv->report_fd, buffer, sizeof buffer);

      if (n > 0)
        {
          if (priv->report_buffer->len + (gsize) n <= PSF_FORK_PROCESS_MAX_REPORT)
            g_byte_array_append (priv->report_buffer, buffer, (guint) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      /* The channel is a pipe, never a pty: an error is an error. */
      if (n < 0)
        {
          priv->report_error = errno;
          priv->report_error_call = "read(report channel)";
        }
      return FALSE;
    }
}

/* The unwatched channel at the reap: what the child wrote, all in the
 * pipe by now (it fits, see psf_fork_process_set_report_bound()). The fd
 * is blocking and a grandchild may hold the write end, so the read asks
 * for no more than there is. */
static void
psf_fork_process_read_report_at_reap (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  guint8 buffer[PIPE_BUF];
  int left = 0;

  priv->report_error = 0;
  if (ioctl (priv->report_fd, FIONREAD, &left) < 0)
    {
      priv->report_error = errno;
      priv->report_error_call = "ioctl(report channel, FIONREAD)";
      return;
    }
  while (left > 0)
    {
      ssize_t n = read (priv->report_fd, buffer, MIN ((gsize) left, sizeof buffer));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          priv->report_error = n < 0 ? errno : 0;
          priv->report_error_call = "read(report channel)";
          return;
        }
      g_byte_array_append (priv->report_buffer, buffer, (guint) n);
      left -= (int) n;
    }
}

static gboolean
psf_fork_process_report_ready_cb (int          fd,
                                  GIOCondition condition,
                                  gpointer     data)
{
  PsfForkProcess *self = data;
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  gboolean more;
  gsize len;

  /* A fork's copy: the report is the parent's to read. */
  if (psf_task_is_inherited (PSF_TASK (self)))
    {
      g_clear_pointer (&priv->report_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }

  len = priv->report_buffer->len;
  more = psf_fork_process_read_report (self);
  /* The subclass hears of what came: its handlers may iterate the context
   * (and see the child reaped there), so nothing of the channel is read
   * from priv after this. */
  if (priv->report_arrived != NULL && priv->report_buffer->len > len)
    priv->report_arrived (self, priv->report_buffer->data, priv->report_buffer->len);
  if (more)
    return G_SOURCE_CONTINUE;

  /* EOF, or an error: the fd stays open until the reap, which reads again
   * (a failed read() of a pipe loses nothing), the watch goes. */
  g_clear_pointer (&priv->report_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* How long a report channel that always fits its pipe goes unwatched. A
 * child that breaks the bound (a helper of another version, a bug) waits
 * at most this long on a full pipe; a task that runs longer pays for one
 * watch, which is nothing next to its run. */
#define REPORT_LATE_WATCH_MS 10

static void
psf_fork_process_start_report_watch (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  /* A pipe's read end has no other status flag to keep: no F_GETFL. */
  fcntl (priv->report_fd, F_SETFL, O_NONBLOCK);
  priv->report_watched = TRUE;
  priv->report_source = psf_task_attach_with_ref (PSF_TASK (self),
                                                  g_unix_fd_source_new (priv->report_fd,
                                                                        G_IO_IN | G_IO_HUP | G_IO_ERR),
                                                  G_SOURCE_FUNC (psf_fork_process_report_ready_cb),
                                                  "[psf] report channel");
}

static gboolean
psf_fork_process_report_late_cb (gpointer data)
{
  PsfForkProcess *self = data;
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  g_clear_pointer (&priv->report_source, g_source_unref);
  /* A child that has exited is not blocked on a full pipe: the reap, due
   * any moment (or the relay of a forkserver child, which may come a
   * little after the child's own word), reads what it wrote. */
  if (!psf_task_is_inherited (PSF_TASK (self)) &&
      !psf_subprocess_has_exited (PSF_SUBPROCESS (self)))
    psf_fork_process_start_report_watch (self);
  return G_SOURCE_REMOVE;
}

/* Takes @read_fd, the read end of the report channel. A report that may
 * not fit the pipe is read as it comes, so that the child never blocks on
 * a full pipe. One that always fits is read once, at the reap (no fd
 * source, no wakeup, no non-blocking flag to set), unless the child runs
 * longer than REPORT_LATE_WATCH_MS (psf_fork_process_arm_late_report_watch()):
 * then it is watched as any other. */
static void
psf_fork_process_watch_report (PsfForkProcess *self,
                               int             read_fd)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_fd = read_fd;
  psf_fork_guard_own_fd (read_fd);
  priv->report_buffer = g_byte_array_new ();
  priv->report_error = 0;
  priv->report_incomplete = FALSE;
  priv->report_watched = FALSE;
  if (priv->report_bound == 0 || priv->report_bound > PIPE_BUF)
    psf_fork_process_start_report_watch (self);
}

static void
psf_fork_process_arm_late_report_watch (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_source = psf_task_attach_with_ref (PSF_TASK (self),
                                                  g_timeout_source_new (REPORT_LATE_WATCH_MS),
                                                  psf_fork_process_report_late_cb,
                                                  "[psf] report channel (late watch)");
}

/* A spawn option the child of @self would not use is refused by start(),
 * never ignored in silence: argv and path-lookup (the child runs a routine,
 * not a program), env with FORK (a fork keeps the host's environment),
 * opt-name where the child keeps another argv[0] (FORK: the host's;
 * FORKSERVER: the server's). Each is refused only when it differs from
 * its default. */
static gboolean
check_unused_options (PsfForkProcess  *self,
                      PsfStartMethod   method,
                      GError         **error)
{
  PsfSpawnProcess *spawn = PSF_SPAWN_PROCESS (self);
  const char * const *argv = psf_spawn_process_get_argv (spawn);
  const char *name;
  const char *why;

  if (argv != NULL && argv[0] != NULL)
    {
      name = "argv";
      why = _("its child runs a routine, not a program");
    }
  else if (!psf_spawn_process_get_path_lookup (spawn))
    {
      name = "path-lookup";
      why = _("its child runs a routine, not a program");
    }
  else if (method == PSF_START_METHOD_FORK && psf_spawn_process_get_env (spawn) != NULL)
    {
      name = "env";
      why = _("a child forked from the host keeps the host's environment");
    }
  else if (method == PSF_START_METHOD_FORK && psf_spawn_process_get_opt_name (spawn) != NULL)
    {
      name = "opt-name";
      why = _("a child forked from the host keeps the host's argv[0]");
    }
  else if (method == PSF_START_METHOD_FORKSERVER &&
           psf_spawn_process_get_opt_name (spawn) != NULL)
    {
      name = "opt-name";
      why = _("a child of the forkserver keeps the server's argv[0]");
    }
  else
    return TRUE;

  /* TRANSLATORS: the first %s is a type name (PsfSyncfsProcess), the
   * second a property name, the third why it has no use there. */
  g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
               _("%s does not use the property “%s” here (%s): leave it unset"),
               G_OBJECT_TYPE_NAME (self), name, why);
  return FALSE;
}

static void
close_pair (int fds[2])
{
  for (guint i = 0; i < 2; i++)
    if (fds[i] >= 0)
      {
        close (fds[i]);
        fds[i] = -1;
      }
}

static int
psf_fork_process_run_method (void *instance,
                             int   report_fd)
{
  /* Runs in the forked child: the class pointer was read in the parent. */
  PsfForkProcess *self = instance;

  return PSF_FORK_PROCESS_GET_CLASS (self)->run (self, report_fd);
}

static void
psf_fork_process_relay_cb (PsfRelayEvent  event,
                           int            wait_status,
                           gpointer       data)
{
  PsfSubprocess *subprocess = data;

  if (event == PSF_RELAY_EXITING)
    psf_subprocess_note_exiting (subprocess);
  else
    psf_subprocess_relay_exit (subprocess, wait_status);
}

/* Watches the child a start method made: one of ours with its pidfd (or
 * a GLib child watch), one the forkserver forked through its relay, in
 * the task's context and holding a reference until the exit is recorded. */
static void
psf_fork_process_watch_launched (PsfForkProcess    *self,
                                 const PsfLaunched *launched)
{
  PsfSubprocess *subprocess = PSF_SUBPROCESS (self);
  GSource *source;

  if (launched->relay_fd < 0)
    {
      psf_subprocess_watch (subprocess, launched->pid);
      return;
    }

  psf_subprocess_watch_relayed (subprocess, launched->pid);
  source = psf_forkserver_relay_source_new (launched, psf_fork_process_relay_cb,
                                            g_object_ref (self), g_object_unref);
  psf_task_attach_source (PSF_TASK (self), source);
  g_source_unref (source);
  if (launched->exiting >= 0)
    psf_subprocess_note_exiting (subprocess);
}

static gboolean
psf_fork_process_start (PsfTask  *task,
                        GError  **error)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (task);
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  PsfForkProcessClass *klass = PSF_FORK_PROCESS_GET_CLASS (self);
  g_autoptr(GBytes) input = NULL;
  PsfLaunch launch = { .output_fd = -1, .setup_fd = -1, .setup_read_fd = -1 };
  int setup_pipe[2] = { -1, -1 };
  int report[2];
  const int *source_fds;
  const int *target_fds;
  guint n_fds;
  PsfLaunched launched = { .relay_fd = -1, .exiting = -1 };
  gboolean ok;

  if (!psf_subprocess_check_reapable (error))
    return FALSE;

  if (priv->start_method != PSF_START_METHOD_FORK && klass->routine == NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("%s has no routine built into psf-child: it can only "
                     "run with the FORK start method"),
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  /* FORK runs the routine from this library: one only the helper knows is
   * nothing to run here either. */
  if (priv->func == NULL && klass->run == NULL &&
      (klass->routine == NULL ||
       (priv->start_method == PSF_START_METHOD_FORK &&
        psf_fork_process_class_get_fork_routine (klass) == NULL)))
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("%s has nothing to run: give a function or implement run()"),
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  if (!check_unused_options (self, priv->start_method, error))
    return FALSE;

  if (!psf_launch_check_cwd (psf_spawn_process_get_cwd (PSF_SPAWN_PROCESS (self)), error))
    return FALSE;

  psf_spawn_process_get_fd_map (PSF_SPAWN_PROCESS (self), &source_fds, &target_fds, &n_fds);
  if (!psf_launch_check_fd_map (source_fds, target_fds, n_fds, error))
    return FALSE;

  if (klass->prepare != NULL)
    {
      GError *local_error = NULL;

      input = klass->prepare (self, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
    }

  if (!psf_spawn_process_prepare_child (PSF_SPAWN_PROCESS (self), &launch.setup,
                                        &launch.output_fd, error))
    return FALSE;

  /* Only a child with something to set up pays for the handshake; a fork
   * of the host sets up its own fds and cwd too, and says what failed. */
  if (!psf_child_setup_is_empty (&launch.setup) ||
      (priv->start_method == PSF_START_METHOD_FORK &&
       (n_fds > 0 || launch.output_fd >= 0 ||
        psf_spawn_process_get_cwd (PSF_SPAWN_PROCESS (self)) != NULL)))
    {
      if (pipe2 (setup_pipe, O_CLOEXEC) < 0)
        {
          psf_spawn_process_abort_child (PSF_SPAWN_PROCESS (self));
          return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, errno, "pipe2", NULL);
        }
      launch.setup_fd = setup_pipe[1];
    }

  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      int saved = errno;

      close_pair (setup_pipe);
      psf_spawn_process_abort_child (PSF_SPAWN_PROCESS (self));
      return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "pipe2", NULL);
    }

  /* What the child gets, whatever makes it. */
  launch.routine = klass->routine;
  launch.fork_routine = klass->routine != NULL ? psf_fork_process_class_get_fork_routine (klass) : NULL;
  launch.func = priv->func;
  launch.func_data = priv->func_data;
  if (priv->func == NULL && launch.fork_routine == NULL)
    {
      launch.method = psf_fork_process_run_method;
      launch.instance = self;
    }
  launch.input = input;
  launch.helper = psf_launch_get_helper_path ();
  launch.argv0 = psf_spawn_process_get_opt_name (PSF_SPAWN_PROCESS (self));
  launch.cwd = psf_spawn_process_get_cwd (PSF_SPAWN_PROCESS (self));
  launch.env = psf_spawn_process_get_env (PSF_SPAWN_PROCESS (self));
  launch.source_fds = source_fds;
  launch.target_fds = target_fds;
  launch.n_fds = n_fds;
  launch.close_fds = psf_spawn_process_get_close_fds (PSF_SPAWN_PROCESS (self));
  launch.setup_read_fd = setup_pipe[0];
  launch.report_fd = report[1];
  launch.report_read_fd = report[0];

  if (priv->start_method == PSF_START_METHOD_FORKSERVER)
    {
      g_autoptr(GError) server_error = NULL;
      gboolean use_spawn = FALSE;

      ok = psf_forkserver_start_child (&launch, &launched, &use_spawn, &server_error);
      if (!ok && use_spawn)
        {
          /* What the server cannot do (not enough processes for it, a
           * seccomp filter against its clones) a spawned helper may. */
          g_debug ("The forkserver cannot run this %s (%s): using SPAWN for it",
                   G_OBJECT_TYPE_NAME (self), server_error->message);
          launch.argv0 = NULL;
          ok = psf_launch_spawn (&launch, &launched, error);
        }
      else if (!ok)
        g_propagate_error (error, g_steal_pointer (&server_error));
    }
  else if (priv->start_method == PSF_START_METHOD_SPAWN)
    ok = psf_launch_spawn (&launch, &launched, error);
  else
    ok = psf_launch_fork (&launch, &launched, error);
  close (report[1]);

  if (setup_pipe[1] >= 0)
    {
      close (setup_pipe[1]);
      setup_pipe[1] = -1;
    }

  /* The child closes its end once it is set up, or says why it is not. */
  if (ok && setup_pipe[0] >= 0)
    ok = psf_spawn_process_check_setup (setup_pipe[0], launched.pid, error);
  close_pair (setup_pipe);

  if (!ok)
    {
      /* Closing a relay lets the server reap what it started. */
      if (launched.relay_fd >= 0)
        psf_fork_guard_close_fd (&launched.relay_fd, psf_fork_guard_generation ());
      close (report[0]);
      psf_spawn_process_abort_child (PSF_SPAWN_PROCESS (self));
      return FALSE;
    }

  psf_fork_process_watch_report (self, report[0]);

  /* Given to the child: the host's copies go now. */
  psf_spawn_process_close_fds_taken (PSF_SPAWN_PROCESS (self));
  psf_fork_process_watch_launched (self, &launched);
  /* After the child watch: when the exit and the timer are due in the same
   * iteration, the reap comes first and the timer goes. */
  if (!priv->report_watched)
    psf_fork_process_arm_late_report_watch (self);
  psf_spawn_process_child_started (PSF_SPAWN_PROCESS (self));
  return TRUE;
}

static void
psf_fork_process_reaped (PsfSubprocess *subprocess,
                         int            returncode)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (subprocess);
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  PsfForkProcessClass *klass = PSF_FORK_PROCESS_GET_CLASS (self);

  /* Everything the child wrote before it exited is in the pipe now; a
   * read() that fails here is a report lost. */
  if (priv->report_fd >= 0 && priv->report_watched)
    psf_fork_process_read_report (self);
  else if (priv->report_fd >= 0)
    psf_fork_process_read_report_at_reap (self);
  psf_fork_process_close_report (self);

  if (priv->report_buffer != NULL)
    priv->report = g_byte_array_free_to_bytes (g_steal_pointer (&priv->report_buffer));
  else
    priv->report = g_bytes_new (NULL, 0);

  if (klass->report != NULL)
    klass->report (self, priv->report);

  /* A child that says it succeeded, with a report that did not arrive
   * whole, did not succeed: the task gets the returncode the routines
   * exit with when they cannot write theirs (and wait_check says why). */
  if (returncode == 0 && priv->report_error != 0)
    returncode = psf_child_exit_report (priv->report_error);
  else if (returncode == 0 && priv->report_incomplete)
    returncode = PSF_CHILD_EXIT_REPORT;

  PSF_SUBPROCESS_CLASS (psf_fork_process_parent_class)->reaped (subprocess, returncode);
}

static void
psf_fork_process_check (PsfTask  *task,
                        GError  **error)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (task);
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);
  int rc = psf_task_get_returncode (task);

  if (rc > 0 && !psf_subprocess_get_timed_out (PSF_SUBPROCESS (self)))
    {
      if (priv->report_error != 0)
        {
          /* TRANSLATORS: the first %s is a system call, as in
           * "read(report channel)"; the second the error text. */
          g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                       _("The report of the child could not be read: %s: %s"),
                       priv->report_error_call, g_strerror (priv->report_error));
          return;
        }
      /* Only the built-in routines exit with this meaning. */
      if (PSF_FORK_PROCESS_GET_CLASS (self)->routine != NULL &&
          rc > PSF_CHILD_EXIT_REPORT && rc <= 255)
        {
          g_set_error (error, PSF_ERROR, PSF_ERROR_FAILED,
                       _("The child could not send its report: "
                         "write(report channel): %s"),
                       g_strerror (rc - PSF_CHILD_EXIT_REPORT));
          return;
        }
    }

  PSF_TASK_CLASS (psf_fork_process_parent_class)->check (task, error);
}

void
psf_fork_process_set_report_bound (PsfForkProcess *self,
                                   gsize           bytes)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_bound = bytes;
}

void
psf_fork_process_set_report_arrived (PsfForkProcess              *self,
                                     PsfForkProcessReportArrived  func)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_arrived = func;
}

void
psf_fork_process_report_incomplete (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_incomplete = TRUE;
}

PsfStartMethod
psf_fork_process_helper_start_method (void)
{
  return psf_forkserver_is_supported () ? PSF_START_METHOD_FORKSERVER : PSF_START_METHOD_SPAWN;
}

static void
psf_fork_process_finalize (GObject *object)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (object);
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  psf_fork_process_close_report (self);
  g_clear_pointer (&priv->report_buffer, g_byte_array_unref);
  g_clear_pointer (&priv->report, g_bytes_unref);
  if (priv->func_destroy != NULL)
    priv->func_destroy (priv->func_data);

  G_OBJECT_CLASS (psf_fork_process_parent_class)->finalize (object);
}

static void
psf_fork_process_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (object);

  switch (prop_id)
    {
    case PROP_START_METHOD:
      g_value_set_enum (value, psf_fork_process_get_start_method (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_fork_process_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PsfForkProcess *self = PSF_FORK_PROCESS (object);

  switch (prop_id)
    {
    case PROP_START_METHOD:
      psf_fork_process_set_start_method (self, g_value_get_enum (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
psf_fork_process_class_init (PsfForkProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PsfTaskClass *task_class = PSF_TASK_CLASS (klass);
  PsfSubprocessClass *subprocess_class = PSF_SUBPROCESS_CLASS (klass);

  psf_i18n_init ();

  object_class->finalize = psf_fork_process_finalize;
  object_class->get_property = psf_fork_process_get_property;
  object_class->set_property = psf_fork_process_set_property;

  task_class->start = psf_fork_process_start;
  task_class->check = psf_fork_process_check;
  subprocess_class->reaped = psf_fork_process_reaped;

  /**
   * PsfForkProcess:start-method:
   *
   * How the child is created. A #PsfForkProcess made from a C function
   * defaults to %PSF_START_METHOD_FORK, the only method that can run one;
   * a [class@Psf.SyncfsProcess] defaults to %PSF_START_METHOD_FORKSERVER
   * (%PSF_START_METHOD_SPAWN where that cannot run), whose cost does not
   * grow with the host's size.
   *
   * Since: 1.0
   */
  properties[PROP_START_METHOD] =
    g_param_spec_enum ("start-method", NULL, NULL,
                       PSF_TYPE_START_METHOD,
                       PSF_START_METHOD_FORK,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
psf_fork_process_init (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  priv->report_fd = -1;
  priv->start_method = PSF_START_METHOD_FORK;
}

/**
 * psf_fork_process_new_with_func: (skip)
 * @func: the routine the forked child runs
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the process is finalized
 *
 * Creates a process whose child, a fork of the host, runs @func and exits
 * with its return value. @func runs between fork() and _exit(): it may only
 * call async-signal-safe functions. Not available to bindings: an
 * interpreter must never run in a forked child.
 *
 * Returns: (transfer full): a new #PsfForkProcess
 *
 * Since: 1.0
 */
PsfForkProcess *
psf_fork_process_new_with_func (PsfForkFunc    func,
                                gpointer       user_data,
                                GDestroyNotify destroy)
{
  PsfForkProcess *self;
  PsfForkProcessPrivate *priv;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (PSF_TYPE_FORK_PROCESS, NULL);
  priv = psf_fork_process_get_instance_private (self);
  priv->func = func;
  priv->func_data = user_data;
  priv->func_destroy = destroy;
  return self;
}

/**
 * psf_fork_process_get_start_method:
 * @self: a #PsfForkProcess
 *
 * Gets how the child of @self is made.
 *
 * Returns: the [property@Psf.ForkProcess:start-method]
 *
 * Since: 1.0
 */
PsfStartMethod
psf_fork_process_get_start_method (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_FORK_PROCESS (self), PSF_START_METHOD_FORK);

  return priv->start_method;
}

/**
 * psf_fork_process_set_start_method:
 * @self: a #PsfForkProcess
 * @start_method: a #PsfStartMethod
 *
 * Sets [property@Psf.ForkProcess:start-method]. Takes effect at start().
 *
 * Since: 1.0
 */
void
psf_fork_process_set_start_method (PsfForkProcess *self,
                                   PsfStartMethod  start_method)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  g_return_if_fail (PSF_IS_FORK_PROCESS (self));
  g_return_if_fail (start_method == PSF_START_METHOD_FORK ||
                    start_method == PSF_START_METHOD_SPAWN ||
                    start_method == PSF_START_METHOD_FORKSERVER);

  if (priv->start_method == start_method)
    return;
  priv->start_method = start_method;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_START_METHOD]);
}

/**
 * psf_fork_process_get_report:
 * @self: a #PsfForkProcess
 *
 * Gets what the child wrote on its report channel. Available once the
 * child has been reaped, that is from [signal@Psf.Task::exited] on.
 *
 * Returns: (transfer none) (nullable): the report, or %NULL before the exit
 *
 * Since: 1.0
 */
GBytes *
psf_fork_process_get_report (PsfForkProcess *self)
{
  PsfForkProcessPrivate *priv = psf_fork_process_get_instance_private (self);

  g_return_val_if_fail (PSF_IS_FORK_PROCESS (self), NULL);

  return priv->report;
}
