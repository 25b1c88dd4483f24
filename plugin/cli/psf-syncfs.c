/* psf-syncfs.c: the psf-syncfs command, flush the filesystems of paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A thin leaf on the public <psf.h>: it builds one PsfSyncfsProcess from the
 * command line, starts it, waits with psf_task_wait_check_async() on a
 * GMainLoop (so SIGINT/SIGTERM can cancel the child instead of orphaning
 * it), and prints the per-path results as a table or as JSON.
 *
 * Exit status: 0 when every filesystem reached was synced (duplicates and
 * skipped paths are fine, as in Portage), 1 when a sync failed, timed out,
 * was interrupted or could not be started, 2 on bad usage.
 *
 * The JSON document (schema version 1) is described in psf-syncfs(1); any
 * change to it other than a new member bumps "version".
 */

#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include <psf.h>

#define EXIT_USAGE 2
#define JSON_SCHEMA_VERSION 1

typedef struct
{
  gboolean          json;
  gboolean          quiet;
  gboolean          sync_fallback;
  gboolean          version;
  gboolean          have_start_method;
  PsfStartMethod    start_method;
  guint             timeout_ms;
  char            **paths;

  PsfSyncfsProcess *process;
  GMainLoop        *loop;
  GError           *error;
  gboolean          started;
  gint64            elapsed_us;
} Cli;

static Cli cli;

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

/* Not const: main() fills in the description of --start-method, which
 * names the methods and the default of the library it runs with. */
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
  { "quiet", 'q', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.quiet,
    N_("Print nothing but errors"), NULL },
  { "version", 'V', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &cli.version,
    N_("Print the version and exit"), NULL },
  { G_OPTION_REMAINING, 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME_ARRAY, &cli.paths,
    NULL, NULL },
  G_OPTION_ENTRY_NULL
};

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

static char *
device_to_string (guint64 device)
{
  return g_strdup_printf ("%u:%u", major ((dev_t) device), minor ((dev_t) device));
}

/* The filesystem type of each mounted device, from /proc/self/mountinfo
 * ("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"). Only
 * used to make the table friendlier: an empty table is fine. */
static GHashTable *
read_filesystem_types (void)
{
  GHashTable *types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &contents, NULL, NULL))
    return types;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", -1);
      guint n = g_strv_length (fields);

      if (n < 3)
        continue;
      for (guint j = 3; j + 1 < n; j++)
        {
          if (strcmp (fields[j], "-") == 0)
            {
              if (!g_hash_table_contains (types, fields[2]))
                g_hash_table_insert (types, g_strdup (fields[2]), g_strdup (fields[j + 1]));
              break;
            }
        }
    }

  return types;
}

/* The number of terminal columns @text takes. */
static gsize
text_width (const char *text)
{
  gsize width = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

static void
append_cell (GString    *line,
             const char *text,
             gsize       width,
             gboolean    last)
{
  g_string_append (line, text);
  if (last)
    return;
  for (gsize w = text_width (text); w < width + 2; w++)
    g_string_append_c (line, ' ');
}

static char *
result_error_text (PsfSyncfsResult *result)
{
  int error_number = psf_syncfs_result_get_errno (result);
  PsfSyncfsStatus status = psf_syncfs_result_get_status (result);

  if (error_number != 0 && status == PSF_SYNCFS_STATUS_SYNCED)
    /* Translators: the error column of a path whose filesystem was flushed
     * with sync() because the kernel has no syncfs(). */
    return g_strdup (_("flushed with sync(): no syncfs()"));
  if (error_number != 0)
    return g_strdup (g_strerror (error_number));
  if (status == PSF_SYNCFS_STATUS_SKIPPED)
    /* Translators: the error column of a path the child never got to (it
     * was cancelled, timed out or died first). */
    return g_strdup (_("not reached"));
  return g_strdup ("");
}

static void
print_table (GPtrArray *results,
             int        exit_status)
{
  g_autoptr(GHashTable) types = read_filesystem_types ();
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gsize widths[4] = { 0, };
  guint n_synced = 0;

  /* Translators: column headings of the table psf-syncfs prints. */
  g_ptr_array_add (rows, g_strdupv ((char *[]) { (char *) _("PATH"),
                                                 (char *) _("FILESYSTEM"),
                                                 (char *) _("STATUS"),
                                                 (char *) _("ERROR"),
                                                 NULL }));

  for (guint i = 0; i < results->len; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);
      guint64 device = psf_syncfs_result_get_device (result);
      PsfSyncfsStatus status = psf_syncfs_result_get_status (result);
      g_autofree char *path = g_filename_display_name (psf_syncfs_result_get_path (result));
      g_autofree char *filesystem = NULL;
      g_autofree char *error_text = result_error_text (result);

      if (device == 0 && status == PSF_SYNCFS_STATUS_SKIPPED)
        {
          filesystem = g_strdup ("-");
        }
      else
        {
          g_autofree char *dev = device_to_string (device);
          const char *type = g_hash_table_lookup (types, dev);

          filesystem = type != NULL ? g_strdup_printf ("%s (%s)", dev, type)
                                    : g_steal_pointer (&dev);
        }

      if (status == PSF_SYNCFS_STATUS_SYNCED)
        n_synced++;

      g_ptr_array_add (rows, g_strdupv ((char *[]) { path, filesystem,
                                                     (char *) status_to_label (status),
                                                     error_text, NULL }));
    }

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);

      for (guint j = 0; j < G_N_ELEMENTS (widths); j++)
        widths[j] = MAX (widths[j], text_width (row[j]));
    }

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);
      g_autoptr(GString) line = g_string_new (NULL);
      guint last = G_N_ELEMENTS (widths) - 1;

      /* No trailing blanks when the error column is empty. */
      while (last > 0 && row[last][0] == '\0')
        last--;
      for (guint j = 0; j <= last; j++)
        append_cell (line, row[j], widths[j], j == last);
      g_print ("%s\n", line->str);
    }

  g_print (g_dngettext (GETTEXT_PACKAGE,
                        /* Translators: the last line of the table; %.3f is
                         * the total time in milliseconds, %u the number of
                         * filesystems synced. */
                        "Total time: %.3f ms (%u filesystem synced)",
                        "Total time: %.3f ms (%u filesystems synced)",
                        n_synced),
           cli.elapsed_us / 1000.0, n_synced);
  g_print ("\n");
}

static void
print_json (GPtrArray *results,
            int        exit_status)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  PsfTask *task = PSF_TASK (cli.process);
  int returncode = psf_task_get_returncode (task);

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, JSON_SCHEMA_VERSION);

  json_builder_set_member_name (builder, "exit_status");
  json_builder_add_int_value (builder, exit_status);

  json_builder_set_member_name (builder, "returncode");
  if (returncode == PSF_RETURNCODE_NONE)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, returncode);

  json_builder_set_member_name (builder, "timed_out");
  json_builder_add_boolean_value (builder,
                                  psf_subprocess_get_timed_out (PSF_SUBPROCESS (cli.process)));

  json_builder_set_member_name (builder, "start_method");
  json_builder_add_string_value (builder,
                                 start_method_nick (psf_fork_process_get_start_method (PSF_FORK_PROCESS (cli.process))));

  json_builder_set_member_name (builder, "elapsed_us");
  json_builder_add_int_value (builder, cli.elapsed_us);

  json_builder_set_member_name (builder, "error");
  if (cli.error != NULL)
    json_builder_add_string_value (builder, cli.error->message);
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "results");
  json_builder_begin_array (builder);
  for (guint i = 0; i < results->len; i++)
    {
      PsfSyncfsResult *result = g_ptr_array_index (results, i);
      int error_number = psf_syncfs_result_get_errno (result);
      guint64 device = psf_syncfs_result_get_device (result);
      g_autofree char *path = g_filename_display_name (psf_syncfs_result_get_path (result));

      json_builder_begin_object (builder);

      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, path);

      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, status_to_nick (psf_syncfs_result_get_status (result)));

      json_builder_set_member_name (builder, "errno");
      json_builder_add_int_value (builder, error_number);

      json_builder_set_member_name (builder, "error");
      if (error_number != 0)
        json_builder_add_string_value (builder, g_strerror (error_number));
      else
        json_builder_add_null_value (builder);

      json_builder_set_member_name (builder, "device");
      if (device != 0)
        {
          g_autofree char *dev = device_to_string (device);

          json_builder_add_string_value (builder, dev);
        }
      else
        {
          json_builder_add_null_value (builder);
        }

      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  data = json_generator_to_data (generator, &len);

  /* Not g_print(): JSON is UTF-8 whatever the locale's charset is. */
  fwrite (data, 1, len, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
wait_check_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  psf_task_wait_check_finish (PSF_TASK (object), result, &cli.error);
  g_main_loop_quit (cli.loop);
}

static gboolean
interrupted_cb (gpointer user_data)
{
  psf_task_cancel (PSF_TASK (cli.process));
  return G_SOURCE_CONTINUE;
}

static void
print_error (const char *message)
{
  g_printerr ("%s: %s\n", g_get_prgname (), message);
}

static void
init_i18n (void)
{
  /* PSF_LOCALEDIR lets the build tree (meson devenv, the tests) find its
   * compiled catalogs, as the library does. */
  const char *dir = g_getenv ("PSF_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *description = NULL;
  g_autofree char *method_names = NULL;
  g_autofree char *method_help = NULL;
  g_autoptr(PsfSyncfsProcess) defaults = NULL;
  const char * const default_paths[] = { ".", NULL };
  const char * const *paths;
  guint sigint_id, sigterm_id;
  gint64 begin;
  int exit_status;

  init_i18n ();
  g_set_prgname ("psf-syncfs");

  /* Translators: the parameter part of the usage line in --help. */
  context = g_option_context_new (_("[PATH…]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);

  g_assert (g_strcmp0 (entries[START_METHOD_ENTRY].long_name, "start-method") == 0);
  defaults = psf_syncfs_process_new (NULL);
  method_names = start_method_names ();
  method_help = g_strdup_printf (
      /* Translators: the help of --start-method; the first %s is the list
       * of the methods ("fork, spawn, forkserver"), the second the default
       * one; neither is translated. */
      _("How to create the child process: %s (default: %s)"),
      method_names,
      start_method_nick (psf_fork_process_get_start_method (PSF_FORK_PROCESS (defaults))));
  entries[START_METHOD_ENTRY].description = method_help;
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Flush the filesystems that hold PATHs to disk with syncfs(2), in a\n"
                                  "child process. Each filesystem is synced once. Without a PATH, the\n"
                                  "filesystem of the current directory is synced."));
  description = g_strconcat (_("Exit status:\n"
                               "  0  every filesystem reached was synced (duplicate or skipped paths are fine)\n"
                               "  1  a sync failed, timed out, was interrupted or could not be started\n"
                               "  2  bad usage: an unknown option or a bad value\n"),
                             "\n",
                             _("--json writes one object: version, exit_status, returncode, timed_out,\n"
                               "start_method, elapsed_us, error and results, one per PATH with path,\n"
                               "status (synced, duplicate, skipped or failed), errno, error and device\n"
                               "(major:minor). See psf-syncfs(1).\n"),
                             NULL);
  g_option_context_set_description (context, description);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      print_error (error->message);
      /* Translators: %s is the program name. */
      g_printerr (_("Try “%s --help” for more information."), g_get_prgname ());
      g_printerr ("\n");
      return EXIT_USAGE;
    }

  if (cli.version)
    {
      g_print ("psf-syncfs (psf) %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (cli.json && cli.quiet)
    {
      print_error (_("--json and --quiet cannot be used together"));
      g_printerr (_("Try “%s --help” for more information."), g_get_prgname ());
      g_printerr ("\n");
      return EXIT_USAGE;
    }

  paths = cli.paths != NULL && cli.paths[0] != NULL
          ? (const char * const *) cli.paths : default_paths;

  cli.process = psf_syncfs_process_new (paths);
  psf_syncfs_process_set_sync_fallback (cli.process, cli.sync_fallback);
  psf_subprocess_set_timeout (PSF_SUBPROCESS (cli.process), cli.timeout_ms);
  if (cli.have_start_method)
    psf_fork_process_set_start_method (PSF_FORK_PROCESS (cli.process), cli.start_method);

  cli.loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, interrupted_cb, NULL);
  sigterm_id = g_unix_signal_add (SIGTERM, interrupted_cb, NULL);

  begin = g_get_monotonic_time ();
  if (psf_task_start (PSF_TASK (cli.process), &cli.error))
    {
      cli.started = TRUE;
      psf_task_wait_check_async (PSF_TASK (cli.process), NULL, wait_check_cb, NULL);
      g_main_loop_run (cli.loop);
    }
  cli.elapsed_us = g_get_monotonic_time () - begin;

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  if (cli.error == NULL)
    exit_status = EXIT_SUCCESS;
  else if (!cli.started && g_error_matches (cli.error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT))
    exit_status = EXIT_USAGE;
  else
    exit_status = EXIT_FAILURE;

  results = psf_syncfs_process_get_results (cli.process);

  if (cli.json)
    print_json (results, exit_status);
  else if (!cli.quiet && cli.started)
    print_table (results, exit_status);

  if (cli.error != NULL)
    print_error (cli.error->message);

  g_clear_error (&cli.error);
  g_clear_object (&cli.process);
  g_clear_pointer (&cli.loop, g_main_loop_unref);
  g_clear_pointer (&cli.paths, g_strfreev);

  return exit_status;
}
