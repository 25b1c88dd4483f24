/* psf-child-routines.c: the routines that run inside a child process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY. This file runs between fork() and _exit() in a
 * copy of a host that may have had other threads (their locks are frozen in
 * whatever state they were in), so it calls only raw, async-signal-safe libc
 * functions: open, openat, openat2 (through syscall()), fstat, fstatfs,
 * readlink, syncfs, sync, close, write, sigaction,
 * sigprocmask, close_range, mmap, _Fork, waitpid, prctl, getpid, getppid,
 * kill. No malloc, no stdio, no GLib, no errno-to-text.
 * It is also linked into the helper psf-child, so both start methods run
 * exactly the same routine.
 *
 * syncfs() is called through libc (not syscall()) so that tests can
 * interpose it with LD_PRELOAD.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SYS_openat2
# include <linux/openat2.h>
#endif

#include "psf-child-private.h"

int
psf_child_write_all (int         fd,
                     const void *data,
                     size_t      len)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }

  return 0;
}

void
psf_child_reset_signals (void)
{
  struct sigaction dfl;
  sigset_t none;

  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);

  /* Handlers of the host make no sense here, and an ignored SIGTERM
   * would make cancel() wait for SIGKILL. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL);

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

void
psf_child_close_range (unsigned first,
                       unsigned last)
{
  if (first > last)
    return;
#if HAVE_CLOSE_RANGE
  if (close_range (first, last, 0) == 0)
    return;
#endif
  for (unsigned fd = first; fd <= last && fd < 65536; fd++)
    close ((int) fd);
}

void
psf_child_close_fds_except (const int *keep,
                            size_t     n_keep)
{
  unsigned low = 3;

  /* The gaps between the kept fds in ascending order, without sorting
   * @keep (const, and the list is short): the next kept fd is the lowest
   * one not below @low. */
  for (;;)
    {
      int next = -1;

      for (size_t i = 0; i < n_keep; i++)
        if (keep[i] >= 0 && (unsigned) keep[i] >= low &&
            (next < 0 || keep[i] < next))
          next = keep[i];

      if (next < 0)
        break;
      if ((unsigned) next > low)
        psf_child_close_range (low, (unsigned) next - 1);
      low = (unsigned) next + 1;
    }
  psf_child_close_range (low, ~0u);
}

/* Batches records so a run costs few write() calls. */
typedef struct
{
  int             fd;
  int             error;    /* errno of the first failed write(), or 0 */
  size_t          n;
  PsfSyncfsRecord records[128];
} RecordWriter;

/* A record that cannot be written is lost, and the parent would take its
 * path for "not reached": the run still syncs everything, and the exit
 * status says the report is incomplete and why. */
static void
record_flush (RecordWriter *w)
{
  if (w->n > 0 && w->fd >= 0 && w->error == 0 &&
      psf_child_write_all (w->fd, w->records, w->n * sizeof w->records[0]) < 0)
    w->error = errno != 0 ? errno : EIO;
  w->n = 0;
}

/* The next free record of the batch. */
static PsfSyncfsRecord *
record_next (RecordWriter *w)
{
  if (w->n == sizeof w->records / sizeof w->records[0])
    record_flush (w);
  return &w->records[w->n++];
}

static void
record_add (RecordWriter *w,
            uint32_t      index,
            int           status,
            int           error,
            uint64_t      device,
            uint32_t      flags)
{
  psf_wire_report_encode (record_next (w), index, status, error, flags, device);
}

/* The record of a path on @target: the one it was opened by (@first) or
 * another one on the same filesystem. Batched or written alone, a record
 * is made by the wire's codec. */
static void
record_encode_target (PsfSyncfsRecord       *r,
                      uint32_t               index,
                      const PsfSyncfsTarget *target,
                      int                    first)
{
  int replaced = target->fallback && target->error == ENOSYS;
  int status;

  if (target->error == 0 || replaced)
    status = first ? PSF_WIRE_STATUS_SYNCED : PSF_WIRE_STATUS_DUPLICATE;
  else
    status = PSF_WIRE_STATUS_FAILED;

  psf_wire_report_encode (r, index, status, target->error,
                          replaced ? PSF_SYNCFS_RECORD_FALLBACK : 0, target->device);
}

/* Opens the directory that holds @path (the path as written: its last
 * component is not followed). Returns -1 with errno set. */
static int
open_parent_directory (const char *path)
{
  char dir[4096];
  size_t len = strlen (path);

  if (len >= sizeof dir)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  memcpy (dir, path, len + 1);

  while (len > 1 && dir[len - 1] == '/')
    dir[--len] = '\0';
  while (len > 0 && dir[len - 1] != '/')
    len--;
  if (len == 0)
    {
      dir[0] = '.';
      dir[1] = '\0';
    }
  else
    {
      while (len > 1 && dir[len - 1] == '/')
        len--;
      dir[len] = '\0';
    }

  return open (dir, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY);
}

/* The filesystems of one run, and which of them each path is on. Small
 * runs keep this on the stack; large ones map it once (mmap() is a plain
 * system call: no lock, no malloc). */
#define STACK_PATHS   128
#define STACK_TARGETS 32
#define PATH_NO_TARGET UINT32_MAX
#define PATH_FIRST     (1u << 31)  /* the path the filesystem was opened by */

typedef struct
{
  PsfSyncfsTarget *targets;
  size_t           n_targets;
  size_t           max_targets;
  size_t           first_pending;  /* targets from here on are not synced */
  uint32_t        *path_target;    /* per path: target index | PATH_FIRST */
  void            *mapping;
  size_t           mapping_len;
  RecordWriter    *writer;
} SyncfsRun;

static void
sync_one_after_another (PsfSyncfsTarget *targets,
                        size_t           n)
{
  for (size_t i = 0; i < n; i++)
    psf_syncfs_target_sync (&targets[i]);
}

static PsfSyncfsManyFunc sync_many = sync_one_after_another;

void
psf_syncfs_target_sync (PsfSyncfsTarget *target)
{
  target->error = syncfs (target->fd) == 0 ? 0 : errno;
  close (target->fd);
  target->fd = -1;
  psf_syncfs_target_report (target);
}

void
psf_syncfs_target_report (PsfSyncfsTarget *target)
{
  PsfSyncfsRecord record;

  if (target->report_fd < 0 || target->reported || target->report_error != 0)
    return;
  record_encode_target (&record, target->first_index, target, 1);
  /* One record, one write(): atomic on a pipe, whichever thread or
   * process of the run writes at the same time. */
  if (psf_child_write_all (target->report_fd, &record, sizeof record) < 0)
    target->report_error = errno != 0 ? errno : EIO;
  else
    target->reported = 1;
}

void
psf_syncfs_child_set_sync_many (PsfSyncfsManyFunc func)
{
  sync_many = func != NULL ? func : sync_one_after_another;
}

/* Ends this process with @sig, as if it had come from outside: its
 * disposition back to the default and unblocked first. */
static void __attribute__ ((noreturn))
die_of_signal (int sig)
{
  struct sigaction dfl;
  sigset_t set;

  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);
  sigaction (sig, &dfl, NULL);
  sigemptyset (&set);
  sigaddset (&set, sig);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  /* One thread, the signal unblocked: it is delivered before kill()
   * returns, and it ends the process (the sub-child died of it with the
   * same default disposition). */
  kill (getpid (), sig);
  kill (getpid (), SIGKILL);
  _exit (1);
}

/* A sub-child of @parent: it must not outlive it, syncing on and holding
 * the caller's fds. A cancel kills @parent (SIGTERM, then SIGKILL), which
 * cannot pass it on; the kernel sends the parent-death signal instead
 * (when the thread that forked ends: @parent has only one). Were @parent
 * gone before prctl() (the sub-child then has another parent), nothing
 * would send it: the sub-child ends at once, with nobody to report to. */
static void
sub_child_follow_parent (pid_t parent)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (0);
}

void
psf_syncfs_sync_many_forked (PsfSyncfsTarget *targets,
                             size_t           n)
{
  pid_t pids[PSF_SYNCFS_MAX_PENDING];
  PsfSyncfsTarget *shared;
  size_t len = n * sizeof *targets;
  pid_t self;
  int fatal_signal = 0;

  if (n <= 1 || n > PSF_SYNCFS_MAX_PENDING)
    {
      sync_one_after_another (targets, n);
      return;
    }

  /* The sub-children sync, and report, in a shared copy of the targets:
   * what each one found (its errno, whether its record went out) is there
   * for this process to read once it has exited. */
  shared = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED)
    {
      sync_one_after_another (targets, n);
      return;
    }
  memcpy (shared, targets, len);

  /* _Fork() runs no atfork handler and takes no lock: async-signal-safe. */
  self = getpid ();
  for (size_t i = 1; i < n; i++)
    {
      pids[i] = _Fork ();
      if (pids[i] == 0)
        {
          sub_child_follow_parent (self);
          psf_syncfs_target_sync (&shared[i]);
          _exit (0);
        }
    }

  /* This process closes its own copies of the fds as it goes: a
   * sub-child closes only its own. */
  psf_syncfs_target_sync (&shared[0]);
  targets[0].fd = -1;

  for (size_t i = 1; i < n; i++)
    {
      int status = 0;

      if (pids[i] < 0)
        {
          psf_syncfs_target_sync (&shared[i]);
          targets[i].fd = -1;
          continue;
        }
      while (waitpid (pids[i], &status, 0) < 0)
        if (errno != EINTR)
          {
            status = W_EXITCODE (ECHILD, 0);
            break;
          }
      close (targets[i].fd);
      targets[i].fd = -1;
      shared[i].fd = -1;
      /* A sub-child that died of a signal is this process dying of it, as
       * a thread's crash is a process's: its filesystem has no record
       * (nothing can vouch for it), and no errno is made up. The others
       * are still waited for, each writing its own record. */
      if (WIFSIGNALED (status))
        {
          if (fatal_signal == 0)
            fatal_signal = WTERMSIG (status);
          continue;
        }
      psf_syncfs_target_report (&shared[i]);
    }

  if (fatal_signal != 0)
    die_of_signal (fatal_signal);

  memcpy (targets, shared, len);
  munmap (shared, len);
}

/* Once a write of the report has failed, the run writes no more records
 * (record_flush() neither): the exit status says the report is cut short. */
static void
writer_silence_target (const RecordWriter *writer,
                       PsfSyncfsTarget    *target)
{
  if (writer->error != 0)
    target->report_fd = -1;
}

/* Syncs the pending targets, each of which writes the record of its first
 * path once synced; the records batched so far go out before. */
static void
run_flush_pending (SyncfsRun *run)
{
  size_t n = run->n_targets - run->first_pending;

  if (n > 0)
    {
      record_flush (run->writer);
      for (size_t i = run->first_pending; i < run->n_targets; i++)
        writer_silence_target (run->writer, &run->targets[i]);
      sync_many (run->targets + run->first_pending, n);
    }
  run->first_pending = run->n_targets;
}

static long
run_lookup (const SyncfsRun *run,
            uint64_t         device)
{
  for (size_t i = 0; i < run->n_targets; i++)
    if (run->targets[i].device == device)
      return (long) i;
  return -1;
}

/* "/proc/self/fd/N": reopens what fd N is, not what a path names now. */
static void
format_fd_path (char  buf[32],
                int   fd)
{
  static const char prefix[] = "/proc/self/fd/";
  char digits[12];
  size_t n = 0;
  unsigned value = (unsigned) fd;

  do
    digits[n++] = (char) ('0' + value % 10);
  while ((value /= 10) > 0);
  memcpy (buf, prefix, sizeof prefix - 1);
  for (size_t i = 0; i < n; i++)
    buf[sizeof prefix - 1 + i] = digits[n - 1 - i];
  buf[sizeof prefix - 1 + n] = '\0';
}

/* Kernel interfaces, not storage: nothing on them can be synced. A path
 * on one is SKIPPED with this errno. */
#define PSEUDO_FILESYSTEM_ERRNO EOPNOTSUPP

static int
is_pseudo_filesystem (int fd)
{
  struct statfs sfs;

  if (fstatfs (fd, &sfs) != 0)
    return 0;
  switch ((unsigned long) sfs.f_type)
    {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
      return 1;
    default:
      return 0;
    }
}

#ifdef SYS_openat2
/* Set once openat2() answered ENOSYS (a kernel before 5.6, an emulator):
 * the rest of the run does without it. */
static int openat2_missing;
#endif

/* Looks @path up without opening what it names: an O_PATH fd, for which
 * the kernel calls no driver and no FIFO open (so nothing can block or
 * act), following symlinks. Where the kernel has openat2(), /proc's magic
 * links (/proc/self/fd/1, /proc/PID/root) are not followed: ELOOP. Without
 * it, a path that is itself on a kernel interface is not followed either:
 * the caller sees its filesystem and skips it. Returns -1 with errno set. */
static int
lookup_path (const char *path)
{
  int fd;

#ifdef SYS_openat2
  if (!openat2_missing)
    {
      struct open_how how;
      long r;

      memset (&how, 0, sizeof how);
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_NO_MAGICLINKS;
      r = syscall (SYS_openat2, AT_FDCWD, path, &how, sizeof how);
      if (r >= 0 || errno != ENOSYS)
        return (int) r;
      openat2_missing = 1;
    }
#endif

  fd = open (path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || is_pseudo_filesystem (fd))
    return fd;
  close (fd);
  return open (path, O_PATH | O_CLOEXEC);
}

/* @dir if it is on @device, else -1 with errno EXDEV. Takes @dir. */
static int
keep_if_on_device (int      dir,
                   uint64_t device)
{
  struct stat st;

  if (dir < 0)
    return -1;
  if (fstat (dir, &st) == 0 && (uint64_t) st.st_dev == device)
    return dir;
  close (dir);
  errno = EXDEV;
  return -1;
}

/* A directory on the filesystem of @path_fd (looked up from @path), for a
 * file that is not opened itself. First the directory @path is written in;
 * when that is on another filesystem (@path is a symlink to another
 * filesystem), the directory of what @path_fd is now called. Never one on
 * another filesystem: the filesystem synced is the one reported. -1 with
 * errno EXDEV when there is none. */
static int
open_directory_on_device (const char *path,
                          int         path_fd,
                          uint64_t    device)
{
  char proc_path[32];
  char target[4096];
  ssize_t n;
  int dir;

  dir = keep_if_on_device (open_parent_directory (path), device);
  if (dir >= 0 || errno == EMFILE || errno == ENFILE)
    return dir;

  format_fd_path (proc_path, path_fd);
  n = readlink (proc_path, target, sizeof target - 1);
  if (n > 0 && target[0] == '/')
    {
      target[n] = '\0';
      dir = keep_if_on_device (open_parent_directory (target), device);
      if (dir >= 0 || errno == EMFILE || errno == ENFILE)
        return dir;
    }
  errno = EXDEV;
  return -1;
}

/* Opens what the filesystem of @path_fd (an O_PATH fd of @path, @st its
 * fstat()) is synced through. Only a regular file or a directory is opened
 * itself, and only through @path_fd, so it is the file that was looked at,
 * whatever @path names meanwhile: a FIFO could hang, a device node could
 * act (a tape rewinds). Anything else is synced through a directory on its
 * filesystem. */
static int
open_sync_fd (const char        *path,
              int                path_fd,
              const struct stat *st)
{
  if (S_ISREG (st->st_mode) || S_ISDIR (st->st_mode))
    {
      char proc_path[32];
      struct stat opened;
      int fd;

      format_fd_path (proc_path, path_fd);
      fd = open (proc_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
      if (fd >= 0)
        {
          if (fstat (fd, &opened) == 0 && opened.st_dev == st->st_dev &&
              opened.st_ino == st->st_ino)
            return fd;
          close (fd);
          errno = ESTALE;
          return -1;
        }
      /* No /proc (a chroot): a directory opens itself from its O_PATH fd,
       * a regular file goes through its directory. */
      if (errno != ENOENT)
        return -1;
      if (S_ISDIR (st->st_mode))
        return openat (path_fd, ".", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY);
    }
  return open_directory_on_device (path, path_fd, (uint64_t) st->st_dev);
}

/* The record of a path on a filesystem already synced that is not the one
 * it was opened by. */
static void
emit_duplicate_record (RecordWriter          *writer,
                       uint32_t               index,
                       const PsfSyncfsTarget *target)
{
  record_encode_target (record_next (writer), index, target, 0);
}

/* A filesystem about to be synced, whose record @writer's channel gets as
 * soon as it is: see psf_syncfs_target_report(). */
static PsfSyncfsTarget
target_new (const RecordWriter *writer,
            uint32_t            index,
            uint64_t            device,
            int                 fd,
            int                 fallback)
{
  PsfSyncfsTarget target = {
    .device = device,
    .fd = fd,
    .report_fd = writer->fd,
    .first_index = index,
    .fallback = fallback,
  };

  return target;
}

/* Takes the write error of a record a target wrote itself. */
static void
writer_take_target_error (RecordWriter          *writer,
                          const PsfSyncfsTarget *target)
{
  if (writer->error == 0 && target->report_error != 0)
    writer->error = target->report_error;
}

/* A path met once the table of filesystems is full: synced on its own,
 * as if it were the only one. */
static void
sync_untracked (RecordWriter      *writer,
                uint32_t           index,
                int                fd,
                const struct stat *st,
                int                fallback,
                int               *any_failed,
                int               *any_enosys)
{
  PsfSyncfsTarget target = target_new (writer, index, st->st_dev, fd, fallback);

  record_flush (writer);
  writer_silence_target (writer, &target);
  psf_syncfs_target_sync (&target);
  writer_take_target_error (writer, &target);
  if (target.error == ENOSYS)
    *any_enosys = 1;
  else if (target.error != 0)
    *any_failed = 1;
}

static void
run_init (SyncfsRun       *run,
          uint32_t         n_paths,
          PsfSyncfsTarget *stack_targets,
          uint32_t        *stack_paths)
{
  memset (run, 0, sizeof *run);
  run->targets = stack_targets;
  run->max_targets = STACK_TARGETS;
  run->path_target = stack_paths;

  if (n_paths > STACK_PATHS)
    {
      size_t max_targets = n_paths < PSF_SYNCFS_MAX_DEVICES ? n_paths : PSF_SYNCFS_MAX_DEVICES;
      size_t len = (size_t) n_paths * sizeof (uint32_t) + max_targets * sizeof (PsfSyncfsTarget);
      void *mapping = mmap (NULL, len, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

      if (mapping != MAP_FAILED)
        {
          run->mapping = mapping;
          run->mapping_len = len;
          run->targets = mapping;
          run->max_targets = max_targets;
          run->path_target = (uint32_t *) (run->targets + max_targets);
        }
      else
        run->path_target = NULL;  /* then the last pass looks again */
    }
}

/* The filesystems met that are kernel interfaces (is_pseudo_filesystem()):
 * every path on them is skipped without asking again. */
typedef struct
{
  uint64_t devices[16];
  size_t   n;
} PseudoDevices;

static int
pseudo_lookup (const PseudoDevices *pseudo,
               uint64_t             device)
{
  for (size_t i = 0; i < pseudo->n; i++)
    if (pseudo->devices[i] == device)
      return 1;
  return 0;
}

static int
pseudo_check (PseudoDevices *pseudo,
              int            fd,
              uint64_t       device)
{
  if (!is_pseudo_filesystem (fd))
    return 0;
  if (pseudo->n < sizeof pseudo->devices / sizeof pseudo->devices[0])
    pseudo->devices[pseudo->n++] = device;
  return 1;
}

/* Three passes over the paths. 1: look each path up (lookup_path(): an
 * O_PATH fd, then fstat() of what it found: never a stat() of the path
 * trusted later), open one fd per new filesystem through what was looked
 * up (open_sync_fd()); the paths that cannot be looked at or opened, and
 * those on kernel interfaces, are reported at once; 2: sync every opened
 * filesystem, all at once when the program allows threads (see
 * psf_syncfs_child_set_sync_many()); the record of the path a filesystem
 * was opened by goes out as soon as that filesystem is synced, so the
 * parent can tell how many are done while a slow one still runs (the plan
 * record, sent between passes 1 and 2, says how many there are); 3: one
 * record per remaining path (the other paths on a synced filesystem), in
 * input order. At most PSF_SYNCFS_MAX_PENDING fds are open at a time: past
 * that, or when open() meets EMFILE, the pending filesystems are synced
 * before going on. */
int
psf_syncfs_child_run (const void *input,
                      size_t      input_len,
                      int         report_fd)
{
  const PsfSyncfsInputHeader *header = input;
  const char *p;
  const char *end;
  PsfSyncfsTarget stack_targets[STACK_TARGETS];
  uint32_t stack_paths[STACK_PATHS];
  SyncfsRun run;
  PseudoDevices pseudo = { .n = 0 };
  RecordWriter writer;
  uint32_t n_walked = 0;
  uint64_t n_untracked = 0;
  int streaming;
  int any_failed = 0;
  int any_enosys = 0;
  int fallback;

  writer.fd = report_fd;
  writer.error = 0;
  writer.n = 0;

  if (input == NULL || input_len < sizeof *header ||
      header->magic != PSF_SYNCFS_INPUT_MAGIC)
    return 2;

  fallback = (header->flags & PSF_SYNCFS_FLAG_SYNC_FALLBACK) != 0;
  end = (const char *) input + input_len;
  run_init (&run, header->n_paths, stack_targets, stack_paths);
  run.writer = &writer;

  /* Pass 1. Without a table (mmap() failed) each filesystem is synced
   * as soon as it is met and every record is written at once. */
  streaming = run.path_target == NULL;
  p = (const char *) input + sizeof *header;
  for (uint32_t i = 0; i < header->n_paths; i++, n_walked++)
    {
      const char *path = p;
      const char *nul = memchr (p, '\0', (size_t) (end - p));
      struct stat st;
      long target;
      int path_fd;
      int fd;

      if (nul == NULL)
        break;
      p = nul + 1;
      if (!streaming)
        run.path_target[i] = PATH_NO_TARGET;

      path_fd = lookup_path (path);
      if (path_fd < 0 && (errno == EMFILE || errno == ENFILE) &&
          run.first_pending < run.n_targets)
        {
          run_flush_pending (&run);
          path_fd = lookup_path (path);
        }
      if (path_fd < 0 || fstat (path_fd, &st) != 0)
        {
          int error = errno;

          if (path_fd >= 0)
            close (path_fd);
          record_add (&writer, i, PSF_WIRE_STATUS_SKIPPED, error, 0, 0);
          continue;
        }

      if ((target = run_lookup (&run, st.st_dev)) >= 0)
        {
          close (path_fd);
          if (streaming)
            emit_duplicate_record (&writer, i, &run.targets[target]);
          else
            run.path_target[i] = (uint32_t) target;
          continue;
        }

      if (pseudo_lookup (&pseudo, st.st_dev) || pseudo_check (&pseudo, path_fd, st.st_dev))
        {
          close (path_fd);
          record_add (&writer, i, PSF_WIRE_STATUS_SKIPPED, PSEUDO_FILESYSTEM_ERRNO,
                      st.st_dev, 0);
          continue;
        }

      fd = open_sync_fd (path, path_fd, &st);
      if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
          run.first_pending < run.n_targets)
        {
          run_flush_pending (&run);
          fd = open_sync_fd (path, path_fd, &st);
        }
      if (fd < 0)
        {
          int error = errno;

          close (path_fd);
          record_add (&writer, i, PSF_WIRE_STATUS_SKIPPED, error, st.st_dev, 0);
          continue;
        }
      close (path_fd);

      if (run.n_targets == run.max_targets)
        {
          sync_untracked (&writer, i, fd, &st, fallback, &any_failed, &any_enosys);
          n_untracked++;
          continue;
        }

      run.targets[run.n_targets++] = target_new (&writer, i, st.st_dev, fd, fallback);
      if (streaming)
        {
          run_flush_pending (&run);
          continue;
        }
      run.path_target[i] = (uint32_t) (run.n_targets - 1) | PATH_FIRST;
      if (run.n_targets - run.first_pending == PSF_SYNCFS_MAX_PENDING)
        run_flush_pending (&run);
    }

  /* Every path was looked at: the parent learns how many filesystems
   * there are before (most of) their records come. */
  psf_wire_report_encode_plan (record_next (&writer), run.n_targets + n_untracked);

  /* Pass 2. */
  record_flush (&writer);
  run_flush_pending (&run);
  for (size_t t = 0; t < run.n_targets; t++)
    {
      writer_take_target_error (&writer, &run.targets[t]);
      if (run.targets[t].error == ENOSYS)
        any_enosys = 1;
      else if (run.targets[t].error != 0)
        any_failed = 1;
    }

  /* Pass 3: the paths the filesystems were opened by were reported as
   * each was synced. */
  for (uint32_t i = 0; !streaming && i < n_walked; i++)
    {
      uint32_t slot = run.path_target[i];

      if (slot != PATH_NO_TARGET && (slot & PATH_FIRST) == 0)
        emit_duplicate_record (&writer, i, &run.targets[slot]);
    }

  record_flush (&writer);
  if (run.mapping != NULL)
    munmap (run.mapping, run.mapping_len);

  /* sync() flushes every filesystem but reports no error: it stands in for
   * a syncfs() that does not exist, not for one that failed. */
  if (fallback && (any_enosys || any_failed))
    sync ();

  if (writer.error != 0)
    return psf_child_exit_report (writer.error);
  if (any_failed || (any_enosys && !fallback))
    return 1;
  return 0;
}

static const struct
{
  const char      *name;
  PsfChildRoutine  routine;
} routines[] = {
  { "syncfs", psf_syncfs_child_run },
};

/* A program may add routines of its own by defining this function (the
 * tests' helper does, with routines that report what a child sees). The
 * installed helper and the library do not: the reference stays NULL. */
extern PsfChildRoutine psf_child_extra_routine_lookup (const char *name)
  __attribute__ ((weak));

void
psf_child_routine_report_failure (const char *name,
                                  int         report_fd,
                                  int         call,
                                  int         error)
{
  PsfSyncfsRecord record;

  if (psf_child_routine_lookup (name) != psf_syncfs_child_run)
    return;

  psf_wire_report_encode_failure (&record, call, error);
  psf_child_write_all (report_fd, &record, sizeof record);
}

PsfChildRoutine
psf_child_routine_lookup (const char *name)
{
  for (size_t i = 0; i < sizeof routines / sizeof routines[0]; i++)
    if (strcmp (routines[i].name, name) == 0)
      return routines[i].routine;
  if (psf_child_extra_routine_lookup != NULL)
    return psf_child_extra_routine_lookup (name);
  return NULL;
}
