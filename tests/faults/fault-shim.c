/* fault-shim.c: a general fault-injection LD_PRELOAD interposer for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Off by default: with no rule, every call goes straight to libc.
 *
 * Rules come from the environment variable PSF_FAULT (read once, at load:
 * this is how an exec'd child, such as the helper psf-child, gets them; a
 * child forked by the process that loaded the shim, such as a forkserver
 * child with set-up options, reads it at its first interposed call) or
 * from psf_fault_configure() (how a test process sets them for itself and
 * for the children it forks; found with dlsym(RTLD_DEFAULT, ...)).
 *
 *   PSF_FAULT = RULE[;RULE...]
 *   RULE      = CALL[,KEY=VALUE...]
 *
 *   CALL   syncfs open openat stat fork clone posix_spawn pipe2 read write
 *          memfd_create mmap fcntl dup2 chdir pidfd_open pidfd_send_signal
 *          kill ioctl waitid ("open" also covers open64 and the _FORTIFY_SOURCE
 *          variants, "stat" stat64, "posix_spawn" posix_spawnp, "mmap"
 *          mmap64, "fcntl" fcntl64). An O_PATH open (open, openat, or
 *          openat2 through syscall()) opens nothing: it is a look at the
 *          path, and "stat" rules match it, not "open" or "openat" ones.
 *   errno  NAME or number the call fails with (default EIO)
 *   nth    the first matching call that fails, counting from 1 (default 1)
 *   times  how many matching calls fail from there on (default 0: all)
 *   path   only calls on this path: exact, or a prefix when it ends in '*'.
 *          For calls that take an fd, the fd's /proc/self/fd link is
 *          matched ("pipe:[123]", "/memfd:psf-input (deleted)", "/dev/shm"),
 *          and so is the link of an open of /proc/self/fd/N (a reopen).
 *          memfd_create matches its name.
 *   where  host: only in the process that called psf_fault_configure();
 *          child: only in other processes (its forks, or any process that
 *          got the rule through PSF_FAULT); any (default)
 *   action fail (default): return the error without calling libc
 *          segv: die of SIGSEGV
 *          hang: sleep until killed
 *          hang-ignore-term: ignore SIGTERM, then sleep until killed
 *          delay: sleep `ms`, then make the real call
 *          grandchild: fork a grandchild that keeps every inherited fd for
 *          `ms` milliseconds, then make the real call
 *   ms     the duration of delay and grandchild (default 1000)
 *   notify an fd number: one byte is written to it when the action starts
 *          (hang-ignore-term: once SIGTERM is ignored), so a test knows
 *          the child got there; for grandchild, the grandchild writes its
 *          pid (a binary pid_t) there
 *
 * Matching calls are counted per rule and per process (a fork starts from
 * the counts of its parent; where=child rules are never counted by the
 * host). psf_fault_hits() returns how many faults this process injected
 * since the last psf_fault_configure().
 *
 * syncfs() also follows three simpler variables, read at each call (so a
 * test can switch them between tasks, and a child inherits them), before
 * any PSF_FAULT rule:
 *
 *   PSF_SHIM_SYNCFS_COUNT_FD=FD        write one byte to FD per call, so a
 *                                      test can count the calls
 *   PSF_SHIM_SYNCFS_DELAY_MS=N         sleep N ms in each call
 *   PSF_SHIM_SYNCFS_ERRNO=NAME|NUMBER  fail every call with that errno
 *                                      (EIO, ENOSYS, ... or a number)
 *
 * Everything that runs inside an interposed call is async-signal-safe
 * (a forked child of a threaded host runs it): no malloc, no stdio, no
 * locks; the real functions are looked up once, at load. Rule sets are
 * immutable once published, so a call in another thread of the host sees
 * either the old set or the new one.
 */

#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#define _LARGEFILE64_SOURCE 1

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef SYS_openat2
# include <linux/openat2.h>
#endif

#define PSF_FAULT_EXPORT __attribute__((visibility ("default")))

/* What the shim defines that no header declares here. */
int __open_2 (const char *path, int flags);
int __open64_2 (const char *path, int flags);
int __openat_2 (int dirfd, const char *path, int flags);
int __openat64_2 (int dirfd, const char *path, int flags);
struct stat;
struct stat64;
int stat (const char *path, struct stat *buf);
int stat64 (const char *path, struct stat64 *buf);
int pidfd_open (pid_t pid, unsigned int flags);
int pidfd_send_signal (int pidfd, int sig, siginfo_t *info, unsigned int flags);

typedef enum
{
  CALL_SYNCFS,
  CALL_OPEN,
  CALL_OPENAT,
  CALL_STAT,
  CALL_FORK,
  CALL_CLONE,
  CALL_POSIX_SPAWN,
  CALL_PIPE2,
  CALL_READ,
  CALL_WRITE,
  CALL_MEMFD_CREATE,
  CALL_MMAP,
  CALL_FCNTL,
  CALL_DUP2,
  CALL_CHDIR,
  CALL_PIDFD_OPEN,
  CALL_PIDFD_SEND_SIGNAL,
  CALL_KILL,
  CALL_IOCTL,
  CALL_WAITID,
  N_CALLS
} Call;

static const char * const call_names[N_CALLS] = {
  "syncfs", "open", "openat", "stat", "fork", "clone", "posix_spawn", "pipe2",
  "read", "write", "memfd_create", "mmap", "fcntl", "dup2", "chdir",
  "pidfd_open", "pidfd_send_signal", "kill", "ioctl", "waitid",
};

typedef enum
{
  ACTION_FAIL,
  ACTION_SEGV,
  ACTION_HANG,
  ACTION_HANG_IGNORE_TERM,
  ACTION_DELAY,
  ACTION_GRANDCHILD,
} Action;

enum { WHERE_ANY, WHERE_HOST, WHERE_CHILD };

#define MAX_RULES 8
#define MAX_PATH 512
#define N_SETS 32

typedef struct
{
  Call     call;
  int      error;
  unsigned nth;
  unsigned times;
  int      where;
  Action   action;
  unsigned ms;
  int      notify_fd;
  char     path[MAX_PATH];
  unsigned seen;        /* matching calls, atomic */
} Rule;

typedef struct
{
  unsigned n_rules;
  unsigned call_mask;
  pid_t    host_pid;    /* 0: this process got the rules from PSF_FAULT */
  unsigned hits;        /* atomic */
  Rule     rules[MAX_RULES];
} RuleSet;

/* Published sets are never changed nor freed; a ring is reused, which is
 * safe as long as no call stays inside the shim across 31 configurations. */
static RuleSet sets[N_SETS];
static unsigned next_set;
static RuleSet *current;

/* The process that loaded the shim (ran its constructor). */
static pid_t loader_pid;

/* The real functions, looked up once at load (dlsym is not
 * async-signal-safe, a forked child must not call it). */
static int     (*real_syncfs) (int);
static int     (*real_open) (const char *, int, ...);
static int     (*real_open64) (const char *, int, ...);
static int     (*real___open_2) (const char *, int);
static int     (*real___open64_2) (const char *, int);
static int     (*real_openat) (int, const char *, int, ...);
static int     (*real_openat64) (int, const char *, int, ...);
static int     (*real___openat_2) (int, const char *, int);
static int     (*real___openat64_2) (int, const char *, int);
static int     (*real_stat) (const char *, struct stat *);
static int     (*real_stat64) (const char *, struct stat64 *);
static pid_t   (*real_fork) (void);
static int     (*real_clone) (int (*) (void *), void *, int, void *, ...);
static int     (*real_posix_spawn) (pid_t *, const char *, const posix_spawn_file_actions_t *,
                                    const posix_spawnattr_t *, char * const [], char * const []);
static int     (*real_posix_spawnp) (pid_t *, const char *, const posix_spawn_file_actions_t *,
                                     const posix_spawnattr_t *, char * const [], char * const []);
static int     (*real_pipe2) (int [2], int);
static ssize_t (*real_read) (int, void *, size_t);
static ssize_t (*real_write) (int, const void *, size_t);
static int     (*real_memfd_create) (const char *, unsigned int);
static void   *(*real_mmap) (void *, size_t, int, int, int, off_t);
static void   *(*real_mmap64) (void *, size_t, int, int, int, off64_t);
static int     (*real_fcntl) (int, int, ...);
static int     (*real_fcntl64) (int, int, ...);
static int     (*real_dup2) (int, int);
static int     (*real_chdir) (const char *);
static int     (*real_pidfd_open) (pid_t, unsigned int);
static int     (*real_pidfd_send_signal) (int, int, siginfo_t *, unsigned int);
static int     (*real_kill) (pid_t, int);
static int     (*real_ioctl) (int, unsigned long, ...);
static int     (*real_waitid) (idtype_t, id_t, siginfo_t *, int);
static long    (*real_syscall) (long, ...);

static void *
lookup (const char *name)
{
  return dlsym (RTLD_NEXT, name);
}

/* A call made before the constructor ran (by another library's
 * constructor) looks its function up then. */
static void *
resolve (void       **slot,
         const char  *name)
{
  *slot = lookup (name);
  return *slot;
}

#define REAL(fn) \
  (real_##fn != NULL ? real_##fn : (__typeof__ (real_##fn)) resolve ((void **) &real_##fn, #fn))

/* ---- parsing (not in the async-signal-safe path) ------------------------ */

/* parse_errno() and parse_unsigned() are the exceptions: syncfs() reads its
 * variables with them at each call, so they stay async-signal-safe. */

static int
parse_errno (const char *value,
             size_t      len)
{
  static const struct { const char *name; int value; } names[] = {
    { "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EINTR", EINTR }, { "EIO", EIO },
    { "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
    { "EACCES", EACCES }, { "EFAULT", EFAULT }, { "EBUSY", EBUSY },
    { "EEXIST", EEXIST }, { "ENOTDIR", ENOTDIR }, { "EISDIR", EISDIR },
    { "EINVAL", EINVAL }, { "ENFILE", ENFILE }, { "EMFILE", EMFILE },
    { "ENOSPC", ENOSPC }, { "EROFS", EROFS }, { "EPIPE", EPIPE },
    { "ENAMETOOLONG", ENAMETOOLONG }, { "ENOSYS", ENOSYS }, { "ELOOP", ELOOP },
    { "EOVERFLOW", EOVERFLOW }, { "EDQUOT", EDQUOT }, { "ESRCH", ESRCH },
    { "ECHILD", ECHILD }, { "ETXTBSY", ETXTBSY }, { "ENODEV", ENODEV },
    { "EXDEV", EXDEV }, { "ESTALE", ESTALE }, { "ENXIO", ENXIO },
  };
  char buf[32];

  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy (buf, value, len);
  buf[len] = '\0';
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (names[i].name, buf) == 0)
      return names[i].value;
  if (buf[0] >= '0' && buf[0] <= '9')
    {
      int n = 0;

      for (size_t i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
        n = n * 10 + (buf[i] - '0');
      return n;
    }
  return -1;
}

static int
field_is (const char *field,
          size_t      len,
          const char *name)
{
  return strlen (name) == len && memcmp (field, name, len) == 0;
}

static unsigned
parse_unsigned (const char *value,
                size_t      len)
{
  unsigned n = 0;

  for (size_t i = 0; i < len && value[i] >= '0' && value[i] <= '9'; i++)
    n = n * 10 + (unsigned) (value[i] - '0');
  return n;
}

/* Parses one rule of @len bytes; returns 0 or -1. */
static int
parse_rule (const char *text,
            size_t      len,
            Rule       *rule)
{
  const char *end = text + len;
  const char *p = text;
  int have_call = 0;
  int have_nth = 0;
  int have_times = 0;

  memset (rule, 0, sizeof *rule);
  rule->error = EIO;
  rule->nth = 1;
  rule->ms = 1000;
  rule->notify_fd = -1;

  while (p < end)
    {
      const char *comma = memchr (p, ',', (size_t) (end - p));
      const char *field_end = comma != NULL ? comma : end;
      const char *eq = memchr (p, '=', (size_t) (field_end - p));
      const char *key = p;
      size_t key_len = (size_t) ((eq != NULL ? eq : field_end) - p);
      const char *value = eq != NULL ? eq + 1 : NULL;
      size_t value_len = eq != NULL ? (size_t) (field_end - value) : 0;

      if (value == NULL || field_is (key, key_len, "call"))
        {
          const char *name = value != NULL ? value : key;
          size_t name_len = value != NULL ? value_len : key_len;
          int found = 0;

          for (int c = 0; c < N_CALLS; c++)
            if (field_is (name, name_len, call_names[c]))
              {
                rule->call = (Call) c;
                found = 1;
              }
          if (!found)
            return -1;
          have_call = 1;
        }
      else if (field_is (key, key_len, "errno"))
        {
          if ((rule->error = parse_errno (value, value_len)) < 0)
            return -1;
        }
      else if (field_is (key, key_len, "nth"))
        {
          rule->nth = parse_unsigned (value, value_len);
          have_nth = 1;
        }
      else if (field_is (key, key_len, "times"))
        {
          rule->times = parse_unsigned (value, value_len);
          have_times = 1;
        }
      else if (field_is (key, key_len, "ms"))
        rule->ms = parse_unsigned (value, value_len);
      else if (field_is (key, key_len, "notify"))
        rule->notify_fd = (int) parse_unsigned (value, value_len);
      else if (field_is (key, key_len, "path"))
        {
          if (value_len >= sizeof rule->path)
            return -1;
          memcpy (rule->path, value, value_len);
          rule->path[value_len] = '\0';
        }
      else if (field_is (key, key_len, "where"))
        {
          if (field_is (value, value_len, "host"))
            rule->where = WHERE_HOST;
          else if (field_is (value, value_len, "child"))
            rule->where = WHERE_CHILD;
          else if (field_is (value, value_len, "any"))
            rule->where = WHERE_ANY;
          else
            return -1;
        }
      else if (field_is (key, key_len, "action"))
        {
          if (field_is (value, value_len, "fail"))
            rule->action = ACTION_FAIL;
          else if (field_is (value, value_len, "segv"))
            rule->action = ACTION_SEGV;
          else if (field_is (value, value_len, "hang"))
            rule->action = ACTION_HANG;
          else if (field_is (value, value_len, "hang-ignore-term"))
            rule->action = ACTION_HANG_IGNORE_TERM;
          else if (field_is (value, value_len, "delay"))
            rule->action = ACTION_DELAY;
          else if (field_is (value, value_len, "grandchild"))
            rule->action = ACTION_GRANDCHILD;
          else
            return -1;
        }
      else
        return -1;

      p = field_end + (comma != NULL ? 1 : 0);
    }

  if (rule->nth == 0)
    rule->nth = 1;
  /* "the 3rd call fails" means that one call, unless told otherwise. */
  if (have_nth && !have_times)
    rule->times = 1;
  return have_call ? 0 : -1;
}

static int
configure (const char *spec,
           pid_t       host_pid)
{
  RuleSet *set;
  const char *p = spec;

  set = &sets[__atomic_fetch_add (&next_set, 1, __ATOMIC_RELAXED) % N_SETS];
  memset (set, 0, sizeof *set);
  set->host_pid = host_pid;

  while (spec != NULL && *p != '\0')
    {
      const char *semi = strchr (p, ';');
      size_t len = semi != NULL ? (size_t) (semi - p) : strlen (p);

      if (len > 0)
        {
          if (set->n_rules == MAX_RULES || parse_rule (p, len, &set->rules[set->n_rules]) < 0)
            return -1;
          set->call_mask |= 1u << set->rules[set->n_rules].call;
          set->n_rules++;
        }
      p += len + (semi != NULL ? 1 : 0);
    }

  __atomic_store_n (&current, set->n_rules > 0 ? set : NULL, __ATOMIC_RELEASE);
  return 0;
}

/**
 * psf_fault_configure:
 * @spec: (nullable): rules as in PSF_FAULT, or %NULL / "" for none
 *
 * Replaces the rules of this process; its forks inherit them. Returns 0, or
 * -1 if @spec does not parse (then no rule is active).
 */
PSF_FAULT_EXPORT int psf_fault_configure (const char *spec);
PSF_FAULT_EXPORT unsigned psf_fault_hits (void);

int
psf_fault_configure (const char *spec)
{
  if (configure (spec, getpid ()) < 0)
    {
      __atomic_store_n (&current, NULL, __ATOMIC_RELEASE);
      return -1;
    }
  return 0;
}

unsigned
psf_fault_hits (void)
{
  RuleSet *set = __atomic_load_n (&current, __ATOMIC_ACQUIRE);

  return set != NULL ? __atomic_load_n (&set->hits, __ATOMIC_RELAXED) : 0;
}

__attribute__((constructor)) static void
psf_fault_init (void)
{
  const char *spec = getenv ("PSF_FAULT");

  real_syncfs = lookup ("syncfs");
  real_open = lookup ("open");
  real_open64 = lookup ("open64");
  real___open_2 = lookup ("__open_2");
  real___open64_2 = lookup ("__open64_2");
  real_openat = lookup ("openat");
  real_openat64 = lookup ("openat64");
  real___openat_2 = lookup ("__openat_2");
  real___openat64_2 = lookup ("__openat64_2");
  real_stat = lookup ("stat");
  real_stat64 = lookup ("stat64");
  real_fork = lookup ("fork");
  real_clone = lookup ("clone");
  real_posix_spawn = lookup ("posix_spawn");
  real_posix_spawnp = lookup ("posix_spawnp");
  real_pipe2 = lookup ("pipe2");
  real_read = lookup ("read");
  real_write = lookup ("write");
  real_memfd_create = lookup ("memfd_create");
  real_mmap = lookup ("mmap");
  real_mmap64 = lookup ("mmap64");
  real_fcntl = lookup ("fcntl");
  real_fcntl64 = lookup ("fcntl64");
  real_dup2 = lookup ("dup2");
  real_chdir = lookup ("chdir");
  real_pidfd_open = lookup ("pidfd_open");
  real_pidfd_send_signal = lookup ("pidfd_send_signal");
  real_kill = lookup ("kill");
  real_ioctl = lookup ("ioctl");
  real_waitid = lookup ("waitid");

  loader_pid = getpid ();

  /* Rules given through the environment belong to the process that gave
   * them: here, "where=host" never matches and "where=child" always does. */
  if (spec != NULL && *spec != '\0')
    configure (spec, 0);
}

/* A child that a long-lived process (the forkserver) forked for a task
 * got the task's environment in environ, after the constructor ran. Such
 * a child, whose parent is the process that loaded the shim, takes the
 * rules of its PSF_FAULT when it has none. Only a forked copy can be one:
 * a child cloned with CLONE_VM shares the server's memory, but its parent
 * is the host (CLONE_PARENT), so it never writes here. */
static RuleSet *
rules_from_environment (void)
{
  const char *spec;

  if (loader_pid == 0 || getpid () == loader_pid || getppid () != loader_pid)
    return NULL;
  spec = getenv ("PSF_FAULT");
  if (spec == NULL || *spec == '\0' || configure (spec, 0) < 0)
    return NULL;
  return __atomic_load_n (&current, __ATOMIC_ACQUIRE);
}

/* ---- the async-signal-safe path ----------------------------------------- */

static void
sleep_ms (unsigned ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
path_matches (const char *pattern,
              const char *path)
{
  size_t len = strlen (pattern);

  if (path == NULL)
    return 0;
  if (len > 0 && pattern[len - 1] == '*')
    return strncmp (pattern, path, len - 1) == 0;
  return strcmp (pattern, path) == 0;
}

/* Writes the target of /proc/self/fd/@fd into @buf. */
static const char *
fd_path (int    fd,
         char  *buf,
         size_t size)
{
  char link[32] = "/proc/self/fd/";
  char digits[16];
  size_t n = 0;
  size_t len = strlen (link);
  ssize_t r;
  unsigned value = fd < 0 ? 0 : (unsigned) fd;

  if (fd < 0)
    return NULL;
  do
    {
      digits[n++] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value > 0);
  while (n > 0)
    link[len++] = digits[--n];
  link[len] = '\0';

  r = readlink (link, buf, size - 1);
  if (r < 0)
    return NULL;
  buf[r] = '\0';
  return buf;
}

static void
notify (const Rule *rule)
{
  if (rule->notify_fd >= 0)
    {
      ssize_t r = REAL (write) (rule->notify_fd, "r", 1);
      (void) r;
    }
}

static void
do_action (const Rule *rule)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sigemptyset (&sa.sa_mask);

  switch (rule->action)
    {
    case ACTION_SEGV:
      notify (rule);
      sa.sa_handler = SIG_DFL;
      sigaction (SIGSEGV, &sa, NULL);
      raise (SIGSEGV);
      _exit (139);

    case ACTION_HANG_IGNORE_TERM:
      sa.sa_handler = SIG_IGN;
      sigaction (SIGTERM, &sa, NULL);
      /* fall through */
    case ACTION_HANG:
      notify (rule);
      for (;;)
        pause ();

    case ACTION_DELAY:
      notify (rule);
      sleep_ms (rule->ms);
      return;

    case ACTION_GRANDCHILD:
      if (REAL (fork) () == 0)
        {
          /* The grandchild says its pid, so that a test can end it. */
          if (rule->notify_fd >= 0)
            {
              pid_t self = getpid ();
              ssize_t r = REAL (write) (rule->notify_fd, &self, sizeof self);
              (void) r;
            }
          sleep_ms (rule->ms);
          _exit (0);
        }
      return;

    case ACTION_FAIL:
    default:
      notify (rule);
      return;
    }
}

/* Returns the errno the call must fail with, or 0 to make the real call.
 * @path may be NULL and @fd -1 when the call has neither. */
static int
check (Call        call,
       const char *path,
       int         fd)
{
  RuleSet *set = __atomic_load_n (&current, __ATOMIC_ACQUIRE);
  char buf[MAX_PATH];
  int saved_errno = errno;
  int result = 0;

  if (set == NULL)
    set = rules_from_environment ();
  errno = saved_errno;
  if (set == NULL || !(set->call_mask & (1u << call)))
    return 0;

  for (unsigned i = 0; i < set->n_rules; i++)
    {
      Rule *rule = &set->rules[i];
      unsigned seen;

      if (rule->call != call)
        continue;
      if (rule->where != WHERE_ANY)
        {
          int in_host = set->host_pid != 0 && set->host_pid == getpid ();

          if ((rule->where == WHERE_HOST) != in_host)
            continue;
        }
      if (rule->path[0] != '\0')
        {
          if (path == NULL && fd >= 0)
            path = fd_path (fd, buf, sizeof buf);
          else if (path != NULL && path != buf && strncmp (path, "/proc/self/fd/", 14) == 0)
            {
              /* A reopen through /proc/self/fd is matched as the file it
               * reopens. */
              ssize_t r = readlink (path, buf, sizeof buf - 1);

              if (r > 0)
                {
                  buf[r] = '\0';
                  path = buf;
                }
            }
          if (!path_matches (rule->path, path))
            continue;
        }

      seen = __atomic_add_fetch (&rule->seen, 1, __ATOMIC_RELAXED);
      if (seen < rule->nth || (rule->times != 0 && seen >= rule->nth + rule->times))
        continue;

      __atomic_add_fetch (&set->hits, 1, __ATOMIC_RELAXED);
      do_action (rule);
      if (rule->action == ACTION_FAIL)
        {
          result = rule->error;
          break;
        }
    }

  errno = saved_errno;
  return result;
}

#define FAIL_IF(call, path, fd, failure)      \
  do {                                        \
    int fault_errno_ = check (call, path, fd); \
    if (fault_errno_ != 0)                    \
      {                                       \
        errno = fault_errno_;                 \
        return failure;                       \
      }                                       \
  } while (0)

static int
needs_mode (int flags)
{
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

/* An O_PATH open opens nothing (no driver, no FIFO end): it is a look at
 * the path, as stat() is, and "stat" rules match it. */
static Call
open_call (Call call,
           int  flags)
{
  return (flags & O_PATH) ? CALL_STAT : call;
}

#define MODE_ARG(flags, mode)              \
  do {                                     \
    if (needs_mode (flags))                \
      {                                    \
        va_list ap_;                       \
        va_start (ap_, flags);             \
        mode = va_arg (ap_, mode_t);       \
        va_end (ap_);                      \
      }                                    \
  } while (0)

/* The value of @name in environ, or NULL: getenv() without its locale
 * and lock questions, for a forked child. */
static const char *
env_value (const char *name)
{
  size_t len = strlen (name);

  for (char **e = environ; e != NULL && *e != NULL; e++)
    if (strncmp (*e, name, len) == 0 && (*e)[len] == '=')
      return *e + len + 1;
  return NULL;
}

/* The PSF_SHIM_SYNCFS_* variables; returns the errno to fail with, -1 for
 * none. */
static int
syncfs_variables (void)
{
  const char *count_fd = env_value ("PSF_SHIM_SYNCFS_COUNT_FD");
  const char *delay = env_value ("PSF_SHIM_SYNCFS_DELAY_MS");
  const char *fail = env_value ("PSF_SHIM_SYNCFS_ERRNO");

  if (count_fd != NULL && *count_fd != '\0')
    {
      ssize_t r = REAL (write) ((int) parse_unsigned (count_fd, strlen (count_fd)), "s", 1);
      (void) r;
    }
  if (delay != NULL && *delay != '\0')
    sleep_ms (parse_unsigned (delay, strlen (delay)));
  if (fail != NULL && *fail != '\0')
    {
      int error = parse_errno (fail, strlen (fail));

      return error < 0 ? 0 : error;
    }
  return -1;
}

PSF_FAULT_EXPORT int
syncfs (int fd)
{
  int saved_errno = errno;
  int error = syncfs_variables ();

  if (error >= 0)
    {
      errno = error;
      return -1;
    }
  errno = saved_errno;
  FAIL_IF (CALL_SYNCFS, NULL, fd, -1);
  return REAL (syncfs) (fd);
}

PSF_FAULT_EXPORT int
open (const char *path, int flags, ...)
{
  mode_t mode = 0;

  MODE_ARG (flags, mode);
  FAIL_IF (open_call (CALL_OPEN, flags), path, -1, -1);
  return REAL (open) (path, flags, mode);
}

PSF_FAULT_EXPORT int
open64 (const char *path, int flags, ...)
{
  mode_t mode = 0;

  MODE_ARG (flags, mode);
  FAIL_IF (open_call (CALL_OPEN, flags), path, -1, -1);
  return REAL (open64) (path, flags, mode);
}

PSF_FAULT_EXPORT int
__open_2 (const char *path, int flags)
{
  FAIL_IF (open_call (CALL_OPEN, flags), path, -1, -1);
  return REAL (__open_2) (path, flags);
}

PSF_FAULT_EXPORT int
__open64_2 (const char *path, int flags)
{
  FAIL_IF (open_call (CALL_OPEN, flags), path, -1, -1);
  return REAL (__open64_2) (path, flags);
}

PSF_FAULT_EXPORT int
openat (int dirfd, const char *path, int flags, ...)
{
  mode_t mode = 0;

  MODE_ARG (flags, mode);
  FAIL_IF (open_call (CALL_OPENAT, flags), path, -1, -1);
  return REAL (openat) (dirfd, path, flags, mode);
}

PSF_FAULT_EXPORT int
openat64 (int dirfd, const char *path, int flags, ...)
{
  mode_t mode = 0;

  MODE_ARG (flags, mode);
  FAIL_IF (open_call (CALL_OPENAT, flags), path, -1, -1);
  return REAL (openat64) (dirfd, path, flags, mode);
}

PSF_FAULT_EXPORT int
__openat_2 (int dirfd, const char *path, int flags)
{
  FAIL_IF (open_call (CALL_OPENAT, flags), path, -1, -1);
  return REAL (__openat_2) (dirfd, path, flags);
}

PSF_FAULT_EXPORT int
__openat64_2 (int dirfd, const char *path, int flags)
{
  FAIL_IF (open_call (CALL_OPENAT, flags), path, -1, -1);
  return REAL (__openat64_2) (dirfd, path, flags);
}

PSF_FAULT_EXPORT int
stat (const char *path, struct stat *buf)
{
  FAIL_IF (CALL_STAT, path, -1, -1);
  return REAL (stat) (path, buf);
}

PSF_FAULT_EXPORT int
stat64 (const char *path, struct stat64 *buf)
{
  FAIL_IF (CALL_STAT, path, -1, -1);
  return REAL (stat64) (path, buf);
}

/* Only openat2(), which libc has no function for here, is looked at
 * ("stat" for an O_PATH open, "openat" for any other); every other number
 * goes straight to libc. */
PSF_FAULT_EXPORT long
syscall (long number, ...)
{
  va_list ap;
  long a[6];

  va_start (ap, number);
  for (int i = 0; i < 6; i++)
    a[i] = va_arg (ap, long);
  va_end (ap);

#ifdef SYS_openat2
  if (number == SYS_openat2 && a[2] != 0)
    {
      const struct open_how *how = (const struct open_how *) a[2];

      FAIL_IF (open_call (CALL_OPENAT, (int) how->flags), (const char *) a[1], -1, -1);
    }
#endif
  return REAL (syscall) (number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

PSF_FAULT_EXPORT pid_t
fork (void)
{
  FAIL_IF (CALL_FORK, NULL, -1, -1);
  return REAL (fork) ();
}

PSF_FAULT_EXPORT int
clone (int (*fn) (void *), void *stack, int flags, void *arg, ...)
{
  va_list ap;
  void *parent_tid, *tls, *child_tid;

  va_start (ap, arg);
  parent_tid = va_arg (ap, void *);
  tls = va_arg (ap, void *);
  child_tid = va_arg (ap, void *);
  va_end (ap);

  FAIL_IF (CALL_CLONE, NULL, -1, -1);
  return REAL (clone) (fn, stack, flags, arg, parent_tid, tls, child_tid);
}

PSF_FAULT_EXPORT int
posix_spawn (pid_t                            *pid,
             const char                       *path,
             const posix_spawn_file_actions_t *actions,
             const posix_spawnattr_t          *attr,
             char * const                      argv[],
             char * const                      envp[])
{
  int e = check (CALL_POSIX_SPAWN, path, -1);

  /* posix_spawn() returns the error, errno is left alone. */
  if (e != 0)
    return e;
  return REAL (posix_spawn) (pid, path, actions, attr, argv, envp);
}

PSF_FAULT_EXPORT int
posix_spawnp (pid_t                            *pid,
              const char                       *file,
              const posix_spawn_file_actions_t *actions,
              const posix_spawnattr_t          *attr,
              char * const                      argv[],
              char * const                      envp[])
{
  int e = check (CALL_POSIX_SPAWN, file, -1);

  if (e != 0)
    return e;
  return REAL (posix_spawnp) (pid, file, actions, attr, argv, envp);
}

PSF_FAULT_EXPORT int
pipe2 (int fds[2], int flags)
{
  FAIL_IF (CALL_PIPE2, NULL, -1, -1);
  return REAL (pipe2) (fds, flags);
}

PSF_FAULT_EXPORT ssize_t
read (int fd, void *buf, size_t count)
{
  FAIL_IF (CALL_READ, NULL, fd, -1);
  return REAL (read) (fd, buf, count);
}

PSF_FAULT_EXPORT ssize_t
write (int fd, const void *buf, size_t count)
{
  FAIL_IF (CALL_WRITE, NULL, fd, -1);
  return REAL (write) (fd, buf, count);
}

PSF_FAULT_EXPORT int
memfd_create (const char *name, unsigned int flags)
{
  FAIL_IF (CALL_MEMFD_CREATE, name, -1, -1);
  return REAL (memfd_create) (name, flags);
}

PSF_FAULT_EXPORT void *
mmap (void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
  /* Anonymous maps are malloc's business: only fd-backed ones are looked at. */
  if (fd >= 0)
    FAIL_IF (CALL_MMAP, NULL, fd, MAP_FAILED);
  return REAL (mmap) (addr, len, prot, flags, fd, offset);
}

PSF_FAULT_EXPORT void *
mmap64 (void *addr, size_t len, int prot, int flags, int fd, off64_t offset)
{
  if (fd >= 0)
    FAIL_IF (CALL_MMAP, NULL, fd, MAP_FAILED);
  return REAL (mmap64) (addr, len, prot, flags, fd, offset);
}

PSF_FAULT_EXPORT int
fcntl (int fd, int cmd, ...)
{
  va_list ap;
  void *arg;

  va_start (ap, cmd);
  arg = va_arg (ap, void *);
  va_end (ap);

  FAIL_IF (CALL_FCNTL, NULL, fd, -1);
  return REAL (fcntl) (fd, cmd, arg);
}

PSF_FAULT_EXPORT int
fcntl64 (int fd, int cmd, ...)
{
  va_list ap;
  void *arg;

  va_start (ap, cmd);
  arg = va_arg (ap, void *);
  va_end (ap);

  FAIL_IF (CALL_FCNTL, NULL, fd, -1);
  return REAL (fcntl64) (fd, cmd, arg);
}

PSF_FAULT_EXPORT int
dup2 (int oldfd, int newfd)
{
  FAIL_IF (CALL_DUP2, NULL, oldfd, -1);
  return REAL (dup2) (oldfd, newfd);
}

PSF_FAULT_EXPORT int
chdir (const char *path)
{
  FAIL_IF (CALL_CHDIR, path, -1, -1);
  return REAL (chdir) (path);
}

PSF_FAULT_EXPORT int
pidfd_open (pid_t pid, unsigned int flags)
{
  FAIL_IF (CALL_PIDFD_OPEN, NULL, -1, -1);
  return REAL (pidfd_open) (pid, flags);
}

PSF_FAULT_EXPORT int
pidfd_send_signal (int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
  FAIL_IF (CALL_PIDFD_SEND_SIGNAL, NULL, -1, -1);
  return REAL (pidfd_send_signal) (pidfd, sig, info, flags);
}

PSF_FAULT_EXPORT int
kill (pid_t pid, int sig)
{
  FAIL_IF (CALL_KILL, NULL, -1, -1);
  return REAL (kill) (pid, sig);
}

/* Every request takes at most one argument, a pointer or an integer that
 * fits one. */
PSF_FAULT_EXPORT int
ioctl (int fd, unsigned long request, ...)
{
  va_list ap;
  void *arg;

  va_start (ap, request);
  arg = va_arg (ap, void *);
  va_end (ap);

  FAIL_IF (CALL_IOCTL, NULL, fd, -1);
  return REAL (ioctl) (fd, request, arg);
}

PSF_FAULT_EXPORT int
waitid (idtype_t idtype, id_t id, siginfo_t *info, int options)
{
  FAIL_IF (CALL_WAITID, NULL, -1, -1);
  return REAL (waitid) (idtype, id, info, options);
}
