/* fuzz-syncfs-paths.c: libFuzzer target for hostile path lists through the
 * real child routine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * psf_syncfs_child_run() (psf-child-routines.c, the code both start
 * methods run in the child) gets path lists no caller should send: FIFOs,
 * sockets, device nodes, /proc and /sys, symlink loops, `..` chains,
 * 4096-byte components, 100 000 entries, and raw inputs whose header lies
 * about the number of paths or whose last path has no terminator. Whatever
 * it gets, a path list may do no more than sync:
 *
 *  - open() is only ever called read-only, non-blocking, without a
 *    controlling tty, close-on-exec, and never on anything but a regular
 *    file or a directory (a FIFO could hang, a device could act);
 *  - syncfs() only gets such fds; no fd is left open after the run;
 *  - the report has exactly one record per path, and the real decoder
 *    accounts for every path; the exit status is 0, 1 or (bad input) 2.
 *
 * open(), open64(), syncfs() and sync() are defined here, so the routine
 * (compiled into this program) calls these checked versions; nothing is
 * really synced. Relative paths are taken in a sandbox made at start-up
 * with one of each kind of file.
 *
 * Input, first byte: bit 0 raw mode; bit 1 sync-fallback; bits 2-3 what
 * syncfs() answers (0: success, 1: EIO, 2: ENOSYS, 3: EIO on odd fds).
 * Structured mode: the rest is a list of paths separated by newlines,
 * where @LONG, @DOTS, @MANY and @MANYFIFO expand to a 4096-byte component,
 * a `..` chain, and 100 000 entries. Raw mode: byte 1 is the header's
 * flags, bytes 2-5 its path count, the rest the path bytes as they are.
 */

/* open() and open64() are both defined below: no redirection of one to the
 * other (the sizes are the same on 64-bit systems anyway). */
#undef _FILE_OFFSET_BITS

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "psf-child-private.h"
#include "psf-syncfs-result-private.h"

#include "fuzz-target.h"

#define MAX_ENTRIES 100000

static char sandbox[64];
static int report_fd = -1;
static int in_routine;
static int syncfs_mode;
static unsigned n_syncfs;

static void
violation (const char *what,
           const char *path)
{
  fprintf (stderr, "fuzz-syncfs-paths: %s%s%s\n", what,
           path != NULL ? ": " : "", path != NULL ? path : "");
  abort ();
}

/* ---- the checked calls the routine makes ------------------------------ */

static int
checked_open (const char *path,
              int         flags,
              mode_t      mode)
{
  /* An O_PATH open is a look at the path: nothing is opened. */
  if (in_routine && !(flags & O_PATH))
    {
      struct stat st;

      if ((flags & O_ACCMODE) != O_RDONLY)
        violation ("open() for writing", path);
      if ((flags & (O_CREAT | O_TRUNC | O_APPEND)) || (flags & O_TMPFILE) == O_TMPFILE)
        violation ("open() that can create or change a file", path);
      if (!(flags & O_NONBLOCK) || !(flags & O_NOCTTY) || !(flags & O_CLOEXEC))
        violation ("open() without O_NONBLOCK|O_NOCTTY|O_CLOEXEC", path);
      if (stat (path, &st) == 0 && !S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
        violation ("open() of something that is not a file or a directory", path);
    }
  return (int) syscall (SYS_openat, AT_FDCWD, path, flags, mode);
}

int
open (const char *path, int flags, ...)
{
  mode_t mode = 0;

  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
    {
      va_list ap;

      va_start (ap, flags);
      mode = va_arg (ap, mode_t);
      va_end (ap);
    }
  return checked_open (path, flags, mode);
}

/* The same call under its large-file name. */
int open64 (const char *path, int flags, ...) __attribute__ ((alias ("open")));

int
syncfs (int fd)
{
  struct stat st;
  int fl;

  if (!in_routine)
    return (int) syscall (SYS_syncfs, fd);

  n_syncfs++;
  if (fstat (fd, &st) != 0)
    violation ("syncfs() on a closed fd", NULL);
  if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
    violation ("syncfs() on something that is not a file or a directory", NULL);
  fl = fcntl (fd, F_GETFL);
  if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
    violation ("syncfs() on an fd open for writing", NULL);

  switch (syncfs_mode)
    {
    case 1:
      errno = EIO;
      return -1;
    case 2:
      errno = ENOSYS;
      return -1;
    case 3:
      if (fd % 2)
        {
          errno = EIO;
          return -1;
        }
      return 0;
    default:
      return 0;
    }
}

/* The sync-fallback's sync() would flush the whole machine at every run. */
void
sync (void)
{
  if (!in_routine)
    syscall (SYS_sync);
}

/* ---- the sandbox ---------------------------------------------------------- */

static void
remove_sandbox (void)
{
  static const char * const names[] = {
    "dir/sub/file", "dir/sub", "dir", "file", "fifo", "socket", "loop", "dangling",
    "to-fifo", "to-null", "to-dir", "locked/file", "locked",
  };
  char path[512];

  if (sandbox[0] == '\0')
    return;
  snprintf (path, sizeof path, "%s/locked", sandbox);
  chmod (path, 0755);
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      snprintf (path, sizeof path, "%s/%s", sandbox, names[i]);
      if (unlink (path) < 0)
        rmdir (path);
    }
  snprintf (path, sizeof path, "%s/%0255d", sandbox, 0);
  unlink (path);
  rmdir (sandbox);
}

static void
make_file (const char *name)
{
  int fd = (int) syscall (SYS_openat, AT_FDCWD, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    violation ("cannot make the sandbox", name);
  close (fd);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autofree char *cwd = g_get_current_dir ();
  char long_name[256];
  int fd;

  g_strlcpy (sandbox, "/tmp/psf-fuzz-XXXXXX", sizeof sandbox);
  if (mkdtemp (sandbox) == NULL || chdir (sandbox) < 0)
    violation ("cannot make the sandbox", sandbox);
  /* Made from inside; the corpus paths given on the command line may be
   * relative to where we were. */
  atexit (remove_sandbox);

  mkdir ("dir", 0755);
  mkdir ("dir/sub", 0755);
  make_file ("file");
  make_file ("dir/sub/file");
  mkfifo ("fifo", 0644);
  symlink ("loop", "loop");
  symlink ("missing", "dangling");
  symlink ("fifo", "to-fifo");
  symlink ("/dev/null", "to-null");
  symlink ("dir", "to-dir");
  mkdir ("locked", 0755);
  make_file ("locked/file");
  chmod ("locked", 0);
  snprintf (long_name, sizeof long_name, "%0255d", 0);
  make_file (long_name);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_strlcpy (addr.sun_path, "socket", sizeof addr.sun_path);
  if (fd >= 0)
    {
      bind (fd, (struct sockaddr *) &addr, sizeof addr);
      close (fd);
    }

  report_fd = memfd_create ("psf-fuzz-report", MFD_CLOEXEC);
  if (report_fd < 0)
    violation ("memfd_create", NULL);
  if (chdir (cwd) < 0)
    violation ("cannot go back to", cwd);
  return 0;
}

/* ---- one run ------------------------------------------------------------------ */

/* The lowest free fd: if the routine leaks one, this changes. */
static int
lowest_free_fd (void)
{
  int fd = dup (0 <= report_fd ? report_fd : 0);

  close (fd);
  return fd;
}

static void
add_path (GByteArray *input,
          GPtrArray  *paths,
          const char *path)
{
  if (paths->len >= MAX_ENTRIES)
    return;
  g_byte_array_append (input, (const guint8 *) path, strlen (path) + 1);
  g_ptr_array_add (paths, (gpointer) path);
}

/* Builds the routine's input from a structured fuzz input. */
static GByteArray *
build_input (const uint8_t *data,
             size_t         size,
             uint32_t       flags,
             GPtrArray     *paths,
             GPtrArray     *storage)
{
  static char *long_path, *dots_path;
  GByteArray *input = g_byte_array_new ();
  PsfSyncfsInputHeader header = { PSF_SYNCFS_INPUT_MAGIC, flags, 0, 0 };
  const char *p = (const char *) data;
  const char *end = p + size;

  if (long_path == NULL)
    {
      g_autofree char *component = g_strnfill (4096, 'a');
      GString *dots = g_string_new (NULL);

      long_path = g_strdup_printf ("%s/%s", sandbox, component);
      for (guint i = 0; i < 1500; i++)
        g_string_append (dots, "../");
      g_string_append (dots, "tmp");
      dots_path = g_string_free (dots, FALSE);
    }

  g_byte_array_append (input, (const guint8 *) &header, sizeof header);
  while (p < end && paths->len < MAX_ENTRIES)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      const char *stop = nl != NULL ? nl : end;
      char *path = g_strndup (p, (gsize) (stop - p));

      /* Paths cannot hold NUL: it ends them, as in a C string. The parent
       * sends absolute paths (or empty ones): relative ones are taken in
       * the sandbox. */
      if (path[0] != '\0' && path[0] != '/' && path[0] != '@')
        {
          char *in_sandbox = g_strconcat (sandbox, "/", path, NULL);

          g_free (path);
          path = in_sandbox;
        }
      g_ptr_array_add (storage, path);
      if (g_str_equal (path, "@LONG"))
        add_path (input, paths, long_path);
      else if (g_str_equal (path, "@DOTS"))
        add_path (input, paths, dots_path);
      else if (g_str_equal (path, "@MANY") || g_str_equal (path, "@MANYFIFO"))
        {
          const char *one = g_str_equal (path, "@MANY") ? "." : "fifo";

          while (paths->len < MAX_ENTRIES)
            add_path (input, paths, one);
        }
      else
        add_path (input, paths, path);
      p = stop + 1;
    }

  ((PsfSyncfsInputHeader *) (gpointer) input->data)->n_paths = paths->len;
  return input;
}

static guint8 *
read_report (gsize *len)
{
  struct stat st;
  guint8 *buffer;

  if (fstat (report_fd, &st) < 0)
    violation ("fstat of the report", NULL);
  *len = (gsize) st.st_size;
  buffer = g_malloc (MAX (*len, 1));
  if (*len > 0 && pread (report_fd, buffer, *len, 0) != (ssize_t) *len)
    violation ("cannot read the report back", NULL);
  return buffer;
}

/* Every record names an index below @n_paths, none twice, but for one
 * plan, which counts the filesystems synced: the distinct devices of the
 * SYNCED and FAILED records (the other paths on a filesystem whose
 * syncfs() failed are FAILED too; the inputs here never fill the routine's
 * table of filesystems, past which one may be synced twice). Returns how
 * many path records there are. A trailing partial record is a violation
 * too. */
static guint
check_records (const guint8 *report,
               gsize         len,
               guint         n_paths)
{
  g_autofree guint8 *seen = g_malloc0 (MAX (n_paths, 1));
  g_autoptr(GHashTable) flushed = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                         g_free, NULL);
  guint n = 0;
  gint64 planned = -1;

  if (len % sizeof (PsfSyncfsRecord) != 0)
    violation ("a partial record in the report", NULL);
  for (gsize off = 0; off < len; off += sizeof (PsfSyncfsRecord))
    {
      PsfSyncfsRecord r;

      memcpy (&r, report + off, sizeof r);
      if (r.index == PSF_SYNCFS_INDEX_PLAN)
        {
          if (planned >= 0)
            violation ("two plans in the report", NULL);
          if (r.status != 0 || r.error != 0 || r.device > n_paths)
            violation ("a plan the decoder refuses", NULL);
          planned = (gint64) r.device;
          continue;
        }
      if (r.index >= n_paths)
        violation ("a record for a path that was not given", NULL);
      if (seen[r.index])
        violation ("two records for one path", NULL);
      if (r.status < PSF_SYNCFS_STATUS_SYNCED || r.status > PSF_SYNCFS_STATUS_FAILED)
        violation ("a record with an unknown status", NULL);
      if (r.error < 0)
        violation ("a record with a negative errno", NULL);
      seen[r.index] = 1;
      if (r.status == PSF_SYNCFS_STATUS_SYNCED || r.status == PSF_SYNCFS_STATUS_FAILED)
        g_hash_table_add (flushed, g_memdup2 (&r.device, sizeof (gint64)));
      n++;
    }
  if (planned >= 0 && (guint64) planned != g_hash_table_size (flushed))
    violation ("a plan that does not count the filesystems synced", NULL);
  return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  g_autoptr(GPtrArray) storage = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GByteArray) input = NULL;
  g_autofree guint8 *raw = NULL;
  g_autofree guint8 *report = NULL;
  const void *routine_input;
  size_t routine_len;
  gsize report_len;
  uint32_t n_paths;
  int raw_mode;
  int fd_before;
  int rc;

  if (size < 1)
    return 0;
  raw_mode = data[0] & 1;
  syncfs_mode = (data[0] >> 2) & 3;

  if (raw_mode)
    {
      PsfSyncfsInputHeader header = { PSF_SYNCFS_INPUT_MAGIC, 0, 0, 0 };

      if (size < 6)
        return 0;
      header.flags = data[1];
      memcpy (&header.n_paths, data + 2, sizeof header.n_paths);
      n_paths = header.n_paths;
      /* Exactly as long as given: no terminator added, so an overread of
       * the last path is caught. */
      routine_len = sizeof header + (size - 6);
      raw = g_malloc (routine_len);
      memcpy (raw, &header, sizeof header);
      memcpy (raw + sizeof header, data + 6, size - 6);
      routine_input = raw;
    }
  else
    {
      uint32_t flags = (data[0] & 2) ? PSF_SYNCFS_FLAG_SYNC_FALLBACK : 0;

      input = build_input (data + 1, size - 1, flags, paths, storage);
      n_paths = paths->len;
      routine_input = input->data;
      routine_len = input->len;
    }

  if (ftruncate (report_fd, 0) < 0 || lseek (report_fd, 0, SEEK_SET) < 0)
    violation ("cannot reset the report", NULL);
  fd_before = lowest_free_fd ();
  n_syncfs = 0;

  in_routine = 1;
  rc = psf_syncfs_child_run (routine_input, routine_len, report_fd);
  in_routine = 0;

  if (lowest_free_fd () != fd_before)
    violation ("an fd was left open", NULL);
  if (rc < 0 || rc > 2)
    violation ("an exit status other than 0, 1 or 2", NULL);

  report = read_report (&report_len);

  if (raw_mode)
    {
      /* The header may lie: records only for paths that were there. */
      if (n_paths <= 4 * MAX_ENTRIES)
        check_records (report, report_len, n_paths);
      else if (report_len / sizeof (PsfSyncfsRecord) > routine_len)
        violation ("more records than path bytes", NULL);
      return 0;
    }

  if (rc == 2)
    violation ("a well-formed input refused", NULL);
  if (check_records (report, report_len, n_paths) != n_paths)
    violation ("a path without a record", NULL);
  if (n_syncfs > n_paths)
    violation ("more syncfs() calls than paths", NULL);
  if (syncfs_mode == 0 && rc != 0)
    violation ("returncode 1 although every syncfs() succeeded", NULL);
  if (syncfs_mode == 1 && n_syncfs > 0 && rc != 1)
    violation ("returncode 0 although syncfs() failed", NULL);

  /* The parent's decoder accounts for every path. */
  {
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);

    if (psf_syncfs_results_decode (results, (const char * const *) paths->pdata, n_paths,
                                   report, report_len) != n_paths)
      violation ("the decoder dropped a record of the routine", NULL);
  }

  return 0;
}
