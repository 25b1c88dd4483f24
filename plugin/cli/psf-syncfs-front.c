/* psf-syncfs-front.c: the psf-syncfs program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A run of psf-syncfs is often one syncfs() of one path, from a script or
 * a package manager's hook, and then the process is most of its cost:
 * mapping GLib, GObject and GIO and running their constructors takes
 * longer than the sync. So this program is linked with libc only (and
 * plugin/child's static library, libc only too), and it serves the runs
 * that need nothing more on its own:
 *
 *  - `--version`;
 *  - `-q`/`--quiet` with paths on the command line (none: the current
 *    directory), and `--` before paths that begin with a dash.
 *
 * For those it makes one child, with vfork() (see run_and_reap()), that
 * runs the library's own syncfs routine (psf_syncfs_child_run(), set up as
 * a FORK child of the library is; the filesystems are synced at once, each
 * in a sub-process of the child, as the spawned helper of the full command
 * syncs them at once with threads), reads its report with the wire's
 * reader, reaps it, and says what failed with the messages and the exit
 * status of the full command, from the same catalog. A run that succeeds
 * prints nothing, so the locale is only set up for a message.
 *
 * Every other run goes to the full command (psf-syncfs.c), built as the
 * module psf-syncfs-cli.so: this program opens it with dlopen() and calls
 * its entry point with the same argv, in this process (no second exec). So
 * do the runs this program cannot be sure to serve byte for byte as the
 * full command would: a locale whose charset is neither UTF-8 nor ASCII
 * (GLib converts the system's error texts to UTF-8, libc does not), a path
 * that is not valid UTF-8 (GLib's display name of it differs), GLib's
 * filename-encoding variables set, SIGCHLD ignored, or a pipe, a thread or
 * a vfork() that fails (nothing has been done or said by then). PSF_SYNCFS_FULL=1
 * sends every run there (the tests compare the two).
 *
 * While the child runs, SIGINT and SIGTERM cancel it as the full command
 * does (psf_task_cancel()): SIGTERM to the child, SIGKILL if it is still
 * there after a second, and "The task was cancelled", exit status 1
 * (watch_signals()). Each
 * step below mirrors the library's (PsfSyncfsProcess, PsfForkProcess,
 * PsfTask), which says why.
 */

#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <libintl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-syncfs-cli.h"
#include "psf-syncfs-common.h"
#include "psf-wire-report.h"

#define _(s) dgettext (GETTEXT_PACKAGE, s)

/* psf_task_cancel(): SIGKILL this long after SIGTERM (the default
 * PsfSubprocess:cancel-timeout). */
#define CANCEL_TIMEOUT_MS 1000

/* The returncode of a task cancelled before it ran (PSF_RETURNCODE_CANCELLED):
 * also what a child killed by SIGINT gives, which reads as cancelled. */
#define RETURNCODE_CANCELLED (-2)

/* A child that runs longer than this gets its report read as it comes
 * (it may outgrow the pipe); a shorter one's is read at the reap, with no
 * wakeup on the way (PsfForkProcess waits as long before it watches a
 * report that fits). */
#define REPORT_LATE_WATCH_MS 10

/* The stack of the thread that takes SIGINT and SIGTERM while the child
 * runs. */
#define WATCH_STACK_SIZE (64 * 1024)

typedef enum
{
  RUN_FULL,
  RUN_VERSION,
  RUN_SYNC,
} RunKind;

/* --------------------------------------------------- the full command */

/* Where the module is: $PSF_SYNCFS_CLI_MODULE; else, when this program
 * sits in its installed bindir (under any root: a DESTDIR too), the
 * module's installed path under the same root; else the module beside the
 * program (the build tree); else the installed path. */
static const char *
find_module (char   *buf,
             size_t  size)
{
  const char *env = getenv ("PSF_SYNCFS_CLI_MODULE");
  ssize_t n;
  char *slash;
  size_t dir_len;
  size_t bindir_len = strlen (PSF_BINDIR);

  if (env != NULL && *env != '\0')
    return env;

  n = readlink ("/proc/self/exe", buf, size - 1);
  if (n <= 0 || (size_t) n >= size - 1)
    return PSF_CLI_MODULE;
  buf[n] = '\0';
  slash = strrchr (buf, '/');
  if (slash == NULL)
    return PSF_CLI_MODULE;
  *slash = '\0';
  dir_len = (size_t) (slash - buf);

  if (dir_len >= bindir_len && strcmp (buf + dir_len - bindir_len, PSF_BINDIR) == 0)
    {
      size_t root_len = dir_len - bindir_len;

      if (root_len + strlen (PSF_CLI_MODULE) >= size)
        return PSF_CLI_MODULE;
      strcpy (buf + root_len, PSF_CLI_MODULE);
      return buf;
    }

  if (dir_len + 1 + strlen (PSF_SYNCFS_CLI_MODULE_NAME) < size)
    {
      buf[dir_len] = '/';
      strcpy (buf + dir_len + 1, PSF_SYNCFS_CLI_MODULE_NAME);
      if (access (buf, F_OK) == 0)
        return buf;
    }
  return PSF_CLI_MODULE;
}

static int
run_full_command (int   argc,
                  char *argv[])
{
  char buf[PATH_MAX];
  const char *module = find_module (buf, sizeof buf);
  void *handle = dlopen (module, RTLD_NOW | RTLD_LOCAL);
  PsfSyncfsCliMain entry = NULL;

  if (handle != NULL)
    *(void **) &entry = dlsym (handle, PSF_SYNCFS_CLI_ENTRY);

  if (entry == NULL)
    {
      const char *reason = dlerror ();
      char message[PATH_MAX + 256];

      psf_syncfs_init_i18n ();
      snprintf (message, sizeof message,
                /* Translators: %s says why, from the dynamic linker, such
                 * as “/usr/lib/psf-1/psf-syncfs-cli.so: cannot open shared
                 * object file: No such file or directory”. */
                _("Cannot load the module of the command: %s"),
                reason != NULL ? reason : module);
      psf_syncfs_print_error (message);
      return EXIT_FAILURE;
    }

  return entry (argc, argv);
}

/* ------------------------------------------------------ the arguments */

/* The command line as the full command's GOption parser would take it,
 * as long as it holds nothing but -q/--quiet, -V/--version, -- and paths:
 * anything else (another option, -qV, --quiet=x) is the full command's.
 * Leaves argv[] as it is (the full command gets the one it was given);
 * the paths of a RUN_SYNC are the @n_paths that is_path() takes. */
static int
is_path (const char *arg,
         int         options_end)
{
  return options_end || arg[0] != '-' || arg[1] == '\0';
}

static RunKind
parse_arguments (int     argc,
                 char   *argv[],
                 size_t *n_paths)
{
  int quiet = 0;
  int version = 0;
  int options_end = 0;

  *n_paths = 0;
  if (argc < 1)
    return RUN_FULL;

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (is_path (arg, options_end))
        (*n_paths)++;
      else if (strcmp (arg, "--") == 0)
        options_end = 1;
      else if (strcmp (arg, "-q") == 0 || strcmp (arg, "--quiet") == 0)
        quiet = 1;
      else if (strcmp (arg, "-V") == 0 || strcmp (arg, "--version") == 0)
        version = 1;
      else
        return RUN_FULL;
    }

  if (version)
    return RUN_VERSION;
  return quiet ? RUN_SYNC : RUN_FULL;
}

/* The paths of a RUN_SYNC, in order; NULL when out of memory. */
static const char **
collect_paths (int    argc,
               char  *argv[],
               size_t n_paths)
{
  const char **paths = malloc ((n_paths > 0 ? n_paths : 1) * sizeof *paths);
  int options_end = 0;
  size_t n = 0;

  if (paths == NULL)
    return NULL;
  for (int i = 1; i < argc; i++)
    if (is_path (argv[i], options_end))
      paths[n++] = argv[i];
    else if (strcmp (argv[i], "--") == 0)
      options_end = 1;
  return paths;
}

/* g_utf8_validate(), or stricter: a name this refuses goes to the full
 * command, which is never wrong. */
static int
is_valid_utf8 (const unsigned char *s)
{
  while (*s != '\0')
    {
      uint32_t c;
      int extra;

      if (*s < 0x80)
        {
          s++;
          continue;
        }
      if ((*s & 0xe0) == 0xc0)
        c = *s & 0x1f, extra = 1;
      else if ((*s & 0xf0) == 0xe0)
        c = *s & 0x0f, extra = 2;
      else if ((*s & 0xf8) == 0xf0)
        c = *s & 0x07, extra = 3;
      else
        return 0;
      s++;
      for (int i = 0; i < extra; i++, s++)
        {
          if ((*s & 0xc0) != 0x80)
            return 0;
          c = (c << 6) | (*s & 0x3f);
        }
      if ((extra == 1 && c < 0x80) || (extra == 2 && c < 0x800) || (extra == 3 && c < 0x10000) ||
          c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
          (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
        return 0;
    }
  return 1;
}

/* Whether the charset of the locale the environment asks for is UTF-8 or
 * ASCII, where libc's error texts are what GLib makes of them. Without
 * setlocale() where the names say (a run that succeeds never needs the
 * locale): the C locale, or a name with a UTF-8 codeset, which is UTF-8,
 * or, when it is not installed, the C locale. Any other name is looked
 * up. */
static int
has_utf8_or_ascii_charset (void)
{
  static const char * const variables[] = { "LC_ALL", "LC_CTYPE", "LANG" };
  const char *name = "";
  const char *codeset;

  for (size_t i = 0; i < sizeof variables / sizeof variables[0] && *name == '\0'; i++)
    if ((name = getenv (variables[i])) == NULL)
      name = "";

  if (*name == '\0' || strcmp (name, "C") == 0 || strcmp (name, "POSIX") == 0)
    return 1;
  if ((codeset = strchr (name, '.')) != NULL)
    {
      size_t len = strcspn (++codeset, "@");

      if ((len == 5 && strncasecmp (codeset, "UTF-8", 5) == 0) ||
          (len == 4 && strncasecmp (codeset, "utf8", 4) == 0))
        return 1;
    }

  psf_syncfs_init_i18n ();
  codeset = nl_langinfo (CODESET);
  return strcmp (codeset, "UTF-8") == 0 || strcmp (codeset, "ANSI_X3.4-1968") == 0;
}

/* What would make the full command say something else than this program
 * about these paths, or about errors at all. */
static int
can_serve (const char * const *paths,
           size_t              n_paths)
{
  struct sigaction chld;

  if (!has_utf8_or_ascii_charset ())
    return 0;
  if (getenv ("G_FILENAME_ENCODING") != NULL || getenv ("G_BROKEN_FILENAMES") != NULL)
    return 0;
  /* The library refuses to start a child then, and says why. */
  if (sigaction (SIGCHLD, NULL, &chld) != 0 || chld.sa_handler == SIG_IGN ||
      (chld.sa_flags & SA_NOCLDWAIT) != 0)
    return 0;
  for (size_t i = 0; i < n_paths; i++)
    if (!is_valid_utf8 ((const unsigned char *) paths[i]))
      return 0;
  return 1;
}

/* ------------------------------------------------------------ --version */

static int
write_all (int         fd,
           const char *data,
           size_t      len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? errno : EIO;
      data += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
print_version (void)
{
  static const char text[] = "psf-syncfs (psf) " PACKAGE_VERSION "\n";
  int error = write_all (STDOUT_FILENO, text, sizeof text - 1);
  char message[512];

  if (error == 0)
    return EXIT_SUCCESS;
  psf_syncfs_init_i18n ();
  snprintf (message, sizeof message,
            /* Translators: %s is the error text, such as “No space left on
             * device”. */
            _("Cannot write to standard output: %s"), strerror (error));
  psf_syncfs_print_error (message);
  return EXIT_FAILURE;
}

/* ------------------------------------------------------------ the input */

/* g_get_current_dir(): $PWD when it names the working directory, else
 * getcwd(), else "/". */
static char *
current_dir (void)
{
  const char *pwd = getenv ("PWD");
  struct stat dot, named;
  size_t size = 4096;

  if (pwd != NULL && stat (".", &dot) == 0 && stat (pwd, &named) == 0 &&
      dot.st_dev == named.st_dev && dot.st_ino == named.st_ino)
    return strdup (pwd);

  for (;;)
    {
      char *buf = malloc (size);

      if (buf == NULL)
        return NULL;
      if (getcwd (buf, size) != NULL && buf[0] != '\0')
        return buf;
      free (buf);
      if (errno != ERANGE || size > SIZE_MAX / 4)
        return strdup ("/");
      size *= 2;
    }
}

/* g_build_filename (dir, path, NULL) for an absolute @dir and a relative,
 * non-empty @path: @dir's leading slashes, the two without the slashes
 * around them joined by one, then @path's trailing slashes. Appends it,
 * with its NUL, at @out; returns the length written. */
static size_t
build_filename (char       *out,
                const char *dir,
                const char *path)
{
  size_t lead = strspn (dir, "/");
  size_t dir_end = strlen (dir);
  size_t path_end = strlen (path);
  size_t path_len = path_end;
  char *p = out;

  while (dir_end > lead && dir[dir_end - 1] == '/')
    dir_end--;
  while (path_end > 0 && path[path_end - 1] == '/')
    path_end--;

  memcpy (p, dir, dir_end);
  p += dir_end;
  if (dir_end > lead && path_end > 0)
    *p++ = '/';
  memcpy (p, path, path_len);
  p += path_len;
  *p++ = '\0';
  return (size_t) (p - out);
}

/* The routine's input, as PsfSyncfsProcess prepares it: the header, then
 * each path, relative ones resolved against the working directory. */
static void *
make_input (const char * const *paths,
            size_t              n_paths,
            size_t             *len_out)
{
  PsfSyncfsInputHeader header = { 0 };
  char *cwd = NULL;
  size_t cwd_len = 0;
  size_t len = sizeof header;
  char *input;
  char *p;

  for (size_t i = 0; i < n_paths; i++)
    {
      if (paths[i][0] != '\0' && paths[i][0] != '/' && cwd == NULL)
        {
          if ((cwd = current_dir ()) == NULL)
            return NULL;
          cwd_len = strlen (cwd);
        }
      len += cwd_len + 1 + strlen (paths[i]) + 1;
    }

  input = malloc (len);
  if (input == NULL)
    {
      free (cwd);
      return NULL;
    }
  header.magic = PSF_SYNCFS_INPUT_MAGIC;
  header.n_paths = (uint32_t) n_paths;
  memcpy (input, &header, sizeof header);
  p = input + sizeof header;
  for (size_t i = 0; i < n_paths; i++)
    {
      if (paths[i][0] == '\0' || paths[i][0] == '/')
        {
          size_t n = strlen (paths[i]) + 1;

          memcpy (p, paths[i], n);
          p += n;
        }
      else
        p += build_filename (p, cwd, paths[i]);
    }
  free (cwd);
  *len_out = (size_t) (p - input);
  return input;
}

/* ------------------------------------------------------------- the run */

typedef struct
{
  pid_t          pid;           /* once known */
  int            report_fd;
  unsigned char *report;
  size_t         report_len;
  size_t         report_size;   /* the routine's bound */
  int            report_error;  /* errno of a failed read() */
  int            wait_status;
  int            cancelled;
} Child;

/* Reads what the report pipe holds now (it is non-blocking): while the
 * child runs, in watch_signals(), so that a child whose report outgrows
 * the pipe never waits for a reader that waits for its exit; the rest at
 * the reap. What exceeds the bound is read and dropped. */
static void
read_report (Child *child)
{
  for (;;)
    {
      unsigned char spill[4096];
      size_t room = child->report_size - child->report_len;
      ssize_t n = room > 0 ? read (child->report_fd, child->report + child->report_len, room)
                           : read (child->report_fd, spill, sizeof spill);

      if (n > 0)
        {
          if (room > 0)
            child->report_len += (size_t) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN)
        child->report_error = errno;
      return;
    }
}

static void
add_ms (struct timespec *t,
        long             ms)
{
  t->tv_sec += ms / 1000;
  t->tv_nsec += (ms % 1000) * 1000000L;
  if (t->tv_nsec >= 1000000000L)
    {
      t->tv_sec++;
      t->tv_nsec -= 1000000000L;
    }
}

/* How long until @deadline, never below 0. */
static struct timespec
time_until (const struct timespec *deadline)
{
  struct timespec now, left;

  clock_gettime (CLOCK_MONOTONIC, &now);
  left.tv_sec = deadline->tv_sec - now.tv_sec;
  left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
  if (left.tv_nsec < 0)
    {
      left.tv_sec--;
      left.tv_nsec += 1000000000L;
    }
  if (left.tv_sec < 0)
    left.tv_sec = left.tv_nsec = 0;
  return left;
}

/* A run of the child. The main thread makes it with vfork() and waits in
 * vfork() for its exit (see sync_paths()); meanwhile a thread of its own,
 * watch_signals(), takes SIGINT and SIGTERM (blocked in every thread,
 * read from a signalfd) and, once the child has run REPORT_LATE_WATCH_MS,
 * reads the report pipe as it fills. The main
 * thread wakes it (@wake_fd) once the child is reaped and joins it. The
 * child writes its pid as its first step. */
typedef struct
{
  const void     *input;
  size_t          input_len;
  int             report_fd;
  Child          *child;      /* its report, read by watch_signals() */
  int             signal_fd;  /* a signalfd for @signals */
  int             wake_fd;    /* an eventfd: the child was reaped */
  sigset_t        signals;    /* what watch_signals() takes */
  pthread_mutex_t lock;       /* held to signal the child and to reap it */
  pid_t           pid;        /* 0 until the child wrote it */
  int             reaped;
  int             cancelled;
  cpu_set_t       cpus;       /* the affinity to give back (see pin_to_cpu()) */
  int             pinned;
} Run;

/* Waits for a signal, the reap or (@with_report) report bytes, at most
 * @timeout (NULL: no limit), and takes what came. */
static void
wait_for_events (Run                   *run,
                 const struct timespec *timeout,
                 int                    with_report)
{
  struct pollfd fds[3] = {
    { .fd = run->signal_fd, .events = POLLIN },
    { .fd = with_report ? run->child->report_fd : -1, .events = POLLIN },
    { .fd = run->wake_fd, .events = POLLIN },
  };
  int ms = -1;

  if (timeout != NULL)
    ms = (int) (timeout->tv_sec * 1000 + (timeout->tv_nsec + 999999) / 1000000);
  if (poll (fds, 3, ms) <= 0)
    return;
  if (fds[0].revents & POLLIN)
    {
      struct signalfd_siginfo info;

      if (read (run->signal_fd, &info, sizeof info) == (ssize_t) sizeof info)
        __atomic_store_n (&run->cancelled, 1, __ATOMIC_RELEASE);
    }
  /* This process keeps the write end open until the reap: no hang-up. */
  if (fds[1].revents & POLLIN)
    read_report (run->child);
}

/* SIGINT or SIGTERM cancel the child as psf_task_cancel() does: SIGTERM,
 * then SIGKILL if it is still there a second later. Never a signal to a
 * pid once reaped (the lock); ends once the child is reaped. */
static void *
watch_signals (void *data)
{
  Run *run = data;
  struct timespec kill_at = { 0, 0 };
  struct timespec watch_report_at;
  int watching_report = 0;
  int terminated = 0;
  int killed = 0;

  clock_gettime (CLOCK_MONOTONIC, &watch_report_at);
  add_ms (&watch_report_at, REPORT_LATE_WATCH_MS);

  for (;;)
    {
      static const struct timespec soon = { 0, 1000000 };
      struct timespec left, late;
      const struct timespec *timeout = NULL;
      int cancelled = __atomic_load_n (&run->cancelled, __ATOMIC_ACQUIRE);
      pid_t pid;

      pthread_mutex_lock (&run->lock);
      pid = __atomic_load_n (&run->pid, __ATOMIC_ACQUIRE);
      if (run->reaped)
        {
          pthread_mutex_unlock (&run->lock);
          return NULL;
        }
      if (cancelled && pid > 0 && !terminated)
        {
          kill (pid, SIGTERM);
          terminated = 1;
          clock_gettime (CLOCK_MONOTONIC, &kill_at);
          add_ms (&kill_at, CANCEL_TIMEOUT_MS);
        }
      else if (terminated && !killed)
        {
          left = time_until (&kill_at);
          if (left.tv_sec == 0 && left.tv_nsec == 0)
            {
              kill (pid, SIGKILL);
              killed = 1;
            }
        }
      pthread_mutex_unlock (&run->lock);

      /* Cancelled before the child wrote its pid (a matter of
       * microseconds): look again soon. */
      if (cancelled && pid == 0)
        timeout = &soon;
      else if (terminated && !killed)
        {
          left = time_until (&kill_at);
          timeout = &left;
        }
      if (!watching_report)
        {
          late = time_until (&watch_report_at);
          watching_report = late.tv_sec == 0 && late.tv_nsec == 0;
          if (!watching_report &&
              (timeout == NULL || late.tv_sec < timeout->tv_sec ||
               (late.tv_sec == timeout->tv_sec && late.tv_nsec < timeout->tv_nsec)))
            timeout = &late;
        }
      wait_for_events (run, timeout, watching_report);
    }
}

/* ------------------------------------------------------- the messages */

typedef struct
{
  uint32_t first_failed;  /* index of the first FAILED path */
  int      first_errno;
  uint32_t n_failed;
  uint32_t n_reported;    /* paths with a record */
  int      failed_call;   /* the helper's failure record, or 0 */
  int      failed_errno;
} Outcome;

/* What the report says, read with the wire's reader (the library's
 * policy: the first record of a path counts, and so on); the failed paths
 * are counted in input order, as the results list them. Out of memory, no
 * path counts as reported. */
static void
decode_report (const Child *child,
               size_t       n_paths,
               Outcome     *outcome)
{
  unsigned char *seen = calloc (n_paths > 0 ? n_paths : 1, 1);
  PsfWireReportReader reader;
  PsfSyncfsRecord record;
  int first;

  memset (outcome, 0, sizeof *outcome);
  outcome->first_failed = UINT32_MAX;
  if (seen == NULL)
    return;
  psf_wire_report_reader_init (&reader, (uint32_t) n_paths, seen);
  while ((first = psf_wire_report_reader_next (&reader, child->report, child->report_len,
                                               &record)) >= 0)
    if (first == 1 && record.status == PSF_WIRE_STATUS_FAILED)
      {
        if (record.index < outcome->first_failed)
          {
            outcome->first_failed = record.index;
            outcome->first_errno = record.error;
          }
        outcome->n_failed++;
      }
  outcome->n_reported = reader.n_used;
  outcome->failed_call = reader.failed_call;
  outcome->failed_errno = reader.failed_errno;
  free (seen);
}

/* The returncode of the task (PsfForkProcess's reaped()): a child that
 * says it succeeded with a report that did not arrive whole did not. */
static int
task_returncode (const Child   *child,
                 size_t         n_paths,
                 const Outcome *outcome)
{
  int rc = WIFEXITED (child->wait_status) ? WEXITSTATUS (child->wait_status)
                                           : -WTERMSIG (child->wait_status);

  if (rc == 0 && child->report_error != 0)
    rc = psf_child_exit_report (child->report_error);
  else if (rc == 0 && outcome->n_reported != n_paths)
    rc = PSF_CHILD_EXIT_REPORT;
  return rc;
}

/* The message of wait_check for a task that did not return 0: the checks
 * of PsfSyncfsProcess, then PsfForkProcess, then PsfTask. */
static void
task_message (char                *buf,
              size_t               size,
              const char * const  *paths,
              size_t               n_paths,
              const Child         *child,
              const Outcome       *outcome,
              int                  rc)
{
  if (rc == 1 && !child->cancelled && outcome->n_failed > 0)
    {
      const char *path = paths[outcome->first_failed];
      const char *reason = strerror (outcome->first_errno);

      if (outcome->n_failed == 1)
        snprintf (buf, size, "syncfs(%s): %s", path, reason);
      else
        snprintf (buf, size,
                  dngettext (GETTEXT_PACKAGE,
                             "syncfs(%s): %s (and %u more path failed)",
                             "syncfs(%s): %s (and %u more paths failed)",
                             outcome->n_failed - 1),
                  path, reason, outcome->n_failed - 1);
    }
  else if (rc > 0 && outcome->failed_call == PSF_CHILD_FAILED_MMAP_INPUT)
    snprintf (buf, size, _("The helper could not map its input: mmap(fd %d): %s"),
              PSF_CHILD_INPUT_FD, strerror (outcome->failed_errno));
  else if (rc == PSF_CHILD_EXIT_REPORT && outcome->n_reported < n_paths)
    snprintf (buf, size,
              dngettext (GETTEXT_PACKAGE,
                         "The report of the child is incomplete: "
                         "%u of %u path reported",
                         "The report of the child is incomplete: "
                         "%u of %u paths reported",
                         n_paths),
              outcome->n_reported, (unsigned) n_paths);
  else if (rc > 0 && child->report_error != 0)
    snprintf (buf, size, _("The report of the child could not be read: %s: %s"),
              "read(report channel)", strerror (child->report_error));
  else if (rc > PSF_CHILD_EXIT_REPORT && rc <= 255)
    snprintf (buf, size, _("The child could not send its report: "
                           "write(report channel): %s"),
              strerror (rc - PSF_CHILD_EXIT_REPORT));
  else if (rc == RETURNCODE_CANCELLED || (child->cancelled && rc < 0))
    snprintf (buf, size, "%s", _("The task was cancelled"));
  else if (rc < 0)
    snprintf (buf, size, _("The child process was killed by signal %d (%s)"),
              -rc, strsignal (-rc));
  else
    snprintf (buf, size, _("The child process exited with status %d"), rc);
}

/* The child: what a FORK child of the library does with the syncfs
 * routine (plugin/child: signals back to their defaults and unblocked,
 * every fd from 3 up closed but the report channel, the routine, _exit()).
 * It shares this process's memory until it exits (vfork()): it writes its
 * pid, the routine writes its own stack and maps and unmaps its own room
 * for long lists, nothing else; its signal dispositions and fds are its
 * own. */
static void __attribute__ ((noreturn))
run_child (Run *run)
{
  int report_fd = run->report_fd;

  __atomic_store_n (&run->pid, getpid (), __ATOMIC_RELEASE);
  if (run->pinned)
    sched_setaffinity (0, sizeof run->cpus, &run->cpus);
  psf_child_reset_signals ();
  psf_child_close_fds_except (&report_fd, 1);
  _exit (psf_syncfs_child_run (run->input, run->input_len, report_fd) & 0xff);
}

/* Keeps this process on the CPU it runs on until the child is reaped, so
 * that the child, and the signal thread, run there: the main thread
 * sleeps while the child runs, and a child or a thread placed on another
 * CPU must wake it from idle (tens of microseconds on a VM), twice, where
 * on this one the switch is direct. The child gives its affinity back
 * before the routine runs (its sub-processes may use every CPU). */
static void
pin_to_cpu (Run *run)
{
  cpu_set_t one;
  int cpu = sched_getcpu ();

  run->pinned = 0;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity (0, sizeof run->cpus, &run->cpus) != 0)
    return;
  CPU_ZERO (&one);
  CPU_SET (cpu, &one);
  run->pinned = sched_setaffinity (0, sizeof one, &one) == 0;
}

static void
unpin (Run *run)
{
  if (run->pinned)
    sched_setaffinity (0, sizeof run->cpus, &run->cpus);
  run->pinned = 0;
}

/* Starts watch_signals() in a thread of its own (small stack), before
 * the rest of the set-up, so that its start overlaps with it. */
static int
start_watch (Run       *run,
             pthread_t *thread)
{
  pthread_attr_t attr;
  int r;

  if (pthread_attr_init (&attr) != 0)
    return -1;
  pthread_attr_setstacksize (&attr, WATCH_STACK_SIZE);
  r = pthread_create (thread, &attr, watch_signals, run);
  pthread_attr_destroy (&attr);
  return r == 0 ? 0 : -1;
}

/* Ends watch_signals() when no child was made: nothing to signal. */
static void
stop_watch (Run       *run,
            pthread_t  thread)
{
  pthread_mutex_lock (&run->lock);
  run->reaped = 1;
  pthread_mutex_unlock (&run->lock);
  pthread_cancel (thread);
  pthread_join (thread, NULL);
}

/* Makes the child, waits for it, reaps it; returns -1 when it could not be
 * made. A fork() copies this process's page tables and every page it then
 * writes, which costs more than the rest of a run on the machines measured
 * (3.4 ms for fork, _exit and reap of this small program on a 2-vCPU VM,
 * against 0.03-0.2 ms for vfork()); vfork() copies nothing and runs the
 * child at once, but holds the thread that calls it until the child
 * exits, hence the thread that takes the signals meanwhile. */
static int
run_and_reap (Run       *run,
              Child     *child,
              pthread_t  thread)
{
  pid_t pid;
  pid_t r;

  pid = vfork ();
  if (pid == 0)
    run_child (run);
  if (pid < 0)
    {
      stop_watch (run, thread);
      return -1;
    }

  /* Killed before it could write it, the child has not. */
  __atomic_store_n (&run->pid, pid, __ATOMIC_RELEASE);
  pthread_mutex_lock (&run->lock);
  do
    r = waitpid (pid, &child->wait_status, 0);
  while (r < 0 && errno == EINTR);
  run->reaped = 1;
  pthread_mutex_unlock (&run->lock);
  child->pid = pid;

  /* The thread ends at its next wakeup, or with the process. A signal
   * that came with the exit cancels a task that has exited: it is marked
   * cancelled, nothing is sent. */
  for (;;)
    {
      static const struct timespec now = { 0, 0 };
      siginfo_t info;
      int sig = sigtimedwait (&run->signals, &info, &now);

      if (sig < 0 && errno == EINTR)
        continue;
      if (sig < 0)
        break;
      __atomic_store_n (&run->cancelled, 1, __ATOMIC_RELEASE);
    }
  {
    uint64_t one = 1;

    /* An eventfd write of 1 cannot fail here (the count is far from its
     * maximum): the thread sees the reap at once. */
    if (write (run->wake_fd, &one, sizeof one) < 0)
      abort ();
  }
  pthread_join (thread, NULL);
  child->cancelled = __atomic_load_n (&run->cancelled, __ATOMIC_ACQUIRE);

  /* Everything the child wrote before it exited is in the pipe now. */
  read_report (child);
  return 0;
}

/* Gives back what sync_paths() made for a run, but the report. */
static void
sync_paths_undo (Run            *run,
                 const int       report[2],
                 void           *input,
                 const sigset_t *saved_mask)
{
  unpin (run);
  sigprocmask (SIG_SETMASK, saved_mask, NULL);
  for (int i = 0; i < 2; i++)
    if (report[i] >= 0)
      close (report[i]);
  if (run->signal_fd >= 0)
    close (run->signal_fd);
  if (run->wake_fd >= 0)
    close (run->wake_fd);
  pthread_mutex_destroy (&run->lock);
  free (input);
}

/* -q PATH…: returns the exit status, or -1 when nothing was done and the
 * full command is to serve the run. */
static int
sync_paths (const char * const *paths,
            size_t              n_paths)
{
  static const char * const cwd_only[] = { "." };
  Child child = { .report_fd = -1, .wait_status = 0 };
  Run run = { .pid = 0, .reaped = 0, .cancelled = 0, .signal_fd = -1, .wake_fd = -1 };
  pthread_t watch;
  int launched;
  Outcome outcome;
  sigset_t saved_mask;
  int report[2];
  size_t input_len = 0;
  void *input;
  int rc;

  if (n_paths == 0)
    {
      paths = cwd_only;
      n_paths = 1;
    }
  if (n_paths >= UINT32_MAX / 2 || !can_serve (paths, n_paths))
    return -1;

  /* Blocked from here to the end in every thread, taken by
   * watch_signals() (the child unblocks them). As in the full command,
   * whose handlers override them, SIGINT and SIGTERM cancel the run even
   * where they came in ignored: their dispositions become the default, as
   * the full command leaves them. */
  sigemptyset (&run.signals);
  sigaddset (&run.signals, SIGINT);
  sigaddset (&run.signals, SIGTERM);
  /* SIGCHLD too, so that the child's exit wakes no thread but the one
   * that waits for it. */
  sigaddset (&run.signals, SIGCHLD);
  sigprocmask (SIG_BLOCK, &run.signals, &saved_mask);
  sigdelset (&run.signals, SIGCHLD);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  /* One that came in blocked stays the caller's, as it does for the full
   * command, where it never reaches the handler. */
  for (int i = 0; i < 2; i++)
    if (sigismember (&saved_mask, i == 0 ? SIGINT : SIGTERM))
      sigdelset (&run.signals, i == 0 ? SIGINT : SIGTERM);
  pthread_mutex_init (&run.lock, NULL);

  /* What watch_signals() waits on, made before it starts. */
  child.report_size = PSF_SYNCFS_REPORT_MAX_RECORDS (n_paths) * sizeof (PsfSyncfsRecord);
  child.report = malloc (child.report_size);
  run.child = &child;
  run.signal_fd = signalfd (-1, &run.signals, SFD_CLOEXEC | SFD_NONBLOCK);
  run.wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  report[0] = report[1] = -1;
  if (child.report == NULL || run.signal_fd < 0 || run.wake_fd < 0 ||
      pipe2 (report, O_CLOEXEC) < 0)
    {
      sync_paths_undo (&run, report, NULL, &saved_mask);
      free (child.report);
      return -1;
    }
  child.report_fd = report[0];
  fcntl (child.report_fd, F_SETFL, O_NONBLOCK);

  pin_to_cpu (&run);
  if (start_watch (&run, &watch) < 0)
    {
      sync_paths_undo (&run, report, NULL, &saved_mask);
      free (child.report);
      return -1;
    }

  input = make_input (paths, n_paths, &input_len);
  if (input == NULL)
    {
      stop_watch (&run, watch);
      sync_paths_undo (&run, report, input, &saved_mask);
      free (child.report);
      return -1;
    }

  /* The routine syncs distinct filesystems at once, each in a
   * sub-process of the child (a thread could not be made in it). */
  psf_syncfs_child_set_sync_many (psf_syncfs_sync_many_forked);

  run.input = input;
  run.input_len = input_len;
  run.report_fd = report[1];
  launched = run_and_reap (&run, &child, watch);
  sync_paths_undo (&run, report, input, &saved_mask);
  if (launched < 0)
    {
      free (child.report);
      return -1;
    }

  decode_report (&child, n_paths, &outcome);
  rc = task_returncode (&child, n_paths, &outcome);
  free (child.report);
  if (rc == 0)
    return EXIT_SUCCESS;

  {
    char message[PATH_MAX + 1024];

    psf_syncfs_init_i18n ();
    task_message (message, sizeof message, paths, n_paths, &child, &outcome, rc);
    psf_syncfs_print_error (message);
  }
  return EXIT_FAILURE;
}

int
main (int   argc,
      char *argv[])
{
  const char *full = getenv ("PSF_SYNCFS_FULL");
  RunKind kind = RUN_FULL;
  size_t n_paths = 0;

  /* The locale is set up when a message is due (a run that succeeds
   * says nothing); the full command sets it up itself. */
  psf_syncfs_reserve_standard_fds ();

  if (full == NULL || *full == '\0' || strcmp (full, "0") == 0)
    kind = parse_arguments (argc, argv, &n_paths);

  switch (kind)
    {
    case RUN_VERSION:
      return print_version ();

    case RUN_SYNC:
      {
        const char **paths = collect_paths (argc, argv, n_paths);
        int status = paths != NULL ? sync_paths (paths, n_paths) : -1;

        free (paths);
        if (status >= 0)
          return status;
      }
      break;

    case RUN_FULL:
    default:
      break;
    }

  return run_full_command (argc, argv);
}
