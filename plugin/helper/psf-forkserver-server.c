/* psf-forkserver-server.c: the forkserver, a mode of the helper psf-child
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, no GLib. `psf-child --forkserver HOST_PID` is started by the
 * host on first use of PSF_START_METHOD_FORKSERVER (psf-forkserver.c) and
 * lives as long as the host. The protocol is in psf-forkserver-protocol.h.
 *
 * How a child is made
 * -------------------
 * What costs in fork() is not the copy of a small process's memory but
 * making and tearing down an address space (page tables, VMAs) and the
 * wakeups around it. So the common child shares the server's: a worker
 * thread clone()s it with CLONE_VM | CLONE_VFORK on a stack of its own, as
 * posix_spawn() does, and sleeps until the child has exited. With
 * CLONE_PARENT the child is the host's child, not ours: it tells the host
 * its pid itself (STARTED, "yours"), and the host reaps it, signals it and
 * learns its exit as for any child of its own (its pidfd watch, the
 * floor of psf's own start methods). The server has nothing more to do
 * with it, and a server that dies does not take it along.
 *
 * The child is a process of its own (pid, signals, wait status, fd table,
 * cwd, signal dispositions: no CLONE_FILES/FS/SIGHAND), but it runs on the
 * sleeping worker's thread-local storage, so it may only do what a vfork()
 * child may: raw system calls through libc, on its own stack and fds; no
 * malloc, no threads (its filesystems are synced at once by _Fork()ed
 * sub-children, see psf_syncfs_sync_many_forked()), no set*id() (glibc
 * would broadcast it to the server's threads) and no write to the server's
 * memory.
 *
 * A request with set-up options (credentials, namespaces, cgroup, umask),
 * or whose environment is not the server's while other such children run,
 * gets a plain fork() instead, whose child is a copy: the same
 * async-signal-safe code as the FORK method's child. That child is ours:
 * its worker waits for it with waitid(WNOWAIT), writes EXITED with its wait
 * status, and the zombie stays until the host has closed its end of the
 * status pipe (its acknowledgement), so the host never signals a pid that
 * could have been reused. Such children carry PR_SET_PDEATHSIG(SIGKILL):
 * they never outlive a crashed server, whose host then reports them killed
 * instead of waiting forever.
 *
 * Threads
 * -------
 *  - Idle workers wait on the control socket, each in an epoll set of its
 *    own with EPOLLEXCLUSIVE, so a request wakes exactly one. It serves the
 *    request and sleeps while its child runs. When the last idle worker
 *    takes a request it asks the main thread for another. A worker per
 *    running child: a thousand tasks at once are a thousand workers, each
 *    mostly a small stack. An idle worker waits bound to the CPU its last
 *    request came from (the request says where the host ran), so that the
 *    next request, the clone and STARTED stay on the host's CPU instead of
 *    waking an idle one (see follow_host()).
 *  - The main thread keeps an epoll set: a signalfd for SIGHUP, our
 *    parent-death signal (checked against getppid(), since the kernel also
 *    sends it when only the host thread that spawned us ends), an eventfd
 *    the workers poke, and the status pipes of forked children that exited:
 *    EPOLLERR there is the host's acknowledgement, and the zombie is reaped.
 *
 * The server exits when the control socket is closed (EOF) and nothing is
 * left to relay or reap, or at once when the host is gone.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-setup-private.h"
#include "psf-forkserver-protocol.h"

#define CHILD_SETUP_FAILED 127

#define WORKER_STACK  (128 * 1024)
#define CHILD_STACK   (256 * 1024)
#define FIRST_WORKERS 2

#define ID_SIGNALS UINT64_MAX
#define ID_WAKE    (UINT64_MAX - 1)

/* A child that exited and whose host end is still open. */
typedef struct
{
  pid_t pid;        /* 0: free */
  int   status_fd;
} Zombie;

typedef union
{
  PsfForkserverRequest header;
  char                 bytes[sizeof (PsfForkserverRequest) + PSF_FORKSERVER_MAX_INLINE];
} Message;

typedef struct
{
  Message  message;
  int      epoll_fd;     /* the control socket, EPOLLEXCLUSIVE */
  char    *child_stack;  /* for CLONE_VM children, made on first use */
  int      cpu;          /* the CPU it is bound to while idle, or -1 */
} Worker;

static struct
{
  pid_t            host_pid;
  pid_t            self_pid;
  int              control_fd;
  int              epoll_fd;
  int              signal_fd;
  int              wake_fd;

  pthread_mutex_t  lock;
  int              control_closed;
  int              need_worker;
  size_t           workers;
  size_t           idle;
  size_t           serving;       /* requests being served */
  size_t           vm_children;   /* CLONE_VM children running */
  Zombie          *zombies;
  size_t           n_zombies;
  size_t           held;          /* zombies in use */

  /* The environment CLONE_VM children see: environ itself. */
  char            *env_block;
  size_t           env_len;
  char           **env;

  /* The CPUs we may run on, as the host gave them to us. */
  cpu_set_t        cpus;
  int              have_cpus;

  /* The RLIMIT_NOFILE the host gave us, which we raised and give our
   * children back. */
  struct rlimit    child_nofile;
  int              nofile_raised;
} server = {
  .lock = PTHREAD_MUTEX_INITIALIZER,
};

static void
write_status (int      fd,
              uint32_t magic,
              pid_t    pid,
              int      value)
{
  PsfForkserverStatus status = { magic, pid, value, 0 };

  if (fd >= 0)
    psf_child_write_all (fd, &status, sizeof status);
}

static void
poke_main (void)
{
  uint64_t one = 1;

  if (write (server.wake_fd, &one, sizeof one) < 0)
    {
      /* The counter cannot overflow in practice; nothing to do. */
    }
}

/* What a request asks for, checked and decoded. */
typedef struct
{
  const PsfForkserverRequest *request;
  const char     *payload;
  int            *fds;         /* as received */
  size_t          n_fds;
  int             status_fd;
  int             report_fd;
  int             cwd_fd;
  int             output_fd;
  const int      *sources;
  const int32_t  *targets;
  const char     *cwd;
  const char     *env_block;
  size_t          env_len;
  char          **env;         /* for a forked child */
  PsfChildRoutine routine;
  const void     *input;
  size_t          input_len;
  PsfChildSetup   setup;
  int             has_setup;
  pid_t           vm_pid;      /* a CLONE_VM child's, stored by clone() */
  int             bound;       /* its worker is bound to one CPU */
} Job;

/* --- the child ------------------------------------------------------------ */

/* A set-up step of the child failed, and psf_child_fds_apply() or
 * psf_child_setup_fail() said which on its status pipe, @status_fd: the
 * host waits there for the outcome of every child's set-up (see
 * psf-forkserver-protocol.h). A CLONE_VM child then says STARTED, after
 * the error, so that the host knows which of its children to reap. */
static void __attribute__((noreturn))
child_failed (const Job *job,
              int        forked,
              int        status_fd)
{
  if (!forked)
    write_status (status_fd, PSF_FORKSERVER_STARTED, job->vm_pid, PSF_FORKSERVER_YOURS);
  _exit (CHILD_SETUP_FAILED);
}

/* In the child, CLONE_VM or forked: see the top of the file for what it may
 * do. Everything it reads was prepared by its worker, which leaves it
 * alone until the child has exited. */
/* The channels of a child's fd plan. */
enum
{
  STATUS_CHANNEL,  /* a forked child's status pipe: where a set-up failure is said */
  REPORT_CHANNEL,
  CWD_CHANNEL,     /* the host's cwd (O_PATH), until the child is there */
  N_CHANNELS
};

static void __attribute__((noreturn))
run_child (Job *job,
           int  forked)
{
  int keep[PSF_FORKSERVER_MAX_FDS + N_CHANNELS];
  int fds[PSF_CHILD_FDS_N_SLOTS (N_CHANNELS, PSF_FORKSERVER_MAX_FDS)];
  PsfChildFdChannel channels[N_CHANNELS] = {
    [STATUS_CHANNEL] = { job->status_fd, PSF_CHILD_FD_ANYWHERE },
    [REPORT_CHANNEL] = { job->report_fd, PSF_CHILD_FD_ANYWHERE },
    [CWD_CHANNEL] = { job->cwd_fd, PSF_CHILD_FD_ANYWHERE },
  };
  PsfChildFds layout = {
    .channels = channels,
    .n_channels = N_CHANNELS,
    /* The host waits for every child's set-up: a failure is said. */
    .error_channel = STATUS_CHANNEL,
    .output_fd = job->output_fd,
    .source_fds = job->sources,
    .target_fds = job->targets,
    .n_maps = job->request->n_maps,
    .min_floor = 3,
  };
  PsfChildFdPlan plan;
  int status_fd;
  int report_fd;
  PsfForkserverStatus done = { PSF_FORKSERVER_SETUP_DONE, 0, 0, 0 };
  sigset_t none;
  int rc;

  if (forked)
    {
      /* Die with the server: the host learns of it from the status pipe. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != server.self_pid)
        _exit (CHILD_SETUP_FAILED);
      /* Said by the child before its set-up, not by the server after
       * fork() returns: a server that dies while the child sets itself up
       * has then always told the host which child went with it (EOF after
       * STARTED), where a STARTED still to come would read as a server
       * gone before it took the request, which the host sends again. */
      write_status (job->status_fd, PSF_FORKSERVER_STARTED, getpid (), 0);
      environ = job->env;
    }
  prctl (PR_SET_NAME, "psf-child");

  /* The server leaves every disposition at its default (it blocks the
   * signals it does not want instead); the worker's mask blocks all. */
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);

  /* The fds, by the one plan of psf-child-fds.c (job_decode() checked the
   * targets, the host their limit); the rest stays where the server
   * received it. A failure is said on the status pipe, where it is still
   * if its own move failed. */
  if (psf_child_fds_plan (&layout, &plan) < 0)
    {
      psf_child_setup_fail (job->status_fd, EBADF, "dup2", NULL);
      child_failed (job, forked, job->status_fd);
    }
  if (psf_child_fds_apply (&plan, fds) < 0)
    child_failed (job, forked, fds[STATUS_CHANNEL]);
  status_fd = fds[STATUS_CHANNEL];
  report_fd = fds[REPORT_CHANNEL];

  if (fds[CWD_CHANNEL] >= 0)
    {
      if (fchdir (fds[CWD_CHANNEL]) < 0)
        {
          psf_child_setup_fail (status_fd, errno, "fchdir", "the host's working directory");
          child_failed (job, forked, status_fd);
        }
      close (fds[CWD_CHANNEL]);
      fds[CWD_CHANNEL] = -1;
    }
  if (job->cwd != NULL && chdir (job->cwd) < 0)
    {
      psf_child_setup_fail (status_fd, errno, "chdir", job->cwd);
      child_failed (job, forked, status_fd);
    }

  if (!forked)
    {
      /* The host's own child (CLONE_PARENT), which its worker cannot
       * report on: set up, it says so itself, and the host takes it from
       * here, reaps it and learns its exit as for any child of its own.
       * Its pid is in the job already (CLONE_PARENT_SETTID): no getpid().
       * The status pipe has nothing more to carry. */
      write_status (status_fd, PSF_FORKSERVER_STARTED, job->vm_pid, PSF_FORKSERVER_YOURS);
      close (status_fd);
      fds[STATUS_CHANNEL] = status_fd = -1;
    }

  /* Everything else of the server goes: the control socket, the epoll
   * sets, other requests' fds, the sources as received. Kept: stdio, the
   * targets and the two channels. */
  psf_child_close_fds_except (keep, psf_child_fds_kept (&plan, fds, keep));

  /* The host's RLIMIT_NOFILE, as a FORK or SPAWN child has it: only now,
   * so that the moves of the plan had the room the server has (its fds
   * may fill the numbers below the host's limit). The fds kept stay
   * valid above it. A raw system call, per process: no other process,
   * the server included, sees it. */
  if (server.nofile_raised)
    setrlimit (RLIMIT_NOFILE, &server.child_nofile);

  /* Born on its worker's CPU, the host's (see follow_host()); free to go
   * anywhere before it does its work, and its sub-children too. */
  if (job->bound)
    sched_setaffinity (0, sizeof server.cpus, &server.cpus);

  if (forked)
    {
      /* Only ever in a forked child: set*id() in a CLONE_VM one would
       * reach the server's threads. */
      if (job->has_setup && psf_child_setup_apply (&job->setup, status_fd) < 0)
        _exit (CHILD_SETUP_FAILED);
      done.pid = getpid ();
      psf_child_write_all (status_fd, &done, sizeof done);
    }

  rc = job->routine (job->input, job->input_len, report_fd);

  /* A forked child says how it leaves (the server relays the wait status
   * later, unless it is gone by then). */
  if (status_fd >= 0)
    {
      PsfForkserverStatus exiting = { PSF_FORKSERVER_EXITING, 0, rc & 0xff, 0 };

      exiting.pid = done.pid != 0 ? done.pid : getpid ();
      psf_child_write_all (status_fd, &exiting, sizeof exiting);
    }
  _exit (rc & 0xff);
}

static int
vm_child_main (void *data)
{
  run_child (data, 0);
  return 0;
}

/* --- requests --------------------------------------------------------------- */

static int
valid_range (const PsfForkserverRequest *request,
             uint32_t                    off,
             uint64_t                    len)
{
  return off <= request->payload_len && len <= request->payload_len - off;
}

static int
valid_string (const PsfForkserverRequest *request,
              const char                 *payload,
              uint32_t                    off)
{
  return off < request->payload_len &&
         memchr (payload + off, '\0', request->payload_len - off) != NULL;
}

static int
job_decode (Job *job)
{
  const PsfForkserverRequest *request = job->request;
  size_t next = 2;
  uint32_t flags = request->flags;
  uint32_t off;

  if (request->magic != PSF_FORKSERVER_REQUEST_MAGIC || job->n_fds < 2 ||
      request->n_fds != job->n_fds || request->n_maps > job->n_fds)
    return EINVAL;

  job->status_fd = job->fds[0];
  job->report_fd = job->fds[1];
  job->cwd_fd = -1;
  job->output_fd = -1;

  if (flags & PSF_FORKSERVER_PAYLOAD_FD)
    {
      struct stat st;
      void *mapping;
      int fd = next < job->n_fds ? job->fds[next++] : -1;

      if (fd < 0 || fstat (fd, &st) < 0 || (uint64_t) st.st_size != request->payload_len ||
          request->payload_len == 0)
        return EINVAL;
      mapping = mmap (NULL, request->payload_len, PROT_READ, MAP_PRIVATE, fd, 0);
      if (mapping == MAP_FAILED)
        return errno;
      job->payload = mapping;
    }
  if (flags & PSF_FORKSERVER_CWD_FD)
    job->cwd_fd = next < job->n_fds ? job->fds[next++] : -1;
  if (flags & PSF_FORKSERVER_OUTPUT_FD)
    job->output_fd = next < job->n_fds ? job->fds[next++] : -1;
  if (next + request->n_maps != job->n_fds)
    return EINVAL;
  job->sources = job->fds + next;

  if (!valid_range (request, request->targets_off, (uint64_t) request->n_maps * sizeof (int32_t)) ||
      request->targets_off % sizeof (int32_t) != 0 ||
      !valid_string (request, job->payload, request->routine_off) ||
      !valid_range (request, request->input_off, request->input_len) ||
      !valid_range (request, request->env_off, 0))
    return EINVAL;

  job->targets = (const int32_t *) (const void *) (job->payload + request->targets_off);
  for (size_t i = 0; i < request->n_maps; i++)
    if (job->targets[i] < 0)
      return EBADF;

  job->routine = psf_child_routine_lookup (job->payload + request->routine_off);
  if (job->routine == NULL)
    return ENOENT;
  job->input = request->input_len > 0 ? job->payload + request->input_off : NULL;
  job->input_len = request->input_len;

  if (request->cwd_off != PSF_FORKSERVER_NO_STRING)
    {
      if (!valid_string (request, job->payload, request->cwd_off))
        return EINVAL;
      job->cwd = job->payload + request->cwd_off;
    }

  off = request->env_off;
  for (uint32_t i = 0; i < request->n_env; i++)
    {
      if (!valid_string (request, job->payload, off))
        return EINVAL;
      off += (uint32_t) strlen (job->payload + off) + 1;
    }
  job->env_block = job->payload + request->env_off;
  job->env_len = off - request->env_off;

  if (flags & PSF_FORKSERVER_SETUP)
    {
      job->has_setup = 1;
      if (!valid_range (request, request->setup_off, request->setup_len) ||
          psf_child_setup_decode (job->payload + request->setup_off, request->setup_len,
                                  &job->setup) != 0)
        return EINVAL;
    }

  return 0;
}

/* The pointer array of a block of n NUL-terminated strings. */
static char **
env_array (const char *block,
           size_t      len,
           uint32_t    n)
{
  char **env = malloc (((size_t) n + 1) * sizeof (char *));
  size_t off = 0;

  if (env == NULL)
    return NULL;
  for (uint32_t i = 0; i < n && off < len; i++)
    {
      env[i] = (char *) block + off;
      off += strlen (block + off) + 1;
    }
  env[n] = NULL;
  return env;
}

/* Makes @job's environment the one of CLONE_VM children if none runs.
 * Called with the lock held. */
static int
adopt_env_locked (const Job *job)
{
  char *block;
  char **env;

  if (server.vm_children > 0)
    return 0;
  block = malloc (job->env_len > 0 ? job->env_len : 1);
  if (block == NULL)
    return 0;
  memcpy (block, job->env_block, job->env_len);
  env = env_array (block, job->env_len, job->request->n_env);
  if (env == NULL)
    {
      free (block);
      return 0;
    }
  environ = env;
  free (server.env);
  free (server.env_block);
  server.env = env;
  server.env_block = block;
  server.env_len = job->env_len;
  return 1;
}

/* AddressSanitizer keeps its idea of the current stack in thread-local
 * storage: a CLONE_VM child on a stack of its own confuses it, so its
 * builds fork every child. */
#if defined(__SANITIZE_ADDRESS__)
# define VM_CHILDREN 0
#else
# define VM_CHILDREN 1
#endif

/* Whether @job can have a CLONE_VM child; if so it counts as running. */
static int
claim_vm_child (const Job *job)
{
  int vm = 0;

  if (job->has_setup || !VM_CHILDREN)
    return 0;

  pthread_mutex_lock (&server.lock);
  if ((job->env_len == server.env_len &&
       memcmp (job->env_block, server.env_block, job->env_len) == 0) ||
      adopt_env_locked (job))
    {
      server.vm_children++;
      vm = 1;
    }
  pthread_mutex_unlock (&server.lock);
  return vm;
}

static void
hold_zombie (pid_t pid,
             int   status_fd)
{
  struct epoll_event event;
  size_t index = SIZE_MAX;

  pthread_mutex_lock (&server.lock);
  for (size_t i = 0; i < server.n_zombies; i++)
    if (server.zombies[i].pid == 0)
      {
        index = i;
        break;
      }
  if (index == SIZE_MAX)
    {
      size_t n = server.n_zombies ? server.n_zombies * 2 : 64;
      Zombie *zombies = realloc (server.zombies, n * sizeof *zombies);

      if (zombies != NULL)
        {
          memset (zombies + server.n_zombies, 0, (n - server.n_zombies) * sizeof *zombies);
          index = server.n_zombies;
          server.zombies = zombies;
          server.n_zombies = n;
        }
    }
  if (index != SIZE_MAX)
    {
      memset (&event, 0, sizeof event);
      event.events = 0;  /* EPOLLERR comes regardless: the host closed its end */
      event.data.u64 = index;
      if (epoll_ctl (server.epoll_fd, EPOLL_CTL_ADD, status_fd, &event) == 0)
        {
          server.zombies[index].pid = pid;
          server.zombies[index].status_fd = status_fd;
          server.held++;
          pthread_mutex_unlock (&server.lock);
          return;
        }
    }
  pthread_mutex_unlock (&server.lock);

  /* Cannot wait for the host: reap now. */
  close (status_fd);
  waitpid (pid, NULL, 0);
}

/* Closes fds[first..n-1]; the kernel gave them the lowest free numbers, so
 * they mostly follow each other: one close_range() per run. */
static void
close_received (const int *fds,
                size_t     first,
                size_t     n)
{
  size_t i = first;

  while (i < n)
    {
      size_t j = i;

      while (j + 1 < n && fds[j + 1] == fds[j] + 1)
        j++;
      if (j > i)
        psf_child_close_range ((unsigned) fds[i], (unsigned) fds[j]);
      else
        close (fds[i]);
      i = j + 1;
    }
}

static void
serve (Worker *worker,
       int    *fds,
       size_t  n_fds,
       size_t  len,
       int     truncated)
{
  Job job;
  siginfo_t info;
  int error;
  pid_t pid = -1;

  memset (&job, 0, sizeof job);
  job.request = &worker->message.header;
  job.payload = worker->message.bytes + sizeof worker->message.header;
  job.fds = fds;
  job.n_fds = n_fds;
  job.status_fd = n_fds > 0 ? fds[0] : -1;
  job.bound = worker->cpu >= 0;  /* and so is a child, CLONE_VM or forked */

  if (truncated)
    error = EMFILE;
  else if (len < sizeof job.request[0] ||
           (!(job.request->flags & PSF_FORKSERVER_PAYLOAD_FD) &&
            len - sizeof job.request[0] != job.request->payload_len))
    error = EINVAL;
  else
    error = job_decode (&job);

  if (error == 0 && claim_vm_child (&job))
    {
      if (worker->child_stack == NULL)
        {
          void *stack = mmap (NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

          worker->child_stack = stack != MAP_FAILED ? stack : NULL;
        }
      /* Returns once the child has exited (CLONE_VFORK): until then it
       * runs on this thread's TLS, untouched meanwhile. */
      if (worker->child_stack != NULL)
        pid = clone (vm_child_main, worker->child_stack + CHILD_STACK,
                     CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PARENT_SETTID | SIGCHLD,
                     &job, &job.vm_pid);
      if (pid < 0)
        error = worker->child_stack != NULL ? errno : ENOMEM;
      pthread_mutex_lock (&server.lock);
      server.vm_children--;
      pthread_mutex_unlock (&server.lock);

      if (job.payload != worker->message.bytes + sizeof worker->message.header)
        munmap ((void *) job.payload, job.request->payload_len);
      if (error != 0)
        write_status (job.status_fd, PSF_FORKSERVER_REFUSED, 0, error);
      close_received (fds, 0, n_fds);
      return;
    }
  else if (error == 0)
    {
      job.env = env_array (job.env_block, job.env_len, job.request->n_env);
      if (job.env == NULL)
        error = ENOMEM;
      else
        {
          pid = fork ();
          if (pid == 0)
            run_child (&job, 1);
          if (pid < 0)
            error = errno;
        }
    }

  if (error == 0)
    {
      /* The child said STARTED itself (run_child()). Its exit, without
       * reaping it. */
      memset (&info, 0, sizeof info);
      while (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
          {
            info.si_code = 0;
            break;
          }
    }

  /* The status pipe stays. */
  close_received (fds, 1, n_fds);
  if (job.payload != worker->message.bytes + sizeof worker->message.header)
    munmap ((void *) job.payload, job.request->payload_len);
  free (job.env);

  if (error != 0)
    {
      write_status (job.status_fd, PSF_FORKSERVER_REFUSED, 0, error);
      if (job.status_fd >= 0)
        close (job.status_fd);
      return;
    }

  write_status (job.status_fd, PSF_FORKSERVER_EXITED, pid, psf_child_wait_status_from_siginfo (&info));
  hold_zombie (pid, job.status_fd);
}

/* --- threads ---------------------------------------------------------------- */

static void *worker_main (void *data);

static void
start_worker (void)
{
  pthread_attr_t attr;
  pthread_t thread;
  struct epoll_event event;
  Worker *worker = calloc (1, sizeof *worker);

  if (worker == NULL)
    return;
  worker->cpu = -1;

  /* Each idle worker waits on the control socket in an epoll set of its
   * own, EPOLLEXCLUSIVE: a request wakes one of them, and no hand-over
   * sits between a request and its child. */
  memset (&event, 0, sizeof event);
  event.events = EPOLLIN | EPOLLEXCLUSIVE;
  worker->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (worker->epoll_fd < 0 ||
      epoll_ctl (worker->epoll_fd, EPOLL_CTL_ADD, server.control_fd, &event) < 0)
    {
      if (worker->epoll_fd >= 0)
        close (worker->epoll_fd);
      free (worker);
      return;
    }

  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, WORKER_STACK);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);

  pthread_mutex_lock (&server.lock);
  server.workers++;
  server.idle++;
  pthread_mutex_unlock (&server.lock);

  if (pthread_create (&thread, &attr, worker_main, worker) != 0)
    {
      pthread_mutex_lock (&server.lock);
      server.workers--;
      server.idle--;
      pthread_mutex_unlock (&server.lock);
      close (worker->epoll_fd);
      free (worker);
    }
  pthread_attr_destroy (&attr);
}

/* An idle worker waits bound to the CPU its last request came from.
 *
 * The host sends a request and sleeps until the child's STARTED: with the
 * worker (and its child, born with its worker's affinity) on the host's
 * CPU, request, clone and STARTED are switches on one CPU. Left free, the
 * scheduler wakes the worker, and places the new child, on an idle CPU:
 * on a VM that is a halted vCPU to wake (an IPI through the hypervisor),
 * measured here at 80 us for the child alone against 12 us on the host's
 * CPU (tests/bench). The child unbinds itself before its routine. A host
 * that moved, or a CPU we may not use, only costs a wakeup elsewhere. */
static void
follow_host (Worker *worker,
             int     host_cpu)
{
  cpu_set_t one;

  if (!server.have_cpus || host_cpu == worker->cpu)
    return;
  if (host_cpu < 0 || host_cpu >= CPU_SETSIZE || !CPU_ISSET (host_cpu, &server.cpus))
    {
      if (worker->cpu >= 0 && sched_setaffinity (0, sizeof server.cpus, &server.cpus) == 0)
        worker->cpu = -1;
      return;
    }
  CPU_ZERO (&one);
  CPU_SET (host_cpu, &one);
  if (sched_setaffinity (0, sizeof one, &one) == 0)
    worker->cpu = host_cpu;
}

static void *
worker_main (void *data)
{
  Worker *worker = data;

  for (;;)
    {
      union
      {
        struct cmsghdr header;
        char           space[CMSG_SPACE (sizeof (int) * PSF_FORKSERVER_MAX_FDS)];
      } control;
      struct iovec iov = { worker->message.bytes, sizeof worker->message.bytes };
      struct epoll_event event;
      struct msghdr msg;
      struct cmsghdr *cmsg;
      int fds[PSF_FORKSERVER_MAX_FDS];
      size_t n_fds = 0;
      ssize_t len;
      int closed;
      int need;

      if (epoll_wait (worker->epoll_fd, &event, 1, -1) < 0 && errno != EINTR)
        break;

      memset (&msg, 0, sizeof msg);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.space;
      msg.msg_controllen = sizeof control.space;
      len = recvmsg (server.control_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (len < 0 && (errno == EAGAIN || errno == EINTR))
        continue;

      pthread_mutex_lock (&server.lock);
      if (len <= 0)
        /* The host is done with us. */
        server.control_closed = 1;
      closed = server.control_closed;
      if (!closed)
        {
          server.idle--;
          server.serving++;
        }
      /* Keep one worker waiting for the next request. */
      need = !closed && server.idle == 0 && !server.need_worker;
      if (need)
        server.need_worker = 1;
      pthread_mutex_unlock (&server.lock);
      if (closed || need)
        poke_main ();
      if (closed)
        break;

      for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
          {
            size_t n = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);

            for (size_t i = 0; i < n && n_fds < PSF_FORKSERVER_MAX_FDS; i++)
              memcpy (&fds[n_fds++], CMSG_DATA (cmsg) + i * sizeof (int), sizeof (int));
          }

      serve (worker, fds, n_fds, (size_t) len,
             (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0);
      if ((size_t) len >= sizeof worker->message.header)
        follow_host (worker, worker->message.header.host_cpu);

      pthread_mutex_lock (&server.lock);
      server.serving--;
      server.idle++;
      closed = server.control_closed;
      pthread_mutex_unlock (&server.lock);
      if (closed)
        poke_main ();
    }

  pthread_mutex_lock (&server.lock);
  server.workers--;
  server.idle--;
  pthread_mutex_unlock (&server.lock);
  close (worker->epoll_fd);
  if (worker->child_stack != NULL)
    munmap (worker->child_stack, CHILD_STACK);
  free (worker);
  return NULL;
}

static int
host_is_gone (void)
{
  return getppid () != server.host_pid;
}

static void
read_signals (void)
{
  struct signalfd_siginfo info[16];
  ssize_t n;

  while ((n = read (server.signal_fd, info, sizeof info)) > 0)
    for (size_t i = 0; i < (size_t) n / sizeof info[0]; i++)
      if (info[i].ssi_signo == SIGHUP && host_is_gone ())
        _exit (0);
}

/* The host closed its end of a status pipe: reap. */
static void
release_zombie (size_t index)
{
  pid_t pid;
  int fd;

  pthread_mutex_lock (&server.lock);
  if (index >= server.n_zombies || server.zombies[index].pid == 0)
    {
      pthread_mutex_unlock (&server.lock);
      return;
    }
  pid = server.zombies[index].pid;
  fd = server.zombies[index].status_fd;
  server.zombies[index].pid = 0;
  server.zombies[index].status_fd = -1;
  server.held--;
  pthread_mutex_unlock (&server.lock);

  close (fd);
  waitpid (pid, NULL, 0);
}

/* Serializes environ as requests carry it. */
static void
init_env (void)
{
  size_t len = 0;
  uint32_t n = 0;
  char *block;

  for (char **e = environ; e != NULL && *e != NULL; e++, n++)
    len += strlen (*e) + 1;
  block = malloc (len > 0 ? len : 1);
  if (block == NULL)
    return;
  len = 0;
  for (char **e = environ; e != NULL && *e != NULL; e++)
    {
      size_t l = strlen (*e) + 1;

      memcpy (block + len, *e, l);
      len += l;
    }
  server.env_block = block;
  server.env_len = len;
  server.env = env_array (block, len, n);
  if (server.env != NULL)
    environ = server.env;
}

int
psf_forkserver_server_main (int   argc,
                            char *argv[])
{
  struct epoll_event events[64];
  struct epoll_event event;
  struct rlimit limit;
  sigset_t mask;
  sigset_t all;
  char *end = NULL;

  if (argc != 3)
    return 2;
  server.host_pid = (pid_t) strtol (argv[2], &end, 10);
  if (end == NULL || *end != '\0' || server.host_pid <= 0)
    return 2;
  server.self_pid = getpid ();
  server.control_fd = PSF_FORKSERVER_SOCKET_FD;

  /* The host may have died before we got here. */
  prctl (PR_SET_PDEATHSIG, SIGHUP);
  if (host_is_gone ())
    return 0;
  prctl (PR_SET_NAME, "psf-forkserver");

  /* A status pipe per running or unreaped child, and the request's fds.
   * The children get the host's limit back (run_child()). */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      server.child_nofile = limit;
      limit.rlim_cur = limit.rlim_max;
      server.nofile_raised = setrlimit (RLIMIT_NOFILE, &limit) == 0;
    }

  server.have_cpus = sched_getaffinity (0, sizeof server.cpus, &server.cpus) == 0;

  /* Syncs the filesystems of one child at once, in sub-processes. */
  psf_syncfs_child_set_sync_many (psf_syncfs_sync_many_forked);
  init_env ();

  /* SIGCHLD stays blocked in every thread: nothing waits for it (the
   * workers wait for their own children), and unblocked it would wake this
   * thread at every exit. SIGPIPE too: a write to a host that went is
   * EPIPE. Blocked, not ignored, so that children start with every
   * disposition at its default without a call. */
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGPIPE);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sigemptyset (&mask);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  server.signal_fd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  server.wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  server.epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (server.signal_fd < 0 || server.wake_fd < 0 || server.epoll_fd < 0 ||
      fcntl (server.control_fd, F_SETFD, FD_CLOEXEC) < 0)
    return 2;

  memset (&event, 0, sizeof event);
  event.events = EPOLLIN;
  event.data.u64 = ID_SIGNALS;
  if (epoll_ctl (server.epoll_fd, EPOLL_CTL_ADD, server.signal_fd, &event) < 0)
    return 2;
  event.data.u64 = ID_WAKE;
  if (epoll_ctl (server.epoll_fd, EPOLL_CTL_ADD, server.wake_fd, &event) < 0)
    return 2;
  if (host_is_gone ())
    return 0;

  /* Workers get no signal: SIGHUP is for this thread's signalfd. */
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &mask);
  for (int i = 0; i < FIRST_WORKERS; i++)
    start_worker ();
  pthread_sigmask (SIG_SETMASK, &mask, NULL);

  for (;;)
    {
      int n;
      int finished;

      pthread_mutex_lock (&server.lock);
      finished = server.control_closed && server.serving == 0 && server.held == 0;
      pthread_mutex_unlock (&server.lock);
      if (finished)
        _exit (0);

      n = epoll_wait (server.epoll_fd, events, 64, -1);
      if (n < 0 && errno != EINTR)
        _exit (3);

      for (int i = 0; i < n; i++)
        {
          uint64_t id = events[i].data.u64;

          if (id == ID_SIGNALS)
            read_signals ();
          else if (id == ID_WAKE)
            {
              uint64_t count;
              int need;

              if (read (server.wake_fd, &count, sizeof count) < 0)
                count = 0;
              pthread_mutex_lock (&server.lock);
              need = server.need_worker && !server.control_closed;
              server.need_worker = 0;
              pthread_mutex_unlock (&server.lock);
              if (need)
                {
                  pthread_sigmask (SIG_BLOCK, &all, &mask);
                  start_worker ();
                  pthread_sigmask (SIG_SETMASK, &mask, NULL);
                }
            }
          else
            release_zombie ((size_t) id);
        }
    }
}
