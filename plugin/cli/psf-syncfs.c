/* psf-syncfs.c: the psf-syncfs command, flush the filesystems of paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A thin leaf on the public <psf.h>: it builds one PsfSyncfsProcess from the
 * command line (and --files-from), starts it, waits with
 * psf_task_wait_check_async() on a GMainLoop (so SIGINT/SIGTERM can cancel
 * the child instead of orphaning it, and a progress line can be drawn), and
 * prints the per-path results as a libsmartcols table or as JSON.
 *
 * Exit status: 0 when every filesystem reached was synced (duplicates and
 * skipped paths are fine, as in Portage), 1 when a sync failed, timed out,
 * was interrupted or could not be started, or standard output could not be
 * written, 2 on bad usage.
 *
 * Start-up is kept small, since a run is often a single syncfs() on one
 * path: the child is made with FORK for one PATH (a copy of this small
 * process, no exec; one filesystem, so nothing to do in parallel) and with
 * SPAWN otherwise (the helper syncs distinct filesystems at once); no
 * forkserver is started unless asked for. JSON is written here, with an
 * escaper that always yields valid UTF-8 JSON, instead of loading a JSON
 * library; libsmartcols is loaded (dlopen) only to print a table, so that
 * --json and --quiet runs do not pay for its relocations; the mount table
 * is only read when a column or --json needs it.
 *
 * Standard output goes through one FILE whose writes are checked: the first
 * write error (a full disk, a closed descriptor, EPIPE with SIGPIPE ignored)
 * is remembered and reported on standard error at the end, with exit
 * status 1, so that `psf-syncfs --json > report.json` cannot look like a
 * success when the report was lost.
 *
 * The JSON document (schema version 1) is described in psf-syncfs(1); any
 * change to it other than a new member bumps "version".
 */

#include "config.h"

#define _GNU_SOURCE 1

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <libmount.h>
#include <libsmartcols.h>

#include <psf.h>

#include "psf-syncfs-cli.h"
#include "psf-syncfs-common.h"

#define EXIT_USAGE 2
#define JSON_SCHEMA_VERSION 1

/* The progress line: shown once a flush has lasted this long, then
 * redrawn at this interval. */
#define PROGRESS_DELAY_MS    1000
#define PROGRESS_INTERVAL_MS 500

/* The columns of the table. Their names are what --output takes and what
 * the headings say (as in findmnt and lsblk: not translated). */
typedef enum
{
  COLUMN_PATH,
  COLUMN_DEVICE,
  COLUMN_FSTYPE,
  COLUMN_MOUNTPOINT,
  COLUMN_STATUS,
  COLUMN_ERRNO,
  COLUMN_ERROR,
  N_COLUMNS
} Column;

static const struct
{
  const char *name;
  const char *help;
  double      width_hint;
  int         flags;
} column_info[N_COLUMNS] = {
  [COLUMN_PATH]       = { "PATH", N_("the path as given"), 0.3, 0 },
  [COLUMN_DEVICE]     = { "DEVICE", N_("the device number of its filesystem, major:minor"), 6, 0 },
  [COLUMN_FSTYPE]     = { "FSTYPE", N_("the type of the filesystem"), 6, SCOLS_FL_TRUNC },
  [COLUMN_MOUNTPOINT] = { "MOUNTPOINT", N_("where the filesystem is mounted"), 0.2, 0 },
  [COLUMN_STATUS]     = { "STATUS", N_("synced, duplicate, skipped or failed"), 9, 0 },
  [COLUMN_ERRNO]      = { "ERRNO", N_("the error number, 0 for none"), 5, SCOLS_FL_RIGHT },
  [COLUMN_ERROR]      = { "ERROR", N_("the error text"), 0.2, SCOLS_FL_TRUNC },
};

static const Column default_columns[] = {
  COLUMN_PATH, COLUMN_DEVICE, COLUMN_FSTYPE, COLUMN_MOUNTPOINT, COLUMN_STATUS, COLUMN_ERROR,
};

/* The filesystems a run has flushed, by device: a SYNCED or FAILED
 * result means its filesystem is done (another path on a filesystem whose
 * flush failed is FAILED too, hence the count by device). */
typedef struct
{
  GHashTable *synced;   /* devices synced */
  GHashTable *reached;  /* devices synced or failed */
} FlushCount;

typedef struct
{
  /* Options. */
  gboolean          json;
  gboolean          quiet;
  gboolean          sync_fallback;
  gboolean          version;
  gboolean          have_start_method;
  PsfStartMethod    start_method;
  guint             timeout_ms;
  char            **paths;
  char             *files_from;
  gboolean          null_separated;
  gboolean          progress;
  char             *output;
  gboolean          noheadings;
  gboolean          raw;

  Column            columns[N_COLUMNS * 4];
  guint             n_columns;

  /* The run. */
  PsfSyncfsProcess *process;
  GMainLoop        *loop;
  GError           *error;
  gboolean          started;
  gint64            begin_us;
  gint64            elapsed_us;

  /* Output. */
  FILE             *out;
  int               out_errno;
  struct libmnt_table *mounts;
  gboolean          mounts_read;

  /* Progress. */
  guint             progress_id;
  gboolean          progress_tty;
  gboolean          progress_shown;
  GThread          *count_thread;
  gint              n_filesystems;  /* atomic; -1 until counted */
  FlushCount        flushed;        /* what the child has reported so far */
} Cli;

static Cli cli = { .n_filesystems = -1 };

/* One line on stderr, control characters escaped (as in the table). */
static void
print_error (const char *message)
{
  psf_syncfs_print_error (message);
}

static void
print_usage_hint (void)
{
  /* Translators: %s is the program name. */
  fprintf (stderr, _("Try “%s --help” for more information."), g_get_prgname ());
  fputc ('\n', stderr);
}

/* ------------------------------------------------------------ the options */

static gboolean
parse_timeout_cb (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  guint64 ms = 0;

  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT, &ms, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* Translators: %s is the value given to --timeout. */
                   _("Invalid value “%s” for --timeout: expected a number "
                     "of milliseconds (0 for none)"),
                   value);
      return FALSE;
    }

  cli.timeout_ms = (guint) ms;
  return TRUE;
}

/* "fork, spawn, …": the start methods of the library this runs with, so
 * that a new one needs no change here. */
static char *
start_method_names (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PSF_TYPE_START_METHOD);
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, klass->values[i].value_nick);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static const char *
start_method_nick (PsfStartMethod method)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PSF_TYPE_START_METHOD);
  GEnumValue *value = g_enum_get_value (klass, method);

  /* The nicks are static strings of the type, which stays registered. */
  return value != NULL ? value->value_nick : "unknown";
}

static gboolean
parse_start_method_cb (const char  *option_name,
                       const char  *value,
                       gpointer     data,
                       GError     **error)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PSF_TYPE_START_METHOD);
  GEnumValue *method = g_enum_get_value_by_nick (klass, value);

  if (method == NULL)
    {
      g_autofree char *names = start_method_names ();

      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* Translators: the first %s is the value given to
                    * --start-method, the second the list of the valid ones
                    * ("fork, spawn"), which are not translated. */
                   _("Invalid value “%s” for --start-method: expected one of %s"),
                   value, names);
      return FALSE;
    }

  cli.start_method = (PsfStartMethod) method->value;
  cli.have_start_method = TRUE;
  return TRUE;
}

static gboolean
lookup_column (const char *name,
               gsize       len,
               Column     *column)
{
  for (guint i = 0; i < N_COLUMNS; i++)
    if (strlen (column_info[i].name) == len &&
        g_ascii_strncasecmp (column_info[i].name, name, len) == 0)
      {
        *column = (Column) i;
        return TRUE;
      }
  return FALSE;
}

/* --output=COLUMNS: a comma-separated list of names; a leading "+" adds
 * them to the default columns, as lsblk does. */
static gboolean
parse_output (const char  *value,
              GError     **error)
{
  const char *p = value;

  cli.n_columns = 0;
  if (*p == '+')
    {
      for (guint i = 0; i < G_N_ELEMENTS (default_columns); i++)
        cli.columns[cli.n_columns++] = default_columns[i];
      p++;
    }

  for (;;)
    {
      const char *comma = strchr (p, ',');
      gsize len = comma != NULL ? (gsize) (comma - p) : strlen (p);
      Column column;

      if (!lookup_column (p, len, &column) || cli.n_columns == G_N_ELEMENTS (cli.columns))
        {
          g_autofree char *name = g_strndup (p, len);
          g_autoptr(GString) names = g_string_new (NULL);

          for (guint i = 0; i < N_COLUMNS; i++)
            g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", column_info[i].name);
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       /* Translators: the first %s is a column name given
                        * to --output, the second the list of the valid
                        * ones, which are not translated. */
                       _("Unknown column “%s” for --output: expected some of %s"),
                       name, names->str);
          return FALSE;
        }
      cli.columns[cli.n_columns++] = column;
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  return TRUE;
}

/* Not const: main() fills in the description of --start-method, which
 * names the methods of the library it runs with. */
static GOptionEntry entries[] = {
  { "json", 'j', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.json,
    N_("Write the results as one JSON object (see psf-syncfs(1))"), NULL },
  { "timeout", 't', G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK, parse_timeout_cb,
    N_("Cancel the sync and fail after MS milliseconds (0: no timeout)"),
    /* Translators: the placeholder of --timeout in --help. */
    N_("MS") },
  { "sync-fallback", 's', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.sync_fallback,
    N_("Call sync() when the kernel has no syncfs()"), NULL },
#define START_METHOD_ENTRY 3
  { "start-method", 'm', G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK, parse_start_method_cb,
    NULL,
    /* Translators: the placeholder of --start-method in --help. */
    N_("METHOD") },
  { "files-from", 'T', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME, &cli.files_from,
    N_("Also sync the paths listed in FILE, one a line (“-”: standard input)"),
    /* Translators: the placeholder of --files-from in --help. */
    N_("FILE") },
  { "null", '0', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.null_separated,
    N_("The paths of --files-from end with a NUL byte, not a newline"), NULL },
  { "progress", 'P', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.progress,
    N_("Show a progress line on standard error even when it is not a terminal"), NULL },
  { "output", 'o', G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING, &cli.output,
    N_("The columns of the table, separated by commas (“+” first: added to the default ones)"),
    /* Translators: the placeholder of --output in --help. */
    N_("COLUMNS") },
  { "noheadings", 'n', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.noheadings,
    N_("Print the table without its headings and total line"), NULL },
  { "raw", 'r', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.raw,
    N_("Print the table unaligned, one space between cells, blanks escaped"), NULL },
  { "quiet", 'q', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.quiet,
    N_("Print nothing but errors"), NULL },
  { "version", 'V', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.version,
    N_("Print the version and exit"), NULL },
  { G_OPTION_REMAINING, 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME_ARRAY, &cli.paths,
    NULL, NULL },
  G_OPTION_ENTRY_NULL
};

/* ---------------------------------------------------- checked stdout */

static ssize_t
out_write_cb (void       *cookie,
              const char *data,
              size_t      len)
{
  size_t done = 0;

  if (cli.out_errno != 0)
    {
      errno = cli.out_errno;
      return -1;
    }
  while (done < len)
    {
      ssize_t n = write (STDOUT_FILENO, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          cli.out_errno = n < 0 ? errno : EIO;
          errno = cli.out_errno;
          return done > 0 ? (ssize_t) done : -1;
        }
      done += (size_t) n;
    }
  return (ssize_t) done;
}

static void
open_output (void)
{
  static const cookie_io_functions_t functions = { .write = out_write_cb };

  cli.out = fopencookie (NULL, "w", functions);
  if (cli.out == NULL)
    g_error ("fopencookie: %s", g_strerror (errno));
  setvbuf (cli.out, NULL, _IOFBF, 64 * 1024);
}

/* ------------------------------------------------------ --files-from */

/* Reads the paths of @name (or standard input for "-"), one a line or
 * NUL-terminated, and appends them to @paths. They are kept in one buffer
 * of NUL-terminated strings (no allocation per path): the library copies
 * them, then the buffer is freed. Empty entries are skipped. */
static gboolean
read_files_from (const char  *name,
                 GByteArray  *buffer,
                 GArray      *offsets,
                 GError     **error)
{
  gboolean from_stdin = strcmp (name, "-") == 0;
  FILE *file = from_stdin ? stdin : fopen (name, "re");
  int delimiter = cli.null_separated ? '\0' : '\n';
  char *line = NULL;
  size_t size = 0;
  ssize_t len;
  int saved;

  if (file == NULL)
    {
      saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   /* Translators: %s is the file given to --files-from. */
                   _("Cannot open %s: %s"), name, g_strerror (saved));
      return FALSE;
    }

  errno = 0;
  while ((len = getdelim (&line, &size, delimiter, file)) >= 0)
    {
      gsize offset = buffer->len;

      if (len > 0 && line[len - 1] == delimiter)
        len--;
      if (len == 0)
        continue;
      g_byte_array_append (buffer, (const guint8 *) line, (guint) len);
      g_byte_array_append (buffer, (const guint8 *) "", 1);
      g_array_append_val (offsets, offset);
      errno = 0;
    }
  saved = ferror (file) ? (errno != 0 ? errno : EIO) : 0;
  free (line);
  if (!from_stdin)
    fclose (file);

  if (saved != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   /* Translators: %s is the file given to --files-from
                    * (“-” for standard input). */
                   _("Cannot read %s: %s"), from_stdin ? _("standard input") : name,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------ what to print */

static const char *
status_to_nick (PsfSyncfsStatus status)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PSF_TYPE_SYNCFS_STATUS);
  GEnumValue *value = g_enum_get_value (klass, status);

  /* The nicks are static strings of the type, which stays registered. */
  return value != NULL ? value->value_nick : "unknown";
}

static const char *
status_to_label (PsfSyncfsStatus status)
{
  switch (status)
    {
    case PSF_SYNCFS_STATUS_SYNCED:
      /* Translators: a status in the table: syncfs() flushed the
       * filesystem of this path. */
      return _("synced");
    case PSF_SYNCFS_STATUS_DUPLICATE:
      /* Translators: a status in the table: an earlier path is on the same
       * filesystem, which was flushed once for both. */
      return _("duplicate");
    case PSF_SYNCFS_STATUS_SKIPPED:
      /* Translators: a status in the table: the path could not be looked
       * at or opened, so its filesystem was not flushed through it. */
      return _("skipped");
    case PSF_SYNCFS_STATUS_FAILED:
      /* Translators: a status in the table: syncfs() failed. */
      return _("failed");
    default:
      return status_to_nick (status);
    }
}

static void
device_to_string (guint64 device,
                  char    buf[64])
{
  g_snprintf (buf, 64, "%u:%u", major ((dev_t) device), minor ((dev_t) device));
}

static const char *
result_error_text (PsfSyncfsResult *result)
{
  int error_number = psf_syncfs_result_get_errno (result);
  PsfSyncfsStatus status = psf_syncfs_result_get_status (result);

  if (error_number != 0 && status == PSF_SYNCFS_STATUS_SYNCED)
    /* Translators: the error column of a path whose filesystem was flushed
     * with sync() because the kernel has no syncfs(). */
    return _("flushed with sync(): no syncfs()");
  if (error_number != 0)
    return g_strerror (error_number);
  if (status == PSF_SYNCFS_STATUS_SKIPPED)
    /* Translators: the error column of a path the child never got to (it
     * was cancelled, timed out or died first). */
    return _("not reached");
  return "";
}

/* The mount of @device, from the kernel's mount table read once through
 * libmount; NULL when it is not (or no longer) mounted. A device may be
 * mounted more than once (bind mounts of a directory of it): the first
 * mount of its whole tree (root "/") is the one named, else its first
 * mount. Consecutive paths are mostly on one device: the last answer is
 * kept. */
static struct libmnt_fs *
mount_for_device (guint64 device)
{
  static guint64 last_device;
  static struct libmnt_fs *last_fs;
  struct libmnt_iter *iter;
  struct libmnt_fs *fs = NULL;
  struct libmnt_fs *found = NULL;

  if (device == 0)
    return NULL;
  if (!cli.mounts_read)
    {
      cli.mounts_read = TRUE;
      cli.mounts = mnt_new_table_from_file ("/proc/self/mountinfo");
    }
  if (cli.mounts == NULL)
    return NULL;
  if (device == last_device)
    return last_fs;

  iter = mnt_new_iter (MNT_ITER_FORWARD);
  if (iter == NULL)
    return NULL;
  while (mnt_table_next_fs (cli.mounts, iter, &fs) == 0)
    {
      if (mnt_fs_get_devno (fs) != (dev_t) device)
        continue;
      if (g_strcmp0 (mnt_fs_get_root (fs), "/") == 0)
        {
          found = fs;
          break;
        }
      if (found == NULL)
        found = fs;
    }
  mnt_free_iter (iter);

  last_device = device;
  last_fs = found;
  return found;
}

static gboolean
columns_need_mounts (void)
{
  for (guint i = 0; i < cli.n_columns; i++)
    if (cli.columns[i] == COLUMN_FSTYPE || cli.columns[i] == COLUMN_MOUNTPOINT)
      return TRUE;
  return FALSE;
}

/* The few libsmartcols functions the table needs, looked up at the first
 * table: a run with --json or --quiet never loads the library. */
static struct
{
  struct libscols_table  *(*new_table)               (void);
  int                     (*table_set_stream)        (struct libscols_table *, FILE *);
  int                     (*table_enable_raw)        (struct libscols_table *, int);
  int                     (*table_enable_noheadings) (struct libscols_table *, int);
  struct libscols_column *(*table_new_column)        (struct libscols_table *, const char *,
                                                      double, int);
  struct libscols_line   *(*table_new_line)          (struct libscols_table *,
                                                      struct libscols_line *);
  int                     (*line_set_data)           (struct libscols_line *, size_t,
                                                      const char *);
  int                     (*print_table)             (struct libscols_table *);
  void                    (*unref_table)             (struct libscols_table *);
} scols;

static gboolean
load_smartcols (GError **error)
{
  static const char * const names[] = {
    "scols_new_table", "scols_table_set_stream", "scols_table_enable_raw",
    "scols_table_enable_noheadings", "scols_table_new_column", "scols_table_new_line",
    "scols_line_set_data", "scols_print_table", "scols_unref_table",
  };
  void **slots[] = {
    (void **) &scols.new_table, (void **) &scols.table_set_stream,
    (void **) &scols.table_enable_raw, (void **) &scols.table_enable_noheadings,
    (void **) &scols.table_new_column, (void **) &scols.table_new_line,
    (void **) &scols.line_set_data, (void **) &scols.print_table,
    (void **) &scols.unref_table,
  };
  void *handle = dlopen (SMARTCOLS_SONAME, RTLD_NOW | RTLD_LOCAL);

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (slots));
  for (guint i = 0; handle != NULL && i < G_N_ELEMENTS (names); i++)
    if ((*slots[i] = dlsym (handle, names[i])) == NULL)
      {
        dlclose (handle);
        handle = NULL;
      }
  if (handle == NULL)
    {
      const char *reason = dlerror ();

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* Translators: the first %s is a library (libsmartcols.so.1),
                    * the second the reason the dynamic linker gives. */
                   _("Cannot load %s to print the table: %s"), SMARTCOLS_SONAME,
                   reason != NULL ? reason : g_strerror (ENOENT));
      return FALSE;
    }
  return TRUE;
}

static gboolean
print_table (GPtrArray  *results,
             GError    **error)
{
  struct libscols_table *table;
  gboolean need_mounts = columns_need_mounts ();
  guint n_synced = 0;

  if (!load_smartcols (error))
    return FALSE;
  table = scols.new_table ();
  if (table == NULL)
    g_error ("scols_new_table: %s", g_strerror (errno));
  scols.table_set_stream (table, cli.out);
  scols.table_enable_raw (table, cli.raw);
  scols.table_enable_noheadings (table, cli.noheadings);

  for (guint j = 0; j < cli.n_columns; j++)
    {
      Column column = cli.columns[j];

      if (scols.table_new_column (table, column_info[column].name,
                                  column_info[column].width_hint,
                                  column_info[column].flags) == NULL)
        g_error ("scols_table_new_column: %s", g_strerror (errno));
    }

  for (guint i = 0; i < results->len; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);
      PsfSyncfsStatus status = psf_syncfs_result_get_status (result);
      guint64 device = psf_syncfs_result_get_device (result);
      struct libmnt_fs *fs = need_mounts ? mount_for_device (device) : NULL;
      struct libscols_line *line = scols.table_new_line (table, NULL);
      char buf[64];

      if (line == NULL)
        g_error ("scols_table_new_line: %s", g_strerror (errno));
      if (status == PSF_SYNCFS_STATUS_SYNCED)
        n_synced++;

      for (guint j = 0; j < cli.n_columns; j++)
        {
          const char *data = NULL;

          switch (cli.columns[j])
            {
            case COLUMN_PATH:
              /* The bytes as they are: libsmartcols shows control
               * characters and bytes that are not text as \x escapes. */
              data = psf_syncfs_result_get_path (result);
              break;
            case COLUMN_DEVICE:
              if (device != 0)
                {
                  device_to_string (device, buf);
                  data = buf;
                }
              break;
            case COLUMN_FSTYPE:
              data = fs != NULL ? mnt_fs_get_fstype (fs) : NULL;
              break;
            case COLUMN_MOUNTPOINT:
              data = fs != NULL ? mnt_fs_get_target (fs) : NULL;
              break;
            case COLUMN_STATUS:
              data = status_to_label (status);
              break;
            case COLUMN_ERRNO:
              g_snprintf (buf, sizeof buf, "%d", psf_syncfs_result_get_errno (result));
              data = buf;
              break;
            case COLUMN_ERROR:
              data = result_error_text (result);
              break;
            case N_COLUMNS:
            default:
              g_assert_not_reached ();
            }
          if (data != NULL && *data != '\0')
            scols.line_set_data (line, j, data);
        }
    }

  scols.print_table (table);
  scols.unref_table (table);

  if (!cli.raw && !cli.noheadings)
    {
      fprintf (cli.out,
               g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: the last line of the table; %.3f
                             * is the total time in milliseconds, %u the
                             * number of filesystems synced. */
                            "Total time: %.3f ms (%u filesystem synced)",
                            "Total time: %.3f ms (%u filesystems synced)",
                            n_synced),
               cli.elapsed_us / 1000.0, n_synced);
      fputc ('\n', cli.out);
    }
  return TRUE;
}

/* ---------------------------------------------------------------- JSON */

/* Appends @text as a JSON string. Whatever bytes it holds, the result is
 * valid JSON in valid UTF-8: every control character (C0, DEL and C1) and
 * U+2028/U+2029 are \u escapes, and each byte that is not part of a valid
 * UTF-8 sequence becomes U+FFFD. */
static void
json_append_string (GString    *out,
                    const char *text)
{
  const char *p = text;
  const char *end = text + strlen (text);

  g_string_append_c (out, '"');
  while (p < end)
    {
      guchar c = (guchar) *p;
      gunichar u;

      if (c < 0x80)
        {
          switch (c)
            {
            case '"':  g_string_append (out, "\\\""); break;
            case '\\': g_string_append (out, "\\\\"); break;
            case '\n': g_string_append (out, "\\n"); break;
            case '\t': g_string_append (out, "\\t"); break;
            case '\r': g_string_append (out, "\\r"); break;
            case '\b': g_string_append (out, "\\b"); break;
            case '\f': g_string_append (out, "\\f"); break;
            default:
              if (c < 0x20 || c == 0x7f)
                g_string_append_printf (out, "\\u%04x", c);
              else
                g_string_append_c (out, (char) c);
            }
          p++;
          continue;
        }

      u = g_utf8_get_char_validated (p, end - p);
      if (u == (gunichar) -1 || u == (gunichar) -2 || (u >= 0xd800 && u <= 0xdfff))
        {
          g_string_append (out, "\\ufffd");
          p++;
          continue;
        }
      if (u <= 0x9f || u == 0x2028 || u == 0x2029)
        g_string_append_printf (out, "\\u%04x", u);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  g_string_append_c (out, '"');
}

static void
json_append_member (GString    *out,
                    const char *name)
{
  g_string_append_printf (out, "\"%s\" : ", name);
}

static void
json_append_string_or_null (GString    *out,
                            const char *text)
{
  if (text != NULL)
    json_append_string (out, text);
  else
    g_string_append (out, "null");
}

static void
json_flush (GString *out)
{
  fwrite (out->str, 1, out->len, cli.out);
  g_string_truncate (out, 0);
}

static void
print_json (GPtrArray *results,
            int        exit_status)
{
  g_autoptr(GString) out = g_string_sized_new (4096);
  int returncode = psf_task_get_returncode (PSF_TASK (cli.process));

  g_string_append (out, "{\n  ");
  json_append_member (out, "version");
  g_string_append_printf (out, "%d,\n  ", JSON_SCHEMA_VERSION);
  json_append_member (out, "exit_status");
  g_string_append_printf (out, "%d,\n  ", exit_status);
  json_append_member (out, "returncode");
  if (returncode == PSF_RETURNCODE_NONE)
    g_string_append (out, "null,\n  ");
  else
    g_string_append_printf (out, "%d,\n  ", returncode);
  json_append_member (out, "timed_out");
  g_string_append (out, psf_subprocess_get_timed_out (PSF_SUBPROCESS (cli.process))
                        ? "true,\n  " : "false,\n  ");
  json_append_member (out, "start_method");
  json_append_string (out, start_method_nick (psf_fork_process_get_start_method (PSF_FORK_PROCESS (cli.process))));
  g_string_append (out, ",\n  ");
  json_append_member (out, "elapsed_us");
  g_string_append_printf (out, "%" G_GINT64_FORMAT ",\n  ", cli.elapsed_us);
  json_append_member (out, "error");
  json_append_string_or_null (out, cli.error != NULL ? cli.error->message : NULL);
  g_string_append (out, ",\n  ");
  json_append_member (out, "results");
  g_string_append (out, results->len > 0 ? "[\n" : "[]\n");

  for (guint i = 0; i < results->len; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);
      const char *path = psf_syncfs_result_get_path (result);
      int error_number = psf_syncfs_result_get_errno (result);
      guint64 device = psf_syncfs_result_get_device (result);
      struct libmnt_fs *fs = mount_for_device (device);
      char buf[64];

      g_string_append (out, "    { ");
      json_append_member (out, "path");
      json_append_string (out, path);
      if (!g_utf8_validate (path, -1, NULL))
        {
          g_autofree char *encoded = g_base64_encode ((const guchar *) path, strlen (path));

          g_string_append (out, ", ");
          json_append_member (out, "path_base64");
          json_append_string (out, encoded);
        }
      g_string_append (out, ", ");
      json_append_member (out, "status");
      json_append_string (out, status_to_nick (psf_syncfs_result_get_status (result)));
      g_string_append (out, ", ");
      json_append_member (out, "errno");
      g_string_append_printf (out, "%d, ", error_number);
      json_append_member (out, "error");
      json_append_string_or_null (out, error_number != 0 ? g_strerror (error_number) : NULL);
      g_string_append (out, ", ");
      json_append_member (out, "device");
      if (device != 0)
        {
          device_to_string (device, buf);
          json_append_string (out, buf);
        }
      else
        g_string_append (out, "null");
      g_string_append (out, ", ");
      json_append_member (out, "fstype");
      json_append_string_or_null (out, fs != NULL ? mnt_fs_get_fstype (fs) : NULL);
      g_string_append (out, ", ");
      json_append_member (out, "mountpoint");
      json_append_string_or_null (out, fs != NULL ? mnt_fs_get_target (fs) : NULL);
      g_string_append (out, i + 1 < results->len ? " },\n" : " }\n");

      if (out->len >= 32 * 1024)
        json_flush (out);
    }
  if (results->len > 0)
    g_string_append (out, "  ]\n");
  g_string_append (out, "}\n");
  json_flush (out);
}

/* ------------------------------------------------------------ progress */

/* Counts the distinct filesystems of the paths, in a thread of its own so
 * that a long list does not hold up the main loop, when the progress line
 * shows before the child has said how many it syncs (a helper that does
 * not tell). It stats what the child will stat; the number is only
 * shown. */
static gpointer
count_filesystems_thread (gpointer data)
{
  const char * const *paths = data;
  g_autoptr(GHashTable) devices = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      struct stat st;

      gint64 device;

      if (stat (paths[i], &st) != 0)
        continue;
      device = (gint64) st.st_dev;
      g_array_append_val (keys, device);
    }
  for (guint i = 0; i < keys->len; i++)
    g_hash_table_add (devices, &g_array_index (keys, gint64, i));
  g_atomic_int_set (&cli.n_filesystems, (gint) g_hash_table_size (devices));
  return NULL;
}

/* Dirty + Writeback from /proc/meminfo, in bytes; -1 when unreadable. */
static gint64
read_unwritten_bytes (void)
{
  char buf[4096];
  gint64 total = 0;
  gboolean found = FALSE;
  ssize_t len;
  int fd = open ("/proc/meminfo", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return -1;
  len = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (len <= 0)
    return -1;
  buf[len] = '\0';

  for (const char *line = buf; line != NULL && *line != '\0';)
    {
      const char *next = strchr (line, '\n');

      if (g_str_has_prefix (line, "Dirty:") || g_str_has_prefix (line, "Writeback:"))
        {
          total += g_ascii_strtoll (strchr (line, ':') + 1, NULL, 10) * 1024;
          found = TRUE;
        }
      line = next != NULL ? next + 1 : NULL;
    }
  return found ? total : -1;
}

static void
flush_count_add (FlushCount      *count,
                 PsfSyncfsResult *result)
{
  PsfSyncfsStatus status = psf_syncfs_result_get_status (result);
  guint64 device = psf_syncfs_result_get_device (result);

  if (status != PSF_SYNCFS_STATUS_SYNCED && status != PSF_SYNCFS_STATUS_FAILED)
    return;
  if (count->reached == NULL)
    {
      count->synced = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      count->reached = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    }
  g_hash_table_add (count->reached, g_memdup2 (&device, sizeof device));
  if (status == PSF_SYNCFS_STATUS_SYNCED)
    g_hash_table_add (count->synced, g_memdup2 (&device, sizeof device));
}

static void
flush_count_clear (FlushCount *count)
{
  g_clear_pointer (&count->synced, g_hash_table_unref);
  g_clear_pointer (&count->reached, g_hash_table_unref);
}

/* A path's result, while the child runs. */
static void
path_done_cb (PsfSyncfsProcess *process,
              PsfSyncfsResult  *result,
              gpointer          user_data)
{
  flush_count_add (&cli.flushed, result);
}

/* While the child runs: how many filesystems it has done of how many
 * (once known: the child says, else this command's own count), how long it
 * has taken and how much the kernel still has to write; at the end
 * (@results set): how many of those it reached were synced. */
static void
draw_progress (GPtrArray *results)
{
  gint64 unwritten = read_unwritten_bytes ();
  double seconds = (g_get_monotonic_time () - cli.begin_us) / (double) G_USEC_PER_SEC;
  g_autofree char *size = unwritten >= 0 ? g_format_size ((guint64) unwritten) : g_strdup ("?");
  g_autofree char *count = NULL;
  FlushCount final = { NULL, NULL };
  const FlushCount *flushed = &cli.flushed;
  gint total = psf_syncfs_process_get_n_filesystems (cli.process);
  guint n_synced, n_reached;

  if (results != NULL)
    {
      for (guint i = 0; i < results->len; i++)
        flush_count_add (&final, g_ptr_array_index (results, i));
      flushed = &final;
    }
  n_synced = flushed->synced != NULL ? g_hash_table_size (flushed->synced) : 0;
  n_reached = flushed->reached != NULL ? g_hash_table_size (flushed->reached) : 0;
  if (results != NULL)
    total = (gint) n_reached;
  else if (total < 0)
    total = g_atomic_int_get (&cli.n_filesystems);
  flush_count_clear (&final);

  if (total >= 0)
    {
      /* A count of this command's own may lag behind the child. */
      guint of = MAX ((guint) total, n_reached);

      count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            /* Translators: the progress
                                             * line, while the child runs
                                             * and at the end: %u of %u
                                             * filesystems synced. */
                                            "%u of %u filesystem synced",
                                            "%u of %u filesystems synced",
                                            of),
                               n_synced, of);
    }
  else if (n_synced > 0)
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          /* Translators: the progress
                                           * line while the child runs,
                                           * before the filesystems are
                                           * counted. */
                                          "%u filesystem synced",
                                          "%u filesystems synced", n_synced),
                             n_synced);
  else
    /* Translators: the progress line before the filesystems are counted. */
    count = g_strdup (_("syncing"));

  fprintf (stderr, "%s%s: ", cli.progress_tty ? "\r\033[K" : "", g_get_prgname ());
  /* Translators: the progress line; the first %s is “syncing”,
   * “1 filesystem synced” or “2 of 3 filesystems synced”, %.1f the seconds
   * so far, the last %s an amount of memory such as “1.2 GB”: the dirty and
   * writeback data of the whole system (/proc/meminfo), not only ours. */
  fprintf (stderr, _("%s, %.1f s, %s dirty or under writeback (whole system)"),
           count, seconds, size);
  if (!cli.progress_tty || results != NULL)
    fputc ('\n', stderr);
  fflush (stderr);
}

static gboolean
progress_cb (gpointer user_data)
{
  if (!cli.progress_shown)
    {
      cli.progress_shown = TRUE;
      /* Counted here only when the child has not said yet. */
      if (psf_syncfs_process_get_n_filesystems (cli.process) < 0)
        cli.count_thread = g_thread_new ("psf-count",
                                         count_filesystems_thread,
                                         (gpointer) psf_syncfs_process_get_paths (cli.process));
      cli.progress_id = g_timeout_add (PROGRESS_INTERVAL_MS, progress_cb, NULL);
      draw_progress (NULL);
      return G_SOURCE_REMOVE;
    }
  draw_progress (NULL);
  return G_SOURCE_CONTINUE;
}

static void
end_progress (GPtrArray *results)
{
  if (cli.progress_id != 0)
    g_source_remove (cli.progress_id);
  cli.progress_id = 0;
  if (cli.progress_shown)
    {
      if (cli.count_thread != NULL)
        g_thread_join (g_steal_pointer (&cli.count_thread));
      draw_progress (results);
    }
  flush_count_clear (&cli.flushed);
}

/* ------------------------------------------------------------ the run */

static void
wait_check_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  psf_task_wait_check_finish (PSF_TASK (object), result, &cli.error);
  g_main_loop_quit (cli.loop);
}

/* SIGINT and SIGTERM cancel the child. Through a pipe of our own rather
 * than g_unix_signal_add(), which starts GLib's worker thread (a thread and
 * a malloc arena per run, measured). The child does not keep the handler:
 * the library resets signal dispositions in a forked child, and an exec
 * resets them. */
static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int signo)
{
  int saved = errno;
  char byte = (char) signo;

  if (write (signal_pipe[1], &byte, 1) < 0)
    {
      /* Full: a cancellation is pending already. */
    }
  errno = saved;
}

static gboolean
interrupted_cb (int          fd,
                GIOCondition condition,
                gpointer     user_data)
{
  char buf[64];

  while (read (fd, buf, sizeof buf) > 0)
    ;
  psf_task_cancel (PSF_TASK (cli.process));
  return G_SOURCE_CONTINUE;
}

/* Returns the source that cancels the task on SIGINT or SIGTERM, or 0 with
 * the error printed when its pipe cannot be made (no fd left). */
static guint
watch_signals (void)
{
  struct sigaction action;

  if (pipe2 (signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      g_autofree char *message = g_strdup_printf ("pipe2: %s", g_strerror (errno));

      print_error (message);
      return 0;
    }

  memset (&action, 0, sizeof action);
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);

  return g_unix_fd_add (signal_pipe[0], G_IO_IN, interrupted_cb, NULL);
}

static void
unwatch_signals (guint id)
{
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  g_source_remove (id);
  close (signal_pipe[0]);
  close (signal_pipe[1]);
}

static char *
help_description (void)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append (text, _("Exit status:\n"
                           "  0  every filesystem reached was synced (duplicate or skipped paths are fine)\n"
                           "  1  a sync failed, timed out, was interrupted or could not be started,\n"
                           "     or the output could not be written\n"
                           "  2  bad usage: an unknown option or a bad value\n"));
  g_string_append_c (text, '\n');
  g_string_append (text, _("Columns of the table (--output):\n"));
  for (guint i = 0; i < N_COLUMNS; i++)
    g_string_append_printf (text, "  %-10s  %s\n", column_info[i].name, _(column_info[i].help));
  g_string_append_c (text, '\n');
  g_string_append (text, _("The object of --json has version, exit_status, returncode, timed_out,\n"
                           "start_method, elapsed_us, error and results, one per PATH with path,\n"
                           "status (synced, duplicate, skipped or failed), errno, error, device\n"
                           "(major:minor), fstype and mountpoint. See psf-syncfs(1).\n"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static int
usage_error (const char *message)
{
  print_error (message);
  print_usage_hint ();
  return EXIT_USAGE;
}

static int
finish_output (int exit_status)
{
  if (fflush (cli.out) != 0 && cli.out_errno == 0)
    cli.out_errno = errno != 0 ? errno : EIO;
  fclose (cli.out);
  cli.out = NULL;
  if (cli.out_errno != 0)
    {
      g_autofree char *message =
        /* Translators: %s is the error text, such as “No space left on
         * device”. */
        g_strdup_printf (_("Cannot write to standard output: %s"), g_strerror (cli.out_errno));

      print_error (message);
      return EXIT_FAILURE;
    }
  return exit_status;
}

int
psf_syncfs_cli_main (int   argc,
                     char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *description = NULL;
  g_autofree char *method_names = NULL;
  g_autofree char *method_help = NULL;
  guint signals_id;
  int exit_status;

  psf_syncfs_reserve_standard_fds ();
  psf_syncfs_init_i18n ();
  g_set_prgname ("psf-syncfs");

  /* Translators: the parameter part of the usage line in --help. */
  context = g_option_context_new (_("[PATH…]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);

  g_assert (g_strcmp0 (entries[START_METHOD_ENTRY].long_name, "start-method") == 0);
  method_names = start_method_names ();
  method_help = g_strdup_printf (
      /* Translators: the help of --start-method; %s is the list of the
       * methods ("fork, spawn, forkserver"), not translated, nor are
       * “fork” and “spawn”. */
      _("How to create the child process: %s (default: fork for one PATH, else spawn)"),
      method_names);
  entries[START_METHOD_ENTRY].description = method_help;
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Flush the filesystems that hold PATHs to disk with syncfs(2), in a\n"
                                  "child process. Each filesystem is synced once. Without a PATH, the\n"
                                  "filesystem of the current directory is synced."));
  description = help_description ();
  g_option_context_set_description (context, description);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (error->message);

  open_output ();

  if (cli.version)
    {
      fprintf (cli.out, "psf-syncfs (psf) %s\n", PACKAGE_VERSION);
      return finish_output (EXIT_SUCCESS);
    }

  if (cli.json && cli.quiet)
    return usage_error (_("--json and --quiet cannot be used together"));
  if (cli.null_separated && cli.files_from == NULL)
    return usage_error (_("--null needs --files-from"));
  if (cli.output != NULL && !parse_output (cli.output, &error))
    return usage_error (error->message);
  if (cli.output == NULL)
    for (guint i = 0; i < G_N_ELEMENTS (default_columns); i++)
      cli.columns[cli.n_columns++] = default_columns[i];

  {
    g_autoptr(GByteArray) buffer = g_byte_array_new ();
    g_autoptr(GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
    g_autofree const char **paths = NULL;
    guint n_args = cli.paths != NULL ? g_strv_length (cli.paths) : 0;
    guint n = 0;

    if (cli.files_from != NULL && !read_files_from (cli.files_from, buffer, offsets, &error))
      return usage_error (error->message);

    paths = g_new (const char *, n_args + offsets->len + 2);
    for (guint i = 0; i < n_args; i++)
      paths[n++] = cli.paths[i];
    for (guint i = 0; i < offsets->len; i++)
      paths[n++] = (const char *) buffer->data + g_array_index (offsets, gsize, i);
    if (n == 0 && cli.files_from == NULL)
      paths[n++] = ".";
    paths[n] = NULL;

    cli.process = psf_syncfs_process_new (paths);
    /* One path is one filesystem: a fork of this small process is the
     * cheapest child. More paths may be several filesystems, which the
     * spawned helper syncs at once where a forked child would sync them
     * one after another. */
    if (!cli.have_start_method)
      cli.start_method = n == 1 && cli.files_from == NULL ? PSF_START_METHOD_FORK
                                                          : PSF_START_METHOD_SPAWN;
  }
  g_clear_pointer (&cli.paths, g_strfreev);

  psf_syncfs_process_set_sync_fallback (cli.process, cli.sync_fallback);
  psf_subprocess_set_timeout (PSF_SUBPROCESS (cli.process), cli.timeout_ms);
  psf_fork_process_set_start_method (PSF_FORK_PROCESS (cli.process), cli.start_method);

  cli.loop = g_main_loop_new (NULL, FALSE);
  signals_id = watch_signals ();
  if (signals_id == 0)
    {
      /* Out of fds before anything was started: nothing to cancel. */
      g_clear_object (&cli.process);
      g_clear_pointer (&cli.loop, g_main_loop_unref);
      return EXIT_FAILURE;
    }

  cli.progress_tty = isatty (STDERR_FILENO);
  if (cli.progress || (cli.progress_tty && !cli.json && !cli.quiet))
    {
      cli.progress_id = g_timeout_add (PROGRESS_DELAY_MS, progress_cb, NULL);
      g_signal_connect (cli.process, "path-done", G_CALLBACK (path_done_cb), NULL);
    }

  cli.begin_us = g_get_monotonic_time ();
  if (psf_task_start (PSF_TASK (cli.process), &cli.error))
    {
      int returncode;

      cli.started = TRUE;
      /* psf_task_wait() iterates the default context (the signal pipe
       * and the progress line are served meanwhile) and needs no GTask:
       * GTask's class starts a thread pool, which a successful run does
       * without. The message of a failure is the library's, from
       * wait_check, which returns on the next iteration once exited. */
      returncode = psf_task_wait (PSF_TASK (cli.process), &cli.error);
      if (cli.error == NULL && returncode != 0)
        {
          psf_task_wait_check_async (PSF_TASK (cli.process), NULL, wait_check_cb, NULL);
          g_main_loop_run (cli.loop);
        }
    }
  cli.elapsed_us = g_get_monotonic_time () - cli.begin_us;

  unwatch_signals (signals_id);

  if (cli.error == NULL)
    exit_status = EXIT_SUCCESS;
  else if (!cli.started && g_error_matches (cli.error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT))
    exit_status = EXIT_USAGE;
  else
    exit_status = EXIT_FAILURE;

  results = psf_syncfs_process_get_results (cli.process);
  end_progress (results);

  if (cli.json)
    print_json (results, exit_status);
  else if (!cli.quiet && cli.started && !print_table (results, &error))
    {
      print_error (error->message);
      exit_status = EXIT_FAILURE;
    }

  if (cli.error != NULL)
    print_error (cli.error->message);

  exit_status = finish_output (exit_status);

  g_clear_pointer (&results, g_ptr_array_unref);
  g_clear_pointer (&cli.mounts, mnt_unref_table);
  g_clear_error (&cli.error);
  g_clear_object (&cli.process);
  g_clear_pointer (&cli.loop, g_main_loop_unref);
  g_clear_pointer (&cli.files_from, g_free);
  g_clear_pointer (&cli.output, g_free);

  return exit_status;
}
