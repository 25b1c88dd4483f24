/* psf-forkserver.c: the host side of the FORKSERVER start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The forkserver
 * ==============
 *
 * FORK copies the host (its cost grows with the host's resident memory),
 * SPAWN execs the helper psf-child for every task (dynamic linking, a
 * fresh address space). FORKSERVER pays the exec once: the first task
 * posix_spawn()s `psf-child --forkserver`, a small server, and every task
 * after that is one request on a SOCK_SEQPACKET socket and one vfork-style
 * child of that server, which shares its address space (nothing to copy or
 * tear down). The server is in psf-forkserver-server.c, the protocol in
 * psf-forkserver-protocol.h.
 *
 * start() (any thread, under server_lock only while it talks to the
 * server):
 *  1. builds the request: the routine, its input, the environment, the
 *     host's cwd (an O_PATH fd), stdio, the fd map and set-up options;
 *     with close-fds FALSE also every inheritable fd of the host, as a
 *     fork or a spawn would pass them;
 *  2. makes a status pipe for this task, sends the request with the write
 *     end (and the CPU we run on: an idle worker waits there, so that the
 *     round trip does not wake an idle CPU), and waits (poll(), at most
 *     ANSWER_TIMEOUT_MS, 500 ms, or NEW_SERVER_TIMEOUT_MS after the start
 *     of a new server) for STARTED with the pid, and for SETUP_DONE when
 *     the server forked the child (a cloned one says STARTED once it is
 *     set up). A child whose set-up failed (its fds, its cwd, the set-up
 *     options) says which call failed instead, and start() fails with
 *     that message, as with FORK and SPAWN; a cloned one is reaped here. The send does not block either: a
 *     server that reads nothing fills its socket, and the send waits for
 *     room only until the same deadline;
 *  3. returns what was started (PsfLaunched), and the caller watches it:
 *     nothing here knows the process types. The common child is made with
 *     CLONE_PARENT: it is this process's own child, the status pipe is
 *     closed at once (relay_fd -1), and the caller reaps it like those of
 *     the other methods (PsfForkProcess: psf_subprocess_watch()). A child
 *     with set-up options is the server's (a fork): start() returns its
 *     pid with the read end of the status pipe, which
 *     psf_forkserver_relay_source_new() turns into a source the caller
 *     attaches to the task's context (G_PRIORITY_DEFAULT, as a child
 *     watch; PsfForkProcess pairs it with psf_subprocess_watch_relayed()).
 *     EXITED there is the wait status: the caller's PsfRelayFunc records
 *     it (psf_subprocess_relay_exit()), then the pipe is closed, which
 *     tells the server to reap the zombie it kept until then, so the pid
 *     is never reused while a signal may still go to it. Before it, the
 *     child itself wrote EXITING with the exit status it leaves with (also
 *     before STARTED, for a quick child: PsfLaunched.exiting), which is
 *     what the task ends with if the server goes before it relays the
 *     exit. In the copy made by a fork() of the host the source removes
 *     itself unheard and leaves the pipe to the parent (the copy's task
 *     is inherited: it refuses wait and signals).
 *
 * The server dies with the host: EOF on its control socket, and SIGHUP as
 * parent-death signal (checked against getppid()). A server that died is
 * noticed by the next send (EPIPE), by EOF on a status pipe before STARTED
 * (the request is then sent once more, to a new server) or before EXITED
 * (that task, a child of the server, ends as killed by SIGKILL: such
 * children carry PR_SET_PDEATHSIG(SIGKILL), so it did die with the server,
 * unless it had said EXITING, whose status it then ends with; a child of
 * our own lives on and is reaped as usual). Each loss is reported once
 * with g_warning() and the server is reaped; the next task starts a new
 * one. A server that dies while a child with set-up options is being set
 * up fails that start() with an error that says so.
 *
 * A server that does not answer in time (stopped with SIGSTOP, wedged)
 * fails that start() with an error that names it, within the bound above,
 * and is killed and reaped: the next task starts a new one. The host's
 * main loop is never held longer than the bound.
 *
 * A server that cannot be started (RLIMIT_NPROC: it needs a few threads
 * more than a spawned helper; EAGAIN, ENOMEM) or that cannot create the
 * child (clone refused by a seccomp filter) is no reason to fail a task
 * that SPAWN can run: start() says so through @use_spawn and the caller
 * runs the task with SPAWN (with a debug message).
 *
 * A server serves one host process with one identity: a fork of the host,
 * a change of effective uid/gid and a change of the helper binary on disk
 * (an upgrade: Portage's reason for a fresh image) each start
 * a new server. The old one finishes relaying the exits of the children it
 * started, then exits; a later start reaps it.
 *
 * What a child gets from the host per task: environment, cwd, stdio, fds,
 * credentials/namespaces/cgroup/umask options. What it gets from the
 * server, i.e. from the host as it was when the server started: resource
 * limits (the server raises its own RLIMIT_NOFILE and gives its children
 * the host's back), the process umask when the task sets none, the
 * scheduling policy, and the libraries loaded (LD_PRELOAD included).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "psf-child-private.h"
#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-fork-guard-private.h"
#include "psf-forkserver-private.h"
#include "psf-launch-private.h"
#include "psf-forkserver-protocol.h"
#include "psf-i18n-private.h"

/* How long start() waits for the server's answer. A new server first has
 * to be exec'd, linked and started, which a loaded machine (or a
 * sanitizer build) may take a while to do. An AddressSanitizer build's
 * server forks its children (a clone cannot share its shadow memory), and
 * such a fork copies page tables for terabytes of mapped shadow: there an
 * answer may take seconds on a busy machine, so the bound is that of a new
 * server. */
#if defined(__SANITIZE_ADDRESS__)
#define ANSWER_TIMEOUT_MS     5000
#else
#define ANSWER_TIMEOUT_MS     500
#endif
#define NEW_SERVER_TIMEOUT_MS 5000

/* Where the server's end of the socket waits before it becomes fd 3. */
#define SERVER_FD_FLOOR 10

typedef struct
{
  guint           owner_forks; /* fork generation when it was started */
  GPid            pid;
  int             sock;
  guint           generation;  /* bumped at every start */
  guint           restarts;    /* servers lost */
  dev_t           helper_dev;
  ino_t           helper_ino;
  struct timespec helper_mtime;
  gint64          helper_checked;  /* monotonic µs of the last look */
  uid_t           euid;
  gid_t           egid;
  gint64          spawned_at;  /* monotonic µs */
  dev_t           cwd_dev;     /* its cwd, which its children start in */
  ino_t           cwd_ino;
  GArray         *retired;     /* pids of retired servers not reaped yet */
} ServerState;

/* How often start() looks whether the helper on disk changed. */
#define HELPER_CHECK_INTERVAL_US G_USEC_PER_SEC

static GMutex server_lock;
static ServerState server = { .sock = -1 };

/* The last server generation that answered a request: from then on, it has
 * ANSWER_TIMEOUT_MS to answer; before, it may still be starting up. */
static guint answered_generation;

/* Taken across every fork() of the host (psf-fork-guard.c), so that a
 * copy made while another thread is inside start() gets it free; and the
 * copy, whose fork generation is new, knows the server is not its own. */
static void
guard_server_lock (void)
{
  static gsize registered;

  if (g_once_init_enter (&registered))
    {
      psf_fork_guard_add_lock (&server_lock);
      g_once_init_leave (&registered, 1);
    }
}

static gboolean
server_is_ours_locked (void)
{
  return server.owner_forks == psf_fork_guard_generation ();
}

static void
close_server_sock_locked (void)
{
  psf_fork_guard_close_fd (&server.sock, server.owner_forks);
}

typedef enum
{
  ANSWER_STARTED,
  ANSWER_FAILED,       /* error set */
  ANSWER_SERVER_GONE,  /* try again with a new server */
  ANSWER_TIMED_OUT,    /* no answer before the deadline */
  ANSWER_SETUP_EOF,    /* started, then silence during the set-up */
} Answer;

static char *
describe_wait_status (int status)
{
  if (WIFEXITED (status))
    return g_strdup_printf (_("exited with status %d"), WEXITSTATUS (status));
  if (WIFSIGNALED (status))
    return g_strdup_printf (_("was killed by signal %d (%s)"),
                            WTERMSIG (status), g_strsignal (WTERMSIG (status)));
  return g_strdup_printf (_("ended with wait status %d"), status);
}

static void
reap_retired_locked (void)
{
  if (server.retired == NULL)
    return;

  for (guint i = 0; i < server.retired->len; )
    {
      GPid pid = g_array_index (server.retired, GPid, i);
      pid_t r;

      do
        r = waitpid (pid, NULL, WNOHANG);
      while (r < 0 && errno == EINTR);

      if (r == 0)
        i++;
      else
        g_array_remove_index_fast (server.retired, i);
    }
}

/* Lets the server finish the children it started, then exit. */
static void
retire_locked (void)
{
  close_server_sock_locked ();
  if (server.retired == NULL)
    server.retired = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_array_append_val (server.retired, server.pid);
  server.pid = 0;
}

/* The server died or stopped answering: make sure it is gone, reap it and
 * say so once (with g_warning() when @warn, else the caller's error
 * does). Returns how it ended, for the caller's message. */
static char *
lost_locked (gboolean warn)
{
  GPid pid = server.pid;
  g_autofree char *how = NULL;
  int status = 0;
  pid_t r;

  close_server_sock_locked ();
  server.pid = 0;
  server.restarts++;

  do
    r = waitpid (pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    {
      kill (pid, SIGKILL);
      do
        r = waitpid (pid, &status, 0);
      while (r < 0 && errno == EINTR);
    }

  how = r == pid ? describe_wait_status (status) : g_strdup (_("is gone"));
  if (warn)
    g_warning (_("The psf forkserver (pid %d) %s; a new one starts with the next task"),
               (int) pid, how);
  return g_steal_pointer (&how);
}

static void
forkserver_lost (guint generation)
{
  g_mutex_lock (&server_lock);
  if (server.sock >= 0 && server.generation == generation && server_is_ours_locked ())
    g_free (lost_locked (TRUE));
  g_mutex_unlock (&server_lock);
}

static gboolean
helper_error (GError     **error,
              const char  *helper,
              int          saved_errno)
{
  g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
               _("Cannot run the helper %s: %s"), helper, g_strerror (saved_errno));
  return FALSE;
}

/* Fails with *@helper_missing set when the helper cannot be run at all
 * (SPAWN could not run it either). */
static gboolean
spawn_server_locked (gboolean  *helper_missing,
                     GError   **error)
{
  const char *helper = psf_launch_get_helper_path ();
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  struct stat st;
  char host_pid[24];
  char *argv[4];
  int sv[2];
  int server_end;
  pid_t pid;
  int r;

  if (stat (helper, &st) < 0 || access (helper, X_OK) < 0)
    {
      *helper_missing = TRUE;
      return helper_error (error, helper, errno);
    }

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      int saved = errno;

      psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "socketpair", "AF_UNIX, SOCK_SEQPACKET");
      return FALSE;
    }

  /* Above fd 3, so that the dup2() onto 3 never meets its own source. */
  server_end = fcntl (sv[1], F_DUPFD_CLOEXEC, SERVER_FD_FLOOR);
  close (sv[1]);
  if (server_end < 0)
    {
      int saved = errno;

      close (sv[0]);
      psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "fcntl", "F_DUPFD_CLOEXEC");
      return FALSE;
    }

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_adddup2 (&actions, server_end, PSF_FORKSERVER_SOCKET_FD);
  posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np (&actions, PSF_FORKSERVER_SOCKET_FD + 1);

  posix_spawnattr_init (&attr);
  psf_launch_spawnattr_clean_signals (&attr);

  g_snprintf (host_pid, sizeof host_pid, "%d", (int) getpid ());
  argv[0] = (char *) helper;
  argv[1] = (char *) PSF_FORKSERVER_ARG;
  argv[2] = host_pid;
  argv[3] = NULL;

  r = posix_spawn (&pid, helper, &actions, &attr, argv, environ);

  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  close (server_end);

  if (r != 0)
    {
      close (sv[0]);
      return helper_error (error, helper, r);
    }

  server.owner_forks = psf_fork_guard_generation ();
  server.pid = pid;
  server.sock = sv[0];
  psf_fork_guard_own_fd (server.sock);
  server.generation++;
  server.helper_dev = st.st_dev;
  server.helper_ino = st.st_ino;
  server.helper_mtime = st.st_mtim;
  server.helper_checked = g_get_monotonic_time ();
  server.spawned_at = server.helper_checked;
  server.euid = geteuid ();
  server.egid = getegid ();
  if (stat (".", &st) == 0)
    {
      server.cwd_dev = st.st_dev;
      server.cwd_ino = st.st_ino;
    }
  else
    server.cwd_dev = server.cwd_ino = 0;
  g_debug ("Started the forkserver %s (pid %d)", helper, (int) pid);
  return TRUE;
}

static gboolean
server_is_current_locked (void)
{
  gint64 now = g_get_monotonic_time ();
  struct stat st;

  if (geteuid () != server.euid || getegid () != server.egid)
    return FALSE;

  /* An upgrade is noticed within HELPER_CHECK_INTERVAL_US. */
  if (now - server.helper_checked < HELPER_CHECK_INTERVAL_US)
    return TRUE;
  server.helper_checked = now;
  return stat (psf_launch_get_helper_path (), &st) == 0 &&
         st.st_dev == server.helper_dev && st.st_ino == server.helper_ino &&
         st.st_mtim.tv_sec == server.helper_mtime.tv_sec &&
         st.st_mtim.tv_nsec == server.helper_mtime.tv_nsec;
}

static gboolean
ensure_server_locked (gboolean  *helper_missing,
                      GError   **error)
{
  if (server.sock >= 0 && !server_is_ours_locked ())
    {
      /* We are a fork of the host that started it: not ours. The fork
       * closed our copy of its socket; the number may be another file now. */
      close_server_sock_locked ();
      server.pid = 0;
      if (server.retired != NULL)
        g_array_set_size (server.retired, 0);
    }

  reap_retired_locked ();

  if (server.sock >= 0)
    {
      if (server_is_current_locked ())
        return TRUE;
      g_debug ("The forkserver (pid %d) is stale (new helper or credentials): retiring it",
               (int) server.pid);
      retire_locked ();
    }

  return spawn_server_locked (helper_missing, error);
}

/* The request of one task, built once and sent to whichever server. */
typedef struct
{
  GByteArray *message;     /* header + inline payload */
  GArray     *fds;         /* [0] is each attempt's status pipe */
  int         payload_fd;  /* ours, or -1 */
  int         cwd_fd;      /* ours, or -1 */
  guint       generation;  /* of the server it was built for */
} Request;

static void
request_clear (Request *request)
{
  g_clear_pointer (&request->message, g_byte_array_unref);
  g_clear_pointer (&request->fds, g_array_unref);
  if (request->payload_fd >= 0)
    close (request->payload_fd);
  if (request->cwd_fd >= 0)
    close (request->cwd_fd);
  request->payload_fd = -1;
  request->cwd_fd = -1;
}

static guint32
payload_append (GByteArray    *payload,
                gconstpointer  data,
                gsize          len,
                gsize          align)
{
  static const guint8 zeros[8] = { 0 };
  guint32 off;

  if (align > 1 && payload->len % align != 0)
    g_byte_array_append (payload, zeros, (guint) (align - payload->len % align));
  off = payload->len;
  if (len > 0)
    g_byte_array_append (payload, data, (guint) len);
  return off;
}

static guint32
payload_append_string (GByteArray *payload,
                       const char *text)
{
  if (text == NULL)
    return PSF_FORKSERVER_NO_STRING;
  return payload_append (payload, text, strlen (text) + 1, 1);
}

static gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) >= 0;
}

/* The host's fds that a fork or a spawn would pass on: no FD_CLOEXEC. */
static void
add_inheritable_fds (GArray *sources,
                     GArray *targets)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int fd = atoi (name);
      int flags = fcntl (fd, F_GETFD);

      if (fd <= STDERR_FILENO || flags < 0 || (flags & FD_CLOEXEC))
        continue;
      g_array_append_val (sources, fd);
      g_array_append_val (targets, fd);
    }
}

static gboolean
request_build (Request                    *request,
               const PsfLaunch  *launch,
               gboolean                    check_stdio,
               dev_t                       server_cwd_dev,
               ino_t                       server_cwd_ino,
               GError                    **error)
{
  PsfForkserverRequest header = { 0 };
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GArray) sources = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) targets = g_array_new (FALSE, FALSE, sizeof (gint32));
  const char * const *env = launch->env != NULL ? launch->env : (const char * const *) environ;
  const PsfChildSetup *setup = &launch->setup;
  int placeholder = -1;
  gsize n_fds;

  request->payload_fd = -1;
  request->cwd_fd = -1;
  request->fds = g_array_new (FALSE, FALSE, sizeof (int));
  request->message = NULL;

  /* The host's stdio, as the other methods leave it to the child; an
   * output log takes stdout and stderr. Then what the host would pass on,
   * then the fd map, which wins. */
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
    if ((fd == STDIN_FILENO || launch->output_fd < 0) && (!check_stdio || fd_is_open (fd)))
      {
        g_array_append_val (sources, fd);
        g_array_append_val (targets, fd);
      }
  if (!launch->close_fds)
    add_inheritable_fds (sources, targets);
  for (guint i = 0; i < launch->n_fds; i++)
    {
      gint32 target = launch->target_fds[i];

      g_array_append_vals (sources, &launch->source_fds[i], 1);
      g_array_append_val (targets, target);
    }

  header.magic = PSF_FORKSERVER_REQUEST_MAGIC;
  header.n_maps = sources->len;
  header.targets_off = payload_append (payload, targets->data,
                                       targets->len * sizeof (gint32), sizeof (gint32));
  header.routine_off = payload_append_string (payload, launch->routine);
  header.cwd_off = payload_append_string (payload, launch->cwd);

  header.env_off = payload->len;
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      payload_append_string (payload, env[i]);
      header.n_env++;
    }

  if (setup != NULL && !psf_child_setup_is_empty (setup))
    {
      gsize setup_len = psf_child_setup_encode (setup, NULL, 0);
      g_autofree guint8 *record = g_malloc (MAX (setup_len, 1));

      psf_child_setup_encode (setup, record, setup_len);
      header.flags |= PSF_FORKSERVER_SETUP;
      header.setup_off = payload_append (payload, record, setup_len, 8);
      header.setup_len = setup_len;
    }

  if (launch->input != NULL)
    {
      gsize len = 0;
      gconstpointer data = g_bytes_get_data (launch->input, &len);

      header.input_off = payload_append (payload, data, len, 8);
      header.input_len = len;
    }
  header.payload_len = payload->len;

  /* The fds, in the order of psf-forkserver-protocol.h. */
  g_array_append_val (request->fds, placeholder);
  g_array_append_val (request->fds, launch->report_fd);

  if (payload->len > PSF_FORKSERVER_MAX_INLINE)
    {
      request->payload_fd = psf_launch_memfd_new ("psf-forkserver-request",
                                                  payload->data, payload->len, error);
      if (request->payload_fd < 0)
        {
          request_clear (request);
          return FALSE;
        }
      header.flags |= PSF_FORKSERVER_PAYLOAD_FD;
      g_array_append_val (request->fds, request->payload_fd);
      g_byte_array_set_size (payload, 0);
    }

  /* The host's cwd, even when it can no longer be reached by its path,
   * unless the server's children start there anyway or go elsewhere. */
  if (launch->cwd == NULL || !g_path_is_absolute (launch->cwd))
    {
      struct stat st;

      if (stat (".", &st) != 0 || st.st_dev != server_cwd_dev || st.st_ino != server_cwd_ino)
        request->cwd_fd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  if (request->cwd_fd >= 0)
    {
      header.flags |= PSF_FORKSERVER_CWD_FD;
      g_array_append_val (request->fds, request->cwd_fd);
    }
  if (launch->output_fd >= 0)
    {
      header.flags |= PSF_FORKSERVER_OUTPUT_FD;
      g_array_append_val (request->fds, launch->output_fd);
    }
  g_array_append_vals (request->fds, sources->data, sources->len);

  n_fds = request->fds->len;
  if (n_fds > PSF_FORKSERVER_MAX_FDS)
    {
      request_clear (request);
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("The forkserver takes at most %u fds per child, this one needs %u: "
                     "use the SPAWN start method"),
                   PSF_FORKSERVER_MAX_FDS, (guint) n_fds);
      return FALSE;
    }
  header.n_fds = (guint32) n_fds;

  request->message = g_byte_array_sized_new (sizeof header + payload->len);
  g_byte_array_append (request->message, (const guint8 *) &header, sizeof header);
  g_byte_array_append (request->message, payload->data, payload->len);
  return TRUE;
}

/* Returns 0 or an errno: ETIMEDOUT when the server's socket stays full
 * until @deadline. */
static int
request_send_locked (Request *request,
                     gint64   deadline)
{
  union
  {
    struct cmsghdr header;
    char           space[CMSG_SPACE (sizeof (int) * PSF_FORKSERVER_MAX_FDS)];
  } control;
  struct iovec iov = { request->message->data, request->message->len };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  gsize fds_len = request->fds->len * sizeof (int);

  memset (&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.space;
  msg.msg_controllen = CMSG_SPACE (fds_len);
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (fds_len);
  memcpy (CMSG_DATA (cmsg), request->fds->data, fds_len);

  /* Where we run now: the server keeps a worker waiting there. */
  ((PsfForkserverRequest *) (void *) request->message->data)->host_cpu = sched_getcpu ();

  for (;;)
    {
      struct pollfd pfd = { server.sock, POLLOUT, 0 };
      gint64 left;

      if (sendmsg (server.sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
        return 0;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        return errno;
      left = (deadline - g_get_monotonic_time ()) / 1000;
      if (left <= 0)
        return ETIMEDOUT;
      if (poll (&pfd, 1, (int) MIN (left, G_MAXINT)) < 0 && errno != EINTR)
        return errno;
    }
}

/* Reads exactly @len bytes before @deadline: 1, 0 at EOF, -1 on an error,
 * -2 on timeout. */
static int
read_exactly (int     fd,
              void   *buffer,
              gsize   len,
              gint64  deadline)
{
  gsize got = 0;

  while (got < len)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;
      int r;

      r = poll (&pfd, 1, (int) CLAMP (left, 0, G_MAXINT));
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0)
        return -2;
      if (r < 0)
        return -1;

      n = read (fd, (char *) buffer + got, len - got);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      got += (gsize) n;
    }
  return 1;
}

/* A child that said its set-up failed: when it is one of ours (a
 * CLONE_VM child, which says STARTED after the error), reaps it, as no
 * task will. */
static void
reap_failed_child (int      fd,
                   GPid     pid,
                   gboolean ours,
                   gint64   deadline)
{
  PsfForkserverStatus status;

  while (pid == 0 && read_exactly (fd, &status, sizeof status, deadline) == 1)
    if (status.magic == PSF_FORKSERVER_STARTED)
      {
        pid = status.pid;
        ours = status.value == PSF_FORKSERVER_YOURS;
      }
  if (pid > 0 && ours)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
}

/* Waits for the child's STARTED, and for a child the server forked also
 * for the end of its set-up (SETUP_DONE); a CLONE_VM child says STARTED
 * only once it is set up. */
static Answer
await_started (int       fd,
               gint64    deadline,
               GPid     *pid_out,
               gboolean *ours_out,
               int      *exiting_out,
               int      *refused_out,
               GError  **error)
{
  gboolean setup_done = FALSE;
  GPid pid = 0;

  *ours_out = FALSE;
  while (pid == 0 || !(*ours_out || setup_done))
    {
      union
      {
        PsfForkserverStatus status;
        PsfSetupError       setup;
      } record;
      int r = read_exactly (fd, &record, sizeof record.status, deadline);

      if (r == -2)
        return ANSWER_TIMED_OUT;
      if (r < 0)
        return ANSWER_SERVER_GONE;
      if (r == 0)
        return pid == 0 ? ANSWER_SERVER_GONE : ANSWER_SETUP_EOF;

      switch (record.status.magic)
        {
        case PSF_FORKSERVER_STARTED:
          pid = record.status.pid;
          *ours_out = record.status.value == PSF_FORKSERVER_YOURS;
          break;

        case PSF_FORKSERVER_SETUP_DONE:
          setup_done = TRUE;
          break;

        case PSF_FORKSERVER_EXITING:
          /* A quick child may be done before the server said STARTED. */
          *exiting_out = record.status.value;
          break;

        case PSF_FORKSERVER_REFUSED:
          *refused_out = record.status.value;
          g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                       _("The forkserver could not start the child: %s"),
                       g_strerror (record.status.value));
          return ANSWER_FAILED;

        case PSF_SETUP_ERROR_MAGIC:
          {
            /* The rest of it; cut short, it is refused as such. */
            gsize got = sizeof record.status;

            if (read_exactly (fd, (char *) &record + got, sizeof record.setup - got, deadline) == 1)
              got = sizeof record.setup;
            psf_set_error_from_setup_record (error, &record, got);
            reap_failed_child (fd, pid, *ours_out, deadline);
            return ANSWER_FAILED;
          }

        case PSF_FORKSERVER_EXITED:
          {
            g_autofree char *how = describe_wait_status (record.status.value);

            /* TRANSLATORS: %s is how it ended, as in "was killed by
             * signal 9 (Killed)". */
            g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                         _("The child process %s while it set itself up"), how);
            return ANSWER_FAILED;
          }

        default:
          g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                       _("The forkserver sent a record this psf does not know (%#x): "
                         "is psf-child of another version?"),
                       (guint) record.status.magic);
          return ANSWER_FAILED;
        }
    }

  if (pid <= 0)
    return ANSWER_SERVER_GONE;
  *pid_out = pid;
  return ANSWER_STARTED;
}

/* Whether the server of @generation has exited, looking for a short while:
 * its end of a status pipe closes a moment before it becomes waitable. */
static gboolean
server_exited_locked (guint generation)
{
  if (server.sock < 0 || server.generation != generation || !server_is_ours_locked ())
    return FALSE;

  for (guint i = 0; i < 20; i++)
    {
      siginfo_t info;

      memset (&info, 0, sizeof info);
      if (waitid (P_PID, (id_t) server.pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD;
      if (info.si_pid != 0)
        return TRUE;
      g_usleep (1000);
    }
  return FALSE;
}

/* The exit of one child, relayed on its status pipe. */
typedef struct
{
  PsfRelayFunc   func;
  gpointer       user_data;
  GDestroyNotify destroy;
  GPid           pid;
  int            fd;
  guint          owner_forks; /* fork generation that owns @fd */
  guint          generation;  /* of the server that relays it */
  int            exiting;     /* the status the child said it exits with, or -1 */
} Relay;

static void
relay_free (gpointer data)
{
  Relay *relay = data;

  psf_fork_guard_close_fd (&relay->fd, relay->owner_forks);
  if (relay->destroy != NULL)
    relay->destroy (relay->user_data);
  g_free (relay);
}

static gboolean
relay_ready_cb (int          fd,
                GIOCondition condition,
                gpointer     data)
{
  Relay *relay = data;
  PsfForkserverStatus status;
  int wait_status;
  ssize_t n;

  /* A fork's copy: the exit is the parent's to hear (and to acknowledge,
   * which lets the server reap the zombie). */
  if (relay->owner_forks != psf_fork_guard_generation ())
    return G_SOURCE_REMOVE;

  for (;;)
    {
      do
        n = read (relay->fd, &status, sizeof status);
      while (n < 0 && errno == EINTR);

      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
      if (n == sizeof status && status.magic == PSF_FORKSERVER_EXITING)
        {
          relay->exiting = status.value;
          relay->func (PSF_RELAY_EXITING, 0, relay->user_data);
          continue;
        }
      break;
    }

  if (n == sizeof status && status.magic == PSF_FORKSERVER_EXITED)
    wait_status = status.value;
  else if (relay->exiting >= 0)
    {
      /* The server went before it relayed the exit (stopped, then
       * replaced), after the child said how it leaves. */
      g_debug ("The forkserver is gone: process %d said it exits with %d",
               (int) relay->pid, relay->exiting);
      forkserver_lost (relay->generation);
      wait_status = W_EXITCODE (relay->exiting, 0);
    }
  else
    {
      /* The server went before the exit reached us; the child went with
       * it (PR_SET_PDEATHSIG). */
      g_debug ("The forkserver is gone: process %d is reported killed",
               (int) relay->pid);
      forkserver_lost (relay->generation);
      wait_status = SIGKILL;
    }

  relay->func (PSF_RELAY_EXITED, wait_status, relay->user_data);

  /* Only now may the server reap the zombie: the exit is recorded and no
   * signal will be sent to that pid any more. */
  psf_fork_guard_close_fd (&relay->fd, relay->owner_forks);
  return G_SOURCE_REMOVE;
}

GSource *
psf_forkserver_relay_source_new (const PsfLaunched *launched,
                                 PsfRelayFunc       func,
                                 gpointer           user_data,
                                 GDestroyNotify     destroy)
{
  Relay *relay;
  GSource *source;

  g_return_val_if_fail (launched != NULL && launched->relay_fd >= 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  relay = g_new0 (Relay, 1);
  relay->func = func;
  relay->user_data = user_data;
  relay->destroy = destroy;
  relay->pid = launched->pid;
  relay->fd = launched->relay_fd;
  relay->owner_forks = psf_fork_guard_generation ();
  relay->generation = launched->relay_generation;
  relay->exiting = launched->exiting;

  source = g_unix_fd_source_new (relay->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, G_SOURCE_FUNC (relay_ready_cb), relay, relay_free);
  g_source_set_static_name (source, "[psf] forkserver exit");
  return source;
}

static gboolean
is_server_gone (int saved_errno)
{
  return saved_errno == EPIPE || saved_errno == ECONNRESET ||
         saved_errno == ENOTCONN || saved_errno == ECONNREFUSED;
}

/* A refusal that SPAWN does not meet: the server could not make a process
 * or a thread (clone refused, RLIMIT_NPROC, memory). */
static gboolean
is_spawn_worth_trying (int saved_errno)
{
  return saved_errno == EAGAIN || saved_errno == ENOMEM ||
         saved_errno == EPERM || saved_errno == ENOSYS;
}

/* The server did not answer by @deadline: it is stopped or wedged. It is
 * killed and reaped, and the next task starts a new one. */
static void
server_timed_out (guint       generation,
                  gint64      waited_us,
                  GError    **error)
{
  GPid pid = 0;

  g_mutex_lock (&server_lock);
  if (server.sock >= 0 && server.generation == generation && server_is_ours_locked ())
    {
      pid = server.pid;
      g_free (lost_locked (FALSE));
    }
  g_mutex_unlock (&server_lock);

  g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
               _("The psf forkserver (pid %d) did not answer within %d ms (stopped or "
                 "stuck): it was killed, and the next task starts a new one"),
               (int) pid, (int) (waited_us / 1000));
}

/* EOF during the set-up of a child of the server's: the server died (the
 * child went with it), or the child did, without a word. */
static void
setup_silent (guint     generation,
              GError  **error)
{
  g_autofree char *how = NULL;
  GPid pid = 0;

  g_mutex_lock (&server_lock);
  if (server_exited_locked (generation))
    {
      pid = server.pid;
      how = lost_locked (FALSE);
    }
  g_mutex_unlock (&server_lock);

  if (how != NULL)
    /* TRANSLATORS: the second %s is how it ended, as in "was killed by
     * signal 9 (Killed)". */
    g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                 _("The psf forkserver (pid %d) %s while it was starting the child, "
                   "which went with it; the next task starts a new server"),
                 (int) pid, how);
  else
    g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                 _("The child process failed to set itself up"));
}

gboolean
psf_forkserver_start_child (const PsfLaunch  *launch,
                            PsfLaunched      *launched,
                            gboolean         *use_spawn,
                            GError          **error)
{
  Request request;
  GPid pid = 0;
  gboolean ours = FALSE;
  int status_fd = -1;
  int exiting = -1;
  int refused = 0;
  guint generation = 0;

  g_return_val_if_fail (launch != NULL && launched != NULL, FALSE);

  *use_spawn = FALSE;
  if (launch->setup.child_setup != NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("A child-setup function needs the FORK start method"));
      return FALSE;
    }

  memset (&request, 0, sizeof request);
  request.payload_fd = request.cwd_fd = -1;

  for (guint attempt = 0; status_fd < 0; attempt++)
    {
      gboolean helper_missing = FALSE;
      gint64 sent_at;
      gint64 deadline;
      int status[2];
      Answer answer;
      int saved;

      if (attempt == 2)
        {
          request_clear (&request);
          g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                       _("The psf forkserver died twice in a row while starting a child"));
          *use_spawn = TRUE;
          return FALSE;
        }

      /* Non-blocking from the start: read with poll() here, then watched
       * by the task's context. */
      if (pipe2 (status, O_CLOEXEC | O_NONBLOCK) < 0)
        {
          saved = errno;
          request_clear (&request);
          psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "pipe2", NULL);
          return FALSE;
        }

      guard_server_lock ();
      g_mutex_lock (&server_lock);
      if (!ensure_server_locked (&helper_missing, error))
        {
          g_mutex_unlock (&server_lock);
          close (status[0]);
          close (status[1]);
          request_clear (&request);
          *use_spawn = !helper_missing;
          return FALSE;
        }
      generation = server.generation;
      sent_at = g_get_monotonic_time ();
      deadline = sent_at + (gint64) ANSWER_TIMEOUT_MS * 1000;
      if ((guint) g_atomic_int_get (&answered_generation) != generation)
        deadline = MAX (deadline, server.spawned_at + (gint64) NEW_SERVER_TIMEOUT_MS * 1000);

      /* The request depends on the server (whether it needs our cwd), and
       * stdio is sent without looking first: a closed one fails the send
       * with EBADF, and the request is built again looking. */
      saved = EBADF;
      for (gboolean check_stdio = FALSE; saved == EBADF; check_stdio = TRUE)
        {
          if (request.message == NULL || request.generation != generation || check_stdio)
            {
              request_clear (&request);
              if (!request_build (&request, launch, check_stdio,
                                  server.cwd_dev, server.cwd_ino, error))
                {
                  g_mutex_unlock (&server_lock);
                  close (status[0]);
                  close (status[1]);
                  return FALSE;
                }
              request.generation = generation;
            }
          g_array_index (request.fds, int, 0) = status[1];
          saved = request_send_locked (&request, deadline);
          if (check_stdio)
            break;
        }
      g_mutex_unlock (&server_lock);
      close (status[1]);

      if (saved == 0)
        answer = await_started (status[0], deadline, &pid, &ours, &exiting,
                                &refused, error);
      else if (saved == ETIMEDOUT)
        answer = ANSWER_TIMED_OUT;
      else if (is_server_gone (saved))
        answer = ANSWER_SERVER_GONE;
      else
        {
          g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                       _("Cannot send a request to the forkserver: %s"), g_strerror (saved));
          answer = ANSWER_FAILED;
        }

      if (answer == ANSWER_STARTED)
        {
          g_atomic_int_set (&answered_generation, generation);
          status_fd = status[0];
          break;
        }

      /* Closing it lets the server reap whatever it started. */
      close (status[0]);
      if (answer == ANSWER_TIMED_OUT)
        server_timed_out (generation, g_get_monotonic_time () - sent_at, error);
      else if (answer == ANSWER_SETUP_EOF)
        setup_silent (generation, error);
      if (answer != ANSWER_SERVER_GONE)
        {
          *use_spawn = answer == ANSWER_FAILED && is_spawn_worth_trying (refused);
          request_clear (&request);
          return FALSE;
        }
      forkserver_lost (generation);
    }

  request_clear (&request);
  if (ours)
    {
      /* Our own child: the caller reaps it, as any other. */
      close (status_fd);
      *launched = (PsfLaunched) { .pid = pid, .relay_fd = -1, .exiting = -1 };
      return TRUE;
    }

  psf_fork_guard_own_fd (status_fd);
  *launched = (PsfLaunched) {
    .pid = pid,
    .relay_fd = status_fd,
    .relay_generation = generation,
    .exiting = exiting,
  };
  return TRUE;
}

gboolean
psf_forkserver_is_supported (void)
{
  static gsize supported;

  if (g_once_init_enter (&supported))
    {
      int sv[2];
      gsize result = 1;

      if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0)
        {
          close (sv[0]);
          close (sv[1]);
          result = 2;
        }
      g_once_init_leave (&supported, result);
    }
  return supported == 2;
}
